//! Keeping a dataset's files inside its folder: a file name from a CSV row or a folder
//! entry is followed only when, after resolving `..` and symbolic links, it stays in
//! the dataset's folder (unless the user allows otherwise).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What a file name leads to, once `..` and symbolic links are resolved.
pub(crate) enum Resolved {
    /// An existing path inside the folder (its real location).
    #[cfg_attr(not(feature = "polars"), allow(dead_code))]
    Inside(PathBuf),
    /// An existing path outside the folder (its real location).
    Outside(PathBuf),
    /// Nothing: the path or a link on the way does not exist.
    Missing,
}

/// The real (canonical) path of a dataset folder.
pub(crate) fn real_dir(dir: &Path) -> Result<PathBuf> {
    dir.canonicalize().with_context(|| format!("cannot resolve the folder {}", dir.display()))
}

/// Where `path` really is, relative to the real folder `real_root`.
pub(crate) fn resolve(real_root: &Path, path: &Path) -> Resolved {
    match path.canonicalize() {
        Ok(real) if real.starts_with(real_root) => Resolved::Inside(real),
        Ok(real) => Resolved::Outside(real),
        Err(_) => Resolved::Missing,
    }
}

/// Whether a directory entry is hidden (its name starts with `.`), like
/// `.ipynb_checkpoints` or macOS's `._photo.jpg`.
pub(crate) fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}
