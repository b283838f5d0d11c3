//! What a data folder or file is, and a short description of it (`tchlab data info`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

#[cfg(feature = "polars")]
use super::CsvImageDataset;
use super::{Dataset, ImageFolder, Mnist, MnistKind, Scaling, Transform, Transforms, channel_mean_std};

/// The kinds of data tchlab reads, recognised from a path.
///
/// ```
/// use tchlab::data::{DataLayout, recognise};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir_all(dir.path().join("cat")).unwrap();
/// assert_eq!(recognise(dir.path()).unwrap(), DataLayout::ImageFolder);
/// assert!(recognise(&dir.path().join("missing")).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataLayout {
    /// IDX files (`*-idx3-ubyte*`) of MNIST or Fashion-MNIST.
    Idx(MnistKind),
    /// One CSV naming image files in the folder of the same name.
    CsvFile,
    /// The lecture's custom layout: CSV files, each beside its image folder.
    CsvLayout(Vec<PathBuf>),
    /// `train/`, `valid/`, `test/` sub-folders, each one of these layouts.
    Splits(Vec<PathBuf>),
    /// One sub-folder per class.
    ImageFolder,
}

/// Recognises what `path` holds; an error says what tchlab expected.
pub fn recognise(path: &Path) -> Result<DataLayout> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    if path.is_file() && path.extension().is_some_and(|e| e == "csv") {
        return Ok(DataLayout::CsvFile);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("listing {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let name = |p: &PathBuf| p.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if entries.iter().any(|p| name(p).contains("-idx3-ubyte")) {
        let fashion = entries.iter().any(|p| name(p).contains("fashion")) || path.to_string_lossy().contains("fashion");
        return Ok(DataLayout::Idx(if fashion { MnistKind::Fashion } else { MnistKind::Digits }));
    }
    let csvs: Vec<PathBuf> = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv") && p.with_extension("").is_dir())
        .cloned()
        .collect();
    if !csvs.is_empty() {
        return Ok(DataLayout::CsvLayout(csvs));
    }
    let splits: Vec<PathBuf> = entries
        .iter()
        .filter(|p| p.is_dir() && ["train", "valid", "test"].contains(&name(p).as_str()))
        .cloned()
        .collect();
    if !splits.is_empty() {
        return Ok(DataLayout::Splits(splits));
    }
    if entries.iter().any(|p| p.is_dir()) {
        return Ok(DataLayout::ImageFolder);
    }
    bail!("{}: not an IDX set, a CSV layout or an image folder", path.display())
}

/// A few lines about the data at `path`: what it is, the number of images, their shape,
/// the count per class and the pixel mean and standard deviation.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// for class in ["cat", "dog"] {
///     std::fs::create_dir_all(dir.path().join(class)).unwrap();
///     image::GrayImage::new(4, 4).save(dir.path().join(class).join("1.png")).unwrap();
/// }
/// let text = tchlab::data::describe(dir.path()).unwrap();
/// assert!(text.contains("2 images of shape [1, 4, 4]") && text.contains("cat:1 dog:1"), "{text}");
/// ```
pub fn describe(path: &Path) -> Result<String> {
    let mut out = String::new();
    match recognise(path)? {
        DataLayout::Idx(kind) => {
            writeln!(out, "{}: an IDX image set ({})", path.display(), kind.name())?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for p in files.iter().filter(|p| p.extension().is_some_and(|e| e == "gz")) {
                let md5 = super::md5_hex(&super::read_regular_file(p, super::MAX_GZ_BYTES)?);
                writeln!(out, "  {} md5 {md5}", p.file_name().unwrap_or_default().to_string_lossy())?;
            }
            let m = Mnist::load_dir(kind, path)?;
            out += &summary("train", &m.train(Scaling::Unit))?;
            out += &summary("test", &m.test(Scaling::Unit))?;
        }
        DataLayout::CsvFile => out += &summary(&path.display().to_string(), &open_csv(path)?)?,
        DataLayout::CsvLayout(csvs) => {
            writeln!(out, "{}: the custom layout (CSV + image folder)", path.display())?;
            for csv in csvs {
                out += &summary(&csv.file_name().unwrap_or_default().to_string_lossy(), &open_csv(&csv)?)?;
            }
        }
        DataLayout::Splits(dirs) => {
            for dir in dirs {
                out += &describe(&dir)?;
            }
        }
        DataLayout::ImageFolder => {
            writeln!(out, "{}: an image folder (one sub-folder per class)", path.display())?;
            let ds = ImageFolder::open(path)?;
            let sizes: BTreeSet<(u32, u32)> =
                ds.files().iter().take(200).filter_map(|(p, _)| image::image_dimensions(p).ok()).collect();
            let transforms = if sizes.len() > 1 {
                writeln!(
                    out,
                    "  images differ in size ({} distinct sizes among the first 200); summarised after resizing to 64×64",
                    sizes.len()
                )?;
                Transforms::new().then(Transform::Rgb).then(Transform::Resize { width: 64, height: 64 })
            } else {
                Transforms::new()
            };
            out += &summary(&path.display().to_string(), &ds.transforms(transforms)?)?;
        }
    }
    Ok(out)
}

#[cfg(feature = "polars")]
fn open_csv(path: &Path) -> Result<CsvImageDataset> {
    CsvImageDataset::open(path)
}

#[cfg(not(feature = "polars"))]
fn open_csv(path: &Path) -> Result<ImageFolder> {
    bail!("{}: reading a CSV dataset needs tchlab's `polars` feature", path.display())
}

/// Images, shape, count per class and pixel statistics of one dataset.
fn summary(name: &str, ds: &dyn Dataset) -> Result<String> {
    let mut counts = BTreeMap::<i64, usize>::new();
    let mut shape = None;
    let indices: Vec<usize> = (0..ds.len()).collect();
    for chunk in indices.chunks(512) {
        let (x, y) = ds.batch(chunk, 0).with_context(|| format!("checking {name}"))?;
        shape.get_or_insert_with(|| x.size()[1..].to_vec());
        for l in Vec::<i64>::try_from(y)? {
            *counts.entry(l).or_default() += 1;
        }
    }
    let (mean, std) = channel_mean_std(ds).unwrap_or_default();
    let classes = ds.classes();
    let per: Vec<String> = counts
        .iter()
        .map(|(l, c)| format!("{}:{c}", classes.get(*l as usize).cloned().unwrap_or_else(|| l.to_string())))
        .collect();
    let mut out = format!(
        "{name}: {} images of shape {:?}\n  per class: {}\n",
        ds.len(),
        shape.unwrap_or_default(),
        per.join(" ")
    );
    if !mean.is_empty() {
        writeln!(out, "  pixel mean {mean:.4?} std {std:.4?}")?;
    }
    Ok(out)
}
