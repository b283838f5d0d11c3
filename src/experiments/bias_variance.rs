//! Bias–variance decomposition: many training sets, one MLP per training set and width,
//! trained all at once with [`MlpEnsemble`]. First regression with a known truth
//! (`y = sin 2πx + noise`), where `noise + bias² + variance` must add up to the measured
//! test error; then the 0–1 loss on MNIST subsets (Domingos 2000).

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{List, Presentation, Report};
use crate::data::{Mnist, MnistKind, Scaling};
use crate::display::Table;
use crate::metrics::{SquaredDecomposition, ZeroOneDecomposition, squared_decomposition, zero_one_decomposition};
use crate::model::{Activation, MlpConfig, MlpEnsemble};
use crate::plot::{Figure, Scale, Series, Style};
use crate::rng::{Rng, mix};
use crate::train::{EnsembleLoss, EnsembleTrain};

super::settings! {
    /// Settings: 100 training sets of 30 points each, `y = sin 2πx + N(0, 0.3²)`, x uniform
    /// in [0, 1]; 1-w-1 tanh MLPs, full-batch Adam (0.01) for 3,000 steps and, as a second
    /// budget, 20,000 steps; 500 test points.
    /// MNIST: 20 disjoint training sets of 500 images, 784-w-10 ReLU, SGD 0.1, batch 50,
    /// 40 epochs; the 10,000 test images.
    ///
    /// ```
    /// let c = tchlab::experiments::bias_variance::Config::lecture();
    /// assert_eq!((c.reg_sets, c.reg_n), (100, 30));
    /// ```
    "bias-variance",
    pub struct Config {
        /// Seed (data draws and initial weights).
        seed: u64 = 1,
        /// Regression: number of training sets (one model each).
        reg_sets: i64 = 100,
        /// Regression: points per training set.
        reg_n: i64 = 30,
        /// Regression: standard deviation of the label noise.
        reg_noise: f64 = 0.3,
        /// Regression: hidden units of the 1-w-1 tanh MLPs.
        reg_widths: List<i64> = List(vec![1, 2, 3, 4, 8, 16, 64, 256]),
        /// Regression: full-batch Adam steps.
        reg_steps: usize = 3000,
        /// Regression: steps of the second, long training budget (0: none).
        reg_long_steps: usize = 20000,
        /// Regression: Adam learning rate.
        reg_lr: f64 = 0.01,
        /// Regression: test points (each with its own noisy label per model).
        reg_test: i64 = 500,
        /// MNIST: number of disjoint training sets.
        mnist_sets: i64 = 20,
        /// MNIST: images per training set.
        mnist_n: i64 = 500,
        /// MNIST: hidden units of the 784-w-10 ReLU MLPs.
        mnist_widths: List<i64> = List(vec![1, 2, 4, 8, 16, 64, 256]),
        /// MNIST: SGD learning rate.
        mnist_lr: f64 = 0.1,
        /// MNIST: minibatch size.
        mnist_batch: usize = 50,
        /// MNIST: epochs.
        mnist_epochs: usize = 40,
        /// MNIST: test images (the first ones of the test set).
        mnist_test: i64 = 10000,
    }
}

impl Config {
    /// CI: fewer training sets and steps, fewer widths and test images.
    ///
    /// ```
    /// let c = tchlab::experiments::bias_variance::Config::ci();
    /// assert!(c.reg_sets < tchlab::experiments::bias_variance::Config::lecture().reg_sets);
    /// ```
    pub fn ci() -> Self {
        Config {
            reg_sets: 50,
            reg_steps: 1500,
            reg_long_steps: 6000,
            reg_widths: List(vec![1, 2, 4, 16, 256]),
            mnist_sets: 10,
            mnist_widths: List(vec![1, 4, 16, 128]),
            mnist_epochs: 20,
            mnist_test: 2000,
            ..Self::lecture()
        }
    }
}

/// The true function `sin 2πx`.
fn truth(x: &Tensor) -> Tensor {
    (x * (2.0 * std::f64::consts::PI)).sin()
}

fn uniform(rng: &mut Rng, n: i64) -> Tensor {
    Tensor::from_slice(&(0..n).map(|_| rng.uniform() as f32).collect::<Vec<_>>())
}

fn normal(rng: &mut Rng, n: i64) -> Tensor {
    Tensor::from_slice(&(0..n).map(|_| rng.normal() as f32).collect::<Vec<_>>())
}

