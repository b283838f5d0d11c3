//! Dying ReLUs: a negative bias shift (or a large learning rate) pushes ReLU units
//! into the region where their gradient is zero, and they stay there; leaky ReLU and
//! ELU keep a gradient; ELU recovers quickly, leaky ReLU (slope 0.1) hardly moves.
//!
//! The steps, in the order [`run`] calls them (a notebook calls them one per cell):
//! [`data`]; [`dying`] at each of `dying_lrs`; [`train`] of [`model`] for ReLU with the
//! default init, then with the bias shift, then each of `activations` with the shift;
//! [`results`] and [`present`].

use std::time::Instant;

use anyhow::Result;

use tch::Tensor;

use super::{List, Presentation, Report, mnist_splits};
use crate::data::{DataLoader, Dataset, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{DeadUnits, History, Loss, TrainConfig, Trainer, dead_fractions, evaluate};

super::settings! {
    /// Settings: 784-256-256-256-10 on MNIST; the default-init ReLU network at growing
    /// learning rates; one healthy ReLU run with the default init and one with every
    /// bias initialised to `bias_shift`; then leaky ReLU and ELU with the same shift.
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
        /// Activations compared with ReLU under the bias shift.
        activations: List<Activation> = List(vec![Activation::LeakyRelu(0.1), Activation::Elu(1.0)]),
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

/// The data of every run: training minibatches (shuffled with the seed), the test
/// images, and the probe (the first 1,000 training images) on which a unit counts as
/// dead when its net input is negative for all of them.
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// Test images.
    pub test: DataLoader,
    /// The probe images, `[N, 1, 28, 28]`.
    pub probe: Tensor,
}

/// Step 1: MNIST with pixels in [0, 1] (the first `train_size` training images, 0 = all)
/// and the probe batch.
///
/// ```no_run
/// use tchlab::experiments::dead_relu::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.probe.size()[0], 1000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let probe_idx: Vec<usize> = (0..1000.min(splits.train.len())).collect();
    let (probe, _) = splits.train.batch(&probe_idx, 0)?;
    let (train, test) = splits.train_test_loaders(c.batch, c.seed)?;
    Ok(Data { train, test, probe })
}

/// The network: 784 → `hidden` → 10 with `activation`, PyTorch's default init, and every
/// bias set to `bias` when given.
///
/// ```
/// use tchlab::experiments::dead_relu::{Config, model};
/// use tchlab::model::{Activation, Init};
/// let m = model(&Config::lecture(), Activation::Relu, Some(-1.0));
/// assert_eq!((m.layer_sizes().len(), m.bias_init), (5, Init::Constant(-1.0)));
/// ```
pub fn model(c: &Config, activation: Activation, bias: Option<f64>) -> MlpConfig {
    let m = MlpConfig::new(784, &c.hidden.0, 10).activation(activation);
    match bias {
        Some(b) => m.bias_init(Init::Constant(b)),
        None => m,
    }
}

/// The mean of the hidden layers' dead fractions, in percent.
fn mean_percent(fractions: &[f64]) -> f64 {
    100.0 * fractions.iter().sum::<f64>() / fractions.len().max(1) as f64
}

/// Trains `model` by SGD at `lr` for `epochs` epochs, recording the dead fractions on
/// the probe after every epoch; returns the model, its dead fractions at init and the
/// history.
fn fit(c: &Config, data: &Data, model: &MlpConfig, lr: f64, verbose: bool) -> Result<(Mlp, Vec<f64>, History)> {
    let mut mlp = Mlp::new(model, c.seed)?;
    let at_init = dead_fractions(&mlp, &data.probe);
    let tc = TrainConfig::sgd(lr, c.epochs).seed(c.seed);
    let tc = if verbose { tc } else { tc.quiet() };
    let history = Trainer::new(tc).hook(DeadUnits::new(data.probe.shallow_clone())).fit(&mut mlp, &data.train, None)?;
    Ok((mlp, at_init, history))
}

