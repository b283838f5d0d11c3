//! The weight init decides whether a tanh MLP learns at all: Fashion-MNIST, 784-75-50-25-10,
//! tanh with U(0, 1) weights, tanh with PyTorch's default init, ReLU with the default init
//! (the lecture's figures: 11.72 %, 87.88 %, 87.21 % test accuracy after 50 epochs).
//!
//! The steps: [`data`], [`model`] (one [`Run`]), [`train`] (one run), [`results`], [`present`];
//! [`run`] is exactly these steps in order.

use std::time::Instant;

use anyhow::Result;

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, MlpConfig};
use crate::plot::Figure;
use crate::train::TrainConfig;

super::settings! {
    /// Settings: Fashion-MNIST in [0, 1], 784-75-50-25-10, SGD 0.1, batch 64, 50 epochs.
    ///
    /// ```
    /// let c = tchlab::experiments::fashion_inits::Config::lecture();
    /// assert_eq!((c.hidden.0.clone(), c.batch, c.epochs), (vec![75, 50, 25], 64, 50));
    /// ```
    "fashion-inits",
    pub struct Config {
        /// Hidden layer sizes.
        hidden: List<i64> = List(vec![75, 50, 25]),
        /// SGD learning rate (the lecture does not give it; its other MLPs use 0.1).
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 50,
        /// Training images (0: all 60,000).
        train_size: usize = 0,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: all 60,000 training images, 3 epochs.
    pub fn ci() -> Self {
        Config { epochs: 3, ..Self::lecture() }
    }
}

/// The three runs of the lecture's comparison.
///
/// ```
/// use tchlab::experiments::fashion_inits::Run;
/// assert_eq!(Run::ALL.map(|r| r.name()), ["tanh_uniform", "tanh_default", "relu_default"]);
/// assert_eq!(Run::TanhUniform.lecture_test_accuracy(), 11.72);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// tanh, weights U(0, 1) (`torch.nn.init.uniform_` with its default bounds), biases default.
    TanhUniform,
    /// tanh, PyTorch's default init.
    TanhDefault,
    /// ReLU, PyTorch's default init.
    ReluDefault,
}

impl Run {
    /// The runs in the lecture's order.
    pub const ALL: [Run; 3] = [Run::TanhUniform, Run::TanhDefault, Run::ReluDefault];

    /// The prefix of the run's results.
    pub fn name(self) -> &'static str {
        match self {
            Run::TanhUniform => "tanh_uniform",
            Run::TanhDefault => "tanh_default",
            Run::ReluDefault => "relu_default",
        }
    }

    /// The test accuracy (%) the lecture reports after 50 epochs.
    pub fn lecture_test_accuracy(self) -> f64 {
        match self {
            Run::TanhUniform => 11.72,
            Run::TanhDefault => 87.88,
            Run::ReluDefault => 87.21,
        }
    }
}

/// The training minibatches (shuffled) and the 10,000 test images.
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// Test images.
    pub test: DataLoader,
}

/// Step 1: loads Fashion-MNIST with pixels in [0, 1] (`TCHLAB_FASHION_MNIST_MIRROR` first).
///
/// ```no_run
/// use tchlab::experiments::fashion_inits;
/// let data = fashion_inits::data(&fashion_inits::Config::ci())?;
/// assert_eq!(data.train.batch_size(), 64);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let (train, test) =
        mnist_splits(MnistKind::Fashion, Scaling::Unit, c.train_size, 0)?.train_test_loaders(c.batch, c.seed)?;
    Ok(Data { train, test })
}

/// Step 2: the MLP of `run`.
///
/// ```
/// use tchlab::experiments::fashion_inits::{Config, Run, model};
/// let m = model(&Config::lecture(), Run::TanhUniform);
/// assert_eq!(m.describe(), "784-75-50-25-10 tanh");
/// assert_eq!(m.weight_init, tchlab::model::Init::Uniform { low: 0.0, high: 1.0 });
/// ```
pub fn model(c: &Config, run: Run) -> MlpConfig {
    let config = MlpConfig::new(784, &c.hidden.0, 10);
    match run {
        Run::TanhUniform => config.activation(Activation::Tanh).weight_init(Init::Uniform { low: 0.0, high: 1.0 }),
        Run::TanhDefault => config.activation(Activation::Tanh),
        Run::ReluDefault => config.activation(Activation::Relu),
    }
}

