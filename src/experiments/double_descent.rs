//! Deep double descent. Model-wise double descent of one-hidden-layer MLPs on an MNIST
//! subset with label noise (Nakkiran et al. 2019): test error against width, trained to
//! fit the noisy training set (no regularisation, no early stopping); and the sharp peak
//! of random ReLU features with a minimum-norm least-squares fit at `N = n` (Belkin et
//! al. 2019).
//!
//! The steps are public so that a notebook can run them one by one: [`data`] →
//! [`train_width`] (one width; [`train_widths`] all of them) → [`fit_features`] (one
//! number of features; [`fit_all_features`] all) → [`results`] → [`present`]. [`run`] composes exactly
//! these steps.

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{List, Presentation, Report};
use crate::data::{Mnist, MnistKind, NoisyLabels, Scaling, noisy_labels};
use crate::display::Table;
use crate::model::{Activation, MlpConfig, MlpEnsemble, RandomFeatures, one_hot};
use crate::plot::{Figure, Scale, Series, Style};
use crate::train::History;
use crate::train::{EnsembleLoss, EnsembleTrain};

super::settings! {
    /// Settings. MLP: the first 1,000 MNIST training images, 20 % of their labels replaced
    /// by a random wrong class; 784-w-10 ReLU MLPs for 11 widths from 2 to 512, full-batch
    /// Adam (0.001) for 1,000 steps, no weight decay, no early stopping; the 10,000
    /// test images. Random features: the first 1,000 training images (clean labels, as
    /// Belkin et al.), N = 0.1 n … 10 n ReLU features, min-norm least squares on one-hot
    /// targets with rcond 1e-10.
    ///
    /// ```
    /// let c = tchlab::experiments::double_descent::Config::lecture();
    /// assert_eq!((c.n_train, c.noise), (1000, 0.2));
    /// assert_eq!(c.rf_n, 1000);
    /// ```
    "double-descent",
    pub struct Config {
        /// Seed (label noise, initial weights, shuffling, random features).
        seed: u64 = 1,
        /// MLP: training images (the first ones of the training file).
        n_train: i64 = 1000,
        /// MLP: fraction of the training labels replaced by a random wrong class.
        noise: f64 = 0.2,
        /// MLP: hidden units of the 784-w-10 ReLU MLPs.
        widths: List<i64> = List(vec![2, 4, 6, 8, 10, 13, 16, 24, 40, 100, 512]),
        /// MLP: models per width (different initial weights and shuffling, trained at once).
        models: i64 = 1,
        /// MLP: Adam learning rate.
        lr: f64 = 0.001,
        /// MLP: minibatch size (0: full batch, every step sees all training images).
        batch: usize = 0,
        /// MLP: epochs, the same for every width (full batch: one epoch is one step).
        epochs: usize = 1000,
        /// MLP: a width "fits the training set" when its training error (on the noisy labels) is at most this (%).
        fit_tol: f64 = 1.0,
        /// Test images (the first ones of the test set), for both models.
        test: i64 = 10000,
        /// Random features: training images (the first ones of the training file).
        rf_n: i64 = 1000,
        /// Random features: fraction of their labels replaced by a random wrong class.
        rf_noise: f64 = 0.0,
        /// Random features: numbers of features N as multiples of rf_n.
        rf_ratios: List<f64> = List(vec![0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0]),
        /// Random features: singular values at or below rcond × the largest count as zero.
        rf_rcond: f64 = 1e-10,
    }
}

impl Config {
    /// CI: 500 noisy training images, 8 widths from 2 to 256, 2,000 test images; random
    /// features on 500 images up to 5 n.
    ///
    /// ```
    /// let c = tchlab::experiments::double_descent::Config::ci();
    /// assert!(c.n_train < tchlab::experiments::double_descent::Config::lecture().n_train);
    /// ```
    pub fn ci() -> Self {
        Config {
            n_train: 500,
            widths: List(vec![2, 4, 6, 8, 12, 24, 64, 256]),
            test: 2000,
            rf_n: 500,
            rf_ratios: List(vec![0.1, 0.2, 0.5, 0.8, 0.9, 1.0, 1.1, 1.25, 2.0, 5.0]),
            ..Self::lecture()
        }
    }

