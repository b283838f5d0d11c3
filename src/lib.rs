//! # tchlab
//!
//! Re-run the experiments of a lecture on multilayer perceptrons (STAT 453, lecture 9)
//! in Rust on [tch](https://docs.rs/tch) (libtorch): in Jupyter on the evcxr kernel
//! with plots inline, and from ordinary scripts through the `tchlab` command line.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! data (Dataset, DataLoader) -> model (Mlp, Cnn) -> train (Trainer, History)
//!      (attack: adversarial examples against a model, adversarial training)
//!      -> metrics (Interpretation) -> plot (Figure) -> display (inline) | files
//! ```
//!
//! ```no_run
//! use tchlab::prelude::*;
//! # fn main() -> anyhow::Result<()> {
//! let data = tchlab::data::Xor::lecture().dataset();
//! let loader = DataLoader::new(data, 750)?;
//! let mut model = Mlp::new(&MlpConfig::new(2, &[50], 2).activation(Activation::Relu), 123)?;
//! let history = Trainer::new(TrainConfig::sgd(0.1, 25)).fit(&mut model, &loader, None)?;
//! println!("{}", history.last_loss("train").unwrap());
//! # Ok(()) }
//! ```

pub mod attack;
pub mod data;
pub mod display;
pub mod doctor;
pub mod env;
pub mod experiments;
pub mod landscape;
pub mod metrics;
pub mod model;
pub mod output;
pub mod plot;
pub(crate) mod rng;
pub mod threads;
pub mod train;

pub use doctor::doctor;
/// The tch crate tchlab is built on, for models and code of your own (`tch::nn` in a
/// notebook, whose only dependency is tchlab).
///
/// ```
/// use tchlab::tch::nn::Module;
/// let vs = tchlab::tch::nn::VarStore::new(tchlab::tch::Device::Cpu);
/// let layer = tchlab::tch::nn::linear(vs.root(), 3, 2, Default::default());
/// assert_eq!(layer.forward(&tchlab::tch::Tensor::zeros([4, 3], tchlab::tch::kind::FLOAT_CPU)).size(), [4, 2]);
/// ```
pub use tch;

/// Everything a notebook needs, in one `use tchlab::prelude::*;`.
///
/// ```
/// use tchlab::prelude::*;
/// let config = MlpConfig::new(784, &[100], 10).activation(Activation::Sigmoid);
/// assert_eq!(config.hidden, vec![100]);
/// ```
pub mod prelude {
    pub use crate::attack::{AdversarialInputs, Attack, evaluate_under_attack};
    #[cfg(feature = "polars")]
    pub use crate::data::CsvImageDataset;
    pub use crate::data::{
        DataLoader, Dataset, ImageFolder, Mnist, MnistKind, Scaling, Subset, TensorDataset, Transform, Transforms, Xor,
    };
    pub use crate::display::{Table, show};
    pub use crate::doctor::doctor;
    pub use crate::env::Settings;
    pub use crate::experiments::{Metrics, Report};
    pub use crate::metrics::{Interpretation, Predictions};
    pub use crate::model::{Activation, Cnn, CnnConfig, Init, Mlp, MlpConfig, Network};
    pub use crate::plot::{Figure, Scale, Series};
    pub use crate::train::{
        History, LayerGradients, Loss, LrSchedule, OptimizerKind, TrainConfig, Trainer, evaluate, layer_gradients,
    };
    pub use anyhow::{Context, Result, bail};
    pub use tch::{self, Device, Kind, Tensor};
}
