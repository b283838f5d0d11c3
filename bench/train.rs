//! Training-loop benchmark (tchlab side): seconds per epoch of the lecture's MNIST MLPs
//! under plain SGD, SGD with momentum 0.9 and Adam, data in memory, same settings as
//! `bench/train.py`. Prints one JSON line per model and optimiser.
//!
//! `cargo run --release --example bench_train -- THREADS [loaded]`: THREADS is a count or
//! `auto` (the default: one per core, fewer while other processes keep cores busy, see
//! `tchlab::threads`); `loaded` (run beside a competing busy process) times only the
//! trainer's default path under plain SGD.
use std::time::Instant;

use tchlab::prelude::*;

fn main() -> anyhow::Result<()> {
    let threads = std::env::args().nth(1).unwrap_or_else(|| "2".into());
    let loaded = std::env::args().any(|a| a == "loaded");
    if threads != "auto" {
        tchlab::env::set_threads(Some(threads.parse()?))?;
    }
    let mnist = Mnist::load(MnistKind::Digits)?;
    // Same data in memory as the twin: float pixels in [0, 1].
    let x = mnist.train(Scaling::Unit).scaled_inputs().reshape([60000, 784]);
    let train = TensorDataset::new(x, mnist.train_labels.shallow_clone(), Scaling::None)?;
    let loader = DataLoader::new(train, 100)?.shuffle(1);
    // Matrix-multiply peak of this machine with these threads: the best of 10 products.
    let a = Tensor::randn([2048, 2048], tch::kind::FLOAT_CPU);
    let _ = a.matmul(&a);
    let best = (0..10)
        .map(|_| {
            let t = Instant::now();
            let _ = a.matmul(&a);
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    let peak = 2.0 * 2048f64.powi(3) / best;
    let optimisers = [
        ("sgd", OptimizerKind::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 }),
        ("momentum", OptimizerKind::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 }),
        ("adam", OptimizerKind::Adam { lr: 0.001, weight_decay: 0.0 }),
    ];
    for (name, hidden, act) in [
        ("784-100-10 sigmoid", vec![100], Activation::Sigmoid),
        ("784-256-256-10 relu", vec![256, 256], Activation::Relu),
    ] {
        let cfg = MlpConfig::new(784, &hidden, 10).activation(act);
        // Multiply-adds per example: forward 1×, backward 2× (input gradients skipped for layer 1).
        let mut sizes = vec![784i64];
        sizes.extend(&hidden);
        sizes.push(10);
        let macs: i64 = sizes.windows(2).map(|w| w[0] * w[1]).sum();
        let flops = 60000.0 * 2.0 * (3 * macs - 784 * sizes[1]) as f64;
        let gemm_seconds = if loaded { f64::NAN } else { gemm_only_epoch(&sizes) };
        for (optimiser, kind) in optimisers.iter().take(if loaded { 1 } else { 3 }) {
            // The trainer as it runs by default (the fused step for this plain MLP), then
            // forced onto autograd and the tch optimiser.
            let (seconds, history) = seconds_per_epoch(&cfg, *kind, &loader, true)?;
            let (autograd_seconds, autograd_history) = match loaded {
                true => (f64::NAN, History::default()),
                false => seconds_per_epoch(&cfg, *kind, &loader, false)?,
            };
            println!(
                "{{\"impl\":\"tchlab\",\"model\":\"{name}\",\"optimiser\":\"{optimiser}\",\"loaded\":{loaded},\"threads\":\"{threads}\",\"step\":\"{}\",\"seconds_per_epoch\":{seconds:.4},\"gflop_per_epoch\":{:.2},\"matmul_peak_gflops\":{:.1},\"gemm_only_seconds\":{gemm_seconds:.4},\"autograd_seconds_per_epoch\":{autograd_seconds:.4},\"peak_rss_mb\":{:.0},\"last_epoch_loss\":{:.4},\"autograd_last_epoch_loss\":{:.4}}}",
                history.step,
                flops / 1e9,
                peak / 1e9,
                peak_rss_mb(),
                history.last("train").map(|r| r.loss).unwrap_or(f64::NAN),
                autograd_history.last("train").map(|r| r.loss).unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}

/// The fastest of epochs 2-4 (the first one warms up; this machine is noisy) of the
/// trainer on a fresh model, with or without the fused step, and the history.
fn seconds_per_epoch(
    cfg: &MlpConfig,
    optimiser: OptimizerKind,
    loader: &DataLoader,
    fused: bool,
) -> anyhow::Result<(f64, History)> {
    let mut model = Mlp::new(cfg, 1)?;
    // One run of 4 epochs (the optimiser keeps its state throughout), timed per epoch.
    let times = std::rc::Rc::new(std::cell::RefCell::new(vec![Instant::now()]));
    let tc = TrainConfig::sgd(0.1, 4).optimizer(optimiser).quiet();
    // The same work as the twin: no accuracy, one loss value read per step.
    let tc = tc.eval_train(false).minibatch_accuracy(false).fused_step(fused);
    let history = Trainer::new(tc).hook(EpochClock(times.clone())).fit(&mut model, loader, None)?;
    let t = times.borrow();
    let seconds = t.windows(2).skip(1).map(|w| (w[1] - w[0]).as_secs_f64()).fold(f64::MAX, f64::min);
    Ok((seconds, history))
}

/// Records the time at the end of each epoch.
struct EpochClock(std::rc::Rc<std::cell::RefCell<Vec<Instant>>>);

impl tchlab::train::Hook for EpochClock {
    fn end_of_epoch(&mut self, _: &dyn Network, _: usize, _: &mut History) -> anyhow::Result<()> {
        self.0.borrow_mut().push(Instant::now());
        Ok(())
    }
    fn needs_gradients(&self) -> bool {
        false
    }
}

/// Seconds per epoch of the model's matrix products alone, with its exact shapes (600
/// steps of 100 rows: forward `x·Wᵀ + b`, weight gradient `gᵀ·x`, input gradient `g·W`
/// except for the first layer): the limit the training loop could reach if everything
/// else (activations, loss, optimiser, dispatch) cost nothing. Fastest of 3 runs.
fn gemm_only_epoch(sizes: &[i64]) -> f64 {
    let opts = tch::kind::FLOAT_CPU;
    let layers: Vec<_> = sizes
        .windows(2)
        .map(|w| {
            let (x, wt, b, g) = (
                Tensor::rand([100, w[0]], opts),
                Tensor::rand([w[1], w[0]], opts),
                Tensor::rand([w[1]], opts),
                Tensor::rand([100, w[1]], opts),
            );
            (x, wt, b, g)
        })
        .collect();
    let _guard = tch::no_grad_guard();
    (0..3)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..600 {
                for (k, (x, w, b, g)) in layers.iter().enumerate() {
                    let _ = b.addmm(x, &w.tr());
                    let _ = g.tr().mm(x);
                    if k > 0 {
                        let _ = g.mm(w);
                    }
                }
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
        / 1024.0
}
