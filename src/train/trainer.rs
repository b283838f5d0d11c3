//! The training loop: fit with validation each epoch, evaluate, hooks, divergence and
//! shape checks, progress output.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use tch::Tensor;

use super::fused::{FusedOptimizer, FusedStep};
use super::{History, Loss, LrSchedule, OptimizerKind, fused_step_blocker};
use crate::data::DataLoader;
use crate::model::Network;
use crate::threads::ThreadGovernor;

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
    /// Train plain MLPs with the fused step (see [`fused_step_blocker`]) when nothing
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

/// Called by the trainer to record what an experiment needs.
pub trait Hook {
    /// After the backward pass of a minibatch, before the optimiser step: with autograd
    /// the gradients are in the variables' `.grad()`; under the fused step (chosen only
    /// when no hook [needs gradients](Hook::needs_gradients)) there are none, and the
    /// call comes after the loss, before the update.
    fn after_backward(&mut self, _model: &dyn Network, _epoch: usize, _batch: usize) -> Result<()> {
        Ok(())
    }
    /// After each epoch's evaluation; record series into `history`.
    fn end_of_epoch(&mut self, _model: &dyn Network, _epoch: usize, _history: &mut History) -> Result<()> {
        Ok(())
    }
    /// Whether [`Hook::after_backward`] reads gradients. The fused step of plain MLPs
    /// makes none, so the trainer uses autograd while any hook says yes (the default).
    fn needs_gradients(&self) -> bool {
        true
    }
}

/// Replaces the inputs of every training minibatch before the trainer's step: the model
/// trains on what [`BatchTransform::inputs`] returns, with the batch's labels. Adversarial
/// training is one ([`AdversarialInputs`](crate::attack::AdversarialInputs) replaces each
/// batch by its adversarial examples against the model as it is at that step).
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::train::BatchTransform;
/// /// Trains on inverted inputs.
/// struct Invert;
/// impl BatchTransform for Invert {
///     fn inputs(&mut self, _m: &dyn Network, x: &Tensor, _y: &Tensor, _epoch: usize, _batch: usize) -> Result<Tensor> {
///         Ok(1.0 - x)
///     }
/// }
/// let loader = DataLoader::new(Xor::lecture().dataset(), 250).unwrap();
/// let mut model = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
/// let history = Trainer::new(TrainConfig::sgd(0.1, 1).quiet()).transform(Invert).fit(&mut model, &loader, None).unwrap();
/// assert_eq!(history.epochs_done(), 1);
/// ```
pub trait BatchTransform {
    /// The inputs to train on in place of `inputs` (`[B, ...]`, with labels `labels`) at
    /// minibatch `batch` of epoch `epoch` (from 1); must keep the shape.
    fn inputs(
        &mut self,
        model: &dyn Network,
        inputs: &Tensor,
        labels: &Tensor,
        epoch: usize,
        batch: usize,
    ) -> Result<Tensor>;
}

/// Loss and accuracy of a model on a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
    /// Number of examples.
    pub count: usize,
}

/// Evaluates `model` on every batch of `loader` (no gradients, no dropout).
///
/// ```
/// use tchlab::prelude::*;
/// let loader = DataLoader::new(Xor::lecture().dataset(), 256).unwrap();
/// let model = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
/// let e = evaluate(&model, &loader, Loss::CrossEntropy).unwrap();
/// assert_eq!(e.count, 750);
/// ```
pub fn evaluate(model: &dyn Network, loader: &DataLoader, loss: Loss) -> Result<Evaluation> {
    let _guard = tch::no_grad_guard();
    let (mut total, mut correct, mut count) = (0.0, 0i64, 0usize);
    for batch in loader.iter() {
        let batch = batch?;
        let logits = model.forward_t(&batch.inputs, false);
        let n = batch.indices.len();
        total += loss.compute(&logits, &batch.labels)?.double_value(&[]) * n as f64;
        correct += logits.argmax(-1, false).eq_tensor(&batch.labels).sum(tch::Kind::Int64).int64_value(&[]);
        count += n;
    }
    ensure!(count > 0, "evaluation saw no examples");
    Ok(Evaluation { loss: total / count as f64, accuracy: correct as f64 / count as f64, count })
}

