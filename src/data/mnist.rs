//! MNIST and Fashion-MNIST: the IDX format, checksummed downloads from mirrors, and
//! in-memory `u8` tensors.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use tch::Tensor;

use md5::{Digest, Md5};

use super::download::{fetch_file, md5_hex};
use super::files::read_regular_file;
use super::{Scaling, TensorDataset};
use crate::env::Settings;

/// Which MNIST-style dataset.
///
/// ```
/// use tchlab::data::MnistKind;
/// assert_eq!(MnistKind::Fashion.classes()[0], "T-shirt/top");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistKind {
    /// Handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0).
    Digits,
    /// Zalando's Fashion-MNIST (MIT).
    Fashion,
}

/// One file of a dataset: its name, the canonical MD5 of the `.gz` file and the MD5
/// of its decompressed content (which also accepts re-compressed copies).
struct IdxFile {
    name: &'static str,
    md5_gz: &'static str,
    md5_raw: &'static str,
}

const MNIST_FILES: [IdxFile; 4] = [
    IdxFile {
        name: "train-images-idx3-ubyte.gz",
        md5_gz: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        md5_raw: "6bbc9ace898e44ae57da46a324031adb",
    },
    IdxFile {
        name: "train-labels-idx1-ubyte.gz",
        md5_gz: "d53e105ee54ea40749a09fcbcd1e9432",
        md5_raw: "a25bea736e30d166cdddb491f175f624",
    },
    IdxFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5_gz: "9fb629c4189551a2d022fa330f9573f3",
        md5_raw: "2646ac647ad5339dbf082846283269ea",
    },
    IdxFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5_gz: "ec29112dd5afa0611ce80d1b7f02629c",
        md5_raw: "27ae3e4e09519cfbb04c329615203637",
    },
];

// Content MD5s measured on Debian's `dataset-fashion-mnist` (git 55506a9), whose
// `.gz` files are re-compressed copies of the canonical ones.
const FASHION_FILES: [IdxFile; 4] = [
    IdxFile {
        name: "train-images-idx3-ubyte.gz",
        md5_gz: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        md5_raw: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    },
    IdxFile {
        name: "train-labels-idx1-ubyte.gz",
        md5_gz: "25c81989df183df01b3e8a0aad5dffbe",
        md5_raw: "9018921c3c673c538a1fc5bad174d6f9",
    },
    IdxFile {
        name: "t10k-images-idx3-ubyte.gz",
        md5_gz: "bef4ecab320f06d8554ea6380940ec79",
        md5_raw: "8181f5470baa50b63fa0f6fddb340f0a",
    },
    IdxFile {
        name: "t10k-labels-idx1-ubyte.gz",
        md5_gz: "bb300cfdad3c16e7a12a480ee83cd310",
        md5_raw: "15d484375f8d13e6eb1aabb0c3f46965",
    },
];

impl MnistKind {
    fn files(self) -> &'static [IdxFile; 4] {
        match self {
            MnistKind::Digits => &MNIST_FILES,
            MnistKind::Fashion => &FASHION_FILES,
        }
    }

    /// The cache sub-folder and command-line name (`mnist`, `fashion-mnist`).
    pub fn name(self) -> &'static str {
        match self {
            MnistKind::Digits => "mnist",
            MnistKind::Fashion => "fashion-mnist",
        }
    }

    /// Parses `mnist` or `fashion-mnist`.
    ///
    /// ```
    /// assert!(tchlab::data::MnistKind::parse("fashion-mnist").is_ok());
    /// ```
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "mnist" | "digits" => Ok(MnistKind::Digits),
            "fashion-mnist" | "fashion" => Ok(MnistKind::Fashion),
            other => bail!("unknown dataset `{other}`: use mnist or fashion-mnist"),
        }
    }

    /// The class names.
    pub fn classes(self) -> Vec<String> {
        match self {
            MnistKind::Digits => (0..10).map(|d| d.to_string()).collect(),
            MnistKind::Fashion => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    fn public_mirrors(self) -> Vec<String> {
        match self {
            MnistKind::Digits => vec![
                "https://ossci-datasets.s3.amazonaws.com/mnist/".into(),
                "http://yann.lecun.com/exdb/mnist/".into(),
            ],
            MnistKind::Fashion => {
                let mut m = vec!["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/".to_string()];
                let debian = "/usr/share/datasets/fashion-mnist";
                if Path::new(debian).is_dir() {
                    m.insert(0, debian.into());
                }
                m
            }
        }
    }

    fn mirror_variable(self) -> &'static str {
        match self {
            MnistKind::Digits => "TCHLAB_MNIST_MIRROR",
            MnistKind::Fashion => "TCHLAB_FASHION_MNIST_MIRROR",
        }
    }
}

