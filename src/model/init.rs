//! Weight and bias initialisation schemes.

use super::Generator;
use anyhow::{Result, bail};
use tch::kind::FLOAT_CPU;
use tch::{Tensor, nn};

/// What an [`Init`] draws for given fans.
enum Draw {
    Constant(f64),
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

/// An initialisation scheme for a layer's weight or bias.
///
/// `fan_in`/`fan_out` are the layer's input/output sizes (× kernel area for convolutions).
///
/// ```
/// use tchlab::model::Init;
/// assert_eq!(Init::parse("normal:0,0.1").unwrap(), Init::Normal { mean: 0.0, std: 0.1 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for `Linear`/`Conv2d`: U(−1/√fan_in, 1/√fan_in) for weights and biases.
    Default,
    /// N(mean, std²).
    Normal { mean: f64, std: f64 },
    /// U(low, high).
    Uniform { low: f64, high: f64 },
    /// All zeros.
    Zeros,
    /// All equal to a constant.
    Constant(f64),
    /// Glorot uniform: U(±√(6 / (fan_in + fan_out))).
    XavierUniform,
    /// Glorot normal: N(0, 2 / (fan_in + fan_out)).
    XavierNormal,
    /// He uniform for ReLU: U(±√(6 / fan_in)).
    KaimingUniform,
    /// He normal for ReLU: N(0, 2 / fan_in).
    KaimingNormal,
}

impl Init {
    /// Initial values of shape `dims` for a tensor with the given fans, drawn from
    /// `generator` (a constant draws nothing), as a float CPU tensor: the values tch's
    /// `nn::Init` would draw from the global generator seeded the same way.
    ///
    /// ```
    /// use tchlab::model::{Generator, Init};
    /// let mut g = Generator::new(3).unwrap();
    /// let w = Init::XavierUniform.tensor(&[20, 30], 30, 20, &mut g).unwrap();
    /// assert!(w.abs().max().double_value(&[]) <= (6.0f64 / 50.0).sqrt());
    /// ```
    pub fn tensor(self, dims: &[i64], fan_in: i64, fan_out: i64, generator: &mut Generator) -> Result<Tensor> {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        let uniform = |bound: f64| Draw::Uniform { low: -bound, high: bound };
        let draw = match self {
            Init::Default => uniform(1.0 / fi.sqrt()),
            Init::Normal { mean, std } => Draw::Normal { mean, std },
            Init::Uniform { low, high } => Draw::Uniform { low, high },
            Init::Zeros => Draw::Constant(0.0),
            Init::Constant(c) => Draw::Constant(c),
            Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt()),
            Init::XavierNormal => Draw::Normal { mean: 0.0, std: (2.0 / (fi + fo)).sqrt() },
            Init::KaimingUniform => uniform((6.0 / fi).sqrt()),
            Init::KaimingNormal => Draw::Normal { mean: 0.0, std: (2.0 / fi).sqrt() },
        };
        // The same tensor operations as tch's `nn::init`, so that the values are equal bit for bit.
        Ok(match draw {
            Draw::Constant(0.0) => Tensor::f_zeros(dims, FLOAT_CPU)?,
            Draw::Constant(c) if (c - 1.0).abs() <= f64::EPSILON => Tensor::f_ones(dims, FLOAT_CPU)?,
            Draw::Constant(c) => Tensor::f_ones(dims, FLOAT_CPU)? * c,
            Draw::Uniform { low, high } => generator.uniform(dims, low, high)?,
            Draw::Normal { mean, std } if mean == 0.0 && (std - 1.0).abs() <= f64::EPSILON => generator.randn(dims)?,
            Draw::Normal { mean, std } => generator.randn(dims)? * std + mean,
        })
    }

    /// Parses `default`, `zeros`, `constant:C`, `normal:MEAN,STD`, `uniform:LOW,HIGH`,
    /// `xavier_uniform`, `xavier_normal`, `kaiming_uniform`, `kaiming_normal`.
    pub fn parse(text: &str) -> Result<Self> {
        let (name, args) = text.split_once(':').unwrap_or((text, ""));
        let nums: Vec<f64> = if args.is_empty() {
            Vec::new()
        } else {
            args.split(',')
                .map(|a| a.trim().parse::<f64>().map_err(|_| anyhow::anyhow!("init `{text}`: `{a}` is not a number")))
                .collect::<Result<_>>()?
        };
        let need = |n: usize| -> Result<()> {
            if nums.len() != n {
                bail!("init `{text}` needs {n} number(s), e.g. normal:0,0.1 or constant:0.5");
            }
            Ok(())
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "default" | "pytorch" => Init::Default,
            "zeros" | "zero" => Init::Zeros,
            "constant" | "const" => {
                need(1)?;
                Init::Constant(nums[0])
            }
            "normal" => {
                need(2)?;
                Init::Normal { mean: nums[0], std: nums[1] }
            }
            "uniform" => {
                need(2)?;
                Init::Uniform { low: nums[0], high: nums[1] }
            }
            "xavier_uniform" | "xavier" | "glorot" => Init::XavierUniform,
            "xavier_normal" => Init::XavierNormal,
            "kaiming_uniform" | "kaiming" | "he" => Init::KaimingUniform,
            "kaiming_normal" => Init::KaimingNormal,
            other => bail!(
                "unknown init `{other}`: use default, zeros, constant:C, normal:MEAN,STD, uniform:LOW,HIGH, xavier_uniform, xavier_normal, kaiming_uniform or kaiming_normal"
            ),
        })
    }
}

