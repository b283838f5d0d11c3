//! The training loop: fit with validation each epoch, one step per minibatch by the
//! method chosen once per run, divergence checks, hooks and progress.

use std::time::Instant;

use anyhow::{Context, Result, ensure};

use super::evaluate::Tally;
use super::fused::{FusedOptimizer, FusedStep};
use super::progress::Progress;
use super::{BatchTransform, History, Hook, TrainConfig, check_shapes, evaluate, fused_step_blocker};
use crate::data::DataLoader;
use crate::model::Network;
use crate::threads::ThreadGovernor;

/// How [`Trainer::fit`] computes each minibatch's update, chosen once per run.
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::train::StepMethod;
/// let mlp = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
/// assert_eq!(Trainer::new(TrainConfig::sgd(0.1, 1)).step_method(&mlp), StepMethod::Fused);
/// assert_eq!(Trainer::new(TrainConfig::adam(0.001, 1)).step_method(&mlp), StepMethod::Fused);
/// let dropout = Mlp::new(&MlpConfig::new(2, &[8], 2).dropout(0.5), 1).unwrap();
/// let method = Trainer::new(TrainConfig::adam(0.001, 1)).step_method(&dropout);
/// assert_eq!(method.to_string(), "autograd (the model uses dropout)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepMethod {
    /// The fused step of plain MLPs: no autograd graph; plain SGD's update folded into
    /// the backward pass's matrix products, momentum's and Adam's one pass over each
    /// parameter (see [`fused_step_blocker`]).
    Fused,
    /// Autograd and the tch optimiser, with the reason the fused step was not used.
    Autograd {
        /// Why not the fused step (from [`fused_step_blocker`]).
        reason: String,
    },
}

impl std::fmt::Display for StepMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepMethod::Fused => f.write_str("fused"),
            StepMethod::Autograd { reason } => write!(f, "autograd ({reason})"),
        }
    }
}

/// Trains models: `fit` with validation each epoch, hooks, and history. A plain
/// [`Mlp`](crate::model::Mlp) under SGD (with or without momentum) or Adam trains with
/// the fused step (see
/// [`fused_step_blocker`]); every other model, loss or optimiser runs autograd.
///
/// ```no_run
/// use tchlab::prelude::*;
/// # fn main() -> anyhow::Result<()> {
/// let mnist = Mnist::load(MnistKind::Digits)?;
/// let train = DataLoader::new(mnist.train(Scaling::Unit), 100)?.shuffle(1);
/// let test = DataLoader::new(mnist.test(Scaling::Unit), 1000)?;
/// let mut model = Mlp::new(&MlpConfig::new(784, &[100], 10).activation(Activation::Sigmoid), 1)?;
/// let history = Trainer::new(TrainConfig::sgd(0.1, 10)).fit(&mut model, &train, Some(&test))?;
/// # Ok(()) }
/// ```
pub struct Trainer {
    config: TrainConfig,
    hooks: Vec<Box<dyn Hook>>,
    transform: Option<Box<dyn BatchTransform>>,
}

/// How a run computes each minibatch's update, chosen once for the run ([`StepMethod`]).
enum Stepper<'m> {
    /// The fused step: the plain MLP and the fused update's own state.
    Fused { mlp: &'m crate::model::Mlp, optimizer: FusedOptimizer },
    /// Autograd and tch's optimiser over the model's variables.
    Autograd { model: &'m mut dyn Network, optimizer: tch::nn::Optimizer },
}

impl Stepper<'_> {
    /// The model being trained.
    fn network(&self) -> &dyn Network {
        match self {
            Stepper::Fused { mlp, .. } => *mlp,
            Stepper::Autograd { model, .. } => &**model,
        }
    }

    fn set_lr(&mut self, lr: f64) {
        match self {
            Stepper::Fused { optimizer, .. } => optimizer.set_lr(lr),
            Stepper::Autograd { optimizer, .. } => optimizer.set_lr(lr),
        }
    }
}

/// What one epoch of a run works with.
struct Epoch<'r, 'm> {
    stepper: &'r mut Stepper<'m>,
    governor: Option<&'r mut ThreadGovernor>,
    train: &'r DataLoader,
    number: usize,
    lr: f64,
}

/// What the end of every epoch of a run works with.
struct EpochEnd<'a> {
    /// A loader over the training set, when the training numbers come from a pass over it.
    train_eval: Option<DataLoader>,
    valid: Option<&'a DataLoader>,
    clock: Instant,
    /// Seconds of the epochs before this run (a resumed history).
    offset: f64,
    progress: Progress,
}

impl Trainer {
    /// A trainer with `config` and no hooks. Prepares the process once
    /// ([`crate::env::prepare_process`]: MKL's reproducible mode, glibc's allocator).
    pub fn new(config: TrainConfig) -> Self {
        crate::env::prepare_process();
        Trainer { config, hooks: Vec::new(), transform: None }
    }

    /// Trains on `transform`'s inputs in place of each minibatch's (see [`BatchTransform`]);
    /// the evaluation passes see the data as they are.
    pub fn transform(mut self, transform: impl BatchTransform + 'static) -> Self {
        self.transform = Some(Box::new(transform));
        self
    }