/// The mirrors tried for `kind`: the configured ones first, then the public ones.
///
/// ```
/// let s = tchlab::env::Settings::from_env();
/// assert!(!tchlab::data::mirrors(tchlab::data::MnistKind::Digits, &s).is_empty());
/// ```
pub fn mirrors(kind: MnistKind, settings: &Settings) -> Vec<String> {
    let mut m = match kind {
        MnistKind::Digits => settings.mnist_mirrors.clone(),
        MnistKind::Fashion => settings.fashion_mnist_mirrors.clone(),
    };
    m.extend(kind.public_mirrors());
    m
}

/// Whether all four files of `kind` are in the cache under `data_dir`.
pub fn mnist_cached(kind: MnistKind, data_dir: &Path) -> bool {
    kind.files().iter().all(|f| data_dir.join(kind.name()).join(f.name).exists())
}

/// The largest IDX content accepted, as announced by the header (the product of its
/// dimensions): 256 MiB. The largest canonical file, MNIST's training images, has
/// 47,040,000 bytes; a header announcing more than this is refused before anything is
/// decompressed.
///
/// ```
/// assert_eq!(tchlab::data::MAX_IDX_DATA_BYTES, 256 * 1024 * 1024);
/// ```
pub const MAX_IDX_DATA_BYTES: u64 = 256 << 20;

/// The largest IDX file read from disk, compressed or raw: the largest raw content plus
/// the longest header (at least [`MAX_GZ_BYTES`](super::MAX_GZ_BYTES)).
const MAX_IDX_FILE_BYTES: u64 = MAX_IDX_DATA_BYTES + 4 + 4 * 4;

fn verify(file: &IdxFile, bytes: &[u8]) -> Result<()> {
    if md5_hex(bytes) == file.md5_gz {
        return Ok(());
    }
    // A re-compressed copy: check the content, decompressing no more than its header
    // announces.
    let idx = decode_idx(bytes, Path::new(file.name)).with_context(|| {
        format!("checksum mismatch for {}: neither the file nor its content is the expected one", file.name)
    })?;
    let mut md5 = Md5::new();
    md5.update(&idx.header);
    md5.update(&idx.data);
    let got: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    ensure!(
        got == file.md5_raw,
        "checksum mismatch for {}: content MD5 {got}, expected {} (a corrupt or different file)",
        file.name,
        file.md5_raw
    );
    Ok(())
}

/// An IDX file split into its header bytes, its dimensions and its data.
struct Idx {
    header: Vec<u8>,
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// Reads from `reader` until `buf` is full or the data ends; returns the bytes read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Decodes an IDX file held in `bytes` (gzip, possibly multi-member, or raw): reads the
/// header first, checks that the data it announces is at most [`MAX_IDX_DATA_BYTES`]
/// (with overflow-safe arithmetic), then decompresses exactly that many bytes and
/// checks that the data ends there. Memory stays bounded whatever the file holds.
fn decode_idx(bytes: &[u8], path: &Path) -> Result<Idx> {
    let p = path.display();
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read + '_> =
        if gz { Box::new(flate2::read::MultiGzDecoder::new(bytes)) } else { Box::new(bytes) };
    let mut read = |buf: &mut [u8]| -> Result<usize> {
        fill(&mut *reader, buf)
            .with_context(|| format!("{p}: truncated or corrupt gzip data; delete it and fetch it again"))
    };
    let mut header = vec![0u8; 4];
    let n = read(&mut header)?;
    ensure!(n == 4, "{p}: {n} bytes is too short for an IDX header; delete it and fetch it again");
    ensure!(
        header[0] == 0 && header[1] == 0 && header[2] == 0x08 && (1..=4).contains(&header[3]),
        "{p}: wrong magic number {:02x}{:02x}{:02x}{:02x}; expected 00000801 (labels) or 00000803 (images): \
         not an IDX file of bytes; delete it and fetch it again",
        header[0],
        header[1],
        header[2],
        header[3]
    );
    let ndim = header[3] as usize;
    header.resize(4 + 4 * ndim, 0);
    let n = read(&mut header[4..])?;
    ensure!(n == 4 * ndim, "{p}: truncated header; delete it and fetch it again");
    let dims: Vec<u32> = header[4..].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
    let Some(size) = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d))) else {
        bail!(
            "{p}: the header's dimensions {dims:?} multiply to more than 2^64 bytes: not a genuine IDX file; \
             delete it and fetch it again"
        );
    };
    ensure!(
        size <= MAX_IDX_DATA_BYTES,
        "{p}: the header's dimensions {dims:?} announce {size} bytes of data, more than the {MAX_IDX_DATA_BYTES} \
         allowed (MNIST's largest file has 47040000): not a genuine MNIST-style file; delete it and fetch it again"
    );
    let mut data = Vec::new();
    data.try_reserve_exact(size as usize).with_context(|| format!("{p}: not enough memory for {size} bytes"))?;
    data.resize(size as usize, 0);
    let got = read(&mut data)?;
    let header_len = header.len();
    ensure!(
        got == data.len(),
        "{p}: {} bytes{} but the header's dimensions {dims:?} need {}: the file is truncated or corrupt; \
         delete it and fetch it again",
        header_len + got,
        if gz { " after decompression" } else { "" },
        header_len + data.len()
    );
    let mut extra = [0u8; 1];
    ensure!(
        read(&mut extra)? == 0,
        "{p}: more data than its header announces ({dims:?}, {} bytes{}): not a genuine IDX file; \
         delete it and fetch it again",
        header_len + data.len(),
        if gz { " decompressed" } else { "" }
    );
    Ok(Idx { header, dims: dims.into_iter().map(|d| d as usize).collect(), data })
}

