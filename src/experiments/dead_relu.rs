//! Dying ReLUs: a negative bias shift (or a large learning rate) pushes ReLU units
//! into the region where their gradient is zero, and they stay there; leaky ReLU and
//! ELU keep a gradient and recover.

use std::time::Instant;

use anyhow::Result;

use super::{List, Report, mnist_splits};
use crate::data::{DataLoader, Dataset, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, MlpConfig};
use crate::plot::Figure;
use crate::train::{DeadUnits, TrainConfig, Trainer, dead_fractions};

super::settings! {
    /// Settings: 784-256-256-256-10 on MNIST; one healthy ReLU run with the default
    /// init, then ReLU, leaky ReLU and ELU with every bias initialised to `bias_shift`.
    ///
    /// ```
    /// let c = tchlab::experiments::dead_relu::Config::lecture();
    /// assert!(c.bias_shift < 0.0);
    /// ```
    "dead-relu",
    pub struct Config {
        /// Hidden layer sizes.
        hidden: List<i64> = List(vec![256, 256, 256]),
        /// The bias init of the shifted runs.
        bias_shift: f64 = -1.0,
        /// Activations of the shifted runs.
        activations: List<Activation> = List(vec![Activation::Relu, Activation::LeakyRelu(0.1), Activation::Elu(1.0)]),
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 5,
        /// Training images (0: all 60,000).
        train_size: usize = 0,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 10,000 training images, 4 epochs.
    pub fn ci() -> Self {
        Config { train_size: 10_000, epochs: 4, ..Self::lecture() }
    }
}

/// Trains the runs and records the dead fraction per layer after every epoch.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("dead-relu");
    report.settings = c.to_params().entries();
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let probe_idx: Vec<usize> = (0..1000.min(data.train.len())).collect();
    let (probe, _) = data.train.batch(&probe_idx, 0)?;
    let train = DataLoader::new(data.train, c.batch)?.shuffle(c.seed);
    let test = DataLoader::new(data.test, 1000)?;
    let mut runs: Vec<(String, MlpConfig)> =
        vec![("relu (default init)".into(), MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu))];
    for &a in &c.activations.0 {
        runs.push((
            format!("{} (bias {})", a.name(), c.bias_shift),
            MlpConfig::new(784, &c.hidden.0, 10).activation(a).bias_init(Init::Constant(c.bias_shift)),
        ));
    }
    let mut rows = Vec::new();
    let mut figs = Vec::new();
    let mut curves = Vec::new();
    for (name, cfg) in &runs {
        println!("== {name} ==");
        let initial = dead_fractions(&crate::model::Mlp::new(cfg, c.seed)?, &probe);
        let mut model = crate::model::Mlp::new(cfg, c.seed)?;
        let mut trainer =
            Trainer::new(TrainConfig::sgd(c.lr, c.epochs).seed(c.seed)).hook(DeadUnits::new(probe.shallow_clone()));
        let history = trainer.fit(&mut model, &train, None)?;
        let test_acc = 100.0 * crate::train::evaluate(&model, &test, crate::train::Loss::CrossEntropy)?.accuracy;
        let last = history.series.get("dead_fraction").and_then(|v| v.last().cloned()).unwrap_or_default();
        let key = name.split_whitespace().next().unwrap_or("run").to_string()
            + if name.contains("default") { "_default" } else { "_shifted" };
        report.metric(&format!("{key}_test_accuracy"), test_acc);
        for (l, f) in last.iter().enumerate() {
            report.metric(&format!("{key}_dead_layer{}", l + 1), 100.0 * f);
        }
        rows.push(vec![
            name.clone(),
            initial.iter().map(|f| format!("{:.0}%", 100.0 * f)).collect::<Vec<_>>().join(" / "),
            last.iter().map(|f| format!("{:.0}%", 100.0 * f)).collect::<Vec<_>>().join(" / "),
            format!("{test_acc:.2}"),
        ]);
        figs.push(Figure::dead_units(name, &history).y_range(-2.0, 102.0).size(420, 300));
        curves.push((name.clone(), history));
    }
    report.tables.push((
        "dead_units".into(),
        Table::from_rows(&["run", "dead at init (layers)", "dead after training", "test acc (%)"], rows),
    ));
    report.figures.push(("dead_fraction".into(), Figure::grid(figs, 2)));
    let refs: Vec<(&str, &crate::train::History)> = curves.iter().map(|(n, h)| (n.as_str(), h)).collect();
    report.figures.push(("accuracy".into(), Figure::curves("Training accuracy", &refs, "accuracy")));
    report.histories = curves;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
