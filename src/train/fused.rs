//! The fused step for plain MLPs: forward pass, loss, backward pass and the optimiser's
//! update in about a dozen libtorch calls, with no autograd graph. The math is the
//! model's and the loss's: the forward pass is [`Mlp::forward_traced`], each activation's
//! derivative [`Activation::backward`], and the loss's gradient
//! [`Loss::value_and_scaled_gradient`]; this module orders them and folds the update
//! into the products. Each weight gradient `δᵀ·h` is added to the
//! weight inside one matrix product (`W.addmm_(δᵀ, h)` with `δ` already scaled by
//! `−lr`), so a plain SGD step does the model's matrix products and little else, with no
//! gradient tensors; on the CPU the loss and `δ` come from one pass in plain Rust over the
//! logits. With momentum or Adam each gradient is one matrix product and the update one
//! pass over the parameter ([`step_parameter`], on the CPU). The
//! [`Trainer`](super::Trainer) uses it when [`fused_step_blocker`] finds nothing against
//! it; otherwise it runs autograd and the tch optimiser. Both compute the same update
//! (up to float rounding).

use anyhow::Result;
use tch::{Kind, Tensor};

use super::optim::{ParameterState, step_parameter};
use super::{Hook, Loss, OptimizerKind, TrainConfig};
#[cfg(doc)]
use crate::model::Activation;
use crate::model::{Mlp, Network, Trace};

/// Why the fused step cannot train `model` under `config` with `hooks`, or `None`
/// when it can: an [`Mlp`] without dropout or PReLU whose activation is identity,
/// sigmoid, tanh, ReLU or leaky ReLU; cross-entropy, NLL or sigmoid + MSE loss; plain
/// SGD on any device, SGD with momentum and Adam on the CPU; no hook that reads
/// gradients; `config.fused_step` on.
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::train::fused_step_blocker;
/// let mlp = Mlp::new(&MlpConfig::new(4, &[8], 3).activation(Activation::Sigmoid), 1).unwrap();
/// assert_eq!(fused_step_blocker(&mlp, &TrainConfig::sgd(0.1, 1), &[]), None);
/// assert_eq!(fused_step_blocker(&mlp, &TrainConfig::adam(0.001, 1), &[]), None);
/// let off = TrainConfig::sgd(0.1, 1).fused_step(false);
/// assert!(fused_step_blocker(&mlp, &off, &[]).unwrap().contains("turned off"));
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
    let device = mlp.var_store().device();
    if FusedOptimizer::keeps_state(&config.optimizer) && device != tch::Device::Cpu {
        let rule = if matches!(config.optimizer, OptimizerKind::Adam { .. }) { "Adam" } else { "momentum" };
        return Some(format!("the fused {rule} update runs on the CPU only (the model is on {device:?})"));
    }
    if hooks.iter().any(|h| h.needs_gradients()) {
        return Some("a hook reads gradients after the backward pass".into());
    }
    None
}

/// One fused step of a plain MLP: the model's traced forward pass
/// ([`Mlp::forward_traced`]), the loss's value and gradient
/// ([`Loss::value_and_scaled_gradient`]), and the backward pass through each
/// activation's closed-form derivative ([`Activation::backward`]) with the optimiser's
/// update ([`FusedOptimizer`]).
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
    /// last layer's error `δ`: the loss's gradient with respect to the logits, times
    /// `−lr` for plain SGD ([`FusedOptimizer::error_scale`]).
    pub(crate) fn loss(&self, loss: Loss, labels: &Tensor, optimizer: &FusedOptimizer) -> Result<(f64, Tensor)> {
        loss.value_and_scaled_gradient(&self.trace.logits, labels, optimizer.error_scale())
    }

    /// Backward pass and update in place, last layer first. `delta` is the last layer's
    /// error as [`FusedStep::loss`] returned it; the error of the layer below is taken
    /// with this layer's weights before their update.
    pub(crate) fn update(self, mut delta: Tensor, optimizer: &mut FusedOptimizer) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let activation = self.mlp.config().activation;
        let layers = self.mlp.layers();
        optimizer.steps += 1;
        for k in (0..layers.len()).rev() {
            let below = if k > 0 { Some(delta.f_mm(&layers[k].ws)?) } else { None };
            optimizer.update_layer(k, &layers[k], &delta, &self.trace.layer_inputs[k])?;
            if let Some(g) = below {
                delta = activation.backward(&g, &self.trace.saved[k - 1])?;
            }
        }
        Ok(())
    }
}

