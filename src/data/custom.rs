//! The lecture's custom data layout: a CSV (`Class Label,File Name`) read with polars,
//! naming image files in a folder; and an exporter that writes MNIST in that layout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use polars::prelude::{Column, CsvReadOptions, DataFrame, DataType, SerReader};
use tch::Tensor;

use super::download::part_path;
use super::{Dataset, Example, Transforms, collate_parallel, default_workers};

/// Column names and image folder of a CSV image dataset.
///
/// ```
/// let opts = tchlab::data::CsvOptions::default();
/// assert_eq!(opts.label_column, "Class Label");
/// assert_eq!(opts.file_column, "File Name");
/// ```
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// Column with integer class labels.
    pub label_column: String,
    /// Column with image file names, relative to the image folder.
    pub file_column: String,
    /// Folder the file names are relative to; by default the folder beside the CSV
    /// named after its stem (`mnist_train.csv` -> `mnist_train/`).
    pub image_dir: Option<PathBuf>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { label_column: "Class Label".into(), file_column: "File Name".into(), image_dir: None }
    }
}

/// Reads a CSV file into a polars DataFrame, with the path in every error.
///
/// ```no_run
/// let df = tchlab::data::read_csv("data/xor.csv".as_ref()).unwrap();
/// assert_eq!(df.width(), 3);
/// ```
pub fn read_csv(path: &Path) -> Result<DataFrame> {
    ensure!(path.is_file(), "{} does not exist", path.display());
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .with_context(|| format!("reading CSV {}", path.display()))
}

/// Looks up a column by name; the error lists the columns that exist.
pub(crate) fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    df.column(name).map_err(|_| {
        let names: Vec<String> = df.get_column_names().iter().map(|s| format!("`{s}`")).collect();
        anyhow::anyhow!("{} has no column `{name}`; its columns are {}", path.display(), names.join(", "))
    })
}

/// Integer labels of a column, naming the first bad row (rows count from 1, after
/// the header).
pub(crate) fn label_values(col: &Column, path: &Path) -> Result<Vec<i64>> {
    let cast = col
        .cast(&DataType::Int64)
        .with_context(|| format!("{}: column `{}` is not integer", path.display(), col.name()))?;
    let values = cast.i64()?;
    let mut out = Vec::with_capacity(values.len());
    for (row, v) in (0..values.len()).map(|i| values.get(i)).enumerate() {
        match v {
            Some(v) if v >= 0 => out.push(v),
            Some(v) => bail!("{} row {}: label {v} in `{}` is negative", path.display(), row + 1, col.name()),
            None => bail!("{} row {}: label in `{}` is missing or not an integer", path.display(), row + 1, col.name()),
        }
    }
    Ok(out)
}

/// Images named by a CSV file with labels, like the lecture's `MyDataset`.
///
/// ```no_run
/// use tchlab::data::{CsvImageDataset, Dataset};
/// let train = CsvImageDataset::open("data/custom/mnist_train.csv").unwrap();
/// assert_eq!(train.len(), 256);
/// assert_eq!(train.get(0).unwrap().shape, vec![1, 28, 28]);
/// ```
#[derive(Clone, Debug)]
pub struct CsvImageDataset {
    csv: PathBuf,
    files: Vec<PathBuf>,
    labels: Vec<i64>,
    transforms: Transforms,
    expected: Option<Vec<i64>>,
    workers: usize,
}

impl CsvImageDataset {
    /// Opens `csv` with the default columns and image folder.
    pub fn open(csv: impl AsRef<Path>) -> Result<Self> {
        Self::with_options(csv, &CsvOptions::default())
    }

    /// Opens `csv` with `options`; checks the columns, the labels and that every named
    /// image exists (the error names the row and the file).
    pub fn with_options(csv: impl AsRef<Path>, options: &CsvOptions) -> Result<Self> {
        let csv = csv.as_ref().to_path_buf();
        let df = read_csv(&csv)?;
        let labels = label_values(column(&df, &options.label_column, &csv)?, &csv)?;
        let names = column(&df, &options.file_column, &csv)?
            .cast(&DataType::String)
            .with_context(|| format!("{}: column `{}` is not text", csv.display(), options.file_column))?;
        let names = names.str()?;
        let dir = match &options.image_dir {
            Some(d) => d.clone(),
            None => csv.with_extension(""),
        };
        ensure!(dir.is_dir(), "image folder {} (for {}) does not exist", dir.display(), csv.display());
        let mut files = Vec::with_capacity(names.len());
        for (row, name) in (0..names.len()).map(|i| names.get(i)).enumerate() {
            let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
                bail!("{} row {}: `{}` is empty", csv.display(), row + 1, options.file_column);
            };
            let path = dir.join(name.trim());
            ensure!(
                path.is_file(),
                "{} row {} names {}, which does not exist: fix the row or add the image",
                csv.display(),
                row + 1,
                path.display()
            );
            files.push(path);
        }
        ensure!(!files.is_empty(), "{} has no rows: the dataset is empty", csv.display());
        let mut ds = CsvImageDataset {
            csv,
            files,
            labels,
            transforms: Transforms::new(),
            expected: None,
            workers: default_workers(),
        };
        ds.expected = Some(ds.get(0)?.shape);
        Ok(ds)
    }

    /// Sets the transforms applied to each image; the expected shape becomes that of
    /// the first image after them.
    pub fn transforms(mut self, transforms: Transforms) -> Result<Self> {
        transforms.validate()?;
        self.transforms = transforms;
        self.expected = None;
        self.expected = Some(self.get(0)?.shape);
        Ok(self)
    }

    /// Requires every image to have this `[C, H, W]` shape after the transforms
    /// (default: the shape of the first image).
    pub fn expect_shape(mut self, shape: &[i64]) -> Self {
        self.expected = Some(shape.to_vec());
        self
    }

    /// Sets the number of decoding threads.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// The image files, in row order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The labels, in row order.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }
}

