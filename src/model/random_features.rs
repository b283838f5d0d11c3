//! Random ReLU features with a minimum-norm least-squares output layer: the model of
//! Belkin et al. (2019), "Reconciling modern machine-learning practice and the classical
//! bias–variance trade-off". The first layer `W` is drawn once and never trained; only the
//! output layer is fitted, in closed form, by the pseudo-inverse of the feature matrix.
//! With `N` features and `n` training examples the fit interpolates once `N ≥ n`; at
//! `N = n` the feature matrix is square and nearly singular, so the interpolating
//! solution has a huge norm and the test error peaks (double descent).

use anyhow::{Result, ensure};
use tch::{Device, Kind, Tensor};

/// The least-squares solution of smallest norm and what the solve saw.
///
/// ```
/// use tch::{Kind, Tensor};
/// let a = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 2.0]).reshape([2, 2]);
/// let b = Tensor::from_slice(&[1.0f64, 4.0]).reshape([2, 1]);
/// let s = tchlab::model::min_norm_lstsq(&a, &b, 1e-10).unwrap();
/// assert!(s.solution.allclose(&Tensor::from_slice(&[1.0f64, 2.0]).reshape([2, 1]), 1e-12, 1e-12, false));
/// assert_eq!(s.rank, 2);
/// ```
#[derive(Debug)]
pub struct MinNormSolution {
    /// `x` `[p, k]` (`f64`): minimises ‖A x − B‖ and, among the minimisers, ‖x‖.
    pub solution: Tensor,
    /// The singular values of `A`, largest first (`min(n, p)` of them).
    pub singular_values: Vec<f64>,
    /// How many singular values were kept (those above `rcond ·` the largest).
    pub rank: usize,
}

impl MinNormSolution {
    /// The smallest kept singular value divided by the largest (1 / condition number of
    /// the part of `A` the solution uses).
    ///
    /// ```
    /// use tch::Tensor;
    /// let a = Tensor::from_slice(&[4.0f64, 0.0, 0.0, 1.0]).reshape([2, 2]);
    /// let s = tchlab::model::min_norm_lstsq(&a, &Tensor::ones([2, 1], tch::kind::DOUBLE_CPU), 1e-10).unwrap();
    /// assert!((s.smallest_relative_singular_value() - 0.25).abs() < 1e-12);
    /// ```
    pub fn smallest_relative_singular_value(&self) -> f64 {
        match (self.singular_values.first(), self.rank) {
            (Some(&top), r) if r > 0 && top > 0.0 => self.singular_values[r - 1] / top,
            _ => f64::NAN,
        }
    }
}