/// One run at a learning rate of [`dying`]: the dead fraction (percent, mean over the
/// hidden layers) at init and after each epoch; `None` after each epoch when it diverged.
pub struct Dying {
    /// The learning rate.
    pub lr: f64,
    /// Dead units at initialisation (%).
    pub dead_at_init: f64,
    /// Dead units after each epoch (%), or `None` when the loss diverged.
    pub dead_per_epoch: Option<Vec<f64>>,
}

/// Step 2: units that die during training: the default-init ReLU network trained at
/// `lr`, its dead fraction at init and after every epoch. A run whose loss diverges is
/// reported as such (`dead_per_epoch: None`), not as an error.
///
/// ```no_run
/// use tchlab::experiments::dead_relu::{Config, data, dying};
/// let c = Config { epochs: 1, ..Config::ci() };
/// let d = dying(&c, &data(&c)?, 0.1)?;
/// assert!(d.dead_per_epoch.is_some());
/// # anyhow::Ok(())
/// ```
pub fn dying(c: &Config, data: &Data, lr: f64) -> Result<Dying> {
    let healthy = model(c, Activation::Relu, None);
    let (at_init, dead_per_epoch) = match fit(c, data, &healthy, lr, false) {
        Ok((_, at_init, history)) => {
            let per_epoch: Vec<f64> = history
                .series
                .get("dead_fraction")
                .map(|v| v.iter().map(|l| mean_percent(l)).collect())
                .unwrap_or_default();
            (mean_percent(&at_init), Some(per_epoch))
        }
        Err(e) => {
            println!("lr {lr}: {e:#}");
            (mean_percent(&dead_fractions(&Mlp::new(&healthy, c.seed)?, &data.probe)), None)
        }
    };
    if let Some(after) = dead_per_epoch.as_ref().and_then(|v| v.last()) {
        println!("lr {lr}: dead units {at_init:.1}% at init, {after:.1}% after {} epochs", c.epochs);
    }
    Ok(Dying { lr, dead_at_init: at_init, dead_per_epoch })
}

/// One trained run of [`train`].
pub struct Run {
    /// What ran, e.g. `relu (bias -1)`.
    pub name: String,
    /// Its prefix in the RESULT names, e.g. `relu_shifted`.
    pub key: String,
    /// Dead fraction per hidden layer at initialisation.
    pub dead_at_init: Vec<f64>,
    /// Loss, accuracy and `dead_fraction` per epoch.
    pub history: History,
    /// Test accuracy (%).
    pub test_accuracy: f64,
    /// How far training moved the first hidden layer's weights: ‖W − W₀‖ / ‖W₀‖ (0 when
    /// no gradient reached them).
    pub weight_change: f64,
}

/// Steps 3 and 4: trains `model` (from [`model`]) at `lr`, printing one line per epoch,
/// and measures its test accuracy and how far its first layer's weights moved.
///
/// ```no_run
/// use tchlab::experiments::dead_relu::{Config, data, model, train};
/// use tchlab::model::Activation;
/// let c = Config { epochs: 1, ..Config::ci() };
/// let r = train(&c, &data(&c)?, &model(&c, Activation::Relu, Some(-1.0)))?;
/// assert_eq!(r.key, "relu_shifted");
/// # anyhow::Ok(())
/// ```
pub fn train(c: &Config, data: &Data, model: &MlpConfig) -> Result<Run> {
    let shifted = matches!(model.bias_init, Init::Constant(_));
    let name = match model.bias_init {
        Init::Constant(b) => format!("{} (bias {b})", model.activation.name()),
        _ => format!("{} (default init)", model.activation.name()),
    };
    println!("== {name} ==");
    let initial = Mlp::new(model, c.seed)?.layers().first().map(|l| l.ws.copy());
    let (mlp, dead_at_init, history) = fit(c, data, model, c.lr, true)?;
    let initial = initial.ok_or_else(|| anyhow::anyhow!("the model has no layer"))?;
    let moved = (&mlp.layers()[0].ws - &initial).norm().double_value(&[]);
    Ok(Run {
        key: format!("{}_{}", model.activation.name(), if shifted { "shifted" } else { "default" }),
        name,
        dead_at_init,
        test_accuracy: 100.0 * evaluate(&mlp, &data.test, Loss::CrossEntropy)?.accuracy,
        weight_change: moved / initial.norm().double_value(&[]),
        history,
    })
}