impl Dataset for CsvImageDataset {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn get_seeded(&self, index: usize, seed: u64) -> Result<Example> {
        let path = self
            .files
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("index {index} is out of range for {}", self.csv.display()))?;
        let row = index + 1;
        let image = self
            .transforms
            .open(path)
            .with_context(|| format!("{} row {row}: cannot decode {}", self.csv.display(), path.display()))?;
        let (input, shape) = self.transforms.apply(image, seed)?;
        let Some(expected) = &self.expected else {
            return Ok(Example { input, shape, label: self.labels[index] });
        };
        ensure!(
            &shape == expected,
            "{} row {row}: {} gives an image of shape {shape:?} (channels, height, width), but the dataset's images are {expected:?}: \
             resize it or add Resize/Grayscale/Rgb transforms",
            self.csv.display(),
            path.display()
        );
        Ok(Example { input, shape, label: self.labels[index] })
    }

    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        collate_parallel(self, indices, seed, self.workers)
    }
}

/// Writes images `range` of `images` (`u8 [N, H, W]`) with their labels in the custom
/// layout: `dir/NAME/{index}.png` and `dir/NAME.csv` (`Class Label,File Name`). Files
/// are written under temporary names and renamed when complete.
///
/// ```no_run
/// let mnist = tchlab::data::Mnist::load(tchlab::data::MnistKind::Digits).unwrap();
/// tchlab::data::export_custom(&mnist.train_images, &mnist.train_labels, 0..256, "data/custom".as_ref(), "mnist_train").unwrap();
/// ```
pub fn export_custom(
    images: &Tensor,
    labels: &Tensor,
    range: std::ops::Range<i64>,
    dir: &Path,
    name: &str,
) -> Result<PathBuf> {
    let size = images.size();
    ensure!(size.len() == 3, "export needs images [N, H, W], got {size:?}");
    ensure!(
        0 <= range.start && range.start < range.end && range.end <= size[0],
        "range {}..{} does not fit {} images",
        range.start,
        range.end,
        size[0]
    );
    let (h, w) = (size[1] as u32, size[2] as u32);
    let folder = dir.join(name);
    let csv = dir.join(format!("{name}.csv"));
    let folder_part = part_path(&folder);
    let csv_part = part_path(&csv);
    let _ = std::fs::remove_dir_all(&folder_part);
    std::fs::create_dir_all(&folder_part).with_context(|| format!("creating {}", folder_part.display()))?;
    let images = images.to_kind(tch::Kind::Uint8);
    let mut rows = String::from("Class Label,File Name\n");
    for i in range {
        let pixels = Vec::<u8>::try_from(images.get(i).flatten(0, -1))?;
        let file = format!("{i}.png");
        let img = image::GrayImage::from_raw(w, h, pixels).context("image buffer size")?;
        img.save(folder_part.join(&file)).with_context(|| format!("writing {}", folder_part.join(&file).display()))?;
        rows.push_str(&format!("{},{file}\n", labels.int64_value(&[i])));
    }
    std::fs::write(&csv_part, rows).with_context(|| format!("writing {}", csv_part.display()))?;
    if folder.exists() {
        std::fs::remove_dir_all(&folder).with_context(|| format!("replacing {}", folder.display()))?;
    }
    std::fs::rename(&folder_part, &folder).with_context(|| format!("renaming {}", folder_part.display()))?;
    std::fs::rename(&csv_part, &csv).with_context(|| format!("renaming {}", csv_part.display()))?;
    Ok(csv)
}

/// Writes the lecture's layout: `mnist_train`, `mnist_valid`, `mnist_test` with 256
/// images each (the first 768 MNIST training images) under `dir`; returns the three
/// CSV paths.
///
/// ```no_run
/// let mnist = tchlab::data::Mnist::load(tchlab::data::MnistKind::Digits).unwrap();
/// let csvs = tchlab::data::export_lecture_layout(&mnist, "data/custom".as_ref()).unwrap();
/// assert!(csvs[0].ends_with("mnist_train.csv"));
/// ```
pub fn export_lecture_layout(mnist: &super::Mnist, dir: &Path) -> Result<Vec<PathBuf>> {
    ["mnist_train", "mnist_valid", "mnist_test"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let start = 256 * k as i64;
            export_custom(&mnist.train_images, &mnist.train_labels, start..start + 256, dir, name)
        })
        .collect()
}
