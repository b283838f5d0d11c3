//! Training an [`MlpEnsemble`]: every member on its own data, with its own loss, in one
//! batched step (the members' losses are summed, so each member's gradient is its own).

use std::time::Instant;

use anyhow::{Result, bail, ensure};
use tch::{Device, Kind, Tensor};

use super::{History, Loss, OptimizerKind};
use crate::model::MlpEnsemble;

/// The loss each member minimises (the mean over its own examples).
///
/// ```
/// use tchlab::{model::{MlpConfig, MlpEnsemble}, train::EnsembleLoss};
/// let e = MlpEnsemble::new(&MlpConfig::new(2, &[3], 4), 2, 1).unwrap();
/// let x = tch::Tensor::zeros([2, 5, 2], tch::kind::FLOAT_CPU);
/// let y = tch::Tensor::zeros([2, 5], (tch::Kind::Int64, tch::Device::Cpu));
/// assert_eq!(EnsembleLoss::CrossEntropy.per_member(&e.forward(&x), &y).unwrap().size(), vec![2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnsembleLoss {
    /// Softmax + cross-entropy; targets are class indices `[members, n]` (`i64`).
    CrossEntropy,
    /// Mean squared error; targets are values `[members, n, outputs]` (`f32`).
    Mse,
}

/// How [`EnsembleTrain::fit`] trains an [`MlpEnsemble`].
///
/// ```
/// use tchlab::train::{EnsembleLoss, EnsembleTrain};
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

impl EnsembleTrain {
    /// Trains every member of `ensemble` on its own data: `inputs` `[members, n, inputs]` (or `[n,
    /// inputs]` shared), targets as [`EnsembleLoss`] says. The step minimises the sum of
    /// the members' mean losses, whose gradient for member k's weights is the gradient of
    /// member k's loss alone. Returns the mean over members of the training loss (and,
    /// for cross-entropy, accuracy) per epoch; fails when the loss stops being finite.
    ///
    /// ```
    /// use tchlab::model::{Activation, MlpConfig, MlpEnsemble};
    /// use tchlab::train::{EnsembleLoss, EnsembleTrain};
    /// let config = MlpConfig::new(1, &[8], 1).activation(Activation::Tanh);
    /// let mut e = MlpEnsemble::new(&config, 4, 1).unwrap();
    /// let x = tch::Tensor::linspace(-1.0, 1.0, 20, tch::kind::FLOAT_CPU).reshape([1, 20, 1]).repeat([4, 1, 1]);
    /// let y = x.shallow_clone() * 0.5;
    /// let h = EnsembleTrain::adam(0.01, 300, EnsembleLoss::Mse).fit(&mut e, &x, &y).unwrap();
    /// assert!(h.last_loss("train").unwrap() < 0.01);
    /// ```
    pub fn fit(&self, ensemble: &mut MlpEnsemble, inputs: &Tensor, targets: &Tensor) -> Result<History> {
        let k = ensemble.members();
        let inputs = self.checked_inputs(ensemble, inputs, targets)?;
        let n = inputs.size()[1];
        let mut opt = self.optimizer.build(ensemble.var_store())?;
        let batch = self.batch.map_or(n, |b| (b as i64).clamp(1, n));
        let mut history = History::default();
        let mut rng = crate::rng::Rng::new(self.seed);
        let clock = Instant::now();
        for epoch in 1..=self.epochs {
            let order = if batch < n { Some(per_member_orders(&mut rng, k, n, inputs.device())) } else { None };
            let (mut total, mut correct, mut seen) = (0.0, 0.0, 0i64);
            for start in (0..n).step_by(batch as usize) {
                let len = batch.min(n - start);
                let (xb, yb) = match &order {
                    None => (inputs.shallow_clone(), targets.shallow_clone()),
                    Some(idx) => gather_rows(&inputs, targets, &idx.narrow(1, start, len)),
                };
                let out = ensemble.forward(&xb);
                let losses = self.loss.per_member(&out, &yb)?;
                let sum = losses.sum(Kind::Float);
                opt.zero_grad();
                sum.backward();
                opt.step();
                let value = sum.double_value(&[]) / k as f64;
                if !value.is_finite() {
                    bail!("the ensemble's loss became {value} in epoch {epoch}: lower the learning rate");
                }
                total += value * len as f64;
                if self.loss == EnsembleLoss::CrossEntropy {
                    let _guard = tch::no_grad_guard();
                    correct +=
                        out.argmax(-1, false).eq_tensor(&yb).to_kind(Kind::Float).sum(Kind::Float).double_value(&[])
                            / k as f64;
                }
                seen += len;
            }
            let accuracy = if self.loss == EnsembleLoss::CrossEntropy { correct / seen as f64 } else { f64::NAN };
            history.push(
                epoch,
                "train",
                total / seen as f64,
                accuracy,
                self.optimizer.lr(),
                clock.elapsed().as_secs_f64(),
            );
        }
        Ok(history)
    }

    /// `inputs` as `[members, n, inputs]` (a shared `[n, inputs]` expanded to every
    /// member), after checking them and `targets` against `ensemble` and the loss.
    fn checked_inputs(&self, ensemble: &MlpEnsemble, inputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let k = ensemble.members();
        let inputs =
            if inputs.dim() == 2 { inputs.unsqueeze(0).expand([k, -1, -1], false) } else { inputs.shallow_clone() };
        let size = inputs.size();
        ensure!(
            size.len() == 3 && size[0] == k && size[2] == ensemble.config().inputs,
            "inputs of shape {size:?}: want [{k}, n, {}]",
            ensemble.config().inputs
        );
        let n = size[1];
        ensure!(n > 0, "no training examples");
        match self.loss {
            EnsembleLoss::CrossEntropy => ensure!(
                targets.size() == [k, n] && targets.kind() == Kind::Int64,
                "cross-entropy targets must be class indices [{k}, {n}] (i64), got {:?} {:?}",
                targets.size(),
                targets.kind()
            ),
            EnsembleLoss::Mse => ensure!(
                targets.size() == [k, n, ensemble.config().outputs],
                "MSE targets must be [{k}, {n}, {}], got {:?}",
                ensemble.config().outputs,
                targets.size()
            ),
        }
        Ok(inputs)
    }
}

impl EnsembleLoss {
    /// Each member's mean loss `[members]` for outputs `[members, n, outputs]` and its
    /// targets (see the example of [`EnsembleLoss`]); cross-entropy is
    /// [`Loss::per_example`]'s, averaged per member.
    pub fn per_member(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(match self {
            EnsembleLoss::Mse => (outputs - targets).square().mean_dim(&[1i64, 2][..], false, Kind::Float),
            EnsembleLoss::CrossEntropy => {
                Loss::CrossEntropy.per_example(outputs, targets)?.mean_dim(&[1i64][..], false, Kind::Float)
            }
        })
    }
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