/// One learning rate's dying units, named `lr0.1_dead_at_init`, `lr0.1_dead_after_training`,
/// or `lr2_diverged` (= 1) when the loss diverged.
#[derive(Clone, Debug, PartialEq)]
pub struct DyingOutcome {
    /// The learning rate.
    pub lr: f64,
    /// Dead units at initialisation (%).
    pub dead_at_init: f64,
    /// Dead units after the last epoch (%), `None` when the loss diverged.
    pub dead_after_training: Option<f64>,
}

impl super::MetricValue for DyingOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        let lr = self.lr;
        match self.dead_after_training {
            None => out.push((format!("lr{lr}_diverged"), 1.0)),
            Some(after) => {
                out.push((format!("lr{lr}_dead_at_init"), self.dead_at_init));
                out.push((format!("lr{lr}_dead_after_training"), after));
            }
        }
    }
}

/// One trained network's outcome, named after its key: `relu_shifted_test_accuracy`,
/// `relu_shifted_dead_layer1`, …, `relu_shifted_weight_change_layer1`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// The run's key, e.g. `relu_shifted`.
    pub key: String,
    /// Test accuracy (%).
    pub test_accuracy: f64,
    /// Dead units per hidden layer after training (%).
    pub dead_layer: Vec<f64>,
    /// ‖W₁ − W₁⁽⁰⁾‖ / ‖W₁⁽⁰⁾‖.
    pub weight_change_layer1: f64,
}

impl super::MetricValue for RunOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{}_test_accuracy", self.key), self.test_accuracy));
        for (l, d) in self.dead_layer.iter().enumerate() {
            out.push((format!("{}_dead_layer{}", self.key, l + 1), *d));
        }
        out.push((format!("{}_weight_change_layer1", self.key), self.weight_change_layer1));
    }
}

crate::results! {
    /// Units that die while training, and the networks that keep or lose them.
    pub struct Results {
        /// Per learning rate of the dying runs.
        dying: Vec<DyingOutcome>,
        /// The most any learning rate raised the dead fraction (percentage points).
        largest_dead_rise: f64,
        /// Per trained network.
        runs: Vec<RunOutcome>,
    }
}

/// The dead fraction per layer after a run's last epoch.
fn dead_after(run: &Run) -> Vec<f64> {
    run.history.series.get("dead_fraction").and_then(|v| v.last().cloned()).unwrap_or_default()
}

/// The numbers of the dying runs and the trained networks.
///
/// ```
/// use tchlab::experiments::dead_relu::{Dying, results};
/// let r = results(&[Dying { lr: 2.0, dead_at_init: 1.0, dead_per_epoch: None }], &[]);
/// assert_eq!(r.dying[0].dead_after_training, None);
/// ```
pub fn results(dying: &[Dying], runs: &[&Run]) -> Results {
    let dying: Vec<DyingOutcome> = dying
        .iter()
        .map(|d| DyingOutcome {
            lr: d.lr,
            dead_at_init: d.dead_at_init,
            dead_after_training: d.dead_per_epoch.as_ref().map(|v| v.last().copied().unwrap_or(f64::NAN)),
        })
        .collect();
    let rises = dying.iter().filter_map(|d| d.dead_after_training.map(|a| a - d.dead_at_init));
    Results {
        largest_dead_rise: rises.fold(f64::NAN, f64::max),
        dying,
        runs: runs
            .iter()
            .map(|r| RunOutcome {
                key: r.key.clone(),
                test_accuracy: r.test_accuracy,
                dead_layer: dead_after(r).iter().map(|f| 100.0 * f).collect(),
                weight_change_layer1: r.weight_change,
            })
            .collect(),
    }
}

