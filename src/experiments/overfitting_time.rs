//! Overfitting over time: a large MLP on a small training set, trained long. The
//! training loss goes to about zero while the validation loss falls, bottoms out and
//! rises again; the best epoch (lowest validation loss) is where early stopping would
//! stop.

use std::time::Instant;

use anyhow::{Result, ensure};

use super::{List, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Subset};
use crate::display::Table;
use crate::model::{Activation, MlpConfig};
use crate::plot::{Figure, Series, Style};
use crate::train::{History, TrainConfig};

super::settings! {
    /// Settings: 784-512-512-10 ReLU, the first 1,000 MNIST training images, the last
    /// 5,000 for validation, SGD 0.1, batch 32, 100 epochs.
    ///
    /// ```
    /// let c = tchlab::experiments::overfitting_time::Config::lecture();
    /// assert_eq!((c.train, c.epochs), (1000, 100));
    /// ```
    "overfitting-over-time",
    pub struct Config {
        /// Hidden layer sizes.
        hidden: List<i64> = List(vec![512, 512]),
        /// Training images (the first ones).
        train: usize = 1000,
        /// Validation images (the last training images).
        valid: usize = 5000,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 32,
        /// Epochs.
        epochs: usize = 100,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 60 epochs, 2,000 validation images.
    ///
    /// ```
    /// let c = tchlab::experiments::overfitting_time::Config::ci();
    /// assert_eq!(c.epochs, 60);
    /// ```
    pub fn ci() -> Self {
        Config { epochs: 60, valid: 2000, ..Self::lecture() }
    }
}

/// The epoch (1-based) with the lowest validation loss, and that loss.
///
/// ```
/// let mut h = tchlab::train::History::default();
/// for (e, l) in [0.9, 0.5, 0.7].iter().enumerate() { h.push(e + 1, "valid", *l, 0.0, 0.1, 0.0); }
/// assert_eq!(tchlab::experiments::overfitting_time::best_epoch(&h), Some((2, 0.5)));
/// ```
pub fn best_epoch(history: &History) -> Option<(usize, f64)> {
    history
        .epochs
        .iter()
        .filter(|r| r.split == "valid" && r.loss.is_finite())
        .min_by(|a, b| a.loss.total_cmp(&b.loss))
        .map(|r| (r.epoch, r.loss))
}

/// Trains long and finds the best epoch.
///
/// ```no_run
/// let report = tchlab::experiments::overfitting_time::run(&tchlab::experiments::overfitting_time::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("overfitting-over-time");
    report.settings = c.to_params().entries();
    ensure!(c.train > 0 && c.valid > 0, "need training and validation images");
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, c.valid)?;
    let train_ds = std::sync::Arc::new(data.train);
    let n = c.train.min(crate::data::Dataset::len(train_ds.as_ref()));
    let images = train_ds.inputs().narrow(0, 0, 24.min(n as i64)).to_kind(tch::Kind::Float) / 255.0;
    let labels: Vec<i64> = Vec::try_from(train_ds.labels().narrow(0, 0, 24.min(n as i64)))?;
    let captions: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    report.figures.push((
        "train_images".into(),
        Figure::image_grid(&format!("The first 24 of the {n} training images"), &images, &captions, 8, false)?,
    ));
    let train = DataLoader::new(Subset::range(train_ds.clone(), 0..n)?, c.batch)?.shuffle(c.seed);
    let valid = DataLoader::new(data.valid.ok_or_else(|| anyhow::anyhow!("no validation split"))?, 1000)?;
    let test = DataLoader::new(data.test, 1000)?;
    let model = MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu);
    let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).quiet();
    let Trained { history, test_accuracy: test_acc, .. } =
        fit_and_test(&model, c.seed, &train, Some(&valid), &test, tc)?;
    let (best, best_loss) = best_epoch(&history).ok_or_else(|| anyhow::anyhow!("no validation loss recorded"))?;
    let final_valid = history.last_loss("valid").unwrap_or(f64::NAN);
    let final_train = history.last_loss("train").unwrap_or(f64::NAN);
    let acc = |split: &str, epoch: usize| 100.0 * history.at(split, epoch).map_or(f64::NAN, |r| r.accuracy);
    report.metric("parameters", model.parameter_count() as f64);
    report.metric("final_train_loss", final_train);
    report.metric("final_train_accuracy", acc("train", c.epochs));
    report.metric("best_epoch", best as f64);
    report.metric("best_valid_loss", best_loss);
    report.metric("final_valid_loss", final_valid);
    report.metric("valid_loss_rise", final_valid / best_loss);
    report.metric("best_epoch_fraction", best as f64 / c.epochs as f64);
    report.metric("best_valid_accuracy", acc("valid", best));
    report.metric("final_valid_accuracy", acc("valid", c.epochs));
    report.metric("test_accuracy", test_acc);
    let rows = [1, best, c.epochs]
        .iter()
        .map(|&e| {
            vec![
                e.to_string(),
                format!("{:.4}", history.at("train", e).map_or(f64::NAN, |r| r.loss)),
                format!("{:.4}", history.at("valid", e).map_or(f64::NAN, |r| r.loss)),
                format!("{:.2}", acc("train", e)),
                format!("{:.2}", acc("valid", e)),
            ]
        })
        .collect();
    report.tables.push((
        "epochs".into(),
        Table::from_rows(&["epoch", "train loss", "valid loss", "train acc (%)", "valid acc (%)"], rows),
    ));
    let top = history.epochs.iter().map(|r| r.loss).filter(|l| l.is_finite()).fold(0.0, f64::max);
    let marker =
        |name: &str| Series::line(name, vec![(best as f64, 0.0), (best as f64, top)]).style(Style::Dashed).color(6);
    report.figures.push((
        "loss".into(),
        Figure::lines(
            &format!("{} on {n} images: loss per epoch", model.describe()),
            "epoch",
            "cross-entropy",
            vec![
                Series::line("train", history.curve("train", "loss")).color(0),
                Series::line("validation", history.curve("valid", "loss")).color(1),
                marker(&format!("best epoch {best} (lowest validation loss)")),
            ],
        ),
    ));
    let pct = |split: &str| history.curve(split, "accuracy").into_iter().map(|(e, a)| (e, 100.0 * a)).collect();
    report.figures.push((
        "accuracy".into(),
        Figure::lines(
            "Accuracy per epoch",
            "epoch",
            "accuracy (%)",
            vec![
                Series::line("train", pct("train")).color(0),
                Series::line("validation", pct("valid")).color(1),
                Series::line(&format!("best epoch {best}"), vec![(best as f64, 80.0), (best as f64, 100.0)])
                    .style(Style::Dashed)
                    .color(6),
            ],
        ),
    ));
    report.histories.push(("mlp".into(), history));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
