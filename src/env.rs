//! The environment: where data lives, which device and how many threads to use, and
//! [`doctor`], which checks all of it and says how to fix each problem.

use std::path::{Path, PathBuf};

use tch::Device;

/// Settings read from `TCHLAB_*` environment variables, with defaults.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `TCHLAB_DATA_DIR` | download cache and exported data | `<crate>/data` |
/// | `TCHLAB_MNIST_MIRROR` | MNIST mirror(s): URLs or folders, comma-separated | public mirrors |
/// | `TCHLAB_FASHION_MNIST_MIRROR` | Fashion-MNIST mirror(s) | public mirrors, then `/usr/share/datasets/fashion-mnist` |
/// | `TCHLAB_CATS_DOGS_DIR` | the cats/dogs photos (`train/valid/test/{cat,dog}`) | `<crate>/../shared/data/cats-dogs` |
/// | `TCHLAB_THREADS` | libtorch intra-op threads | libtorch's choice |
/// | `TCHLAB_DEVICE` | `cpu`, `cuda`, `cuda:N` or `auto` | `auto` |
/// | `TCHLAB_CI` | run notebooks with their short CI settings | unset |
/// | `TCHLAB_PROCESS_TUNING` | `off` (or `0`): leave MKL's mode, glibc's allocator and libtorch's thread count alone (see [`prepare_process`]) | on |
///
/// ```
/// let settings = tchlab::env::Settings::from_env();
/// assert!(settings.data_dir.ends_with("data") || std::env::var("TCHLAB_DATA_DIR").is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Settings {
    /// Folder for downloads and exported data.
    pub data_dir: PathBuf,
    /// Extra MNIST mirrors, tried before the public ones.
    pub mnist_mirrors: Vec<String>,
    /// Extra Fashion-MNIST mirrors, tried before the public ones.
    pub fashion_mnist_mirrors: Vec<String>,
    /// Folder of the cats/dogs photos.
    pub cats_dogs_dir: PathBuf,
    /// libtorch intra-op thread count, when set.
    pub threads: Option<usize>,
    /// Device request: `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// Whether the short CI settings of experiments are requested.
    pub ci: bool,
}

/// The crate's own folder (where `data/` and `notebooks/` live).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `path` as a reader of a report should see it: relative to the crate folder when it
/// lies inside it or beside it (`data/xor.csv`, `../shared/data/cats-dogs`), under the
/// home folder as `~/…`, otherwise as it is. Reports and notebook outputs use it, so that
/// they show no machine's absolute paths.
///
/// ```
/// let shown = tchlab::env::shown_path(&tchlab::env::crate_dir().join("data/../data/xor.csv"));
/// assert_eq!(shown, "data/xor.csv");
/// assert_eq!(tchlab::env::shown_path("/usr/share/datasets".as_ref()), "/usr/share/datasets");
/// ```
pub fn shown_path(path: &Path) -> String {
    let normal = |p: &Path| -> PathBuf {
        let mut out = PathBuf::new();
        for part in p.components() {
            match part {
                std::path::Component::ParentDir if out.parent().is_some() => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                part => out.push(part),
            }
        }
        out
    };
    let path = normal(path);
    let root = normal(&crate_dir());
    if let Ok(inside) = path.strip_prefix(&root) {
        return if inside.as_os_str().is_empty() { ".".into() } else { inside.display().to_string() };
    }
    if let Some(beside) = root.parent().filter(|p| p.parent().is_some()).and_then(|p| path.strip_prefix(p).ok()) {
        return Path::new("..").join(beside).display().to_string();
    }
    match std::env::var_os("HOME").map(|h| normal(Path::new(&h))) {
        Some(home) if home.parent().is_some() && path.starts_with(&home) => {
            format!("~/{}", path.strip_prefix(&home).unwrap_or(&path).display())
        }
        _ => path.display().to_string(),
    }
}