    fn validate(&self) -> Result<()> {
        ensure!(self.n_train > 0 && self.rf_n > 0 && self.test > 0, "n_train, rf_n and test must be at least 1");
        ensure!(!self.widths.0.is_empty() && self.widths.0.iter().all(|&w| w > 0), "widths must be ≥ 1 (at least one)");
        ensure!(self.models >= 1, "models must be at least 1, got {}", self.models);
        ensure!(self.epochs >= 1, "epochs must be at least 1");
        ensure!(
            !self.rf_ratios.0.is_empty() && self.rf_ratios.0.iter().all(|&r| r > 0.0),
            "rf_ratios must be positive (at least one)"
        );
        Ok(())
    }
}

/// The images both models see: the noisy MLP training set, the random-features
/// training set, and the test images.
pub struct Data {
    /// MLP training inputs `[n_train, 784]` in [0, 1].
    pub train_x: Tensor,
    /// Their true labels `[n_train]`.
    pub train_clean: Tensor,
    /// Their labels after the noise (what the MLPs are trained on), and which changed.
    pub train: NoisyLabels,
    /// Random-features training inputs `[rf_n, 784]`.
    pub rf_x: Tensor,
    /// Their labels (after `rf_noise`).
    pub rf_labels: NoisyLabels,
    /// Test inputs `[test, 784]`.
    pub test_x: Tensor,
    /// Test labels `[test]` (never noisy).
    pub test_y: Tensor,
    /// The first 16 training images (`u8`, `[16, 28, 28]`), to look at.
    pub shown: Tensor,
}

/// Loads MNIST and replaces the labels as the settings say.
///
/// ```no_run
/// use tchlab::experiments::double_descent::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.train.changed_count(), 100); // 20 % of 500
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    c.validate()?;
    let mnist = Mnist::load(MnistKind::Digits)?;
    let available = mnist.train_labels.size()[0];
    ensure!(c.n_train <= available && c.rf_n <= available, "n_train and rf_n must be at most {available}");
    let train = mnist.train_range(0..c.n_train, Scaling::Unit)?;
    let rf = mnist.train_range(0..c.rf_n, Scaling::Unit)?;
    let test = mnist.test(Scaling::Unit);
    let j = c.test.min(mnist.test_labels.size()[0]);
    Ok(Data {
        train_x: train.scaled_inputs().reshape([c.n_train, 784]),
        train_clean: train.labels().shallow_clone(),
        train: noisy_labels(train.labels(), c.noise, 10, c.seed)?,
        rf_x: rf.scaled_inputs().reshape([c.rf_n, 784]),
        rf_labels: noisy_labels(rf.labels(), c.rf_noise, 10, c.seed ^ 0x7F)?,
        test_x: test.scaled_inputs().narrow(0, 0, j).reshape([j, 784]),
        test_y: test.labels().narrow(0, 0, j),
        shown: train.inputs().narrow(0, 0, 16.min(c.n_train)),
    })
}

/// The first training images with their true and their training label (red-flagged
/// where the noise changed it).
pub fn noise_figure(data: &Data) -> Result<Figure> {
    let k = data.shown.size()[0];
    let clean: Vec<i64> = Vec::try_from(data.train_clean.narrow(0, 0, k))?;
    let noisy: Vec<i64> = Vec::try_from(data.train.labels.narrow(0, 0, k))?;
    let captions: Vec<String> = clean
        .iter()
        .zip(&noisy)
        .map(|(c, n)| if c == n { format!("{n}") } else { format!("{n} (is {c}) ✗") })
        .collect();
    let n = data.train_x.size()[0];
    Figure::image_grid(
        &format!(
            "{n} training images, {} labels ({:.0}%) replaced by a wrong class: the first {k}",
            data.train.changed_count(),
            100.0 * data.train.changed_count() as f64 / n as f64
        ),
        &(data.shown.to_kind(Kind::Float) / 255.0),
        &captions,
        8,
        false,
    )
}

/// The MLPs of one width after training.
pub struct WidthRun {
    /// Hidden units.
    pub width: i64,
    /// Parameters of one model.
    pub parameters: i64,
    /// Mean training loss and accuracy (on the noisy labels) per epoch over the models.
    pub history: History,
    /// Training error on the noisy labels (%), mean over the models.
    pub train_error: f64,
    /// Share of the replaced labels the models reproduce (%): memorised noise.
    pub memorised: f64,
    /// Test error (%), mean over the models.
    pub test_error: f64,
}

