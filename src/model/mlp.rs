//! The multilayer perceptron.

use anyhow::{Result, ensure};
use tch::{Device, Tensor, nn};

use super::activation::Saved;
use super::{Activation, Generator, Init, Network, init};

/// The shape and initialisation of an [`Mlp`].
///
/// ```
/// use tchlab::model::{Activation, Init, MlpConfig};
/// // The lecture's MNIST model: 784 -> 100 (sigmoid) -> 10, weights N(0, 0.1), biases 0.
/// let c = MlpConfig::new(784, &[100], 10)
///     .activation(Activation::Sigmoid)
///     .weight_init(Init::Normal { mean: 0.0, std: 0.1 })
///     .bias_init(Init::Zeros);
/// assert_eq!(c.describe(), "784-100-10 sigmoid");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input features (images are flattened).
    pub inputs: i64,
    /// Hidden layer sizes (empty: a linear/softmax model).
    pub hidden: Vec<i64>,
    /// Outputs (classes).
    pub outputs: i64,
    /// Activation after each hidden layer.
    pub activation: Activation,
    /// Weight initialisation of every layer.
    pub weight_init: Init,
    /// Bias initialisation of every layer.
    pub bias_init: Init,
    /// Dropout probability after each hidden activation (training only).
    pub dropout: f64,
}

impl MlpConfig {
    /// `inputs -> hidden... -> outputs` with ReLU and PyTorch's default init.
    pub fn new(inputs: i64, hidden: &[i64], outputs: i64) -> Self {
        MlpConfig {
            inputs,
            hidden: hidden.to_vec(),
            outputs,
            activation: Activation::Relu,
            weight_init: Init::Default,
            bias_init: Init::Default,
            dropout: 0.0,
        }
    }

    /// Sets the hidden activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// Sets the weight initialisation.
    pub fn weight_init(mut self, i: Init) -> Self {
        self.weight_init = i;
        self
    }

    /// Sets the bias initialisation.
    pub fn bias_init(mut self, i: Init) -> Self {
        self.bias_init = i;
        self
    }

    /// Sets the dropout probability.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// The width of every layer, inputs first and outputs last (each pair of
    /// neighbours is one linear layer's fan-in and fan-out).
    ///
    /// ```
    /// assert_eq!(tchlab::model::MlpConfig::new(784, &[100], 10).layer_sizes(), vec![784, 100, 10]);
    /// ```
    pub fn layer_sizes(&self) -> Vec<i64> {
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        sizes
    }

    /// `784-100-10 sigmoid`.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = self.layer_sizes().iter().map(|s| s.to_string()).collect();
        format!("{} {}", sizes.join("-"), self.activation.name())
    }

    /// Number of weights and biases.
    pub fn parameter_count(&self) -> i64 {
        let sizes = self.layer_sizes();
        let prelu = if matches!(self.activation, Activation::Prelu(_)) { self.hidden.len() as i64 } else { 0 };
        sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum::<i64>() + prelu
    }

    pub(crate) fn validate(&self) -> Result<()> {
        ensure!(
            self.inputs > 0 && self.outputs > 0,
            "an MLP needs at least one input and one output, got {}",
            self.describe()
        );
        ensure!(self.hidden.iter().all(|&h| h > 0), "hidden layer sizes must be positive, got {:?}", self.hidden);
        ensure!((0.0..1.0).contains(&self.dropout), "dropout {} must be in [0, 1)", self.dropout);
        let mut sizes = vec![self.inputs];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs);
        let count = sizes.windows(2).try_fold(0i64, |sum, w| {
            w[0].checked_mul(w[1]).and_then(|p| p.checked_add(w[1])).and_then(|p| sum.checked_add(p))
        });
        ensure!(
            count.is_some_and(|c| c <= MAX_PARAMETERS),
            "the MLP {} would have {} parameters, more than the limit of {MAX_PARAMETERS} (2 GiB of weights): use fewer or smaller layers",
            self.describe(),
            count.map_or("too many".to_string(), |c| c.to_string())
        );
        Ok(())
    }
}

/// The most parameters an [`Mlp`] may have (2 GiB of `f32` weights); a larger
/// configuration is an error rather than an allocation failure.
pub const MAX_PARAMETERS: i64 = 1 << 29;

/// A multilayer perceptron: `Linear -> activation` per hidden layer, then a linear
/// output layer giving logits. Owns its variables.
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig, Network};
/// let mlp = Mlp::new(&MlpConfig::new(4, &[8, 8], 3), 7).unwrap();
/// let x = tch::Tensor::ones([5, 4], tch::kind::FLOAT_CPU);
/// let (logits, hidden) = mlp.forward_hidden(&x);
/// assert_eq!(logits.size(), vec![5, 3]);
/// assert_eq!(hidden.len(), 2);
/// ```
pub struct Mlp {
    vs: nn::VarStore,
    layers: Vec<nn::Linear>,
    prelu: Vec<Tensor>,
    config: MlpConfig,
}

impl std::fmt::Debug for Mlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mlp({}, {} parameters)", self.config.describe(), self.parameter_count())
    }
}

impl Mlp {
    /// Builds the model on the CPU; `seed` fixes the initial weights.
    pub fn new(config: &MlpConfig, seed: u64) -> Result<Self> {
        Self::on_device(config, seed, Device::Cpu)
    }

