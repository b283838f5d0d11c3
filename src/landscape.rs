//! The loss as a function of the parameters: its value along the straight line between
//! two parameter vectors, the bump ("barrier") above the chord a convex loss can never
//! have, and the permutation of hidden units that leaves an MLP's function unchanged.
//!
//! ```no_run
//! use tchlab::landscape::{Line, barrier};
//! use tchlab::prelude::*;
//! # fn main() -> anyhow::Result<()> {
//! let loader = DataLoader::new(Xor::lecture().dataset(), 750)?;
//! let config = MlpConfig::new(2, &[8], 2).activation(Activation::Relu);
//! let (mut a, mut b) = (Mlp::new(&config, 1)?, Mlp::new(&config, 2)?);
//! for m in [&mut a, &mut b] {
//!     Trainer::new(TrainConfig::sgd(0.1, 20).quiet()).fit(m, &loader, None)?;
//! }
//! let line = Line::between(&a, &b)?;
//! let curve = line.losses(&mut Mlp::new(&config, 0)?, 11, &loader, Loss::CrossEntropy)?;
//! println!("barrier {:.4}", barrier(&curve));
//! # Ok(()) }
//! ```

use anyhow::{Result, bail, ensure};
use tch::Tensor;

use crate::data::DataLoader;
use crate::model::{Mlp, Network};
use crate::train::{Loss, evaluate};

/// A model's parameters as copies, in the order of their names (the same order for
/// every model built from the same configuration).
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let m = Mlp::new(&MlpConfig::new(4, &[3], 2), 1).unwrap();
/// let p = tchlab::landscape::parameters(&m);
/// assert_eq!(p.iter().map(|t| t.numel()).sum::<usize>(), 4 * 3 + 3 + 3 * 2 + 2);
/// ```
pub fn parameters(model: &dyn Network) -> Vec<Tensor> {
    variables_by_name(model).into_iter().map(|(_, t)| t.detach().copy()).collect()
}

/// A model's variables (not copies), sorted by name: the order of [`parameters`].
fn variables_by_name(model: &dyn Network) -> Vec<(String, Tensor)> {
    let mut named: Vec<(String, Tensor)> = model.var_store().variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// Sets a model's parameters (in the order of [`parameters`]); shapes must match.
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let c = MlpConfig::new(4, &[3], 2);
/// let (a, mut b) = (Mlp::new(&c, 1).unwrap(), Mlp::new(&c, 2).unwrap());
/// tchlab::landscape::set_parameters(&mut b, &tchlab::landscape::parameters(&a)).unwrap();
/// assert_eq!(tchlab::landscape::distance(&tchlab::landscape::parameters(&a), &tchlab::landscape::parameters(&b)), 0.0);
/// ```
pub fn set_parameters(model: &mut dyn Network, values: &[Tensor]) -> Result<()> {
    let named = variables_by_name(model);
    ensure!(
        named.len() == values.len(),
        "the model has {} parameter tensors, {} were given",
        named.len(),
        values.len()
    );
    let _guard = tch::no_grad_guard();
    for ((name, mut var), value) in named.into_iter().zip(values) {
        ensure!(var.size() == value.size(), "parameter {name}: shape {:?}, given {:?}", var.size(), value.size());
        var.copy_(value);
    }
    Ok(())
}

/// The Euclidean distance between two parameter lists.
///
/// ```
/// let a = vec![tch::Tensor::from_slice(&[0.0f32, 0.0])];
/// let b = vec![tch::Tensor::from_slice(&[3.0f32, 4.0])];
/// assert!((tchlab::landscape::distance(&a, &b) - 5.0).abs() < 1e-6);
/// ```
pub fn distance(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).square().sum(tch::Kind::Double).double_value(&[])).sum::<f64>().sqrt()
}

/// The straight line θ(t) = (1 − t)·θa + t·θb between two models' parameters.
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let c = MlpConfig::new(4, &[3], 2);
/// let line = tchlab::landscape::Line::between(&Mlp::new(&c, 1).unwrap(), &Mlp::new(&c, 2).unwrap()).unwrap();
/// assert_eq!(line.at(0.0).len(), 4);
/// ```
pub struct Line {
    start: Vec<Tensor>,
    end: Vec<Tensor>,
}

impl Line {
    /// The line from `a`'s parameters to `b`'s (models of the same shape).
    pub fn between(a: &dyn Network, b: &dyn Network) -> Result<Self> {
        Self::new(parameters(a), parameters(b))
    }