/// Reads an IDX file (gzip or raw): returns the dimensions and the `u8` data.
/// Checks the magic number (`0x0801` labels, `0x0803` images, `u8` data) and that the
/// size matches the dimensions.
///
/// Only a regular file is read (a FIFO or device is an error, not a wait), of at most
/// 256 MiB; the header must announce at most [`MAX_IDX_DATA_BYTES`], and decompression
/// stops there: a file holding more data than its header announces is an error.
///
/// ```no_run
/// let (dims, data) = tchlab::data::read_idx("data/mnist/t10k-labels-idx1-ubyte.gz".as_ref()).unwrap();
/// assert_eq!(dims, vec![10000]);
/// assert_eq!(data.len(), 10000);
/// ```
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = read_regular_file(path, MAX_IDX_FILE_BYTES)?;
    let idx = decode_idx(&bytes, path)?;
    Ok((idx.dims, idx.data))
}

/// MNIST or Fashion-MNIST in memory: `u8` images `[N, 28, 28]` and `i64` labels.
///
/// ```no_run
/// use tchlab::data::{Dataset, Mnist, MnistKind, Scaling};
/// let mnist = Mnist::load(MnistKind::Digits).unwrap();
/// let train = mnist.train(Scaling::Unit);
/// assert_eq!(train.len(), 60_000);
/// ```
#[derive(Debug)]
pub struct Mnist {
    /// Which dataset.
    pub kind: MnistKind,
    /// Training images `[60000, 28, 28]`, `u8`.
    pub train_images: Tensor,
    /// Training labels `[60000]`, `i64`.
    pub train_labels: Tensor,
    /// Test images `[10000, 28, 28]`, `u8`.
    pub test_images: Tensor,
    /// Test labels `[10000]`, `i64`.
    pub test_labels: Tensor,
}

impl Mnist {
    /// Loads `kind` from the cache in `TCHLAB_DATA_DIR`, fetching missing files from the
    /// mirrors (`TCHLAB_MNIST_MIRROR` / `TCHLAB_FASHION_MNIST_MIRROR` first).
    pub fn load(kind: MnistKind) -> Result<Self> {
        let settings = Settings::from_env();
        let dir = Self::fetch(kind, &settings.data_dir.join(kind.name()), &mirrors(kind, &settings))?;
        Self::load_dir(kind, &dir)
    }

    /// Fetches the four files of `kind` into `dir` (checked by MD5) and returns `dir`.
    pub fn fetch(kind: MnistKind, dir: &Path, mirrors: &[String]) -> Result<PathBuf> {
        for file in kind.files() {
            fetch_file(file.name, mirrors, dir, &|bytes| verify(file, bytes)).with_context(|| {
                format!(
                    "getting {} {}: set {} to a URL or a folder with the four .gz files",
                    kind.name(),
                    file.name,
                    kind.mirror_variable()
                )
            })?;
        }
        Ok(dir.to_path_buf())
    }

    /// Reads the four IDX files (gzip or raw, named as the originals, with or without
    /// `.gz`) from `dir`, checking magic numbers, sizes (see [`read_idx`]), that each
    /// image file holds at least one image, that training and test images have the same
    /// size and that labels match images; every error names the file.
    ///
    /// ```no_run
    /// use tchlab::data::{Mnist, MnistKind};
    /// let m = Mnist::load_dir(MnistKind::Digits, "data/mnist".as_ref()).unwrap();
    /// assert_eq!(m.test_images.size(), vec![10_000, 28, 28]);
    /// ```
    pub fn load_dir(kind: MnistKind, dir: &Path) -> Result<Self> {
        let files = kind.files();
        let images = |f: &IdxFile| read_images(kind, dir, f);
        let labels = |f: &IdxFile, n: i64| read_labels(kind, dir, f, n);
        // The two image files decompress in parallel (most of the loading time).
        let (train_images, test_images) = std::thread::scope(|s| {
            let train = s.spawn(|| images(&files[0]));
            let test = images(&files[2]);
            let train = train.join().unwrap_or_else(|_| Err(anyhow!("reading {} stopped unexpectedly", files[0].name)));
            (train, test)
        });
        let ((train_images, train_path), (test_images, test_path)) = (train_images?, test_images?);
        let (train_size, test_size) = (train_images.size(), test_images.size());
        ensure!(
            train_size[1..] == test_size[1..],
            "{}: test images of {}×{} pixels, but the training images in {} are {}×{}: the files do not belong \
             together; fetch the dataset again",
            test_path.display(),
            test_size[1],
            test_size[2],
            train_path.display(),
            train_size[1],
            train_size[2]
        );
        let train_labels = labels(&files[1], train_size[0])?;
        let test_labels = labels(&files[3], test_size[0])?;
        Ok(Mnist { kind, train_images, train_labels, test_images, test_labels })
    }

