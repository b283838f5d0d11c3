//! Sigmoid + MSE vs softmax + cross-entropy on MNIST, and why MSE's gradient is flat
//! when a sigmoid output is very wrong; and the lecture's related run of the same
//! network with Adam and a validation set.
//!
//! The steps, in the order [`run`] calls them (a notebook calls them one per cell):
//! [`data`], [`model`], [`train`] with [`Loss::SigmoidMse`] and then
//! [`Loss::CrossEntropy`], [`adam_data`], [`train_adam`], [`results`] and [`present`].

use std::time::Instant;

use anyhow::Result;
use tch::Tensor;

use super::{Metrics, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, MlpConfig};
use crate::plot::{Figure, Scale, Series};
use crate::train::{Loss, TrainConfig};

super::settings! {
    /// Settings: the lecture's 784-100-10 sigmoid MLP, N(0, 0.1) weights, zero biases,
    /// SGD 0.1, batch 100, 100 epochs, seed 1, pixels in [0, 1]; and its related run:
    /// the same layer sizes with PyTorch's default init, Adam 0.001, batch 128, 10
    /// epochs, the first 54,000 training images for training and the last 6,000 for
    /// validation.
    ///
    /// ```
    /// let c = tchlab::experiments::sigmoid_vs_softmax::Config::lecture();
    /// assert_eq!((c.hidden, c.batch, c.epochs), (100, 100, 100));
    /// ```
    "sigmoid-vs-softmax",
    pub struct Config {
        /// Hidden units.
        hidden: i64 = 100,
        /// Standard deviation of the N(0, std) weight init.
        init_std: f64 = 0.1,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 100,
        /// Epochs.
        epochs: usize = 100,
        /// Seed (init and shuffling).
        seed: u64 = 1,
        /// Training images used (0: all 60,000).
        train_size: usize = 0,
        /// Device: cpu, cuda or auto.
        device: String = "cpu".into(),
        /// Adam run: learning rate.
        adam_lr: f64 = 0.001,
        /// Adam run: minibatch size.
        adam_batch: usize = 128,
        /// Adam run: epochs.
        adam_epochs: usize = 10,
        /// Adam run: the last training images held out for validation.
        adam_valid: usize = 6_000,
    }
}

impl Config {
    /// The full lecture run fits in CI (about 1 s per epoch and model on 2 cores; the
    /// Adam run's 10 epochs a few seconds each).
    pub fn ci() -> Self {
        Self::lecture()
    }
}

/// Gradient of each loss with respect to the true class's logit when the model
/// gives that class probability `p` (the other nine logits 0).
///
/// ```
/// let (mse, ce) = tchlab::experiments::sigmoid_vs_softmax::gradient_at(1e-5);
/// assert!(mse.abs() < 1e-5 && ce.abs() > 0.9);
/// ```
pub fn gradient_at(p: f64) -> (f64, f64) {
    let target = Tensor::from_slice(&[0i64]);
    let mut out = [0.0; 2];
    for (k, loss) in [Loss::SigmoidMse, Loss::CrossEntropy].iter().enumerate() {
        // The true-class logit that gives probability p under the loss's output unit.
        let z0 = match loss {
            Loss::SigmoidMse => (p / (1.0 - p)).ln(),
            _ => (9.0 * p / (1.0 - p)).ln(),
        };
        let mut values = vec![0f32; 10];
        values[0] = z0 as f32;
        let logits = Tensor::from_slice(&values).reshape([1, 10]).set_requires_grad(true);
        let l = loss.compute(&logits, &target).expect("valid shapes");
        let g = Tensor::run_backward(&[l], &[&logits], false, false);
        out[k] = g[0].double_value(&[0, 0]);
    }
    (out[0], out[1])
}

