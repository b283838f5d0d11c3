//! The value of data: softmax regression and an MLP trained on 300 … 60,000 MNIST images
//! for the same number of SGD steps (not epochs), so that every size gets the same
//! compute. The linear model's test error levels off early; the MLP's keeps falling.

use std::time::Instant;

use anyhow::{Result, ensure};

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Subset};
use crate::display::Table;
use crate::model::{Activation, MlpConfig};
use crate::plot::{Figure, Scale, Series, Style};
use crate::train::TrainConfig;

super::settings! {
    /// Settings: sizes 300 … 60,000 (the first n training images), 6,000 SGD steps of
    /// batch 100 at learning rate 0.1 for both models; the MLP is 784-256-10 ReLU.
    ///
    /// ```
    /// let c = tchlab::experiments::value_of_data::Config::lecture();
    /// assert_eq!(c.steps, 6000);
    /// assert_eq!(*c.sizes.0.last().unwrap(), 60000);
    /// ```
    "value-of-data",
    pub struct Config {
        /// Training-set sizes (multiples of `batch`).
        sizes: List<usize> = List(vec![300, 1000, 3000, 10000, 30000, 60000]),
        /// SGD steps per run, the same for every size.
        steps: usize = 6000,
        /// Minibatch size.
        batch: usize = 100,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Hidden layers of the MLP.
        hidden: List<i64> = List(vec![256]),
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: four sizes, 3,000 steps.
    ///
    /// ```
    /// let c = tchlab::experiments::value_of_data::Config::ci();
    /// assert_eq!(c.steps, 3000);
    /// ```
    pub fn ci() -> Self {
        Config { sizes: List(vec![300, 3000, 30000, 60000]), steps: 3000, ..Self::lecture() }
    }
}

/// Epochs that give `steps` steps on `n` examples in batches of `batch` (at least one).
///
/// ```
/// use tchlab::experiments::value_of_data::epochs_for_steps;
/// assert_eq!(epochs_for_steps(3000, 300, 100), 1000);
/// assert_eq!(epochs_for_steps(3000, 60000, 100), 5);
/// assert_eq!(epochs_for_steps(10, 250, 100), 4); // 3 batches per epoch: 12 steps
/// ```
pub fn epochs_for_steps(steps: usize, n: usize, batch: usize) -> usize {
    let per_epoch = n.div_ceil(batch.max(1)).max(1);
    steps.div_ceil(per_epoch).max(1)
}

/// The images: all 60,000 training images (each run takes the first n) and the test
/// images.
pub struct Data {
    /// The training images.
    pub train: std::sync::Arc<crate::data::TensorDataset>,
    /// The test images, 1,000 per batch.
    pub test: DataLoader,
}

/// Step 1: MNIST with pixels in [0, 1].
///
/// ```no_run
/// use tchlab::experiments::value_of_data::{Config, data};
/// let d = data(&Config::lecture())?;
/// assert_eq!(d.test.examples_per_epoch(), 10_000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    ensure!(!c.sizes.0.is_empty(), "give at least one training-set size");
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 0)?;
    let total = crate::data::Dataset::len(&splits.train);
    for &n in &c.sizes.0 {
        ensure!(n > 0 && n <= total, "training-set size {n} must be in 1..={total}");
    }
    Ok(Data { train: std::sync::Arc::new(splits.train), test: DataLoader::new(splits.test, 1000)? })
}

/// Step 2: the two models, softmax regression (784 → 10) and the MLP (784 → `hidden`
/// (ReLU) → 10), as (short name, network).
///
/// ```
/// use tchlab::experiments::value_of_data::{Config, models};
/// let [(a, _), (b, mlp)] = models(&Config::lecture());
/// assert_eq!((a, b, mlp.layer_sizes()), ("softmax", "mlp", vec![784, 256, 10]));
/// ```
pub fn models(c: &Config) -> [(&'static str, MlpConfig); 2] {
    [
        ("softmax", MlpConfig::new(784, &[], 10)),
        ("mlp", MlpConfig::new(784, &c.hidden.0, 10).activation(Activation::Relu)),
    ]
}

/// One model trained on the first `images` training images.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Training images.
    pub images: usize,
    /// `softmax` or `mlp`.
    pub model: &'static str,
    /// Epochs (enough for `steps`).
    pub epochs: usize,
    /// SGD steps taken.
    pub steps: usize,
    /// Mean training loss over the last epoch's minibatches.
    pub train_loss: f64,
    /// Test error (%).
    pub test_error: f64,
}

