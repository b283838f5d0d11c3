//! Activation functions: every one of the lecture with its derivative, why tanh's
//! larger, zero-centred outputs help over the sigmoid, and ReLU vs smooth variants
//! trained on MNIST.

use std::time::Instant;

use anyhow::Result;
use tch::{Kind, Tensor};

use super::{List, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, MlpConfig};
use crate::plot::Figure;
use crate::train::TrainConfig;

super::settings! {
    /// Settings of the training comparison (784-100-100-10 on MNIST).
    ///
    /// ```
    /// let c = tchlab::experiments::activations::Config::lecture();
    /// assert!(c.compare.0.contains(&tchlab::model::Activation::Tanh));
    /// ```
    "activations",
    pub struct Config {
        /// Activations trained.
        compare: List<Activation> = List(vec![Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::Elu(1.0), Activation::Gelu, Activation::Silu, Activation::Softplus]),
        /// Hidden layers.
        hidden: List<i64> = List(vec![100, 100]),
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
    /// CI: 10,000 images, 3 epochs.
    pub fn ci() -> Self {
        Config { train_size: 10_000, epochs: 3, ..Self::lecture() }
    }
}

/// Runs the gallery, the sigmoid/tanh numbers and the training comparison.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("activations");
    report.settings = c.to_params().entries();
    report.figures.push(("gallery".into(), Figure::activation_gallery(&Activation::ALL, (-4.0, 4.0))));
    // Largest derivative and mean output for standard-normal inputs (drawn from the
    // experiment's seed, so the notebook and `tchlab run` see the same sample).
    let mut rng = crate::rng::Rng::new(c.seed);
    let z = Tensor::from_slice(&(0..100_000).map(|_| rng.normal()).collect::<Vec<f64>>());
    let grid = Tensor::linspace(-6.0, 6.0, 2001, (Kind::Double, tch::Device::Cpu));
    let mut rows = Vec::new();
    for a in Activation::ALL {
        let max_grad = a.derivative(&grid).max().double_value(&[]);
        let mean = a.apply(&z, None).mean(Kind::Double).double_value(&[]);
        rows.push(vec![a.to_string(), format!("{max_grad:.3}"), format!("{mean:.3}")]);
        if matches!(a, Activation::Sigmoid | Activation::Tanh) {
            report.metric(&format!("{}_max_derivative", a.name()), max_grad);
            report.metric(&format!("{}_mean_output", a.name()), mean);
        }
    }
    report
        .tables
        .push(("properties".into(), Table::from_rows(&["activation", "max f'(z)", "mean f(z), z ~ N(0,1)"], rows)));
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let train = DataLoader::new(data.train, c.batch)?.shuffle(c.seed);
    let test = DataLoader::new(data.test, 1000)?;
    let mut runs = Vec::new();
    for &a in &c.compare.0 {
        let cfg = MlpConfig::new(784, &c.hidden.0, 10).activation(a);
        println!("== {} ==", cfg.describe());
        let Trained { history: h, test_accuracy: acc, .. } =
            fit_and_test(&cfg, c.seed, &train, None, &test, TrainConfig::sgd(c.lr, c.epochs).seed(c.seed))?;
        report.metric(&format!("{}_test_accuracy", a.name()), acc);
        runs.push((a.name().to_string(), h));
    }
    let refs: Vec<(&str, &crate::train::History)> = runs.iter().map(|(n, h)| (n.as_str(), h)).collect();
    report.figures.push(("training_loss".into(), Figure::curves("Training loss by activation", &refs, "loss")));
    report.histories = runs;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
