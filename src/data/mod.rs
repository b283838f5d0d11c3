//! Datasets and the data loader.
//!
//! A [`Dataset`] has a length and gives one [`Example`] by index; a [`DataLoader`]
//! turns a dataset into shuffled, seeded minibatches of tch tensors. In-memory
//! [`TensorDataset`]s (MNIST, XOR) batch by indexing whole tensors; file-backed
//! datasets ([`CsvImageDataset`], [`ImageFolder`]) decode in parallel.

#[cfg(feature = "polars")]
mod custom;
mod download;
mod files;
mod folder;
mod inspect;
mod loader;
mod mnist;
mod noise;
mod paths;
mod split;
mod tensor;
mod transforms;
mod xor;

use std::sync::Arc;

use anyhow::{Result, bail, ensure};
use tch::Tensor;

#[cfg(feature = "polars")]
pub use custom::{CsvImageDataset, CsvOptions, export_custom, export_lecture_layout, read_csv};
pub use download::{fetch_file, md5_hex};
pub use files::{MAX_CSV_BYTES, MAX_GZ_BYTES, MAX_IMAGE_FILE_BYTES, read_regular_file};
pub use folder::{ImageFolder, ImageFolderOptions};
pub use inspect::{DataLayout, describe, recognise};
pub use loader::{Batch, DataLoader};
pub use mnist::{MAX_IDX_DATA_BYTES, Mnist, MnistKind, mirrors, mnist_cached, read_idx};
pub use noise::{NoisyLabels, noisy_labels};
pub use split::{Subset, split_fractions};
pub use tensor::{Scaling, TensorDataset};
pub use transforms::{ColorMode, DEFAULT_MAX_PIXELS, Transform, Transforms, channel_mean_std};
#[cfg(feature = "polars")]
pub use xor::NumericCsv;
pub use xor::Xor;

/// One example: an input as a flat `f32` buffer with its shape, and a class label.
///
/// ```
/// let ex = tchlab::data::Example { input: vec![0.0; 4], shape: vec![1, 2, 2], label: 3 };
/// assert_eq!(ex.numel(), 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// Values in row-major order (channels, height, width for images).
    pub input: Vec<f32>,
    /// Shape of `input`, without the batch dimension.
    pub shape: Vec<i64>,
    /// Class index.
    pub label: i64,
}

impl Example {
    /// Number of values (product of the shape).
    pub fn numel(&self) -> usize {
        self.shape.iter().product::<i64>() as usize
    }
}

/// A dataset: a length and one example per index.
///
/// Implementations that can batch faster than example by example (whole-tensor
/// indexing, parallel decoding) override [`Dataset::batch`].
///
/// ```
/// use tchlab::data::{Dataset, Xor};
/// let data = Xor::lecture().dataset();
/// assert_eq!(data.len(), 750);
/// let ex = data.get(0).unwrap();
/// assert_eq!(ex.shape, vec![2]);
/// ```
pub trait Dataset: Send + Sync {
    /// Number of examples.
    fn len(&self) -> usize;

    /// The example at `index` (without random augmentation).
    fn get(&self, index: usize) -> Result<Example> {
        self.get_seeded(index, 0)
    }

    /// The example at `index`, with random transforms drawn from `seed`.
    fn get_seeded(&self, index: usize, seed: u64) -> Result<Example>;

    /// Whether the dataset has no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class names, when known (index = label).
    fn classes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Collates the examples at `indices` into `(inputs [B, ...], labels [B])` on the
    /// CPU. `seed` drives random augmentation (one derived seed per example).
    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        let examples = indices.iter().map(|&i| self.get_seeded(i, item_seed(seed, i))).collect::<Result<Vec<_>>>()?;
        collate(&examples)
    }
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get_seeded(&self, index: usize, seed: u64) -> Result<Example> {
        (**self).get_seeded(index, seed)
    }
    fn classes(&self) -> Vec<String> {
        (**self).classes()
    }
    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        (**self).batch(indices, seed)
    }
}

