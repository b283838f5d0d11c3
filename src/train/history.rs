//! What happened during training: per-epoch metrics per split, every minibatch loss,
//! and series recorded by hooks. Becomes a CSV file and (feature `polars`) a DataFrame.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
#[cfg(feature = "polars")]
use polars::prelude::DataFrame;

/// One epoch's metrics on one split.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// Epoch, from 1.
    pub epoch: usize,
    /// `train`, `valid` or `test`.
    pub split: String,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy in [0, 1].
    pub accuracy: f64,
    /// Learning rate during the epoch.
    pub lr: f64,
    /// Seconds since training started, at the end of the epoch.
    pub seconds: f64,
}

/// The history of a training run.
///
/// ```
/// use tchlab::train::History;
/// let mut h = History::default();
/// h.push(1, "train", 0.5, 0.8, 0.1, 1.0);
/// h.push(1, "valid", 0.6, 0.75, 0.1, 1.0);
/// assert_eq!(h.epochs.len(), 2);
/// assert_eq!(h.last("valid").unwrap().accuracy, 0.75);
/// // Printed with `{:?}`, a history is a short summary, not every minibatch loss.
/// h.minibatch_loss = vec![0.9; 6000];
/// let shown = format!("{h:?}");
/// assert!(shown.contains("6000 minibatch losses") && shown.len() < 300, "{shown}");
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct History {
    /// Per-epoch records.
    pub epochs: Vec<EpochRecord>,
    /// Loss of every minibatch, in order.
    pub minibatch_loss: Vec<f64>,
    /// Minibatches per epoch.
    pub batches_per_epoch: usize,
    /// Series recorded by hooks: name -> one vector per epoch (e.g. one value per layer).
    pub series: BTreeMap<String, Vec<Vec<f64>>>,
    /// How the run computed its updates ([`StepMethod`](super::StepMethod) as text:
    /// `fused`, or `autograd (why not fused)`); empty before training.
    pub step: String,
}

impl std::fmt::Debug for History {
    /// One line: epochs, the last record of each split, and how many minibatch losses
    /// and hook series there are (the data itself: the fields, or [`History::frame`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "History {{ {} epochs", self.epochs_done())?;
        let mut splits: Vec<&str> = self.epochs.iter().map(|r| r.split.as_str()).collect();
        splits.dedup();
        splits.sort_unstable();
        splits.dedup();
        for split in splits {
            if let Some(r) = self.last(split) {
                write!(f, ", {split}: loss {:.4} accuracy {:.2}% (epoch {})", r.loss, 100.0 * r.accuracy, r.epoch)?;
            }
        }
        write!(f, ", {} minibatch losses", self.minibatch_loss.len())?;
        if let (Some(first), Some(last)) = (self.minibatch_loss.first(), self.minibatch_loss.last()) {
            write!(f, " ({first:.4} -> {last:.4})")?;
        }
        if !self.series.is_empty() {
            let names: Vec<&str> = self.series.keys().map(String::as_str).collect();
            write!(f, ", series: {}", names.join(", "))?;
        }
        write!(f, " }}")
    }
}

impl History {
    /// Adds an epoch record.
    pub fn push(&mut self, epoch: usize, split: &str, loss: f64, accuracy: f64, lr: f64, seconds: f64) {
        self.epochs.push(EpochRecord { epoch, split: split.into(), loss, accuracy, lr, seconds });
    }

    /// Appends one epoch's values to a hook series.
    pub fn record(&mut self, name: &str, values: Vec<f64>) {
        self.series.entry(name.to_string()).or_default().push(values);
    }

    /// Number of completed epochs.
    pub fn epochs_done(&self) -> usize {
        self.epochs.iter().map(|r| r.epoch).max().unwrap_or(0)
    }

    /// The last record of `split`.
    pub fn last(&self, split: &str) -> Option<&EpochRecord> {
        self.epochs.iter().rev().find(|r| r.split == split)
    }

    /// The last loss of `split`.
    pub fn last_loss(&self, split: &str) -> Option<f64> {
        self.last(split).map(|r| r.loss)
    }

    /// The record of `split` at `epoch` (from 1).
    pub fn at(&self, split: &str, epoch: usize) -> Option<&EpochRecord> {
        self.epochs.iter().find(|r| r.split == split && r.epoch == epoch)
    }