/// The minimum-norm least-squares solution of `A x ≈ B` (`A` `[n, p]`, `B` `[n, k]`),
/// `x = A⁺ B`, in double precision through the thin SVD `A = U S Vᵀ`:
/// `x = V S⁻¹ Uᵀ B`, where singular values at or below `rcond · s_max` count as zero
/// (their `1/s` is replaced by 0), the convention of `numpy.linalg.pinv` and
/// `torch.linalg.pinv`. For `p < n` (and `A` of full rank) this is the ordinary least
/// squares solution `(AᵀA)⁻¹AᵀB`; for `p ≥ n` it interpolates (`A x = B`) with the
/// smallest ‖x‖ of all interpolating solutions. A large `rcond` cuts the small singular
/// values and acts as a regulariser.
///
/// ```
/// use tch::{Kind, Tensor};
/// // one equation, two unknowns: x1 + x2 = 2; the smallest solution is (1, 1)
/// let a = Tensor::from_slice(&[1.0f64, 1.0]).reshape([1, 2]);
/// let b = Tensor::from_slice(&[2.0f64]).reshape([1, 1]);
/// let s = tchlab::model::min_norm_lstsq(&a, &b, 1e-10).unwrap();
/// assert!(s.solution.allclose(&Tensor::ones([2, 1], tch::kind::DOUBLE_CPU), 1e-12, 1e-12, false));
/// assert!(tchlab::model::min_norm_lstsq(&a, &b, -1.0).is_err());
/// ```
pub fn min_norm_lstsq(a: &Tensor, b: &Tensor, rcond: f64) -> Result<MinNormSolution> {
    ensure!(rcond >= 0.0 && rcond.is_finite(), "rcond must be a finite number ≥ 0, got {rcond}");
    ensure!(a.dim() == 2 && b.dim() == 2, "A and B must be matrices, got shapes {:?} and {:?}", a.size(), b.size());
    ensure!(a.size()[0] == b.size()[0], "A {:?} and B {:?} need the same number of rows", a.size(), b.size());
    ensure!(a.size()[0] > 0 && a.size()[1] > 0, "A is empty: {:?}", a.size());
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double).to_device(a.device());
    // torch.svd(some = true): A = U diag(S) Vᵀ with U [n, r], S [r], V [p, r], r = min(n, p)
    let (u, s, v) = a.f_svd(true, true)?;
    let singular_values: Vec<f64> = Vec::try_from(s.to_device(Device::Cpu))?;
    ensure!(singular_values.iter().all(|x| x.is_finite()), "A has non-finite entries: its SVD is not finite");
    let top = singular_values.first().copied().unwrap_or(0.0);
    let keep = s.gt(rcond * top).logical_and(&s.gt(0.0));
    let inverse = s.reciprocal().f_where_self(&keep, &s.zeros_like())?;
    let solution = v.matmul(&(inverse.unsqueeze(1) * u.tr().matmul(&b)));
    let rank = singular_values.iter().filter(|&&x| x > rcond * top && x > 0.0).count();
    Ok(MinNormSolution { solution, singular_values, rank })
}

/// A random-features model: `f(x) = relu(x W) β`, with `W` `[inputs, features]` drawn
/// from N(0, 1/inputs) and fixed, and `β` `[features, outputs]` fitted by
/// [`RandomFeatures::fit_min_norm`].
///
/// ```
/// use tch::{Kind, Tensor};
/// use tchlab::model::RandomFeatures;
/// let x = Tensor::randn([20, 5], tch::kind::FLOAT_CPU);
/// let y = Tensor::randn([20, 3], tch::kind::DOUBLE_CPU);
/// let mut rf = RandomFeatures::new(5, 50, 3, 1).unwrap(); // 50 features > 20 examples
/// let fit = rf.fit_min_norm(&x, &y, 1e-10).unwrap();
/// assert_eq!(fit.rank, 20);
/// assert!(rf.predict(&x, 8).unwrap().allclose(&y, 1e-6, 1e-6, false)); // interpolates
/// ```
#[derive(Debug)]
pub struct RandomFeatures {
    weights: Tensor,
    output: Option<Tensor>,
    outputs: i64,
}

impl RandomFeatures {
    /// `features` random ReLU features of `inputs` values, for `outputs` outputs; `seed`
    /// fixes `W` (drawn from its own generator, so it does not depend on other code).
    ///
    /// ```
    /// let a = tchlab::model::RandomFeatures::new(4, 10, 2, 7).unwrap();
    /// let b = tchlab::model::RandomFeatures::new(4, 10, 2, 7).unwrap();
    /// assert!(a.weights().equal(b.weights()));
    /// assert_eq!(a.weights().size(), vec![4, 10]);
    /// assert!(tchlab::model::RandomFeatures::new(4, 0, 2, 7).is_err());
    /// ```
    pub fn new(inputs: i64, features: i64, outputs: i64, seed: u64) -> Result<Self> {
        ensure!(inputs > 0 && outputs > 0, "random features need inputs and outputs, got {inputs} and {outputs}");
        ensure!(features > 0, "the number of random features must be at least 1, got {features}");
        ensure!(
            inputs.checked_mul(features).is_some_and(|p| p <= super::MAX_PARAMETERS),
            "{inputs} × {features} random weights exceed {} values",
            super::MAX_PARAMETERS
        );
        let mut rng = crate::rng::Rng::new(crate::rng::mix(seed ^ 0x2F_EA7));
        let scale = 1.0 / (inputs as f64).sqrt();
        let values: Vec<f32> = (0..inputs * features).map(|_| (rng.normal() * scale) as f32).collect();
        let weights = Tensor::from_slice(&values).reshape([inputs, features]);
        Ok(RandomFeatures { weights, output: None, outputs })
    }

