//! Loss functions of the lecture.

use anyhow::{Result, bail};
use tch::{Kind, Reduction, Tensor};

/// A classification loss on logits `[B, C]` and integer targets `[B]`.
///
/// ```
/// use tchlab::train::Loss;
/// let logits = tch::Tensor::from_slice(&[0.0f32, 0.0]).reshape([1, 2]);
/// let target = tch::Tensor::from_slice(&[1i64]);
/// let ce = Loss::CrossEntropy.compute(&logits, &target).unwrap().double_value(&[]);
/// assert!((ce - 2f64.ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax + cross-entropy on logits (mean over the batch).
    CrossEntropy,
    /// The lecture's sigmoid + MSE: mean over `B × C` of `(onehot − sigmoid(logits))²`.
    SigmoidMse,
    /// Sigmoid + binary cross-entropy against one-hot targets (mean over `B × C`).
    BinaryCrossEntropy,
    /// Log-softmax + negative log-likelihood (equal to cross-entropy).
    Nll,
}

impl Loss {
    /// The loss (a scalar tensor). Fails, rather than panics, on targets that are out
    /// of range or shapes that do not match.
    pub fn compute(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let one_hot = || one_hot_targets(logits, targets);
        Ok(match self {
            Loss::CrossEntropy | Loss::Nll => {
                logits.f_log_softmax(-1, Kind::Float)?.f_nll_loss(targets, None::<Tensor>, Reduction::Mean, -100)?
            }
            Loss::SigmoidMse => logits.sigmoid().f_mse_loss(&one_hot()?, Reduction::Mean)?,
            Loss::BinaryCrossEntropy => logits.f_binary_cross_entropy_with_logits(
                &one_hot()?,
                None::<Tensor>,
                None::<Tensor>,
                Reduction::Mean,
            )?,
        })
    }

    /// The loss of each example `[B]` (the mean of it is [`Loss::compute`]).
    ///
    /// ```
    /// use tchlab::train::Loss;
    /// let logits = tch::Tensor::from_slice(&[2.0f32, 0.0, 0.0, 2.0]).reshape([2, 2]);
    /// let t = tch::Tensor::from_slice(&[0i64, 0]);
    /// let each = Loss::CrossEntropy.per_example(&logits, &t).unwrap();
    /// let mean = Loss::CrossEntropy.compute(&logits, &t).unwrap();
    /// assert!((each.mean(tch::Kind::Float) - mean).abs().double_value(&[]) < 1e-6);
    /// ```
    pub fn per_example(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let one_hot = || one_hot_targets(logits, targets);
        Ok(match self {
            Loss::CrossEntropy | Loss::Nll => {
                -logits.f_log_softmax(-1, Kind::Float)?.f_gather(1, &targets.unsqueeze(1), false)?.squeeze_dim(1)
            }
            Loss::SigmoidMse => {
                (logits.sigmoid() - one_hot()?).square().mean_dim([-1i64].as_slice(), false, Kind::Float)
            }
            Loss::BinaryCrossEntropy => logits
                .f_binary_cross_entropy_with_logits(&one_hot()?, None::<Tensor>, None::<Tensor>, Reduction::None)?
                .mean_dim([-1i64].as_slice(), false, Kind::Float),
        })
    }

    /// Class probabilities implied by the loss: softmax, or sigmoid for the sigmoid losses.
    pub fn probabilities(&self, logits: &Tensor) -> Tensor {
        match self {
            Loss::CrossEntropy | Loss::Nll => logits.softmax(-1, Kind::Float),
            Loss::SigmoidMse | Loss::BinaryCrossEntropy => logits.sigmoid(),
        }
    }

    /// The command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross_entropy",
            Loss::SigmoidMse => "sigmoid_mse",
            Loss::BinaryCrossEntropy => "bce",
            Loss::Nll => "nll",
        }
    }

    /// Parses `cross_entropy`, `sigmoid_mse`, `bce` or `nll`.
    ///
    /// ```
    /// assert_eq!(tchlab::train::Loss::parse("ce").unwrap(), tchlab::train::Loss::CrossEntropy);
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "cross_entropy" | "ce" | "softmax_ce" => Loss::CrossEntropy,
            "sigmoid_mse" | "mse" => Loss::SigmoidMse,
            "bce" | "binary_cross_entropy" => Loss::BinaryCrossEntropy,
            "nll" => Loss::Nll,
            other => bail!("unknown loss `{other}`: use cross_entropy, sigmoid_mse, bce or nll"),
        })
    }
}

impl std::str::FromStr for Loss {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Loss::parse(s)
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Class indices `[B]` as one-hot rows `[B, classes]` of the logits' kind, the targets
/// of the sigmoid losses. Fails, rather than panics, on an index out of range.
pub(crate) fn one_hot_targets(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    Ok(targets.f_one_hot(*logits.size().last().unwrap_or(&0))?.to_kind(logits.kind()))
}
