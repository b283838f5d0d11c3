//! An image folder: one sub-folder per class (sorted), e.g. `train/{cat,dog}/*.jpg`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use tch::Tensor;

use super::{Dataset, Example, Transforms, collate_parallel, default_workers};

/// Images in `root/CLASS/*.{png,jpg,jpeg}`; classes are the sorted sub-folder names.
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
    files: Vec<(PathBuf, i64)>,
    transforms: Transforms,
    workers: usize,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

impl ImageFolder {
    /// Lists the classes and images under `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        ensure!(root.is_dir(), "image folder {} does not exist", root.display());
        let mut classes: Vec<String> = std::fs::read_dir(&root)
            .with_context(|| format!("listing {}", root.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        classes.sort();
        ensure!(!classes.is_empty(), "{} has no class sub-folders (expected e.g. {0}/cat, {0}/dog)", root.display());
        let mut files = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let dir = root.join(class);
            let mut these: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("listing {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            these.sort();
            files.extend(these.into_iter().map(|p| (p, label as i64)));
        }
        ensure!(!files.is_empty(), "{} has class folders but no .png/.jpg images", root.display());
        Ok(ImageFolder { root, classes, files, transforms: Transforms::new(), workers: default_workers() })
    }

    /// Sets the transforms; give a `Resize` when the images differ in size.
    pub fn transforms(mut self, transforms: Transforms) -> Result<Self> {
        transforms.validate()?;
        self.transforms = transforms;
        Ok(self)
    }

    /// Sets the number of decoding threads.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Class name -> label.
    pub fn class_to_index(&self) -> BTreeMap<String, i64> {
        self.classes.iter().enumerate().map(|(i, c)| (c.clone(), i as i64)).collect()
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
        Ok(Example { input, shape, label: *label })
    }

    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }

    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        collate_parallel(self, indices, seed, self.workers).with_context(|| format!("batching {}", self.root.display()))
    }
}