/// The lecture's numbers (targets.md): (label, lecture value, metric it compares with).
const LECTURE: [(&str, &str, &str); 16] = [
    ("sigmoid + MSE: first minibatch cost", "0.2527", "mse_first_minibatch_cost"),
    ("sigmoid + MSE: train cost, epoch 1", "0.0881", "mse_train_cost_epoch1"),
    ("sigmoid + MSE: train cost, epoch 10", "0.0502", "mse_train_cost_epoch10"),
    ("sigmoid + MSE: train cost, epoch 50", "0.0220", "mse_train_cost_epoch50"),
    ("sigmoid + MSE: train cost, epoch 100", "0.0171", "mse_train_cost_epoch100"),
    ("sigmoid + MSE: train accuracy (%)", "90.79", "mse_train_accuracy"),
    ("sigmoid + MSE: test accuracy (%)", "91.32", "mse_test_accuracy"),
    ("softmax + CE: first minibatch cost", "2.5084", "ce_first_minibatch_cost"),
    ("softmax + CE: train cost, epoch 1", "0.4979", "ce_train_cost_epoch1"),
    ("softmax + CE: train cost, epoch 10", "0.2257", "ce_train_cost_epoch10"),
    ("softmax + CE: train cost, epoch 50", "0.0854", "ce_train_cost_epoch50"),
    ("softmax + CE: train cost, epoch 100", "0.0436", "ce_train_cost_epoch100"),
    ("softmax + CE: train accuracy (%)", "99.00", "ce_train_accuracy"),
    ("softmax + CE: test accuracy (%)", "97.61", "ce_test_accuracy"),
    ("Adam: validation accuracy, epoch 1 (%)", "92.77", "adam_valid_accuracy_epoch1"),
    ("Adam: validation accuracy, last epoch (%)", "96.97", "adam_valid_accuracy_last"),
];

/// The lecture's Adam run's test accuracy (its row of [`lecture_table`] is added last).
const LECTURE_ADAM_TEST: &str = "96.35";

/// The loaders of the SGD comparison: the training images shuffled with the seed in
/// minibatches of `batch`, and the 10,000 test images.
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// Test images, 1,000 per batch.
    pub test: DataLoader,
}

/// Step 1: MNIST with pixels in [0, 1] (the first `train_size` training images, 0 = all).
///
/// ```no_run
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, data};
/// let d = data(&Config::lecture())?;
/// assert_eq!(d.train.len(), 600); // minibatches per epoch
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let device = crate::env::device(&c.device)?;
    let (train, test) =
        mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?.train_test_loaders(c.batch, c.seed)?;
    Ok(Data { train: train.device(device), test: test.device(device) })
}

/// Step 2: the lecture's network, 784 → `hidden` (sigmoid) → 10, weights N(0, `init_std`),
/// biases 0.
///
/// ```
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, model};
/// assert_eq!(model(&Config::lecture()).layer_sizes(), vec![784, 100, 10]);
/// ```
pub fn model(c: &Config) -> MlpConfig {
    MlpConfig::new(784, &[c.hidden], 10)
        .activation(Activation::Sigmoid)
        .weight_init(Init::Normal { mean: 0.0, std: c.init_std })
        .bias_init(Init::Zeros)
}

/// The name of a loss as the lecture writes it.
fn loss_name(loss: Loss) -> &'static str {
    if loss == Loss::SigmoidMse { "sigmoid + MSE" } else { "softmax + cross-entropy" }
}

/// Steps 3 and 4: trains [`model`] with `loss` (the lecture's [`Loss::SigmoidMse`] or
/// [`Loss::CrossEntropy`]) by SGD and measures its test accuracy; prints one line per epoch.
///
/// ```no_run
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, data, train};
/// let c = Config { epochs: 1, ..Config::lecture() };
/// let mse = train(&c, &data(&c)?, tchlab::train::Loss::SigmoidMse)?;
/// assert!(mse.test_accuracy > 10.0);
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, data: &Data, loss: Loss) -> Result<Trained> {
    println!("== {} ==", loss_name(loss));
    let tc = TrainConfig::sgd(c.lr, c.epochs).loss(loss).seed(c.seed);
    fit_and_test(&model(c), c.seed, &data.train, None, &data.test, tc)
}

/// The loaders of the Adam run: the first 54,000 training images (all but `adam_valid`)
/// shuffled in minibatches of `adam_batch`, the last `adam_valid` for validation, and
/// the test images.
pub struct AdamData {
    /// Training minibatches.
    pub train: DataLoader,
    /// Validation images (the end of the training file).
    pub valid: DataLoader,
    /// Test images.
    pub test: DataLoader,
}

