//! Training: losses, optimisers, the [`Trainer`], its [`History`], and checkpoints.

mod checkpoint;
mod ensemble;
mod fused;
mod gradients;
mod history;
mod loss;
mod optim;
mod trainer;

pub use checkpoint::{load_checkpoint, save_checkpoint};
pub use ensemble::{EnsembleLoss, EnsembleTrain};
pub use fused::fused_step_blocker;
pub use gradients::{LayerGradients, layer_gradients};
pub use history::{EpochRecord, History};
pub use loss::Loss;
pub use optim::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS, LrSchedule, OptimizerKind, ParameterState, step_parameter};
pub use trainer::{
    BatchTransform, DeadUnits, Evaluation, GradNorms, Hook, StepMethod, TrainConfig, Trainer, check_shapes,
    dead_fractions, evaluate,
};