/// The regression problem's draws: `reg_sets` training sets of `reg_n` points, and
/// `reg_test` test points where every model meets its own noisy labels.
pub struct RegressionData {
    /// Training inputs, `[sets, n, 1]`.
    pub x_train: Tensor,
    /// Training labels, `[sets, n, 1]`.
    pub y_train: Tensor,
    /// Test inputs, `[test, 1]`.
    pub x_test: Tensor,
    /// The truth at the test inputs, `[test]`.
    pub h_test: Tensor,
    /// Each model's noisy test labels, `[sets, test]`.
    pub y_test: Tensor,
}

/// Step 1: draws the regression problem from the seed.
///
/// ```
/// use tchlab::experiments::bias_variance::{Config, regression_data};
/// let d = regression_data(&Config::ci())?;
/// assert_eq!(d.x_train.size(), vec![50, 30, 1]);
/// # anyhow::Ok(())
/// ```
pub fn regression_data(c: &Config) -> Result<RegressionData> {
    ensure!(c.reg_sets >= 2 && c.mnist_sets >= 2, "a variance needs at least two training sets");
    ensure!(!c.reg_widths.0.is_empty() && !c.mnist_widths.0.is_empty(), "give at least one width");
    let (k, n, j, sigma) = (c.reg_sets, c.reg_n, c.reg_test, c.reg_noise);
    let mut rng = Rng::new(mix(c.seed ^ 0xB1A5));
    let x_train = uniform(&mut rng, k * n).reshape([k, n, 1]);
    let y_train = truth(&x_train) + normal(&mut rng, k * n).reshape([k, n, 1]) * sigma;
    let x_test = uniform(&mut rng, j).reshape([j, 1]);
    let h_test = truth(&x_test).reshape([j]);
    let y_test = h_test.unsqueeze(0) + normal(&mut rng, k * j).reshape([k, j]) * sigma;
    Ok(RegressionData { x_train, y_train, x_test, h_test, y_test })
}

/// 201 points on [0, 1], `[201, 1]`.
fn grid() -> Tensor {
    Tensor::linspace(0.0, 1.0, 201, (Kind::Float, tch::Device::Cpu)).reshape([201, 1])
}

/// Values on [`grid`] as `(x, y)` points.
fn on_grid(values: &Tensor) -> Result<Vec<(f64, f64)>> {
    let xs: Vec<f32> = Vec::try_from(grid().reshape([201]))?;
    let ys: Vec<f32> = Vec::try_from(values.reshape([201]))?;
    Ok(xs.iter().zip(ys).map(|(&x, y)| (x as f64, y as f64)).collect())
}

/// The dashed truth `sin 2πx`.
fn truth_series() -> Result<Series> {
    Ok(Series::line("truth sin 2πx", on_grid(&truth(&grid()))?).style(Style::Dashed).color(6))
}

/// Three of the training sets with the truth.
///
/// ```
/// use tchlab::experiments::bias_variance::{Config, regression_data, regression_data_figure};
/// let c = Config::ci();
/// let figure = regression_data_figure(&c, &regression_data(&c)?)?;
/// # anyhow::Ok(())
/// ```
pub fn regression_data_figure(c: &Config, data: &RegressionData) -> Result<Figure> {
    let (k, n, sigma) = (c.reg_sets, c.reg_n, c.reg_noise);
    let mut series = vec![truth_series()?];
    for s in 0..3.min(k) {
        let xs: Vec<f32> = Vec::try_from(data.x_train.get(s).reshape([n]))?;
        let ys: Vec<f32> = Vec::try_from(data.y_train.get(s).reshape([n]))?;
        let pts = xs.iter().zip(&ys).map(|(&x, &y)| (x as f64, y as f64)).collect();
        series.push(Series::line(&format!("training set {}", s + 1), pts).style(Style::Points).color(s as usize));
    }
    let title = format!("{k} training sets of {n} points: y = sin 2πx + N(0, {sigma}²); three of them");
    Ok(Figure::lines(&title, "x", "y", series).y_range(-2.0, 2.0))
}

/// The 1-w-1 tanh network of the regression.
///
/// ```
/// assert_eq!(tchlab::experiments::bias_variance::regression_model(8).parameter_count(), 25);
/// ```
pub fn regression_model(width: i64) -> MlpConfig {
    MlpConfig::new(1, &[width], 1).activation(Activation::Tanh)
}

/// One width of the regression: one model per training set, trained together.
pub struct RegressionRun {
    /// Hidden units.
    pub width: i64,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// The models, one per training set.
    pub ensemble: MlpEnsemble,
    /// Their mean training loss per step.
    pub history: crate::train::History,
}