/// Step 5a: MNIST split for the Adam run, pixels in [0, 1].
///
/// ```no_run
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, adam_data};
/// let d = adam_data(&Config::lecture())?;
/// assert_eq!((d.train.examples_per_epoch(), d.valid.examples_per_epoch()), (54_000, 6_000));
/// # anyhow::Ok(())
/// ```
pub fn adam_data(c: &Config) -> Result<AdamData> {
    anyhow::ensure!(c.adam_valid > 0, "adam_valid = 0: the Adam run needs validation images (the lecture: 6000)");
    let device = crate::env::device(&c.device)?;
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, c.adam_valid)?;
    let valid = splits.valid.ok_or_else(|| anyhow::anyhow!("no validation images"))?;
    Ok(AdamData {
        train: DataLoader::new(splits.train, c.adam_batch)?.shuffle(c.seed).device(device),
        valid: DataLoader::new(valid, 1000)?.device(device),
        test: DataLoader::new(splits.test, 1000)?.device(device),
    })
}

/// The Adam run's network: 784 → `hidden` (sigmoid) → 10 with PyTorch's default
/// `Linear` init ([`Init::Default`]), as the lecture's Adam notebook leaves it.
///
/// ```
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, adam_model};
/// assert_eq!(adam_model(&Config::lecture()).weight_init, tchlab::model::Init::Default);
/// ```
pub fn adam_model(c: &Config) -> MlpConfig {
    MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid)
}

/// Step 5b: trains [`adam_model`] with softmax + cross-entropy and Adam (`adam_lr`,
/// `adam_epochs`), validating after every epoch; prints one line per epoch.
///
/// ```no_run
/// use tchlab::experiments::sigmoid_vs_softmax::{Config, adam_data, train_adam};
/// let c = Config { adam_epochs: 1, ..Config::lecture() };
/// let adam = train_adam(&c, &adam_data(&c)?)?;
/// assert!(adam.history.at("valid", 1).is_some());
/// # anyhow::Ok(())
/// ```
pub fn train_adam(c: &Config, data: &AdamData) -> Result<Trained> {
    println!("== sigmoid hidden layer, softmax + cross-entropy, Adam ==");
    let tc = TrainConfig::adam(c.adam_lr, c.adam_epochs).seed(c.seed);
    fit_and_test(&adam_model(c), c.seed, &data.train, Some(&data.valid), &data.test, tc)
}

/// One loss's run in the lecture's numbers, named after its field (`mse_…`, `ce_…`):
/// `first_minibatch_cost`, `train_cost_epoch1` (10, 50, 100), `train_accuracy`,
/// `test_accuracy`.
#[derive(Clone, Debug, PartialEq)]
pub struct LossRun {
    /// Cost of the first minibatch (before any update).
    pub first_minibatch_cost: f64,
    /// Training cost after the epochs the lecture prints (1, 10, 50, 100), those run.
    pub train_cost: Vec<(usize, f64)>,
    /// Training accuracy after the last epoch (%).
    pub train_accuracy: f64,
    /// Test accuracy (%).
    pub test_accuracy: f64,
}

impl LossRun {
    /// The numbers of `run`.
    fn of(run: &Trained) -> Self {
        let h = &run.history;
        LossRun {
            first_minibatch_cost: h.minibatch_loss.first().copied().unwrap_or(f64::NAN),
            train_cost: [1, 10, 50, 100].iter().filter_map(|&e| h.at("train", e).map(|r| (e, r.loss))).collect(),
            train_accuracy: 100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN),
            test_accuracy: run.test_accuracy,
        }
    }

    /// The training cost after `epoch`, if the lecture prints it and the run got there.
    ///
    /// ```
    /// use tchlab::experiments::sigmoid_vs_softmax::LossRun;
    /// let r = LossRun { first_minibatch_cost: 2.5, train_cost: vec![(1, 0.5)], train_accuracy: 90.0, test_accuracy: 90.0 };
    /// assert_eq!((r.train_cost_at(1), r.train_cost_at(10)), (Some(0.5), None));
    /// ```
    pub fn train_cost_at(&self, epoch: usize) -> Option<f64> {
        self.train_cost.iter().find(|(e, _)| *e == epoch).map(|(_, v)| *v)
    }
}

impl super::MetricValue for LossRun {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_first_minibatch_cost"), self.first_minibatch_cost));
        for (e, v) in &self.train_cost {
            out.push((format!("{field}_train_cost_epoch{e}"), *v));
        }
        out.push((format!("{field}_train_accuracy"), self.train_accuracy));
        out.push((format!("{field}_test_accuracy"), self.test_accuracy));
    }
}

