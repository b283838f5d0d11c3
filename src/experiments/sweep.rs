//! Parameters vs hyperparameters: a learning rate × hidden units sweep.

use std::time::Instant;

use anyhow::Result;

use super::{List, Report, mnist_splits, train_mlp};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, MlpConfig};
use crate::plot::Figure;
use crate::train::TrainConfig;

super::settings! {
    /// Settings: one-hidden-layer ReLU MLPs on MNIST, every learning rate × width.
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
        /// Training images (0: all 60,000).
        train_size: usize = 10_000,
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

/// Runs the grid and reports test accuracy as a table and a heatmap.
pub fn run(c: &Config) -> Result<Report> {
    anyhow::ensure!(
        !c.lrs.0.is_empty() && !c.widths.0.is_empty(),
        "the sweep needs at least one learning rate and one width, got lrs={} widths={} (e.g. lrs=0.01,0.1 widths=8,32)",
        c.lrs,
        c.widths
    );
    let clock = Instant::now();
    let mut report = Report::new("hyperparameter-sweep");
    report.settings = c.to_params().entries();
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let train = DataLoader::new(data.train, c.batch)?.shuffle(c.seed);
    let test = DataLoader::new(data.test, 1000)?;
    let mut grid = Vec::new();
    let mut rows = Vec::new();
    for &lr in &c.lrs.0 {
        let mut row = Vec::new();
        for &w in &c.widths.0 {
            let cfg = MlpConfig::new(784, &[w], 10).activation(Activation::Relu);
            let acc =
                match train_mlp(&cfg, c.seed, &train, None, &test, TrainConfig::sgd(lr, c.epochs).seed(c.seed).quiet())
                {
                    Ok((_, _, acc)) => acc,
                    Err(e) => {
                        println!("lr {lr}, {w} units: {e:#}");
                        f64::NAN
                    }
                };
            println!("lr {lr:<6} hidden {w:<4} test accuracy {acc:.2}%");
            report.metric(&format!("lr{lr}_w{w}_test_accuracy"), acc);
            rows.push(vec![lr.to_string(), w.to_string(), format!("{acc:.2}")]);
            row.push(acc);
        }
        grid.push(row);
    }
    let best = rows
        .iter()
        .max_by(|a, b| a[2].parse::<f64>().unwrap_or(0.0).total_cmp(&b[2].parse::<f64>().unwrap_or(0.0)))
        .cloned();
    if let Some(b) = best {
        println!("best: lr {} with {} hidden units ({}%)", b[0], b[1], b[2]);
    }
    report.tables.push(("sweep".into(), Table::from_rows(&["learning rate", "hidden units", "test acc (%)"], rows)));
    report.figures.push((
        "sweep_heatmap".into(),
        Figure::heatmap(
            "Test accuracy (%)",
            grid,
            c.lrs.0.iter().map(|l| l.to_string()).collect(),
            c.widths.0.iter().map(|w| w.to_string()).collect(),
            "hidden units",
            "learning rate",
        ),
    ));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