    /// The line between two parameter lists of the same shapes.
    pub fn new(start: Vec<Tensor>, end: Vec<Tensor>) -> Result<Self> {
        ensure!(start.len() == end.len(), "{} vs {} parameter tensors", start.len(), end.len());
        for (k, (a, b)) in start.iter().zip(&end).enumerate() {
            ensure!(a.size() == b.size(), "parameter {k}: shapes {:?} and {:?} differ", a.size(), b.size());
        }
        Ok(Line { start, end })
    }

    /// The parameters at `t` (0: the start, 1: the end).
    pub fn at(&self, t: f64) -> Vec<Tensor> {
        self.start.iter().zip(&self.end).map(|(a, b)| a * (1.0 - t) + b * t).collect()
    }

    /// `(t, mean loss on loader)` at `points` evenly spaced t from 0 to 1, evaluated
    /// with `scratch` (a model of the same shape, whose parameters are overwritten).
    pub fn losses(
        &self,
        scratch: &mut dyn Network,
        points: usize,
        loader: &DataLoader,
        loss: Loss,
    ) -> Result<Vec<(f64, f64)>> {
        if points < 2 {
            bail!("a line needs at least 2 points, got {points}");
        }
        let mut curve = Vec::with_capacity(points);
        for k in 0..points {
            let t = k as f64 / (points - 1) as f64;
            set_parameters(scratch, &self.at(t))?;
            curve.push((t, evaluate(&*scratch, loader, loss)?.loss));
        }
        Ok(curve)
    }
}

/// How far a loss curve along a line rises above the chord between its ends:
/// max over t of L(t) − ((1 − t)·L(0) + t·L(1)). A convex loss has a barrier ≤ 0 (up to
/// rounding); a bump between two solutions is what non-convexity looks like.
///
/// ```
/// let bowl = [(0.0, 1.0), (0.5, 0.5), (1.0, 1.0)];
/// let bump = [(0.0, 1.0), (0.5, 3.0), (1.0, 1.0)];
/// assert!(tchlab::landscape::barrier(&bowl) <= 0.0);
/// assert_eq!(tchlab::landscape::barrier(&bump), 2.0);
/// ```
pub fn barrier(curve: &[(f64, f64)]) -> f64 {
    let (Some(&(t0, l0)), Some(&(t1, l1))) = (curve.first(), curve.last()) else {
        return f64::NAN;
    };
    let span = (t1 - t0).max(f64::MIN_POSITIVE);
    curve
        .iter()
        .map(|&(t, l)| {
            let s = (t - t0) / span;
            l - ((1.0 - s) * l0 + s * l1)
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Reorders the units of hidden layer `layer` (from 0) of an MLP by `order` (a
/// permutation of its units): its weight rows and biases, and the next layer's weight
/// columns. The network computes exactly the same function at a different point of
/// parameter space.
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let mut m = Mlp::new(&MlpConfig::new(4, &[3], 2), 1).unwrap();
/// let x = tch::Tensor::randn([5, 4], tch::kind::FLOAT_CPU);
/// let before = m.forward(&x);
/// tchlab::landscape::permute_hidden_units(&mut m, 0, &[2, 0, 1]).unwrap();
/// assert!(before.allclose(&m.forward(&x), 1e-6, 1e-6, false));
/// ```
pub fn permute_hidden_units(mlp: &mut Mlp, layer: usize, order: &[i64]) -> Result<()> {
    let layers = mlp.layers();
    ensure!(layer + 1 < layers.len(), "layer {layer} is not a hidden layer (the MLP has {} hidden)", layers.len() - 1);
    let units = layers[layer].ws.size()[0];
    let mut seen = vec![false; units as usize];
    ensure!(order.len() as i64 == units, "the order has {} entries, the layer {units} units", order.len());
    for &u in order {
        ensure!((0..units).contains(&u) && !seen[u as usize], "{order:?} is not a permutation of 0..{units}");
        seen[u as usize] = true;
    }
    let index = Tensor::from_slice(order);
    let _guard = tch::no_grad_guard();
    let (this, next) = (&layers[layer], &layers[layer + 1]);
    let mut ws = this.ws.shallow_clone();
    ws.copy_(&this.ws.index_select(0, &index));
    if let Some(bs) = &this.bs {
        let mut b = bs.shallow_clone();
        b.copy_(&bs.index_select(0, &index));
    }
    let mut next_ws = next.ws.shallow_clone();
    next_ws.copy_(&next.ws.index_select(1, &index));
    Ok(())
}
