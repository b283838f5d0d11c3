//! The fused SGD step for plain MLPs: forward pass, loss, backward pass and the SGD
//! update in about a dozen libtorch calls, with no autograd graph and no gradient
//! tensors. Each weight gradient `δᵀ·h` is added to the weight inside one matrix
//! product (`W.addmm_(δᵀ, h)` with `δ` already scaled by `−lr`), so a step does the
//! model's matrix products and little else; on the CPU the loss and `δ` come from one
//! pass in plain Rust over the logits. The [`Trainer`](super::Trainer) uses it when
//! [`fused_step_blocker`] finds nothing against it; otherwise it runs autograd and the
//! tch optimiser. Both compute the same update (up to float rounding).

use anyhow::Result;
use tch::{Kind, Reduction, Tensor};

use super::loss::one_hot_targets;
use super::{Hook, Loss, OptimizerKind, TrainConfig};
use crate::model::{Activation, Mlp, Network};

/// Why the fused step cannot train `model` under `config` with `hooks`, or `None`
/// when it can: an [`Mlp`] without dropout or PReLU whose activation is identity,
/// sigmoid, tanh, ReLU or leaky ReLU; cross-entropy, NLL or sigmoid + MSE loss; SGD
/// without momentum; no hook that reads gradients; `config.fused_step` on.
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::train::fused_step_blocker;
/// let mlp = Mlp::new(&MlpConfig::new(4, &[8], 3).activation(Activation::Sigmoid), 1).unwrap();
/// assert_eq!(fused_step_blocker(&mlp, &TrainConfig::sgd(0.1, 1), &[]), None);
/// let adam = TrainConfig::adam(0.001, 1);
/// assert!(fused_step_blocker(&mlp, &adam, &[]).unwrap().contains("Adam"));
/// ```
pub fn fused_step_blocker(model: &dyn Network, config: &TrainConfig, hooks: &[Box<dyn Hook>]) -> Option<String> {
    if !config.fused_step {
        return Some("the fused step is turned off (TrainConfig::fused_step)".into());
    }
    let Some(mlp) = model.as_mlp() else {
        return Some(format!("`{}` is not a plain MLP", model.describe()));
    };
    let c = mlp.config();
    if !matches!(
        c.activation,
        Activation::Identity | Activation::Sigmoid | Activation::Tanh | Activation::Relu | Activation::LeakyRelu(_)
    ) {
        return Some(format!("the activation {} has no fused backward pass", c.activation));
    }
    if c.dropout > 0.0 {
        return Some("the model uses dropout".into());
    }
    if config.loss == Loss::BinaryCrossEntropy {
        return Some("binary cross-entropy has no fused backward pass".into());
    }
    match config.optimizer {
        OptimizerKind::Sgd { momentum, .. } if momentum != 0.0 => return Some("SGD with momentum".into()),
        OptimizerKind::Adam { .. } => return Some("the optimiser is Adam".into()),
        _ => {}
    }
    if hooks.iter().any(|h| h.needs_gradients()) {
        return Some("a hook reads gradients after the backward pass".into());
    }
    None
}

/// A forward pass kept for its backward pass: each layer's input and what its
/// activation's derivative needs (the output for sigmoid, tanh and ReLU, the net
/// input for leaky ReLU).
pub(crate) struct FusedStep<'a> {
    mlp: &'a Mlp,
    layer_inputs: Vec<Tensor>,
    saved: Vec<Tensor>,
    logits: Tensor,
}

