//! A random generator a model owns: libtorch's CPU generator (Mersenne Twister), seeded
//! privately, so that building a model draws the same numbers as
//! `tch::manual_seed(seed)` followed by the same draws from the global generator,
//! without touching the global generator. tch binds only the global one; the
//! generator object comes from `generator.cpp`, compiled by `build.rs`.

use anyhow::{Result, anyhow, bail};
use std::ffi::{CStr, c_char, c_void};
use tch::{Kind, Tensor};

unsafe extern "C" {
    fn tchlab_generator_new(seed: u64) -> *mut c_void;
    fn tchlab_generator_free(generator: *mut c_void);
    fn tchlab_uniform_(generator: *mut c_void, tensor: *mut c_void, low: f64, high: f64) -> *mut c_char;
    fn tchlab_normal_(generator: *mut c_void, tensor: *mut c_void, mean: f64, std: f64) -> *mut c_char;
    fn tchlab_free_message(text: *mut c_char);
}

/// libtorch's CPU random generator, owned: the stream `tch::manual_seed(seed)` would
/// start, drawn without reseeding or advancing the global generator.
///
/// ```
/// use tchlab::model::Generator;
/// let a = Generator::new(7).unwrap().uniform(&[3], -1.0, 1.0).unwrap();
/// tch::manual_seed(7);
/// let b = tch::Tensor::zeros([3], tch::kind::FLOAT_CPU).uniform_(-1.0, 1.0);
/// assert!(a.equal(&b));
/// ```
pub struct Generator {
    raw: *mut c_void,
}

// SAFETY: the generator object (a `at::Generator` owned through `raw`) has its own lock
// and nothing in it is tied to a thread; only one `Generator` owns a pointer.
unsafe impl Send for Generator {}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Generator(libtorch CPU)")
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `tchlab_generator_new`, is not null, and is freed once.
        unsafe { tchlab_generator_free(self.raw) }
    }
}

impl Generator {
    /// A generator seeded with `seed`.
    ///
    /// ```
    /// let _g = tchlab::model::Generator::new(1).unwrap();
    /// ```
    pub fn new(seed: u64) -> Result<Self> {
        // SAFETY: takes a plain integer; returns an owned pointer or null (checked below).
        let raw = unsafe { tchlab_generator_new(seed) };
        if raw.is_null() {
            bail!("libtorch could not create a random generator (seed {seed})");
        }
        Ok(Generator { raw })
    }

    /// A float CPU tensor of shape `dims` drawn from U(low, high), as
    /// `Tensor::zeros(dims).uniform_(low, high)` draws it.
    ///
    /// ```
    /// let t = tchlab::model::Generator::new(1).unwrap().uniform(&[100], 2.0, 3.0).unwrap();
    /// assert!(t.min().double_value(&[]) >= 2.0 && t.max().double_value(&[]) < 3.0);
    /// ```
    pub fn uniform(&mut self, dims: &[i64], low: f64, high: f64) -> Result<Tensor> {
        let mut tensor = Tensor::f_zeros(dims, tch::kind::FLOAT_CPU)?;
        // SAFETY: `draw` passes the live generator and a live float CPU tensor.
        self.draw(&mut tensor, |g, t| unsafe { tchlab_uniform_(g, t, low, high) })?;
        Ok(tensor)
    }

    /// A float CPU tensor of shape `dims` drawn from N(0, 1), as `Tensor::randn(dims)`
    /// draws it.
    ///
    /// ```
    /// let t = tchlab::model::Generator::new(1).unwrap().randn(&[10_000]).unwrap();
    /// assert!(t.mean(None).double_value(&[]).abs() < 0.05);
    /// ```
    pub fn randn(&mut self, dims: &[i64]) -> Result<Tensor> {
        let mut tensor = Tensor::f_empty(dims, tch::kind::FLOAT_CPU)?;
        // SAFETY: `draw` passes the live generator and a live float CPU tensor.
        self.draw(&mut tensor, |g, t| unsafe { tchlab_normal_(g, t, 0.0, 1.0) })?;
        Ok(tensor)
    }

    fn draw(&mut self, tensor: &mut Tensor, fill: impl FnOnce(*mut c_void, *mut c_void) -> *mut c_char) -> Result<()> {
        debug_assert_eq!(tensor.kind(), Kind::Float);
        let error = fill(self.raw, tensor.as_mut_ptr() as *mut c_void);
        if error.is_null() {
            return Ok(());
        }
        // SAFETY: a non-null error is a NUL-terminated message the C++ side allocated for
        // us; it is read once, then freed once by the same side.
        let text = unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned();
        unsafe { tchlab_free_message(error) };
        Err(anyhow!("libtorch could not draw random numbers: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streams equal the global generator's after `manual_seed`, across several
    /// draws in a row (sizes below and above 16, where libtorch's normal changes method).
    #[test]
    fn draws_equal_the_global_generator_after_manual_seed() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        for seed in [0u64, 1, 42, 123_456_789] {
            let mut own = Generator::new(seed).unwrap();
            tch::manual_seed(seed as i64);
            for dims in [&[5][..], &[16], &[7, 3], &[100, 784], &[33]] {
                let a = own.uniform(dims, -0.5, 0.25).unwrap();
                let b = Tensor::zeros(dims, tch::kind::FLOAT_CPU).uniform_(-0.5, 0.25);
                assert!(a.equal(&b), "uniform {dims:?}, seed {seed}");
                let a = own.randn(dims).unwrap();
                let b = Tensor::randn(dims, tch::kind::FLOAT_CPU);
                assert!(a.equal(&b), "randn {dims:?}, seed {seed}");
            }
        }
    }

    #[test]
    fn drawing_leaves_the_global_generator_alone() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(9);
        let expected = Tensor::rand([4], tch::kind::FLOAT_CPU);
        tch::manual_seed(9);
        let _ = Generator::new(9).unwrap().randn(&[1000]).unwrap();
        assert!(Tensor::rand([4], tch::kind::FLOAT_CPU).equal(&expected));
    }
}
