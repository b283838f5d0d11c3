//! Models: the MLP of the lecture with every activation and init, a VGG-style CNN, and
//! random ReLU features with a minimum-norm least-squares output layer.

mod activation;
mod cnn;
mod ensemble;
mod generator;
mod init;
mod mlp;
mod random_features;

pub use activation::Activation;
pub use cnn::{Cnn, CnnConfig};
pub use ensemble::MlpEnsemble;
pub use generator::Generator;
pub use init::Init;
pub(crate) use mlp::Trace;
pub use mlp::{MAX_PARAMETERS, Mlp, MlpConfig};
pub use random_features::{MinNormSolution, RandomFeatures, min_norm_lstsq, one_hot};

use tch::{Tensor, nn};

/// What the trainer needs from a model; implemented by [`Mlp`] and [`Cnn`].
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig, Network};
/// let mlp = Mlp::new(&MlpConfig::new(2, &[4], 2), 1).unwrap();
/// let logits = mlp.forward_t(&tch::Tensor::zeros([3, 2], tch::kind::FLOAT_CPU), false);
/// assert_eq!(logits.size(), vec![3, 2]);
/// assert_eq!(mlp.parameter_count(), 2 * 4 + 4 + 4 * 2 + 2);
/// ```
pub trait Network {
    /// Logits `[B, classes]` for inputs `[B, ...]`; `train` enables dropout.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor;
    /// The model's variables.
    fn var_store(&self) -> &nn::VarStore;
    /// The model's variables, mutably (for loading checkpoints).
    fn var_store_mut(&mut self) -> &mut nn::VarStore;
    /// The shape of one input example the model accepts (an MLP accepts any shape
    /// with this many values).
    fn input_shape(&self) -> Vec<i64>;
    /// Number of outputs (classes).
    fn outputs(&self) -> i64;
    /// Activations after each hidden layer, for analysis (dead units, histograms).
    fn hidden_activations(&self, _xs: &Tensor) -> Vec<Tensor> {
        Vec::new()
    }
    /// Net inputs `z` of each hidden layer (before the activation), for dead-unit analysis.
    fn hidden_net_inputs(&self, _xs: &Tensor) -> Vec<Tensor> {
        Vec::new()
    }
    /// The model as a plain [`Mlp`], when it is one (the trainer's fused step needs it).
    fn as_mlp(&self) -> Option<&Mlp> {
        None
    }
    /// A one-line description, e.g. `784-100-10 sigmoid`.
    fn describe(&self) -> String;
    /// Total number of trainable values.
    fn parameter_count(&self) -> i64 {
        self.var_store().trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }
    /// Weight tensors by name (`layer1.weight`, …), sorted, for per-layer statistics.
    fn named_weights(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> =
            self.var_store().variables().into_iter().filter(|(name, _)| name.ends_with("weight")).collect();
        v.sort_by_key(|(name, _)| layer_order(name));
        v
    }
}

/// Sort key for names like `layer10.weight` (numeric, not lexical).
fn layer_order(name: &str) -> (String, u64) {
    let prefix: String = name.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let digits: String = name.chars().skip(prefix.len()).take_while(|c| c.is_ascii_digit()).collect();
    (prefix, digits.parse().unwrap_or(0))
}
