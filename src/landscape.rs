//! The loss as a function of the parameters: its value along the straight line between
//! two parameter vectors, the bump ("barrier") above the chord a convex loss can never
//! have, the permutation of hidden units that leaves an MLP's function unchanged, and a
//! two-dimensional slice of the loss around a solution along two filter-normalised random
//! directions ([`Plane`], Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").
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
use tch::{Kind, Tensor};

use crate::data::DataLoader;
use crate::model::{Mlp, Network};
use crate::rng::Rng;
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

/// Filter normalisation (Li et al. 2018, section 4): each weight matrix's direction is
/// rescaled row by row (one row = one neuron's incoming weights, the "filter" of a fully
/// connected layer) to the norm of the same row of `weights`; a one-dimensional tensor
/// (a bias) gets direction 0, as in Li et al.'s code (`ignore='biasbn'`), so the slice
/// never moves the biases. Shapes must match.
///
/// ```
/// use tch::Tensor;
/// let w = vec![Tensor::from_slice(&[3.0f32, 4.0, 0.0, 1.0]).view([2, 2]), Tensor::from_slice(&[1.0f32, 2.0])];
/// let d = vec![Tensor::from_slice(&[1.0f32, 0.0, 0.0, 2.0]).view([2, 2]), Tensor::from_slice(&[5.0f32, 5.0])];
/// let n = tchlab::landscape::filter_normalize(&d, &w).unwrap();
/// assert_eq!(Vec::<f32>::try_from(n[0].flatten(0, -1)).unwrap(), vec![5.0, 0.0, 0.0, 1.0]);
/// assert_eq!(Vec::<f32>::try_from(&n[1]).unwrap(), vec![0.0, 0.0]);
/// ```
pub fn filter_normalize(direction: &[Tensor], weights: &[Tensor]) -> Result<Vec<Tensor>> {
    ensure!(direction.len() == weights.len(), "{} direction tensors for {} weights", direction.len(), weights.len());
    let mut out = Vec::with_capacity(direction.len());
    for (k, (d, w)) in direction.iter().zip(weights).enumerate() {
        ensure!(d.size() == w.size(), "parameter {k}: direction {:?} vs weights {:?}", d.size(), w.size());
        if w.dim() <= 1 {
            out.push(d.zeros_like());
            continue;
        }
        let rows = |t: &Tensor| t.flatten(1, -1).to_kind(Kind::Double).norm_scalaropt_dim(2, [1i64], true);
        let scale = rows(w) / (rows(d) + 1e-10);
        let flat = d.flatten(1, -1).to_kind(Kind::Double) * scale;
        out.push(flat.view(d.size().as_slice()).to_kind(d.kind()));
    }
    Ok(out)
}

/// A random direction for the weights `like`: standard normal values from the crate's
/// generator with `seed` (independent of libtorch's global generator), filter-normalised
/// to `like` ([`filter_normalize`]: every weight row gets the norm of its row in `like`,
/// biases get 0).
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let w = tchlab::landscape::parameters(&Mlp::new(&MlpConfig::new(4, &[3], 2), 1).unwrap());
/// let d = tchlab::landscape::random_direction(&w, 5).unwrap();
/// assert_eq!(d.len(), w.len());
/// ```
pub fn random_direction(like: &[Tensor], seed: u64) -> Result<Vec<Tensor>> {
    let mut rng = Rng::new(seed);
    let gaussian: Vec<Tensor> = like
        .iter()
        .map(|t| {
            let values: Vec<f64> = (0..t.numel()).map(|_| rng.normal()).collect();
            Tensor::from_slice(&values).view(t.size().as_slice()).to_kind(t.kind()).to_device(t.device())
        })
        .collect();
    filter_normalize(&gaussian, like)
}

/// A copy of `mlp` with the units of hidden layer `layer` reordered by `order`
/// ([`permute_hidden_units`]): the same function at another point of parameter space.
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let m = Mlp::new(&MlpConfig::new(4, &[3], 2), 1).unwrap();
/// let p = tchlab::landscape::permuted(&m, 0, &[2, 1, 0]).unwrap();
/// let x = tch::Tensor::randn([5, 4], tch::kind::FLOAT_CPU);
/// assert!(m.forward(&x).allclose(&p.forward(&x), 1e-6, 1e-6, false));
/// ```
pub fn permuted(mlp: &Mlp, layer: usize, order: &[i64]) -> Result<Mlp> {
    let mut copy = Mlp::on_device(mlp.config(), 0, mlp.layers()[0].ws.device())?;
    set_parameters(&mut copy, &parameters(mlp))?;
    permute_hidden_units(&mut copy, layer, order)?;
    Ok(copy)
}

