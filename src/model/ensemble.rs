//! Many small MLPs of one shape trained at once: the members' weights are stacked along a
//! leading dimension and every layer is one batched matrix product, so a hundred 1-64-1
//! networks cost about as much per step as one of them. Each member sees only its own
//! data and its own loss, so training the ensemble is training the members one by one
//! (checked in `tests/ensemble.rs` against [`Mlp`] and the [`Trainer`](crate::train::Trainer)).

use std::time::Instant;

use anyhow::{Result, bail, ensure};
use tch::{Device, Kind, Tensor, nn};

use super::{Activation, Generator, Mlp, MlpConfig, init};
use crate::train::{History, OptimizerKind};

/// `members` independent MLPs of the shape `config` (weights `[members, in, out]` per
/// layer), trained together by [`MlpEnsemble::fit`].
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

/// The loss each member minimises (the mean over its own examples).
///
/// ```
/// use tchlab::model::{EnsembleLoss, MlpConfig, MlpEnsemble};
/// let e = MlpEnsemble::new(&MlpConfig::new(2, &[3], 4), 2, 1).unwrap();
/// let x = tch::Tensor::zeros([2, 5, 2], tch::kind::FLOAT_CPU);
/// let y = tch::Tensor::zeros([2, 5], (tch::Kind::Int64, tch::Device::Cpu));
/// assert_eq!(e.member_losses(&x, &y, EnsembleLoss::CrossEntropy).unwrap().size(), vec![2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnsembleLoss {
    /// Softmax + cross-entropy; targets are class indices `[members, n]` (`i64`).
    CrossEntropy,
    /// Mean squared error; targets are values `[members, n, outputs]` (`f32`).
    Mse,
}

/// How [`MlpEnsemble::fit`] trains.
///
/// ```
/// use tchlab::model::{EnsembleLoss, EnsembleTrain};
/// let t = EnsembleTrain::adam(0.01, 2000, EnsembleLoss::Mse); // full batch, 2000 steps
/// assert_eq!(t.batch, None);
/// let t = EnsembleTrain::sgd(0.1, 20, EnsembleLoss::CrossEntropy).batch(100).seed(3);
/// assert_eq!((t.batch, t.seed), (Some(100), 3));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleTrain {
    /// The optimiser (SGD and Adam act on each value separately, so members stay independent).
    pub optimizer: OptimizerKind,
    /// Epochs (passes over each member's data; with a full batch, steps).
    pub epochs: usize,
    /// Minibatch size (None: each step uses all of a member's examples).
    pub batch: Option<usize>,
    /// The loss.
    pub loss: EnsembleLoss,
    /// Seed of the per-member shuffling.
    pub seed: u64,
}

impl EnsembleTrain {
    /// Plain SGD, full batch.
    pub fn sgd(lr: f64, epochs: usize, loss: EnsembleLoss) -> Self {
        EnsembleTrain {
            optimizer: OptimizerKind::Sgd { lr, momentum: 0.0, weight_decay: 0.0 },
            epochs,
            batch: None,
            loss,
            seed: 1,
        }
    }

    /// Adam, full batch.
    pub fn adam(lr: f64, epochs: usize, loss: EnsembleLoss) -> Self {
        EnsembleTrain { optimizer: OptimizerKind::Adam { lr, weight_decay: 0.0 }, ..Self::sgd(lr, epochs, loss) }
    }

    /// Minibatches of `size` examples per member, reshuffled each epoch.
    pub fn batch(mut self, size: usize) -> Self {
        self.batch = Some(size);
        self
    }

    /// Sets the shuffling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
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

    /// The loss of each member `[members]` on its own inputs and targets (see the example
    /// of [`EnsembleLoss`]).
    pub fn member_losses(&self, inputs: &Tensor, targets: &Tensor, loss: EnsembleLoss) -> Result<Tensor> {
        let out = self.forward(inputs);
        member_loss(&out, targets, loss)
    }