/// The seed of one example's augmentation, derived from a batch seed and its index.
pub(crate) fn item_seed(seed: u64, index: usize) -> u64 {
    if seed == 0 { 0 } else { crate::rng::mix(seed ^ crate::rng::mix(index as u64)) }
}

/// Stacks examples of one shape into `(inputs [B, ...], labels [B])`.
///
/// ```
/// use tchlab::data::{Example, collate};
/// let a = Example { input: vec![1.0, 2.0], shape: vec![2], label: 0 };
/// let b = Example { input: vec![3.0, 4.0], shape: vec![2], label: 1 };
/// let (x, y) = collate(&[a, b]).unwrap();
/// assert_eq!(x.size(), vec![2, 2]);
/// assert_eq!(y.size(), vec![2]);
/// ```
pub fn collate(examples: &[Example]) -> Result<(Tensor, Tensor)> {
    let Some(first) = examples.first() else { bail!("cannot collate an empty batch") };
    let mut values = Vec::with_capacity(first.numel() * examples.len());
    let mut labels = Vec::with_capacity(examples.len());
    for (k, ex) in examples.iter().enumerate() {
        ensure!(
            ex.shape == first.shape,
            "example {k} of the batch has shape {:?} but the first has {:?}: give every \
             image the same size and channels (e.g. a Resize and Grayscale/Rgb transform)",
            ex.shape,
            first.shape
        );
        ensure!(ex.input.len() == ex.numel(), "example {k} has {} values for shape {:?}", ex.input.len(), ex.shape);
        values.extend_from_slice(&ex.input);
        labels.push(ex.label);
    }
    let mut shape = vec![examples.len() as i64];
    shape.extend_from_slice(&first.shape);
    Ok((f32_tensor(&values, &shape)?, Tensor::from_slice(&labels)))
}

/// A CPU `f32` tensor of `shape` holding `values`, filled by one plain copy.
/// (`Tensor::from_slice` zero-fills first, a parallel libtorch kernel that wakes the
/// intra-op threads, which then spin and take the cores from the decoding threads.)
pub(crate) fn f32_tensor(values: &[f32], shape: &[i64]) -> Result<Tensor> {
    let t = Tensor::f_empty(shape, (tch::Kind::Float, tch::Device::Cpu))?;
    ensure!(t.numel() == values.len(), "{} values do not fill a tensor of shape {shape:?}", values.len());
    // SAFETY: `t` is a new, contiguous CPU f32 tensor of exactly `values.len()` elements
    // that nothing else references yet.
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, values.len()) }.copy_from_slice(values);
    Ok(t)
}

/// Decodes the examples at `indices` on up to `workers` threads and collates them.
/// Used by file-backed datasets; the result does not depend on the thread count.
pub(crate) fn collate_parallel<D: Dataset + ?Sized>(
    dataset: &D,
    indices: &[usize],
    seed: u64,
    workers: usize,
) -> Result<(Tensor, Tensor)> {
    let workers = workers.clamp(1, indices.len().max(1));
    if workers == 1 {
        let ex = indices.iter().map(|&i| dataset.get_seeded(i, item_seed(seed, i))).collect::<Result<Vec<_>>>()?;
        return collate(&ex);
    }
    // Each thread takes the next undecoded position (photos differ in size, so fixed
    // chunks would leave one thread idle at the end of every batch).
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parts: Vec<Result<Vec<(usize, Example)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = indices.get(k) else { return Ok(done) };
                        done.push((k, dataset.get_seeded(i, item_seed(seed, i))?));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("a decoding thread panicked"))).collect()
    });
    let mut all: Vec<Option<Example>> = (0..indices.len()).map(|_| None).collect();
    for part in parts {
        for (k, ex) in part? {
            all[k] = Some(ex);
        }
    }
    let all: Vec<Example> = all.into_iter().flatten().collect();
    ensure!(all.len() == indices.len(), "decoding threads returned {} of {} examples", all.len(), indices.len());
    collate(&all)
}

/// Number of decoding threads for file-backed datasets: `TCHLAB_WORKERS` or the
/// number of CPU cores.
pub(crate) fn default_workers() -> usize {
    std::env::var("TCHLAB_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}
