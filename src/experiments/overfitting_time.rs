//! Overfitting over time: a large MLP on a small training set, trained long. The
//! training loss goes to about zero while the validation loss falls, bottoms out and
//! rises again; the best epoch (lowest validation loss) is where early stopping would
//! stop.

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::Tensor;

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
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

/// The images of the run: the first `train` training images in minibatches of `batch`
/// (shuffled with the seed), the last `valid` for validation, the test images, and the
/// first 24 training images for a look.
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// Validation images (the end of the training file).
    pub valid: DataLoader,
    /// Test images.
    pub test: DataLoader,
    /// Number of training images.
    pub n: usize,
    /// The first (up to) 24 training images, pixels in [0, 1], and their labels.
    pub first: (Tensor, Vec<i64>),
}

/// Step 1: the training, validation and test images.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data};
/// let d = data(&Config::lecture())?;
/// assert_eq!((d.n, d.valid.examples_per_epoch()), (1000, 5000));
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    ensure!(
        c.train > 0 && c.valid > 0,
        "need training and validation images (train = {}, valid = {})",
        c.train,
        c.valid
    );
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, c.valid)?;
    let train_ds = std::sync::Arc::new(splits.train);
    let n = c.train.min(crate::data::Dataset::len(train_ds.as_ref()));
    let shown = 24.min(n as i64);
    let images = train_ds.inputs().narrow(0, 0, shown).to_kind(tch::Kind::Float) / 255.0;
    let labels: Vec<i64> = Vec::try_from(train_ds.labels().narrow(0, 0, shown))?;
    let valid = splits.valid.ok_or_else(|| anyhow::anyhow!("no validation split (valid = {})", c.valid))?;
    Ok(Data {
        train: DataLoader::new(Subset::range(train_ds, 0..n)?, c.batch)?.shuffle(c.seed),
        valid: DataLoader::new(valid, 1000)?,
        test: DataLoader::new(splits.test, 1000)?,
        n,
        first: (images, labels),
    })
}

/// The first 24 training images with their labels.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, images_figure};
/// let figure = images_figure(&data(&Config::ci())?)?;
/// # anyhow::Ok(())
/// ```
pub fn images_figure(data: &Data) -> Result<Figure> {
    let (images, labels) = &data.first;
    let captions: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    Figure::image_grid(&format!("The first 24 of the {} training images", data.n), images, &captions, 8, false)
}

/// Step 2: the network, 784 → `hidden` (ReLU) → 10.
///
/// ```
/// use tchlab::experiments::overfitting_time::{Config, model};
/// assert_eq!(model(&Config::lecture()).layer_sizes(), vec![784, 512, 512, 10]);
/// ```
pub fn model(c: &Config) -> MlpConfig {
    MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu)
}

/// Step 3: trains [`model`] for `epochs` epochs, validating after each (one line every
/// tenth epoch), and measures its test accuracy.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, train};
/// let c = Config { epochs: 2, ..Config::ci() };
/// let run = train(&c, &data(&c)?)?;
/// assert_eq!(run.history.epochs_done(), 2);
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, data: &Data) -> Result<Trained> {
    let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).quiet();
    fit_and_test(&model(c), c.seed, &data.train, Some(&data.valid), &data.test, tc)
}

crate::results! {
    /// What the long run shows: the training loss near zero, the validation loss's lowest
    /// point (the best epoch) and how far it rose after it.
    pub struct Results {
        /// Parameters of the network.
        parameters: i64,
        /// Training loss at the last epoch.
        final_train_loss: f64,
        /// Training accuracy at the last epoch (%).
        final_train_accuracy: f64,
        /// The epoch with the lowest validation loss.
        best_epoch: usize,
        /// That lowest validation loss.
        best_valid_loss: f64,
        /// Validation loss at the last epoch.
        final_valid_loss: f64,
        /// Last validation loss / lowest.
        valid_loss_rise: f64,
        /// Best epoch / epochs.
        best_epoch_fraction: f64,
        /// Validation accuracy at the best epoch (%).
        best_valid_accuracy: f64,
        /// Validation accuracy at the last epoch (%).
        final_valid_accuracy: f64,
        /// Test accuracy after the last epoch (%).
        test_accuracy: f64,
    }
}

/// Step 4: the numbers of the run.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, results, train};
/// let c = Config::ci();
/// let r = results(&c, &train(&c, &data(&c)?)?)?;
/// assert!(r.final_valid_loss >= r.best_valid_loss);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, run: &Trained) -> Result<Results> {
    let history = &run.history;
    let (best, best_loss) = best_epoch(history).ok_or_else(|| anyhow::anyhow!("no validation loss recorded"))?;
    let final_valid = history.last_loss("valid").unwrap_or(f64::NAN);
    Ok(Results {
        parameters: model(c).parameter_count(),
        final_train_loss: history.last_loss("train").unwrap_or(f64::NAN),
        final_train_accuracy: accuracy(history, "train", c.epochs),
        best_epoch: best,
        best_valid_loss: best_loss,
        final_valid_loss: final_valid,
        valid_loss_rise: final_valid / best_loss,
        best_epoch_fraction: best as f64 / c.epochs as f64,
        best_valid_accuracy: accuracy(history, "valid", best),
        final_valid_accuracy: accuracy(history, "valid", c.epochs),
        test_accuracy: run.test_accuracy,
    })
}

