//! What an experiment plugs into the training loop: hooks that record, and transforms
//! that replace a minibatch's inputs.

use anyhow::Result;
use tch::Tensor;

use super::History;
use crate::model::Network;

/// Called by the trainer to record what an experiment needs.
pub trait Hook {
    /// After the backward pass of a minibatch, before the optimiser step: with autograd
    /// the gradients are in the variables' `.grad()`; under the fused step (chosen only
    /// when no hook [needs gradients](Hook::needs_gradients)) there are none, and the
    /// call comes after the loss, before the update.
    fn after_backward(&mut self, _model: &dyn Network, _epoch: usize, _batch: usize) -> Result<()> {
        Ok(())
    }
    /// After each epoch's evaluation; record series into `history`.
    fn end_of_epoch(&mut self, _model: &dyn Network, _epoch: usize, _history: &mut History) -> Result<()> {
        Ok(())
    }
    /// Whether [`Hook::after_backward`] reads gradients. The fused step of plain MLPs
    /// makes none, so the trainer uses autograd while any hook says yes (the default).
    fn needs_gradients(&self) -> bool {
        true
    }
}

/// Replaces the inputs of every training minibatch before the trainer's step: the model
/// trains on what [`BatchTransform::inputs`] returns, with the batch's labels. Adversarial
/// training is one ([`AdversarialInputs`](crate::attack::AdversarialInputs) replaces each
/// batch by its adversarial examples against the model as it is at that step).
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::train::BatchTransform;
/// /// Trains on inverted inputs.
/// struct Invert;
/// impl BatchTransform for Invert {
///     fn inputs(&mut self, _m: &dyn Network, x: &Tensor, _y: &Tensor, _epoch: usize, _batch: usize) -> Result<Tensor> {
///         Ok(1.0 - x)
///     }
/// }
/// let loader = DataLoader::new(Xor::lecture().dataset(), 250).unwrap();
/// let mut model = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
/// let history = Trainer::new(TrainConfig::sgd(0.1, 1).quiet()).transform(Invert).fit(&mut model, &loader, None).unwrap();
/// assert_eq!(history.epochs_done(), 1);
/// ```
pub trait BatchTransform {
    /// The inputs to train on in place of `inputs` (`[B, ...]`, with labels `labels`) at
    /// minibatch `batch` of epoch `epoch` (from 1); must keep the shape.
    fn inputs(
        &mut self,
        model: &dyn Network,
        inputs: &Tensor,
        labels: &Tensor,
        epoch: usize,
        batch: usize,
    ) -> Result<Tensor>;
}

/// Records the L2 norm of each weight's gradient, averaged over an epoch's minibatches,
/// as the series `grad_norm` (one value per layer).
///
/// ```
/// let _hook = tchlab::train::GradNorms::default();
/// ```
#[derive(Default)]
pub struct GradNorms {
    sums: Vec<f64>,
    batches: usize,
}

impl Hook for GradNorms {
    fn after_backward(&mut self, model: &dyn Network, _epoch: usize, _batch: usize) -> Result<()> {
        let weights = model.named_weights();
        if self.sums.len() != weights.len() {
            self.sums = vec![0.0; weights.len()];
        }
        for (k, (_, w)) in weights.iter().enumerate() {
            let g = w.grad();
            if g.defined() {
                self.sums[k] += g.norm().double_value(&[]);
            }
        }
        self.batches += 1;
        Ok(())
    }

    fn end_of_epoch(&mut self, _model: &dyn Network, _epoch: usize, history: &mut History) -> Result<()> {
        let n = self.batches.max(1) as f64;
        history.record("grad_norm", self.sums.iter().map(|s| s / n).collect());
        self.sums.iter_mut().for_each(|s| *s = 0.0);
        self.batches = 0;
        Ok(())
    }
}

/// Records, after each epoch, the fraction of hidden units per layer whose net input
/// is negative for every example of a probe batch (a dead ReLU gets no gradient), as
/// the series `dead_fraction`.
pub struct DeadUnits {
    probe: Tensor,
}

impl DeadUnits {
    /// Uses `probe` (inputs `[N, ...]`, e.g. 1,000 training images) to find dead units.
    pub fn new(probe: Tensor) -> Self {
        DeadUnits { probe }
    }
}

/// Fraction of units per hidden layer whose net input is negative for every probe example.
///
/// ```
/// use tchlab::model::{Init, Mlp, MlpConfig};
/// let m = Mlp::new(&MlpConfig::new(2, &[4], 2).bias_init(Init::Constant(-100.0)).weight_init(Init::Zeros), 1).unwrap();
/// let dead = tchlab::train::dead_fractions(&m, &tch::Tensor::ones([3, 2], tch::kind::FLOAT_CPU));
/// assert_eq!(dead, vec![1.0]);
/// ```
pub fn dead_fractions(model: &dyn Network, probe: &Tensor) -> Vec<f64> {
    let _g = tch::no_grad_guard();
    model
        .hidden_net_inputs(probe)
        .iter()
        .map(|z| z.lt(0.0).all_dim(0, false).to_kind(tch::Kind::Float).mean(tch::Kind::Float).double_value(&[]))
        .collect()
}

impl Hook for DeadUnits {
    fn end_of_epoch(&mut self, model: &dyn Network, _epoch: usize, history: &mut History) -> Result<()> {
        history.record("dead_fraction", dead_fractions(model, &self.probe));
        Ok(())
    }
    fn needs_gradients(&self) -> bool {
        false
    }
}
