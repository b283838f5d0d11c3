//! Failure cases, overfitting and underfitting, step by step: the lecture's failure-grid
//! MLP (784-100-10, sigmoid, pixels in [−1, 1], L2, 200 epochs), its misclassified test
//! digits, confusion matrix and top losses, train vs validation curves, and sweeps of
//! capacity and training-set size.
//!
//! [`run`] composes the steps [`data`], [`train`], [`errors`], [`capacity_sweep`],
//! [`size_sweep`], [`results`] and [`present`]; notebook 07 calls the same steps one cell each.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, ensure};

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, Dataset, MnistKind, Scaling, Subset, TensorDataset};
use crate::display::Table;
use crate::metrics::Interpretation;
use crate::model::{Activation, Init, MlpConfig};
use crate::plot::{Figure, Scale, Series};
use crate::train::{Loss, OptimizerKind, TrainConfig};

super::settings! {
    /// Settings of the lecture's failure-grid model (its "Looking at some failure
    /// cases" slide; the code of Raschka's *Python Machine Learning*, ch. 12): 784-100-10
    /// with sigmoid hidden and output units and the logistic (binary cross-entropy)
    /// cost, weights N(0, 0.1), biases 0, pixels scaled to [−1, 1], the first 55,000
    /// training images for training and the last 5,000 for validation, minibatch 100,
    /// 200 epochs, learning rate η = 0.0005 and L2 λ = 0.01.
    ///
    /// That code sums the cost over the minibatch's 100 examples and 10 outputs and adds
    /// `λ·w` to the summed gradient of each weight (not of the biases). Our loss is the
    /// mean over the 100 × 10 outputs, so the same update is SGD with
    /// `lr = η · 100 · 10 = 0.5` and PyTorch-style weight decay (`wd·w` added to the
    /// gradient) `wd = λ / (100 · 10) = 1e-5`; unlike the original, the decay also
    /// shrinks the biases (by a factor 1 − 5·10⁻⁶ per step).
    ///
    /// ```
    /// let c = tchlab::experiments::failure_cases::Config::lecture();
    /// assert_eq!(c.hidden.0, vec![100]);
    /// assert_eq!(c.epochs, 200);
    /// ```
    "failure-cases",
    pub struct Config {
        /// Hidden layer sizes of the failure-grid model.
        hidden: List<i64> = List(vec![100]),
        /// Its hidden activation.
        activation: Activation = Activation::Sigmoid,
        /// SGD learning rate on the mean binary cross-entropy (η = 0.0005 on the summed cost).
        lr: f64 = 0.5,
        /// Weight decay added to the gradient, `wd·w` (λ = 0.01 on the summed cost).
        weight_decay: f64 = 1e-5,
        /// Minibatch size.
        batch: usize = 100,
        /// Epochs of the failure-grid model.
        epochs: usize = 200,
        /// Seed.
        seed: u64 = 1,
        /// Widths of the one-hidden-layer ReLU capacity sweep.
        sweep_widths: List<i64> = List(vec![1, 2, 4, 16, 64, 256]),
        /// Training images of the capacity sweep.
        sweep_train: usize = 2000,
        /// Epochs of each capacity-sweep run.
        sweep_epochs: usize = 30,
        /// Training-set sizes of the data-size sweep.
        sweep_sizes: List<usize> = List(vec![250, 1000, 4000, 16000]),
        /// Optimiser updates of each data-size run (whole epochs: at least this many).
        sweep_steps: usize = 3000,
    }
}

impl Config {
    /// CI: the failure-grid model for 10 epochs instead of 200; the capacity sweep as
    /// in the lecture setting; the data-size sweep without its 16,000-image run.
    pub fn ci() -> Self {
        Config { epochs: 10, sweep_sizes: List(vec![250, 1000, 4000]), ..Self::lecture() }
    }
}