/// Step 2: trains the models of every width for `steps` full-batch Adam steps.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, regression_data, train_regression};
/// let c = Config::ci();
/// let runs = train_regression(&c, &regression_data(&c)?, 100)?;
/// assert_eq!(runs.len(), c.reg_widths.0.len());
/// # anyhow::Ok(())
/// ```
pub fn train_regression(c: &Config, data: &RegressionData, steps: usize) -> Result<Vec<RegressionRun>> {
    let mut runs = Vec::new();
    for &width in &c.reg_widths.0 {
        let mut ensemble = MlpEnsemble::new(&regression_model(width), c.reg_sets, c.seed)?;
        let train = EnsembleTrain::adam(c.reg_lr, steps, EnsembleLoss::Mse);
        let history = train.fit(&mut ensemble, &data.x_train, &data.y_train)?;
        runs.push(RegressionRun { width, steps, ensemble, history });
    }
    Ok(runs)
}

/// The squared-loss decomposition at one width.
#[derive(Clone, Debug, PartialEq)]
pub struct SquaredAtWidth {
    /// Hidden units.
    pub width: i64,
    /// Parameters of one model.
    pub parameters: i64,
    /// Mean training MSE of the models.
    pub train_error: f64,
    /// The decomposition of the expected test error.
    pub decomposition: SquaredDecomposition,
    /// The measured test error (each model against its own noisy labels).
    pub test_error: f64,
}

impl SquaredAtWidth {
    /// |noise + bias² + variance − test error| / test error.
    ///
    /// ```
    /// use tchlab::{experiments::bias_variance::SquaredAtWidth, metrics::SquaredDecomposition};
    /// let d = SquaredDecomposition { bias2: 0.1, variance: 0.2, noise: 0.1 };
    /// let w = SquaredAtWidth { width: 1, parameters: 4, train_error: 0.3, decomposition: d, test_error: 0.5 };
    /// assert!((w.relative_gap() - 0.2).abs() < 1e-12);
    /// ```
    pub fn relative_gap(&self) -> f64 {
        (self.decomposition.total() - self.test_error).abs() / self.test_error
    }
}

/// One training budget of the regression across widths.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Full-batch Adam steps.
    pub steps: usize,
    /// The decomposition per width, narrowest first.
    pub widths: Vec<SquaredAtWidth>,
    /// The largest [`SquaredAtWidth::relative_gap`].
    pub max_relative_gap: f64,
    /// bias² of the narrowest / of the widest.
    pub bias2_ratio_narrow_to_wide: f64,
    /// Variance of the widest / of the narrowest.
    pub variance_ratio_wide_to_narrow: f64,
    /// Largest variance / the narrowest's.
    pub variance_peak_to_narrow: f64,
    /// The width with the lowest test error.
    pub best_width: i64,
    /// That test error.
    pub best_test_error: f64,
}

impl Budget {
    /// The largest variance over the widths.
    ///
    /// ```no_run
    /// # use tchlab::experiments::bias_variance::*;
    /// # let c = Config::ci(); let data = regression_data(&c)?;
    /// let b = budget(&c, &data, &train_regression(&c, &data, 100)?)?;
    /// assert!(b.variance_peak() >= b.widths[0].decomposition.variance);
    /// # anyhow::Ok(())
    /// ```
    pub fn variance_peak(&self) -> f64 {
        self.widths.iter().map(|w| w.decomposition.variance).fold(0.0, f64::max)
    }
}

/// Named after the field: `reg_w8_bias2`, …, `reg_max_relative_gap`, … (and `reg_long_…`).
impl super::MetricValue for Budget {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        for w in &self.widths {
            let d = &w.decomposition;
            for (value, v) in
                [("bias2", d.bias2), ("variance", d.variance), ("sum", d.total()), ("test_error", w.test_error)]
            {
                out.push((format!("{name}_w{}_{value}", w.width), v));
            }
        }
        out.push((format!("{name}_max_relative_gap"), self.max_relative_gap));
        out.push((format!("{name}_bias2_ratio_narrow_to_wide"), self.bias2_ratio_narrow_to_wide));
        out.push((format!("{name}_variance_ratio_wide_to_narrow"), self.variance_ratio_wide_to_narrow));
        out.push((format!("{name}_variance_peak_to_narrow"), self.variance_peak_to_narrow));
        out.push((format!("{name}_best_width"), self.best_width as f64));
        out.push((format!("{name}_best_test_error"), self.best_test_error));
    }
}

