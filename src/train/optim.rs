//! Optimisers and learning-rate schedules.

use anyhow::{Result, bail};
use tch::nn::{self, OptimizerConfig};

/// An optimiser and its settings.
///
/// ```
/// use tchlab::train::OptimizerKind;
/// let sgd = OptimizerKind::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 };
/// assert_eq!(sgd.lr(), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent with optional momentum and weight decay (L2).
    Sgd { lr: f64, momentum: f64, weight_decay: f64 },
    /// Adam (β = 0.9, 0.999) with optional weight decay.
    Adam { lr: f64, weight_decay: f64 },
}

impl OptimizerKind {
    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerKind::Sgd { lr, .. } | OptimizerKind::Adam { lr, .. } => lr,
        }
    }

    /// The weight decay (L2: `wd · w` added to each gradient).
    ///
    /// ```
    /// use tchlab::train::OptimizerKind;
    /// assert_eq!(OptimizerKind::Adam { lr: 0.001, weight_decay: 0.01 }.weight_decay(), 0.01);
    /// ```
    pub fn weight_decay(&self) -> f64 {
        match *self {
            OptimizerKind::Sgd { weight_decay, .. } | OptimizerKind::Adam { weight_decay, .. } => weight_decay,
        }
    }

    /// The same optimiser with another learning rate.
    pub fn with_lr(self, lr: f64) -> Self {
        match self {
            OptimizerKind::Sgd { momentum, weight_decay, .. } => OptimizerKind::Sgd { lr, momentum, weight_decay },
            OptimizerKind::Adam { weight_decay, .. } => OptimizerKind::Adam { lr, weight_decay },
        }
    }

    /// Builds the tch optimiser over `vs`.
    pub fn build(&self, vs: &nn::VarStore) -> Result<nn::Optimizer> {
        if !(self.lr() > 0.0 && self.lr().is_finite()) {
            bail!("learning rate {} must be a positive number", self.lr());
        }
        Ok(match *self {
            OptimizerKind::Sgd { lr, momentum, weight_decay } => {
                nn::Sgd { momentum, dampening: 0.0, wd: weight_decay, nesterov: false }.build(vs, lr)?
            }
            OptimizerKind::Adam { lr, weight_decay } => {
                nn::Adam { wd: weight_decay, ..Default::default() }.build(vs, lr)?
            }
        })
    }

    /// `sgd` or `adam`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { .. } => "adam",
        }
    }
}

/// A learning-rate schedule, applied at the start of each epoch.
///
/// ```
/// use tchlab::train::LrSchedule;
/// let s = LrSchedule::Step { every: 10, gamma: 0.5 };
/// assert_eq!(s.lr(0.1, 25, 100), 0.025);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step { every: usize, gamma: f64 },
    /// Multiply by `gamma` every epoch.
    Exponential(f64),
    /// Cosine annealing from the base rate to `min_lr` over the run.
    Cosine { min_lr: f64 },
}

impl LrSchedule {
    /// The rate at `epoch` (from 0) of `epochs`.
    pub fn lr(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            LrSchedule::Exponential(gamma) => base * gamma.powi(epoch as i32),
            LrSchedule::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}