/// The 784-w-10 ReLU MLP of one width.
///
/// ```
/// let m = tchlab::experiments::double_descent::model(16);
/// assert_eq!(m.layer_sizes(), vec![784, 16, 10]);
/// ```
pub fn model(width: i64) -> MlpConfig {
    MlpConfig::new(784, &[width], 10).activation(Activation::Relu)
}

/// Error (%) of the members' predictions `[members, n, 10]` against labels `[n]`, mean
/// over members, counting only the rows where `mask` (if any) is true.
fn error_percent(outputs: &Tensor, labels: &Tensor, mask: Option<&Tensor>) -> f64 {
    let wrong = outputs.argmax(-1, false).ne_tensor(&labels.unsqueeze(0)).to_kind(Kind::Double);
    let wrong = match mask {
        None => wrong.mean(Kind::Double),
        Some(m) => {
            let m = m.to_kind(Kind::Double).unsqueeze(0);
            (wrong * &m).sum(Kind::Double) / (m.sum(Kind::Double) * outputs.size()[0] as f64).clamp_min(1.0)
        }
    };
    100.0 * wrong.double_value(&[])
}

/// Trains `c.models` MLPs of `width` at once (an [`MlpEnsemble`], seeded by `c.seed`) on
/// the noisy training set and measures them.
///
/// ```no_run
/// use tchlab::experiments::double_descent::{Config, data, train_width};
/// let c = Config { epochs: 50, ..Config::ci() };
/// let run = train_width(&c, &data(&c)?, 32)?;
/// println!("train {:.1}%, test {:.1}%", run.train_error, run.test_error);
/// # anyhow::Ok(())
/// ```
pub fn train_width(c: &Config, data: &Data, width: i64) -> Result<WidthRun> {
    let config = model(width);
    let mut ensemble = MlpEnsemble::new(&config, c.models, c.seed)?;
    let targets = data.train.labels.unsqueeze(0).expand([c.models, -1], false).contiguous();
    let mut train = EnsembleTrain::adam(c.lr, c.epochs, EnsembleLoss::CrossEntropy).seed(c.seed);
    if c.batch > 0 {
        train = train.batch(c.batch);
    }
    let history = train.fit(&mut ensemble, &data.train_x, &targets)?;
    let on_train = ensemble.predict(&data.train_x, 4000);
    let on_test = ensemble.predict(&data.test_x, 4000);
    Ok(WidthRun {
        width,
        parameters: config.parameter_count(),
        history,
        train_error: error_percent(&on_train, &data.train.labels, None),
        memorised: 100.0 - error_percent(&on_train, &data.train.labels, Some(&data.train.changed)),
        test_error: error_percent(&on_test, &data.test_y, None),
    })
}

/// [`train_width`] for every width of the settings, narrowest first, printing one line each.
pub fn train_widths(c: &Config, data: &Data) -> Result<Vec<WidthRun>> {
    let mut runs = Vec::new();
    for &w in &c.widths.0 {
        let run = train_width(c, data, w)?;
        println!(
            "width {w:>4} ({:>6} parameters): train error {:5.2}% (noisy labels), memorised {:5.1}% of the replaced labels, test error {:5.2}%",
            run.parameters, run.train_error, run.memorised, run.test_error
        );
        runs.push(run);
    }
    Ok(runs)
}

/// One random-features model after its min-norm fit.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureRun {
    /// Number of features N.
    pub features: i64,
    /// Mean squared error on the one-hot training targets (summed over the 10 outputs).
    pub train_mse: f64,
    /// The same on the test images.
    pub test_mse: f64,
    /// Training error (%) of the argmax.
    pub train_error: f64,
    /// Test error (%).
    pub test_error: f64,
    /// ‖β‖ (Frobenius norm of the output layer).
    pub norm: f64,
    /// Smallest kept singular value of the feature matrix / the largest.
    pub smallest_singular: f64,
    /// Singular values kept.
    pub rank: usize,
}

/// The numbers of features of the settings: `round(ratio · rf_n)` for each ratio.
///
/// ```
/// let c = tchlab::experiments::double_descent::Config::ci();
/// assert_eq!(tchlab::experiments::double_descent::feature_counts(&c)[5], 500); // N = n
/// ```
pub fn feature_counts(c: &Config) -> Vec<i64> {
    c.rf_ratios.0.iter().map(|r| ((r * c.rf_n as f64).round() as i64).max(1)).collect()
}

