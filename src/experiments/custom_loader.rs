//! The lecture's custom data loader: MNIST exported as PNG files named by CSV files,
//! read back through the CSV dataset, and the lecture's small MLP trained on them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::{Presentation, Report, Trained};
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

/// How many batches and examples a loader gives per epoch, named after the field:
/// `batch30_drop_last_batches`, `batch30_drop_last_examples`, … .
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoaderCount {
    /// Batches per epoch.
    pub batches: usize,
    /// Examples per epoch.
    pub examples: usize,
}

impl super::MetricValue for LoaderCount {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_batches"), self.batches as f64));
        out.push((format!("{field}_examples"), self.examples as f64));
    }
}

crate::results! {
    /// The loader's arithmetic and the MLP's accuracies.
    pub struct Results {
        /// Batches per epoch of the demo loader.
        demo_batches_per_epoch: usize,
        /// 256 images in batches of 30, the last (16 images) dropped.
        batch30_drop_last: LoaderCount,
        /// … and kept.
        batch30_keep_last: LoaderCount,
        /// Training accuracy after the last epoch (%).
        train_accuracy: f64,
        /// Validation accuracy after the last epoch (%).
        valid_accuracy: f64,
        /// Test accuracy (%).
        test_accuracy: f64,
    }
}

/// The loader's arithmetic and the trained MLP's accuracies.
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{Config, open_layout, results, train};
/// let c = Config::ci();
/// let layout = open_layout(&c.folder())?;
/// let r = results(&c, &layout, &train(&c, &layout)?)?;
/// assert_eq!(r.batch30_drop_last.batches, 8);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, layout: &[CsvImageDataset; 3], trained: &Trained) -> Result<Results> {
    let count = |drop: bool| -> Result<LoaderCount> {
        let loader = DataLoader::new(layout[0].clone(), 30)?.drop_last(drop);
        Ok(LoaderCount { batches: loader.len(), examples: loader.examples_per_epoch() })
    };
    let last = |split: &str| 100.0 * trained.history.last(split).map(|r| r.accuracy).unwrap_or(f64::NAN);
    Ok(Results {
        demo_batches_per_epoch: demo_loader(c, &layout[0])?.len(),
        batch30_drop_last: count(true)?,
        batch30_keep_last: count(false)?,
        train_accuracy: last("train"),
        valid_accuracy: last("valid"),
        test_accuracy: trained.test_accuracy,
    })
}

/// The first 8 images of the demo loader's first batch, with their labels.
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{Config, first_batch_figure, open_layout};
/// let c = Config::ci();
/// let figure = first_batch_figure(&c, &open_layout(&c.folder())?)?;
/// # anyhow::Ok(())
/// ```
pub fn first_batch_figure(c: &Config, layout: &[CsvImageDataset; 3]) -> Result<Figure> {
    let demo = demo_loader(c, &layout[0])?;
    let first = demo.epoch(0).next().transpose()?.ok_or_else(|| anyhow::anyhow!("the demo loader gave no batch"))?;
    let captions: Vec<String> = Vec::<i64>::try_from(&first.labels)?.iter().map(|l| format!("label {l}")).collect();
    Figure::image_grid("A batch from the CSV dataset", &first.inputs.narrow(0, 0, 8), &captions, 8, false)
}

/// The first 15 test images with the predicted (P) and true (T) labels.
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{Config, open_layout, predictions_figure, train};
/// let c = Config::ci();
/// let layout = open_layout(&c.folder())?;
/// let figure = predictions_figure(&layout, &train(&c, &layout)?)?;
/// # anyhow::Ok(())
/// ```
pub fn predictions_figure(layout: &[CsvImageDataset; 3], trained: &Trained) -> Result<Figure> {
    let test = &layout[2];
    let interp = Interpretation::from_model(&trained.model, &DataLoader::new(test.clone(), 256)?, Loss::CrossEntropy)?;
    let idx: Vec<usize> = (0..15).collect();
    let (images, _) = test.batch(&idx, 0)?;
    let captions: Vec<String> = idx
        .iter()
        .map(|&i| format!("P: {} | T: {}", interp.predictions.predicted[i], interp.predictions.targets[i]))
        .collect();
    Figure::image_grid("Test images", &images, &captions, 5, false)
}

/// Every figure and the history, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::custom_loader::{Config, open_layout, present, train};
/// let c = Config::ci();
/// let layout = open_layout(&c.folder())?;
/// let p = present(&c, &layout, &train(&c, &layout)?)?;
/// assert_eq!(p.figure_names()[0], "first_batch");
/// # anyhow::Ok(())
/// ```
pub fn present(c: &Config, layout: &[CsvImageDataset; 3], trained: &Trained) -> Result<Presentation> {
    let history = &trained.history;
    Ok(Presentation::default()
        .figure("first_batch", first_batch_figure(c, layout)?)
        .figure("minibatch_loss", Figure::minibatch_loss(history, 20))
        .figure("accuracy", Figure::curves("Accuracy", &[("", history)], "accuracy"))
        .figure("predictions", predictions_figure(layout, trained)?)
        .history("mlp", history.clone()))
}

/// The whole experiment: the layout (written when missing), the training, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let layout = open_layout(&c.folder())?;
    let trained = train(c, &layout)?;
    Ok(c.report(&results(c, &layout, &trained)?, present(c, &layout, &trained)?, clock))
}