/// Step 3: decomposes each width's test error and compares the widths.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, budget, regression_data, train_regression};
/// let c = Config::ci();
/// let data = regression_data(&c)?;
/// let b = budget(&c, &data, &train_regression(&c, &data, c.reg_steps)?)?;
/// assert!(b.max_relative_gap < 0.1);
/// # anyhow::Ok(())
/// ```
pub fn budget(c: &Config, data: &RegressionData, runs: &[RegressionRun]) -> Result<Budget> {
    ensure!(!runs.is_empty(), "no regression runs to decompose");
    let (k, j, sigma) = (c.reg_sets, c.reg_test, c.reg_noise);
    let mut widths = Vec::new();
    for run in runs {
        let preds = run.ensemble.predict(&data.x_test, 4096).reshape([k, j]);
        let decomposition = squared_decomposition(&preds, &data.h_test, sigma * sigma)?;
        let test_error = (&data.y_test - &preds).square().mean(Kind::Double).double_value(&[]);
        let losses = EnsembleLoss::Mse.per_member(&run.ensemble.forward(&data.x_train), &data.y_train)?;
        let train_error = losses.mean(Kind::Double).double_value(&[]);
        let parameters = regression_model(run.width).parameter_count();
        widths.push(SquaredAtWidth { width: run.width, parameters, train_error, decomposition, test_error });
    }
    let (first, last) = (&widths[0].decomposition, &widths[widths.len() - 1].decomposition);
    let best = widths.iter().min_by(|a, b| a.test_error.total_cmp(&b.test_error)).unwrap_or(&widths[0]);
    let peak = widths.iter().map(|w| w.decomposition.variance).fold(0.0, f64::max);
    Ok(Budget {
        steps: runs[0].steps,
        max_relative_gap: widths.iter().map(SquaredAtWidth::relative_gap).fold(0.0, f64::max),
        bias2_ratio_narrow_to_wide: first.bias2 / last.bias2.max(1e-12),
        variance_ratio_wide_to_narrow: last.variance / first.variance.max(1e-12),
        variance_peak_to_narrow: peak / first.variance.max(1e-12),
        best_width: best.width,
        best_test_error: best.test_error,
        widths: widths.clone(),
    })
}

/// Test images and the training sets of the 0–1 decomposition: `mnist_sets` disjoint
/// sets of `mnist_n` images from the start of the training file.
pub struct MnistData {
    /// Training images, `[sets, n, 784]`, pixels in [0, 1].
    pub x: Tensor,
    /// Training labels, `[sets, n]`.
    pub y: Tensor,
    /// Test images, `[test, 784]`.
    pub x_test: Tensor,
    /// Test labels.
    pub y_test: Tensor,
    /// The first 8 images of the first three sets, `[24, 28, 28]`, with their labels.
    pub shown: (Tensor, Vec<i64>),
}

/// Step 4: the MNIST training sets and test images.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, mnist_data};
/// let d = mnist_data(&Config::ci())?;
/// assert_eq!(d.x.size(), vec![10, 500, 784]);
/// # anyhow::Ok(())
/// ```
pub fn mnist_data(c: &Config) -> Result<MnistData> {
    let (k, n) = (c.mnist_sets, c.mnist_n);
    let mnist = Mnist::load(MnistKind::Digits)?;
    let train = mnist.train(Scaling::Unit);
    let available = crate::data::Dataset::len(&train) as i64;
    ensure!(k * n <= available, "{k} disjoint sets of {n} images need {} images; MNIST has {available}", k * n);
    let y = train.labels().narrow(0, 0, k * n).reshape([k, n]);
    let test = mnist.test(Scaling::Unit);
    let j = c.mnist_test.min(crate::data::Dataset::len(&test) as i64);
    let shown = train.inputs().narrow(0, 0, k * n).reshape([k, n, 28, 28]).narrow(0, 0, 3.min(k)).narrow(1, 0, 8);
    let labels: Vec<i64> = Vec::try_from(y.narrow(0, 0, 3.min(k)).narrow(1, 0, 8).reshape([-1]))?;
    Ok(MnistData {
        x: train.scaled_inputs().narrow(0, 0, k * n).reshape([k, n, 784]),
        y,
        x_test: test.scaled_inputs().narrow(0, 0, j).reshape([j, 784]),
        y_test: test.labels().narrow(0, 0, j),
        shown: (shown.reshape([-1, 28, 28]).to_kind(Kind::Float) / 255.0, labels),
    })
}

