//! The lecture's experiments, one module each, built from the crate's pieces and
//! called by both the notebooks and `tchlab run`, so the two cannot drift apart.
//!
//! Each experiment has a `Config` with the lecture's settings (`Config::lecture()`),
//! a short CI setting (`Config::ci()`), `Config::from_params` for `--set key=value`,
//! and a `run` function that returns a [`Report`].

pub mod activations;
pub mod architecture;
pub mod bias_variance;
pub mod cats_dogs;
#[cfg(feature = "polars")]
pub mod custom_loader;
pub mod dead_relu;
pub mod depth_expressiveness;
pub mod double_descent;
pub mod failure_cases;
pub mod fashion_inits;
pub mod loss_landscape;
pub mod overfitting_time;
mod params;
mod report;
mod results;
pub mod sigmoid_vs_softmax;
pub mod smooth_adversarial;
pub mod sweep;
pub mod validation_optimism;
pub mod value_of_data;
pub mod wide_vs_deep;
#[cfg(feature = "polars")]
pub mod xor;

#[doc(inline)]
pub use crate::results;
pub(crate) use params::settings;
pub use params::{List, Params};
pub use report::{Report, save_seed_summary};
pub use results::{MetricValue, Metrics, Presentation};

use anyhow::{Result, bail};

/// An experiment's entry in the registry: its name, the notebook that walks its steps,
/// a description, its settings and its runner. [`all`] is the one list of them: `tchlab
/// list` prints it, and the tests pair each experiment with its notebook from it.
pub struct Experiment {
    /// Name used by `tchlab run NAME` (the module's `Config::NAME`).
    pub name: &'static str,
    /// Its module under `tchlab::experiments`.
    pub module: &'static str,
    /// The notebook (file stem under `notebooks/`) that runs the experiment step by step
    /// and prints every number `tchlab run` computes.
    pub notebook: &'static str,
    /// One line.
    pub description: &'static str,
    /// The default settings as `key=value` (lecture settings).
    pub defaults: fn() -> Vec<(String, String)>,
    /// Runs with the given settings.
    pub run: fn(&Params) -> Result<Report>,
}

macro_rules! experiment {
    ($module:ident, $notebook:literal, $desc:literal) => {
        Experiment {
            name: $module::Config::NAME,
            module: stringify!($module),
            notebook: $notebook,
            description: $desc,
            defaults: || $module::Config::lecture().to_params().entries(),
            run: |p| $module::run(&$module::Config::from_params(p)?),
        }
    };
}

/// Every experiment, in lecture order: the registry.
///
/// ```
/// let names: Vec<&str> = tchlab::experiments::all().iter().map(|e| e.name).collect();
/// assert!(names.contains(&"sigmoid-vs-softmax"));
/// ```
pub fn all() -> &'static [Experiment] {
    REGISTRY
}

