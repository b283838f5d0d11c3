//! Weight and bias initialisation schemes.

use anyhow::{Result, bail};
use tch::nn;

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
    /// The tch initialiser for a tensor with the given fans.
    pub fn to_tch(self, fan_in: i64, fan_out: i64) -> nn::Init {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        match self {
            Init::Default => {
                let b = 1.0 / fi.sqrt();
                nn::Init::Uniform { lo: -b, up: b }
            }
            Init::Normal { mean, std } => nn::Init::Randn { mean, stdev: std },
            Init::Uniform { low, high } => nn::Init::Uniform { lo: low, up: high },
            Init::Zeros => nn::Init::Const(0.0),
            Init::Constant(c) => nn::Init::Const(c),
            Init::XavierUniform => {
                let b = (6.0 / (fi + fo)).sqrt();
                nn::Init::Uniform { lo: -b, up: b }
            }
            Init::XavierNormal => nn::Init::Randn { mean: 0.0, stdev: (2.0 / (fi + fo)).sqrt() },
            Init::KaimingUniform => {
                let b = (6.0 / fi).sqrt();
                nn::Init::Uniform { lo: -b, up: b }
            }
            Init::KaimingNormal => nn::Init::Randn { mean: 0.0, stdev: (2.0 / fi).sqrt() },
        }
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