/// The first 8 images of three of the training sets.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, mnist_data, mnist_sets_figure};
/// let c = Config::ci();
/// let figure = mnist_sets_figure(&c, &mnist_data(&c)?)?;
/// # anyhow::Ok(())
/// ```
pub fn mnist_sets_figure(c: &Config, data: &MnistData) -> Result<Figure> {
    let (images, labels) = &data.shown;
    let captions: Vec<String> = labels.iter().enumerate().map(|(i, l)| format!("set {}: {l}", i / 8 + 1)).collect();
    let title = format!("{} disjoint training sets of {} images: the first 8 of three", c.mnist_sets, c.mnist_n);
    Figure::image_grid(&title, images, &captions, 8, false)
}

/// One width of the 0–1 decomposition: one model per training set.
pub struct MnistRun {
    /// Hidden units.
    pub width: i64,
    /// The models, one per training set.
    pub ensemble: MlpEnsemble,
    /// Their mean training loss per epoch.
    pub history: crate::train::History,
}

/// Step 5: trains the 784-w-10 ReLU models of every width by SGD.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, mnist_data, train_mnist};
/// let c = Config { mnist_epochs: 1, ..Config::ci() };
/// assert_eq!(train_mnist(&c, &mnist_data(&c)?)?.len(), c.mnist_widths.0.len());
/// # anyhow::Ok(())
/// ```
pub fn train_mnist(c: &Config, data: &MnistData) -> Result<Vec<MnistRun>> {
    let mut runs = Vec::new();
    for &width in &c.mnist_widths.0 {
        let config = MlpConfig::new(784, &[width], 10).activation(Activation::Relu);
        let mut ensemble = MlpEnsemble::new(&config, c.mnist_sets, c.seed)?;
        let train = EnsembleTrain::sgd(c.mnist_lr, c.mnist_epochs, EnsembleLoss::CrossEntropy)
            .batch(c.mnist_batch)
            .seed(c.seed);
        let history = train.fit(&mut ensemble, &data.x, &data.y)?;
        runs.push(MnistRun { width, ensemble, history });
    }
    Ok(runs)
}

/// The 0–1 decomposition at one width (fractions, not percent).
#[derive(Clone, Debug, PartialEq)]
pub struct ZeroOneAtWidth {
    /// Hidden units.
    pub width: i64,
    /// Mean training error of the models.
    pub train_error: f64,
    /// The decomposition of the test error.
    pub decomposition: ZeroOneDecomposition,
}

/// Named `mnist_w8_error`, `mnist_w8_bias`, … in percent.
impl super::MetricValue for ZeroOneAtWidth {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        let d = &self.decomposition;
        for (value, v) in [
            ("error", d.error),
            ("bias", d.bias),
            ("variance", d.variance),
            ("net_variance", d.net_variance),
            ("train_error", self.train_error),
        ] {
            out.push((format!("{name}_w{}_{value}", self.width), 100.0 * v));
        }
    }
}

/// Step 6: the 0–1 decomposition of each width's test predictions.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, mnist_data, train_mnist, zero_one};
/// let c = Config::ci();
/// let data = mnist_data(&c)?;
/// let widths = zero_one(&data, &train_mnist(&c, &data)?)?;
/// assert_eq!(widths.len(), c.mnist_widths.0.len());
/// # anyhow::Ok(())
/// ```
pub fn zero_one(data: &MnistData, runs: &[MnistRun]) -> Result<Vec<ZeroOneAtWidth>> {
    let mut widths = Vec::new();
    for run in runs {
        let preds = run.ensemble.predict(&data.x_test, 2000).argmax(-1, false);
        let train_preds = run.ensemble.predict(&data.x, 2000).argmax(-1, false);
        let train_accuracy = train_preds.eq_tensor(&data.y).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        let decomposition = zero_one_decomposition(&preds, &data.y_test, 10)?;
        widths.push(ZeroOneAtWidth { width: run.width, train_error: 1.0 - train_accuracy, decomposition });
    }
    Ok(widths)
}

crate::results! {
    /// Both decompositions: the regression at two training budgets, the 0–1 loss on MNIST.
    pub struct Results {
        /// Regression, the first budget (`reg_steps`).
        reg: Budget,
        /// The noise σ² of the regression labels.
        reg_noise: f64,
        /// Regression, the long budget (`reg_long_steps`), if any.
        reg_long: Option<Budget>,
        /// Peak variance at the long budget / at the first.
        reg_long_to_short_variance_peak: Option<f64>,
        /// MNIST: the 0–1 decomposition per width (`mnist_w8_error`, …, in percent).
        mnist: Vec<ZeroOneAtWidth>,
        /// MNIST: the largest |error − (bias + net variance)|.
        mnist_identity_max_gap: f64,
        /// MNIST: bias of the narrowest − of the widest (points).
        mnist_bias_drop: f64,
        /// MNIST: variance of the narrowest − of the widest (points).
        mnist_variance_drop: f64,
        /// MNIST: the widest's test error (%).
        mnist_widest_error: f64,
        /// MNIST: the widest's bias (%).
        mnist_widest_bias: f64,
        /// MNIST: the widest's net variance (%).
        mnist_widest_net_variance: f64,
    }
}

