//! An image folder: one sub-folder per class (sorted), e.g. `train/{cat,dog}/*.jpg`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use tch::Tensor;

use super::paths::{self, Resolved};
use super::{Dataset, Example, Transforms, collate_parallel, default_workers};

/// What [`ImageFolder::open_with`] accepts beyond the strict default, like the
/// switches of torchvision's `ImageFolder` (`allow_empty`). The default rejects a
/// folder with a single class, a class folder without images, and entries that are
/// symbolic links to places outside the root folder.
///
/// ```
/// use tchlab::data::ImageFolderOptions;
/// let strict = ImageFolderOptions::default();
/// assert!(!strict.allow_single_class && !strict.allow_empty_classes && !strict.allow_outside_paths);
/// let one_class = ImageFolderOptions { allow_single_class: true, ..Default::default() };
/// assert!(one_class.allow_single_class);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageFolderOptions {
    /// Accept a root with only one class folder. Off by default: a classifier needs two
    /// or more classes, and a single class usually means the root given is itself a
    /// class folder, or that the other classes are missing.
    pub allow_single_class: bool,
    /// Keep class folders without images as classes (with no examples; torchvision's
    /// `allow_empty`). Off by default, since an empty class is usually a copy gone wrong.
    pub allow_empty_classes: bool,
    /// Follow class folders and images that are symbolic links to places outside the
    /// root folder. Off by default, so that a folder from elsewhere cannot make the
    /// loader read other files on the machine.
    pub allow_outside_paths: bool,
}

