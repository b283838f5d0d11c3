//! Training: losses, optimisers, the [`Trainer`], its [`History`], and checkpoints.

mod checkpoint;
mod config;
mod ensemble;
mod evaluate;
mod fused;
mod gradients;
mod history;
mod hooks;
mod loss;
mod optim;
mod progress;
mod trainer;

pub use checkpoint::{load_checkpoint, save_checkpoint};
pub use config::TrainConfig;
pub use ensemble::{EnsembleLoss, EnsembleTrain};
pub use evaluate::{Evaluation, check_shapes, evaluate};
pub use fused::fused_step_blocker;
pub use gradients::{LayerGradients, layer_gradients};
pub use history::{EpochRecord, History};
pub use hooks::{BatchTransform, DeadUnits, GradNorms, Hook, dead_fractions};
pub use loss::Loss;
pub use optim::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS, LrSchedule, OptimizerKind, ParameterState, step_parameter};
pub use trainer::{StepMethod, Trainer};