/// The lecture's split of MNIST, pixels scaled to [−1, 1]: loaders for the first 55,000
/// training images (shuffled, minibatch `c.batch`), the last 5,000 (validation) and the
/// 10,000 test images, and the training and test images themselves (for the grid of
/// misclassified digits); the sweeps read the same images with pixels in [0, 1].
pub struct Data {
    /// The 55,000 training images, shuffled with the seed.
    pub train: DataLoader,
    /// The last 5,000 training images.
    pub valid: DataLoader,
    /// The 10,000 test images.
    pub test: DataLoader,
    /// The training images.
    pub train_images: Arc<TensorDataset>,
    /// The test images.
    pub test_images: Arc<TensorDataset>,
    /// The same training images with pixels in [0, 1], for the sweeps (which train on
    /// their first `n`).
    pub sweep_train: Arc<TensorDataset>,
    /// The test images with pixels in [0, 1], for the sweeps.
    pub sweep_test: DataLoader,
}

/// Loads MNIST and splits it as [`Data`] describes.
///
/// ```no_run
/// use tchlab::experiments::failure_cases::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.train.examples_per_epoch(), 55_000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let splits = mnist_splits(MnistKind::Digits, Scaling::Symmetric, 0, 5000)?;
    let valid = splits.valid.ok_or_else(|| anyhow::anyhow!("no validation split"))?;
    let unit =
        |d: &TensorDataset| TensorDataset::new(d.inputs().shallow_clone(), d.labels().shallow_clone(), Scaling::Unit);
    let sweep_train = Arc::new(unit(&splits.train)?);
    let sweep_test = DataLoader::new(unit(&splits.test)?, 1000)?;
    let train_images = Arc::new(splits.train);
    let test_images = Arc::new(splits.test);
    Ok(Data {
        train: DataLoader::from_arc(train_images.clone(), c.batch)?.shuffle(c.seed),
        valid: DataLoader::new(valid, 1000)?,
        test: DataLoader::from_arc(test_images.clone(), 1000)?,
        train_images,
        test_images,
        sweep_train,
        sweep_test,
    })
}

/// The failure-grid model: 784-`hidden`-10 with `activation`, weights N(0, 0.1), biases 0.
///
/// ```
/// use tchlab::experiments::failure_cases::{Config, model};
/// assert_eq!(model(&Config::lecture()).layer_sizes(), vec![784, 100, 10]);
/// ```
pub fn model(c: &Config) -> MlpConfig {
    MlpConfig::new(784, &c.hidden.0, 10)
        .activation(c.activation)
        .weight_init(Init::Normal { mean: 0.0, std: 0.1 })
        .bias_init(Init::Zeros)
}

/// How the failure-grid model trains: SGD with `c.lr` and `c.weight_decay` on the
/// binary cross-entropy of its sigmoid outputs, `c.epochs` epochs.
///
/// ```
/// use tchlab::experiments::failure_cases::{Config, train_config};
/// let t = train_config(&Config::lecture());
/// assert_eq!(t.loss, tchlab::train::Loss::BinaryCrossEntropy);
/// ```
pub fn train_config(c: &Config) -> TrainConfig {
    TrainConfig::sgd(c.lr, c.epochs).loss(Loss::BinaryCrossEntropy).seed(c.seed).optimizer(OptimizerKind::Sgd {
        lr: c.lr,
        momentum: 0.0,
        weight_decay: c.weight_decay,
    })
}

/// Trains the failure-grid model on `data.train`, validating after each epoch, and
/// measures its test accuracy.
///
/// ```no_run
/// use tchlab::experiments::failure_cases::{Config, data, train};
/// let c = Config { epochs: 1, ..Config::ci() };
/// let t = train(&c, &data(&c)?)?;
/// assert!(t.test_accuracy > 80.0);
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, data: &Data) -> Result<Trained> {
    fit_and_test(&model(c), c.seed, &data.train, Some(&data.valid), &data.test, train_config(c))
}

/// The error analysis of a trained model on the test set: the predictions, the grid of
/// the first 25 misclassified digits titled `t: <target> p: <prediction>` as on the
/// lecture's slide, the confusion matrix, the most frequent confusions and the
/// examples with the highest loss.
pub struct Errors {
    /// Predictions, losses and confidences of every test image.
    pub interpretation: Interpretation,
    /// The first 25 misclassified test digits.
    pub grid: Figure,
    /// Targets (rows) against predictions (columns).
    pub confusion: Figure,
    /// The 8 most frequent (target, prediction) pairs.
    pub most_confused: Table,
    /// The 8 test images with the highest loss.
    pub top_losses: Table,
}

