//! Metrics and error analysis: predictions, accuracy, confusion matrix, per-class
//! accuracy, misclassified and top-loss examples (after fastai's
//! `ClassificationInterpretation`).

mod bias_variance;

pub use bias_variance::{SquaredDecomposition, ZeroOneDecomposition, squared_decomposition, zero_one_decomposition};

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use crate::data::DataLoader;
use crate::model::Network;
use crate::train::Loss;

/// A model's predictions on a dataset, in dataset order.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// Dataset index of each example.
    pub indices: Vec<usize>,
    /// True classes.
    pub targets: Vec<i64>,
    /// Predicted classes (argmax of the logits).
    pub predicted: Vec<i64>,
    /// Probability of the predicted class.
    pub confidence: Vec<f64>,
    /// Per-example loss.
    pub losses: Vec<f64>,
    /// Number of classes.
    pub classes: usize,
}

impl Predictions {
    /// Runs `model` over `loader` (no gradients) and collects its predictions.
    ///
    /// ```
    /// use tchlab::prelude::*;
    /// let loader = DataLoader::new(Xor::lecture().dataset(), 100).unwrap();
    /// let model = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
    /// let p = Predictions::collect(&model, &loader, Loss::CrossEntropy).unwrap();
    /// assert_eq!(p.targets.len(), 750);
    /// ```
    pub fn collect(model: &dyn Network, loader: &DataLoader, loss: Loss) -> Result<Self> {
        let _g = tch::no_grad_guard();
        let mut rows: Vec<(usize, i64, i64, f64, f64)> = Vec::new();
        for batch in loader.iter() {
            let batch = batch?;
            let logits = model.forward_t(&batch.inputs, false).to_device(tch::Device::Cpu);
            let labels = batch.labels.to_device(tch::Device::Cpu);
            let probs = loss.probabilities(&logits);
            let (conf, pred) = probs.max_dim(-1, false);
            let per_example = Vec::<f64>::try_from(loss.per_example(&logits, &labels)?.to_kind(Kind::Double))?;
            let pred = Vec::<i64>::try_from(pred)?;
            let conf = Vec::<f64>::try_from(conf.to_kind(Kind::Double))?;
            let tgt = Vec::<i64>::try_from(labels)?;
            for k in 0..tgt.len() {
                rows.push((batch.indices[k], tgt[k], pred[k], conf[k], per_example[k]));
            }
            ensure!(logits.size()[1] > 0, "the model has no outputs");
        }
        rows.sort_by_key(|r| r.0);
        let classes = rows.iter().map(|r| r.1.max(r.2) as usize + 1).max().unwrap_or(0).max(model.outputs() as usize);
        Ok(Predictions {
            indices: rows.iter().map(|r| r.0).collect(),
            targets: rows.iter().map(|r| r.1).collect(),
            predicted: rows.iter().map(|r| r.2).collect(),
            confidence: rows.iter().map(|r| r.3).collect(),
            losses: rows.iter().map(|r| r.4).collect(),
            classes,
        })
    }

    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        accuracy(&self.targets, &self.predicted)
    }
}

/// Fraction of positions where `targets` and `predicted` agree.
///
/// ```
/// assert_eq!(tchlab::metrics::accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), 0.75);
/// ```
pub fn accuracy(targets: &[i64], predicted: &[i64]) -> f64 {
    if targets.is_empty() {
        return 0.0;
    }
    targets.iter().zip(predicted).filter(|(t, p)| t == p).count() as f64 / targets.len() as f64
}

/// `m[target][predicted]` counts.
///
/// ```
/// let m = tchlab::metrics::confusion_matrix(&[0, 1, 1], &[0, 0, 1], 2);
/// assert_eq!(m, vec![vec![1, 0], vec![1, 1]]);
/// ```
pub fn confusion_matrix(targets: &[i64], predicted: &[i64], classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes]; classes];
    for (&t, &p) in targets.iter().zip(predicted) {
        if (t as usize) < classes && (p as usize) < classes {
            m[t as usize][p as usize] += 1;
        }
    }
    m
}

/// One misclassified (or high-loss) example.
#[derive(Clone, Debug, PartialEq)]
pub struct Mistake {
    /// Index in the dataset.
    pub index: usize,
    /// True class.
    pub target: i64,
    /// Predicted class.
    pub predicted: i64,
    /// Probability of the predicted class.
    pub probability: f64,
    /// The example's loss.
    pub loss: f64,
}

/// Error analysis of [`Predictions`].
///
/// ```
/// use tchlab::metrics::{Interpretation, Predictions};
/// let p = Predictions { indices: vec![0, 1, 2], targets: vec![0, 1, 1], predicted: vec![0, 0, 1],
///     confidence: vec![0.9, 0.6, 0.8], losses: vec![0.1, 0.9, 0.2], classes: 2 };
/// let i = Interpretation::new(p);
/// assert_eq!(i.misclassified().len(), 1);
/// assert_eq!(i.per_class_accuracy(), vec![1.0, 0.5]);
/// assert_eq!(i.most_confused(1), vec![(1, 0, 1)]);
/// ```
#[derive(Clone, Debug)]
pub struct Interpretation {
    /// The predictions analysed.
    pub predictions: Predictions,
}