    /// The 60,000 training images as a dataset.
    pub fn train(&self, scaling: Scaling) -> TensorDataset {
        self.dataset(&self.train_images, &self.train_labels, scaling)
    }

    /// The 10,000 test images as a dataset.
    pub fn test(&self, scaling: Scaling) -> TensorDataset {
        self.dataset(&self.test_images, &self.test_labels, scaling)
    }

    /// Training images `range` (e.g. `55_000..60_000` for the lecture's validation set).
    pub fn train_range(&self, range: std::ops::Range<i64>, scaling: Scaling) -> Result<TensorDataset> {
        let n = self.train_labels.size()[0];
        ensure!(
            0 <= range.start && range.start <= range.end && range.end <= n,
            "training range {}..{} does not fit the {n} training images",
            range.start,
            range.end
        );
        let len = range.end - range.start;
        Ok(self.dataset(
            &self.train_images.narrow(0, range.start, len),
            &self.train_labels.narrow(0, range.start, len),
            scaling,
        ))
    }

    fn dataset(&self, x: &Tensor, y: &Tensor, scaling: Scaling) -> TensorDataset {
        TensorDataset::new(x.shallow_clone(), y.shallow_clone(), scaling)
            .expect("images and labels were checked to match")
            .with_classes(self.kind.classes())
    }
}

/// The file `name` of `kind` in `dir`: compressed (`.gz`) or not; the error says how to
/// fetch it.
fn find_file(kind: MnistKind, dir: &Path, name: &str) -> Result<PathBuf> {
    let gz = dir.join(name);
    let raw = dir.join(name.trim_end_matches(".gz"));
    if gz.exists() {
        Ok(gz)
    } else if raw.exists() {
        Ok(raw)
    } else {
        bail!("{} is missing: run `tchlab data fetch {}` or set {}", gz.display(), kind.name(), kind.mirror_variable())
    }
}

/// The images of IDX file `f` as `[n, rows, cols]` bytes, and the file's path.
fn read_images(kind: MnistKind, dir: &Path, f: &IdxFile) -> Result<(Tensor, PathBuf)> {
    let path = find_file(kind, dir, f.name)?;
    let (dims, data) = read_idx(&path)?;
    let p = path.display();
    ensure!(dims.len() == 3, "{p}: expected image data with 3 dimensions, found {dims:?}");
    ensure!(dims[0] > 0, "{p}: the file holds 0 images; delete it and fetch it again");
    ensure!(dims[1] > 0 && dims[2] > 0, "{p}: images of {}×{} pixels; delete it and fetch it again", dims[1], dims[2]);
    let shape = [dims[0] as i64, dims[1] as i64, dims[2] as i64];
    let t = Tensor::f_from_slice(&data)
        .and_then(|t| t.f_reshape(shape))
        .with_context(|| format!("{p}: cannot hold {} bytes of images", data.len()))?;
    Ok((t, path))
}

/// The `n` labels (0–9) of IDX file `f`.
fn read_labels(kind: MnistKind, dir: &Path, f: &IdxFile, n: i64) -> Result<Tensor> {
    let path = find_file(kind, dir, f.name)?;
    let (dims, data) = read_idx(&path)?;
    ensure!(dims.len() == 1, "{}: expected label data with 1 dimension, found {dims:?}", path.display());
    ensure!(
        dims[0] as i64 == n,
        "{}: {} labels but the image file has {n} images: the files do not belong together",
        path.display(),
        dims[0]
    );
    if let Some(bad) = data.iter().position(|&l| l > 9) {
        bail!("{}: label {} at index {bad} is not a class 0-9", path.display(), data[bad]);
    }
    Tensor::f_from_slice(&data)
        .and_then(|t| t.f_to_kind(tch::Kind::Int64))
        .with_context(|| format!("{}: cannot hold {} labels", path.display(), data.len()))
}
