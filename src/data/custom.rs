//! The lecture's custom data layout: a CSV (`Class Label,File Name`) read with polars,
//! naming image files in a folder; and an exporter that writes MNIST in that layout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use polars::prelude::{Column, CsvReadOptions, DataFrame, DataType, SerReader};
use tch::Tensor;

use super::paths::{self, Resolved};
use super::{Dataset, Example, Transforms, collate_parallel, default_workers};

/// Column names, image folder and checks of a CSV image dataset.
///
/// ```
/// let opts = tchlab::data::CsvOptions::default();
/// assert_eq!(opts.label_column, "Class Label");
/// assert_eq!(opts.file_column, "File Name");
/// assert!(!opts.allow_outside_paths);
/// // Ten classes: labels must be 0..=9.
/// let digits = tchlab::data::CsvOptions { num_classes: Some(10), ..Default::default() };
/// assert_eq!(digits.num_classes, Some(10));
/// ```
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// Column with integer class labels (`0`, `1`, `2`, ... written as whole numbers).
    pub label_column: String,
    /// Column with image file names, relative to the image folder, read as text exactly
    /// as written (`007.png` and `7.png` are different files).
    pub file_column: String,
    /// Folder the file names are relative to; by default the folder beside the CSV
    /// named after its stem (`mnist_train.csv` -> `mnist_train/`).
    pub image_dir: Option<PathBuf>,
    /// The number of classes, when known: every label must then be below it.
    pub num_classes: Option<usize>,
    /// Follow file names that lead outside the image folder (`../x.png`, an absolute
    /// path, a symbolic link to elsewhere). Off by default: a dataset's rows name files
    /// in its own folder, and a CSV from elsewhere must not make the loader read any file
    /// on the machine.
    pub allow_outside_paths: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            label_column: "Class Label".into(),
            file_column: "File Name".into(),
            image_dir: None,
            num_classes: None,
            allow_outside_paths: false,
        }
    }
}

/// Reads a CSV file into a polars DataFrame, with the path in every error. Column
/// types are inferred (numbers become numbers); datasets read their CSVs as text and
/// parse each value themselves.
///
/// ```no_run
/// let df = tchlab::data::read_csv("data/xor.csv".as_ref()).unwrap();
/// assert_eq!(df.width(), 3);
/// ```
pub fn read_csv(path: &Path) -> Result<DataFrame> {
    parse_csv(path, CsvReadOptions::default())
}

/// Reads a CSV file with every column as text, exactly as written: no type is
/// inferred, so `007` stays `007` and `3.7` is not silently a number of some kind.
pub(crate) fn read_csv_text(path: &Path) -> Result<DataFrame> {
    parse_csv(path, CsvReadOptions::default().with_infer_schema_length(Some(0)))
}

/// Reads `path` (a regular file of at most [`MAX_CSV_BYTES`]) and parses it with `options`.
fn parse_csv(path: &Path, options: CsvReadOptions) -> Result<DataFrame> {
    let bytes = super::read_regular_file(path, super::MAX_CSV_BYTES)?;
    ensure_unique_header(&bytes, path)?;
    options
        .with_has_header(true)
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()
        .with_context(|| format!("reading CSV {}", path.display()))
}

/// The header's column names, split at commas outside double quotes, quotes removed and
/// surrounding spaces trimmed.
fn header_names(bytes: &[u8]) -> Vec<String> {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line));
    let (mut names, mut name, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => names.push(std::mem::take(&mut name).trim().to_string()),
            c => name.push(c),
        }
    }
    names.push(name.trim().to_string());
    names
}

/// A header that names a column twice is an error: which of the two would be read?
fn ensure_unique_header(bytes: &[u8], path: &Path) -> Result<()> {
    let names = header_names(bytes);
    for (second, name) in names.iter().enumerate() {
        if let Some(first) = names[..second].iter().position(|n| n == name) {
            bail!(
                "{}: columns {} and {} of the header are both named `{name}`, so which one is meant is \
                 ambiguous; rename or remove one of them",
                path.display(),
                first + 1,
                second + 1
            );
        }
    }
    Ok(())
}

/// Looks up a column by name; the error lists the columns that exist.
pub(crate) fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    df.column(name).map_err(|_| {
        let names: Vec<String> = df.get_column_names().iter().map(|s| format!("`{s}`")).collect();
        anyhow::anyhow!("{} has no column `{name}`; its columns are {}", path.display(), names.join(", "))
    })
}