/// Step 7: both decompositions' numbers from the budgets and the MNIST widths.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::{Config, budget, mnist_data, regression_data, results, train_mnist, train_regression, zero_one};
/// let c = Config::ci();
/// let data = regression_data(&c)?;
/// let short = budget(&c, &data, &train_regression(&c, &data, c.reg_steps)?)?;
/// let mnist = mnist_data(&c)?;
/// let r = results(&c, &short, None, &zero_one(&mnist, &train_mnist(&c, &mnist)?)?)?;
/// assert!(r.mnist_identity_max_gap < 1e-9);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, reg: &Budget, reg_long: Option<&Budget>, mnist: &[ZeroOneAtWidth]) -> Result<Results> {
    ensure!(!mnist.is_empty(), "no MNIST widths to compare");
    let (first, last) = (&mnist[0].decomposition, &mnist[mnist.len() - 1].decomposition);
    let gap =
        |w: &ZeroOneAtWidth| (w.decomposition.error - (w.decomposition.bias + w.decomposition.net_variance)).abs();
    Ok(Results {
        reg_noise: c.reg_noise * c.reg_noise,
        reg_long_to_short_variance_peak: reg_long.map(|l| l.variance_peak() / reg.variance_peak()),
        reg: reg.clone(),
        reg_long: reg_long.cloned(),
        mnist_identity_max_gap: mnist.iter().map(gap).fold(0.0, f64::max),
        mnist_bias_drop: 100.0 * first.bias - 100.0 * last.bias,
        mnist_variance_drop: 100.0 * first.variance - 100.0 * last.variance,
        mnist_widest_error: 100.0 * last.error,
        mnist_widest_bias: 100.0 * last.bias,
        mnist_widest_net_variance: 100.0 * last.net_variance,
        mnist: mnist.to_vec(),
    })
}

/// A budget's decomposition per width as a table.
///
/// ```no_run
/// # use tchlab::experiments::bias_variance::*;
/// # let c = Config::ci(); let data = regression_data(&c)?;
/// let b = budget(&c, &data, &train_regression(&c, &data, 100)?)?;
/// assert_eq!(decomposition_table(&b).rows.len(), c.reg_widths.0.len());
/// # anyhow::Ok(())
/// ```
pub fn decomposition_table(budget: &Budget) -> Table {
    let rows = budget
        .widths
        .iter()
        .map(|w| {
            let d = &w.decomposition;
            vec![
                w.width.to_string(),
                w.parameters.to_string(),
                format!("{:.4}", w.train_error),
                format!("{:.4}", d.bias2),
                format!("{:.4}", d.variance),
                format!("{:.4}", d.noise),
                format!("{:.4}", d.total()),
                format!("{:.4}", w.test_error),
                format!("{:.1}", 100.0 * w.relative_gap()),
            ]
        })
        .collect();
    Table::from_rows(
        &["width", "parameters", "train MSE", "bias²", "variance", "noise", "sum", "test MSE", "|sum − test| (%)"],
        rows,
    )
}

/// The fits of the narrowest, a middle and the widest width: 20 models, their mean and
/// the truth.
///
/// ```no_run
/// # use tchlab::experiments::bias_variance::*;
/// # let c = Config::ci(); let data = regression_data(&c)?;
/// let runs = train_regression(&c, &data, 100)?;
/// let figure = fits_figure(&c, &runs, &budget(&c, &data, &runs)?)?;
/// # anyhow::Ok(())
/// ```
pub fn fits_figure(c: &Config, runs: &[RegressionRun], budget: &Budget) -> Result<Figure> {
    let k = c.reg_sets;
    let mut shown = vec![0, runs.len() / 2, runs.len() - 1];
    shown.dedup();
    let mut fits = Vec::new();
    for i in shown {
        let (run, d) = (&runs[i], &budget.widths[i].decomposition);
        let predictions = run.ensemble.predict(&grid(), 4096).reshape([k, 201]);
        let mut series = Vec::new();
        for m in 0..20.min(k) {
            series.push(Series::line("", on_grid(&predictions.get(m))?).style(Style::Faint).color(0));
        }
        let mean = predictions.mean_dim(&[0i64][..], false, Kind::Float);
        series.push(Series::line("mean over training sets", on_grid(&mean)?).color(1));
        series.push(truth_series()?);
        let title = format!("w = {}, {} steps: bias² {:.3}, variance {:.3}", run.width, run.steps, d.bias2, d.variance);
        fits.push(Figure::lines(&title, "x", "prediction", series).y_range(-2.0, 2.0));
    }
    Ok(Figure::grid(fits, 3))
}