    /// Trains every member on its own data: `inputs` `[members, n, inputs]` (or `[n,
    /// inputs]` shared), targets as [`EnsembleLoss`] says. The step minimises the sum of
    /// the members' mean losses, whose gradient for member k's weights is the gradient of
    /// member k's loss alone. Returns the mean over members of the training loss (and,
    /// for cross-entropy, accuracy) per epoch; fails when the loss stops being finite.
    ///
    /// ```
    /// use tchlab::model::{Activation, EnsembleLoss, EnsembleTrain, MlpConfig, MlpEnsemble};
    /// let config = MlpConfig::new(1, &[8], 1).activation(Activation::Tanh);
    /// let mut e = MlpEnsemble::new(&config, 4, 1).unwrap();
    /// let x = tch::Tensor::linspace(-1.0, 1.0, 20, tch::kind::FLOAT_CPU).reshape([1, 20, 1]).repeat([4, 1, 1]);
    /// let y = x.shallow_clone() * 0.5;
    /// let h = e.fit(&x, &y, &EnsembleTrain::adam(0.01, 300, EnsembleLoss::Mse)).unwrap();
    /// assert!(h.last_loss("train").unwrap() < 0.01);
    /// ```
    pub fn fit(&mut self, inputs: &Tensor, targets: &Tensor, train: &EnsembleTrain) -> Result<History> {
        let k = self.members;
        let inputs =
            if inputs.dim() == 2 { inputs.unsqueeze(0).expand([k, -1, -1], false) } else { inputs.shallow_clone() };
        let size = inputs.size();
        ensure!(
            size.len() == 3 && size[0] == k && size[2] == self.config.inputs,
            "inputs of shape {size:?}: want [{k}, n, {}]",
            self.config.inputs
        );
        let n = size[1];
        ensure!(n > 0, "no training examples");
        match train.loss {
            EnsembleLoss::CrossEntropy => ensure!(
                targets.size() == [k, n] && targets.kind() == Kind::Int64,
                "cross-entropy targets must be class indices [{k}, {n}] (i64), got {:?} {:?}",
                targets.size(),
                targets.kind()
            ),
            EnsembleLoss::Mse => ensure!(
                targets.size() == [k, n, self.config.outputs],
                "MSE targets must be [{k}, {n}, {}], got {:?}",
                self.config.outputs,
                targets.size()
            ),
        }
        let mut opt = train.optimizer.build(&self.vs)?;
        let batch = train.batch.map_or(n, |b| (b as i64).clamp(1, n));
        let mut history = History::default();
        let mut rng = crate::rng::Rng::new(train.seed);
        let clock = Instant::now();
        for epoch in 1..=train.epochs {
            let order = if batch < n { Some(per_member_orders(&mut rng, k, n, inputs.device())) } else { None };
            let (mut total, mut correct, mut seen) = (0.0, 0.0, 0i64);
            for start in (0..n).step_by(batch as usize) {
                let len = batch.min(n - start);
                let (xb, yb) = match &order {
                    None => (inputs.shallow_clone(), targets.shallow_clone()),
                    Some(idx) => gather_rows(&inputs, targets, &idx.narrow(1, start, len)),
                };
                let out = self.forward(&xb);
                let losses = member_loss(&out, &yb, train.loss)?;
                let sum = losses.sum(Kind::Float);
                opt.zero_grad();
                sum.backward();
                opt.step();
                let value = sum.double_value(&[]) / k as f64;
                if !value.is_finite() {
                    bail!("the ensemble's loss became {value} in epoch {epoch}: lower the learning rate");
                }
                total += value * len as f64;
                if train.loss == EnsembleLoss::CrossEntropy {
                    let _guard = tch::no_grad_guard();
                    correct +=
                        out.argmax(-1, false).eq_tensor(&yb).to_kind(Kind::Float).sum(Kind::Float).double_value(&[])
                            / k as f64;
                }
                seen += len;
            }
            let accuracy = if train.loss == EnsembleLoss::CrossEntropy { correct / seen as f64 } else { f64::NAN };
            history.push(
                epoch,
                "train",
                total / seen as f64,
                accuracy,
                train.optimizer.lr(),
                clock.elapsed().as_secs_f64(),
            );
        }
        Ok(history)
    }
}

fn member_loss(out: &Tensor, targets: &Tensor, loss: EnsembleLoss) -> Result<Tensor> {
    Ok(match loss {
        EnsembleLoss::Mse => (out - targets).square().mean_dim(&[1i64, 2][..], false, Kind::Float),
        EnsembleLoss::CrossEntropy => {
            let logp = out.f_log_softmax(-1, Kind::Float)?;
            -logp.f_gather(2, &targets.unsqueeze(-1), false)?.squeeze_dim(-1).mean_dim(&[1i64][..], false, Kind::Float)
        }
    })
}

fn per_member_orders(rng: &mut crate::rng::Rng, k: i64, n: i64, device: Device) -> Tensor {
    let mut all = Vec::with_capacity((k * n) as usize);
    for _ in 0..k {
        let mut order: Vec<i64> = (0..n).collect();
        rng.shuffle(&mut order);
        all.extend(order);
    }
    Tensor::from_slice(&all).reshape([k, n]).to_device(device)
}

fn gather_rows(inputs: &Tensor, targets: &Tensor, idx: &Tensor) -> (Tensor, Tensor) {
    let d = inputs.size()[2];
    let xb = inputs.gather(1, &idx.unsqueeze(-1).expand([-1, -1, d], false), false);
    let yb = if targets.dim() == 2 {
        targets.gather(1, idx, false)
    } else {
        let o = targets.size()[2];
        targets.gather(1, &idx.unsqueeze(-1).expand([-1, -1, o], false), false)
    };
    (xb, yb)
}
