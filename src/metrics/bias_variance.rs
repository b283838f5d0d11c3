//! Bias–variance decompositions of an ensemble's predictions: many models, each trained
//! on its own training set, predicting the same test points.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

/// The squared-error decomposition at known truth (Geman et al. 1992): averaged over the
/// test points, `E[(y − f̂)²] = noise + bias² + variance` with `bias² = (f̄ − h)²`,
/// `variance = E_D[(f̂ − f̄)²]`, `f̄` the mean prediction over training sets and `h` the truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SquaredDecomposition {
    /// Mean over test points of `(f̄(x) − h(x))²`.
    pub bias2: f64,
    /// Mean over test points of the spread of the predictions around `f̄(x)` (divided by
    /// the number of models, the population variance, so the identity holds exactly).
    pub variance: f64,
    /// The noise variance `σ²` given.
    pub noise: f64,
}

impl SquaredDecomposition {
    /// `noise + bias2 + variance`: the expected test error the decomposition predicts.
    ///
    /// ```
    /// let d = tchlab::metrics::SquaredDecomposition { bias2: 0.01, variance: 0.02, noise: 0.09 };
    /// assert!((d.total() - 0.12).abs() < 1e-12);
    /// ```
    pub fn total(&self) -> f64 {
        self.noise + self.bias2 + self.variance
    }
}

/// Decomposes the predictions `[models, points]` of models trained on different training
/// sets, at test points whose true function values are `truth` `[points]`, with label
/// noise of variance `noise`.
///
/// ```
/// use tchlab::metrics::squared_decomposition;
/// // two models, two points; the truth is 0 at both
/// let preds = tch::Tensor::from_slice(&[1.0f32, 0.0, 3.0, 2.0]).reshape([2, 2]);
/// let truth = tch::Tensor::from_slice(&[0.0f32, 0.0]);
/// let d = squared_decomposition(&preds, &truth, 0.25).unwrap();
/// // mean predictions 2 and 1: bias² = (4 + 1) / 2; spreads 1 and 1
/// assert!((d.bias2 - 2.5).abs() < 1e-6 && (d.variance - 1.0).abs() < 1e-6);
/// assert!((d.total() - 3.75).abs() < 1e-6);
/// ```
pub fn squared_decomposition(predictions: &Tensor, truth: &Tensor, noise: f64) -> Result<SquaredDecomposition> {
    ensure!(predictions.dim() == 2, "predictions must be [models, points], got {:?}", predictions.size());
    let j = predictions.size()[1];
    ensure!(truth.size() == [j], "truth must be [{j}], got {:?}", truth.size());
    ensure!(noise >= 0.0, "noise variance {noise} must not be negative");
    let p = predictions.to_kind(Kind::Double);
    let mean = p.mean_dim(&[0i64][..], false, Kind::Double);
    let bias2 = (&mean - truth.to_kind(Kind::Double)).square().mean(Kind::Double).double_value(&[]);
    let variance = (&p - &mean).square().mean(Kind::Double).double_value(&[]);
    Ok(SquaredDecomposition { bias2, variance, noise })
}

/// Domingos' (2000) decomposition of the 0–1 loss without label noise. Per test point,
/// the main prediction `m` is the most frequent class over the models; bias is 1 when
/// `m` is wrong; variance is the fraction of models that disagree with `m`. On a point
/// with bias 0 variance adds to the error; on a point with bias 1 it subtracts from it:
/// `error = bias + unbiased_variance − c·biased_variance` exactly, `c = P(ŷ = t | ŷ ≠ m)`.
///
/// ```
/// // five models agree on the wrong class 1 at the only test point
/// let preds = tch::Tensor::from_slice(&[1i64; 5]).reshape([5, 1]);
/// let d = tchlab::metrics::zero_one_decomposition(&preds, &tch::Tensor::from_slice(&[0i64]), 2).unwrap();
/// assert_eq!((d.error, d.bias, d.variance, d.net_variance), (1.0, 1.0, 0.0, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZeroOneDecomposition {
    /// Mean 0–1 error over models and test points.
    pub error: f64,
    /// Fraction of test points whose main prediction is wrong.
    pub bias: f64,
    /// Mean over test points of the fraction of models disagreeing with the main prediction.
    pub variance: f64,
    /// The part of `variance` on points with bias 0 (it adds to the error).
    pub unbiased_variance: f64,
    /// The part of `variance` on points with bias 1.
    pub biased_variance: f64,
    /// `unbiased_variance − mean(c · variance on biased points)`: what variance adds to
    /// the error net (`error = bias + net_variance`).
    pub net_variance: f64,
}

/// Decomposes the class predictions `[models, points]` (`i64`) of models trained on
/// different training sets against the true labels `[points]`. Ties for the main
/// prediction go to the smallest class.
///
/// ```
/// use tchlab::metrics::zero_one_decomposition;
/// // three models, two points with labels 0 and 1
/// let preds = tch::Tensor::from_slice(&[0i64, 2, 0, 2, 1, 1]).reshape([3, 2]);
/// let labels = tch::Tensor::from_slice(&[0i64, 1]);
/// let d = zero_one_decomposition(&preds, &labels, 3).unwrap();
/// // point 0: main 0 (right), one model of three disagrees; point 1: main 2 (wrong)
/// assert!((d.bias - 0.5).abs() < 1e-9);
/// assert!((d.error - (1.0 / 3.0 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
/// assert!((d.error - (d.bias + d.net_variance)).abs() < 1e-12);
/// ```
pub fn zero_one_decomposition(predictions: &Tensor, labels: &Tensor, classes: i64) -> Result<ZeroOneDecomposition> {
    ensure!(predictions.dim() == 2, "predictions must be [models, points], got {:?}", predictions.size());
    let (k, j) = (predictions.size()[0], predictions.size()[1]);
    ensure!(labels.size() == [j], "labels must be [{j}], got {:?}", labels.size());
    let preds = predictions.to_kind(Kind::Int64);
    let labels = labels.to_kind(Kind::Int64);
    let lo = preds.min().int64_value(&[]).min(labels.min().int64_value(&[]));
    let hi = preds.max().int64_value(&[]).max(labels.max().int64_value(&[]));
    ensure!(lo >= 0 && hi < classes, "classes must be in 0..{classes}, found {lo}..={hi}");
    // counts[j, c]: how many models predict class c at point j
    let counts = Tensor::zeros([j, classes], (Kind::Double, preds.device())).scatter_add(
        1,
        &preds.tr().contiguous(),
        &Tensor::ones([j, k], (Kind::Double, preds.device())),
    );
    let main = counts.argmax(1, false);
    let kf = k as f64;
    let count_main = counts.gather(1, &main.unsqueeze(1), false).squeeze_dim(1);
    let count_true = counts.gather(1, &labels.unsqueeze(1), false).squeeze_dim(1);
    let bias = main.ne_tensor(&labels).to_kind(Kind::Double);
    let variance = 1.0 - &count_main / kf;
    let error = 1.0 - &count_true / kf;
    let unbiased = (1.0 - &bias) * &variance;
    let biased = &bias * &variance;
    // c = P(ŷ = t | ŷ ≠ m) where some models disagree with m; 0 where none do
    let others = kf - &count_main;
    let c = count_true / others.clamp_min(1.0);
    let net = &unbiased - &bias * &c * &variance;
    let m = |t: &Tensor| t.mean(Kind::Double).double_value(&[]);
    Ok(ZeroOneDecomposition {
        error: m(&error),
        bias: m(&bias),
        variance: m(&variance),
        unbiased_variance: m(&unbiased),
        biased_variance: m(&biased),
        net_variance: m(&net),
    })
}
