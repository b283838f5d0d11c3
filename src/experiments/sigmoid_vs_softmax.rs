//! Sigmoid + MSE vs softmax + cross-entropy on MNIST, and why MSE's gradient is flat
//! when a sigmoid output is very wrong.

use std::time::Instant;

use anyhow::Result;
use tch::Tensor;

use super::{Report, mnist_splits, train_mlp};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{Loss, TrainConfig};

super::settings! {
    /// Settings: the lecture's 784-100-10 sigmoid MLP, N(0, 0.1) weights, zero biases,
    /// SGD 0.1, batch 100, 100 epochs, seed 1, pixels in [0, 1].
    ///
    /// ```
    /// let c = tchlab::experiments::sigmoid_vs_softmax::Config::lecture();
    /// assert_eq!((c.hidden, c.batch, c.epochs), (100, 100, 100));
    /// ```
    "sigmoid-vs-softmax",
    pub struct Config {
        /// Hidden units.
        hidden: i64 = 100,
        /// Standard deviation of the N(0, std) weight init.
        init_std: f64 = 0.1,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 100,
        /// Epochs.
        epochs: usize = 100,
        /// Seed (init and shuffling).
        seed: u64 = 1,
        /// Training images used (0: all 60,000).
        train_size: usize = 0,
        /// Device: cpu, cuda or auto.
        device: String = "cpu".into(),
    }
}

impl Config {
    /// The full lecture run fits in CI (about 1 s per epoch and model on 2 cores).
    pub fn ci() -> Self {
        Self::lecture()
    }
}

/// Gradient of each loss with respect to the true class's logit when the model
/// gives that class probability `p` (the other nine logits 0).
///
/// ```
/// let (mse, ce) = tchlab::experiments::sigmoid_vs_softmax::gradient_at(1e-5);
/// assert!(mse.abs() < 1e-5 && ce.abs() > 0.9);
/// ```
pub fn gradient_at(p: f64) -> (f64, f64) {
    let target = Tensor::from_slice(&[0i64]);
    let mut out = [0.0; 2];
    for (k, loss) in [Loss::SigmoidMse, Loss::CrossEntropy].iter().enumerate() {
        // The true-class logit that gives probability p under the loss's output unit.
        let z0 = match loss {
            Loss::SigmoidMse => (p / (1.0 - p)).ln(),
            _ => (9.0 * p / (1.0 - p)).ln(),
        };
        let mut values = vec![0f32; 10];
        values[0] = z0 as f32;
        let logits = Tensor::from_slice(&values).reshape([1, 10]).set_requires_grad(true);
        let l = loss.compute(&logits, &target).expect("valid shapes");
        let g = Tensor::run_backward(&[l], &[&logits], false, false);
        out[k] = g[0].double_value(&[0, 0]);
    }
    (out[0], out[1])
}

/// Trains both models and reports the lecture's numbers.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("sigmoid-vs-softmax");
    report.settings = c.to_params().entries();
    let device = crate::env::device(&c.device)?;
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let train = DataLoader::new(data.train, c.batch)?.shuffle(c.seed).device(device);
    let test = DataLoader::new(data.test, 1000)?.device(device);
    let model = MlpConfig::new(784, &[c.hidden], 10)
        .activation(Activation::Sigmoid)
        .weight_init(Init::Normal { mean: 0.0, std: c.init_std })
        .bias_init(Init::Zeros);
    let mut rows = Vec::new();
    for (name, loss) in [("mse", Loss::SigmoidMse), ("ce", Loss::CrossEntropy)] {
        println!("== {} ==", if loss == Loss::SigmoidMse { "sigmoid + MSE" } else { "softmax + cross-entropy" });
        let tc = TrainConfig::sgd(c.lr, c.epochs).loss(loss).seed(c.seed);
        let (_, history, test_acc) = train_mlp(&model, c.seed, &train, None, &test, tc)?;
        let train_acc = 100.0 * history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN);
        report.metric(&format!("{name}_first_minibatch_cost"), history.minibatch_loss[0]);
        let mut costs = Vec::new();
        for e in [1, 10, 50, 100] {
            if let Some(r) = history.at("train", e) {
                report.metric(&format!("{name}_train_cost_epoch{e}"), r.loss);
                costs.push(format!("{:.4}", r.loss));
            }
        }
        report.metric(&format!("{name}_train_accuracy"), train_acc);
        report.metric(&format!("{name}_test_accuracy"), test_acc);
        rows.push(vec![
            if loss == Loss::SigmoidMse { "sigmoid + MSE".to_string() } else { "softmax + CE".to_string() },
            format!("{:.4}", history.minibatch_loss[0]),
            costs.join(" / "),
            format!("{train_acc:.2}"),
            format!("{test_acc:.2}"),
        ]);
        report.histories.push((name.to_string(), history));
    }
    report.tables.push((
        "summary".into(),
        Table::from_rows(
            &["model", "first minibatch cost", "train cost (epochs 1/10/50/100)", "train acc (%)", "test acc (%)"],
            rows,
        ),
    ));
    // The flat-gradient problem.
    // p from 1e-5 to 10^-0.5 (at p = 1 both gradients are 0, which a log axis cannot show).
    let ps: Vec<f64> = (0..10).map(|k| 10f64.powf(-5.0 + 0.5 * k as f64)).collect();
    let grads: Vec<(f64, f64, f64)> = ps.iter().map(|&p| (p, gradient_at(p).0, gradient_at(p).1)).collect();
    let (mse_g, ce_g) = gradient_at(1e-5);
    report.metric("grad_true_logit_mse_p1e-5", mse_g);
    report.metric("grad_true_logit_ce_p1e-5", ce_g);
    let h = |n: &str| report.history(n).cloned().unwrap_or_default();
    let (mse_h, ce_h) = (h("mse"), h("ce"));
    let grad_fig = Figure::lines(
        "|∂loss/∂z_true| when the true class gets probability p (both axes log10)",
        "log10 p",
        "log10 |gradient|",
        vec![
            Series::line("sigmoid + MSE", grads.iter().map(|g| (g.0.log10(), g.1.abs().log10())).collect()),
            Series::line("softmax + CE", grads.iter().map(|g| (g.0.log10(), g.2.abs().log10())).collect()),
        ],
    );
    report.figures.push((
        "loss_curves".into(),
        Figure::curves("Training loss per epoch", &[("sigmoid+MSE", &mse_h), ("softmax+CE", &ce_h)], "loss"),
    ));
    report.figures.push((
        "accuracy_curves".into(),
        Figure::curves("Training accuracy per epoch", &[("sigmoid+MSE", &mse_h), ("softmax+CE", &ce_h)], "accuracy"),
    ));
    report.figures.push(("flat_gradient".into(), grad_fig));
    report.figures.push(("minibatch_loss_ce".into(), Figure::minibatch_loss(&ce_h, 100)));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