/// Step 3: trains both models on the first `n` images for `steps` steps (rounded up to
/// whole epochs).
///
/// ```no_run
/// use tchlab::experiments::value_of_data::{Config, data, train_size};
/// let c = Config { steps: 30, ..Config::ci() };
/// let [softmax, mlp] = train_size(&c, &data(&c)?, 300)?;
/// assert_eq!((softmax.epochs, mlp.steps), (10, 30));
/// # anyhow::Ok(())
/// ```
pub fn train_size(c: &Config, data: &Data, n: usize) -> Result<[Run; 2]> {
    let loader = DataLoader::new(Subset::range(data.train.clone(), 0..n)?, c.batch)?.shuffle(c.seed);
    let epochs = epochs_for_steps(c.steps, n, c.batch);
    let steps = epochs * loader.len();
    let train = |(model, config): &(&'static str, MlpConfig)| -> Result<Run> {
        let tc = TrainConfig::sgd(c.lr, epochs).seed(c.seed).eval_train(false).quiet();
        let Trained { history, test_accuracy, .. } = fit_and_test(config, c.seed, &loader, None, &data.test, tc)?;
        let train_loss = history.last_loss("train").unwrap_or(f64::NAN);
        Ok(Run { images: n, model, epochs, steps, train_loss, test_error: 100.0 - test_accuracy })
    };
    let [softmax, mlp] = models(c);
    Ok([train(&softmax)?, train(&mlp)?])
}

/// Step 3 at every size of `sizes`, smallest first: two runs per size.
///
/// ```no_run
/// use tchlab::experiments::value_of_data::{Config, data, train_all};
/// let c = Config::ci();
/// assert_eq!(train_all(&c, &data(&c)?)?.len(), 2 * c.sizes.0.len());
/// # anyhow::Ok(())
/// ```
pub fn train_all(c: &Config, data: &Data) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    for &n in &c.sizes.0 {
        runs.extend(train_size(c, data, n)?);
    }
    Ok(runs)
}

/// Both models' test errors at one training-set size.
#[derive(Clone, Debug, PartialEq)]
pub struct AtSize {
    /// Training images.
    pub images: usize,
    /// Softmax regression's test error (%).
    pub softmax_test_error: f64,
    /// The MLP's test error (%).
    pub mlp_test_error: f64,
    /// Softmax − MLP (percentage points).
    pub gap: f64,
}

/// Named `softmax_n300_test_error`, `mlp_n300_test_error`, `gap_n300`, … .
impl super::MetricValue for AtSize {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        let n = self.images;
        out.push((format!("softmax_n{n}_test_error"), self.softmax_test_error));
        out.push((format!("mlp_n{n}_test_error"), self.mlp_test_error));
        out.push((format!("gap_n{n}"), self.gap));
    }
}

crate::results! {
    /// How much each model gains from more data at the same compute.
    pub struct Results {
        /// Both test errors per size, smallest first.
        sizes: Vec<AtSize>,
        /// Softmax − MLP test error at the smallest size (points).
        gap_smallest: f64,
        /// … and at the largest.
        gap_largest: f64,
        /// How much the gap grew from the smallest to the largest size.
        gap_growth: f64,
        /// Softmax regression's test error, smallest − largest size (points).
        softmax_gain: f64,
        /// The MLP's.
        mlp_gain: f64,
        /// Softmax regression's gain over the last step in size (points; needs 2 sizes).
        softmax_late_gain: Option<f64>,
        /// The MLP's.
        mlp_late_gain: Option<f64>,
    }
}

/// Step 4: test errors per size, the gap between the models and how it grows.
///
/// ```no_run
/// use tchlab::experiments::value_of_data::{Config, data, results, train_all};
/// let c = Config::ci();
/// let r = results(&c, &train_all(&c, &data(&c)?)?)?;
/// assert!(r.mlp_gain > 0.0);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, runs: &[Run]) -> Result<Results> {
    let error = |model: &str, n: usize| {
        runs.iter().find(|r| r.model == model && r.images == n).map(|r| r.test_error).ok_or_else(|| {
            anyhow::anyhow!("no {model} run on {n} images: give `results` the runs of `train_all` for these settings")
        })
    };
    let mut sizes = Vec::new();
    for &n in &c.sizes.0 {
        let (softmax, mlp) = (error("softmax", n)?, error("mlp", n)?);
        sizes.push(AtSize { images: n, softmax_test_error: softmax, mlp_test_error: mlp, gap: softmax - mlp });
    }
    let (first, last) = (&sizes[0], &sizes[sizes.len() - 1]);
    let late = |f: fn(&AtSize) -> f64| (sizes.len() >= 2).then(|| f(&sizes[sizes.len() - 2]) - f(last));
    Ok(Results {
        gap_smallest: first.gap,
        gap_largest: last.gap,
        gap_growth: last.gap - first.gap,
        softmax_gain: first.softmax_test_error - last.softmax_test_error,
        mlp_gain: first.mlp_test_error - last.mlp_test_error,
        softmax_late_gain: late(|s| s.softmax_test_error),
        mlp_late_gain: late(|s| s.mlp_test_error),
        sizes,
    })
}

