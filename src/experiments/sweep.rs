//! Parameters vs hyperparameters: a learning rate × hidden units sweep, selected on a
//! validation split, with the test set used once for the selected setting (the
//! lecture's training/validation/test slides).
//!
//! [`run`] composes the steps [`data`], [`grid`], [`select`], [`test_selected`] and
//! [`results`]; notebook 09 calls the same steps one cell each ([`train_one`] reruns
//! one setting alone).

use std::time::Instant;

use anyhow::{Result, ensure};

use super::{List, Presentation, Report, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::Figure;
use crate::train::{Loss, TrainConfig, Trainer, evaluate};

super::settings! {
    /// Settings: one-hidden-layer ReLU MLPs on the first 10,000 MNIST training images,
    /// every learning rate × width, SGD, batch 64, 3 epochs; selected on the last 5,000
    /// training images.
    ///
    /// ```
    /// let c = tchlab::experiments::sweep::Config::lecture();
    /// assert_eq!(c.lrs.0.len() * c.widths.0.len(), 12);
    /// ```
    "hyperparameter-sweep",
    pub struct Config {
        /// Learning rates.
        lrs: List<f64> = List(vec![0.001, 0.01, 0.1, 1.0]),
        /// Hidden units.
        widths: List<i64> = List(vec![8, 32, 128]),
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs per run.
        epochs: usize = 3,
        /// Training images, the first of the training file (0: all but the validation images).
        train_size: usize = 10_000,
        /// Validation images, the last of the training file.
        valid_size: usize = 5_000,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: as the lecture setting, which takes about a minute.
    pub fn ci() -> Self {
        Self::lecture()
    }
}

/// The three splits: training (shuffled), validation (for selection) and test (used once).
pub struct Data {
    /// The first `train_size` training images.
    pub train: DataLoader,
    /// The last `valid_size` training images.
    pub valid: DataLoader,
    /// The 10,000 test images.
    pub test: DataLoader,
}

/// Loads MNIST (pixels in [0, 1]) and splits it as [`Data`] describes.
///
/// ```no_run
/// use tchlab::experiments::sweep::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.valid.examples_per_epoch(), 5_000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    ensure!(c.valid_size >= 1, "valid_size = 0: the sweep selects on a validation split (e.g. valid_size=5000)");
    let s = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, c.valid_size)?;
    let valid = s.valid.ok_or_else(|| anyhow::anyhow!("no validation split"))?;
    Ok(Data {
        train: DataLoader::new(s.train, c.batch)?.shuffle(c.seed),
        valid: DataLoader::new(valid, 1000)?,
        test: DataLoader::new(s.test, 1000)?,
    })
}

/// One setting of the sweep, trained: its validation accuracy (%; NaN when training
/// diverged, and then no model).
pub struct Run {
    /// Learning rate.
    pub lr: f64,
    /// Hidden units.
    pub width: i64,
    /// The trained model (None when training diverged).
    pub model: Option<Mlp>,
    /// Accuracy on the validation split (%).
    pub valid_accuracy: f64,
}

/// Trains 784-`width`-10 ReLU with SGD `lr` for `c.epochs` epochs and measures it on
/// the validation split (never on the test set).
///
/// ```no_run
/// use tchlab::experiments::sweep::{Config, data, train_one};
/// let c = Config { epochs: 1, ..Config::ci() };
/// let run = train_one(&c, &data(&c)?, 0.1, 32)?;
/// assert!(run.valid_accuracy > 80.0);
/// # anyhow::Ok(())
/// ```
pub fn train_one(c: &Config, data: &Data, lr: f64, width: i64) -> Result<Run> {
    ensure!(lr.is_finite() && lr > 0.0, "lrs: learning rate {lr} must be a positive number (e.g. lrs=0.01,0.1)");
    ensure!(width >= 1, "widths: {width} hidden units; each width must be at least 1");
    let config = MlpConfig::new(784, &[width], 10).activation(Activation::Relu);
    let mut model = Mlp::on_device(&config, c.seed, data.train.target_device())?;
    let fitted = Trainer::new(TrainConfig::sgd(lr, c.epochs).seed(c.seed).quiet()).fit(&mut model, &data.train, None);
    let run = match fitted {
        Ok(_) => {
            let valid_accuracy = 100.0 * evaluate(&model, &data.valid, Loss::CrossEntropy)?.accuracy;
            Run { lr, width, model: Some(model), valid_accuracy }
        }
        Err(e) => {
            println!("lr {lr}, {width} units: {e:#}");
            Run { lr, width, model: None, valid_accuracy: f64::NAN }
        }
    };
    println!("lr {lr:<6} hidden {width:<4} validation accuracy {:.2}%", run.valid_accuracy);
    Ok(run)
}

/// Every learning rate × width, in that order (learning rates outer).
pub fn grid(c: &Config, data: &Data) -> Result<Vec<Run>> {
    ensure!(
        !c.lrs.0.is_empty() && !c.widths.0.is_empty(),
        "the sweep needs at least one learning rate and one width, got lrs={} widths={} (e.g. lrs=0.01,0.1 widths=8,32)",
        c.lrs,
        c.widths
    );
    let mut runs = Vec::new();
    for &lr in &c.lrs.0 {
        for &w in &c.widths.0 {
            runs.push(train_one(c, data, lr, w)?);
        }
    }
    Ok(runs)
}