fn list_var(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Settings {
    /// Reads the `TCHLAB_*` variables.
    ///
    /// ```
    /// let s = tchlab::env::Settings::from_env();
    /// println!("data in {}", s.data_dir.display());
    /// ```
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Settings {
            data_dir: var("TCHLAB_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| crate_dir().join("data")),
            mnist_mirrors: list_var("TCHLAB_MNIST_MIRROR"),
            fashion_mnist_mirrors: list_var("TCHLAB_FASHION_MNIST_MIRROR"),
            cats_dogs_dir: var("TCHLAB_CATS_DOGS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| crate_dir().join("../shared/data/cats-dogs")),
            threads: var("TCHLAB_THREADS").and_then(|t| t.parse().ok()),
            device: var("TCHLAB_DEVICE").unwrap_or_else(|| "auto".into()),
            ci: var("TCHLAB_CI").is_some_and(|v| v != "0"),
        }
    }
}

/// Whether experiments should use their short CI settings (`TCHLAB_CI` set and not `0`).
///
/// ```
/// let _short = tchlab::env::ci();
/// ```
pub fn ci() -> bool {
    Settings::from_env().ci
}

/// Loads libtorch's CUDA library when it is installed but was not linked.
///
/// The linker's `--as-needed` drops `libtorch_cuda.so` from binaries (and evcxr cells)
/// because no symbol of it is referenced; without it libtorch reports no CUDA device.
/// Opening it once at run time registers the CUDA backend. Returns a reason when it
/// could not be loaded (no CUDA build of libtorch, or a driver problem).
///
/// ```
/// let _ = tchlab::env::load_cuda();
/// ```
pub fn load_cuda() -> Result<(), String> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            let Some(dir) = libtorch_lib_dir() else {
                return Err("libtorch's library folder was not found".into());
            };
            let lib = dir.join("libtorch_cuda.so");
            if !lib.exists() {
                return Err(format!("{} does not exist (a CPU-only libtorch)", lib.display()));
            }
            let path = std::ffi::CString::new(lib.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
            // SAFETY: dlopen with a valid NUL-terminated path; the handle is kept for the
            // life of the process, as libtorch expects.
            let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if handle.is_null() {
                // SAFETY: dlerror returns a valid C string or null right after a failure.
                let err = unsafe { libc::dlerror() };
                let msg = if err.is_null() {
                    "unknown dlopen error".to_string()
                } else {
                    unsafe { std::ffi::CStr::from_ptr(err) }.to_string_lossy().into_owned()
                };
                return Err(format!("loading {} failed: {msg}", lib.display()));
            }
            Ok(())
        })
        .clone()
}

/// The folder holding `libtorch_cpu.so`, from `LIBTORCH` or the loaded library itself.
///
/// ```
/// if let Some(dir) = tchlab::env::libtorch_lib_dir() { println!("{}", dir.display()); }
/// ```
pub fn libtorch_lib_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LIBTORCH") {
        let lib = Path::new(&dir).join("lib");
        if lib.join("libtorch_cpu.so").exists() {
            return Some(lib);
        }
    }
    // Otherwise find the mapped libtorch_cpu.so of this process.
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
}

/// The libtorch version, read from the installation next to the loaded library
/// (`torch/version.py` of a PyTorch wheel, or `build-version` of a libtorch archive).
///
/// ```
/// println!("{:?}", tchlab::env::libtorch_version());
/// ```
pub fn libtorch_version() -> Option<String> {
    let root = libtorch_lib_dir()?.parent()?.to_path_buf();
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text.lines().find(|l| l.starts_with("__version__"))?;
        return Some(line.split('\'').nth(1)?.to_string());
    }
    std::fs::read_to_string(root.join("build-version")).ok().map(|v| v.trim().to_string())
}

/// Resolves a device request: `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when usable).
///
/// ```
/// let device = tchlab::env::device("cpu").unwrap();
/// assert_eq!(device, tch::Device::Cpu);
/// assert!(tchlab::env::device("tpu").is_err());
/// ```
pub fn device(request: &str) -> anyhow::Result<Device> {
    let request = request.trim().to_ascii_lowercase();
    match request.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => {
            let _ = load_cuda();
            Ok(Device::cuda_if_available())
        }
        r if r == "cuda" || r.starts_with("cuda:") => {
            let index: usize = match r.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("device `{r}`: the CUDA index must be a number, e.g. cuda:0"))?,
                None => 0,
            };
            if let Err(why) = load_cuda() {
                anyhow::bail!("device `{r}` requested but CUDA is not usable: {why}; use --device cpu");
            }
            let count = tch::Cuda::device_count() as usize;
            anyhow::ensure!(
                index < count,
                "device `{r}` requested but libtorch sees {count} CUDA device(s); use --device cpu or auto"
            );
            Ok(Device::Cuda(index))
        }
        other => anyhow::bail!("unknown device `{other}`: use cpu, cuda, cuda:N or auto"),
    }
}

