//! MNIST and Fashion-MNIST: the IDX format, checksummed downloads from mirrors, and
//! in-memory `u8` tensors.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use tch::Tensor;

use super::download::{fetch_file, md5_hex};
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

fn verify(file: &IdxFile, bytes: &[u8]) -> Result<()> {
    if md5_hex(bytes) == file.md5_gz {
        return Ok(());
    }
    let raw = gunzip(bytes, Path::new(file.name))?;
    let got = md5_hex(&raw);
    ensure!(
        got == file.md5_raw,
        "checksum mismatch for {}: content MD5 {got}, expected {} (a corrupt or different file)",
        file.name,
        file.md5_raw
    );
    Ok(())
}

fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len() * 5);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .with_context(|| format!("{}: truncated or corrupt gzip data; delete it and fetch it again", path.display()))?;
    Ok(out)
}

/// Reads an IDX file (gzip or raw): returns the dimensions and the `u8` data.
/// Checks the magic number (`0x0801` labels, `0x0803` images, `u8` data) and that the
/// size matches the dimensions.
///
/// ```no_run
/// let (dims, data) = tchlab::data::read_idx("data/mnist/t10k-labels-idx1-ubyte.gz".as_ref()).unwrap();
/// assert_eq!(dims, vec![10000]);
/// assert_eq!(data.len(), 10000);
/// ```
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_idx(&gunzip(&bytes, path)?, path)
}

fn parse_idx(raw: &[u8], path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let p = path.display();
    ensure!(raw.len() >= 4, "{p}: {} bytes is too short for an IDX header", raw.len());
    ensure!(
        raw[0] == 0 && raw[1] == 0 && raw[2] == 0x08 && (1..=4).contains(&raw[3]),
        "{p}: wrong magic number {:02x}{:02x}{:02x}{:02x}; expected 00000801 (labels) or 00000803 (images)",
        raw[0],
        raw[1],
        raw[2],
        raw[3]
    );
    let ndim = raw[3] as usize;
    let header = 4 + 4 * ndim;
    ensure!(raw.len() >= header, "{p}: truncated header");
    let dims: Vec<usize> =
        (0..ndim).map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let expected = header + dims.iter().product::<usize>();
    ensure!(
        raw.len() == expected,
        "{p}: {} bytes but the header's dimensions {dims:?} need {expected}: the file is truncated or corrupt",
        raw.len()
    );
    Ok((dims, raw[header..].to_vec()))
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
    /// `.gz`) from `dir`, checking magic numbers, sizes and that labels match images.
    pub fn load_dir(kind: MnistKind, dir: &Path) -> Result<Self> {
        let find = |name: &str| -> Result<PathBuf> {
            let gz = dir.join(name);
            let raw = dir.join(name.trim_end_matches(".gz"));
            if gz.exists() {
                Ok(gz)
            } else if raw.exists() {
                Ok(raw)
            } else {
                bail!(
                    "{} is missing: run `tchlab data fetch {}` or set {}",
                    gz.display(),
                    kind.name(),
                    kind.mirror_variable()
                )
            }
        };
        let files = kind.files();
        let images = |f: &IdxFile| -> Result<Tensor> {
            let path = find(f.name)?;
            let (dims, data) = read_idx(&path)?;
            ensure!(dims.len() == 3, "{}: expected image data with 3 dimensions, found {dims:?}", path.display());
            Ok(Tensor::from_slice(&data).reshape([dims[0] as i64, dims[1] as i64, dims[2] as i64]))
        };
        let labels = |f: &IdxFile, n: i64| -> Result<Tensor> {
            let path = find(f.name)?;
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
            Ok(Tensor::from_slice(&data).to_kind(tch::Kind::Int64))
        };
        // The two image files decompress in parallel (most of the loading time).
        let (train_images, test_images) = std::thread::scope(|s| {
            let train = s.spawn(|| images(&files[0]));
            let test = images(&files[2]);
            let train = train.join().unwrap_or_else(|_| Err(anyhow!("reading {} stopped unexpectedly", files[0].name)));
            (train, test)
        });
        let (train_images, test_images) = (train_images?, test_images?);
        let train_labels = labels(&files[1], train_images.size()[0])?;
        let test_labels = labels(&files[3], test_images.size()[0])?;
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