/// Analyses the errors of `trained` on the test images (see [`Errors`]).
///
/// ```no_run
/// use tchlab::experiments::failure_cases::{Config, data, errors, train};
/// let c = Config { epochs: 1, ..Config::ci() };
/// let d = data(&c)?;
/// let e = errors(&d, &train(&c, &d)?)?;
/// assert!(!e.interpretation.misclassified().is_empty());
/// # anyhow::Ok(())
/// ```
pub fn errors(data: &Data, trained: &Trained) -> Result<Errors> {
    let interpretation = Interpretation::from_model(&trained.model, &data.test, Loss::BinaryCrossEntropy)?;
    let wrong: Vec<_> = interpretation.misclassified().into_iter().take(25).collect();
    let picks: Vec<i64> = wrong.iter().map(|m| m.index as i64).collect();
    let images = data.test_images.inputs().index_select(0, &tch::Tensor::from_slice(&picks));
    let captions: Vec<String> = wrong.iter().map(|m| format!("t: {} p: {}", m.target, m.predicted)).collect();
    let grid = Figure::image_grid(
        "Misclassified test digits (t: target, p: prediction)",
        &(images.to_kind(tch::Kind::Float) / 255.0),
        &captions,
        5,
        false,
    )?;
    let classes: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let confusion = Figure::confusion_matrix(&interpretation.confusion_matrix(), &classes);
    let confused: Vec<Vec<String>> = interpretation
        .most_confused(8)
        .iter()
        .map(|(t, p, n)| vec![t.to_string(), p.to_string(), n.to_string()])
        .collect();
    let top: Vec<Vec<String>> = interpretation
        .top_losses(8)
        .iter()
        .map(|m| {
            let (p, l) = (format!("{:.3}", m.probability), format!("{:.2}", m.loss));
            vec![m.index.to_string(), m.target.to_string(), m.predicted.to_string(), p, l]
        })
        .collect();
    Ok(Errors {
        interpretation,
        grid,
        confusion,
        most_confused: Table::from_rows(&["true", "predicted", "count"], confused),
        top_losses: Table::from_rows(&["index", "target", "predicted", "p(predicted)", "loss"], top),
    })
}

/// Training and validation loss and accuracy per epoch, side by side: the gap between
/// the two is the generalisation gap.
///
/// ```
/// let h = tchlab::train::History::default();
/// let _f = tchlab::experiments::failure_cases::curves(&h);
/// ```
pub fn curves(history: &crate::train::History) -> Figure {
    Figure::row(vec![
        Figure::curves("Train vs validation loss", &[("", history)], "loss"),
        Figure::curves("Train vs validation accuracy", &[("", history)], "accuracy"),
    ])
}

/// One run of a sweep: the swept value (hidden units or training images), the model's
/// parameters, the optimiser updates it made, and its final training and test accuracy (%).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPoint {
    /// Hidden units (capacity sweep) or training images (data-size sweep).
    pub value: usize,
    /// Parameters of the model.
    pub parameters: i64,
    /// Optimiser updates (minibatches) of the run.
    pub updates: usize,
    /// Accuracy on its training images after the last epoch (%).
    pub train_accuracy: f64,
    /// Accuracy on the 10,000 test images (%).
    pub test_accuracy: f64,
}

/// Trains `config` on the first `n` training images with pixels in [0, 1] (minibatch 64,
/// SGD 0.1, cross-entropy) for `epochs` epochs, quietly; the run as a [`SweepPoint`] with `value`.
fn sweep_run(c: &Config, data: &Data, config: &MlpConfig, n: usize, epochs: usize, value: usize) -> Result<SweepPoint> {
    ensure!(n >= 1, "a sweep run needs at least one training image (sweep_train / sweep_sizes)");
    let sub = Subset::range(data.sweep_train.clone(), 0..n.min(data.sweep_train.len()))?;
    let loader = DataLoader::new(sub, 64)?.shuffle(c.seed);
    let tc = TrainConfig::sgd(0.1, epochs).seed(c.seed).quiet();
    let t = fit_and_test(config, c.seed, &loader, None, &data.sweep_test, tc)?;
    Ok(SweepPoint {
        value,
        parameters: config.parameter_count(),
        updates: epochs * loader.len(),
        train_accuracy: 100.0 * t.history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN),
        test_accuracy: t.test_accuracy,
    })
}

