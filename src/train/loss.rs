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
                -logits.f_log_softmax(-1, Kind::Float)?.f_gather(-1, &targets.unsqueeze(-1), false)?.squeeze_dim(-1)
            }
            Loss::SigmoidMse => {
                (logits.sigmoid() - one_hot()?).square().mean_dim([-1i64].as_slice(), false, Kind::Float)
            }
            Loss::BinaryCrossEntropy => logits
                .f_binary_cross_entropy_with_logits(&one_hot()?, None::<Tensor>, None::<Tensor>, Reduction::None)?
                .mean_dim([-1i64].as_slice(), false, Kind::Float),
        })
    }

    /// The batch's mean loss and `scale ×` its gradient with respect to the logits, without
    /// autograd (the training step passes `scale = −lr`, so the result is the update's
    /// error `δ` of the last layer). On the CPU both come from one pass over the logits
    /// ([`loss_and_scaled_gradient_on_cpu`]); elsewhere from libtorch's loss kernels and
    /// their backward kernels. Binary cross-entropy has no such pass (an error).
    ///
    /// ```
    /// use tchlab::train::Loss;
    /// let logits = tch::Tensor::from_slice(&[0.0f32, 0.0]).reshape([1, 2]);
    /// let target = tch::Tensor::from_slice(&[1i64]);
    /// let (value, grad) = Loss::CrossEntropy.value_and_scaled_gradient(&logits, &target, 1.0).unwrap();
    /// assert!((value - 2f64.ln()).abs() < 1e-6);
    /// assert!((grad.double_value(&[0, 1]) + 0.5).abs() < 1e-6); // softmax − one-hot
    /// ```
    pub fn value_and_scaled_gradient(&self, logits: &Tensor, labels: &Tensor, scale: f64) -> Result<(f64, Tensor)> {
        let _guard = tch::no_grad_guard();
        if let Some(done) = loss_and_scaled_gradient_on_cpu(*self, logits, labels, scale)? {
            return Ok(done);
        }
        let grad_output = Tensor::from(scale as f32).to_device(logits.device());
        let (value, grad) = match self {
            Loss::CrossEntropy | Loss::Nll => {
                let log_p = logits.f_log_softmax(-1, Kind::Float)?;
                let value = log_p.f_nll_loss(labels, None::<Tensor>, Reduction::Mean, -100)?;
                let count = Tensor::from(labels.size()[0] as f32).to_device(logits.device());
                let grad =
                    log_p.f_nll_loss_backward(&grad_output, labels, None::<Tensor>, Reduction::Mean, -100, &count)?;
                (value, Tensor::f_internal_log_softmax_backward_data(&grad, &log_p, -1, Kind::Float)?)
            }
            Loss::SigmoidMse => {
                let p = logits.sigmoid();
                let target = one_hot_targets(logits, labels)?;
                let value = p.f_mse_loss(&target, Reduction::Mean)?;
                let grad = p.f_mse_loss_backward(&grad_output, &target, Reduction::Mean)?;
                (value, Tensor::f_sigmoid_backward(&grad, &p)?)
            }
            Loss::BinaryCrossEntropy => {
                bail!("binary cross-entropy has no closed-form gradient here: train it with autograd")
            }
        };
        Ok((value.f_double_value(&[])?, grad))
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

/// The mean loss and `scale ×` its gradient with respect to the logits, computed in
/// plain Rust in one pass over CPU `f32` logits `[B, C]` (for the lecture's 100 × 10
/// this takes a few microseconds, against about fifty for libtorch's four loss and
/// backward calls). `None` when the logits are not a CPU `f32` matrix or the loss has
/// no fused backward pass; an error names the example whose label is out of range.
///
/// Cross-entropy and NLL: `scale · (softmax(z) − onehot(y)) / B`. Sigmoid + MSE:
/// `scale · 2 (p − onehot(y)) · p (1 − p) / (B · C)` with `p = sigmoid(z)`.
fn loss_and_scaled_gradient_on_cpu(
    loss: Loss,
    logits: &Tensor,
    labels: &Tensor,
    scale: f64,
) -> Result<Option<(f64, Tensor)>> {
    let size = logits.size();
    let on_cpu = logits.device() == tch::Device::Cpu && labels.device() == tch::Device::Cpu;
    if !on_cpu || logits.kind() != Kind::Float || labels.kind() != Kind::Int64 || size.len() != 2 {
        return Ok(None);
    }
    let (batch, classes) = (size[0] as usize, size[1] as usize);
    anyhow::ensure!(
        labels.size() == [size[0]],
        "{} labels for a batch of {batch} logits: the labels must be one class index per example",
        labels.numel()
    );
    let mut z = vec![0f32; batch * classes];
    logits.f_copy_data(&mut z, batch * classes)?;
    let mut y = vec![0i64; batch];
    labels.f_copy_data(&mut y, batch)?;
    let mut total = 0f64;
    for (i, (row, &label)) in z.chunks_exact_mut(classes).zip(&y).enumerate() {
        let Some(target) = usize::try_from(label).ok().filter(|&t| t < classes) else {
            anyhow::bail!("label {label} of example {i} in the batch is out of range for {classes} classes");
        };
        match loss {
            Loss::CrossEntropy | Loss::Nll => {
                let scale = (scale / batch as f64) as f32;
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
                let log_sum = sum.ln();
                total -= f64::from(row[target] - max - log_sum);
                for (j, v) in row.iter_mut().enumerate() {
                    let p = (*v - max - log_sum).exp();
                    *v = scale * (p - if j == target { 1.0 } else { 0.0 });
                }
            }
            Loss::SigmoidMse => {
                let scale = (2.0 * scale / (batch * classes) as f64) as f32;
                for (j, v) in row.iter_mut().enumerate() {
                    let p = 1.0 / (1.0 + (-*v).exp());
                    let diff = p - if j == target { 1.0 } else { 0.0 };
                    total += f64::from(diff * diff);
                    *v = scale * diff * p * (1.0 - p);
                }
            }
            Loss::BinaryCrossEntropy => return Ok(None),
        }
    }
    let mean = match loss {
        Loss::SigmoidMse => total / (batch * classes) as f64,
        _ => total / batch as f64,
    };
    Ok(Some((mean, crate::data::f32_tensor(&z, &size)?)))
}
