//! The lecture's custom data loader: MNIST exported as PNG files named by CSV files,
//! read back through the CSV dataset, and the lecture's small MLP trained on them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::{Report, Trained};
use crate::data::{CsvImageDataset, DataLoader, Dataset, MnistKind, export_lecture_layout};
use crate::metrics::Interpretation;
use crate::model::{Activation, MlpConfig};
use crate::plot::Figure;
use crate::train::{Loss, TrainConfig};

super::settings! {
    /// Settings: 784-100 sigmoid-10 with PyTorch's default init, SGD 0.1, batch 64,
    /// 100 epochs, seed 1, on 256 training images.
    ///
    /// ```
    /// let c = tchlab::experiments::custom_loader::Config::lecture();
    /// assert_eq!((c.batch, c.epochs), (64, 100));
    /// ```
    "custom-loader",
    pub struct Config {
        /// Folder of the exported layout (empty: `TCHLAB_DATA_DIR/custom`).
        dir: String = String::new(),
        /// Hidden units.
        hidden: i64 = 100,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size for training.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 100,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// The lecture's run takes seconds: CI uses it as it is.
    pub fn ci() -> Self {
        Self::lecture()
    }

    /// The layout folder.
    pub fn folder(&self) -> PathBuf {
        if self.dir.is_empty() {
            crate::env::Settings::from_env().data_dir.join("custom")
        } else {
            PathBuf::from(&self.dir)
        }
    }
}

/// Writes the layout when it is missing and opens the three CSV datasets.
pub fn open_layout(dir: &std::path::Path) -> Result<[CsvImageDataset; 3]> {
    let names = ["mnist_train", "mnist_valid", "mnist_test"];
    if !names.iter().all(|n| dir.join(format!("{n}.csv")).is_file()) {
        let mnist = crate::data::Mnist::load(MnistKind::Digits)?;
        export_lecture_layout(&mnist, dir)?;
        println!("wrote the custom layout (3 × 256 PNG files + CSV) to {}", crate::env::shown_path(dir));
    }
    let open = |n: &str| CsvImageDataset::open(dir.join(format!("{n}.csv")));
    Ok([open(names[0])?, open(names[1])?, open(names[2])?])
}

/// The lecture's loader over the training split: batch 32, shuffled, dropping the last
/// partial batch (8 batches of [32, 1, 28, 28] per epoch).
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{self, Config};
/// let c = Config::lecture();
/// let [train, _, _] = custom_loader::open_layout(&c.folder())?;
/// assert_eq!(custom_loader::demo_loader(&c, &train)?.len(), 8);
/// # anyhow::Ok(())
/// ```
pub fn demo_loader(c: &Config, train: &CsvImageDataset) -> Result<DataLoader> {
    Ok(DataLoader::new(train.clone(), 32)?.shuffle(c.seed).drop_last(true))
}

/// Trains the lecture's 784-100 sigmoid-10 MLP on the training split, validating on the
/// validation split after each epoch, and tests it.
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{self, Config};
/// let mut c = Config::lecture();
/// c.epochs = 2;
/// let layout = custom_loader::open_layout(&c.folder())?;
/// let trained = custom_loader::train(&c, &layout)?;
/// assert_eq!(trained.history.epochs_done(), 2);
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, layout: &[CsvImageDataset; 3]) -> Result<Trained> {
    let [train, valid, test] = layout;
    let train_loader = DataLoader::new(train.clone(), c.batch)?.shuffle(c.seed);
    let valid_loader = DataLoader::new(valid.clone(), 256)?;
    let test_loader = DataLoader::new(test.clone(), 256)?;
    let model = MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid);
    let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).loss(Loss::CrossEntropy);
    super::fit_and_test(&model, c.seed, &train_loader, Some(&valid_loader), &test_loader, tc)
}

/// The report: the loader's batch counts (with and without `drop_last`), the accuracies
/// against the lecture's, a batch as the loader delivers it, the curves, and a
/// `P: | T:` grid of the first 15 test images.
pub fn report(c: &Config, layout: &[CsvImageDataset; 3], trained: &Trained) -> Result<Report> {
    let mut report = Report::new(Config::NAME);
    report.settings = c.to_params().entries();
    let demo = demo_loader(c, &layout[0])?;
    let first = demo.epoch(0).next().transpose()?.ok_or_else(|| anyhow::anyhow!("the demo loader gave no batch"))?;
    report.metric("demo_batches_per_epoch", demo.len() as f64);
    // 256 images in batches of 30: 8 full batches and one of 16, which drop_last drops.
    for (name, drop) in [("drop_last", true), ("keep_last", false)] {
        let loader = DataLoader::new(layout[0].clone(), 30)?.drop_last(drop);
        report.metric(&format!("batch30_{name}_batches"), loader.len() as f64);
        report.metric(&format!("batch30_{name}_examples"), loader.examples_per_epoch() as f64);
    }
    let captions: Vec<String> = Vec::<i64>::try_from(&first.labels)?.iter().map(|l| format!("label {l}")).collect();
    report.figures.push((
        "first_batch".into(),
        Figure::image_grid("A batch from the CSV dataset", &first.inputs.narrow(0, 0, 8), &captions, 8, false)?,
    ));
    let history = &trained.history;
    report.metric("train_accuracy", 100.0 * history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("valid_accuracy", 100.0 * history.last("valid").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("test_accuracy", trained.test_accuracy);
    let test = &layout[2];
    let interp = Interpretation::from_model(&trained.model, &DataLoader::new(test.clone(), 256)?, Loss::CrossEntropy)?;
    let idx: Vec<usize> = (0..15).collect();
    let (images, _) = test.batch(&idx, 0)?;
    let captions: Vec<String> = idx
        .iter()
        .map(|&i| format!("P: {} | T: {}", interp.predictions.predicted[i], interp.predictions.targets[i]))
        .collect();
    report.figures.push(("minibatch_loss".into(), Figure::minibatch_loss(history, 20)));
    report.figures.push(("accuracy".into(), Figure::curves("Accuracy", &[("", history)], "accuracy")));
    report.figures.push(("predictions".into(), Figure::image_grid("Test images", &images, &captions, 5, false)?));
    report.histories.push(("mlp".into(), history.clone()));
    Ok(report)
}

/// The whole experiment: the layout (written when missing), the training, the report.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let layout = open_layout(&c.folder())?;
    let trained = train(c, &layout)?;
    let mut report = report(c, &layout, &trained)?;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
