//! Wide vs deep: MLPs with (about) the same number of parameters, one wide hidden layer
//! vs several narrow ones; and gradient norms per layer as depth grows, sigmoid vs ReLU.

use std::time::Instant;

use anyhow::Result;

use super::{List, Report, mnist_splits, train_mlp};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{GradNorms, TrainConfig, Trainer};

super::settings! {
    /// Settings: depths 1, 2, 4, 8 with about 100,000 parameters each, ReLU, SGD 0.1,
    /// batch 64; gradient norms of an 8-hidden-layer MLP of width 64.
    ///
    /// ```
    /// let c = tchlab::experiments::wide_vs_deep::Config::lecture();
    /// assert_eq!(c.depths.0, vec![1, 2, 4, 8]);
    /// ```
    "wide-vs-deep",
    pub struct Config {
        /// Numbers of hidden layers compared.
        depths: List<usize> = List(vec![1, 2, 4, 8]),
        /// Parameter budget of each model.
        budget: i64 = 100_000,
        /// Hidden activation of the comparison.
        activation: Activation = Activation::Relu,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 5,
        /// Training images (0: all 60,000).
        train_size: usize = 0,
        /// Hidden layers of the gradient-norm model.
        grad_depth: usize = 8,
        /// Width of the gradient-norm model.
        grad_width: i64 = 64,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 10,000 training images, 3 epochs.
    pub fn ci() -> Self {
        Config { train_size: 10_000, epochs: 3, ..Self::lecture() }
    }
}

/// The width that gives `depth` equal hidden layers about `budget` parameters
/// (784 inputs, 10 outputs).
///
/// ```
/// let w = tchlab::experiments::wide_vs_deep::width_for_budget(1, 100_000);
/// assert_eq!(w, 126);
/// ```
pub fn width_for_budget(depth: usize, budget: i64) -> i64 {
    let params = |h: i64| MlpConfig::new(784, &vec![h; depth], 10).parameter_count();
    (1..4096).min_by_key(|&h| (params(h) - budget).abs()).unwrap_or(1)
}

/// Trains each depth and measures gradient norms per layer.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("wide-vs-deep");
    report.settings = c.to_params().entries();
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let train = DataLoader::new(data.train, c.batch)?.shuffle(c.seed);
    let test = DataLoader::new(data.test, 1000)?;
    let mut rows = Vec::new();
    let mut runs = Vec::new();
    for &d in &c.depths.0 {
        let w = width_for_budget(d, c.budget);
        let cfg = MlpConfig::new(784, &vec![w; d], 10).activation(c.activation);
        println!("== {} ({} parameters) ==", cfg.describe(), cfg.parameter_count());
        let (_, h, acc) = train_mlp(&cfg, c.seed, &train, None, &test, TrainConfig::sgd(c.lr, c.epochs).seed(c.seed))?;
        report.metric(&format!("depth{d}_test_accuracy"), acc);
        report.metric(&format!("depth{d}_parameters"), cfg.parameter_count() as f64);
        rows.push(vec![d.to_string(), w.to_string(), cfg.parameter_count().to_string(), format!("{acc:.2}")]);
        runs.push((format!("{d}×{w}"), h));
    }
    report
        .tables
        .push(("models".into(), Table::from_rows(&["hidden layers", "width", "parameters", "test acc (%)"], rows)));
    let refs: Vec<(&str, &crate::train::History)> = runs.iter().map(|(n, h)| (n.as_str(), h)).collect();
    report.figures.push(("accuracy".into(), Figure::curves("Same budget, different depth", &refs, "accuracy")));
    // Vanishing gradients: mean gradient norm per layer over the first epoch.
    let mut series = Vec::new();
    for act in [Activation::Sigmoid, Activation::Relu] {
        let cfg = MlpConfig::new(784, &vec![c.grad_width; c.grad_depth], 10).activation(act);
        let mut model = Mlp::new(&cfg, c.seed)?;
        let mut trainer = Trainer::new(TrainConfig::sgd(c.lr, 1).seed(c.seed).quiet()).hook(GradNorms::default());
        let h = trainer.fit(&mut model, &train, None)?;
        let norms = h.series.get("grad_norm").and_then(|v| v.first().cloned()).unwrap_or_default();
        if let (Some(first), Some(last)) = (norms.first(), norms.last()) {
            report.metric(&format!("{}_grad_ratio_first_to_last", act.name()), first / last);
        }
        println!(
            "{}: gradient norm per layer {:?}",
            act.name(),
            norms.iter().map(|v| format!("{v:.2e}")).collect::<Vec<_>>()
        );
        series.push(Series::line(
            act.name(),
            norms.iter().enumerate().map(|(l, v)| ((l + 1) as f64, v.max(1e-12).log10())).collect(),
        ));
    }
    report.figures.push((
        "gradient_norms".into(),
        Figure::lines(
            &format!("Gradient norm per layer ({} hidden layers)", c.grad_depth),
            "layer (input → output)",
            "log10 ‖∂L/∂W‖",
            series,
        ),
    ));
    report.histories = runs;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