/// A trainable variable `name` under `path` (on the path's device), its initial values
/// drawn by `init` from `generator`.
pub(crate) fn variable(
    path: &nn::Path,
    name: &str,
    dims: &[i64],
    init: Init,
    fans: (i64, i64),
    generator: &mut Generator,
) -> Result<Tensor> {
    let mut var = path.f_zeros(name, dims)?;
    refill(&mut var, init, fans, generator)?;
    Ok(var)
}

/// Overwrites the variable `var` with initial values drawn by `init` from `generator`.
pub(crate) fn refill(
    var: &mut Tensor,
    init: Init,
    (fan_in, fan_out): (i64, i64),
    generator: &mut Generator,
) -> Result<()> {
    let values = init.tensor(&var.size(), fan_in, fan_out, generator)?;
    tch::no_grad(|| var.f_copy_(&values))?;
    Ok(())
}

/// A linear layer `fan_in -> fan_out` under `path`, drawn in tch's order (bias, then
/// weight) so that a seed gives the weights `nn::linear` gives after `manual_seed`.
pub(crate) fn linear(
    path: &nn::Path,
    (fan_in, fan_out): (i64, i64),
    (weight_init, bias_init): (Init, Init),
    generator: &mut Generator,
) -> Result<nn::Linear> {
    let fans = (fan_in, fan_out);
    let bs = variable(path, "bias", &[fan_out], bias_init, fans, generator)?;
    let ws = variable(path, "weight", &[fan_out, fan_in], weight_init, fans, generator)?;
    Ok(nn::Linear { ws, bs: Some(bs) })
}

impl std::str::FromStr for Init {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Init::parse(s)
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Init::Default => f.write_str("default"),
            Init::Normal { mean, std } => write!(f, "normal:{mean},{std}"),
            Init::Uniform { low, high } => write!(f, "uniform:{low},{high}"),
            Init::Zeros => f.write_str("zeros"),
            Init::Constant(c) => write!(f, "constant:{c}"),
            Init::XavierUniform => f.write_str("xavier_uniform"),
            Init::XavierNormal => f.write_str("xavier_normal"),
            Init::KaimingUniform => f.write_str("kaiming_uniform"),
            Init::KaimingNormal => f.write_str("kaiming_normal"),
        }
    }
}