/// The values of a column as text (`None` for a missing value).
pub(crate) fn text_values(col: &Column, path: &Path) -> Result<Vec<Option<String>>> {
    let text = col
        .cast(&DataType::String)
        .with_context(|| format!("{}: column `{}` cannot be read as text", path.display(), col.name()))?;
    let text = text.str()?;
    Ok((0..text.len()).map(|i| text.get(i).map(str::to_owned)).collect())
}

/// Parses one class label, written as a whole number (surrounding spaces allowed):
/// `3` and `+3` are 3; `3.7`, `3.0`, `true` and `-1` are errors saying why.
fn parse_label(raw: Option<&str>, num_classes: Option<usize>) -> std::result::Result<i64, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err("the label is missing: every row needs a class label (0, 1, 2, ...)".into());
    };
    let value: i64 = match text.parse() {
        Ok(v) => v,
        Err(_) if text.parse::<f64>().is_ok() => {
            return Err(format!(
                "label `{text}` is not a whole number: class labels are class indices (0, 1, 2, ...) \
                 written without a decimal point; write the class index"
            ));
        }
        Err(_) => {
            return Err(format!(
                "label `{text}` is not an integer: class labels are class indices (0, 1, 2, ...); \
                 map names or true/false to indices before writing the CSV"
            ));
        }
    };
    ensure_label(value, num_classes).map_err(|why| format!("label `{text}` {why}"))?;
    Ok(value)
}

fn ensure_label(value: i64, num_classes: Option<usize>) -> std::result::Result<(), String> {
    if value < 0 {
        return Err("is negative: class labels are class indices 0, 1, 2, ...; renumber the classes from 0".into());
    }
    if let Some(n) = num_classes
        && value as u64 >= n as u64
    {
        return Err(format!(
            "is not below the number of classes ({n}): labels must be 0 to {}; fix the row or the number of classes",
            n.saturating_sub(1)
        ));
    }
    Ok(())
}

/// Integer labels of a column, parsed strictly from the text as written; the error
/// names the file, the row (counting from 1, after the header) and the value. Without a
/// number of classes the classes are 0 to the largest label, so a label far beyond the
/// others (a model would need an output for each class no row has) is an error too.
pub(crate) fn label_values(col: &Column, path: &Path, num_classes: Option<usize>) -> Result<Vec<i64>> {
    let values = text_values(col, path)?;
    let mut out = Vec::with_capacity(values.len());
    for (row, raw) in values.iter().enumerate() {
        match parse_label(raw.as_deref(), num_classes) {
            Ok(v) => out.push(v),
            Err(why) => bail!("{} row {}, column `{}`: {why}", path.display(), row + 1, col.name()),
        }
    }
    if num_classes.is_none()
        && let Err(why) = ensure_dense_labels(&out)
    {
        bail!("{} column `{}`: {why}", path.display(), col.name());
    }
    Ok(out)
}

/// The most classes a label column may imply when the number of classes is not given.
const MAX_CLASSES: i64 = 100_000;

