//! Activation functions: every one of the lecture with its derivative, why tanh's
//! larger, zero-centred outputs help over the sigmoid, and ReLU vs smooth variants
//! trained on MNIST.

use std::time::Instant;

use anyhow::Result;
use tch::{Kind, Tensor};

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
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

/// Every activation of the lecture with its derivative (dashed).
///
/// ```
/// let figure = tchlab::experiments::activations::gallery_figure();
/// ```
pub fn gallery_figure() -> Figure {
    Figure::activation_gallery(&Activation::ALL, (-4.0, 4.0))
}

/// How an activation's outputs and gradients look to the next layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Property {
    /// The activation.
    pub activation: Activation,
    /// Its largest derivative on [−6, 6].
    pub max_derivative: f64,
    /// Its mean output for standard-normal inputs.
    pub mean_output: f64,
}

/// Step 1: the largest derivative and the mean output of `activation` for 100,000
/// standard-normal inputs (drawn from the seed, so the notebook and `tchlab run` see the
/// same sample).
///
/// ```
/// use tchlab::{experiments::activations::{Config, property}, model::Activation};
/// let p = property(&Config::lecture(), Activation::Sigmoid);
/// assert!((p.max_derivative - 0.25).abs() < 1e-6 && (p.mean_output - 0.5).abs() < 0.01);
/// ```
pub fn property(c: &Config, activation: Activation) -> Property {
    property_on(activation, &normal_sample(c))
}

/// The 100,000 standard-normal inputs of [`property`], drawn from the seed.
fn normal_sample(c: &Config) -> Tensor {
    let mut rng = crate::rng::Rng::new(c.seed);
    Tensor::from_slice(&(0..100_000).map(|_| rng.normal()).collect::<Vec<f64>>())
}

/// [`property`] of `activation` on the sample `z`.
fn property_on(activation: Activation, z: &Tensor) -> Property {
    let grid = Tensor::linspace(-6.0, 6.0, 2001, (Kind::Double, tch::Device::Cpu));
    Property {
        activation,
        max_derivative: activation.derivative(&grid).max().double_value(&[]),
        mean_output: activation.apply(z, None).mean(Kind::Double).double_value(&[]),
    }
}

/// [`property`] of every activation of the lecture.
///
/// ```
/// let props = tchlab::experiments::activations::properties(&tchlab::experiments::activations::Config::lecture());
/// assert_eq!(props.len(), tchlab::model::Activation::ALL.len());
/// ```
pub fn properties(c: &Config) -> Vec<Property> {
    let z = normal_sample(c);
    Activation::ALL.iter().map(|&a| property_on(a, &z)).collect()
}

/// The properties as a table.
///
/// ```
/// use tchlab::experiments::activations::{Config, properties, properties_table};
/// assert_eq!(properties_table(&properties(&Config::lecture())).rows.len(), tchlab::model::Activation::ALL.len());
/// ```
pub fn properties_table(props: &[Property]) -> Table {
    let rows = props
        .iter()
        .map(|p| vec![p.activation.to_string(), format!("{:.3}", p.max_derivative), format!("{:.3}", p.mean_output)])
        .collect();
    Table::from_rows(&["activation", "max f'(z)", "mean f(z), z ~ N(0,1)"], rows)
}

/// The loaders of the training comparison.
pub struct Data {
    /// Training minibatches, shuffled with the seed.
    pub train: DataLoader,
    /// Test images, 1,000 per batch.
    pub test: DataLoader,
}

/// Step 2: MNIST with pixels in [0, 1] (the first `train_size` training images).
///
/// ```no_run
/// use tchlab::experiments::activations::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.train.examples_per_epoch(), 10_000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let (train, test) =
        mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?.train_test_loaders(c.batch, c.seed)?;
    Ok(Data { train, test })
}

/// Step 3: the network with `activation` in every hidden layer.
///
/// ```
/// use tchlab::{experiments::activations::{Config, model}, model::Activation};
/// assert_eq!(model(&Config::lecture(), Activation::Tanh).layer_sizes(), vec![784, 100, 100, 10]);
/// ```
pub fn model(c: &Config, activation: Activation) -> MlpConfig {
    MlpConfig::new(784, &c.hidden.0, 10).activation(activation)
}

