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
        // lr = 0 is allowed, as in PyTorch (a run that must not learn, e.g. a control);
        // the fused step accepts the same rates.
        if !(self.lr() >= 0.0 && self.lr().is_finite()) {
            bail!("learning rate {} must be a finite number >= 0 (e.g. 0.1)", self.lr());
        }
        Ok(match *self {
            OptimizerKind::Sgd { lr, momentum, weight_decay } => {
                nn::Sgd { momentum, dampening: 0.0, wd: weight_decay, nesterov: false }.build(vs, lr)?
            }
            OptimizerKind::Adam { lr, weight_decay } => {
                nn::Adam { beta1: ADAM_BETA1, beta2: ADAM_BETA2, wd: weight_decay, eps: ADAM_EPS, amsgrad: false }
                    .build(vs, lr)?
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

/// Adam's first-moment decay β₁, as `torch.optim.Adam` and tch's `nn::Adam` default.
pub const ADAM_BETA1: f64 = 0.9;
/// Adam's second-moment decay β₂.
pub const ADAM_BETA2: f64 = 0.999;
/// Adam's ε, added to the root of the second moment.
pub const ADAM_EPS: f64 = 1e-8;

/// What an optimiser keeps between steps for one parameter: SGD's momentum buffer, or
/// Adam's first and second moments (empty for plain SGD).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParameterState {
    /// Momentum buffer `v` (SGD) or first moment `m` (Adam).
    pub first: Vec<f32>,
    /// Second moment `v` (Adam).
    pub second: Vec<f32>,
}

/// One optimiser step on one parameter `w` with gradient `g` (same length), in one pass
/// over its values, at `kind`'s learning rate (set it per epoch with
/// [`OptimizerKind::with_lr`]); `t` is the step's number from 1 (for Adam's bias
/// correction). The
/// update rule is libtorch's (`torch::optim::SGD` with dampening 0, `torch::optim::Adam`,
/// which tch's optimisers run on the autograd path), weight decay added to the gradient:
///
/// - SGD: `g ← g + wd·w`, with momentum `μ`: `v ← μ·v + g`, `g ← v`; then `w ← w − lr·g`.
/// - Adam: `g ← g + wd·w`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
///   `w ← w − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
///
/// State values below f32's smallest normal number (1.2·10⁻³⁸) are stored as 0, as
/// `torch.set_flush_denormal(True)` would: the momentum of a weight whose gradient has
/// become 0 decays into subnormal numbers, and arithmetic on those is about 100 times
/// slower on this machine's CPU (kept, they made the ReLU model's Adam epoch 1.5× slower).
///
/// ```
/// use tchlab::train::{OptimizerKind, ParameterState, step_parameter};
/// let (mut w, g) = (vec![1.0f32, -1.0], vec![0.5f32, 0.5]);
/// let mut state = ParameterState::default();
/// let sgd = OptimizerKind::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 };
/// step_parameter(&sgd, 1, &mut w, &g, &mut state);
/// step_parameter(&sgd, 2, &mut w, &g, &mut state);
/// assert!((w[0] - (1.0 - 0.05 - 0.095)).abs() < 1e-6); // v = 0.5, then 0.95
/// let adam = OptimizerKind::Adam { lr: 0.01, weight_decay: 0.0 };
/// let mut w = vec![1.0f32];
/// step_parameter(&adam, 1, &mut w, &[3.0], &mut ParameterState::default());
/// assert!((w[0] - 0.99).abs() < 1e-6); // Adam's first step moves by lr
/// // A momentum that decays (gradient 0) reaches 0, not a subnormal number.
/// let mut state = ParameterState { first: vec![1e-30], second: vec![] };
/// let mut w = vec![0.0f32];
/// for t in 1..=200 {
///     step_parameter(&sgd, t, &mut w, &[0.0], &mut state);
/// }
/// assert_eq!(state.first[0], 0.0);
/// ```
pub fn step_parameter(kind: &OptimizerKind, t: u64, w: &mut [f32], g: &[f32], state: &mut ParameterState) {
    assert_eq!(w.len(), g.len(), "a parameter and its gradient differ in size");
    let (lr, wd) = (kind.lr(), kind.weight_decay() as f32);
    match *kind {
        OptimizerKind::Sgd { momentum, .. } => {
            let (lr, mu) = (lr as f32, momentum as f32);
            // The buffer starts at zero, so the first step's is the gradient, as libtorch's.
            state.first.resize(w.len(), 0.0);
            for ((w, &g), v) in w.iter_mut().zip(g).zip(&mut state.first) {
                *v = flush(mu * *v + g + wd * *w);
                *w -= lr * *v;
            }
        }
        OptimizerKind::Adam { .. } => {
            state.first.resize(w.len(), 0.0);
            state.second.resize(w.len(), 0.0);
            let t = t.max(1) as i32;
            let step_size = (lr / (1.0 - ADAM_BETA1.powi(t))) as f32;
            let root_correction = (1.0 - ADAM_BETA2.powi(t)).sqrt() as f32;
            let (b1, b2, eps) = (ADAM_BETA1 as f32, ADAM_BETA2 as f32, ADAM_EPS as f32);
            let (c1, c2) = ((1.0 - ADAM_BETA1) as f32, (1.0 - ADAM_BETA2) as f32);
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(&mut state.first).zip(&mut state.second) {
                let g = g + wd * *w;
                *m = flush(b1 * *m + c1 * g);
                *v = flush(b2 * *v + c2 * g * g);
                *w -= step_size * *m / (v.sqrt() / root_correction + eps);
            }
        }
    }
}

/// `x`, or 0 when it is subnormal (below f32's smallest normal number, 1.2e-38).
fn flush(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE { 0.0 } else { x }
}