/// Fits the random-features model with `features` features (first layer seeded by
/// `c.seed`) on the random-features training set by min-norm least squares, and measures it.
///
/// ```no_run
/// use tchlab::experiments::double_descent::{Config, data, fit_features};
/// let c = Config::ci();
/// let at_n = fit_features(&c, &data(&c)?, 500)?; // N = n: the peak
/// println!("test error {:.1}%, ‖β‖ = {:.0}", at_n.test_error, at_n.norm);
/// # anyhow::Ok(())
/// ```
pub fn fit_features(c: &Config, data: &Data, features: i64) -> Result<FeatureRun> {
    let mut rf = RandomFeatures::new(784, features, 10, c.seed)?;
    let y = one_hot(&data.rf_labels.labels, 10)?;
    let fit = rf.fit_min_norm(&data.rf_x, &y, c.rf_rcond)?;
    let on_train = rf.predict(&data.rf_x, 2000)?;
    let on_test = rf.predict(&data.test_x, 2000)?;
    let mse = |out: &Tensor, labels: &Tensor| -> Result<f64> {
        Ok((out - one_hot(labels, 10)?)
            .square()
            .sum_dim_intlist(&[1i64][..], false, Kind::Double)
            .mean(Kind::Double)
            .double_value(&[]))
    };
    Ok(FeatureRun {
        features,
        train_mse: mse(&on_train, &data.rf_labels.labels)?,
        test_mse: mse(&on_test, &data.test_y)?,
        train_error: error_percent(&on_train.unsqueeze(0), &data.rf_labels.labels, None),
        test_error: error_percent(&on_test.unsqueeze(0), &data.test_y, None),
        norm: fit.solution.norm().double_value(&[]),
        smallest_singular: fit.smallest_relative_singular_value(),
        rank: fit.rank,
    })
}

/// [`fit_features`] for every number of features of the settings, printing one line each.
pub fn fit_all_features(c: &Config, data: &Data) -> Result<Vec<FeatureRun>> {
    let mut runs = Vec::new();
    for n in feature_counts(c) {
        let r = fit_features(c, data, n)?;
        println!(
            "N = {n:>5} ({:>5.2} n): train MSE {:.2e}, test MSE {:8.3}, test error {:5.2}%, ‖β‖ {:9.1}, s_min/s_max {:.1e}",
            n as f64 / c.rf_n as f64,
            r.train_mse,
            r.test_mse,
            r.test_error,
            r.norm,
            r.smallest_singular
        );
        runs.push(r);
    }
    Ok(runs)
}

/// The run whose `key` is closest to `target` (the first on ties).
fn nearest<T>(runs: &[T], key: impl Fn(&T) -> f64, target: f64) -> &T {
    runs.iter().min_by(|a, b| (key(a) - target).abs().total_cmp(&(key(b) - target).abs())).expect("at least one run")
}

/// One width's MLP numbers, named `mlp_w16_train_error`, `mlp_w16_test_error`,
/// `mlp_w16_memorised`.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpAtWidth {
    /// Hidden units.
    pub width: i64,
    /// Training error on the noisy labels (%).
    pub train_error: f64,
    /// Test error (%).
    pub test_error: f64,
    /// Replaced labels memorised (%).
    pub memorised: f64,
}

impl super::MetricValue for MlpAtWidth {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        let w = self.width;
        out.push((format!("mlp_w{w}_train_error"), self.train_error));
        out.push((format!("mlp_w{w}_test_error"), self.test_error));
        out.push((format!("mlp_w{w}_memorised"), self.memorised));
    }
}

/// One random-features fit's numbers, named `rf_n500_test_error`, … .
impl super::MetricValue for FeatureRun {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        for (name, v) in [
            ("test_error", self.test_error),
            ("test_mse", self.test_mse),
            ("train_mse", self.train_mse),
            ("norm", self.norm),
        ] {
            out.push((format!("rf_n{}_{name}", self.features), v));
        }
    }
}

/// The random-features fit nearest to a ratio N / n, named after the ratio:
/// `rf_at_n_test_error`, `rf_at_0.2n_test_mse`, … .
#[derive(Clone, Debug, PartialEq)]
pub struct AtRatio {
    /// The ratio as the names write it: `0.2n`, `n`, `5n`.
    pub label: &'static str,
    /// The fit.
    pub fit: FeatureRun,
}

