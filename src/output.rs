//! Result folders that never lose a user's files: [`ResultDir`] writes a run's
//! results, a checkpoint or an export under a hidden temporary name beside the
//! destination and moves it into place only when it is complete.
//!
//! The rules, checked before any work starts:
//! - the destination's last component must be a plain name: `.`, `..`, `/`, the home
//!   folder and any folder that contains the current directory are refused, and a
//!   trailing `/` is ignored;
//! - an existing destination is replaced only when it is a previous tchlab result of
//!   the same kind: it carries the marker file `.tchlab-result` that lists the files
//!   tchlab wrote, and holds nothing else;
//! - one writer at a time: a lock file beside the destination (`flock`, released by
//!   the kernel when a process dies) makes a second writer fail at once;
//! - an error or a panic removes the temporary folder; a signal does too once
//!   [`clean_up_on_signals`] runs, and any temporary folder a killed process left is
//!   hidden, carries no marker (so it never looks like a result) and is removed by the
//!   next writer of the same destination.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail, ensure};

/// The marker file inside every folder tchlab writes: its kind, then one written
/// file per line.
pub const MARKER: &str = ".tchlab-result";

/// Temporary folders and lock files of writers in progress, for [`clean_up_on_signals`].
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A result folder being written. Write files under [`ResultDir::path`], then call
/// [`ResultDir::commit`]; dropping it uncommitted (an error, a panic) removes
/// everything it wrote and leaves the destination as it was.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("result");
/// let writer = tchlab::output::ResultDir::create(&out, "example").unwrap();
/// std::fs::write(writer.path().join("a.txt"), "1").unwrap();
/// writer.commit().unwrap();
/// assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "1");
/// // A folder of someone else's files is never replaced.
/// std::fs::write(dir.path().join("mine.txt"), "keep").unwrap();
/// assert!(tchlab::output::ResultDir::create(dir.path(), "example").is_err());
/// ```
#[derive(Debug)]
pub struct ResultDir {
    dest: PathBuf,
    tmp: PathBuf,
    kind: String,
    lock_path: PathBuf,
    lock: Option<File>,
    done: bool,
}

impl ResultDir {
    /// Checks `dest`, takes its lock and creates the temporary folder. Fails (before
    /// any work) when `dest` may not be written: see the module's rules.
    pub fn create(dest: &Path, kind: &str) -> Result<Self> {
        let dest = destination(dest)?;
        let parent = dest.parent().context("a result folder needs a parent folder")?.to_path_buf();
        let name = dest.file_name().context("a result folder needs a name")?.to_os_string();
        check_replaceable(&dest, kind)?;
        let lock_path = sibling(&parent, &name, ".tchlab-lock");
        let lock = take_lock(&lock_path, &dest)?;
        register(&lock_path);
        // Holding the lock, nobody else writes this destination: whatever temporary
        // folders are left beside it belong to writers that died.
        remove_stale(&parent, &name);
        let tmp = sibling(&parent, &name, &format!(".tchlab-tmp-{}", std::process::id()));
        let writer = ResultDir {
            dest: dest.clone(),
            tmp: tmp.clone(),
            kind: kind.to_string(),
            lock_path,
            lock: Some(lock),
            done: false,
        };
        register(&tmp);
        std::fs::create_dir(&tmp).with_context(|| format!("creating the temporary folder {}", tmp.display()))?;
        Ok(writer)
    }

    /// The folder to write into (temporary until [`ResultDir::commit`]).
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The destination, as resolved (absolute, trailing separators removed).
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    /// Writes the marker and moves the folder into place, replacing the previous
    /// result of the same kind (checked again now). Returns the destination.
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut files = Vec::new();
        list_files(&self.tmp, Path::new(""), &mut files)?;
        let mut marker = format!("{}\n", self.kind);
        for f in &files {
            marker.push_str(&String::from_utf8_lossy(f.as_os_str().as_bytes()));
            marker.push('\n');
        }
        std::fs::write(self.tmp.join(MARKER), marker)
            .with_context(|| format!("writing {}", self.tmp.join(MARKER).display()))?;
        check_replaceable(&self.dest, &self.kind)?;
        if self.dest.exists() {
            // Swap the two folders in one step where the file system allows it.
            if exchange(&self.tmp, &self.dest).is_err() {
                let old = sibling(
                    self.dest.parent().unwrap_or(Path::new("/")),
                    self.dest.file_name().unwrap_or_default(),
                    &format!(".tchlab-old-{}", std::process::id()),
                );
                std::fs::rename(&self.dest, &old)
                    .with_context(|| format!("moving the previous {} aside", self.dest.display()))?;
                if let Err(e) = std::fs::rename(&self.tmp, &self.dest) {
                    let _ = std::fs::rename(&old, &self.dest);
                    return Err(e).with_context(|| format!("moving the result into {}", self.dest.display()));
                }
                let _ = std::fs::remove_dir_all(&old);
            }
            // After the exchange the temporary name holds the previous result.
        } else {
            std::fs::rename(&self.tmp, &self.dest)
                .with_context(|| format!("moving {} to {}", self.tmp.display(), self.dest.display()))?;
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
        self.done = true;
        Ok(self.dest.clone())
    }
}