    /// Builds the model on `device`; `seed` fixes the initial weights. Prepares the
    /// process once ([`crate::env::prepare_process`]: MKL's reproducible mode, glibc's
    /// allocator).
    pub fn on_device(config: &MlpConfig, seed: u64, device: Device) -> Result<Self> {
        config.validate()?;
        crate::env::prepare_process();
        let mut generator = Generator::new(seed)?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let sizes = config.layer_sizes();
        let mut layers = Vec::new();
        let mut prelu = Vec::new();
        for (k, w) in sizes.windows(2).enumerate() {
            let path = &root / format!("layer{}", k + 1);
            let inits = (config.weight_init, config.bias_init);
            layers.push(init::linear(&path, (w[0], w[1]), inits, &mut generator)?);
            if let Activation::Prelu(a) = config.activation
                && k + 1 < sizes.len() - 1
            {
                prelu.push(path.f_var("prelu_alpha", &[1], nn::Init::Const(a))?);
            }
        }
        Ok(Mlp { vs, layers, prelu, config: config.clone() })
    }

    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The linear layers (hidden layers, then the output layer).
    pub fn layers(&self) -> &[nn::Linear] {
        &self.layers
    }

    /// Logits (`train = false`).
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        self.forward_t(xs, false)
    }

    /// Logits and the activation after each hidden layer (`train = false`).
    pub fn forward_hidden(&self, xs: &Tensor) -> (Tensor, Vec<Tensor>) {
        self.run(xs, false, true)
    }

    /// Net inputs `z` of each hidden layer (before the activation).
    pub fn hidden_net_inputs(&self, xs: &Tensor) -> Vec<Tensor> {
        let mut out = Vec::new();
        let _logits = self.forward_visiting(xs, false, |_, _, z, out_of_layer| {
            if out_of_layer.is_some() {
                out.push(z.shallow_clone());
            }
        });
        out
    }

    /// The forward pass that keeps what the closed-form backward pass needs (each
    /// layer's input, and per hidden layer what [`Activation::backward_needs`] names),
    /// or `None` when the activation has no closed-form backward pass.
    pub(crate) fn forward_traced(&self, xs: &Tensor) -> Option<Trace> {
        let needs = self.config.activation.backward_needs()?;
        let (mut layer_inputs, mut saved) = (Vec::with_capacity(self.layers.len()), Vec::new());
        let logits = self.forward_visiting(xs, false, |_, input, z, out| {
            layer_inputs.push(input.shallow_clone());
            if let Some(out) = out {
                saved.push(match needs {
                    Saved::Output => out.shallow_clone(),
                    Saved::NetInput => z.shallow_clone(),
                });
            }
        });
        Some(Trace { layer_inputs, saved, logits })
    }

    fn run(&self, xs: &Tensor, train: bool, keep: bool) -> (Tensor, Vec<Tensor>) {
        let mut hidden = Vec::new();
        let logits = self.forward_visiting(xs, train, |_, _, _, out| {
            if let (true, Some(out)) = (keep, out) {
                hidden.push(out.shallow_clone());
            }
        });
        (logits, hidden)
    }

    /// The forward pass, the one place it is written: for each layer `k`, `visit(k,
    /// input, z, output)` sees the layer's input, its net input `z`, and (hidden layers
    /// only) the activation's output before dropout.
    fn forward_visiting(
        &self,
        xs: &Tensor,
        train: bool,
        mut visit: impl FnMut(usize, &Tensor, &Tensor, Option<&Tensor>),
    ) -> Tensor {
        let mut h = if xs.dim() > 2 { xs.flatten(1, -1) } else { xs.shallow_clone() };
        let Some((output, hidden)) = self.layers.split_last() else { return h };
        for (k, layer) in hidden.iter().enumerate() {
            let z = h.apply(layer);
            let out = self.config.activation.apply(&z, self.prelu.get(k));
            visit(k, &h, &z, Some(&out));
            h = if self.config.dropout > 0.0 { out.dropout(self.config.dropout, train) } else { out };
        }
        let z = h.apply(output);
        visit(hidden.len(), &h, &z, None);
        z
    }
}

/// A forward pass kept for the closed-form backward pass ([`Mlp::forward_traced`]).
pub(crate) struct Trace {
    /// Each layer's input (the flattened batch first).
    pub layer_inputs: Vec<Tensor>,
    /// Per hidden layer, what the activation's backward pass needs.
    pub saved: Vec<Tensor>,
    /// The logits.
    pub logits: Tensor,
}

impl Network for Mlp {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.run(xs, train, false).0
    }
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
    fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }
    fn input_shape(&self) -> Vec<i64> {
        vec![self.config.inputs]
    }
    fn outputs(&self) -> i64 {
        self.config.outputs
    }
    fn hidden_activations(&self, xs: &Tensor) -> Vec<Tensor> {
        self.run(xs, false, true).1
    }
    fn hidden_net_inputs(&self, xs: &Tensor) -> Vec<Tensor> {
        Mlp::hidden_net_inputs(self, xs)
    }
    fn describe(&self) -> String {
        self.config.describe()
    }
    fn as_mlp(&self) -> Option<&Mlp> {
        Some(self)
    }
}