/// The registry's entries (see [`all`]).
static REGISTRY: &[Experiment] = &[
    experiment!(
        architecture,
        "01-mlp-architecture",
        "MLP computation graph: autograd vs the slide's path sum, all-zero init, non-convex loss over seeds"
    ),
    experiment!(
        loss_landscape,
        "01-mlp-architecture",
        "2-D slices of the loss around softmax regression and an MLP along filter-normalised random directions"
    ),
    experiment!(
        activations,
        "02-activation-functions",
        "every activation with its derivative; sigmoid/tanh/ReLU/smooth variants trained on MNIST"
    ),
    experiment!(
        smooth_adversarial,
        "02-activation-functions",
        "FGSM/PGD attacks on MNIST MLPs with ReLU vs smooth activations, standard and adversarial training (Xie et al. 2020)"
    ),
    #[cfg(feature = "polars")]
    experiment!(xor, "03-xor", "XOR: linear vs ReLU hidden layer, loss per epoch and decision regions"),
    experiment!(
        sigmoid_vs_softmax,
        "04-sigmoid-mse-vs-softmax-ce",
        "MNIST 784-100-10: sigmoid + MSE vs softmax + cross-entropy (lecture: 91.32% vs 97.61% test)"
    ),
    experiment!(dead_relu, "05-dead-relus", "dying ReLUs: dead-unit fraction per layer with ReLU, leaky ReLU and ELU"),
    experiment!(
        wide_vs_deep,
        "06-wide-vs-deep",
        "equal parameter budgets, wide vs deep; gradient norms per layer at init: sigmoid vs ReLU, default vs Kaiming vs N(0, 1)"
    ),
    experiment!(
        depth_expressiveness,
        "06-wide-vs-deep",
        "Telgarsky's sawtooth: a deep ReLU net of width 2 draws 2^k linear pieces, one hidden layer of the same parameters cannot"
    ),
    experiment!(
        fashion_inits,
        "06-wide-vs-deep",
        "Fashion-MNIST 784-75-50-25-10: tanh with U(0, 1) weights never learns, tanh and ReLU with the default init do"
    ),
    experiment!(
        failure_cases,
        "07-failure-cases-and-overfitting",
        "an MNIST MLP's misclassified digits, confusion matrix, under/overfitting sweeps"
    ),
    experiment!(
        overfitting_time,
        "10-bias-variance-and-data",
        "a 784-512-512-10 MLP on 1,000 images trained long: training loss to ~0, validation loss U-shaped, best epoch"
    ),
    experiment!(
        bias_variance,
        "10-bias-variance-and-data",
        "bias² + variance + noise vs the test error across MLP widths (sin 2πx regression); the 0–1 decomposition on MNIST"
    ),
    experiment!(
        value_of_data,
        "10-bias-variance-and-data",
        "softmax regression vs an MLP from 300 to 60,000 training images at a fixed number of steps"
    ),
    experiment!(
        double_descent,
        "10-bias-variance-and-data",
        "test error vs width of MLPs fitted to noisy MNIST labels; random ReLU features, min-norm fit, peak at N = n"
    ),
    experiment!(
        validation_optimism,
        "10-bias-variance-and-data",
        "random search selected on a small validation set: the winner's validation accuracy vs its test accuracy"
    ),
    #[cfg(feature = "polars")]
    experiment!(
        custom_loader,
        "08-custom-data-loader",
        "the lecture's CSV + PNG custom dataset (256 images per split) and its MLP"
    ),
    experiment!(
        cats_dogs,
        "09-cats-and-dogs",
        "cats vs dogs photos: image folder, normalisation, augmentation, VGG-style CNN"
    ),
    experiment!(sweep, "09-cats-and-dogs", "parameters vs hyperparameters: learning rate × hidden units on MNIST"),
];

/// Finds an experiment by name.
///
/// ```
/// assert!(tchlab::experiments::find("xor").is_ok());
/// assert!(tchlab::experiments::find("nope").is_err());
/// ```
pub fn find(name: &str) -> Result<&'static Experiment> {
    let names: Vec<&str> = all().iter().map(|e| e.name).collect();
    match all().iter().find(|e| e.name == name) {
        Some(e) => Ok(e),
        None => bail!("unknown experiment `{name}`; `tchlab list` shows them: {}", names.join(", ")),
    }
}

/// MNIST as the datasets an experiment trains on: the first `train` training images
/// (0 = all 60,000 minus the validation images), the last `valid` training images for
/// validation, and the 10,000 test images.
///
/// ```no_run
/// use tchlab::data::{MnistKind, Scaling};
/// let splits = tchlab::experiments::mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 5_000)?;
/// assert!(splits.valid.is_some());
/// # anyhow::Ok(())
/// ```
pub struct MnistSplits {
    /// The training images.
    pub train: crate::data::TensorDataset,
    /// The validation images (the end of the training file), if any were asked for.
    pub valid: Option<crate::data::TensorDataset>,
    /// The test images.
    pub test: crate::data::TensorDataset,
}