/// Capacity: one hidden ReLU layer of each of `c.sweep_widths` units, trained on the
/// first `c.sweep_train` training images for `c.sweep_epochs` epochs.
///
/// ```no_run
/// use tchlab::experiments::{List, failure_cases::{Config, capacity_sweep, data}};
/// let c = Config { sweep_widths: List(vec![1, 64]), ..Config::ci() };
/// let points = capacity_sweep(&c, &data(&c)?)?;
/// assert!(points[1].test_accuracy > points[0].test_accuracy);
/// # anyhow::Ok(())
/// ```
pub fn capacity_sweep(c: &Config, data: &Data) -> Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    for &w in &c.sweep_widths.0 {
        ensure!(w >= 1, "sweep_widths: {w} hidden units; each width must be at least 1");
        let config = MlpConfig::new(784, &[w], 10).activation(Activation::Relu);
        points.push(sweep_run(c, data, &config, c.sweep_train, c.sweep_epochs, w as usize)?);
        println!("capacity: {w:>4} hidden units | {}", summary(points.last()));
    }
    Ok(points)
}

/// Data size: the failure-grid model's shape (trained with SGD 0.1 and cross-entropy)
/// on the first `n` training images for each `n` of `c.sweep_sizes`, each for the same
/// number of optimiser updates (`c.sweep_steps`, rounded up to whole epochs), so that a
/// small training set is not also trained less.
///
/// ```no_run
/// use tchlab::experiments::{List, failure_cases::{Config, data, size_sweep}};
/// let c = Config { sweep_sizes: List(vec![250, 4000]), ..Config::ci() };
/// let points = size_sweep(&c, &data(&c)?)?;
/// assert!(points[0].updates >= c.sweep_steps && points[1].updates >= c.sweep_steps);
/// # anyhow::Ok(())
/// ```
pub fn size_sweep(c: &Config, data: &Data) -> Result<Vec<SweepPoint>> {
    ensure!(c.sweep_steps >= 1, "sweep_steps = 0: each data-size run needs at least one update");
    let config = MlpConfig::new(784, &c.hidden.0, 10).activation(c.activation);
    let mut points = Vec::new();
    for &n in &c.sweep_sizes.0 {
        let batches = n.min(data.sweep_train.len()).div_ceil(64).max(1);
        points.push(sweep_run(c, data, &config, n, c.sweep_steps.div_ceil(batches), n)?);
        println!("data size: {n:>6} images | {}", summary(points.last()));
    }
    Ok(points)
}

fn summary(p: Option<&SweepPoint>) -> String {
    p.map_or(String::new(), |p| {
        format!("{} updates | train {:.2}% | test {:.2}%", p.updates, p.train_accuracy, p.test_accuracy)
    })
}

/// A sweep as a table (`name` is the swept quantity's column).
///
/// ```
/// use tchlab::experiments::failure_cases::{SweepPoint, sweep_table};
/// let p = SweepPoint { value: 4, parameters: 3190, updates: 320, train_accuracy: 80.0, test_accuracy: 75.0 };
/// assert_eq!(sweep_table("hidden units", &[p]).to_string().lines().count() > 1, true);
/// ```
pub fn sweep_table(name: &str, points: &[SweepPoint]) -> Table {
    let rows = points
        .iter()
        .map(|p| {
            let gap = p.train_accuracy - p.test_accuracy;
            vec![
                p.value.to_string(),
                p.parameters.to_string(),
                p.updates.to_string(),
                format!("{:.2}", p.train_accuracy),
                format!("{:.2}", p.test_accuracy),
                format!("{gap:.2}"),
            ]
        })
        .collect();
    Table::from_rows(&[name, "parameters", "updates", "train acc (%)", "test acc (%)", "gap (pp)"], rows)
}

/// A sweep's training and test accuracy against the swept value (a log axis of base 2).
///
/// ```
/// use tchlab::experiments::failure_cases::{SweepPoint, sweep_figure};
/// let p = SweepPoint { value: 4, parameters: 3190, updates: 320, train_accuracy: 80.0, test_accuracy: 75.0 };
/// let _f = sweep_figure("Capacity", "hidden units", &[p]);
/// ```
pub fn sweep_figure(title: &str, x_label: &str, points: &[SweepPoint]) -> Figure {
    let at = |f: fn(&SweepPoint) -> f64| points.iter().map(|p| (p.value as f64, f(p))).collect();
    Figure::lines(
        title,
        x_label,
        "accuracy (%)",
        vec![Series::line("train", at(|p| p.train_accuracy)), Series::line("test", at(|p| p.test_accuracy))],
    )
    .x_scale(Scale::Log(2.0))
}