    /// The fixed first layer `W` `[inputs, features]`.
    pub fn weights(&self) -> &Tensor {
        &self.weights
    }

    /// The fitted output layer `β` `[features, outputs]` (`f64`), once fitted.
    pub fn output_layer(&self) -> Option<&Tensor> {
        self.output.as_ref()
    }

    /// Number of features `N`.
    ///
    /// ```
    /// assert_eq!(tchlab::model::RandomFeatures::new(4, 10, 2, 7).unwrap().features(), 10);
    /// ```
    pub fn features(&self) -> i64 {
        self.weights.size()[1]
    }

    /// The features `relu(x W)` `[n, features]` of inputs `[n, inputs]` (`f32`).
    ///
    /// ```
    /// let rf = tchlab::model::RandomFeatures::new(3, 6, 1, 1).unwrap();
    /// let phi = rf.transform(&tch::Tensor::ones([2, 3], tch::kind::FLOAT_CPU)).unwrap();
    /// assert_eq!(phi.size(), vec![2, 6]);
    /// assert!(phi.min().double_value(&[]) >= 0.0);
    /// ```
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.weights.size()[0];
        ensure!(x.dim() == 2 && x.size()[1] == d, "inputs must be [n, {d}], got {:?}", x.size());
        Ok(x.to_kind(Kind::Float).to_device(Device::Cpu).matmul(&self.weights).relu())
    }

    /// Fits `β` to `targets` `[n, outputs]` by [`min_norm_lstsq`] on the features of `x`
    /// (the whole training set at once, no iterations, no regularisation beyond `rcond`).
    pub fn fit_min_norm(&mut self, x: &Tensor, targets: &Tensor, rcond: f64) -> Result<MinNormSolution> {
        ensure!(
            targets.dim() == 2 && targets.size() == [x.size()[0], self.outputs],
            "targets must be [{}, {}], got {:?}",
            x.size()[0],
            self.outputs,
            targets.size()
        );
        let fit = min_norm_lstsq(&self.transform(x)?, targets, rcond)?;
        self.output = Some(fit.solution.shallow_clone());
        Ok(fit)
    }

    /// Outputs `[n, outputs]` (`f64`) for inputs `[n, inputs]`, `chunk` rows at a time;
    /// an error before [`RandomFeatures::fit_min_norm`].
    pub fn predict(&self, x: &Tensor, chunk: i64) -> Result<Tensor> {
        let Some(beta) = &self.output else {
            anyhow::bail!("the random-features model has not been fitted yet: call fit_min_norm first");
        };
        let _guard = tch::no_grad_guard();
        let rows = x.size()[0];
        let mut parts = Vec::new();
        for start in (0..rows).step_by(chunk.max(1) as usize) {
            let part = x.narrow(0, start, chunk.max(1).min(rows - start));
            parts.push(self.transform(&part)?.to_kind(Kind::Double).matmul(beta));
        }
        ensure!(!parts.is_empty(), "no inputs to predict");
        Ok(Tensor::cat(&parts, 0))
    }
}