impl Drop for ResultDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
        unregister(&self.tmp);
        // Remove the lock file while still holding the lock; a writer that opened it
        // meanwhile notices that the path no longer names its file and retries.
        let _ = std::fs::remove_file(&self.lock_path);
        unregister(&self.lock_path);
        self.lock.take();
    }
}

/// Resolves `dest` to an absolute path whose parent exists and whose last component
/// is a plain name; refuses `.`, `..`, `/`, the home folder and folders that contain
/// the current directory.
///
/// ```
/// use std::path::Path;
/// assert!(tchlab::output::destination(Path::new(".")).is_err());
/// assert!(tchlab::output::destination(Path::new("..")).is_err());
/// assert!(tchlab::output::destination(Path::new("/")).is_err());
/// let d = tchlab::output::destination(&std::env::temp_dir().join("tchlab-doc-dest/")).unwrap();
/// assert!(d.ends_with("tchlab-doc-dest"));
/// ```
pub fn destination(dest: &Path) -> Result<PathBuf> {
    let shown = dest.display();
    ensure!(!dest.as_os_str().is_empty(), "the output folder is empty: give a folder name, e.g. --out runs/xor");
    // `Path::components` already drops trailing separators and inner `.`s, except a leading one.
    let name = match dest.components().next_back() {
        Some(Component::Normal(n)) => n.to_os_string(),
        Some(Component::CurDir) => bail!(
            "refusing to write results into `{shown}` (the current folder): name a new folder, e.g. --out runs/xor"
        ),
        Some(Component::ParentDir) => {
            bail!("refusing to write results into `{shown}` (a parent folder): name a new folder, e.g. --out runs/xor")
        }
        _ => bail!("refusing to write results into `{shown}`: name a new folder, e.g. --out runs/xor"),
    };
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating the folder {}", parent.display()))?;
    let parent = parent.canonicalize().with_context(|| format!("resolving {}", parent.display()))?;
    let resolved = parent.join(&name);
    let here = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
    if let Some(here) = here
        && here.starts_with(&resolved)
    {
        bail!(
            "refusing to write results into `{shown}`: it contains the current folder {}; name a new folder",
            here.display()
        );
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from).and_then(|h| h.canonicalize().ok())
        && home.starts_with(&resolved)
    {
        bail!("refusing to write results into `{shown}`: it is or contains the home folder; name a new folder");
    }
    Ok(resolved)
}

/// Fails unless `dest` is absent or a previous tchlab result of `kind` holding only
/// the files its marker lists.
fn check_replaceable(dest: &Path, kind: &str) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("looking at {}", dest.display())),
        Ok(m) => m,
    };
    let shown = dest.display();
    ensure!(!meta.file_type().is_symlink(), "{shown} is a symbolic link: give the folder it points to, or a new name");
    ensure!(meta.is_dir(), "{shown} exists and is not a folder: choose another output folder or remove it");
    let marker = dest.join(MARKER);
    let Ok(text) = std::fs::read_to_string(&marker) else {
        let empty = std::fs::read_dir(dest).map(|mut d| d.next().is_none()).unwrap_or(false);
        if empty {
            return Ok(());
        }
        bail!(
            "{shown} exists and is not a tchlab result (it has no {MARKER}): tchlab replaces only its own \
             results; choose another output folder, or move that folder away yourself"
        );
    };
    let mut lines = text.lines();
    let found = lines.next().unwrap_or_default();
    ensure!(
        found == kind,
        "{shown} holds a tchlab {found} result, not a {kind} result: choose another output folder, or remove it yourself"
    );
    let listed: std::collections::BTreeSet<&[u8]> = lines.map(str::as_bytes).collect();
    let mut files = Vec::new();
    list_files(dest, Path::new(""), &mut files)?;
    for f in files {
        let bytes = f.as_os_str().as_bytes();
        if bytes != MARKER.as_bytes() && !listed.contains(bytes) {
            bail!(
                "{shown} is a previous tchlab result but now also holds {}, which tchlab did not write: \
                 move that file away, or choose another output folder",
                dest.join(&f).display()
            );
        }
    }
    Ok(())
}