/// Step 4: trains one network per activation of `compare` (same seed, same batches).
///
/// ```no_run
/// use tchlab::experiments::activations::{Config, data, train_all};
/// let c = Config { epochs: 1, ..Config::ci() };
/// assert_eq!(train_all(&c, &data(&c)?)?.len(), c.compare.0.len());
/// # anyhow::Ok(())
/// ```
pub fn train_all(c: &Config, data: &Data) -> Result<Vec<(Activation, Trained)>> {
    let mut runs = Vec::new();
    for &a in &c.compare.0 {
        let cfg = model(c, a);
        println!("== {} ==", cfg.describe());
        let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed);
        runs.push((a, fit_and_test(&cfg, c.seed, &data.train, None, &data.test, tc)?));
    }
    Ok(runs)
}

/// One activation's test accuracy, named `relu_test_accuracy`, … .
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestAccuracy {
    /// The activation of every hidden layer.
    pub activation: Activation,
    /// Its network's accuracy on the test images (%).
    pub percent: f64,
}

impl super::MetricValue for TestAccuracy {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{}_test_accuracy", self.activation.name()), self.percent));
    }
}

crate::results! {
    /// The sigmoid's and tanh's properties, and each activation's test accuracy.
    pub struct Results {
        /// The sigmoid's largest derivative (0.25).
        sigmoid_max_derivative: f64,
        /// Its mean output for standard-normal inputs (0.5).
        sigmoid_mean_output: f64,
        /// tanh's largest derivative (1).
        tanh_max_derivative: f64,
        /// Its mean output for standard-normal inputs (0).
        tanh_mean_output: f64,
        /// Test accuracy per trained activation, in the order of `compare`.
        test_accuracy: Vec<TestAccuracy>,
    }
}

/// Step 5: the numbers the notebook quotes.
///
/// ```
/// use tchlab::{experiments::activations::{Config, results}, model::Activation};
/// let r = results(&Config::lecture(), &[]);
/// assert_eq!(r.tanh_max_derivative, 1.0);
/// assert!(r.test_accuracy.is_empty());
/// ```
pub fn results(c: &Config, runs: &[(Activation, Trained)]) -> Results {
    let z = normal_sample(c);
    let (sigmoid, tanh) = (property_on(Activation::Sigmoid, &z), property_on(Activation::Tanh, &z));
    Results {
        sigmoid_max_derivative: sigmoid.max_derivative,
        sigmoid_mean_output: sigmoid.mean_output,
        tanh_max_derivative: tanh.max_derivative,
        tanh_mean_output: tanh.mean_output,
        test_accuracy: runs.iter().map(|(a, t)| TestAccuracy { activation: *a, percent: t.test_accuracy }).collect(),
    }
}

/// Training loss per epoch, one curve per activation.
///
/// ```
/// let figure = tchlab::experiments::activations::loss_figure(&[]);
/// ```
pub fn loss_figure(runs: &[(Activation, Trained)]) -> Figure {
    let curves: Vec<(&str, &crate::train::History)> = runs.iter().map(|(a, t)| (a.name(), &t.history)).collect();
    Figure::curves("Training loss by activation", &curves, "loss")
}

/// Step 6: the gallery, the properties and the training losses, as `tchlab run` saves
/// them.
///
/// ```
/// use tchlab::experiments::activations::{Config, present};
/// assert_eq!(present(&Config::lecture(), &[]).figure_names(), vec!["gallery", "training_loss"]);
/// ```
pub fn present(c: &Config, runs: &[(Activation, Trained)]) -> Presentation {
    let mut p = Presentation::default()
        .figure("gallery", gallery_figure())
        .table("properties", properties_table(&properties(c)))
        .figure("training_loss", loss_figure(runs));
    for (a, t) in runs {
        p = p.history(a.name(), t.history.clone());
    }
    p
}

/// Runs the gallery, the sigmoid/tanh numbers and the training comparison: [`data`],
/// [`train_all`], [`results`], [`present`].
///
/// ```no_run
/// let report = tchlab::experiments::activations::run(&tchlab::experiments::activations::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let runs = train_all(c, &data)?;
    let results = results(c, &runs);
    Ok(c.report(&results, present(c, &runs), clock))
}
