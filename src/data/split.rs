//! Train/validation/test splits: by fractions (shuffled with a seed) or by index ranges.

use std::ops::Range;
use std::sync::Arc;

use anyhow::{Result, ensure};
use tch::Tensor;

use super::{Dataset, Example};

/// A view of a dataset through a list of indices; batching keeps the inner dataset's
/// fast path.
///
/// ```
/// use tchlab::data::{Dataset, Subset, Xor};
/// let data = std::sync::Arc::new(Xor::lecture().dataset());
/// let valid = Subset::range(data.clone(), 700..750).unwrap();
/// assert_eq!(valid.len(), 50);
/// ```
#[derive(Clone)]
pub struct Subset {
    inner: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// The examples at `indices` of `inner`.
    pub fn new(inner: Arc<dyn Dataset>, indices: Vec<usize>) -> Result<Self> {
        let n = inner.len();
        if let Some(bad) = indices.iter().find(|&&i| i >= n) {
            anyhow::bail!("subset index {bad} is out of range for a dataset of {n} examples");
        }
        Ok(Subset { inner, indices })
    }

    /// The examples in `range` (e.g. the last 5,000 training images as validation).
    pub fn range(inner: Arc<dyn Dataset>, range: Range<usize>) -> Result<Self> {
        let n = inner.len();
        ensure!(
            range.start <= range.end && range.end <= n,
            "range {}..{} does not fit a dataset of {n} examples",
            range.start,
            range.end
        );
        Subset::new(inner, range.collect())
    }

    /// The indices into the inner dataset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get_seeded(&self, index: usize, seed: u64) -> Result<Example> {
        let i = *self
            .indices
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("index {index} is out of range for a subset of {}", self.len()))?;
        self.inner.get_seeded(i, seed)
    }
    fn classes(&self) -> Vec<String> {
        self.inner.classes()
    }
    fn batch(&self, indices: &[usize], seed: u64) -> Result<(Tensor, Tensor)> {
        let mapped = indices
            .iter()
            .map(|&i| {
                self.indices
                    .get(i)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("index {i} is out of range for a subset of {}", self.len()))
            })
            .collect::<Result<Vec<_>>>()?;
        self.inner.batch(&mapped, seed)
    }
}

/// Splits `0..n` into shuffled parts by fractions (e.g. the lecture's 80/5/15).
/// Sizes are rounded down, with the remainder going to the first part; the same seed
/// gives the same split.
///
/// ```
/// let parts = tchlab::data::split_fractions(1000, &[0.8, 0.05, 0.15], 1).unwrap();
/// assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), vec![800, 50, 150]);
/// ```
pub fn split_fractions(n: usize, fractions: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    ensure!(!fractions.is_empty(), "give at least one fraction");
    ensure!(
        fractions.iter().all(|f| f.is_finite() && *f >= 0.0),
        "fractions must be non-negative numbers, got {fractions:?}"
    );
    let total: f64 = fractions.iter().sum();
    ensure!((total - 1.0).abs() < 1e-6, "fractions must add up to 1, got {fractions:?} (sum {total})");
    let mut order: Vec<usize> = (0..n).collect();
    crate::rng::Rng::new(seed).shuffle(&mut order);
    let mut sizes: Vec<usize> = fractions.iter().map(|f| (f * n as f64 + 1e-9).floor() as usize).collect();
    sizes[0] += n - sizes.iter().sum::<usize>();
    let mut parts = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for size in sizes {
        parts.push(order[start..start + size].to_vec());
        start += size;
    }
    Ok(parts)
}

impl std::fmt::Debug for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subset({} of {} examples)", self.indices.len(), self.inner.len())
    }
}