    /// Adds a hook.
    pub fn hook(mut self, hook: impl Hook + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// The settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// How `fit` would compute `model`'s updates (and why not fused, when not).
    pub fn step_method(&self, model: &dyn Network) -> StepMethod {
        match fused_step_blocker(model, &self.config, &self.hooks) {
            None => StepMethod::Fused,
            Some(reason) => StepMethod::Autograd { reason },
        }
    }

    /// Whether `fit` trains `model` with the fused step (see [`fused_step_blocker`]).
    ///
    /// ```
    /// use tchlab::prelude::*;
    /// let mlp = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
    /// assert!(Trainer::new(TrainConfig::sgd(0.1, 1)).uses_fused_step(&mlp));
    /// assert!(!Trainer::new(TrainConfig::sgd(0.1, 1).fused_step(false)).uses_fused_step(&mlp));
    /// ```
    pub fn uses_fused_step(&self, model: &dyn Network) -> bool {
        self.step_method(model) == StepMethod::Fused
    }

    /// Trains for `config.epochs` epochs; validates on `valid` after each epoch.
    pub fn fit(&mut self, model: &mut dyn Network, train: &DataLoader, valid: Option<&DataLoader>) -> Result<History> {
        self.fit_from(model, train, valid, History::default())
    }

    /// Continues a run whose `history` is given (e.g. from a checkpoint) up to
    /// `config.epochs` epochs in all. With the same seeds the result equals an
    /// uninterrupted run for optimisers without state (plain SGD).
    ///
    /// Each epoch: set the learning rate and the dropout seed, one step per minibatch
    /// ([`StepMethod`], chosen once for the run and kept in [`History::step`]; on the
    /// [`BatchTransform`]'s inputs when one is set), then the evaluation, the hooks and
    /// the progress line.
    ///
    /// Process-wide: the dropout seed is libtorch's global generator, reseeded from the
    /// run's seed at every epoch (so other code drawing from it during a run gets the
    /// trainer's stream); under the fused step a
    /// [`ThreadGovernor`](crate::threads::ThreadGovernor) may change libtorch's thread
    /// count during the run and restores it after (see [`crate::env::prepare_process`]).
    pub fn fit_from(
        &mut self,
        model: &mut dyn Network,
        train: &DataLoader,
        valid: Option<&DataLoader>,
        mut history: History,
    ) -> Result<History> {
        self.check_run(model, train, valid)?;
        let c = self.config.clone();
        let method = self.step_method(model);
        history.step = method.to_string();
        let mut stepper = self.stepper(model, &method)?;
        // The fused step's results do not depend on the thread count, so it may follow
        // the machine's load (see `threads`).
        let mut governor = matches!(stepper, Stepper::Fused { .. }).then(ThreadGovernor::new);
        let train_eval = match c.eval_train {
            true => {
                Some(DataLoader::from_arc(train.dataset().clone(), c.eval_batch.max(1))?.device(train.target_device()))
            }
            false => None,
        };
        let start = history.epochs_done();
        let offset = history.epochs.last().map(|r| r.seconds).unwrap_or(0.0);
        history.batches_per_epoch = train.len();
        let progress = Progress::new(&c, (c.epochs.saturating_sub(start)) * train.len());
        let ends = EpochEnd { train_eval, valid, clock: Instant::now(), offset, progress };
        for epoch in start + 1..=c.epochs {
            let lr = c.schedule.lr(c.optimizer.lr(), epoch - 1, c.epochs);
            stepper.set_lr(lr);
            tch::manual_seed(crate::rng::mix(c.seed ^ epoch as u64) as i64 & i64::MAX);
            let run = Epoch { stepper: &mut stepper, governor: governor.as_mut(), train, number: epoch, lr };
            let totals = self.train_epoch(run, &mut history, &ends.progress)?;
            self.end_epoch(&ends, stepper.network(), &totals, (epoch, lr), &mut history)?;
        }
        let progress = ends.progress;
        progress.finish();
        Ok(history)
    }

    /// The stepper of a run whose method is `method` (from [`Trainer::step_method`]).
    fn stepper<'m>(&self, model: &'m mut dyn Network, method: &StepMethod) -> Result<Stepper<'m>> {
        Ok(match method {
            StepMethod::Fused => {
                let model: &dyn Network = model;
                let mlp = model.as_mlp().context("the fused step was chosen for a model that is not a plain MLP")?;
                Stepper::Fused { mlp, optimizer: FusedOptimizer::new(self.config.optimizer, mlp) }
            }
            StepMethod::Autograd { .. } => {
                let optimizer = self.config.optimizer.build(model.var_store())?;
                Stepper::Autograd { model, optimizer }
            }
        })
    }

    /// The checks before a run: the data fit the model, there is a batch, at least one
    /// epoch, a usable learning rate.
    fn check_run(&self, model: &dyn Network, train: &DataLoader, valid: Option<&DataLoader>) -> Result<()> {
        check_shapes(model, train)?;
        if let Some(v) = valid {
            check_shapes(model, v)?;
        }
        ensure!(!train.is_empty(), "the training loader yields no batch: lower the batch size or turn off drop_last");
        let c = &self.config;
        ensure!(c.epochs >= 1, "epochs = 0: training needs at least one epoch (set epochs to 1 or more)");
        let lr = c.optimizer.lr();
        ensure!(lr.is_finite() && lr >= 0.0, "learning rate {lr} is not a finite number >= 0: set lr to e.g. 0.1");
        Ok(())
    }

    /// After an epoch's steps (`at`: the epoch and its learning rate): records the
    /// training numbers (from `totals`, or a pass over the training set) and the
    /// validation numbers, runs the hooks, and prints the epoch's line.
    fn end_epoch(
        &mut self,
        ends: &EpochEnd<'_>,
        model: &dyn Network,
        totals: &Tally,
        at: (usize, f64),
        history: &mut History,
    ) -> Result<()> {
        let (c, (epoch, lr)) = (&self.config, at);
        let seconds = || ends.clock.elapsed().as_secs_f64() + ends.offset;
        let train_result = match &ends.train_eval {
            Some(loader) => evaluate(model, loader, c.loss)?,
            None => totals.evaluation(c.minibatch_accuracy),
        };
        history.push(epoch, "train", train_result.loss, train_result.accuracy, lr, seconds());
        let mut line = format!(
            "epoch {epoch:>3}/{} | train loss {:.4} acc {:.2}%",
            c.epochs,
            train_result.loss,
            100.0 * train_result.accuracy
        );
        if let Some(v) = ends.valid {
            let e = evaluate(model, v, c.loss)?;
            history.push(epoch, "valid", e.loss, e.accuracy, lr, seconds());
            line.push_str(&format!(" | valid loss {:.4} acc {:.2}%", e.loss, 100.0 * e.accuracy));
        }
        for h in &mut self.hooks {
            h.end_of_epoch(model, epoch, history)?;
        }
        line.push_str(&format!(" | {:.1}s", seconds()));
        if c.logs_epoch(epoch) {
            ends.progress.line(line);
        }
        Ok(())
    }

    /// One epoch of minibatch steps; returns the sums for the epoch's train metrics.
    fn train_epoch(&mut self, run: Epoch<'_, '_>, history: &mut History, progress: &Progress) -> Result<Tally> {
        let Epoch { stepper, mut governor, train, number: epoch, lr } = run;
        let c = &self.config;
        let mut totals = Tally::default();
        for (b, batch) in train.epoch(epoch as u64 - 1).enumerate() {
            let mut batch = batch.with_context(|| format!("loading batch {b} of epoch {epoch}"))?;
            if let Some(t) = &mut self.transform {
                let inputs = t
                    .inputs(stepper.network(), &batch.inputs, &batch.labels, epoch, b)
                    .with_context(|| format!("transforming batch {b} of epoch {epoch}"))?;
                ensure!(
                    inputs.size() == batch.inputs.size(),
                    "the batch transform changed the inputs' shape from {:?} to {:?} (batch {b} of epoch {epoch})",
                    batch.inputs.size(),
                    inputs.size()
                );
                batch.inputs = inputs.detach();
            }
            let at = || format!("epoch {epoch}, batch {b}");
            let (logits, value) = match &mut *stepper {
                Stepper::Fused { mlp, optimizer } => {
                    let step = FusedStep::forward(mlp, &batch.inputs).with_context(at)?;
                    let (value, delta) = step.loss(c.loss, &batch.labels, optimizer).with_context(at)?;
                    let value = finite(value, epoch, b, lr)?;
                    let logits = step.logits().shallow_clone();
                    for h in &mut self.hooks {
                        h.after_backward(*mlp, epoch, b)?;
                    }
                    step.update(delta, optimizer)?;
                    (logits, value)
                }
                Stepper::Autograd { model, optimizer } => {
                    let logits = model.forward_t(&batch.inputs, true);
                    let loss = c.loss.compute(&logits, &batch.labels).with_context(at)?;
                    let value = finite(loss.double_value(&[]), epoch, b, lr)?;
                    optimizer.zero_grad();
                    loss.backward();
                    for h in &mut self.hooks {
                        h.after_backward(&**model, epoch, b)?;
                    }
                    optimizer.step();
                    (logits, value)
                }
            };
            history.minibatch_loss.push(value);
            totals.add_loss(value, batch.indices.len());
            if !c.eval_train && c.minibatch_accuracy {
                totals.add_correct(&logits, &batch.labels);
            }
            progress.batch_done();
            if let Some(g) = governor.as_deref_mut() {
                g.tick();
            }
        }
        Ok(totals)
    }
}

/// The divergence check: a minibatch loss that is not finite stops the run with what to do.
fn finite(value: f64, epoch: usize, batch: usize, lr: f64) -> Result<f64> {
    ensure!(
        value.is_finite(),
        "training diverged: the loss is {value} at epoch {epoch}, batch {batch} (learning rate {lr}); \
         lower the learning rate (e.g. --set lr={}) or check the inputs for NaN/inf",
        lr / 10.0
    );
    Ok(value)
}