impl super::MetricValue for AtRatio {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        let f = &self.fit;
        for (name, v) in [
            ("test_error", f.test_error),
            ("test_mse", f.test_mse),
            ("train_mse", f.train_mse),
            ("smallest_singular", f.smallest_singular),
        ] {
            out.push((format!("rf_at_{}_{name}", self.label), v));
        }
    }
}

crate::results! {
    /// The shape of both curves: the MLPs' test error across widths (peak, threshold,
    /// second descent) and the random-features peak at N = n.
    pub struct Results {
        /// Per width, narrowest first.
        mlp: Vec<MlpAtWidth>,
        /// The width with the highest test error.
        mlp_peak_width: i64,
        /// That test error (%).
        mlp_peak_test_error: f64,
        /// The width with the lowest test error.
        mlp_best_width: i64,
        /// That test error (%).
        mlp_best_test_error: f64,
        /// The narrowest width's test error (%).
        mlp_narrowest_test_error: f64,
        /// The widest width's test error (%).
        mlp_widest_test_error: f64,
        /// The widest width's training error on the noisy labels (%).
        mlp_widest_train_error: f64,
        /// The widest width's memorised noise (%).
        mlp_widest_memorised: f64,
        /// The interpolation threshold: the narrowest width whose training error is at most
        /// `fit_tol` (none when no width fits).
        mlp_threshold_width: Option<i64>,
        /// The highest test error within one width of the threshold (%).
        mlp_threshold_test_error: Option<f64>,
        /// That − the widest's test error (points).
        mlp_threshold_minus_widest: Option<f64>,
        /// Peak − widest test error (points): the second descent.
        mlp_peak_minus_widest: f64,
        /// Peak − the lowest test error before it (points): the rise.
        mlp_peak_minus_best_before: f64,
        /// Random features: every fit, fewest features first.
        rf: Vec<FeatureRun>,
        /// N / n of the highest test error.
        rf_peak_ratio: f64,
        /// That test error (%).
        rf_peak_test_error: f64,
        /// The fit nearest N = 0.2 n.
        rf_at_fifth_n: AtRatio,
        /// The fit nearest N = n, the interpolation threshold.
        rf_at_n: AtRatio,
        /// The fit nearest N = 5 n.
        rf_at_five_n: AtRatio,
        /// The most features' test error (%).
        rf_widest_test_error: f64,
        /// ‖β‖ at N = n / at N = 5 n.
        rf_norm_at_n_over_5n: f64,
    }
}