/// The most libtorch threads [`set_threads`] accepts.
pub const MAX_THREADS: usize = 256;

/// Applies the thread setting (an explicit count, else `TCHLAB_THREADS`) to libtorch.
/// A count outside 1..=[`MAX_THREADS`], or a `TCHLAB_THREADS` that is not a number, is
/// an error naming the setting.
///
/// ```
/// tchlab::env::set_threads(Some(2)).unwrap();
/// assert_eq!(tch::get_num_threads(), 2);
/// assert!(tchlab::env::set_threads(Some(0)).is_err());
/// assert!(tchlab::env::set_threads(Some(4_294_967_296)).is_err());
/// ```
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    let (count, setting) = match threads {
        Some(t) => (t, "--threads"),
        None => match std::env::var("TCHLAB_THREADS").ok().filter(|v| !v.trim().is_empty()) {
            None => return Ok(()),
            Some(v) => (
                v.trim().parse::<usize>().map_err(|_| {
                    anyhow::anyhow!(
                        "TCHLAB_THREADS={v} is not a number of threads: set it to 1..={MAX_THREADS} or unset it"
                    )
                })?,
                "TCHLAB_THREADS",
            ),
        },
    };
    anyhow::ensure!(
        (1..=MAX_THREADS).contains(&count),
        "{setting} {count} is out of range: use 1..={MAX_THREADS} threads (this machine has {} cores)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    tch::set_num_threads(count as i32);
    crate::threads::pin();
    Ok(())
}

/// Whether tchlab may change process-wide settings (see [`prepare_process`]): yes unless
/// `TCHLAB_PROCESS_TUNING` is `off`, `0`, `no` or `false`.
///
/// ```
/// // read once per process; `TCHLAB_PROCESS_TUNING=off` before the first model turns it off
/// let _on = tchlab::env::process_tuning();
/// ```
pub fn process_tuning() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| tuning_allowed(std::env::var("TCHLAB_PROCESS_TUNING").ok().as_deref()))
}

/// Whether a `TCHLAB_PROCESS_TUNING` value allows tuning.
fn tuning_allowed(value: Option<&str>) -> bool {
    !matches!(value.map(|v| v.trim().to_ascii_lowercase()).as_deref(), Some("off" | "0" | "no" | "false"))
}

/// The process-wide settings tchlab makes, all here, once per process, when the first
/// model ([`Mlp`](crate::model::Mlp)), loader ([`DataLoader`](crate::data::DataLoader))
/// or [`Trainer`](crate::train::Trainer) is made (and by `tchlab` first thing):
///
/// 1. MKL's conditional numerical reproducibility in strict mode
///    ([`reproducible_products`](crate::threads::reproducible_products)): matrix products
///    give the same bits for any thread count (and are a little slower than MKL's
///    fastest path);
/// 2. glibc's allocator keeps large blocks in its heap ([`tune_allocator`]);
/// 3. which lets the trainer's [`ThreadGovernor`](crate::threads::ThreadGovernor) lower
///    libtorch's thread count while other processes keep cores busy, and restore it after
///    each run.
///
/// `TCHLAB_PROCESS_TUNING=off` turns all three off (a host program that owns these
/// settings); results then may depend on the thread count. Not switchable: the trainer
/// reseeds libtorch's global generator at every epoch (see
/// [`Trainer::fit_from`](crate::train::Trainer::fit_from)).
///
/// ```
/// tchlab::env::prepare_process(); // idempotent
/// ```
pub fn prepare_process() {
    tune_allocator();
    crate::threads::reproducible_products();
}

/// Keeps large allocations (batches, activations, gradients: tens of KB to MB, freed and
/// made again every step) inside glibc's heap instead of mapping and unmapping them, and
/// page-faulting fresh zeroed pages, on every step. Process-wide and done once, through
/// [`prepare_process`]; nothing when [`process_tuning`] is off.
///
/// ```
/// tchlab::env::tune_allocator();
/// ```
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if !process_tuning() {
            return;
        }
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes glibc's allocation thresholds; any value is valid.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tuning_is_on_unless_turned_off() {
        assert!(super::tuning_allowed(None) && super::tuning_allowed(Some("on")));
        for off in ["off", "0", " OFF ", "false", "no"] {
            assert!(!super::tuning_allowed(Some(off)), "{off}");
        }
    }
}
