//! Many small MLPs of one shape trained at once: the members' weights are stacked along a
//! leading dimension and every layer is one batched matrix product, so a hundred 1-64-1
//! networks cost about as much per step as one of them. Each member sees only its own
//! data and its own loss, so training the ensemble is training the members one by one
//! (checked in `tests/ensemble.rs` against [`Mlp`] and the [`Trainer`](crate::train::Trainer)).
//! [`EnsembleTrain::fit`](crate::train::EnsembleTrain::fit) trains it.

use anyhow::{Result, ensure};
use tch::{Device, Tensor, nn};

use super::{Activation, Generator, Mlp, MlpConfig, init};

/// `members` independent MLPs of the shape `config` (weights `[members, in, out]` per
/// layer), trained together by [`EnsembleTrain::fit`](crate::train::EnsembleTrain::fit).
///
/// ```
/// use tchlab::model::{Activation, MlpConfig, MlpEnsemble};
/// let config = MlpConfig::new(1, &[16], 1).activation(Activation::Tanh);
/// let ensemble = MlpEnsemble::new(&config, 100, 1).unwrap();
/// let x = tch::Tensor::zeros([100, 30, 1], tch::kind::FLOAT_CPU); // 30 points per member
/// assert_eq!(ensemble.forward(&x).size(), vec![100, 30, 1]);
/// assert_eq!(ensemble.members(), 100);
/// ```
pub struct MlpEnsemble {
    vs: nn::VarStore,
    weights: Vec<Tensor>,
    biases: Vec<Tensor>,
    config: MlpConfig,
    members: i64,
}

impl std::fmt::Debug for MlpEnsemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MlpEnsemble({} × {})", self.members, self.config.describe())
    }
}

impl MlpEnsemble {
    /// `members` MLPs of shape `config` on the CPU, initialised as [`Mlp`] initialises
    /// (each member drawn independently); `seed` fixes all of them.
    ///
    /// ```
    /// use tchlab::model::{MlpConfig, MlpEnsemble};
    /// let (a, b) = (MlpEnsemble::new(&MlpConfig::new(1, &[4], 1), 3, 7).unwrap(), MlpEnsemble::new(&MlpConfig::new(1, &[4], 1), 3, 7).unwrap());
    /// let x = tch::Tensor::ones([5, 1], tch::kind::FLOAT_CPU);
    /// assert!(a.predict(&x, 10).equal(&b.predict(&x, 10)));
    /// assert!(MlpEnsemble::new(&MlpConfig::new(1, &[4], 1), 0, 7).is_err());
    /// ```
    pub fn new(config: &MlpConfig, members: i64, seed: u64) -> Result<Self> {
        Self::on_device(config, members, seed, Device::Cpu)
    }

