//! Fetching files from a list of mirrors (URLs or local folders) with checksums:
//! written to a temporary file, checked, then renamed, so a bad or partial download
//! never looks complete.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};

use super::files::{MAX_GZ_BYTES, read_regular_file};

/// The MD5 of a byte slice as lowercase hex.
///
/// ```
/// assert_eq!(tchlab::data::md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
/// ```
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `name` from `mirror` (a URL or a folder), at most [`MAX_GZ_BYTES`] bytes.
fn read_source(mirror: &str, name: &str) -> Result<Vec<u8>> {
    if mirror.starts_with("http://") || mirror.starts_with("https://") {
        let url = format!("{}/{name}", mirror.trim_end_matches('/'));
        http_get(&url, MAX_GZ_BYTES)
    } else {
        read_regular_file(&Path::new(mirror).join(name), MAX_GZ_BYTES)
    }
}

#[cfg(feature = "download")]
fn http_get(url: &str, max_bytes: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .timeout_connect(Some(std::time::Duration::from_secs(15)))
        .build()
        .into();
    let response = agent.get(url).call().with_context(|| format!("downloading {url}"))?;
    let too_big = |what: String| {
        anyhow::anyhow!(
            "{url} sends {what}, more than the {max_bytes} bytes allowed for a dataset file: \
             the mirror does not serve the genuine file; use another mirror"
        )
    };
    if let Some(len) = response.body().content_length()
        && len > max_bytes
    {
        return Err(too_big(format!("{len} bytes (its Content-Length)")));
    }
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading the body of {url}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big("more data (the download was stopped)".into()));
    }
    Ok(bytes)
}

#[cfg(not(feature = "download"))]
fn http_get(url: &str, _max_bytes: u64) -> Result<Vec<u8>> {
    bail!("cannot download {url}: tchlab was built without the `download` feature; use a local mirror folder")
}

/// Fetches `name` into `dir` from the first mirror whose copy passes `verify`.
///
/// A mirror is a URL (`https://host/path/`) or a local folder. An existing file in
/// `dir` that passes `verify` is kept as it is. Bytes go to `NAME.part` first and are
/// renamed only after the check; a file that fails it is not kept. The error lists
/// every mirror's failure.
///
/// Each copy is at most [`MAX_GZ_BYTES`] (256 MiB): a download whose `Content-Length`
/// is larger is refused before its body is read, and reading stops past the limit
/// otherwise; a local mirror's copy must be a regular file no larger than that.
///
/// ```no_run
/// let path = tchlab::data::fetch_file(
///     "t10k-labels-idx1-ubyte.gz",
///     &["../shared/data/mnist".to_string()],
///     std::path::Path::new("data/mnist"),
///     &|bytes: &[u8]| {
///         anyhow::ensure!(tchlab::data::md5_hex(bytes) == "ec29112dd5afa0611ce80d1b7f02629c", "bad md5");
///         Ok(())
///     },
/// ).unwrap();
/// ```
pub fn fetch_file(name: &str, mirrors: &[String], dir: &Path, verify: &dyn Fn(&[u8]) -> Result<()>) -> Result<PathBuf> {
    let dest = dir.join(name);
    if dest.exists() {
        match read_regular_file(&dest, MAX_GZ_BYTES).and_then(|bytes| verify(&bytes)) {
            Ok(()) => return Ok(dest),
            Err(e) => {
                eprintln!("tchlab: {} failed its check ({e:#}); fetching it again", dest.display());
                std::fs::remove_file(&dest).with_context(|| format!("removing {}", dest.display()))?;
            }
        }
    }
    if mirrors.is_empty() {
        bail!("{} is missing and no mirror is configured", dest.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut failures = Vec::new();
    for mirror in mirrors {
        let attempt = read_source(mirror, name).and_then(|bytes| {
            verify(&bytes).with_context(|| format!("{name} from {mirror}"))?;
            Ok(bytes)
        });
        match attempt {
            Ok(bytes) => {
                crate::output::write_file_atomic(&dest, &bytes)?;
                return Ok(dest);
            }
            Err(e) => failures.push(format!("  {mirror}: {e:#}")),
        }
    }
    bail!(
        "could not fetch {name} into {}; tried:\n{}\nset a mirror (a URL or a folder holding {name}) and try again",
        dir.display(),
        failures.join("\n")
    )
}
