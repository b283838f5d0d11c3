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
    let lib = libtorch_lib_dir();
    let check = |name: &str, (found, fix): (String, Option<String>)| Check { name: name.into(), found, fix };
    vec![
        check("libtorch", libtorch_check(lib.as_deref())),
        check("tch", ("0.26 (expects PyTorch 2.13.0)".into(), None)),
        check("threads", (threads_state(), None)),
        check("cuda", (cuda_state(), None)),
        check("kernel", (kernel_state(), None)),
        check("venv", (venv_state(), None)),
        check("LD_LIBRARY_PATH", (library_path_state(lib.as_deref()), None)),
        check("data dir", (shown_path(&s.data_dir), None)),
        check("mnist", mnist_state(&s)),
        check("cats-dogs", cats_dogs_state(&s)),
    ]
}

/// The libtorch found, and a fix when its version is not the one tch expects.
fn libtorch_check(lib: Option<&Path>) -> (String, Option<String>) {
    let version = libtorch_version();
    let expected = "2.13.0";
    let found =
        format!("{} at {}", version.as_deref().unwrap_or("unknown version"), lib.map(shown_path).unwrap_or("?".into()));
    let fix = version.as_deref().filter(|v| !v.starts_with(expected)).map(|v| {
        format!("tch 0.26 expects PyTorch {expected}, found {v}: run `make setup` (pip install torch=={expected})")
    });
    (found, fix)
}

/// The thread count and whether it follows the machine's load while training.
fn threads_state() -> String {
    let follows = match crate::threads::reproducible_products() {
        true => "fewer while other processes keep cores busy (products reproducible across thread counts)",
        false if !crate::env::process_tuning() => "fixed (TCHLAB_PROCESS_TUNING is off)",
        false => "fixed (MKL's reproducible mode is unavailable, so the count never follows the load)",
    };
    format!("{} intra-op threads; while training {follows}", tch::get_num_threads())
}

/// Whether CUDA can be used (a machine without a GPU is no problem to fix: training runs
/// on the CPU).
fn cuda_state() -> String {
    match load_cuda() {
        Ok(()) if tch::Cuda::is_available() => format!("usable, {} device(s)", tch::Cuda::device_count()),
        Ok(()) => "no CUDA device on this machine: training runs on the CPU".into(),
        Err(why) => format!("not usable: {why}"),
    }
}

/// Which kernel runs this code.
fn kernel_state() -> String {
    std::env::var("TCHLAB_KERNEL_SLOT")
        .map(|slot| format!("tchlab kernel, evcxr build slot {slot}"))
        .unwrap_or_else(|_| "not in the tchlab Jupyter kernel".into())
}

/// The Python environment in use.
fn venv_state() -> String {
    std::env::var_os("VIRTUAL_ENV")
        .or_else(|| std::env::var_os("TCHLAB_VENV"))
        .map_or("none active".into(), |v| shown_path(Path::new(&v)))
}

/// Whether `LD_LIBRARY_PATH` contains libtorch's folder.
fn library_path_state(lib: Option<&Path>) -> String {
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    match lib.is_some_and(|l| ld.split(':').any(|p| Path::new(p) == l)) {
        true => "contains libtorch".into(),
        false => "does not contain libtorch (fine for binaries with an rpath)".into(),
    }
}

/// Whether MNIST is cached, else where it would come from.
fn mnist_state(s: &Settings) -> (String, Option<String>) {
    let mnist = crate::data::MnistKind::Digits;
    if crate::data::mnist_cached(mnist, &s.data_dir) {
        return ("cached".to_string(), None);
    }
    (
        format!("not cached; mirrors: {}", shown_mirrors(&crate::data::mirrors(mnist, s))),
        Some("run `tchlab data fetch mnist` or set TCHLAB_MNIST_MIRROR=<url or folder>".into()),
    )
}

/// Whether the cats/dogs photos are where the settings say.
fn cats_dogs_state(s: &Settings) -> (String, Option<String>) {
    let cd = &s.cats_dogs_dir;
    let found = cd.join("train").is_dir();
    (
        format!("{} ({})", shown_path(cd), if found { "found" } else { "missing" }),
        (!found).then(|| "set TCHLAB_CATS_DOGS_DIR to a folder with train/valid/test/{cat,dog}".to_string()),
    )
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
