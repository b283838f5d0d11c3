//! The gradient of one loss evaluation, layer by layer, without a training step: how
//! the error signal shrinks or grows on its way back through an MLP's layers.

use anyhow::{Context, Result, ensure};
use tch::Tensor;

use super::Loss;
use crate::model::Mlp;

/// Gradient norms of one loss evaluation, input side first (see [`layer_gradients`]).
///
/// ```
/// let g = tchlab::train::LayerGradients { weights: vec![0.01, 0.1, 1.0], activations: vec![0.5, 1.0], loss: 2.3 };
/// assert!((g.weight_ratio() - 0.01).abs() < 1e-12);
/// assert!((g.activation_ratio() - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerGradients {
    /// ‖∂L/∂W‖ of each linear layer's weight matrix: the hidden layers, then the output layer.
    pub weights: Vec<f64>,
    /// ‖∂L/∂h‖ of each hidden layer's output `h`: the error signal backpropagation
    /// carries back through that layer.
    pub activations: Vec<f64>,
    /// The loss `L` (mean over the examples).
    pub loss: f64,
}

impl LayerGradients {
    /// ‖∂L/∂W‖ of the first layer over that of the last (output) layer; NaN without layers.
    pub fn weight_ratio(&self) -> f64 {
        first_over_last(&self.weights)
    }

    /// ‖∂L/∂h‖ of the first hidden layer over that of the last hidden layer; NaN without
    /// hidden layers.
    pub fn activation_ratio(&self) -> f64 {
        first_over_last(&self.activations)
    }
}

fn first_over_last(values: &[f64]) -> f64 {
    match (values.first(), values.last()) {
        (Some(first), Some(last)) => first / last,
        _ => f64::NAN,
    }
}

/// The gradient of `loss` on (`inputs`, `labels`) with respect to every weight matrix
/// and every hidden layer's output of `model`, as norms per layer; the model is not
/// changed (no optimiser step, no `.grad()` written). Evaluation mode (no dropout).
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// use tchlab::train::{Loss, layer_gradients};
/// let model = Mlp::new(&MlpConfig::new(4, &[8, 8], 3), 1).unwrap();
/// let x = tch::Tensor::ones([5, 4], tch::kind::FLOAT_CPU);
/// let y = tch::Tensor::from_slice(&[0i64, 1, 2, 0, 1]);
/// let g = layer_gradients(&model, &x, &y, Loss::CrossEntropy).unwrap();
/// assert_eq!((g.weights.len(), g.activations.len()), (3, 2));
/// assert!(g.weights.iter().all(|v| v.is_finite() && *v > 0.0));
/// ```
pub fn layer_gradients(model: &Mlp, inputs: &Tensor, labels: &Tensor, loss: Loss) -> Result<LayerGradients> {
    ensure!(
        inputs.size().first() == labels.size().first(),
        "layer_gradients: {} inputs but {} labels",
        inputs.size().first().copied().unwrap_or(0),
        labels.size().first().copied().unwrap_or(0)
    );
    let (logits, hidden) = model.forward_hidden(inputs);
    let value = loss.compute(&logits, labels).context("layer_gradients")?;
    let mut wrt: Vec<&Tensor> = model.layers().iter().map(|l| &l.ws).collect();
    wrt.extend(hidden.iter());
    let grads = Tensor::f_run_backward(&[&value], &wrt, false, false)?;
    let norms: Vec<f64> = grads.iter().map(|g| g.norm().double_value(&[])).collect();
    let (weights, activations) = norms.split_at(model.layers().len());
    Ok(LayerGradients { weights: weights.to_vec(), activations: activations.to_vec(), loss: value.double_value(&[]) })
}