/// Images in `root/CLASS/*.{png,jpg,jpeg}`; classes are the sorted sub-folder names.
///
/// Hidden entries (names starting with `.`, such as `.ipynb_checkpoints` or macOS's
/// `._photo.jpg`) are ignored, both as classes and as images. Class folder names need
/// not be UTF-8: the folders are read by their real names, and [`ImageFolder::classes`]
/// shows them with invalid bytes replaced. Every image must have the shape (after the
/// transforms) of the first one; the error names the file that differs.
///
/// ```no_run
/// use tchlab::data::{Dataset, ImageFolder, Transform, Transforms};
/// let train = ImageFolder::open("../shared/data/cats-dogs/train").unwrap()
///     .transforms(Transforms::new().then(Transform::Resize { width: 64, height: 64 })).unwrap();
/// assert_eq!(train.classes(), vec!["cat", "dog"]);
/// ```
#[derive(Clone, Debug)]
pub struct ImageFolder {
    root: PathBuf,
    classes: Vec<String>,
    class_dirs: Vec<PathBuf>,
    files: Vec<(PathBuf, i64)>,
    transforms: Transforms,
    expected: Option<Vec<i64>>,
    /// Whether `expected` was given with `expect_shape` (else: the first image's).
    expected_given: bool,
    workers: usize,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// The images of every class folder with their labels (the folder's index), each checked
/// to lie inside `root`; a class folder without images is an error unless the options
/// allow it.
fn class_images(
    real_root: &Path,
    root: &Path,
    class_dirs: &[PathBuf],
    options: &ImageFolderOptions,
) -> Result<Vec<(PathBuf, i64)>> {
    let mut files = Vec::new();
    for (label, dir) in class_dirs.iter().enumerate() {
        let mut count = 0;
        for (_, path) in visible_entries(dir)? {
            if !(is_image(&path) && path.is_file()) {
                continue;
            }
            check_inside(real_root, root, &path, options)?;
            files.push((path, label as i64));
            count += 1;
        }
        ensure!(
            count > 0 || options.allow_empty_classes,
            "class folder {} has no .png/.jpg/.jpeg images: add its images, or remove the folder (or rename \
             it to start with '.' to hide it); to keep it as a class without examples, open {} with \
             ImageFolderOptions {{ allow_empty_classes: true, .. }}",
            dir.display(),
            root.display()
        );
    }
    Ok(files)
}

/// The visible entries of `dir` (names not starting with `.`), as (name, path).
fn visible_entries(dir: &Path) -> Result<Vec<(OsString, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        if !paths::is_hidden(&name) {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Checks that `path` (a class folder or an image) stays inside the real root.
fn check_inside(real_root: &Path, root: &Path, path: &Path, options: &ImageFolderOptions) -> Result<()> {
    match paths::resolve(real_root, path) {
        Resolved::Outside(real) if !options.allow_outside_paths => bail!(
            "{} leads to {}, outside the image folder {}: copy the files into the folder instead of \
             linking to them, or open it with ImageFolderOptions {{ allow_outside_paths: true, .. }}",
            path.display(),
            real.display(),
            root.display()
        ),
        _ => Ok(()),
    }
}

impl ImageFolder {
    /// Lists the classes and images under `root`, with the strict default
    /// [`ImageFolderOptions`].
    ///
    /// ```
    /// use tchlab::data::{Dataset, ImageFolder};
    /// let root = tempfile::tempdir().unwrap();
    /// for class in ["cat", "dog", ".ipynb_checkpoints"] {
    ///     std::fs::create_dir(root.path().join(class)).unwrap();
    ///     image::GrayImage::new(4, 4).save(root.path().join(class).join("a.png")).unwrap();
    /// }
    /// let ds = ImageFolder::open(root.path()).unwrap();
    /// assert_eq!(ds.classes(), vec!["cat", "dog"]); // the hidden folder is ignored
    /// assert_eq!(ds.len(), 2);
    /// ```
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(root, ImageFolderOptions::default())
    }

    /// Lists the classes and images under `root`, accepting what `options` allows.
    ///
    /// ```
    /// use tchlab::data::{Dataset, ImageFolder, ImageFolderOptions};
    /// let root = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(root.path().join("only")).unwrap();
    /// image::GrayImage::new(4, 4).save(root.path().join("only/a.png")).unwrap();
    /// assert!(ImageFolder::open(root.path()).is_err()); // a single class
    /// let opts = ImageFolderOptions { allow_single_class: true, ..Default::default() };
    /// assert_eq!(ImageFolder::open_with(root.path(), opts).unwrap().classes(), vec!["only"]);
    /// ```
    pub fn open_with(root: impl AsRef<Path>, options: ImageFolderOptions) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        ensure!(root.is_dir(), "image folder {} does not exist", root.display());
        let real_root = paths::real_dir(&root)?;
        let mut class_dirs = Vec::new();
        let mut classes = Vec::new();
        for (name, path) in visible_entries(&root)? {
            if !path.is_dir() {
                continue;
            }
            check_inside(&real_root, &root, &path, &options)?;
            classes.push(name.to_string_lossy().into_owned());
            class_dirs.push(path);
        }
        ensure!(
            !classes.is_empty(),
            "{} has no class sub-folders (expected e.g. {0}/cat, {0}/dog; folders whose names start with '.' \
             are ignored)",
            root.display()
        );
        ensure!(
            classes.len() > 1 || options.allow_single_class,
            "{} has a single class folder, `{}`: a classifier needs two or more classes. If {0} is itself one \
             class, open its parent folder; to use one class anyway, open it with \
             ImageFolderOptions {{ allow_single_class: true, .. }}",
            root.display(),
            classes[0]
        );
        let files = class_images(&real_root, &root, &class_dirs, &options)?;
        ensure!(!files.is_empty(), "{} has class folders but no .png/.jpg images", root.display());
        let mut ds = ImageFolder {
            root,
            classes,
            class_dirs,
            files,
            transforms: Transforms::new(),
            expected: None,
            expected_given: false,
            workers: default_workers(),
        };
        ds.expected = Some(ds.get(0)?.shape);
        Ok(ds)
    }

    /// Sets the transforms; give a `Resize` (and `Grayscale` or `Rgb`) when the images
    /// differ in size (or channels). The expected shape becomes that of the first image
    /// after them.
    ///
    /// ```
    /// use tchlab::data::{Dataset, ImageFolder, Transform, Transforms};
    /// let root = tempfile::tempdir().unwrap();
    /// for (class, w) in [("cat", 4), ("dog", 6)] {
    ///     std::fs::create_dir(root.path().join(class)).unwrap();
    ///     image::GrayImage::new(w, w).save(root.path().join(class).join("a.png")).unwrap();
    /// }
    /// let ds = ImageFolder::open(root.path()).unwrap();
    /// assert!(ds.get(1).is_err()); // 6 × 6, unlike the first image
    /// let ds = ds.transforms(Transforms::new().then(Transform::Resize { width: 4, height: 4 })).unwrap();
    /// assert_eq!(ds.get(1).unwrap().shape, vec![1, 4, 4]);
    /// ```
    pub fn transforms(mut self, transforms: Transforms) -> Result<Self> {
        transforms.validate()?;
        self.transforms = transforms;
        if !self.expected_given {
            self.expected = None;
            self.expected = Some(self.get(0)?.shape);
        }
        Ok(self)
    }

    /// Requires every image to have this `[C, H, W]` shape after the transforms
    /// (default: the shape of the first image).
    ///
    /// ```
    /// use tchlab::data::{Dataset, ImageFolder};
    /// let root = tempfile::tempdir().unwrap();
    /// for class in ["cat", "dog"] {
    ///     std::fs::create_dir(root.path().join(class)).unwrap();
    ///     image::GrayImage::new(4, 4).save(root.path().join(class).join("a.png")).unwrap();
    /// }
    /// let ds = ImageFolder::open(root.path()).unwrap().expect_shape(&[3, 4, 4]);
    /// assert!(ds.get(0).is_err()); // gray, not RGB
    /// ```
    pub fn expect_shape(mut self, shape: &[i64]) -> Self {
        self.expected = Some(shape.to_vec());
        self.expected_given = true;
        self
    }

    /// Sets the number of decoding threads.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Class name -> label. (Two class folders whose names differ only in bytes that
    /// are not UTF-8 show the same name; their labels still differ: see
    /// [`ImageFolder::class_dirs`].)
    pub fn class_to_index(&self) -> BTreeMap<String, i64> {
        self.classes.iter().enumerate().map(|(i, c)| (c.clone(), i as i64)).collect()
    }

    /// The class folders, in label order, by their real names.
    ///
    /// ```
    /// use tchlab::data::ImageFolder;
    /// let root = tempfile::tempdir().unwrap();
    /// for class in ["b", "a"] {
    ///     std::fs::create_dir(root.path().join(class)).unwrap();
    ///     image::GrayImage::new(4, 4).save(root.path().join(class).join("x.png")).unwrap();
    /// }
    /// let ds = ImageFolder::open(root.path()).unwrap();
    /// assert_eq!(ds.class_dirs()[0], root.path().join("a"));
    /// ```
    pub fn class_dirs(&self) -> &[PathBuf] {
        &self.class_dirs
    }

    /// The images and their labels.
    pub fn files(&self) -> &[(PathBuf, i64)] {
        &self.files
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn get_seeded(&self, index: usize, seed: u64) -> Result<Example> {
        let (path, label) = self
            .files
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("index {index} is out of range for {}", self.root.display()))?;
        let image = self.transforms.open(path)?;
        let (input, shape) =
            self.transforms.apply(image, seed).with_context(|| format!("transforming {}", path.display()))?;
        if let Some(expected) = &self.expected {
            let source = if self.expected_given {
                "as set with expect_shape".to_string()
            } else {
                format!(
                    "the shape of the first image, {}",
                    self.files.first().map(|f| f.0.display().to_string()).unwrap_or_default()
                )
            };
            ensure!(
                &shape == expected,
                "{} gives an image of shape {shape:?} (channels, height, width), but the images of {} must be \
                 {expected:?} ({source}): give every image the same size and channels with Resize and \
                 Grayscale/Rgb transforms, or convert the file",
                path.display(),
                self.root.display(),
            );
        }
        Ok(Example { input, shape, label: *label })
    }

    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }

    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        collate_parallel(self, indices, seed, self.workers).with_context(|| format!("batching {}", self.root.display()))
    }
}
