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
        /// Learning rates of the default-init ReLU runs in which units die while training.
        dying_lrs: List<f64> = List(vec![0.01, 0.1, 0.5, 1.0, 2.0]),
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
    dying_while_training(c, &train, &probe, &mut report)?;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

/// Units that die during training: the default-init ReLU network at growing learning
/// rates, its dead fraction (mean over the hidden layers) at initialisation and after
/// every epoch. A run whose loss diverges is reported as such and left out.
fn dying_while_training(c: &Config, train: &DataLoader, probe: &tch::Tensor, report: &mut Report) -> Result<()> {
    let cfg = MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu);
    let mut series = Vec::new();
    let mut largest_rise = f64::NAN;
    for &lr in &c.dying_lrs.0 {
        let mut model = crate::model::Mlp::new(&cfg, c.seed)?;
        let initial = mean(&dead_fractions(&model, probe));
        let mut trainer = Trainer::new(TrainConfig::sgd(lr, c.epochs).seed(c.seed).quiet())
            .hook(DeadUnits::new(probe.shallow_clone()));
        let history = match trainer.fit(&mut model, train, None) {
            Ok(h) => h,
            Err(e) => {
                println!("lr {lr}: {e:#}");
                report.metric(&format!("lr{lr}_diverged"), 1.0);
                continue;
            }
        };
        let per_epoch: Vec<f64> = history
            .series
            .get("dead_fraction")
            .map(|v| v.iter().map(|l| 100.0 * mean(l)).collect())
            .unwrap_or_default();
        let after = per_epoch.last().copied().unwrap_or(f64::NAN);
        println!("lr {lr}: dead units {:.1}% at init, {:.1}% after {} epochs", 100.0 * initial, after, c.epochs);
        report.metric(&format!("lr{lr}_dead_at_init"), 100.0 * initial);
        report.metric(&format!("lr{lr}_dead_after_training"), after);
        largest_rise = largest_rise.max(after - 100.0 * initial);
        let mut points = vec![(0.0, 100.0 * initial)];
        points.extend(per_epoch.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)));
        series.push(crate::plot::Series::line(&format!("lr {lr}"), points));
    }
    // The most any learning rate raised the dead fraction (percentage points).
    report.metric("largest_dead_rise", largest_rise);
    report.figures.push((
        "dying_while_training".into(),
        Figure::lines(
            "ReLU, default init: dead units while training",
            "epoch",
            "dead units (%, mean over layers)",
            series,
        ),
    ));
    Ok(())
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}
