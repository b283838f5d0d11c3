//! The MLP as a computation graph: autograd agrees with the slide's sum over paths;
//! an all-zero initialisation keeps hidden units identical; the loss is not convex: seeds
//! end at different losses, the straight line between two solutions (or between a
//! solution and its own hidden units reordered) rises above the chord, while softmax
//! regression on the same data, a convex problem, never does.

use std::time::Instant;

use anyhow::Result;
use tch::{Kind, Tensor};

use super::{Report, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Xor};
use crate::landscape::{Line, barrier, distance, parameters, permute_hidden_units};
use crate::model::{Activation, Init, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{Loss, TrainConfig, Trainer};

super::settings! {
    /// Settings of the three demonstrations.
    ///
    /// ```
    /// let c = tchlab::experiments::architecture::Config::lecture();
    /// assert_eq!(c.seeds, 5);
    /// ```
    "architecture",
    pub struct Config {
        /// Seeds of the non-convexity demonstration.
        seeds: u64 = 5,
        /// MNIST training images of the non-convexity demonstration.
        train_size: usize = 5000,
        /// Hidden units of the non-convexity demonstration.
        hidden: i64 = 32,
        /// Epochs of the non-convexity demonstration.
        epochs: usize = 20,
        /// Epochs of the zero-init demonstration (on XOR).
        zero_epochs: usize = 50,
    }
}

impl Config {
    /// CI: as the lecture setting (under a minute).
    pub fn ci() -> Self {
        Self::lecture()
    }
}

/// The slide's network (2 inputs, two hidden layers of 2 sigmoid units, a sigmoid
/// output, binary cross-entropy): returns `(autograd, sum over the two paths)` of
/// ∂l/∂w¹₁,₁ at a random point.
///
/// ```
/// let (auto, paths) = tchlab::experiments::architecture::path_sum_check(3);
/// assert!((auto - paths).abs() < 1e-12);
/// ```
pub fn path_sum_check(seed: i64) -> (f64, f64) {
    tch::manual_seed(seed);
    let opts = (Kind::Double, tch::Device::Cpu);
    let x = Tensor::randn([2], opts);
    let y = 1.0;
    let w1 = Tensor::randn([2, 2], opts).set_requires_grad(true);
    let w2 = Tensor::randn([2, 2], opts);
    let w3 = Tensor::randn([2], opts);
    let a1 = w1.mv(&x).sigmoid();
    let a2 = w2.mv(&a1).sigmoid();
    let o = w3.dot(&a2).sigmoid();
    let l: Tensor = -(o.log() * y + (o.ones_like() - &o).log() * (1.0 - y));
    let g = Tensor::run_backward(&[&l], &[&w1], false, false);
    let auto = g[0].double_value(&[0, 0]);
    // The slide: dl/do · do/da2_k · da2_k/da1_1 · da1_1/dw1_11, summed over k = 1, 2.
    let v = |t: &Tensor, i: &[i64]| t.double_value(i);
    let (o, a1, a2) = (o.double_value(&[]), a1.detach(), a2.detach());
    let dl_do = -(y / o) + (1.0 - y) / (1.0 - o);
    let mut paths = 0.0;
    for k in 0..2 {
        let do_da2 = o * (1.0 - o) * v(&w3, &[k]);
        let da2_da1 = v(&a2, &[k]) * (1.0 - v(&a2, &[k])) * v(&w2, &[k, 0]);
        let da1_dw = v(&a1, &[0]) * (1.0 - v(&a1, &[0])) * v(&x, &[0]);
        paths += dl_do * do_da2 * da2_da1 * da1_dw;
    }
    (auto, paths)
}

/// Runs the three demonstrations.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("architecture");
    report.settings = c.to_params().entries();
    let (auto, paths) = path_sum_check(123);
    println!("dl/dw1_11: autograd {auto:.12}, sum over paths {paths:.12}");
    report.metric("grad_autograd", auto);
    report.metric("grad_path_sum", paths);
    report.metric("grad_abs_difference", (auto - paths).abs());

    // All-zero init: the hidden units receive identical updates and stay identical.
    let xor = DataLoader::new(Xor::lecture().dataset(), 50)?.shuffle(1);
    let mut spreads = Vec::new();
    for (name, init) in [("zeros", Init::Zeros), ("default", Init::Default)] {
        let cfg = MlpConfig::new(2, &[8], 2).activation(Activation::Sigmoid).weight_init(init).bias_init(init);
        let mut m = Mlp::new(&cfg, 1)?;
        let h = Trainer::new(TrainConfig::sgd(0.5, c.zero_epochs).quiet()).fit(&mut m, &xor, None)?;
        let w = &m.layers()[0].ws;
        // Largest difference between any hidden unit's weights and the first unit's.
        let spread = (w - w.get(0).unsqueeze(0)).abs().max().double_value(&[]);
        println!(
            "{name} init: after {} epochs, hidden units differ by at most {spread:.3e}; train accuracy {:.1}%",
            c.zero_epochs,
            100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(0.0)
        );
        report.metric(&format!("{name}_init_unit_spread"), spread);
        report.metric(
            &format!("{name}_init_train_accuracy"),
            100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN),
        );
        spreads.push((name, w.shallow_clone()));
    }
    let rows: Vec<Figure> = spreads
        .iter()
        .map(|(name, w)| {
            let series = (0..w.size()[0])
                .map(|u| {
                    Series::line("", vec![(0.0, w.double_value(&[u, 0])), (1.0, w.double_value(&[u, 1]))])
                        .color(u as usize)
                })
                .collect();
            Figure::lines(&format!("{name} init: first-layer weights per hidden unit"), "input", "weight", series)
                .size(420, 300)
        })
        .collect();
    report.figures.push(("zero_init".into(), Figure::row(rows)));

    // Non-convex: the same model and data from several seeds.
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let train = DataLoader::new(data.train, 64)?.shuffle(1);
    let mut curves = Vec::new();
    let mut finals = Vec::new();
    let mut trained = Vec::new();
    for seed in 1..=c.seeds {
        let mut m = Mlp::new(&MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid), seed)?;
        let h = Trainer::new(TrainConfig::sgd(0.1, c.epochs).seed(seed).quiet()).fit(&mut m, &train, None)?;
        let last = h.last_loss("train").unwrap_or(f64::NAN);
        println!("seed {seed}: final training loss {last:.5}");
        finals.push(last);
        report.metric(&format!("seed{seed}_final_loss"), last);
        curves.push(Series::line(&format!("seed {seed}"), h.curve("train", "loss")));
        trained.push(m);
    }
    let (lo, hi) = finals.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    report.metric("final_loss_spread", hi - lo);
    report
        .figures
        .push(("seeds".into(), Figure::lines("Same model, different seeds", "epoch", "training loss", curves)));
    straight_lines(c, &train, trained, &mut report)?;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