/// A plane through parameter space: θ(α, β) = θ* + α·δ + β·η, a two-dimensional slice of
/// the loss around θ* (Li et al. 2018).
///
/// ```
/// use tchlab::model::{Mlp, MlpConfig};
/// let m = Mlp::new(&MlpConfig::new(4, &[3], 2), 1).unwrap();
/// let plane = tchlab::landscape::Plane::filter_normalized(&m, 7).unwrap();
/// let centre = plane.at(0.0, 0.0);
/// assert_eq!(tchlab::landscape::distance(&centre, &tchlab::landscape::parameters(&m)), 0.0);
/// ```
pub struct Plane {
    centre: Vec<Tensor>,
    x: Vec<Tensor>,
    y: Vec<Tensor>,
}

impl Plane {
    /// The plane through `centre` spanned by directions `x` and `y` (all of one shape).
    pub fn new(centre: Vec<Tensor>, x: Vec<Tensor>, y: Vec<Tensor>) -> Result<Self> {
        for (name, d) in [("x", &x), ("y", &y)] {
            ensure!(d.len() == centre.len(), "direction {name}: {} tensors, the centre {}", d.len(), centre.len());
            for (k, (a, b)) in centre.iter().zip(d).enumerate() {
                ensure!(a.size() == b.size(), "direction {name}, parameter {k}: {:?} vs {:?}", b.size(), a.size());
            }
        }
        Ok(Plane { centre, x, y })
    }

    /// The plane through `model`'s parameters along two random directions
    /// ([`random_direction`] with `seed` and `seed + 1`), each filter-normalised to the
    /// model's weights (biases fixed), as in Li et al. 2018.
    pub fn filter_normalized(model: &dyn Network, seed: u64) -> Result<Self> {
        let centre = parameters(model);
        let x = random_direction(&centre, seed)?;
        let y = random_direction(&centre, seed.wrapping_add(1))?;
        Self::new(centre, x, y)
    }

    /// The plane through two parameter lists `a` and `b` and along `y`: centred at their
    /// midpoint, with α = −1 at `a` and α = 1 at `b` (β = 0).
    ///
    /// ```
    /// use tch::Tensor;
    /// let (a, b) = (vec![Tensor::from_slice(&[0.0f64, 0.0])], vec![Tensor::from_slice(&[2.0f64, 0.0])]);
    /// let plane = tchlab::landscape::Plane::through(&a, &b, vec![Tensor::from_slice(&[0.0f64, 1.0])]).unwrap();
    /// assert_eq!(tchlab::landscape::distance(&plane.at(1.0, 0.0), &b), 0.0);
    /// assert_eq!(tchlab::landscape::distance(&plane.at(-1.0, 0.0), &a), 0.0);
    /// ```
    pub fn through(a: &[Tensor], b: &[Tensor], y: Vec<Tensor>) -> Result<Self> {
        ensure!(a.len() == b.len(), "{} vs {} parameter tensors", a.len(), b.len());
        let centre = a.iter().zip(b).map(|(a, b)| (a + b) * 0.5).collect();
        let x = a.iter().zip(b).map(|(a, b)| (b - a) * 0.5).collect();
        Self::new(centre, x, y)
    }

    /// The two directions (δ, η).
    pub fn directions(&self) -> (&[Tensor], &[Tensor]) {
        (&self.x, &self.y)
    }

    /// The parameters at (α, β).
    pub fn at(&self, alpha: f64, beta: f64) -> Vec<Tensor> {
        self.centre.iter().zip(&self.x).zip(&self.y).map(|((c, x), y)| c + x * alpha + y * beta).collect()
    }

