//! In-memory datasets held as tensors (MNIST, XOR): batches index whole tensors.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{Dataset, Example};

/// How stored values (e.g. `u8` pixels) become model inputs.
///
/// ```
/// use tchlab::data::Scaling;
/// assert_eq!(Scaling::Unit.apply_scalar(255.0), 1.0);
/// assert_eq!(Scaling::Symmetric.apply_scalar(0.0), -1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Scaling {
    /// Values as they are, converted to `f32`.
    #[default]
    None,
    /// Pixels 0..=255 to [0, 1].
    Unit,
    /// Pixels 0..=255 to [-1, 1].
    Symmetric,
}

impl Scaling {
    /// Scales one value.
    pub fn apply_scalar(self, v: f64) -> f64 {
        match self {
            Scaling::None => v,
            Scaling::Unit => v / 255.0,
            Scaling::Symmetric => v / 127.5 - 1.0,
        }
    }

    /// Converts a tensor to `f32` and scales it.
    pub fn apply(self, t: &Tensor) -> Tensor {
        let t = t.to_kind(Kind::Float);
        match self {
            Scaling::None => t,
            Scaling::Unit => t / 255.0,
            Scaling::Symmetric => t / 127.5 - 1.0,
        }
    }
}

/// A dataset of inputs `[N, ...]` (any numeric kind, e.g. `u8` pixels) and `i64`
/// labels `[N]`, batched by indexing whole tensors (no per-example copies).
///
/// ```
/// use tchlab::data::{Dataset, Scaling, TensorDataset};
/// let x = tch::Tensor::from_slice(&[0u8, 255, 51, 102]).reshape([2, 2]);
/// let y = tch::Tensor::from_slice(&[0i64, 1]);
/// let ds = TensorDataset::new(x, y, Scaling::Unit).unwrap();
/// let (xb, _) = ds.batch(&[1], 0).unwrap();
/// assert!((xb.double_value(&[0, 0]) - 0.2).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct TensorDataset {
    inputs: Tensor,
    labels: Tensor,
    scaling: Scaling,
    classes: Vec<String>,
}

// SAFETY: a TensorDataset never mutates its tensors after construction; it only reads
// them (index_select, narrow), which libtorch allows from several threads at once.
unsafe impl Sync for TensorDataset {}

impl TensorDataset {
    /// Wraps inputs `[N, ...]` and labels `[N]`; checks that the counts agree.
    pub fn new(inputs: Tensor, labels: Tensor, scaling: Scaling) -> Result<Self> {
        let n = inputs.size().first().copied().unwrap_or(0);
        ensure!(
            labels.size() == vec![n],
            "inputs have {n} examples (shape {:?}) but labels have shape {:?}: they must match",
            inputs.size(),
            labels.size()
        );
        Ok(TensorDataset {
            inputs: inputs.to_device(tch::Device::Cpu),
            labels: labels.to_kind(Kind::Int64).to_device(tch::Device::Cpu),
            scaling,
            classes: Vec::new(),
        })
    }

    /// Names the classes (index = label).
    pub fn with_classes(mut self, classes: Vec<String>) -> Self {
        self.classes = classes;
        self
    }

    /// The stored inputs (unscaled).
    pub fn inputs(&self) -> &Tensor {
        &self.inputs
    }

    /// The labels `[N]`.
    pub fn labels(&self) -> &Tensor {
        &self.labels
    }

    /// The scaling applied when batching.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }

    /// All inputs, scaled, as one `f32` tensor.
    pub fn scaled_inputs(&self) -> Tensor {
        self.scaling.apply(&self.inputs)
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    fn get_seeded(&self, index: usize, _seed: u64) -> Result<Example> {
        ensure!(index < self.len(), "index {index} is out of range for a dataset of {}", self.len());
        let x = self.scaling.apply(&self.inputs.get(index as i64)).contiguous();
        let shape = x.size();
        let input = Vec::<f32>::try_from(x.flatten(0, -1))?;
        Ok(Example { input, shape, label: self.labels.int64_value(&[index as i64]) })
    }

    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }

    fn batch(&self, indices: &[usize], _seed: u64) -> Result<(Tensor, Tensor)> {
        let n = self.len();
        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
            anyhow::bail!("index {bad} is out of range for a dataset of {n}");
        }
        // A contiguous ascending run is a view; otherwise one gather.
        let contiguous = indices.windows(2).all(|w| w[1] == w[0] + 1);
        let (x, y) = if contiguous && !indices.is_empty() {
            let (start, len) = (indices[0] as i64, indices.len() as i64);
            (self.inputs.narrow(0, start, len), self.labels.narrow(0, start, len))
        } else {
            let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
            let idx = Tensor::from_slice(&idx);
            (self.inputs.index_select(0, &idx), self.labels.index_select(0, &idx))
        };
        Ok((self.scaling.apply(&x), y.shallow_clone()))
    }
}