/// A sweep point's accuracies, named after the field and the swept value:
/// `capacity_w64_train_accuracy`, `size_n500_test_accuracy`, … .
impl super::MetricValue for SweepPoint {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}{}_train_accuracy", self.value), self.train_accuracy));
        out.push((format!("{field}{}_test_accuracy", self.value), self.test_accuracy));
    }
}

crate::results! {
    /// The trained model's accuracies and errors, and both sweeps.
    pub struct Results {
        /// Training accuracy after the last epoch (%).
        train_accuracy: f64,
        /// Validation accuracy after the last epoch (%).
        valid_accuracy: f64,
        /// Test accuracy (%).
        test_accuracy: f64,
        /// Test images misclassified.
        misclassified: usize,
        /// The capacity sweep, per width (`capacity_w…`).
        capacity_w: Vec<SweepPoint>,
        /// The data-size sweep, per training-set size (`size_n…`).
        size_n: Vec<SweepPoint>,
        /// Train − test accuracy gap at the smallest size − at the largest (points).
        size_gap_closed: Option<f64>,
    }
}

/// The numbers of the run, its errors and both sweeps.
///
/// ```no_run
/// use tchlab::experiments::failure_cases::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let t = train(&c, &d)?;
/// let r = results(&t, &errors(&d, &t)?, &[], &[]);
/// assert!(r.misclassified > 0);
/// # anyhow::Ok(())
/// ```
pub fn results(trained: &Trained, errors: &Errors, capacity: &[SweepPoint], size: &[SweepPoint]) -> Results {
    let last = |split: &str| 100.0 * trained.history.last(split).map(|r| r.accuracy).unwrap_or(f64::NAN);
    let gap = |p: &SweepPoint| p.train_accuracy - p.test_accuracy;
    Results {
        train_accuracy: last("train"),
        valid_accuracy: last("valid"),
        test_accuracy: trained.test_accuracy,
        misclassified: errors.interpretation.misclassified().len(),
        capacity_w: capacity.to_vec(),
        size_n: size.to_vec(),
        size_gap_closed: size.first().zip(size.last()).map(|(a, b)| gap(a) - gap(b)),
    }
}

/// Every table and figure, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::failure_cases::*;
/// let c = Config::ci();
/// let d = data(&c)?;
/// let t = train(&c, &d)?;
/// let p = present(&c, &t, &errors(&d, &t)?, &[], &[]);
/// assert_eq!(p.figure_names()[0], "misclassified");
/// # anyhow::Ok(())
/// ```
pub fn present(
    c: &Config,
    trained: &Trained,
    errors: &Errors,
    capacity: &[SweepPoint],
    size: &[SweepPoint],
) -> Presentation {
    let capacity_title = format!("Capacity: one hidden ReLU layer, {} training images", c.sweep_train);
    let size_title = format!("Training-set size, {} updates each ({})", c.sweep_steps, model(c).describe());
    Presentation::default()
        .table("most_confused", errors.most_confused.clone())
        .table("top_losses", errors.top_losses.clone())
        .table("capacity", sweep_table("hidden units", capacity))
        .table("size", sweep_table("training images", size))
        .figure("misclassified", errors.grid.clone())
        .figure("confusion_matrix", errors.confusion.clone())
        .figure("train_vs_valid", curves(&trained.history))
        .figure("capacity_sweep", sweep_figure(&capacity_title, "hidden units", capacity))
        .figure("size_sweep", sweep_figure(&size_title, "training images", size))
        .history("mlp", trained.history.clone())
}

/// Every step in order: data, the failure-grid model, its errors, the capacity sweep,
/// the data-size sweep, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let trained = train(c, &data)?;
    println!("{}: test accuracy {:.2}%", model(c).describe(), trained.test_accuracy);
    let errors = errors(&data, &trained)?;
    let capacity = capacity_sweep(c, &data)?;
    let size = size_sweep(c, &data)?;
    let results = results(&trained, &errors, &capacity, &size);
    Ok(c.report(&results, present(c, &trained, &errors, &capacity, &size), clock))
}
