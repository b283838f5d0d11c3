//! The lecture's custom data loader: MNIST exported as PNG files named by CSV files,
//! read back through the CSV dataset, and the lecture's small MLP trained on them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::Report;
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
        println!("wrote the custom layout (3 × 256 PNG files + CSV) to {}", dir.display());
    }
    let open = |n: &str| CsvImageDataset::open(dir.join(format!("{n}.csv")));
    Ok([open(names[0])?, open(names[1])?, open(names[2])?])
}

/// Exports (when needed), loads and trains.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("custom-loader");
    report.settings = c.to_params().entries();
    let dir = c.folder();
    let [train, valid, test] = open_layout(&dir)?;
    // The lecture's loader demo: batch 32, shuffled, drop_last.
    let demo = DataLoader::new(train.clone(), 32)?.shuffle(c.seed).drop_last(true);
    let first = demo.epoch(0).next().transpose()?.ok_or_else(|| anyhow::anyhow!("no batch"))?;
    println!("loader: {} batches of {:?} per epoch", demo.len(), first.inputs.size());
    report.metric("demo_batches_per_epoch", demo.len() as f64);
    let captions: Vec<String> = Vec::<i64>::try_from(&first.labels)?.iter().map(|l| format!("label {l}")).collect();
    report.figures.push((
        "first_batch".into(),
        Figure::image_grid("A batch from the CSV dataset", &first.inputs.narrow(0, 0, 8), &captions, 8, false)?,
    ));

    let train_loader = DataLoader::new(train, c.batch)?.shuffle(c.seed);
    let valid_loader = DataLoader::new(valid, 256)?;
    let test_loader = DataLoader::new(test.clone(), 256)?;
    let model = MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid);
    let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).loss(Loss::CrossEntropy);
    let (mlp, history, test_acc) =
        super::train_mlp(&model, c.seed, &train_loader, Some(&valid_loader), &test_loader, tc)?;
    report.metric("train_accuracy", 100.0 * history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("valid_accuracy", 100.0 * history.last("valid").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("test_accuracy", test_acc);
    // P: .. | T: .. grid of the first 15 test images.
    let interp = Interpretation::from_model(&mlp, &test_loader, Loss::CrossEntropy)?;
    let idx: Vec<usize> = (0..15).collect();
    let (images, _) = test.batch(&idx, 0)?;
    let captions: Vec<String> = idx
        .iter()
        .map(|&i| format!("P: {} | T: {}", interp.predictions.predicted[i], interp.predictions.targets[i]))
        .collect();
    report.figures.push(("minibatch_loss".into(), Figure::minibatch_loss(&history, 20)));
    report.figures.push(("accuracy".into(), Figure::curves("Accuracy", &[("", &history)], "accuracy")));
    report.figures.push(("predictions".into(), Figure::image_grid("Test images", &images, &captions, 5, false)?));
    report.histories.push(("mlp".into(), history));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