/// Mean training MSE per step, one curve per width.
///
/// ```no_run
/// # use tchlab::experiments::bias_variance::*;
/// # let c = Config::ci(); let data = regression_data(&c)?;
/// let figure = regression_training_figure(&c, &train_regression(&c, &data, 100)?);
/// # anyhow::Ok(())
/// ```
pub fn regression_training_figure(c: &Config, runs: &[RegressionRun]) -> Figure {
    let steps = runs.first().map_or(0, |r| r.steps);
    let every = (steps / 100).max(1);
    let curves = runs
        .iter()
        .map(|run| {
            let pts: Vec<(f64, f64)> = run
                .history
                .curve("train", "loss")
                .into_iter()
                .filter(|(e, _)| (*e as usize).is_multiple_of(every) || *e as usize == 1)
                .collect();
            Series::line(&format!("w = {}", run.width), pts)
        })
        .collect();
    let title = format!("Mean training MSE over the {} models (full-batch Adam, {steps} steps)", c.reg_sets);
    Figure::lines(&title, "step", "training MSE", curves).x_scale(Scale::Log(10.0)).ordered()
}

/// noise + bias² + variance against the measured test error, across widths.
///
/// ```no_run
/// # use tchlab::experiments::bias_variance::*;
/// # let c = Config::ci(); let data = regression_data(&c)?;
/// let b = budget(&c, &data, &train_regression(&c, &data, 100)?)?;
/// let figure = decomposition_figure(&b);
/// # anyhow::Ok(())
/// ```
pub fn decomposition_figure(budget: &Budget) -> Figure {
    let line = |f: fn(&SquaredAtWidth) -> f64| budget.widths.iter().map(|w| (w.width as f64, f(w))).collect();
    Figure::lines(
        &format!("{} steps: noise + bias² + variance against the measured test error", budget.steps),
        "hidden units",
        "mean squared error",
        vec![
            Series::line("bias²", line(|w| w.decomposition.bias2)),
            Series::line("variance", line(|w| w.decomposition.variance)),
            Series::line("noise σ²", line(|w| w.decomposition.noise)).style(Style::Dashed),
            Series::line("noise + bias² + variance", line(|w| w.decomposition.total())),
            Series::line("measured test error", line(|w| w.test_error)).style(Style::Points),
            Series::line("training error", line(|w| w.train_error)).style(Style::Dashed),
        ],
    )
    .x_scale(Scale::Log(2.0))
}

/// The 0–1 decomposition per width as a table (percent).
///
/// ```
/// assert_eq!(tchlab::experiments::bias_variance::zero_one_table(&[]).rows.len(), 0);
/// ```
pub fn zero_one_table(widths: &[ZeroOneAtWidth]) -> Table {
    let pct = |v: f64| format!("{:.2}", 100.0 * v);
    let rows = widths
        .iter()
        .map(|w| {
            let d = &w.decomposition;
            vec![
                w.width.to_string(),
                pct(w.train_error),
                pct(d.error),
                pct(d.bias),
                pct(d.variance),
                pct(d.unbiased_variance),
                pct(d.biased_variance),
                pct(d.net_variance),
            ]
        })
        .collect();
    Table::from_rows(
        &[
            "width",
            "train error (%)",
            "test error (%)",
            "bias (%)",
            "variance (%)",
            "unbiased var. (%)",
            "biased var. (%)",
            "net variance (%)",
        ],
        rows,
    )
}

/// Mean training loss per epoch of the MNIST models, one curve per width.
///
/// ```
/// use tchlab::experiments::bias_variance::{Config, mnist_training_figure};
/// let figure = mnist_training_figure(&Config::ci(), &[]);
/// ```
pub fn mnist_training_figure(c: &Config, runs: &[MnistRun]) -> Figure {
    let curves = runs.iter().map(|r| Series::line(&format!("w = {}", r.width), r.history.curve("train", "loss")));
    let title = format!("Mean training loss over the {} models (SGD)", c.mnist_sets);
    Figure::lines(&title, "epoch", "cross-entropy", curves.collect()).ordered()
}