    /// As [`MlpEnsemble::new`], on `device`.
    ///
    /// ```
    /// use tchlab::model::{MlpConfig, MlpEnsemble};
    /// let e = MlpEnsemble::on_device(&MlpConfig::new(2, &[4], 2), 3, 1, tch::Device::Cpu).unwrap();
    /// assert_eq!(e.var_store().device(), tch::Device::Cpu);
    /// ```
    pub fn on_device(config: &MlpConfig, members: i64, seed: u64, device: Device) -> Result<Self> {
        config.validate()?;
        ensure!(members > 0, "an ensemble needs at least one member, got {members}");
        ensure!(config.dropout == 0.0, "MlpEnsemble has no dropout; set dropout to 0");
        ensure!(!matches!(config.activation, Activation::Prelu(_)), "MlpEnsemble does not support PReLU");
        let total = config.parameter_count().checked_mul(members);
        ensure!(
            total.is_some_and(|t| t <= super::MAX_PARAMETERS),
            "{members} members of {} exceed {} parameters",
            config.describe(),
            super::MAX_PARAMETERS
        );
        let mut generator = Generator::new(seed)?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let sizes = config.layer_sizes();
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (k, w) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (w[0], w[1]);
            let layer = &root / format!("layer{}", k + 1);
            let fans = (fan_in, fan_out);
            let (weight_dims, bias_dims) = ([members, fan_in, fan_out], [members, 1, fan_out]);
            weights.push(init::variable(&layer, "weight", &weight_dims, config.weight_init, fans, &mut generator)?);
            biases.push(init::variable(&layer, "bias", &bias_dims, config.bias_init, fans, &mut generator)?);
        }
        Ok(MlpEnsemble { vs, weights, biases, config: config.clone(), members })
    }

    /// Number of members.
    ///
    /// ```
    /// let e = tchlab::model::MlpEnsemble::new(&tchlab::model::MlpConfig::new(2, &[4], 2), 6, 1).unwrap();
    /// assert_eq!(e.members(), 6);
    /// ```
    pub fn members(&self) -> i64 {
        self.members
    }

    /// The shape of every member.
    ///
    /// ```
    /// let e = tchlab::model::MlpEnsemble::new(&tchlab::model::MlpConfig::new(2, &[4], 2), 6, 1).unwrap();
    /// assert_eq!(e.config().hidden, vec![4]);
    /// ```
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The variables (weights `[members, in, out]`, biases `[members, 1, out]`).
    ///
    /// ```
    /// let e = tchlab::model::MlpEnsemble::new(&tchlab::model::MlpConfig::new(2, &[4], 3), 5, 1).unwrap();
    /// let v = e.var_store().variables();
    /// assert_eq!(v["layer1.weight"].size(), vec![5, 2, 4]);
    /// assert_eq!(v["layer2.bias"].size(), vec![5, 1, 3]);
    /// ```
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Outputs `[members, n, outputs]` for inputs `[members, n, inputs]` (each member its
    /// own rows) or `[n, inputs]` (the same rows for every member).
    pub fn forward(&self, xs: &Tensor) -> Tensor {
        let last = self.weights.len() - 1;
        let mut h = xs.shallow_clone();
        for (k, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = h.matmul(w) + b;
            if k < last {
                h = self.config.activation.apply(&h, None);
            }
        }
        h
    }

    /// [`MlpEnsemble::forward`] without gradients, in chunks of at most `chunk` rows.
    ///
    /// ```
    /// use tchlab::model::{MlpConfig, MlpEnsemble};
    /// let e = MlpEnsemble::new(&MlpConfig::new(3, &[4], 2), 5, 1).unwrap();
    /// let x = tch::Tensor::ones([7, 3], tch::kind::FLOAT_CPU);
    /// assert!(e.predict(&x, 3).allclose(&e.forward(&x), 1e-6, 1e-6, false));
    /// ```
    pub fn predict(&self, xs: &Tensor, chunk: i64) -> Tensor {
        let _guard = tch::no_grad_guard();
        let rows = xs.size()[xs.dim() - 2];
        let parts: Vec<Tensor> = (0..rows)
            .step_by(chunk.max(1) as usize)
            .map(|s| self.forward(&xs.narrow(-2, s, chunk.min(rows - s))))
            .collect();
        Tensor::cat(&parts, -2)
    }

    /// Member `k` as a plain [`Mlp`] with the same weights.
    ///
    /// ```
    /// use tchlab::model::{MlpConfig, MlpEnsemble};
    /// let e = MlpEnsemble::new(&MlpConfig::new(3, &[4], 2), 5, 1).unwrap();
    /// let x = tch::Tensor::ones([7, 3], tch::kind::FLOAT_CPU);
    /// let mlp = e.member(2).unwrap();
    /// assert!(mlp.forward(&x).allclose(&e.predict(&x, 100).get(2), 1e-5, 1e-6, false));
    /// ```
    pub fn member(&self, k: i64) -> Result<Mlp> {
        ensure!((0..self.members).contains(&k), "member {k} of an ensemble of {}", self.members);
        let mlp = Mlp::on_device(&self.config, 0, self.vs.device())?;
        let _guard = tch::no_grad_guard();
        for (layer, (w, b)) in mlp.layers().iter().zip(self.weights.iter().zip(&self.biases)) {
            layer.ws.shallow_clone().copy_(&w.get(k).tr());
            if let Some(bs) = &layer.bs {
                bs.shallow_clone().copy_(&b.get(k).squeeze_dim(0));
            }
        }
        Ok(mlp)
    }
}