/// The optimiser of the fused step and what it keeps between steps: plain SGD folds its
/// update into the weight products (`W ← (1 − lr·wd)·W − lr·δᵀh`, `δ` already scaled by
/// `−lr`); momentum and Adam take each gradient as one product and update the parameter
/// in one pass ([`step_parameter`], the same rule as tch's optimisers).
pub(crate) struct FusedOptimizer {
    /// The optimiser, at the current epoch's learning rate.
    kind: OptimizerKind,
    /// Steps taken (Adam's bias correction counts from 1).
    steps: u64,
    /// Per layer, the weight's and the bias's state (empty for plain SGD).
    state: Vec<[ParameterState; 2]>,
}

impl FusedOptimizer {
    /// A fresh optimiser of `kind` for `mlp` (its state starts at zero, as tch's does).
    pub(crate) fn new(kind: OptimizerKind, mlp: &Mlp) -> Self {
        let state = mlp.layers().iter().map(|_| Default::default()).collect();
        FusedOptimizer { kind, steps: 0, state }
    }

    /// Whether `kind` keeps state between steps (and so updates through [`step_parameter`]).
    pub(crate) fn keeps_state(kind: &OptimizerKind) -> bool {
        !matches!(kind, OptimizerKind::Sgd { momentum, .. } if *momentum == 0.0)
    }

    /// Sets the learning rate (the schedule's, each epoch).
    pub(crate) fn set_lr(&mut self, lr: f64) {
        self.kind = self.kind.with_lr(lr);
    }

    /// The factor on the loss's gradient that makes the last layer's `δ`: `−lr` when the
    /// update is folded into the products (plain SGD), else 1 (the gradient itself).
    fn error_scale(&self) -> f64 {
        if Self::keeps_state(&self.kind) { 1.0 } else { -self.kind.lr() }
    }

    /// Updates layer `k` (`layer`, input `input`) from its error `delta`.
    fn update_layer(&mut self, k: usize, layer: &tch::nn::Linear, delta: &Tensor, input: &Tensor) -> Result<()> {
        let (mut w, mut b) = (layer.ws.shallow_clone(), layer.bs.as_ref().map(Tensor::shallow_clone));
        if !Self::keeps_state(&self.kind) {
            let decay = 1.0 - self.kind.lr() * self.kind.weight_decay();
            if self.kind.weight_decay() != 0.0 {
                let _ = w.f_mul_scalar_(decay)?;
                if let Some(b) = b.as_mut() {
                    let _ = b.f_mul_scalar_(decay)?;
                }
            }
            let _ = w.f_addmm_(&delta.tr(), input)?;
            if let Some(b) = b.as_mut() {
                let _ = b.f_add_(&delta.f_sum_dim_intlist(0, false, Kind::Float)?)?;
            }
            return Ok(());
        }
        let [w_state, b_state] = &mut self.state[k];
        step_tensor(&self.kind, self.steps, &mut w, &delta.tr().f_mm(input)?, w_state)?;
        if let Some(b) = b.as_mut() {
            step_tensor(&self.kind, self.steps, b, &delta.f_sum_dim_intlist(0, false, Kind::Float)?, b_state)?;
        }
        Ok(())
    }
}

/// [`step_parameter`] on a CPU `f32` parameter tensor and its gradient, in place.
fn step_tensor(
    kind: &OptimizerKind,
    t: u64,
    param: &mut Tensor,
    grad: &Tensor,
    state: &mut ParameterState,
) -> Result<()> {
    let usable = |x: &Tensor| x.device() == tch::Device::Cpu && x.kind() == Kind::Float && x.is_contiguous();
    anyhow::ensure!(
        usable(param) && usable(grad) && param.size() == grad.size(),
        "the fused update needs contiguous CPU f32 parameters and gradients of one shape (got {:?} and {:?})",
        param.size(),
        grad.size()
    );
    let n = param.numel();
    // SAFETY: both tensors are contiguous CPU f32 tensors of `n` values (checked above),
    // alive for this call; `grad` is a fresh product, never the parameter's storage, and
    // nothing else reads or writes the parameter meanwhile (no autograd graph, one thread).
    let (w, g) = unsafe {
        (
            std::slice::from_raw_parts_mut(param.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts(grad.data_ptr() as *const f32, n),
        )
    };
    step_parameter(kind, t, w, g, state);
    Ok(())
}
