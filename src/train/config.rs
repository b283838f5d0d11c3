//! The settings of a training run.

use super::{Loss, LrSchedule, OptimizerKind};

/// Settings of a training run.
///
/// ```
/// use tchlab::train::{Loss, TrainConfig};
/// let c = TrainConfig::sgd(0.1, 100).loss(Loss::SigmoidMse).seed(1);
/// assert_eq!(c.epochs, 100);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// The loss.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule.
    pub schedule: LrSchedule,
    /// Seed for dropout (shuffling is the loader's seed).
    pub seed: u64,
    /// Evaluate on the whole training set after each epoch, as the lecture does
    /// (otherwise the train metrics are means over the epoch's minibatches).
    pub eval_train: bool,
    /// Count correct predictions of the training minibatches (when `eval_train` is off).
    /// Off saves four small tensor operations per step; the train accuracy is then NaN.
    pub minibatch_accuracy: bool,
    /// Print epoch lines (and a progress bar on a terminal); which epochs: `log_every`.
    pub verbose: bool,
    /// Print the line of every `n`-th epoch, and always the first and the last; `None`:
    /// every epoch of a run of up to 20 epochs, else every 10th (11 lines for 100 epochs).
    pub log_every: Option<usize>,
    /// Batch size of the evaluation passes over the training set.
    pub eval_batch: usize,
    /// Train plain MLPs with the fused step (see [`fused_step_blocker`](super::fused_step_blocker)) when nothing
    /// stands against it; off runs autograd and the tch optimiser for every model.
    pub fused_step: bool,
}

impl TrainConfig {
    /// Plain SGD with learning rate `lr` for `epochs` epochs, cross-entropy loss.
    pub fn sgd(lr: f64, epochs: usize) -> Self {
        TrainConfig {
            epochs,
            loss: Loss::CrossEntropy,
            optimizer: OptimizerKind::Sgd { lr, momentum: 0.0, weight_decay: 0.0 },
            schedule: LrSchedule::Constant,
            seed: 1,
            eval_train: true,
            minibatch_accuracy: true,
            verbose: true,
            log_every: None,
            eval_batch: 1000,
            fused_step: true,
        }
    }

    /// Adam with learning rate `lr` for `epochs` epochs, cross-entropy loss.
    pub fn adam(lr: f64, epochs: usize) -> Self {
        TrainConfig { optimizer: OptimizerKind::Adam { lr, weight_decay: 0.0 }, ..Self::sgd(lr, epochs) }
    }

    /// Sets the loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Sets the optimiser.
    pub fn optimizer(mut self, o: OptimizerKind) -> Self {
        self.optimizer = o;
        self
    }

    /// Sets the schedule.
    pub fn schedule(mut self, s: LrSchedule) -> Self {
        self.schedule = s;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to evaluate the whole training set after each epoch.
    pub fn eval_train(mut self, on: bool) -> Self {
        self.eval_train = on;
        self
    }

    /// Whether to count correct predictions of the training minibatches (for the train
    /// accuracy when `eval_train` is off); see [`TrainConfig::minibatch_accuracy`].
    ///
    /// ```
    /// let c = tchlab::train::TrainConfig::sgd(0.1, 1).eval_train(false).minibatch_accuracy(false);
    /// assert!(!c.minibatch_accuracy);
    /// ```
    pub fn minibatch_accuracy(mut self, on: bool) -> Self {
        self.minibatch_accuracy = on;
        self
    }

    /// Whether plain MLPs may train with the fused step (on by default); see
    /// [`TrainConfig::fused_step`].
    ///
    /// ```
    /// let c = tchlab::train::TrainConfig::sgd(0.1, 1).fused_step(false);
    /// assert!(!c.fused_step);
    /// ```
    pub fn fused_step(mut self, on: bool) -> Self {
        self.fused_step = on;
        self
    }

    /// Prints the line of every `n`-th epoch (and the first and the last).
    ///
    /// ```
    /// let c = tchlab::train::TrainConfig::sgd(0.1, 100).log_every(1);
    /// assert!(c.logs_epoch(7));
    /// let auto = tchlab::train::TrainConfig::sgd(0.1, 100);
    /// assert!(auto.logs_epoch(1) && auto.logs_epoch(30) && !auto.logs_epoch(31) && auto.logs_epoch(100));
    /// ```
    pub fn log_every(mut self, n: usize) -> Self {
        self.log_every = Some(n.max(1));
        self
    }

    /// Whether the line of `epoch` is printed (see [`TrainConfig::log_every`]).
    pub fn logs_epoch(&self, epoch: usize) -> bool {
        let every = self.log_every.unwrap_or(if self.epochs <= 20 { 1 } else { 10 }).max(1);
        self.verbose && (epoch == 1 || epoch == self.epochs || epoch.is_multiple_of(every))
    }

    /// No output.
    pub fn quiet(mut self) -> Self {
        self.verbose = false;
        self
    }
}
