//! Label noise: a given fraction of the labels replaced by a different, random class,
//! as in the double-descent experiments of Nakkiran et al. (2019).

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use crate::rng::Rng;

/// Labels with some of them replaced, and which ones were.
///
/// ```
/// let labels = tch::Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
/// let noisy = tchlab::data::noisy_labels(&labels, 0.3, 10, 1).unwrap();
/// assert_eq!(noisy.changed_count(), 3);
/// ```
#[derive(Debug)]
pub struct NoisyLabels {
    /// The labels after the replacement `[n]` (`i64`).
    pub labels: Tensor,
    /// Which labels were replaced `[n]` (`bool`); every replaced label differs from the original.
    pub changed: Tensor,
}

impl NoisyLabels {
    /// Number of replaced labels.
    ///
    /// ```
    /// let labels = tch::Tensor::from_slice(&[1i64; 8]);
    /// assert_eq!(tchlab::data::noisy_labels(&labels, 0.5, 3, 2).unwrap().changed_count(), 4);
    /// ```
    pub fn changed_count(&self) -> i64 {
        self.changed.to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[])
    }
}

/// Replaces exactly `round(fraction · n)` of the labels `[n]` (classes `0..classes`),
/// chosen at random, each by a class drawn uniformly from the `classes − 1` *other*
/// classes; the same `seed` gives the same replacement. The label noise of Nakkiran et
/// al. (2019) ("with probability p the label is replaced by a random wrong one"), with an
/// exact count instead of a coin per example, so that the fraction is the one asked for.
///
/// ```
/// use tch::{Kind, Tensor};
/// let labels = Tensor::from_slice(&[3i64; 100]);
/// let noisy = tchlab::data::noisy_labels(&labels, 0.2, 10, 7).unwrap();
/// assert_eq!(noisy.changed_count(), 20);
/// // the replaced labels are all wrong, the others untouched
/// assert!(noisy.labels.ne_tensor(&labels).equal(&noisy.changed));
/// assert!(tchlab::data::noisy_labels(&labels, 1.5, 10, 7).is_err());
/// ```
pub fn noisy_labels(labels: &Tensor, fraction: f64, classes: i64, seed: u64) -> Result<NoisyLabels> {
    ensure!((0.0..=1.0).contains(&fraction), "label noise fraction {fraction} must be in [0, 1]");
    ensure!(classes >= 2, "label noise needs at least 2 classes, got {classes}");
    ensure!(labels.dim() == 1, "labels must be one-dimensional [n], got shape {:?}", labels.size());
    let original: Vec<i64> = Vec::try_from(labels.to_kind(Kind::Int64).to_device(tch::Device::Cpu))?;
    ensure!(
        original.iter().all(|l| (0..classes).contains(l)),
        "labels must be classes in 0..{classes} for label noise"
    );
    let n = original.len();
    let count = (fraction * n as f64).round() as usize;
    let mut rng = Rng::new(crate::rng::mix(seed ^ 0x4015E));
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let (mut noisy, mut changed) = (original.clone(), vec![false; n]);
    for &i in &order[..count] {
        // one of the classes − 1 others, uniformly
        noisy[i] = (original[i] + 1 + rng.below(classes as usize - 1) as i64) % classes;
        changed[i] = true;
    }
    Ok(NoisyLabels {
        labels: Tensor::from_slice(&noisy).to_device(labels.device()),
        changed: Tensor::from_slice(&changed).to_device(labels.device()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: i64) -> Tensor {
        Tensor::arange(n, (Kind::Int64, tch::Device::Cpu)).remainder(10)
    }

    #[test]
    fn the_fraction_is_exact_and_every_replaced_label_is_wrong() {
        let y = labels(4000);
        for fraction in [0.0, 0.2, 0.5, 1.0] {
            let noisy = noisy_labels(&y, fraction, 10, 3).unwrap();
            assert_eq!(noisy.changed_count(), (4000.0 * fraction) as i64);
            // changed ⇔ different from the original
            assert!(noisy.labels.ne_tensor(&y).equal(&noisy.changed), "fraction {fraction}");
            let min = noisy.labels.min().int64_value(&[]);
            let max = noisy.labels.max().int64_value(&[]);
            assert!(min >= 0 && max <= 9);
        }
    }

    #[test]
    fn the_new_labels_cover_all_other_classes_evenly() {
        let y = Tensor::zeros([9000], (Kind::Int64, tch::Device::Cpu));
        let noisy = noisy_labels(&y, 1.0, 10, 5).unwrap();
        let counts: Vec<i64> = Vec::try_from(noisy.labels.bincount::<Tensor>(None, 10)).unwrap();
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((800..1200).contains(c), "{counts:?}");
        }
    }

    #[test]
    fn same_seed_same_noise_other_seed_other_noise() {
        let y = labels(1000);
        let a = noisy_labels(&y, 0.2, 10, 1).unwrap();
        let b = noisy_labels(&y, 0.2, 10, 1).unwrap();
        let c = noisy_labels(&y, 0.2, 10, 2).unwrap();
        assert!(a.labels.equal(&b.labels) && a.changed.equal(&b.changed));
        assert!(!a.changed.equal(&c.changed));
    }

    #[test]
    fn bad_settings_are_errors() {
        let y = labels(10);
        assert!(noisy_labels(&y, -0.1, 10, 1).is_err());
        assert!(noisy_labels(&y, 0.1, 1, 1).is_err());
        assert!(noisy_labels(&y, 0.1, 5, 1).is_err()); // labels up to 9
        assert!(noisy_labels(&y.reshape([2, 5]), 0.1, 10, 1).is_err());
    }
}