/// One-hot targets `[n, classes]` (`f64`) for labels `[n]`.
///
/// ```
/// let y = tchlab::model::one_hot(&tch::Tensor::from_slice(&[2i64, 0]), 3).unwrap();
/// assert_eq!(Vec::<f64>::try_from(y.reshape([6])).unwrap(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// ```
pub fn one_hot(labels: &Tensor, classes: i64) -> Result<Tensor> {
    Ok(labels.to_kind(Kind::Int64).f_one_hot(classes)?.to_kind(Kind::Double))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(rows: i64, cols: i64, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        Tensor::randn([rows, cols], tch::kind::DOUBLE_CPU)
    }

    fn max_abs(t: &Tensor) -> f64 {
        t.abs().max().double_value(&[])
    }

    #[test]
    fn more_unknowns_than_equations_interpolates_with_the_smallest_norm() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = (random(30, 80, 1), random(30, 4, 2));
        let s = min_norm_lstsq(&a, &b, 1e-12).unwrap();
        assert_eq!(s.rank, 30);
        assert!(max_abs(&(a.matmul(&s.solution) - &b)) < 1e-9, "does not interpolate");
        // it lies in the row space of A: x = Aᵀ (A Aᵀ)⁻¹ B
        let dual = a.tr().matmul(&a.matmul(&a.tr()).inverse().matmul(&b));
        assert!(max_abs(&(&s.solution - &dual)) < 1e-9);
        // any other interpolating solution (add a null-space direction) is longer
        let z = random(80, 4, 3);
        let null = &z - a.tr().matmul(&a.matmul(&a.tr()).inverse().matmul(&a.matmul(&z)));
        let other = &s.solution + null;
        assert!(max_abs(&(a.matmul(&other) - &b)) < 1e-9);
        assert!(other.norm().double_value(&[]) > s.solution.norm().double_value(&[]) + 1e-3);
    }

    #[test]
    fn fewer_unknowns_than_equations_is_ordinary_least_squares() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = (random(80, 30, 4), random(80, 3, 5));
        let s = min_norm_lstsq(&a, &b, 1e-12).unwrap();
        let ols = a.tr().matmul(&a).inverse().matmul(&a.tr().matmul(&b));
        assert!(max_abs(&(&s.solution - &ols)) < 1e-9);
        // and does not interpolate
        assert!(max_abs(&(a.matmul(&s.solution) - &b)) > 0.1);
    }

    #[test]
    fn a_large_rcond_drops_small_singular_values() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = (random(40, 40, 6), random(40, 2, 7));
        let exact = min_norm_lstsq(&a, &b, 0.0).unwrap();
        let cut = min_norm_lstsq(&a, &b, 0.5).unwrap();
        assert_eq!(exact.rank, 40);
        assert!(cut.rank < 40 && cut.rank > 0);
        assert!(cut.solution.norm().double_value(&[]) < exact.solution.norm().double_value(&[]));
        let kept = exact.singular_values.iter().filter(|&&x| x > 0.5 * exact.singular_values[0]).count();
        assert_eq!(cut.rank, kept);
    }

    #[test]
    fn rank_deficient_systems_get_the_pseudo_inverse() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        // two equal columns: the min-norm solution splits the weight evenly
        let a = Tensor::from_slice(&[1.0f64, 1.0, 2.0, 2.0, 3.0, 3.0]).reshape([3, 2]);
        let b = Tensor::from_slice(&[2.0f64, 4.0, 6.0]).reshape([3, 1]);
        let s = min_norm_lstsq(&a, &b, 1e-10).unwrap();
        assert_eq!(s.rank, 1);
        assert!(max_abs(&(s.solution - Tensor::ones([2, 1], tch::kind::DOUBLE_CPU))) < 1e-12);
    }

    #[test]
    fn random_features_interpolate_above_n_and_not_below() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let x = random(40, 6, 8).to_kind(Kind::Float);
        let y = random(40, 2, 9);
        let mut wide = RandomFeatures::new(6, 120, 2, 1).unwrap();
        wide.fit_min_norm(&x, &y, 1e-10).unwrap();
        assert!(max_abs(&(wide.predict(&x, 16).unwrap() - &y)) < 1e-6);
        let mut narrow = RandomFeatures::new(6, 10, 2, 1).unwrap();
        narrow.fit_min_norm(&x, &y, 1e-10).unwrap();
        assert!(max_abs(&(narrow.predict(&x, 16).unwrap() - &y)) > 0.1);
        assert!(RandomFeatures::new(6, 10, 2, 1).unwrap().predict(&x, 16).is_err());
        assert!(narrow.fit_min_norm(&x, &y.narrow(0, 0, 5), 1e-10).is_err());
    }

    #[test]
    fn the_weights_have_variance_one_over_inputs() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let rf = RandomFeatures::new(400, 500, 1, 3).unwrap();
        let var = rf.weights().var(true).double_value(&[]);
        assert!((var * 400.0 - 1.0).abs() < 0.02, "{var}");
    }
}