/// Labels whose classes (0 to the largest label) are mostly absent are an error naming the
/// row of the largest label: beyond [`MAX_CLASSES`], or with at least 10 classes that no
/// row has and more of them absent than present.
fn ensure_dense_labels(labels: &[i64]) -> std::result::Result<(), String> {
    let Some((row, &largest)) = labels.iter().enumerate().max_by_key(|&(_, v)| v) else {
        return Ok(());
    };
    let present = labels.iter().collect::<std::collections::BTreeSet<_>>();
    let classes = largest as i128 + 1;
    let absent = classes - present.len() as i128;
    if largest < MAX_CLASSES && (absent < 10 || absent <= present.len() as i128) {
        return Ok(());
    }
    let next = present.iter().rev().nth(1).map_or("none".to_string(), |v| v.to_string());
    Err(format!(
        "row {}: label `{largest}` is far beyond the other labels (the next largest is {next}); classes run from \
         0 to the largest label, so a model would need {classes} outputs, {absent} of them for classes no row has; \
         fix the row, renumber the classes 0 to {}, or give the number of classes",
        row + 1,
        present.len() - 1
    ))
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

    /// Opens `csv` with `options`. The CSV is read as text: labels must be whole
    /// numbers, non-negative and below [`CsvOptions::num_classes`] when it is set; file
    /// names are taken exactly as written, and each must be an existing file inside the
    /// image folder once `..` and symbolic links are resolved (unless
    /// [`CsvOptions::allow_outside_paths`]). Errors name the CSV, the row and the value.
    ///
    /// ```
    /// use tchlab::data::{CsvImageDataset, CsvOptions, Dataset};
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(dir.path().join("pics")).unwrap();
    /// image::GrayImage::new(4, 4).save(dir.path().join("pics/007.png")).unwrap();
    /// std::fs::write(dir.path().join("pics.csv"), "label,file\n1,007.png\n").unwrap();
    /// let opts = CsvOptions { label_column: "label".into(), file_column: "file".into(), ..Default::default() };
    /// let ds = CsvImageDataset::with_options(dir.path().join("pics.csv"), &opts).unwrap();
    /// assert_eq!((ds.len(), ds.labels()), (1, &[1][..]));
    /// // A label written as `1.5` is an error naming the row.
    /// std::fs::write(dir.path().join("pics.csv"), "label,file\n1.5,007.png\n").unwrap();
    /// let e = CsvImageDataset::with_options(dir.path().join("pics.csv"), &opts).unwrap_err();
    /// assert!(e.to_string().contains("row 1"), "{e}");
    /// ```
    pub fn with_options(csv: impl AsRef<Path>, options: &CsvOptions) -> Result<Self> {
        let csv = csv.as_ref().to_path_buf();
        let df = read_csv_text(&csv)?;
        let labels = label_values(column(&df, &options.label_column, &csv)?, &csv, options.num_classes)?;
        let names = text_values(column(&df, &options.file_column, &csv)?, &csv)?;
        let dir = match &options.image_dir {
            Some(d) => d.clone(),
            None => csv.with_extension(""),
        };
        ensure!(dir.is_dir(), "image folder {} (for {}) does not exist", dir.display(), csv.display());
        let real_dir = paths::real_dir(&dir)?;
        let mut files = Vec::with_capacity(names.len());
        for (row, name) in names.iter().enumerate() {
            let row = row + 1;
            let Some(name) = name.as_deref().filter(|n| !n.is_empty()) else {
                bail!("{} row {row}: `{}` is empty: name an image file", csv.display(), options.file_column);
            };
            let path = dir.join(name);
            check_row_file(&csv, row, name, &path, (&dir, &real_dir), options)?;
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

/// Checks that the image row `row` of `csv` names (`name`, at `path`) exists, is a file,
/// and lies inside the image folder (`dir`, resolved: `real_dir`) unless the options allow
/// files outside it.
fn check_row_file(
    csv: &Path,
    row: usize,
    name: &str,
    path: &Path,
    (dir, real_dir): (&Path, &Path),
    options: &CsvOptions,
) -> Result<()> {
    match paths::resolve(real_dir, path) {
        Resolved::Missing => {
            let trimmed = name.trim();
            let hint = if trimmed != name && !trimmed.is_empty() && dir.join(trimmed).exists() {
                format!(" (`{trimmed}` exists: remove the spaces around the name)")
            } else {
                String::new()
            };
            bail!(
                "{} row {row} names {}, which does not exist{hint}: fix the row or add the image",
                csv.display(),
                path.display()
            );
        }
        Resolved::Outside(real) if !options.allow_outside_paths => bail!(
            "{} row {row} names `{name}`, which is {}, outside the image folder {}: move the image \
             into the folder and name it relative to it, or set CsvOptions::allow_outside_paths to \
             read files outside it",
            csv.display(),
            real.display(),
            dir.display()
        ),
        Resolved::Inside(real) | Resolved::Outside(real) => ensure!(
            real.is_file(),
            "{} row {row} names `{name}`, which is not a file ({}): name an image file",
            csv.display(),
            real.display()
        ),
    }
    Ok(())
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
    ensure!(
        labels.size() == [size[0]],
        "export needs one label per image: {} images but labels of shape {:?}",
        size[0],
        labels.size()
    );
    let (h, w) = (size[1] as u32, size[2] as u32);
    let folder = dir.join(name);
    let csv = dir.join(format!("{name}.csv"));
    ensure!(
        !csv.exists() || folder.join(crate::output::MARKER).is_file(),
        "{} exists, but {} beside it is not a tchlab export: move the CSV away or export into another folder",
        csv.display(),
        folder.display()
    );
    // The image folder is written like every result folder (refused if it holds other
    // files, moved into place when complete); the CSV follows it atomically.
    let writer = crate::output::ResultDir::create(&folder, "export")?;
    let images = images.to_kind(tch::Kind::Uint8);
    let mut rows = String::from("Class Label,File Name\n");
    for i in range {
        let pixels = Vec::<u8>::try_from(images.get(i).flatten(0, -1))?;
        let file = format!("{i}.png");
        let img = image::GrayImage::from_raw(w, h, pixels).context("image buffer size")?;
        let path = writer.path().join(&file);
        img.save(&path).with_context(|| format!("writing {}", path.display()))?;
        rows.push_str(&format!("{},{file}\n", labels.f_int64_value(&[i])?));
    }
    writer.commit()?;
    crate::output::write_file_atomic(&csv, rows.as_bytes())?;
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