impl<'a> FusedStep<'a> {
    /// The forward pass of `mlp` on `inputs` (`[B, ...]`, float), without autograd.
    pub(crate) fn forward(mlp: &'a Mlp, inputs: &Tensor) -> FusedStep<'a> {
        let _guard = tch::no_grad_guard();
        let activation = mlp.config().activation;
        let layers = mlp.layers();
        let mut h = if inputs.dim() > 2 { inputs.flatten(1, -1) } else { inputs.shallow_clone() };
        let (mut layer_inputs, mut saved) = (Vec::with_capacity(layers.len()), Vec::with_capacity(layers.len()));
        for (k, layer) in layers.iter().enumerate() {
            let z = h.linear(&layer.ws, layer.bs.as_ref());
            layer_inputs.push(h);
            if k + 1 == layers.len() {
                h = z;
                break;
            }
            h = activation.apply(&z, None);
            saved.push(if matches!(activation, Activation::LeakyRelu(_)) { z } else { h.shallow_clone() });
        }
        FusedStep { mlp, layer_inputs, saved, logits: h }
    }

    /// The logits `[B, classes]`.
    pub(crate) fn logits(&self) -> &Tensor {
        &self.logits
    }

    /// The batch's mean loss, read for the divergence check before the update, and its
    /// gradient with respect to the logits multiplied by `−lr` (the error `δ` of the
    /// last layer, already scaled for the update). On the CPU both come from one pass
    /// over the logits ([`loss_and_delta_on_cpu`]); elsewhere from libtorch's loss
    /// kernels and their backward kernels.
    pub(crate) fn loss(&self, loss: Loss, labels: &Tensor, lr: f64) -> Result<(f64, Tensor)> {
        let _guard = tch::no_grad_guard();
        let logits = &self.logits;
        if let Some(done) = loss_and_delta_on_cpu(loss, logits, labels, lr)? {
            return Ok(done);
        }
        let grad_output = Tensor::from(-lr as f32).to_device(logits.device());
        let (value, delta) = match loss {
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
            Loss::BinaryCrossEntropy => anyhow::bail!("binary cross-entropy has no fused backward pass"),
        };
        Ok((value.f_double_value(&[])?, delta))
    }

    /// Backward pass and SGD update in place: `W ← (1 − lr·wd)·W − lr·δᵀh`, the same
    /// for the biases with `δ` summed over the batch. `delta` is the scaled error of the
    /// last layer as [`FusedStep::loss`] returned it.
    pub(crate) fn update(self, mut delta: Tensor, lr: f64, weight_decay: f64) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let activation = self.mlp.config().activation;
        let layers = self.mlp.layers();
        for k in (0..layers.len()).rev() {
            let (mut w, mut b) = (layers[k].ws.shallow_clone(), layers[k].bs.as_ref().map(Tensor::shallow_clone));
            // The error of the layer below uses this layer's weights before the update.
            let below = if k > 0 { Some(delta.f_mm(&w)?) } else { None };
            if weight_decay != 0.0 {
                let _ = w.f_mul_scalar_(1.0 - lr * weight_decay)?;
                if let Some(b) = b.as_mut() {
                    let _ = b.f_mul_scalar_(1.0 - lr * weight_decay)?;
                }
            }
            let _ = w.f_addmm_(&delta.tr(), &self.layer_inputs[k])?;
            if let Some(b) = b.as_mut() {
                let _ = b.f_add_(&delta.f_sum_dim_intlist(0, false, Kind::Float)?)?;
            }
            if let Some(g) = below {
                let s = &self.saved[k - 1];
                delta = match activation {
                    Activation::Identity => g,
                    Activation::Sigmoid => Tensor::f_sigmoid_backward(&g, s)?,
                    Activation::Tanh => Tensor::f_tanh_backward(&g, s)?,
                    Activation::Relu => s.f_threshold_backward(&g, 0.0)?,
                    Activation::LeakyRelu(slope) => s.f_leaky_relu_backward(&g, slope, false)?,
                    other => anyhow::bail!("the activation {other} has no fused backward pass"),
                };
            }
        }
        Ok(())
    }
}

/// The mean loss and `−lr ×` its gradient with respect to the logits, computed in
/// plain Rust in one pass over CPU `f32` logits `[B, C]` (for the lecture's 100 × 10
/// this takes a few microseconds, against about fifty for libtorch's four loss and
/// backward calls). `None` when the logits are not a CPU `f32` matrix or the loss has
/// no fused backward pass; an error names the example whose label is out of range.
///
/// Cross-entropy and NLL: `δ = −lr · (softmax(z) − onehot(y)) / B`. Sigmoid + MSE:
/// `δ = −lr · 2 (p − onehot(y)) · p (1 − p) / (B · C)` with `p = sigmoid(z)`.
fn loss_and_delta_on_cpu(loss: Loss, logits: &Tensor, labels: &Tensor, lr: f64) -> Result<Option<(f64, Tensor)>> {
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
                let scale = (-lr / batch as f64) as f32;
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
                let scale = (-2.0 * lr / (batch * classes) as f64) as f32;
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