/// Step 5: the shape of both curves.
///
/// ```no_run
/// use tchlab::experiments::double_descent::{Config, data, fit_all_features, results, train_widths};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let r = results(&c, &train_widths(&c, &d)?, &fit_all_features(&c, &d)?)?;
/// assert!(r.rf_at_n.fit.test_error > r.rf_at_five_n.fit.test_error);
/// # anyhow::Ok(())
/// ```
pub fn results(c: &Config, widths: &[WidthRun], features: &[FeatureRun]) -> Result<Results> {
    ensure!(!widths.is_empty() && !features.is_empty(), "the results need at least one width and one N");
    let by_test_error = |a: &&WidthRun, b: &&WidthRun| a.test_error.total_cmp(&b.test_error);
    let (peak, best) = (widths.iter().max_by(by_test_error), widths.iter().min_by(by_test_error));
    let (peak, best) = (peak.unwrap_or(&widths[0]), best.unwrap_or(&widths[0]));
    let (narrowest, widest) = (&widths[0], &widths[widths.len() - 1]);
    // the interpolation threshold: the narrowest width that fits the noisy training set,
    // and the highest test error from its neighbourhood (one width either side)
    let threshold = widths.iter().position(|r| r.train_error <= c.fit_tol);
    let threshold_peak = threshold.map(|i| {
        (i.saturating_sub(1)..=(i + 1).min(widths.len() - 1)).map(|j| widths[j].test_error).fold(f64::MIN, f64::max)
    });
    let peak_index = widths.iter().position(|r| r.width == peak.width).unwrap_or(0);
    let before = widths[..peak_index].iter().map(|r| r.test_error).fold(peak.test_error, f64::min);
    let n = c.rf_n as f64;
    let rf_peak = features.iter().max_by(|a, b| a.test_error.total_cmp(&b.test_error)).unwrap_or(&features[0]);
    let at = |label, ratio: f64| AtRatio { label, fit: nearest(features, |r| r.features as f64 / n, ratio).clone() };
    let (rf_at_fifth_n, rf_at_n, rf_at_five_n) = (at("0.2n", 0.2), at("n", 1.0), at("5n", 5.0));
    Ok(Results {
        mlp: widths
            .iter()
            .map(|r| MlpAtWidth {
                width: r.width,
                train_error: r.train_error,
                test_error: r.test_error,
                memorised: r.memorised,
            })
            .collect(),
        mlp_peak_width: peak.width,
        mlp_peak_test_error: peak.test_error,
        mlp_best_width: best.width,
        mlp_best_test_error: best.test_error,
        mlp_narrowest_test_error: narrowest.test_error,
        mlp_widest_test_error: widest.test_error,
        mlp_widest_train_error: widest.train_error,
        mlp_widest_memorised: widest.memorised,
        mlp_threshold_width: threshold.map(|i| widths[i].width),
        mlp_threshold_test_error: threshold_peak,
        mlp_threshold_minus_widest: threshold_peak.map(|e| e - widest.test_error),
        mlp_peak_minus_widest: peak.test_error - widest.test_error,
        mlp_peak_minus_best_before: peak.test_error - before,
        rf: features.to_vec(),
        rf_peak_ratio: rf_peak.features as f64 / n,
        rf_peak_test_error: rf_peak.test_error,
        rf_norm_at_n_over_5n: rf_at_n.fit.norm / rf_at_five_n.fit.norm,
        rf_at_fifth_n,
        rf_at_n,
        rf_at_five_n,
        rf_widest_test_error: features[features.len() - 1].test_error,
    })
}

/// The MLPs per width: parameters, training error, memorised noise, test error.
///
/// ```no_run
/// # use tchlab::experiments::double_descent::*;
/// # let c = Config::ci(); let d = data(&c)?;
/// let table = mlp_table(&train_widths(&c, &d)?);
/// # anyhow::Ok(())
/// ```
pub fn mlp_table(widths: &[WidthRun]) -> Table {
    let rows = widths
        .iter()
        .map(|r| {
            vec![
                r.width.to_string(),
                r.parameters.to_string(),
                format!("{:.2}", r.train_error),
                format!("{:.1}", r.memorised),
                format!("{:.2}", r.test_error),
            ]
        })
        .collect();
    Table::from_rows(&["width", "parameters", "train error (%)", "memorised noise (%)", "test error (%)"], rows)
}

/// Training error on the noisy labels per epoch, one curve per width.
///
/// ```no_run
/// # use tchlab::experiments::double_descent::*;
/// # let c = Config::ci(); let d = data(&c)?;
/// let figure = mlp_training_figure(&c, &d, &train_widths(&c, &d)?);
/// # anyhow::Ok(())
/// ```
pub fn mlp_training_figure(c: &Config, data: &Data, widths: &[WidthRun]) -> Figure {
    let curves = widths
        .iter()
        .map(|r| {
            let error = r.history.curve("train", "accuracy").into_iter().map(|(e, a)| (e, 100.0 * (1.0 - a)));
            Series::line(&format!("w = {}", r.width), error.collect())
        })
        .collect();
    let n = data.train_x.size()[0];
    Figure::lines(
        &format!("Training error on the noisy labels during training ({n} images, Adam {})", c.lr),
        "epoch",
        "training error (%)",
        curves,
    )
    .ordered()
}

/// Test error, training error and memorised noise against width.
///
/// ```no_run
/// # use tchlab::experiments::double_descent::*;
/// # let c = Config::ci(); let d = data(&c)?;
/// let figure = mlp_figure(&c, &d, &train_widths(&c, &d)?);
/// # anyhow::Ok(())
/// ```
pub fn mlp_figure(c: &Config, data: &Data, widths: &[WidthRun]) -> Figure {
    let line = |f: fn(&WidthRun) -> f64| widths.iter().map(|r| (r.width as f64, f(r))).collect();
    let n = data.train_x.size()[0];
    Figure::lines(
        &format!(
            "784-w-10 MLPs, {n} MNIST images with {:.0}% label noise, {} epochs: error vs width",
            100.0 * c.noise,
            c.epochs
        ),
        "hidden units",
        "error (%)",
        vec![
            Series::line("test error", line(|r| r.test_error)),
            Series::line("training error (noisy labels)", line(|r| r.train_error)).style(Style::Dashed),
            Series::line("replaced labels memorised (%)", line(|r| r.memorised)).style(Style::Points),
        ],
    )
    .x_scale(Scale::Log(2.0))
}

