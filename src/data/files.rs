//! Reading data files safely: only regular files, never more than a stated size.
//!
//! A FIFO, device or socket in place of a data file would block or stream forever;
//! a file far larger than any real one would fill memory. Every data file the crate
//! reads (IDX files, mirror copies, images) goes through [`read_regular_file`].

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The largest compressed (`.gz`) dataset file read or downloaded: 256 MiB (the largest
/// canonical MNIST file is about 10 MB).
///
/// ```
/// assert_eq!(tchlab::data::MAX_GZ_BYTES, 256 * 1024 * 1024);
/// ```
pub const MAX_GZ_BYTES: u64 = 256 << 20;

/// The largest image file read: 256 MiB.
///
/// ```
/// assert_eq!(tchlab::data::MAX_IMAGE_FILE_BYTES, 256 * 1024 * 1024);
/// ```
pub const MAX_IMAGE_FILE_BYTES: u64 = 256 << 20;

/// The most bytes a CSV file may have (the lecture's are a few KB): 256 MiB.
///
/// ```
/// assert_eq!(tchlab::data::MAX_CSV_BYTES, 256 * 1024 * 1024);
/// ```
pub const MAX_CSV_BYTES: u64 = 256 << 20;

/// What a file system entry is, in words, for errors about non-regular files.
fn describe(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Reads the whole of `path`, which must be a regular file (after following symbolic
/// links) of at most `max_bytes` bytes.
///
/// The file is opened with `O_NONBLOCK`, so a FIFO in place of a data file does not
/// block, then checked with `fstat` (the file that was opened, not the name). A FIFO,
/// directory, device or socket is refused with an error saying what it is; a file
/// larger than `max_bytes` is refused before it is read, and reading stops after
/// `max_bytes` in case the file grows meanwhile.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.bin");
/// std::fs::write(&path, b"hello").unwrap();
/// assert_eq!(tchlab::data::read_regular_file(&path, 100).unwrap(), b"hello");
/// let e = tchlab::data::read_regular_file(&path, 4).unwrap_err();
/// assert!(e.to_string().contains("larger than"), "{e}");
/// let e = tchlab::data::read_regular_file(dir.path(), 100).unwrap_err();
/// assert!(e.to_string().contains("is a directory"), "{e}");
/// ```
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let p = path.display();
    // Sockets cannot be opened at all (ENXIO): say what the entry is first.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.file_type().is_file()
        && !meta.file_type().is_dir()
        && !meta.file_type().is_fifo()
    {
        bail!("{p} is {}, not a regular file: replace it with the data file", describe(meta.file_type()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot read {p}"))?;
    let meta = file.metadata().with_context(|| format!("cannot read {p}"))?;
    if !meta.file_type().is_file() {
        bail!("{p} is {}, not a regular file: replace it with the data file", describe(meta.file_type()));
    }
    if meta.len() > max_bytes {
        bail!(
            "{p} is {} bytes, larger than the {max_bytes} bytes allowed for this kind of file: \
             it is not a genuine data file (delete or replace it)",
            meta.len()
        );
    }
    read_at_most(file, meta.len(), max_bytes, path)
}

/// Reads `file` (of `len` bytes when opened) to its end, refusing more than `max_bytes`.
fn read_at_most(file: File, len: u64, max_bytes: u64, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len as usize)
        .with_context(|| format!("{}: not enough memory to read it", path.display()))?;
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > max_bytes {
        bail!(
            "{} grew past the {max_bytes} bytes allowed for this kind of file while it was read: \
             it is not a genuine data file",
            path.display()
        );
    }
    Ok(bytes)
}