impl MnistSplits {
    /// The training images shuffled with `seed` in minibatches of `batch`, and the test
    /// images 1,000 per batch: the loaders most experiments train and test with.
    ///
    /// ```no_run
    /// use tchlab::data::{MnistKind, Scaling};
    /// let splits = tchlab::experiments::mnist_splits(MnistKind::Digits, Scaling::Unit, 1_000, 0)?;
    /// let (train, test) = splits.train_test_loaders(100, 1)?;
    /// assert_eq!((train.len(), test.len()), (10, 10));
    /// # anyhow::Ok(())
    /// ```
    pub fn train_test_loaders(
        self,
        batch: usize,
        seed: u64,
    ) -> Result<(crate::data::DataLoader, crate::data::DataLoader)> {
        let train = crate::data::DataLoader::new(self.train, batch)?.shuffle(seed);
        Ok((train, crate::data::DataLoader::new(self.test, 1000)?))
    }
}

/// Loads MNIST (or Fashion-MNIST) and splits it as [`MnistSplits`] describes.
///
/// ```no_run
/// use tchlab::data::{MnistKind, Scaling};
/// let splits = tchlab::experiments::mnist_splits(MnistKind::Digits, Scaling::Unit, 1_000, 0)?;
/// assert!(splits.valid.is_none());
/// # anyhow::Ok(())
/// ```
pub fn mnist_splits(
    kind: crate::data::MnistKind,
    scaling: crate::data::Scaling,
    train: usize,
    valid: usize,
) -> Result<MnistSplits> {
    let m = crate::data::Mnist::load(kind)?;
    let n = m.train_labels.size()[0];
    let valid_start = n - valid as i64;
    let train_end = if train == 0 { valid_start } else { (train as i64).min(valid_start) };
    Ok(MnistSplits {
        train: m.train_range(0..train_end, scaling)?,
        valid: if valid > 0 { Some(m.train_range(valid_start..n, scaling)?) } else { None },
        test: m.test(scaling),
    })
}

/// One trained model of an experiment, kept whole so that a notebook can look at each
/// piece (and rerun one model alone after changing a setting).
pub struct Trained {
    /// The trained network.
    pub model: crate::model::Mlp,
    /// Its loss and accuracy per epoch (and per minibatch).
    pub history: crate::train::History,
    /// Its accuracy on the test loader, in percent.
    pub test_accuracy: f64,
}

/// Builds an MLP from `config` with `seed`, trains it on `train` (validating on `valid`
/// after each epoch when given), and measures its accuracy on `test`.
///
/// ```no_run
/// use tchlab::data::{DataLoader, MnistKind, Scaling};
/// use tchlab::model::MlpConfig;
/// use tchlab::train::TrainConfig;
/// let splits = tchlab::experiments::mnist_splits(MnistKind::Digits, Scaling::Unit, 1_000, 0)?;
/// let train = DataLoader::new(splits.train, 100)?.shuffle(1);
/// let test = DataLoader::new(splits.test, 1_000)?;
/// let model = MlpConfig::new(784, &[100], 10);
/// let t = tchlab::experiments::fit_and_test(&model, 1, &train, None, &test, TrainConfig::sgd(0.1, 2))?;
/// assert_eq!(t.history.epochs_done(), 2);
/// # anyhow::Ok(())
/// ```
pub fn fit_and_test(
    config: &crate::model::MlpConfig,
    seed: u64,
    train: &crate::data::DataLoader,
    valid: Option<&crate::data::DataLoader>,
    test: &crate::data::DataLoader,
    tc: crate::train::TrainConfig,
) -> Result<Trained> {
    let mut model = crate::model::Mlp::on_device(config, seed, train.target_device())?;
    let loss = tc.loss;
    let history = crate::train::Trainer::new(tc).fit(&mut model, train, valid)?;
    let test_accuracy = 100.0 * crate::train::evaluate(&model, test, loss)?.accuracy;
    Ok(Trained { model, history, test_accuracy })
}