    /// `f` at `points` × `points` evenly spaced (α, β) in [−range, range]² (an odd
    /// `points` puts the centre on the grid).
    ///
    /// ```
    /// use tch::Tensor;
    /// let zero = vec![Tensor::from_slice(&[0.0f64, 0.0])];
    /// let (dx, dy) = (vec![Tensor::from_slice(&[1.0f64, 0.0])], vec![Tensor::from_slice(&[0.0f64, 1.0])]);
    /// let plane = tchlab::landscape::Plane::new(zero, dx, dy).unwrap();
    /// let grid = plane.grid(1.0, 3, |p| Ok(p[0].square().sum(tch::Kind::Double).double_value(&[]))).unwrap();
    /// assert_eq!(grid.values[2][1], 1.0); // α = 0, β = 1
    /// ```
    pub fn grid(&self, range: f64, points: usize, mut f: impl FnMut(&[Tensor]) -> Result<f64>) -> Result<Grid> {
        ensure!(points >= 3, "a grid needs at least 3 points per side, got {points}");
        ensure!(range.is_finite() && range > 0.0, "the grid range must be a positive number, got {range}");
        let coords: Vec<f64> = (0..points).map(|k| -range + 2.0 * range * k as f64 / (points - 1) as f64).collect();
        let mut values = Vec::with_capacity(points);
        for &beta in &coords {
            let mut row = Vec::with_capacity(points);
            for &alpha in &coords {
                row.push(f(&self.at(alpha, beta))?);
            }
            values.push(row);
        }
        Ok(Grid { coords, values })
    }

    /// The mean loss on `loader` over the grid of [`Plane::grid`], evaluated with
    /// `scratch` (a model of the centre's shape, whose parameters are overwritten).
    pub fn losses(
        &self,
        scratch: &mut dyn Network,
        range: f64,
        points: usize,
        loader: &DataLoader,
        loss: Loss,
    ) -> Result<Grid> {
        self.grid(range, points, |p| {
            set_parameters(scratch, p)?;
            Ok(evaluate(&*scratch, loader, loss)?.loss)
        })
    }
}

/// Values on a square grid: `values[j][i]` at (α, β) = (`coords[i]`, `coords[j]`).
///
/// ```
/// let bowl = tchlab::landscape::Grid::from_fn(1.0, 5, |a, b| a * a + b * b);
/// assert_eq!(bowl.centre(), 0.0);
/// assert!(bowl.min_second_difference() > 0.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// The coordinates along each axis, from −range to range.
    pub coords: Vec<f64>,
    /// The values, one row per β.
    pub values: Vec<Vec<f64>>,
}

impl Grid {
    /// A grid of `f(α, β)` (for tests and examples).
    pub fn from_fn(range: f64, points: usize, f: impl Fn(f64, f64) -> f64) -> Self {
        let n = points.max(2);
        let coords: Vec<f64> = (0..n).map(|k| -range + 2.0 * range * k as f64 / (n - 1) as f64).collect();
        let values = coords.iter().map(|&b| coords.iter().map(|&a| f(a, b)).collect()).collect();
        Grid { coords, values }
    }

    fn side(&self) -> usize {
        self.coords.len()
    }

    /// The value at the middle of the grid ((0, 0) when the side is odd).
    pub fn centre(&self) -> f64 {
        let m = self.side() / 2;
        self.values.get(m).and_then(|r| r.get(m)).copied().unwrap_or(f64::NAN)
    }

    /// The values along the row β = 0 from α = `from` to α = `to` as `(α, value)` (the
    /// grid points in between; the side should be odd).
    ///
    /// ```
    /// let g = tchlab::landscape::Grid::from_fn(1.0, 5, |a, b| a + 10.0 * b);
    /// assert_eq!(g.middle_row(-0.5, 1.0), vec![(-0.5, -0.5), (0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]);
    /// ```
    pub fn middle_row(&self, from: f64, to: f64) -> Vec<(f64, f64)> {
        let row = &self.values[self.side() / 2];
        let eps = 1e-9 * (1.0 + to.abs().max(from.abs()));
        self.coords
            .iter()
            .zip(row)
            .filter(|(a, _)| **a >= from - eps && **a <= to + eps)
            .map(|(&a, &v)| (a, v))
            .collect()
    }

