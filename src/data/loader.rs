//! The data loader: seeded shuffling (a new order every epoch), batching, drop_last,
//! and collation into tensors on a chosen device.

use std::sync::Arc;

use anyhow::{Result, ensure};
use tch::{Device, Tensor};

use super::Dataset;
use crate::rng::{Rng, mix};

/// One minibatch.
#[derive(Debug)]
pub struct Batch {
    /// Inputs `[B, ...]` (`f32`).
    pub inputs: Tensor,
    /// Labels `[B]` (`i64`).
    pub labels: Tensor,
    /// Indices of the examples in the dataset.
    pub indices: Vec<usize>,
}

/// Turns a [`Dataset`] into minibatches.
///
/// ```
/// use tchlab::data::{DataLoader, Xor};
/// let loader = DataLoader::new(Xor::lecture().dataset(), 100).unwrap().shuffle(1).drop_last(true);
/// assert_eq!(loader.len(), 7);
/// let batch = loader.epoch(0).next().unwrap().unwrap();
/// assert_eq!(batch.inputs.size(), vec![100, 2]);
/// ```
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    shuffle: Option<u64>,
    drop_last: bool,
    device: Device,
}

impl DataLoader {
    /// A loader over `dataset` with `batch_size` examples per batch, in order.
    /// Fails on an empty dataset or a batch size of 0. Prepares the process once
    /// ([`crate::env::prepare_process`]: MKL's reproducible mode, glibc's allocator).
    pub fn new(dataset: impl Dataset + 'static, batch_size: usize) -> Result<Self> {
        Self::from_arc(Arc::new(dataset), batch_size)
    }

    /// Like [`DataLoader::new`] for a shared dataset.
    pub fn from_arc(dataset: Arc<dyn Dataset>, batch_size: usize) -> Result<Self> {
        ensure!(batch_size > 0, "batch size is 0: set a batch size of at least 1");
        ensure!(!dataset.is_empty(), "the dataset is empty: nothing to load (check the data folder or CSV)");
        crate::env::prepare_process();
        Ok(DataLoader { dataset, batch_size, shuffle: None, drop_last: false, device: Device::Cpu })
    }

    /// Shuffles with `seed`: a new, reproducible order every epoch.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }

    /// Drops the last batch when it is smaller than the batch size.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// Puts batches on `device`.
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// The device batches are put on.
    pub fn target_device(&self) -> Device {
        self.device
    }

    /// The dataset.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// Examples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }

    /// Whether an epoch yields no batch (fewer examples than one batch with drop_last).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of examples seen per epoch.
    pub fn examples_per_epoch(&self) -> usize {
        if self.drop_last { self.len() * self.batch_size } else { self.dataset.len() }
    }

    /// The example order of `epoch` (identity without shuffling).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if let Some(seed) = self.shuffle {
            Rng::new(mix(seed) ^ mix(epoch.wrapping_add(1))).shuffle(&mut order);
        }
        order
    }

    /// The batches of `epoch` (epochs count from 0); the order depends only on the
    /// seed and the epoch. Random transforms (augmentation) apply only in shuffled
    /// loaders, so evaluation loaders see the plain images.
    pub fn epoch(&self, epoch: u64) -> impl Iterator<Item = Result<Batch>> + '_ {
        let order = self.order(epoch);
        let aug_seed = self.shuffle.map_or(0, |seed| mix(seed ^ mix(epoch ^ 0xA5A5)));
        let batch_size = self.batch_size;
        let batches = self.len();
        (0..batches).map(move |b| {
            let end = ((b + 1) * batch_size).min(order.len());
            let indices = order[b * batch_size..end].to_vec();
            let seed = if aug_seed == 0 { 0 } else { mix(aug_seed ^ b as u64) | 1 };
            let (x, y) = self.dataset.batch(&indices, seed)?;
            Ok(Batch { inputs: x.to_device(self.device), labels: y.to_device(self.device), indices })
        })
    }

    /// The batches of epoch 0, in order without shuffling; for evaluation.
    pub fn iter(&self) -> impl Iterator<Item = Result<Batch>> + '_ {
        self.epoch(0)
    }
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("examples", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("shuffle", &self.shuffle)
            .field("drop_last", &self.drop_last)
            .field("device", &self.device)
            .finish()
    }
}