/// Checks, before training, that the data fit the model; says what to change.
pub fn check_shapes(model: &dyn Network, loader: &DataLoader) -> Result<()> {
    let example = loader.dataset().get(0).context("reading the first example to check its shape")?;
    let want = model.input_shape();
    let want_numel: i64 = want.iter().product();
    let got_numel = example.numel() as i64;
    let ok = if want.len() == 1 { got_numel == want_numel } else { example.shape == want };
    ensure!(
        ok,
        "the data give examples of shape {:?} ({got_numel} values) but the model `{}` expects {}: \
         change the model's input size (e.g. MlpConfig::new({got_numel}, ..)) or transform the data",
        example.shape,
        model.describe(),
        if want.len() == 1 { format!("{want_numel} input values") } else { format!("inputs of shape {want:?}") }
    );
    let classes = loader.dataset().classes().len() as i64;
    ensure!(
        classes == 0 || classes <= model.outputs(),
        "the data have {classes} classes but the model has {} outputs: set the output size to {classes}",
        model.outputs()
    );
    Ok(())
}

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

/// Sums over one epoch's minibatches.
#[derive(Default)]
struct EpochTotals {
    loss: f64,
    correct: i64,
    seen: usize,
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

impl Trainer {
    /// A trainer with `config` and no hooks.
    pub fn new(config: TrainConfig) -> Self {
        crate::env::tune_allocator();
        crate::threads::reproducible_products();
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
        let clock = Instant::now();
        for epoch in start + 1..=c.epochs {
            let lr = c.schedule.lr(c.optimizer.lr(), epoch - 1, c.epochs);
            stepper.set_lr(lr);
            tch::manual_seed(crate::rng::mix(c.seed ^ epoch as u64) as i64 & i64::MAX);
            let run = Epoch { stepper: &mut stepper, governor: governor.as_mut(), train, number: epoch, lr };
            let totals = self.train_epoch(run, &mut history, &progress)?;
            let model = stepper.network();
            let train_result = match &train_eval {
                Some(loader) => evaluate(model, loader, c.loss)?,
                None => totals.evaluation(c.minibatch_accuracy),
            };
            history.push(
                epoch,
                "train",
                train_result.loss,
                train_result.accuracy,
                lr,
                clock.elapsed().as_secs_f64() + offset,
            );
            let mut line = format!(
                "epoch {epoch:>3}/{} | train loss {:.4} acc {:.2}%",
                c.epochs,
                train_result.loss,
                100.0 * train_result.accuracy
            );
            if let Some(v) = valid {
                let e = evaluate(model, v, c.loss)?;
                history.push(epoch, "valid", e.loss, e.accuracy, lr, clock.elapsed().as_secs_f64() + offset);
                line.push_str(&format!(" | valid loss {:.4} acc {:.2}%", e.loss, 100.0 * e.accuracy));
            }
            for h in &mut self.hooks {
                h.end_of_epoch(model, epoch, &mut history)?;
            }
            line.push_str(&format!(" | {:.1}s", clock.elapsed().as_secs_f64() + offset));
            if c.logs_epoch(epoch) {
                progress.line(line);
            }
        }
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

    /// One epoch of minibatch steps; returns the sums for the epoch's train metrics.
    fn train_epoch(&mut self, run: Epoch<'_, '_>, history: &mut History, progress: &Progress) -> Result<EpochTotals> {
        let Epoch { stepper, mut governor, train, number: epoch, lr } = run;
        let c = &self.config;
        let mut totals = EpochTotals::default();
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
            let n = batch.indices.len();
            totals.loss += value * n as f64;
            totals.seen += n;
            if !c.eval_train && c.minibatch_accuracy {
                let _g = tch::no_grad_guard();
                totals.correct +=
                    logits.argmax(-1, false).eq_tensor(&batch.labels).sum(tch::Kind::Int64).int64_value(&[]);
            }
            progress.batch_done();
            if let Some(g) = governor.as_deref_mut() {
                g.tick();
            }
        }
        Ok(totals)
    }
}

impl EpochTotals {
    /// The epoch's train metrics from its minibatches (accuracy NaN when not counted).
    fn evaluation(&self, counted: bool) -> Evaluation {
        let accuracy = if counted { self.correct as f64 / self.seen as f64 } else { f64::NAN };
        Evaluation { loss: self.loss / self.seen as f64, accuracy, count: self.seen }
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

/// Progress output: one line per epoch when verbose, above a progress bar on a terminal
/// (with the `progress` feature).
struct Progress {
    verbose: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn new(c: &TrainConfig, batches: usize) -> Self {
        Progress {
            verbose: c.verbose,
            #[cfg(feature = "progress")]
            bar: (c.verbose && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let bar = indicatif::ProgressBar::new(batches as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} batches {elapsed_precise} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            }),
        }
    }

    fn batch_done(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn line(&self, line: String) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            return bar.println(line);
        }
        if self.verbose {
            println!("{line}");
        }
    }

    fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Records the L2 norm of each weight's gradient, averaged over an epoch's minibatches,
/// as the series `grad_norm` (one value per layer).
///
/// ```
/// let _hook = tchlab::train::GradNorms::default();
/// ```
#[derive(Default)]
pub struct GradNorms {
    sums: Vec<f64>,
    batches: usize,
}

impl Hook for GradNorms {
    fn after_backward(&mut self, model: &dyn Network, _epoch: usize, _batch: usize) -> Result<()> {
        let weights = model.named_weights();
        if self.sums.len() != weights.len() {
            self.sums = vec![0.0; weights.len()];
        }
        for (k, (_, w)) in weights.iter().enumerate() {
            let g = w.grad();
            if g.defined() {
                self.sums[k] += g.norm().double_value(&[]);
            }
        }
        self.batches += 1;
        Ok(())
    }

    fn end_of_epoch(&mut self, _model: &dyn Network, _epoch: usize, history: &mut History) -> Result<()> {
        let n = self.batches.max(1) as f64;
        history.record("grad_norm", self.sums.iter().map(|s| s / n).collect());
        self.sums.iter_mut().for_each(|s| *s = 0.0);
        self.batches = 0;
        Ok(())
    }
}

/// Records, after each epoch, the fraction of hidden units per layer whose net input
/// is negative for every example of a probe batch (a dead ReLU gets no gradient), as
/// the series `dead_fraction`.
pub struct DeadUnits {
    probe: Tensor,
}

impl DeadUnits {
    /// Uses `probe` (inputs `[N, ...]`, e.g. 1,000 training images) to find dead units.
    pub fn new(probe: Tensor) -> Self {
        DeadUnits { probe }
    }
}

/// Fraction of units per hidden layer whose net input is negative for every probe example.
///
/// ```
/// use tchlab::model::{Init, Mlp, MlpConfig};
/// let m = Mlp::new(&MlpConfig::new(2, &[4], 2).bias_init(Init::Constant(-100.0)).weight_init(Init::Zeros), 1).unwrap();
/// let dead = tchlab::train::dead_fractions(&m, &tch::Tensor::ones([3, 2], tch::kind::FLOAT_CPU));
/// assert_eq!(dead, vec![1.0]);
/// ```
pub fn dead_fractions(model: &dyn Network, probe: &Tensor) -> Vec<f64> {
    let _g = tch::no_grad_guard();
    model
        .hidden_net_inputs(probe)
        .iter()
        .map(|z| z.lt(0.0).all_dim(0, false).to_kind(tch::Kind::Float).mean(tch::Kind::Float).double_value(&[]))
        .collect()
}

impl Hook for DeadUnits {
    fn end_of_epoch(&mut self, model: &dyn Network, _epoch: usize, history: &mut History) -> Result<()> {
        history.record("dead_fraction", dead_fractions(model, &self.probe));
        Ok(())
    }
    fn needs_gradients(&self) -> bool {
        false
    }
}