    /// The smallest value and its (α, β).
    pub fn min(&self) -> (f64, (f64, f64)) {
        let mut best = (f64::INFINITY, (f64::NAN, f64::NAN));
        for (j, row) in self.values.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                if v < best.0 {
                    best = (v, (self.coords[i], self.coords[j]));
                }
            }
        }
        best
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.values.iter().flatten().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// Every second difference L(k−1) − 2·L(k) + L(k+1) along the grid's rows, columns
    /// and both diagonals (a convex function has none below 0).
    fn second_differences(&self) -> Vec<f64> {
        let n = self.side() as i64;
        let v = |i: i64, j: i64| self.values[j as usize][i as usize];
        let mut out = Vec::new();
        for j in 0..n {
            for i in 0..n {
                for (di, dj) in [(1, 0), (0, 1), (1, 1), (1, -1)] {
                    let (a, b) = ((i - di, j - dj), (i + di, j + dj));
                    if [a.0, a.1, b.0, b.1].iter().all(|&c| (0..n).contains(&c)) {
                        out.push(v(a.0, a.1) - 2.0 * v(i, j) + v(b.0, b.1));
                    }
                }
            }
        }
        out
    }

    /// The most negative second difference along rows, columns and diagonals (≥ 0, up
    /// to rounding, for a convex function: along every line of a convex function's
    /// slice the loss bends upwards).
    pub fn min_second_difference(&self) -> f64 {
        self.second_differences().into_iter().fold(f64::INFINITY, f64::min)
    }

    /// How non-convex the slice is: −(most negative second difference) / (largest
    /// positive one), 0 when no second difference is negative. A grid analogue of the
    /// |λmin / λmax| ratio of principal curvatures that Li et al. map: 0 for a convex
    /// function, of order 1 where the slice bends down as strongly as it bends up.
    ///
    /// ```
    /// use tchlab::landscape::Grid;
    /// assert_eq!(Grid::from_fn(1.0, 9, |a, b| a * a + 3.0 * b * b).curvature_ratio(), 0.0);
    /// assert!(Grid::from_fn(1.0, 9, |a, b| a * a - b * b).curvature_ratio() > 0.9);
    /// ```
    pub fn curvature_ratio(&self) -> f64 {
        let d = self.second_differences();
        let lo = d.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !(lo.is_finite() && hi.is_finite()) {
            return f64::NAN;
        }
        if lo >= 0.0 { 0.0 } else { -lo / hi.max(f64::MIN_POSITIVE) }
    }

    /// The number of interior grid points strictly above all eight neighbours (a convex
    /// function has none).
    pub fn interior_local_maxima(&self) -> usize {
        let n = self.side();
        let mut count = 0;
        for j in 1..n.saturating_sub(1) {
            for i in 1..n - 1 {
                let v = self.values[j][i];
                let above = (j - 1..=j + 1)
                    .flat_map(|b| (i - 1..=i + 1).map(move |a| (a, b)))
                    .filter(|&(a, b)| (a, b) != (i, j))
                    .all(|(a, b)| v > self.values[b][a]);
                count += above as usize;
            }
        }
        count
    }

    /// The grid restricted to its central `points` × `points` (odd sides keep the centre).
    ///
    /// ```
    /// let g = tchlab::landscape::Grid::from_fn(1.0, 9, |a, b| a + b);
    /// assert_eq!(g.central(5).coords, vec![-0.5, -0.25, 0.0, 0.25, 0.5]);
    /// ```
    pub fn central(&self, points: usize) -> Grid {
        let n = self.side();
        let k = points.clamp(1, n);
        let start = (n - k) / 2;
        Grid {
            coords: self.coords[start..start + k].to_vec(),
            values: self.values[start..start + k].iter().map(|r| r[start..start + k].to_vec()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::TensorDataset;
    use crate::model::MlpConfig;

    fn norms(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.flatten(1, -1).to_kind(Kind::Double).norm_scalaropt_dim(2, [1i64], false)).unwrap()
    }

    #[test]
    fn every_filter_of_a_normalised_direction_has_its_weights_norm_and_biases_stay() {
        let m = Mlp::new(&MlpConfig::new(6, &[5, 4], 3), 3).unwrap();
        let plane = Plane::filter_normalized(&m, 11).unwrap();
        let w = parameters(&m);
        let (dx, dy) = plane.directions();
        let mut matrices = 0;
        for d in [dx, dy] {
            for (d, w) in d.iter().zip(&w) {
                if w.dim() == 1 {
                    assert_eq!(d.abs().sum(Kind::Double).double_value(&[]), 0.0, "a bias moved");
                    continue;
                }
                matrices += 1;
                for (a, b) in norms(d).iter().zip(norms(w)) {
                    assert!((a - b).abs() < 1e-5 * b.max(1.0), "filter norm {a} vs weight row norm {b}");
                }
                // Not just a rescaled copy of the weights: a random direction.
                assert!(distance(std::slice::from_ref(d), std::slice::from_ref(w)) > 1e-3);
            }
        }
        assert_eq!(matrices, 6);
        // The two directions differ.
        assert!(distance(dx, dy) > 1e-3);
    }

    #[test]
    fn filter_normalisation_is_per_row_not_per_tensor() {
        // Row norms 1 and 10: a whole-tensor normalisation would give rows of equal norm ratio.
        let w = vec![Tensor::from_slice(&[1.0f64, 0.0, 0.0, 10.0]).view([2, 2])];
        let d = vec![Tensor::from_slice(&[1.0f64, 1.0, 1.0, 1.0]).view([2, 2])];
        let n = filter_normalize(&d, &w).unwrap();
        let r = norms(&n[0]);
        assert!((r[0] - 1.0).abs() < 1e-9 && (r[1] - 10.0).abs() < 1e-9, "{r:?}");
        assert!(filter_normalize(&d, &[Tensor::zeros([3, 2], (Kind::Double, tch::Device::Cpu))]).is_err());
    }

    #[test]
    fn the_grid_centre_is_the_trained_models_loss() {
        let x = Tensor::randn([40, 6], (Kind::Float, tch::Device::Cpu));
        let y = Tensor::randint(3, [40], (Kind::Int64, tch::Device::Cpu));
        let loader = DataLoader::new(TensorDataset::new(x, y, crate::data::Scaling::None).unwrap(), 40).unwrap();
        let config = MlpConfig::new(6, &[5], 3);
        let m = Mlp::new(&config, 2).unwrap();
        let grid = Plane::filter_normalized(&m, 5)
            .unwrap()
            .losses(&mut Mlp::new(&config, 9).unwrap(), 0.5, 5, &loader, Loss::CrossEntropy)
            .unwrap();
        assert_eq!(grid.centre(), evaluate(&m, &loader, Loss::CrossEntropy).unwrap().loss);
        assert_eq!(grid.coords, vec![-0.5, -0.25, 0.0, 0.25, 0.5]);
        assert_ne!(grid.values[0][0], grid.centre());
    }

    #[test]
    fn a_convex_models_slice_is_convex_and_a_saddle_is_not() {
        // Softmax regression: cross-entropy is convex in the weights, so is every slice.
        let x = Tensor::randn([60, 5], (Kind::Float, tch::Device::Cpu));
        let y = Tensor::randint(3, [60], (Kind::Int64, tch::Device::Cpu));
        let loader = DataLoader::new(TensorDataset::new(x, y, crate::data::Scaling::None).unwrap(), 60).unwrap();
        let config = MlpConfig::new(5, &[], 3);
        let m = Mlp::new(&config, 4).unwrap();
        let grid = Plane::filter_normalized(&m, 8)
            .unwrap()
            .losses(&mut Mlp::new(&config, 0).unwrap(), 1.0, 9, &loader, Loss::CrossEntropy)
            .unwrap();
        assert!(grid.curvature_ratio() < 1e-4, "{}", grid.curvature_ratio());
        assert_eq!(grid.interior_local_maxima(), 0);
        // A quadratic bowl through Plane::grid: exactly convex, minimum at the centre.
        let centre = [Tensor::from_slice(&[0.5f64, -1.0, 2.0])];
        let (dx, dy) = (vec![Tensor::from_slice(&[1.0f64, 2.0, 0.0])], vec![Tensor::from_slice(&[0.0f64, 1.0, 1.0])]);
        let plane = Plane::new(vec![centre[0].copy()], dx, dy).unwrap();
        let at_centre = |p: &[Tensor]| Ok((&p[0] - &centre[0]).square().sum(Kind::Double).double_value(&[]));
        let bowl = plane.grid(1.0, 7, at_centre).unwrap();
        assert_eq!(bowl.min(), (0.0, (0.0, 0.0)));
        assert_eq!(bowl.curvature_ratio(), 0.0);
        // A saddle and a bump: not convex, and the bump has an interior maximum.
        let saddle = plane.grid(1.0, 7, |p| Ok(p[0].double_value(&[0]).powi(2) - p[0].double_value(&[2]).powi(2)));
        assert!(saddle.unwrap().curvature_ratio() > 0.5);
        let bump = Grid::from_fn(1.0, 7, |a, b| (-(a * a + b * b)).exp());
        assert_eq!(bump.interior_local_maxima(), 1);
        assert!(bump.curvature_ratio() > 0.5);
    }

    #[test]
    fn bad_grids_and_planes_are_refused() {
        let c = || vec![Tensor::zeros([2], (Kind::Double, tch::Device::Cpu))];
        assert!(Plane::new(c(), c(), vec![]).is_err());
        let plane = Plane::new(c(), c(), c()).unwrap();
        assert!(plane.grid(1.0, 2, |_| Ok(0.0)).is_err());
        assert!(plane.grid(f64::NAN, 5, |_| Ok(0.0)).is_err());
    }
}