/// Accuracy (%) of `split` at `epoch`, NaN when it was not measured.
fn accuracy(history: &History, split: &str, epoch: usize) -> f64 {
    100.0 * history.at(split, epoch).map_or(f64::NAN, |r| r.accuracy)
}

/// Losses and accuracies at the first, the best and the last epoch.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, epochs_table, results, train};
/// let c = Config::ci();
/// let run = train(&c, &data(&c)?)?;
/// let table = epochs_table(&c, &run, &results(&c, &run)?);
/// assert_eq!(table.rows.len(), 3);
/// # anyhow::Ok(())
/// ```
pub fn epochs_table(c: &Config, run: &Trained, results: &Results) -> Table {
    let history = &run.history;
    let loss = |split: &str, e: usize| format!("{:.4}", history.at(split, e).map_or(f64::NAN, |r| r.loss));
    let rows = [1, results.best_epoch, c.epochs]
        .iter()
        .map(|&e| {
            vec![
                e.to_string(),
                loss("train", e),
                loss("valid", e),
                format!("{:.2}", accuracy(history, "train", e)),
                format!("{:.2}", accuracy(history, "valid", e)),
            ]
        })
        .collect();
    Table::from_rows(&["epoch", "train loss", "valid loss", "train acc (%)", "valid acc (%)"], rows)
}

/// Training and validation loss per epoch, the best epoch marked.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, loss_figure, results, train};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let run = train(&c, &d)?;
/// let figure = loss_figure(&c, &d, &run, &results(&c, &run)?);
/// # anyhow::Ok(())
/// ```
pub fn loss_figure(c: &Config, data: &Data, run: &Trained, results: &Results) -> Figure {
    let (history, best) = (&run.history, results.best_epoch as f64);
    let top = history.epochs.iter().map(|r| r.loss).filter(|l| l.is_finite()).fold(0.0, f64::max);
    Figure::lines(
        &format!("{} on {} images: loss per epoch", model(c).describe(), data.n),
        "epoch",
        "cross-entropy",
        vec![
            Series::line("train", history.curve("train", "loss")).color(0),
            Series::line("validation", history.curve("valid", "loss")).color(1),
            Series::line(
                &format!("best epoch {} (lowest validation loss)", results.best_epoch),
                vec![(best, 0.0), (best, top)],
            )
            .style(Style::Dashed)
            .color(6),
        ],
    )
}

/// Training and validation accuracy per epoch, the best epoch marked.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, accuracy_figure, data, results, train};
/// let c = Config::ci();
/// let run = train(&c, &data(&c)?)?;
/// let figure = accuracy_figure(&run, &results(&c, &run)?);
/// # anyhow::Ok(())
/// ```
pub fn accuracy_figure(run: &Trained, results: &Results) -> Figure {
    let history = &run.history;
    let best = results.best_epoch as f64;
    let pct = |split: &str| history.curve(split, "accuracy").into_iter().map(|(e, a)| (e, 100.0 * a)).collect();
    Figure::lines(
        "Accuracy per epoch",
        "epoch",
        "accuracy (%)",
        vec![
            Series::line("train", pct("train")).color(0),
            Series::line("validation", pct("valid")).color(1),
            Series::line(&format!("best epoch {}", results.best_epoch), vec![(best, 80.0), (best, 100.0)])
                .style(Style::Dashed)
                .color(6),
        ],
    )
}

/// Step 5: every figure and table of the run, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::overfitting_time::{Config, data, present, results, train};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let run = train(&c, &d)?;
/// let p = present(&c, &d, &run, &results(&c, &run)?)?;
/// assert_eq!(p.figure_names(), vec!["train_images", "loss", "accuracy"]);
/// # anyhow::Ok(())
/// ```
pub fn present(c: &Config, data: &Data, run: &Trained, results: &Results) -> Result<Presentation> {
    Ok(Presentation::default()
        .figure("train_images", images_figure(data)?)
        .table("epochs", epochs_table(c, run, results))
        .figure("loss", loss_figure(c, data, run, results))
        .figure("accuracy", accuracy_figure(run, results))
        .history("mlp", run.history.clone()))
}

/// Trains long and finds the best epoch: [`data`], [`train`], [`results`], [`present`].
///
/// ```no_run
/// let report = tchlab::experiments::overfitting_time::run(&tchlab::experiments::overfitting_time::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let trained = train(c, &data)?;
    let results = results(c, &trained)?;
    Ok(c.report(&results, present(c, &data, &trained, &results)?, clock))
}