/// Dead units per layer at init and after training, weight change and test accuracy.
///
/// ```
/// assert!(tchlab::experiments::dead_relu::dead_units_table(&[]).rows.is_empty());
/// ```
pub fn dead_units_table(runs: &[&Run]) -> Table {
    let percents = |v: &[f64]| v.iter().map(|f| format!("{:.0}%", 100.0 * f)).collect::<Vec<_>>().join(" / ");
    let rows = runs
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                percents(&r.dead_at_init),
                percents(&dead_after(r)),
                format!("{:.2e}", r.weight_change),
                format!("{:.2}", r.test_accuracy),
            ]
        })
        .collect();
    Table::from_rows(
        &["run", "dead at init (layers)", "dead after training", "‖W₁ − W₁⁽⁰⁾‖ / ‖W₁⁽⁰⁾‖", "test acc (%)"],
        rows,
    )
}

/// Training accuracy per epoch of every run.
///
/// ```
/// let figure = tchlab::experiments::dead_relu::accuracy_figure(&[]);
/// ```
pub fn accuracy_figure(runs: &[&Run]) -> Figure {
    let refs: Vec<(&str, &History)> = runs.iter().map(|r| (r.name.as_str(), &r.history)).collect();
    Figure::curves("Training accuracy", &refs, "accuracy")
}

/// Every figure, the table and the histories, as `tchlab run` saves them.
///
/// ```
/// let p = tchlab::experiments::dead_relu::present(&[], &[]);
/// assert_eq!(p.figure_names(), vec!["dying_while_training", "dead_fraction", "accuracy"]);
/// ```
pub fn present(dying: &[Dying], runs: &[&Run]) -> Presentation {
    let mut p = Presentation::default()
        .figure("dying_while_training", dying_figure(dying))
        .table("dead_units", dead_units_table(runs))
        .figure("dead_fraction", dead_fraction_figure(runs))
        .figure("accuracy", accuracy_figure(runs));
    for r in runs {
        p = p.history(&r.name, r.history.clone());
    }
    p
}

/// The dead fraction (mean over the hidden layers) at init and after every epoch of the
/// runs of [`dying`] that did not diverge, one line per learning rate.
///
/// ```
/// use tchlab::experiments::dead_relu::{Dying, dying_figure};
/// let d = Dying { lr: 1.0, dead_at_init: 4.0, dead_per_epoch: Some(vec![20.0, 28.0]) };
/// assert!(dying_figure(&[d]).to_svg().unwrap().contains("lr 1"));
/// ```
pub fn dying_figure(dying: &[Dying]) -> Figure {
    let series = dying
        .iter()
        .filter_map(|d| {
            let per_epoch = d.dead_per_epoch.as_ref()?;
            let points = std::iter::once((0.0, d.dead_at_init))
                .chain(per_epoch.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)));
            Some(Series::line(&format!("lr {}", d.lr), points.collect()))
        })
        .collect();
    Figure::lines("ReLU, default init: dead units while training", "epoch", "dead units (%, mean over layers)", series)
}

/// The dead fraction per hidden layer after every epoch, one panel per run.
///
/// ```
/// let fig = tchlab::experiments::dead_relu::dead_fraction_figure(&[]);
/// assert!(fig.to_svg().is_ok());
/// ```
pub fn dead_fraction_figure(runs: &[&Run]) -> Figure {
    let panels = runs.iter().map(|r| Figure::dead_units(&r.name, &r.history).y_range(-2.0, 102.0).size(420, 300));
    Figure::grid(panels.collect(), 2)
}

/// Runs every step in order: the learning rates of `dying_lrs`, ReLU with the default
/// init and with the bias shift, each of `activations` with the shift, the results and
/// what `tchlab run` saves.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let d = data(c)?;
    let dying: Vec<Dying> = c.dying_lrs.0.iter().map(|&lr| dying(c, &d, lr)).collect::<Result<_>>()?;
    let mut runs = vec![
        train(c, &d, &model(c, Activation::Relu, None))?,
        train(c, &d, &model(c, Activation::Relu, Some(c.bias_shift)))?,
    ];
    for &a in &c.activations.0 {
        runs.push(train(c, &d, &model(c, a, Some(c.bias_shift)))?);
    }
    let runs: Vec<&Run> = runs.iter().collect();
    Ok(c.report(&results(&dying, &runs), present(&dying, &runs), clock))
}