/// Points on each straight line between two solutions.
const LINE_POINTS: usize = 21;

/// Different final losses across seeds would also happen for a convex model that has
/// not converged. The proof of non-convexity is a bump: the training loss along the
/// straight line between two MLP solutions (seeds 1 and 2), and between seed 1's
/// solution and the same network with its hidden units reordered (the same function,
/// another point), rises above the chord; for softmax regression (convex) it cannot.
/// `seed_models` are the MLPs trained above from seeds 1, 2, …; the first two are reused.
fn straight_lines(c: &Config, train: &DataLoader, seed_models: Vec<Mlp>, report: &mut Report) -> Result<()> {
    let eval = DataLoader::new(train.dataset().clone(), 1000)?;
    let fit = |config: &MlpConfig, seed: u64| -> Result<Mlp> {
        let mut m = Mlp::new(config, seed)?;
        Trainer::new(TrainConfig::sgd(0.1, c.epochs).seed(seed).quiet()).fit(&mut m, train, None)?;
        Ok(m)
    };
    let softmax = MlpConfig::new(784, &[], 10);
    let mlp = MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid);
    let (soft_a, soft_b) = (fit(&softmax, 1)?, fit(&softmax, 2)?);
    let mut seed_models = seed_models.into_iter();
    let mlp_a = match seed_models.next() {
        Some(m) => m,
        None => fit(&mlp, 1)?,
    };
    let mlp_b = match seed_models.next() {
        Some(m) => m,
        None => fit(&mlp, 2)?,
    };
    // Seed 1's MLP with its hidden units in reverse order: the same function.
    let mut mlp_a_permuted = Mlp::new(&mlp, 0)?;
    crate::landscape::set_parameters(&mut mlp_a_permuted, &parameters(&mlp_a))?;
    let reversed: Vec<i64> = (0..c.hidden).rev().collect();
    permute_hidden_units(&mut mlp_a_permuted, 0, &reversed)?;
    let mut soft_scratch = Mlp::new(&softmax, 0)?;
    let mut mlp_scratch = Mlp::new(&mlp, 0)?;
    let ce = Loss::CrossEntropy;
    let lines = [
        ("softmax", "softmax regression, seed 1 → seed 2", Line::between(&soft_a, &soft_b)?, &mut soft_scratch),
        ("mlp", "MLP, seed 1 → seed 2", Line::between(&mlp_a, &mlp_b)?, &mut mlp_scratch),
    ];
    let mut series = Vec::new();
    for (key, label, line, scratch) in lines {
        let curve = line.losses(scratch, LINE_POINTS, &eval, ce)?;
        println!(
            "{label}: loss at the ends {:.4} / {:.4}, barrier {:.4}",
            curve[0].1,
            curve[LINE_POINTS - 1].1,
            barrier(&curve)
        );
        report.metric(&format!("{key}_line_barrier"), barrier(&curve));
        series.push(Series::line(label, curve));
    }
    let permuted = Line::between(&mlp_a, &mlp_a_permuted)?.losses(&mut mlp_scratch, LINE_POINTS, &eval, ce)?;
    let loss_change = (permuted[LINE_POINTS - 1].1 - permuted[0].1).abs();
    let moved = distance(&parameters(&mlp_a), &parameters(&mlp_a_permuted));
    let apart = distance(&parameters(&mlp_a), &parameters(&mlp_b));
    println!(
        "seed 1's MLP, hidden units reversed: loss changes by {loss_change:.2e}, the parameters move {moved:.2} \
         (seed 2's solution is {apart:.2} away); barrier on the line between them {:.4}",
        barrier(&permuted)
    );
    report.metric("permuted_loss_change", loss_change);
    report.metric("permuted_distance", moved);
    report.metric("seeds_distance", apart);
    report.metric("permuted_line_barrier", barrier(&permuted));
    series.push(Series::line("MLP, seed 1 → seed 1 with hidden units reversed", permuted));
    report.figures.push((
        "straight_lines".into(),
        Figure::lines("Training loss on the straight line between two solutions", "t", "training loss", series),
    ));
    Ok(())
}
