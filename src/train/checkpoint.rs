//! Checkpoints: a model's weights plus its history, saved together and loaded to
//! resume training.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

use super::History;
use crate::model::Network;

/// Saves `model`'s weights and `history` into the folder `dir` (`weights.safetensors`,
/// `history.csv`, `minibatch_loss.txt`) through a [`ResultDir`](crate::output::ResultDir):
/// written under a hidden temporary name and moved into place when complete. An
/// existing `dir` is replaced only when it is an earlier checkpoint.
///
/// ```no_run
/// # use tchlab::prelude::*;
/// # let model = Mlp::new(&MlpConfig::new(2, &[4], 2), 1).unwrap();
/// tchlab::train::save_checkpoint(&model, &History::default(), "runs/ckpt".as_ref()).unwrap();
/// ```
pub fn save_checkpoint(model: &dyn Network, history: &History, dir: &Path) -> Result<()> {
    let writer = crate::output::ResultDir::create(dir, "checkpoint")?;
    let part = writer.path();
    model
        .var_store()
        .save(part.join("weights.safetensors"))
        .with_context(|| format!("saving weights into {}", part.display()))?;
    history.save_csv(&part.join("history.csv"))?;
    let mb: Vec<String> = history.minibatch_loss.iter().map(|v| format!("{v:e}")).collect();
    std::fs::write(part.join("minibatch_loss.txt"), format!("{}\n{}", history.batches_per_epoch, mb.join("\n")))
        .with_context(|| format!("writing {}", part.join("minibatch_loss.txt").display()))?;
    writer.commit()?;
    Ok(())
}

/// Loads weights saved by [`save_checkpoint`] into `model` (which must have the same
/// architecture) and returns the history.
pub fn load_checkpoint(model: &mut dyn Network, dir: &Path) -> Result<History> {
    let weights: PathBuf = dir.join("weights.safetensors");
    ensure!(weights.is_file(), "{} is not a checkpoint: {} is missing", dir.display(), weights.display());
    model.var_store_mut().load(&weights).with_context(|| {
        format!("loading {} into `{}` (is it the same architecture?)", weights.display(), model.describe())
    })?;
    let mut history = History::load_csv(&dir.join("history.csv"))?;
    let mb = std::fs::read_to_string(dir.join("minibatch_loss.txt"))
        .with_context(|| format!("reading {}", dir.join("minibatch_loss.txt").display()))?;
    let mut lines = mb.lines();
    history.batches_per_epoch = lines.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    history.minibatch_loss = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.parse::<f64>())
        .collect::<Result<_, _>>()
        .context("minibatch_loss.txt")?;
    Ok(history)
}