/// Each loss's gradient with respect to the true class's logit when that class gets
/// probability 1e-5, named `grad_true_logit_mse_p1e-5` and `grad_true_logit_ce_p1e-5`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlatGradient {
    /// Sigmoid + MSE: about 0 (flat when very wrong).
    pub mse: f64,
    /// Softmax + cross-entropy: about −1.
    pub ce: f64,
}

impl super::MetricValue for FlatGradient {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push(("grad_true_logit_mse_p1e-5".into(), self.mse));
        out.push(("grad_true_logit_ce_p1e-5".into(), self.ce));
    }
}

crate::results! {
    /// The lecture's numbers, ours.
    pub struct Results {
        /// Sigmoid + MSE.
        mse: LossRun,
        /// Softmax + cross-entropy.
        ce: LossRun,
        /// The Adam run: validation accuracy after epoch 1 (%).
        adam_valid_accuracy_epoch1: f64,
        /// … after the last epoch (%).
        adam_valid_accuracy_last: f64,
        /// … its test accuracy (%).
        adam_test_accuracy: f64,
        /// Both losses' gradients at p = 1e-5.
        flat_gradient: FlatGradient,
    }
}

/// Step 6: the lecture's numbers from the three trained models.
///
/// ```no_run
/// use tchlab::experiments::sigmoid_vs_softmax::*;
/// let c = Config { epochs: 1, adam_epochs: 1, ..Config::lecture() };
/// let d = data(&c)?;
/// let (mse, ce) = (train(&c, &d, tchlab::train::Loss::SigmoidMse)?, train(&c, &d, tchlab::train::Loss::CrossEntropy)?);
/// let r = results(&mse, &ce, &train_adam(&c, &adam_data(&c)?)?);
/// assert!(r.ce.test_accuracy > r.mse.test_accuracy);
/// # anyhow::Ok(())
/// ```
pub fn results(mse: &Trained, ce: &Trained, adam: &Trained) -> Results {
    let valid_acc = |e: Option<&crate::train::EpochRecord>| 100.0 * e.map(|r| r.accuracy).unwrap_or(f64::NAN);
    let (mse_g, ce_g) = gradient_at(1e-5);
    Results {
        mse: LossRun::of(mse),
        ce: LossRun::of(ce),
        adam_valid_accuracy_epoch1: valid_acc(adam.history.at("valid", 1)),
        adam_valid_accuracy_last: valid_acc(adam.history.last("valid")),
        adam_test_accuracy: adam.test_accuracy,
        flat_gradient: FlatGradient { mse: mse_g, ce: ce_g },
    }
}

/// The lecture's numbers beside ours, to the lecture's decimals.
///
/// ```no_run
/// # use tchlab::experiments::sigmoid_vs_softmax::*;
/// # let c = Config { epochs: 1, adam_epochs: 1, ..Config::lecture() };
/// # let d = data(&c)?;
/// # let (mse, ce) = (train(&c, &d, tchlab::train::Loss::SigmoidMse)?, train(&c, &d, tchlab::train::Loss::CrossEntropy)?);
/// let table = lecture_table(&results(&mse, &ce, &train_adam(&c, &adam_data(&c)?)?));
/// assert_eq!(table.columns[1], "lecture");
/// # anyhow::Ok(())
/// ```
pub fn lecture_table(results: &Results) -> Table {
    let mut rows: Vec<Vec<String>> = LECTURE
        .iter()
        .filter_map(|(label, lecture, key)| {
            let digits = if lecture.contains('.') { lecture.len() - lecture.find('.')? - 1 } else { 0 };
            results.metric(key).map(|v| vec![label.to_string(), lecture.to_string(), format!("{v:.digits$}")])
        })
        .collect();
    rows.push(vec![
        "Adam: test accuracy (%)".into(),
        LECTURE_ADAM_TEST.into(),
        format!("{:.2}", results.adam_test_accuracy),
    ]);
    Table::from_rows(&["", "lecture", "tchlab"], rows)
}

/// Training loss per epoch of both losses.
///
/// ```no_run
/// # use tchlab::experiments::sigmoid_vs_softmax::*;
/// # let c = Config { epochs: 1, ..Config::lecture() }; let d = data(&c)?;
/// let figure = loss_figure(&train(&c, &d, tchlab::train::Loss::SigmoidMse)?, &train(&c, &d, tchlab::train::Loss::CrossEntropy)?);
/// # anyhow::Ok(())
/// ```
pub fn loss_figure(mse: &Trained, ce: &Trained) -> Figure {
    Figure::curves("Training loss per epoch", &[("sigmoid+MSE", &mse.history), ("softmax+CE", &ce.history)], "loss")
}

