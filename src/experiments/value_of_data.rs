//! The value of data: softmax regression and an MLP trained on 300 … 60,000 MNIST images
//! for the same number of SGD steps (not epochs), so that every size gets the same
//! compute. The linear model's test error levels off early; the MLP's keeps falling.

use std::time::Instant;

use anyhow::{Result, ensure};

use super::{List, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Subset};
use crate::display::Table;
use crate::model::{Activation, MlpConfig};
use crate::plot::{Figure, Scale, Series, Style};
use crate::train::TrainConfig;

super::settings! {
    /// Settings: sizes 300 … 60,000 (the first n training images), 6,000 SGD steps of
    /// batch 100 at learning rate 0.1 for both models; the MLP is 784-256-10 ReLU.
    ///
    /// ```
    /// let c = tchlab::experiments::value_of_data::Config::lecture();
    /// assert_eq!(c.steps, 6000);
    /// assert_eq!(*c.sizes.0.last().unwrap(), 60000);
    /// ```
    "value-of-data",
    pub struct Config {
        /// Training-set sizes (multiples of `batch`).
        sizes: List<usize> = List(vec![300, 1000, 3000, 10000, 30000, 60000]),
        /// SGD steps per run, the same for every size.
        steps: usize = 6000,
        /// Minibatch size.
        batch: usize = 100,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Hidden layers of the MLP.
        hidden: List<i64> = List(vec![256]),
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: four sizes, 3,000 steps.
    ///
    /// ```
    /// let c = tchlab::experiments::value_of_data::Config::ci();
    /// assert_eq!(c.steps, 3000);
    /// ```
    pub fn ci() -> Self {
        Config { sizes: List(vec![300, 3000, 30000, 60000]), steps: 3000, ..Self::lecture() }
    }
}

/// Epochs that give `steps` steps on `n` examples in batches of `batch` (at least one).
///
/// ```
/// use tchlab::experiments::value_of_data::epochs_for_steps;
/// assert_eq!(epochs_for_steps(3000, 300, 100), 1000);
/// assert_eq!(epochs_for_steps(3000, 60000, 100), 5);
/// assert_eq!(epochs_for_steps(10, 250, 100), 4); // 3 batches per epoch: 12 steps
/// ```
pub fn epochs_for_steps(steps: usize, n: usize, batch: usize) -> usize {
    let per_epoch = n.div_ceil(batch.max(1)).max(1);
    steps.div_ceil(per_epoch).max(1)
}

/// Trains both models at every size.
///
/// ```no_run
/// let report = tchlab::experiments::value_of_data::run(&tchlab::experiments::value_of_data::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("value-of-data");
    report.settings = c.to_params().entries();
    ensure!(!c.sizes.0.is_empty(), "give at least one training-set size");
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 0)?;
    let train_ds = std::sync::Arc::new(data.train);
    let total = crate::data::Dataset::len(train_ds.as_ref());
    let test = DataLoader::new(data.test, 1000)?;
    let models = [
        ("softmax regression", MlpConfig::new(784, &[], 10)),
        ("MLP", MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu)),
    ];
    let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 2];
    let mut train_series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 2];
    let mut rows = Vec::new();
    let mut gaps = Vec::new();
    for &n in &c.sizes.0 {
        ensure!(n > 0 && n <= total, "training-set size {n} must be in 1..={total}");
        let loader = DataLoader::new(Subset::range(train_ds.clone(), 0..n)?, c.batch)?.shuffle(c.seed);
        let epochs = epochs_for_steps(c.steps, n, c.batch);
        let steps = epochs * loader.len();
        let mut errors = [0.0; 2];
        for (m, (name, config)) in models.iter().enumerate() {
            let tc = TrainConfig::sgd(c.lr, epochs).seed(c.seed).eval_train(false).quiet();
            let Trained { history, test_accuracy: acc, .. } = fit_and_test(config, c.seed, &loader, None, &test, tc)?;
            let err = 100.0 - acc;
            errors[m] = err;
            let train_loss = history.last_loss("train").unwrap_or(f64::NAN);
            series[m].push((n as f64, err));
            train_series[m].push((n as f64, train_loss));
            rows.push(vec![
                n.to_string(),
                name.to_string(),
                epochs.to_string(),
                steps.to_string(),
                format!("{train_loss:.4}"),
                format!("{err:.2}"),
            ]);
            let key = if m == 0 { "softmax" } else { "mlp" };
            report.metric(&format!("{key}_n{n}_test_error"), err);
        }
        report.metric(&format!("gap_n{n}"), errors[0] - errors[1]);
        gaps.push(errors[0] - errors[1]);
    }
    let (s, l) = (c.sizes.0[0], *c.sizes.0.last().unwrap_or(&0));
    report.metric("gap_smallest", gaps[0]);
    report.metric("gap_largest", *gaps.last().unwrap_or(&f64::NAN));
    report.metric("gap_growth", gaps.last().unwrap_or(&f64::NAN) - gaps[0]);
    let gain = |m: usize| series[m][0].1 - series[m].last().map_or(f64::NAN, |p| p.1);
    report.metric("softmax_gain", gain(0));
    report.metric("mlp_gain", gain(1));
    // the last factor of ~2 in data: how much each model still gains from it
    if series[0].len() >= 2 {
        let k = series[0].len() - 2;
        let late = |m: usize| series[m][k].1 - series[m][k + 1].1;
        report.metric("softmax_late_gain", late(0));
        report.metric("mlp_late_gain", late(1));
    }
    report.tables.push((
        "runs".into(),
        Table::from_rows(&["images", "model", "epochs", "steps", "final train loss", "test error (%)"], rows),
    ));
    report.figures.push((
        "test_error".into(),
        Figure::lines(
            &format!("Test error vs training-set size ({s} … {l} images, {} steps each)", c.steps),
            "training images",
            "test error (%)",
            vec![
                Series::line("softmax regression", series[0].clone()),
                Series::line(&models[1].1.describe(), series[1].clone()),
            ],
        )
        .x_scale(Scale::Log(10.0))
        .y_scale(Scale::Log(10.0)),
    ));
    report.figures.push((
        "train_loss".into(),
        Figure::lines(
            "Training loss at the end (mean over the last epoch's minibatches)",
            "training images",
            "cross-entropy",
            vec![
                Series::line("softmax regression", train_series[0].clone()).style(Style::Dashed),
                Series::line(&models[1].1.describe(), train_series[1].clone()).style(Style::Dashed),
            ],
        )
        .x_scale(Scale::Log(10.0)),
    ));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