/// Test error, bias and variances of the 0–1 loss across widths.
///
/// ```
/// use tchlab::experiments::bias_variance::{Config, zero_one_figure};
/// let figure = zero_one_figure(&Config::ci(), &[]);
/// ```
pub fn zero_one_figure(c: &Config, widths: &[ZeroOneAtWidth]) -> Figure {
    let line =
        |f: fn(&ZeroOneAtWidth) -> f64| widths.iter().map(|w| (w.width as f64, 100.0 * f(w))).collect::<Vec<_>>();
    Figure::lines(
        &format!("0–1 loss vs capacity on MNIST ({} training sets of {} images)", c.mnist_sets, c.mnist_n),
        "hidden units",
        "% of test points",
        vec![
            Series::line("test error", line(|w| w.decomposition.error)),
            Series::line("bias (main prediction wrong)", line(|w| w.decomposition.bias)),
            Series::line("variance (disagree with main)", line(|w| w.decomposition.variance)),
            Series::line("net variance = error − bias", line(|w| w.decomposition.net_variance)).style(Style::Dashed),
            Series::line("training error", line(|w| w.train_error)).style(Style::Dashed),
            Series::line("variance on unbiased points", line(|w| w.decomposition.unbiased_variance))
                .style(Style::Points),
            Series::line("variance on biased points", line(|w| w.decomposition.biased_variance)).style(Style::Points),
        ],
    )
    .x_scale(Scale::Log(2.0))
}

/// The runs of [`run`], kept for [`present`].
pub struct Runs {
    /// The regression's draws.
    pub regression: RegressionData,
    /// The first budget's runs.
    pub short: Vec<RegressionRun>,
    /// The long budget's runs (empty without one).
    pub long: Vec<RegressionRun>,
    /// The MNIST sets.
    pub mnist: MnistData,
    /// The MNIST runs.
    pub mnist_runs: Vec<MnistRun>,
}

/// Step 8: every figure and table, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::bias_variance::*;
/// let c = Config::ci();
/// let regression = regression_data(&c)?;
/// let short = train_regression(&c, &regression, c.reg_steps)?;
/// let reg = budget(&c, &regression, &short)?;
/// let mnist = mnist_data(&c)?;
/// let mnist_runs = train_mnist(&c, &mnist)?;
/// let r = results(&c, &reg, None, &zero_one(&mnist, &mnist_runs)?)?;
/// let runs = Runs { regression, short, long: vec![], mnist, mnist_runs };
/// assert_eq!(present(&c, &runs, &r)?.figure_names()[0], "reg_data");
/// # anyhow::Ok(())
/// ```
pub fn present(c: &Config, runs: &Runs, results: &Results) -> Result<Presentation> {
    let mut p = Presentation::default().figure("reg_data", regression_data_figure(c, &runs.regression)?);
    for (suffix, budget, budget_runs) in
        [("", Some(&results.reg), &runs.short), ("_long", results.reg_long.as_ref(), &runs.long)]
    {
        let Some(budget) = budget else { continue };
        p = p
            .table(&format!("reg_decomposition{suffix}"), decomposition_table(budget))
            .figure(&format!("reg_fits{suffix}"), fits_figure(c, budget_runs, budget)?)
            .figure(&format!("reg_training{suffix}"), regression_training_figure(c, budget_runs))
            .figure(&format!("reg_decomposition{suffix}"), decomposition_figure(budget));
    }
    Ok(p.figure("mnist_sets", mnist_sets_figure(c, &runs.mnist)?)
        .table("mnist_decomposition", zero_one_table(&results.mnist))
        .figure("mnist_training", mnist_training_figure(c, &runs.mnist_runs))
        .figure("mnist_decomposition", zero_one_figure(c, &results.mnist)))
}

/// Runs both decompositions, the steps in order.
///
/// ```no_run
/// let report = tchlab::experiments::bias_variance::run(&tchlab::experiments::bias_variance::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let regression = regression_data(c)?;
    let short = train_regression(c, &regression, c.reg_steps)?;
    let reg = budget(c, &regression, &short)?;
    let long = if c.reg_long_steps > 0 { train_regression(c, &regression, c.reg_long_steps)? } else { Vec::new() };
    let reg_long = if long.is_empty() { None } else { Some(budget(c, &regression, &long)?) };
    let mnist = mnist_data(c)?;
    let mnist_runs = train_mnist(c, &mnist)?;
    let results = results(c, &reg, reg_long.as_ref(), &zero_one(&mnist, &mnist_runs)?)?;
    let runs = Runs { regression, short, long, mnist, mnist_runs };
    Ok(c.report(&results, present(c, &runs, &results)?, clock))
}