/// Training accuracy per epoch of both losses.
///
/// ```no_run
/// # use tchlab::experiments::sigmoid_vs_softmax::*;
/// # let c = Config { epochs: 1, ..Config::lecture() }; let d = data(&c)?;
/// let figure = accuracy_figure(&train(&c, &d, tchlab::train::Loss::SigmoidMse)?, &train(&c, &d, tchlab::train::Loss::CrossEntropy)?);
/// # anyhow::Ok(())
/// ```
pub fn accuracy_figure(mse: &Trained, ce: &Trained) -> Figure {
    let runs = [("sigmoid+MSE", &mse.history), ("softmax+CE", &ce.history)];
    Figure::curves("Training accuracy per epoch", &runs, "accuracy")
}

/// The Adam run's accuracy per epoch, training and validation.
///
/// ```no_run
/// # use tchlab::experiments::sigmoid_vs_softmax::*;
/// # let c = Config { adam_epochs: 1, ..Config::lecture() };
/// let figure = adam_figure(&train_adam(&c, &adam_data(&c)?)?);
/// # anyhow::Ok(())
/// ```
pub fn adam_figure(adam: &Trained) -> Figure {
    Figure::curves("Adam, 784-100 (sigmoid)-10: accuracy per epoch", &[("Adam", &adam.history)], "accuracy")
}

/// Step 7: every figure, the table and the histories, as `tchlab run` saves them.
///
/// ```no_run
/// # use tchlab::experiments::sigmoid_vs_softmax::*;
/// # let c = Config { epochs: 1, adam_epochs: 1, ..Config::lecture() };
/// # let d = data(&c)?;
/// # let (mse, ce) = (train(&c, &d, tchlab::train::Loss::SigmoidMse)?, train(&c, &d, tchlab::train::Loss::CrossEntropy)?);
/// let adam = train_adam(&c, &adam_data(&c)?)?;
/// let p = present(&mse, &ce, &adam, &results(&mse, &ce, &adam));
/// assert_eq!(p.figure_names()[0], "loss_curves");
/// # anyhow::Ok(())
/// ```
pub fn present(mse: &Trained, ce: &Trained, adam: &Trained, results: &Results) -> Presentation {
    Presentation::default()
        .history("mse", mse.history.clone())
        .history("ce", ce.history.clone())
        .history("adam", adam.history.clone())
        .table("lecture_vs_ours", lecture_table(results))
        .figure("loss_curves", loss_figure(mse, ce))
        .figure("accuracy_curves", accuracy_figure(mse, ce))
        .figure("minibatch_loss_ce", Figure::minibatch_loss(&ce.history, 100))
        .figure("adam_validation", adam_figure(adam))
        .figure("flat_gradient", flat_gradient_figure())
}

/// |∂loss/∂z_true| of both losses for p from 1e-5 to 10^-0.5 (at p = 1 both gradients
/// are 0, which a log axis cannot show).
///
/// ```
/// let figure = tchlab::experiments::sigmoid_vs_softmax::flat_gradient_figure();
/// ```
pub fn flat_gradient_figure() -> Figure {
    let grads: Vec<(f64, f64, f64)> = (0..10)
        .map(|k| 10f64.powf(-5.0 + 0.5 * k as f64))
        .map(|p| {
            let (mse, ce) = gradient_at(p);
            (p, mse.abs(), ce.abs())
        })
        .collect();
    Figure::lines(
        "|∂loss/∂z_true| when the true class gets probability p",
        "probability of the true class, p",
        "|gradient|",
        vec![
            Series::line("sigmoid + MSE", grads.iter().map(|g| (g.0, g.1)).collect()),
            Series::line("softmax + CE", grads.iter().map(|g| (g.0, g.2)).collect()),
        ],
    )
    .x_scale(Scale::Log(10.0))
    .y_scale(Scale::Log(10.0))
}

/// Runs every step in order: both SGD models, the Adam run, and the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let sgd_data = data(c)?;
    let mse = train(c, &sgd_data, Loss::SigmoidMse)?;
    let ce = train(c, &sgd_data, Loss::CrossEntropy)?;
    let adam = train_adam(c, &adam_data(c)?)?;
    let results = results(&mse, &ce, &adam);
    Ok(c.report(&results, present(&mse, &ce, &adam, &results), clock))
}
