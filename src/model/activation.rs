//! Every activation function of the lecture.

use anyhow::{Result, bail};
use tch::Tensor;

/// An activation function.
///
/// ```
/// use tchlab::model::Activation;
/// let x = tch::Tensor::from_slice(&[-1.0f32, 0.0, 2.0]);
/// let y = Activation::Relu.apply(&x, None);
/// assert_eq!(Vec::<f32>::try_from(y).unwrap(), vec![0.0, 0.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `z`
    Identity,
    /// `1 / (1 + e^-z)`
    Sigmoid,
    /// `tanh(z)`
    Tanh,
    /// `clamp(z, -1, 1)`
    HardTanh,
    /// `max(0, z)`
    Relu,
    /// `max(slope·z, z)`
    LeakyRelu(f64),
    /// `z` for `z ≥ 0`, `alpha·(e^z − 1)` otherwise
    Elu(f64),
    /// `max(0, z) + alpha·min(0, z)` with a trainable `alpha` per layer (initial value)
    Prelu(f64),
    /// `ln(1 + e^z)`
    Softplus,
    /// `z / (1 + |z|)`
    Softsign,
    /// Swish: `z·sigmoid(z)`
    Silu,
    /// `z·tanh(softplus(z))`
    Mish,
    /// `z·Φ(z)` (exact, erf form)
    Gelu,
    /// `ln(sigmoid(z))`
    LogSigmoid,
    /// `sin(z)/z`, 1 at 0
    Sinc,
    /// 1 for `z ≥ 0`, else 0 (zero gradient)
    Step,
}

impl Activation {
    /// Every activation, with the lecture's parameters (leaky slope 0.1, ELU α 1,
    /// PReLU α 0.25).
    pub const ALL: [Activation; 16] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::HardTanh,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Elu(1.0),
        Activation::Prelu(0.25),
        Activation::Softplus,
        Activation::Softsign,
        Activation::Silu,
        Activation::Mish,
        Activation::Gelu,
        Activation::LogSigmoid,
        Activation::Sinc,
        Activation::Step,
    ];

    /// A short name, as used on the command line (`leaky_relu`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::HardTanh => "hardtanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Prelu(_) => "prelu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::Gelu => "gelu",
            Activation::LogSigmoid => "logsigmoid",
            Activation::Sinc => "sinc",
            Activation::Step => "step",
        }
    }

    /// Parses a name: `relu`, `leaky_relu`, `leaky_relu:0.01`, `elu:1.0`, `prelu`, `swish`, …
    ///
    /// ```
    /// use tchlab::model::Activation;
    /// assert_eq!(Activation::parse("leaky_relu:0.01").unwrap(), Activation::LeakyRelu(0.01));
    /// assert!(Activation::parse("relu6").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let (name, param) = match text.split_once(':') {
            Some((n, p)) => {
                (n, Some(p.parse::<f64>().map_err(|_| anyhow::anyhow!("activation `{text}`: `{p}` is not a number"))?))
            }
            None => (text, None),
        };
        Ok(match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "identity" | "linear" | "none" => Activation::Identity,
            "sigmoid" | "logistic" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "hardtanh" | "hard_tanh" => Activation::HardTanh,
            "relu" => Activation::Relu,
            "leaky_relu" | "leakyrelu" => Activation::LeakyRelu(param.unwrap_or(0.1)),
            "elu" => Activation::Elu(param.unwrap_or(1.0)),
            "prelu" => Activation::Prelu(param.unwrap_or(0.25)),
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "silu" | "swish" => Activation::Silu,
            "mish" => Activation::Mish,
            "gelu" => Activation::Gelu,
            "logsigmoid" | "log_sigmoid" => Activation::LogSigmoid,
            "sinc" => Activation::Sinc,
            "step" | "heaviside" => Activation::Step,
            other => bail!(
                "unknown activation `{other}`; choose one of: {}",
                Activation::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Applies the function; `alpha` is the trainable PReLU weight (ignored otherwise;
    /// PReLU without it uses its initial value).
    pub fn apply(&self, z: &Tensor, alpha: Option<&Tensor>) -> Tensor {
        match *self {
            Activation::Identity => z.shallow_clone(),
            Activation::Sigmoid => z.sigmoid(),
            Activation::Tanh => z.tanh(),
            Activation::HardTanh => z.hardtanh(),
            Activation::Relu => z.relu(),
            Activation::LeakyRelu(slope) => z.maximum(&(z * slope)),
            Activation::Elu(alpha) => z.relu() + (z.clamp_max(0.0).exp() - 1.0) * alpha,
            Activation::Prelu(init) => match alpha {
                Some(a) => z.relu() + a * z.clamp_max(0.0),
                None => z.relu() + z.clamp_max(0.0) * init,
            },
            Activation::Softplus => z.softplus(),
            Activation::Softsign => z / (z.abs() + 1.0),
            Activation::Silu => z.silu(),
            Activation::Mish => z.mish(),
            Activation::Gelu => z.gelu("none"),
            Activation::LogSigmoid => z.log_sigmoid(),
            Activation::Sinc => z.sinc_pi(),
            Activation::Step => z.ge(0.0).to_kind(z.kind()),
        }
    }

    /// The derivative `d/dz` at `z`, computed with autograd.
    ///
    /// ```
    /// use tchlab::model::Activation;
    /// let z = tch::Tensor::from_slice(&[0.0f64]);
    /// assert!((Activation::Sigmoid.derivative(&z).double_value(&[0]) - 0.25).abs() < 1e-12);
    /// ```
    pub fn derivative(&self, z: &Tensor) -> Tensor {
        let z = z.detach().set_requires_grad(true);
        let y = self.apply(&z, None);
        if !y.requires_grad() {
            return z.zeros_like();
        }
        let grads = Tensor::run_backward(&[y.sum(y.kind())], &[&z], false, false);
        grads[0].detach()
    }
}

/// What an activation's closed-form derivative needs from the forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Saved {
    /// The activation's output `f(z)` (sigmoid, tanh, ReLU, identity).
    Output,
    /// The net input `z` (leaky ReLU).
    NetInput,
}

impl Activation {
    /// What [`Activation::backward`] needs kept from the forward pass, or `None` for an
    /// activation without a closed-form backward pass here (autograd trains those).
    pub(crate) fn backward_needs(&self) -> Option<Saved> {
        match self {
            Activation::Identity | Activation::Sigmoid | Activation::Tanh | Activation::Relu => Some(Saved::Output),
            Activation::LeakyRelu(_) => Some(Saved::NetInput),
            _ => None,
        }
    }

    /// `grad · f′(z)`, the gradient with respect to the net input, from the gradient with
    /// respect to the output and what [`Activation::backward_needs`] said to keep.
    pub(crate) fn backward(&self, grad: &Tensor, saved: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Activation::Identity => grad.shallow_clone(),
            Activation::Sigmoid => Tensor::f_sigmoid_backward(grad, saved)?,
            Activation::Tanh => Tensor::f_tanh_backward(grad, saved)?,
            Activation::Relu => saved.f_threshold_backward(grad, 0.0)?,
            Activation::LeakyRelu(slope) => saved.f_leaky_relu_backward(grad, slope, false)?,
            other => bail!("the activation {other} has no closed-form backward pass"),
        })
    }
}

