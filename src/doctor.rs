//! The environment report: what libtorch, the threads, CUDA, the kernel and the data
//! folders look like, with the fix for each problem. Every notebook calls [`doctor`] first.

use std::path::Path;

use crate::env::{Settings, libtorch_lib_dir, libtorch_version, load_cuda, set_threads, shown_path};

/// One line of the [`doctor`] report.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// What was found.
    pub found: String,
    /// The exact fix, when something is wrong.
    pub fix: Option<String>,
}

/// Checks the environment and returns one [`Check`] per item.
///
/// ```
/// let checks = tchlab::doctor::checks();
/// assert!(checks.iter().any(|c| c.name == "libtorch"));
/// ```
pub fn checks() -> Vec<Check> {
    let s = Settings::from_env();
    let mut out = Vec::new();
    let mut add = |name: &str, found: String, fix: Option<String>| out.push(Check { name: name.into(), found, fix });
    let lib = libtorch_lib_dir();
    let version = libtorch_version();
    let expected = "2.13.0";
    add(
        "libtorch",
        format!(
            "{} at {}",
            version.as_deref().unwrap_or("unknown version"),
            lib.as_deref().map(shown_path).unwrap_or("?".into())
        ),
        version.as_deref().filter(|v| !v.starts_with(expected)).map(|v| {
            format!("tch 0.26 expects PyTorch {expected}, found {v}: run `make setup` (pip install torch=={expected})")
        }),
    );
    add("tch", "0.26 (expects PyTorch 2.13.0)".into(), None);
    let follows = match crate::threads::reproducible_products() {
        true => "fewer while other processes keep cores busy (products reproducible across thread counts)",
        false if !crate::env::process_tuning() => "fixed (TCHLAB_PROCESS_TUNING is off)",
        false => "fixed (MKL's reproducible mode is unavailable, so the count never follows the load)",
    };
    add("threads", format!("{} intra-op threads; while training {follows}", tch::get_num_threads()), None);
    let cuda = match load_cuda() {
        Ok(()) if tch::Cuda::is_available() => (format!("usable, {} device(s)", tch::Cuda::device_count()), None),
        // A machine without a GPU is no problem to fix: training runs on the CPU.
        Ok(()) => ("no CUDA device on this machine: training runs on the CPU".into(), None),
        Err(why) => (format!("not usable: {why}"), None),
    };
    add("cuda", cuda.0, cuda.1);
    let kernel = std::env::var("TCHLAB_KERNEL_SLOT")
        .map(|slot| format!("tchlab kernel, evcxr build slot {slot}"))
        .unwrap_or_else(|_| "not in the tchlab Jupyter kernel".into());
    add("kernel", kernel, None);
    let venv = std::env::var_os("VIRTUAL_ENV")
        .or_else(|| std::env::var_os("TCHLAB_VENV"))
        .map_or("none active".into(), |v| shown_path(Path::new(&v)));
    add("venv", venv, None);
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let ld_ok = lib.as_ref().is_some_and(|l| ld.split(':').any(|p| Path::new(p) == l.as_path()));
    add(
        "LD_LIBRARY_PATH",
        if ld_ok {
            "contains libtorch".into()
        } else {
            "does not contain libtorch (fine for binaries with an rpath)".into()
        },
        None,
    );
    add("data dir", shown_path(&s.data_dir), None);
    let mnist = crate::data::MnistKind::Digits;
    let mnist_state = if crate::data::mnist_cached(mnist, &s.data_dir) {
        ("cached".to_string(), None)
    } else {
        (
            format!("not cached; mirrors: {}", shown_mirrors(&crate::data::mirrors(mnist, &s))),
            Some("run `tchlab data fetch mnist` or set TCHLAB_MNIST_MIRROR=<url or folder>".into()),
        )
    };
    add("mnist", mnist_state.0, mnist_state.1);
    let cd = &s.cats_dogs_dir;
    add(
        "cats-dogs",
        format!("{} ({})", shown_path(cd), if cd.join("train").is_dir() { "found" } else { "missing" }),
        (!cd.join("train").is_dir())
            .then(|| "set TCHLAB_CATS_DOGS_DIR to a folder with train/valid/test/{cat,dog}".to_string()),
    );
    out
}

/// Mirrors as a report shows them: URLs as they are, folders through [`shown_path`].
fn shown_mirrors(mirrors: &[String]) -> String {
    let shown = |m: &String| if m.contains("://") { m.clone() } else { shown_path(Path::new(m)) };
    mirrors.iter().map(shown).collect::<Vec<_>>().join(", ")
}

/// Prints the environment report (libtorch, threads, CUDA, kernel, data folders) with
/// the fix for each problem; every notebook calls it first.
///
/// ```
/// tchlab::doctor();
/// ```
pub fn doctor() {
    crate::env::prepare_process();
    if let Err(e) = set_threads(None) {
        println!("  threads setting ignored: {e:#}");
    }
    println!("tchlab {} doctor", env!("CARGO_PKG_VERSION"));
    for c in checks() {
        println!("  {:<16} {}", c.name, c.found);
        if let Some(fix) = c.fix {
            println!("  {:<16} fix: {fix}", "");
        }
    }
}