/// The random-features fits: N, N / n, training and test MSE and error, ‖β‖, the
/// conditioning and rank of the feature matrix.
///
/// ```
/// let table = tchlab::experiments::double_descent::features_table(&tchlab::experiments::double_descent::Config::ci(), &[]);
/// assert!(table.rows.is_empty());
/// ```
pub fn features_table(c: &Config, features: &[FeatureRun]) -> Table {
    let rows = features
        .iter()
        .map(|r| {
            vec![
                r.features.to_string(),
                format!("{:.2}", r.features as f64 / c.rf_n as f64),
                format!("{:.2e}", r.train_mse),
                format!("{:.2}", r.train_error),
                format!("{:.3}", r.test_mse),
                format!("{:.2}", r.test_error),
                format!("{:.1}", r.norm),
                format!("{:.1e}", r.smallest_singular),
                r.rank.to_string(),
            ]
        })
        .collect();
    Table::from_rows(
        &["N", "N / n", "train MSE", "train error (%)", "test MSE", "test error (%)", "‖β‖", "s_min / s_max", "rank"],
        rows,
    )
}

/// The random-features curves against N / n: errors, and test MSE with ‖β‖ on log axes.
///
/// ```
/// let figure = tchlab::experiments::double_descent::features_figure(&tchlab::experiments::double_descent::Config::ci(), &[]);
/// ```
pub fn features_figure(c: &Config, features: &[FeatureRun]) -> Figure {
    let n = c.rf_n as f64;
    let line = |f: fn(&FeatureRun) -> f64| features.iter().map(|r| (r.features as f64 / n, f(r))).collect();
    let x = "features per training image, N / n";
    let errors = Figure::lines(
        &format!("Random ReLU features, min-norm least squares, n = {} MNIST images", c.rf_n),
        x,
        "error (%)",
        vec![
            Series::line("test error", line(|r| r.test_error)),
            Series::line("training error", line(|r| r.train_error)).style(Style::Dashed),
        ],
    )
    .x_scale(Scale::Log(10.0));
    let norms = Figure::lines(
        "Squared loss and the norm of the fitted output layer",
        x,
        "test MSE and ‖β‖ (log scale)",
        vec![
            Series::line("test MSE", line(|r| r.test_mse)),
            Series::line("‖β‖", line(|r| r.norm)).style(Style::Dashed),
        ],
    )
    .x_scale(Scale::Log(10.0))
    .y_scale(Scale::Log(10.0));
    Figure::grid(vec![errors, norms], 2)
}

/// Step 6: every figure and table, as `tchlab run` saves them.
///
/// ```no_run
/// # use tchlab::experiments::double_descent::*;
/// # let c = Config::ci(); let d = data(&c)?;
/// let p = present(&c, &d, &train_widths(&c, &d)?, &fit_all_features(&c, &d)?)?;
/// assert_eq!(p.figure_names()[0], "noisy_labels");
/// # anyhow::Ok(())
/// ```
pub fn present(c: &Config, data: &Data, widths: &[WidthRun], features: &[FeatureRun]) -> Result<Presentation> {
    Ok(Presentation::default()
        .figure("noisy_labels", noise_figure(data)?)
        .table("mlp", mlp_table(widths))
        .figure("mlp_training", mlp_training_figure(c, data, widths))
        .figure("mlp_double_descent", mlp_figure(c, data, widths))
        .table("random_features", features_table(c, features))
        .figure("rf_double_descent", features_figure(c, features)))
}

/// Runs every step: data, the MLPs of every width, the random-features models, the results.
///
/// ```no_run
/// let report = tchlab::experiments::double_descent::run(&tchlab::experiments::double_descent::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let d = data(c)?;
    let widths = train_widths(c, &d)?;
    let features = fit_all_features(c, &d)?;
    let results = results(c, &widths, &features)?;
    Ok(c.report(&results, present(c, &d, &widths, &features)?, clock))
}