/// libtorch's `sinc` is normalised; the lecture's is not.
trait SincExt {
    fn sinc_pi(&self) -> Tensor;
}

impl SincExt for Tensor {
    /// The unnormalised sinc `sin(z)/z` (libtorch's `sinc` is `sin(πz)/(πz)`).
    fn sinc_pi(&self) -> Tensor {
        (self / std::f64::consts::PI).sinc()
    }
}

impl std::str::FromStr for Activation {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Activation::parse(s)
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::LeakyRelu(p) | Activation::Elu(p) | Activation::Prelu(p) => write!(f, "{}:{p}", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed-form backward pass equals autograd's derivative for every activation
    /// that has one (the fused training step relies on it).
    #[test]
    fn closed_form_backward_equals_autograd() {
        // 60 points: none at 0, where ReLU-like functions have no derivative.
        let z = Tensor::linspace(-3.0, 3.0, 60, (tch::Kind::Float, tch::Device::Cpu));
        let grad = Tensor::linspace(0.5, 2.0, 60, (tch::Kind::Float, tch::Device::Cpu));
        let mut checked = 0;
        for a in Activation::ALL {
            let Some(needs) = a.backward_needs() else { continue };
            let saved = match needs {
                Saved::Output => a.apply(&z, None),
                Saved::NetInput => z.shallow_clone(),
            };
            let closed = a.backward(&grad, &saved).unwrap();
            let autograd = a.derivative(&z) * &grad;
            let gap = f64::try_from((closed - autograd).abs().max()).unwrap();
            assert!(gap < 1e-6, "{a}: closed-form backward differs from autograd by {gap}");
            checked += 1;
        }
        assert_eq!(checked, 5, "identity, sigmoid, tanh, ReLU and leaky ReLU have a closed-form backward");
        assert!(Activation::Gelu.backward(&grad, &z).is_err());
    }
}