/// Every run: size, model, epochs, steps, final training loss and test error.
///
/// ```
/// use tchlab::experiments::value_of_data::{Run, runs_table};
/// let run = Run { images: 300, model: "mlp", epochs: 10, steps: 30, train_loss: 0.1, test_error: 9.0 };
/// assert_eq!(runs_table(&[run]).rows[0][5], "9.00");
/// ```
pub fn runs_table(runs: &[Run]) -> Table {
    let name = |m: &str| if m == "softmax" { "softmax regression" } else { "MLP" };
    let rows = runs
        .iter()
        .map(|r| {
            vec![
                r.images.to_string(),
                name(r.model).to_string(),
                r.epochs.to_string(),
                r.steps.to_string(),
                format!("{:.4}", r.train_loss),
                format!("{:.2}", r.test_error),
            ]
        })
        .collect();
    Table::from_rows(&["images", "model", "epochs", "steps", "final train loss", "test error (%)"], rows)
}

/// `(images, value)` points of one model's runs.
fn points(runs: &[Run], model: &str, value: fn(&Run) -> f64) -> Vec<(f64, f64)> {
    runs.iter().filter(|r| r.model == model).map(|r| (r.images as f64, value(r))).collect()
}

/// Test error against training-set size, both axes logarithmic.
///
/// ```
/// use tchlab::experiments::value_of_data::{Config, test_error_figure};
/// let figure = test_error_figure(&Config::ci(), &[]);
/// ```
pub fn test_error_figure(c: &Config, runs: &[Run]) -> Figure {
    let (s, l) = (c.sizes.0.first().copied().unwrap_or(0), c.sizes.0.last().copied().unwrap_or(0));
    Figure::lines(
        &format!("Test error vs training-set size ({s} … {l} images, {} steps each)", c.steps),
        "training images",
        "test error (%)",
        vec![
            Series::line("softmax regression", points(runs, "softmax", |r| r.test_error)),
            Series::line(&models(c)[1].1.describe(), points(runs, "mlp", |r| r.test_error)),
        ],
    )
    .x_scale(Scale::Log(10.0))
    .y_scale(Scale::Log(10.0))
}

/// Final training loss against training-set size.
///
/// ```
/// use tchlab::experiments::value_of_data::{Config, train_loss_figure};
/// let figure = train_loss_figure(&Config::ci(), &[]);
/// ```
pub fn train_loss_figure(c: &Config, runs: &[Run]) -> Figure {
    Figure::lines(
        "Training loss at the end (mean over the last epoch's minibatches)",
        "training images",
        "cross-entropy",
        vec![
            Series::line("softmax regression", points(runs, "softmax", |r| r.train_loss)).style(Style::Dashed),
            Series::line(&models(c)[1].1.describe(), points(runs, "mlp", |r| r.train_loss)).style(Style::Dashed),
        ],
    )
    .x_scale(Scale::Log(10.0))
}

/// Step 5: the table of runs and both figures, as `tchlab run` saves them.
///
/// ```
/// use tchlab::experiments::value_of_data::{Config, present};
/// assert_eq!(present(&Config::ci(), &[]).figure_names(), vec!["test_error", "train_loss"]);
/// ```
pub fn present(c: &Config, runs: &[Run]) -> Presentation {
    Presentation::default()
        .table("runs", runs_table(runs))
        .figure("test_error", test_error_figure(c, runs))
        .figure("train_loss", train_loss_figure(c, runs))
}

/// Trains both models at every size: [`data`], [`train_all`], [`results`], [`present`].
///
/// ```no_run
/// let report = tchlab::experiments::value_of_data::run(&tchlab::experiments::value_of_data::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let runs = train_all(c, &data)?;
    let results = results(c, &runs)?;
    Ok(c.report(&results, present(c, &runs), clock))
}