    /// `(epoch, value)` pairs of `metric` (`loss` or `accuracy`) for `split`.
    pub fn curve(&self, split: &str, metric: &str) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .filter(|r| r.split == split)
            .map(|r| (r.epoch as f64, if metric == "loss" { r.loss } else { r.accuracy }))
            .collect()
    }

    /// The per-epoch records as a DataFrame: `epoch, split, loss, accuracy, lr, seconds`
    /// (feature `polars`, on by default; a notebook gets it with the `:dep` line
    /// `:dep tchlab = { package = "tchlab-dylib-polars", path = "../dylib/polars", features = ["download"] }`).
    ///
    /// ```
    /// let mut h = tchlab::train::History::default();
    /// h.push(1, "train", 0.5, 0.8, 0.1, 1.0);
    /// assert_eq!(h.frame().unwrap().height(), 1);
    /// ```
    #[cfg(feature = "polars")]
    pub fn frame(&self) -> Result<DataFrame> {
        let e = &self.epochs;
        Ok(polars::df!(
            "epoch" => e.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
            "split" => e.iter().map(|r| r.split.as_str()).collect::<Vec<_>>(),
            "loss" => e.iter().map(|r| r.loss).collect::<Vec<_>>(),
            "accuracy" => e.iter().map(|r| r.accuracy).collect::<Vec<_>>(),
            "lr" => e.iter().map(|r| r.lr).collect::<Vec<_>>(),
            "seconds" => e.iter().map(|r| r.seconds).collect::<Vec<_>>()
        )?)
    }

    /// The per-epoch records as text rows under [`History::COLUMNS`], numbers written
    /// so that they read back exactly.
    ///
    /// ```
    /// let mut h = tchlab::train::History::default();
    /// h.push(1, "train", 0.5, 0.8, 0.1, 1.0);
    /// assert_eq!(h.rows(), vec![vec!["1", "train", "0.5", "0.8", "0.1", "1"]]);
    /// ```
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.rows_with(|v| v.to_string())
    }

    /// The rows of [`History::rows`] with each number written by `number`.
    pub(crate) fn rows_with(&self, number: impl Fn(f64) -> String) -> Vec<Vec<String>> {
        self.epochs
            .iter()
            .map(|r| {
                let numbers = [r.loss, r.accuracy, r.lr, r.seconds].map(&number);
                [vec![r.epoch.to_string(), r.split.clone()], numbers.to_vec()].concat()
            })
            .collect()
    }

    /// The columns of [`History::rows`] and of the CSV file.
    pub const COLUMNS: [&'static str; 6] = ["epoch", "split", "loss", "accuracy", "lr", "seconds"];

    /// Writes the per-epoch records as CSV (through a temporary file).
    pub fn save_csv(&self, path: &Path) -> Result<()> {
        let mut text = Self::COLUMNS.join(",") + "\n";
        for (row, record) in self.rows().iter().zip(&self.epochs) {
            ensure!(
                !record.split.contains([',', '"', '\n', '\r']),
                "split name {:?} of epoch {} cannot be written to {}: use a name without commas, quotes or line breaks",
                record.split,
                record.epoch,
                path.display()
            );
            text += &(row.join(",") + "\n");
        }
        crate::output::write_file_atomic(path, text.as_bytes())
    }

    /// Reads per-epoch records written by [`History::save_csv`]; an error names the
    /// file and row of anything else.
    pub fn load_csv(path: &Path) -> Result<Self> {
        let bytes = crate::data::read_regular_file(path, crate::data::MAX_CSV_BYTES)?;
        let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        ensure!(
            header.trim_end() == Self::COLUMNS.join(","),
            "{} is not a tchlab history: its header is {header:?}, expected {:?}",
            path.display(),
            Self::COLUMNS.join(",")
        );
        let mut h = History::default();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let row = i + 2;
            let fields: Vec<&str> = line.trim_end().split(',').collect();
            let [epoch, split, loss, accuracy, lr, seconds] = fields[..] else {
                bail!(
                    "{} row {row}: {} fields, expected 6 ({})",
                    path.display(),
                    fields.len(),
                    Self::COLUMNS.join(",")
                );
            };
            let epoch: usize = epoch
                .parse()
                .with_context(|| format!("{} row {row}: epoch `{epoch}` is not a whole number", path.display()))?;
            let number = |name: &str, text: &str| -> Result<f64> {
                text.parse().with_context(|| format!("{} row {row}: {name} `{text}` is not a number", path.display()))
            };
            h.push(
                epoch,
                split,
                number("loss", loss)?,
                number("accuracy", accuracy)?,
                number("lr", lr)?,
                number("seconds", seconds)?,
            );
        }
        Ok(h)
    }

    /// Appends another run's epochs and minibatches (for resumed training).
    pub fn extend(&mut self, other: History) {
        self.epochs.extend(other.epochs);
        self.minibatch_loss.extend(other.minibatch_loss);
        if other.batches_per_epoch > 0 {
            self.batches_per_epoch = other.batches_per_epoch;
        }
        for (k, v) in other.series {
            self.series.entry(k).or_default().extend(v);
        }
    }
}