impl Interpretation {
    /// Wraps predictions.
    pub fn new(predictions: Predictions) -> Self {
        Interpretation { predictions }
    }

    /// Collects predictions of `model` on `loader` and wraps them.
    pub fn from_model(model: &dyn Network, loader: &DataLoader, loss: Loss) -> Result<Self> {
        Ok(Interpretation::new(Predictions::collect(model, loader, loss)?))
    }

    /// Accuracy.
    pub fn accuracy(&self) -> f64 {
        self.predictions.accuracy()
    }

    /// The confusion matrix `m[target][predicted]`.
    pub fn confusion_matrix(&self) -> Vec<Vec<u64>> {
        confusion_matrix(&self.predictions.targets, &self.predictions.predicted, self.predictions.classes)
    }

    /// Accuracy of each true class (NaN for a class with no example).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        self.confusion_matrix()
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let n: u64 = row.iter().sum();
                if n == 0 { f64::NAN } else { row[c] as f64 / n as f64 }
            })
            .collect()
    }

    /// The misclassified examples, in dataset order.
    pub fn misclassified(&self) -> Vec<Mistake> {
        self.rows().filter(|m| m.target != m.predicted).collect()
    }

    /// The `k` examples with the highest loss.
    pub fn top_losses(&self, k: usize) -> Vec<Mistake> {
        let mut all: Vec<Mistake> = self.rows().collect();
        all.sort_by(|a, b| b.loss.total_cmp(&a.loss));
        all.truncate(k);
        all
    }

    /// The `k` most frequent `(target, predicted, count)` confusions.
    pub fn most_confused(&self, k: usize) -> Vec<(i64, i64, u64)> {
        let m = self.confusion_matrix();
        let mut pairs: Vec<(i64, i64, u64)> = Vec::new();
        for (t, row) in m.iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                if t != p && n > 0 {
                    pairs.push((t as i64, p as i64, n));
                }
            }
        }
        pairs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        pairs.truncate(k);
        pairs
    }

    fn rows(&self) -> impl Iterator<Item = Mistake> + '_ {
        let p = &self.predictions;
        (0..p.targets.len()).map(move |i| Mistake {
            index: p.indices[i],
            target: p.targets[i],
            predicted: p.predicted[i],
            probability: p.confidence[i],
            loss: p.losses[i],
        })
    }
}

/// Mean and standard deviation (population) of values.
///
/// ```
/// assert_eq!(tchlab::metrics::mean_std(&[1.0, 3.0]), (2.0, 1.0));
/// ```
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (mean, (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt())
}

/// The most cells [`decision_grid`] evaluates (a 1000 × 1000 grid).
pub const MAX_GRID_CELLS: f64 = 1e6;

/// Predicted classes of a 2-D classifier over a grid: `cells[j][i]` is the class at
/// `(x.0 + (i + ½)·step, y.0 + (j + ½)·step)`, row 0 at the bottom. The step must be
/// positive and the grid at most [`MAX_GRID_CELLS`] cells.
///
/// ```
/// use tchlab::prelude::*;
/// let m = Mlp::new(&MlpConfig::new(2, &[4], 2), 1).unwrap();
/// let cells = tchlab::metrics::decision_grid(&m, (-1.0, 1.0), (-1.0, 1.0), 0.5).unwrap();
/// assert_eq!((cells.len(), cells[0].len()), (4, 4));
/// assert!(tchlab::metrics::decision_grid(&m, (-1.0, 1.0), (-1.0, 1.0), 0.0).is_err());
/// assert!(tchlab::metrics::decision_grid(&m, (-1.0, 1.0), (-1.0, 1.0), 1e-4).is_err());
/// ```
pub fn decision_grid(model: &dyn Network, x: (f64, f64), y: (f64, f64), step: f64) -> anyhow::Result<Vec<Vec<i64>>> {
    anyhow::ensure!(step.is_finite() && step > 0.0, "grid step {step} must be a positive number (e.g. grid_step=0.02)");
    let (nx, ny) = (((x.1 - x.0) / step).ceil().max(1.0), ((y.1 - y.0) / step).ceil().max(1.0));
    anyhow::ensure!(
        nx.is_finite() && ny.is_finite() && nx * ny <= MAX_GRID_CELLS,
        "grid step {step} gives a {nx} × {ny} grid, more than {MAX_GRID_CELLS} cells: use a larger grid_step (e.g. 0.02)"
    );
    let _g = tch::no_grad_guard();
    let (nx, ny) = (nx as i64, ny as i64);
    let xs = Tensor::arange(nx, (Kind::Double, tch::Device::Cpu)) * step + x.0 + step / 2.0;
    let ys = Tensor::arange(ny, (Kind::Double, tch::Device::Cpu)) * step + y.0 + step / 2.0;
    let grid = Tensor::meshgrid_indexing(&[&ys, &xs], "ij");
    let points = Tensor::stack(&[grid[1].flatten(0, -1), grid[0].flatten(0, -1)], 1).to_kind(Kind::Float);
    let device = model.var_store().device();
    let pred = model.forward_t(&points.to_device(device), false).argmax(-1, false).to_device(tch::Device::Cpu);
    let flat = Vec::<i64>::try_from(pred)?;
    Ok(flat.chunks(nx as usize).map(|r| r.to_vec()).collect())
}
