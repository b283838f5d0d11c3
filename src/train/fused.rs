//! The fused SGD step for plain MLPs: forward pass, loss, backward pass and the SGD
//! update in about a dozen libtorch calls, with no autograd graph and no gradient
//! tensors. The math is the model's and the loss's: the forward pass is
//! [`Mlp::forward_traced`], each activation's derivative [`Activation::backward`], and
//! the loss's gradient [`Loss::value_and_scaled_gradient`]; this module orders them and
//! folds the update into the products. Each weight gradient `δᵀ·h` is added to the
//! weight inside one matrix product (`W.addmm_(δᵀ, h)` with `δ` already scaled by
//! `−lr`), so a step does the model's matrix products and little else; on the CPU the
//! loss and `δ` come from one pass in plain Rust over the logits. The
//! [`Trainer`](super::Trainer) uses it when [`fused_step_blocker`] finds nothing against
//! it; otherwise it runs autograd and the tch optimiser. Both compute the same update
//! (up to float rounding).

use anyhow::Result;
use tch::{Kind, Tensor};

use super::{Hook, Loss, OptimizerKind, TrainConfig};
#[cfg(doc)]
use crate::model::Activation;
use crate::model::{Mlp, Network, Trace};

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
    if c.activation.backward_needs().is_none() {
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

/// One fused SGD step of a plain MLP: the model's traced forward pass
/// ([`Mlp::forward_traced`]), the loss's value and gradient
/// ([`Loss::value_and_scaled_gradient`]), and the backward pass through each
/// activation's closed-form derivative ([`Activation::backward`]) with the SGD update
/// folded into the weight products.
pub(crate) struct FusedStep<'a> {
    mlp: &'a Mlp,
    trace: Trace,
}

impl<'a> FusedStep<'a> {
    /// The forward pass of `mlp` on `inputs` (`[B, ...]`, float), without autograd;
    /// fails for an activation without a closed-form backward pass.
    pub(crate) fn forward(mlp: &'a Mlp, inputs: &Tensor) -> Result<FusedStep<'a>> {
        let _guard = tch::no_grad_guard();
        let trace = mlp
            .forward_traced(inputs)
            .ok_or_else(|| anyhow::anyhow!("the activation {} has no fused backward pass", mlp.config().activation))?;
        Ok(FusedStep { mlp, trace })
    }

    /// The logits `[B, classes]`.
    pub(crate) fn logits(&self) -> &Tensor {
        &self.trace.logits
    }

    /// The batch's mean loss, read for the divergence check before the update, and the
    /// last layer's error `δ`: the loss's gradient with respect to the logits times `−lr`.
    pub(crate) fn loss(&self, loss: Loss, labels: &Tensor, lr: f64) -> Result<(f64, Tensor)> {
        loss.value_and_scaled_gradient(&self.trace.logits, labels, -lr)
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
            let _ = w.f_addmm_(&delta.tr(), &self.trace.layer_inputs[k])?;
            if let Some(b) = b.as_mut() {
                let _ = b.f_add_(&delta.f_sum_dim_intlist(0, false, Kind::Float)?)?;
            }
            if let Some(g) = below {
                delta = activation.backward(&g, &self.trace.saved[k - 1])?;
            }
        }
        Ok(())
    }
}