/// The index of the run with the highest validation accuracy (the first on ties).
///
/// ```
/// use tchlab::experiments::sweep::{Run, select};
/// let run = |v| Run { lr: 0.1, width: 8, model: None, valid_accuracy: v };
/// assert_eq!(select(&[run(90.0), run(f64::NAN), run(95.0), run(95.0)]).unwrap(), 2);
/// ```
pub fn select(runs: &[Run]) -> Result<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in runs.iter().enumerate() {
        if r.valid_accuracy.is_finite() && best.is_none_or(|b| r.valid_accuracy > runs[b].valid_accuracy) {
            best = Some(i);
        }
    }
    best.ok_or_else(|| anyhow::anyhow!("every setting of the sweep diverged: lower the learning rates"))
}

/// The test accuracy (%) of the selected run: the one time the sweep looks at the test set.
pub fn test_selected(data: &Data, run: &Run) -> Result<f64> {
    let model = run.model.as_ref().ok_or_else(|| anyhow::anyhow!("the selected setting has no trained model"))?;
    Ok(100.0 * evaluate(model, &data.test, Loss::CrossEntropy)?.accuracy)
}

/// One setting's validation accuracy, named `sweep_lr0.1_w64_valid_accuracy`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    /// Learning rate.
    pub lr: f64,
    /// Hidden units.
    pub width: i64,
    /// Validation accuracy (%).
    pub valid_accuracy: f64,
}

impl super::MetricValue for Setting {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("sweep_lr{}_w{}_valid_accuracy", self.lr, self.width), self.valid_accuracy));
    }
}

/// The selected setting, named `sweep_selected_lr`, `sweep_selected_width`,
/// `sweep_selected_valid_accuracy` and `sweep_selected_test_accuracy`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selected {
    /// The setting.
    pub setting: Setting,
    /// Its test accuracy, measured once (%).
    pub test_accuracy: f64,
}

impl super::MetricValue for Selected {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_lr"), self.setting.lr));
        out.push((format!("{field}_width"), self.setting.width as f64));
        out.push((format!("{field}_valid_accuracy"), self.setting.valid_accuracy));
        out.push((format!("{field}_test_accuracy"), self.test_accuracy));
    }
}

crate::results! {
    /// The grid's validation accuracies and the selected setting.
    pub struct Results {
        /// Every setting, learning rate by learning rate.
        settings: Vec<Setting>,
        /// The setting with the best validation accuracy.
        sweep_selected: Option<Selected>,
    }
}

/// The grid's numbers and the selected setting with its test accuracy.
///
/// ```
/// let r = tchlab::experiments::sweep::results(&[], 0, 90.0);
/// assert!(r.settings.is_empty() && r.sweep_selected.is_none());
/// ```
pub fn results(runs: &[Run], selected: usize, test_accuracy: f64) -> Results {
    let setting = |r: &Run| Setting { lr: r.lr, width: r.width, valid_accuracy: r.valid_accuracy };
    Results {
        settings: runs.iter().map(setting).collect(),
        sweep_selected: runs.get(selected).map(|r| Selected { setting: setting(r), test_accuracy }),
    }
}

/// Every setting's validation accuracy.
///
/// ```
/// assert!(tchlab::experiments::sweep::sweep_table(&[]).rows.is_empty());
/// ```
pub fn sweep_table(runs: &[Run]) -> Table {
    let rows = runs.iter().map(|r| vec![r.lr.to_string(), r.width.to_string(), format!("{:.2}", r.valid_accuracy)]);
    Table::from_rows(&["learning rate", "hidden units", "valid acc (%)"], rows.collect())
}

/// Validation accuracy over the grid, learning rates by widths.
///
/// ```
/// let c = tchlab::experiments::sweep::Config::ci();
/// let figure = tchlab::experiments::sweep::heatmap_figure(&c, &[]);
/// ```
pub fn heatmap_figure(c: &Config, runs: &[Run]) -> Figure {
    let grid: Vec<Vec<f64>> =
        runs.chunks(c.widths.0.len().max(1)).map(|row| row.iter().map(|r| r.valid_accuracy).collect()).collect();
    Figure::heatmap(
        "Validation accuracy (%)",
        grid,
        c.lrs.0.iter().map(|l| l.to_string()).collect(),
        c.widths.0.iter().map(|w| w.to_string()).collect(),
        "hidden units",
        "learning rate",
    )
}

/// The table and the heatmap, as `tchlab run` saves them.
///
/// ```
/// let c = tchlab::experiments::sweep::Config::ci();
/// assert_eq!(tchlab::experiments::sweep::present(&c, &[]).figure_names(), vec!["sweep_heatmap"]);
/// ```
pub fn present(c: &Config, runs: &[Run]) -> Presentation {
    Presentation::default().table("sweep", sweep_table(runs)).figure("sweep_heatmap", heatmap_figure(c, runs))
}

/// Every step in order: data, the grid, the selection on validation accuracy, the
/// selected setting's test accuracy, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let runs = grid(c, &data)?;
    let selected = select(&runs)?;
    let test_accuracy = test_selected(&data, &runs[selected])?;
    let s = &runs[selected];
    println!(
        "selected on validation: lr {} with {} hidden units ({:.2}% validation) | test accuracy {test_accuracy:.2}%",
        s.lr, s.width, s.valid_accuracy
    );
    Ok(c.report(&results(&runs, selected, test_accuracy), present(c, &runs), clock))
}