/// Every entry under `dir` (recursively) that is not a folder, as paths relative to it.
fn list_files(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = rel.join(e.file_name());
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            list_files(&e.path(), &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// `parent/.NAME<suffix>`: the hidden companions of a destination.
fn sibling(parent: &Path, name: &std::ffi::OsStr, suffix: &str) -> PathBuf {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(suffix);
    parent.join(s)
}

/// Removes `parent/.NAME.tchlab-tmp-*` and `.NAME.tchlab-old-*` left by writers that died.
fn remove_stale(parent: &Path, name: &std::ffi::OsStr) {
    let prefixes = [sibling(Path::new(""), name, ".tchlab-tmp-"), sibling(Path::new(""), name, ".tchlab-old-")];
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let n = e.file_name();
        if prefixes.iter().any(|p| n.as_bytes().starts_with(p.as_os_str().as_bytes())) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Opens and `flock`s the lock file; fails at once when another process holds it.
fn take_lock(lock_path: &Path, dest: &Path) -> Result<File> {
    for _ in 0..100 {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            bail!(
                "another tchlab process is writing {} right now (it holds {}): wait for it to finish, or choose \
                 another output folder",
                dest.display(),
                lock_path.display()
            );
        }
        // The previous holder removes the file before it lets go: if the path no
        // longer names the file we locked, lock the new one instead.
        let same = std::fs::metadata(lock_path)
            .ok()
            .zip(file.metadata().ok())
            .is_some_and(|(a, b)| a.ino() == b.ino() && a.dev() == b.dev());
        if same {
            return Ok(file);
        }
    }
    bail!("could not take the lock {}: it keeps changing; try again", lock_path.display())
}

/// Swaps two paths in one step (`renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; the syscall only renames.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

fn register(path: &Path) {
    if let Ok(mut v) = IN_PROGRESS.lock() {
        v.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut v) = IN_PROGRESS.lock() {
        v.retain(|p| p != path);
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP remove the temporary folders and lock files of
/// every [`ResultDir`] in progress before the process exits (with 128 + the signal's
/// number). Call it first in `main`, before any other thread starts: it blocks those
/// signals in the calling thread, so every thread started later inherits the mask, and
/// one thread waits for them.
///
/// ```no_run
/// tchlab::output::clean_up_on_signals();
/// ```
pub fn clean_up_on_signals() {
    // SAFETY: building a signal set and changing this thread's mask are plain libc calls
    // on local values.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: waits on the signals blocked above; `sig` is a valid out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        let paths = IN_PROGRESS.lock().map(|v| v.clone()).unwrap_or_default();
        for p in paths {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
        // A plain write, not `eprintln!`: that panics when stderr is a closed pipe (the
        // usual case under `timeout` or a pipeline), which would end this thread before
        // the exit below and leave the process running with the signals blocked.
        let msg = format!("tchlab: stopped by signal {sig}; the result folders in progress were removed\n");
        // SAFETY: writes a valid buffer to fd 2 (errors ignored), then ends the process at
        // once, without running exit handlers while other threads (libtorch's) still work.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(128 + sig)
        };
    });
}

/// Writes `bytes` to `path` through a temporary `path.part-PID-N` file and a rename, so
/// that an interrupted write never leaves a file that looks complete and concurrent
/// writers of the same file never mix their bytes.
///
/// ```
/// let dir = std::env::temp_dir().join("tchlab-doc-write");
/// std::fs::create_dir_all(&dir).unwrap();
/// tchlab::output::write_file_atomic(&dir.join("a.txt"), b"hi").unwrap();
/// assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"hi");
/// ```
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut part = part_path(path).into_os_string();
    part.push(format!("-{}-{n}", std::process::id()));
    let part = PathBuf::from(part);
    let result = (|| {
        let mut f = std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
        f.write_all(bytes).with_context(|| format!("writing {}", part.display()))?;
        f.sync_all().ok();
        std::fs::rename(&part, path).with_context(|| format!("renaming {} to {}", part.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// `name.ext` -> `name.ext.part` in the same folder.
fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}