/// Step 3: trains the MLP of `run` (SGD, `epochs`) and measures its test accuracy.
pub fn train(c: &Config, data: &Data, run: Run) -> Result<Trained> {
    let config = model(c, run);
    println!("== {}: {} ({}) ==", run.name(), config.describe(), config.weight_init);
    fit_and_test(&config, c.seed, &data.train, None, &data.test, TrainConfig::sgd(c.lr, c.epochs).seed(c.seed))
}

/// One run's accuracies, named `fashion_tanh_uniform_test_accuracy`, … .
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOutcome {
    /// The run.
    pub run: Run,
    /// Test accuracy (%).
    pub test_accuracy: f64,
    /// Training accuracy after the last epoch (%).
    pub train_accuracy: f64,
}

impl super::MetricValue for RunOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("fashion_{}_test_accuracy", self.run.name()), self.test_accuracy));
        out.push((format!("fashion_{}_train_accuracy", self.run.name()), self.train_accuracy));
    }
}

crate::results! {
    /// Each initialisation's accuracies.
    pub struct Results {
        /// Per run, in the order trained.
        runs: Vec<RunOutcome>,
    }
}

/// The accuracies of each run.
///
/// ```
/// assert!(tchlab::experiments::fashion_inits::results(&[], &[]).runs.is_empty());
/// ```
pub fn results(runs: &[Run], trained: &[&Trained]) -> Results {
    let outcome = |(&run, t): (&Run, &&Trained)| RunOutcome {
        run,
        test_accuracy: t.test_accuracy,
        train_accuracy: 100.0 * t.history.last("train").map_or(f64::NAN, |r| r.accuracy),
    };
    Results { runs: runs.iter().zip(trained).map(outcome).collect() }
}

/// Each run's init and test accuracy beside the lecture's.
///
/// ```
/// let c = tchlab::experiments::fashion_inits::Config::ci();
/// assert!(tchlab::experiments::fashion_inits::inits_table(&c, &[], &[]).rows.is_empty());
/// ```
pub fn inits_table(c: &Config, runs: &[Run], trained: &[&Trained]) -> Table {
    let rows = runs
        .iter()
        .zip(trained)
        .map(|(run, t)| {
            vec![
                run.name().to_string(),
                t.model.config().weight_init.to_string(),
                format!("{:.2}", run.lecture_test_accuracy()),
                format!("{:.2}", t.test_accuracy),
            ]
        })
        .collect();
    let epochs = format!("test acc (%), {} epochs", c.epochs);
    Table::from_rows(&["run", "weight init", "lecture: test acc (%), 50 epochs", epochs.as_str()], rows)
}

/// Training accuracy per epoch of each run.
///
/// ```
/// let figure = tchlab::experiments::fashion_inits::accuracy_figure(&[], &[]);
/// ```
pub fn accuracy_figure(runs: &[Run], trained: &[&Trained]) -> Figure {
    let refs: Vec<(&str, &crate::train::History)> =
        runs.iter().zip(trained).map(|(r, t)| (r.name(), &t.history)).collect();
    Figure::curves("Fashion-MNIST 784-75-50-25-10: training accuracy", &refs, "accuracy")
}

/// The table, the figure and the histories, as `tchlab run` saves them.
///
/// ```
/// let c = tchlab::experiments::fashion_inits::Config::ci();
/// assert_eq!(tchlab::experiments::fashion_inits::present(&c, &[], &[]).figure_names(), vec!["accuracy"]);
/// ```
pub fn present(c: &Config, runs: &[Run], trained: &[&Trained]) -> Presentation {
    let mut p = Presentation::default()
        .table("inits", inits_table(c, runs, trained))
        .figure("accuracy", accuracy_figure(runs, trained));
    for (run, t) in runs.iter().zip(trained) {
        p = p.history(run.name(), t.history.clone());
    }
    p
}

/// All steps in order: data, the three runs, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let trained = Run::ALL.iter().map(|&r| train(c, &data, r)).collect::<Result<Vec<_>>>()?;
    let trained: Vec<&Trained> = trained.iter().collect();
    Ok(c.report(&results(&Run::ALL, &trained), present(c, &Run::ALL, &trained), clock))
}
