//! Measuring a model on a loader, and checking before training that the data fit it.

use anyhow::{Context, Result, ensure};

use super::Loss;
use crate::data::DataLoader;
use crate::model::Network;

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
    let mut tally = Tally::default();
    for batch in loader.iter() {
        let batch = batch?;
        let logits = model.forward_t(&batch.inputs, false);
        tally.add_loss(loss.compute(&logits, &batch.labels)?.double_value(&[]), batch.indices.len());
        tally.add_correct(&logits, &batch.labels);
    }
    ensure!(tally.seen > 0, "evaluation saw no examples");
    Ok(tally.evaluation(true))
}

/// Running sums of loss and correct predictions over minibatches: what [`evaluate`]
/// and each training epoch report.
#[derive(Default)]
pub(crate) struct Tally {
    loss: f64,
    correct: i64,
    seen: usize,
}

impl Tally {
    /// Adds a minibatch of `n` examples with mean loss `mean_loss`.
    pub(crate) fn add_loss(&mut self, mean_loss: f64, n: usize) {
        self.loss += mean_loss * n as f64;
        self.seen += n;
    }

    /// Counts the minibatch's correct predictions (the largest logit is the label).
    pub(crate) fn add_correct(&mut self, logits: &tch::Tensor, labels: &tch::Tensor) {
        let _guard = tch::no_grad_guard();
        self.correct += logits.argmax(-1, false).eq_tensor(labels).sum(tch::Kind::Int64).int64_value(&[]);
    }

    /// The mean loss, and the accuracy when predictions were `counted` (else NaN).
    pub(crate) fn evaluation(&self, counted: bool) -> Evaluation {
        let accuracy = if counted { self.correct as f64 / self.seen as f64 } else { f64::NAN };
        Evaluation { loss: self.loss / self.seen as f64, accuracy, count: self.seen }
    }
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
