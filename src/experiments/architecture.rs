//! The MLP as a computation graph: autograd agrees with the slide's sum over paths;
//! an all-zero initialisation keeps hidden units identical; the loss is not convex: seeds
//! end at different losses, the straight line between two solutions (or between a
//! solution and its own hidden units reordered) rises above the chord, while softmax
//! regression on the same data, a convex problem, never does.

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{Presentation, Report, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Xor};
use crate::landscape::{Line, barrier, distance, parameters, permuted};
use crate::model::{Activation, Init, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{History, Loss, TrainConfig, Trainer};

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

/// The seed of the random point at which [`path_sum_check`] compares the two gradients.
pub const PATH_SEED: i64 = 123;

/// One model of the symmetry demonstration: a 2-8-2 sigmoid MLP trained on XOR from an
/// initialisation, with its first-layer weights after training.
pub struct SymmetryRun {
    /// `zeros` or `default`.
    pub name: String,
    /// The first layer's weights after training, one row per hidden unit.
    pub weights: Tensor,
    /// The largest difference between any hidden unit's weights and the first unit's.
    pub unit_spread: f64,
    /// Training accuracy after the last epoch, in percent.
    pub train_accuracy: f64,
}

/// Trains the symmetry demonstration's 2-8-2 sigmoid MLP on the lecture's XOR data with
/// every weight and bias initialised by `init` (`Init::Zeros`: all hidden units get the
/// same gradient and stay identical; `Init::Default`: the symmetry is broken).
///
/// ```no_run
/// use tchlab::experiments::architecture::{Config, symmetry};
/// let zeros = symmetry(&Config::lecture(), "zeros", tchlab::model::Init::Zeros)?;
/// assert!(zeros.unit_spread < 1e-6);
/// # anyhow::Ok(())
/// ```
pub fn symmetry(c: &Config, name: &str, init: Init) -> Result<SymmetryRun> {
    let xor = DataLoader::new(Xor::lecture().dataset(), 50)?.shuffle(1);
    let cfg = MlpConfig::new(2, &[8], 2).activation(Activation::Sigmoid).weight_init(init).bias_init(init);
    let mut m = Mlp::new(&cfg, 1)?;
    let h = Trainer::new(TrainConfig::sgd(0.5, c.zero_epochs).quiet()).fit(&mut m, &xor, None)?;
    let w = m.layers()[0].ws.detach().copy();
    let unit_spread = (&w - w.get(0).unsqueeze(0)).abs().max().double_value(&[]);
    let train_accuracy = 100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN);
    println!(
        "{name} init: after {} epochs, hidden units differ by at most {unit_spread:.3e}; train accuracy {train_accuracy:.1}%",
        c.zero_epochs
    );
    Ok(SymmetryRun { name: name.into(), weights: w, unit_spread, train_accuracy })
}

impl SymmetryRun {
    /// Each hidden unit's two input weights as one row of a heatmap (all-zero init: every
    /// row the same).
    pub fn figure(&self) -> Figure {
        let w = &self.weights;
        let units = w.size()[0];
        let values = (0..units).map(|u| (0..2).map(|i| w.double_value(&[u, i])).collect()).collect();
        let rows = (1..=units).map(|u| format!("unit {u}")).collect();
        let cols = vec!["from x₁".to_string(), "from x₂".to_string()];
        let title = format!("{} init: first-layer weights", self.name);
        Figure::heatmap(&title, values, rows, cols, "input", "hidden unit").size(420, 360)
    }
}

/// The MNIST images of the non-convexity demonstration (the first `train_size`), in
/// shuffled minibatches of 64.
pub fn mnist_train(c: &Config) -> Result<DataLoader> {
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    DataLoader::new(data.train, 64).map(|l| l.shuffle(1))
}

/// The non-convexity demonstration's 784-`hidden`-10 sigmoid MLP (no hidden layer:
/// softmax regression, whose cross-entropy loss is convex).
pub fn model(c: &Config, hidden: bool) -> MlpConfig {
    if hidden {
        MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid)
    } else {
        MlpConfig::new(784, &[], 10)
    }
}

/// One seed's run: the trained model and its history.
pub struct SeedRun {
    /// The seed (initial weights and shuffling).
    pub seed: u64,
    /// The trained model.
    pub model: Mlp,
    /// Its training loss per epoch.
    pub history: History,
}

/// Trains `config` from `seed` on `train` (SGD, learning rate 0.1, `epochs` epochs).
///
/// ```no_run
/// use tchlab::experiments::architecture::{Config, mnist_train, model, train_seed};
/// let c = Config::lecture();
/// let run = train_seed(&c, &model(&c, true), &mnist_train(&c)?, 1)?;
/// println!("{:?}", run.history.last_loss("train"));
/// # anyhow::Ok(())
/// ```
pub fn train_seed(c: &Config, config: &MlpConfig, train: &DataLoader, seed: u64) -> Result<SeedRun> {
    let mut model = Mlp::new(config, seed)?;
    let history = Trainer::new(TrainConfig::sgd(0.1, c.epochs).seed(seed).quiet()).fit(&mut model, train, None)?;
    Ok(SeedRun { seed, model, history })
}

impl SeedRun {
    /// The final training loss.
    pub fn final_loss(&self) -> f64 {
        self.history.last_loss("train").unwrap_or(f64::NAN)
    }
}

/// The training loss on the straight lines between solutions, and how far apart they are.
pub struct Lines {
    /// Softmax regression, seed 1 → seed 2: `(t, loss)`.
    pub softmax: Vec<(f64, f64)>,
    /// The MLP, seed 1 → seed 2.
    pub mlp: Vec<(f64, f64)>,
    /// The MLP, seed 1 → seed 1 with its hidden units in reverse order.
    pub permuted: Vec<(f64, f64)>,
    /// |loss(permuted) − loss(seed 1)|: the same function, so ~0.
    pub permuted_loss_change: f64,
    /// The distance the permutation moves the parameters.
    pub permuted_distance: f64,
    /// The distance between seed 1's and seed 2's MLP.
    pub seeds_distance: f64,
}

/// Points on each straight line between two solutions.
const LINE_POINTS: usize = 21;

/// Different final losses across seeds would also happen for a convex model that has
/// not converged. The proof of non-convexity is a bump: the training loss along the
/// straight line between two MLP solutions (`mlp_a`, `mlp_b`: seeds 1 and 2), and between
/// seed 1's solution and the same network with its hidden units reordered (the same
/// function, another point), rises above the chord; for softmax regression (convex, trained
/// here from seeds 1 and 2) it cannot.
pub fn straight_lines(c: &Config, train: &DataLoader, mlp_a: &Mlp, mlp_b: &Mlp) -> Result<Lines> {
    let eval = DataLoader::new(train.dataset().clone(), 1000)?;
    let (softmax, mlp) = (model(c, false), model(c, true));
    let (soft_a, soft_b) = (train_seed(c, &softmax, train, 1)?.model, train_seed(c, &softmax, train, 2)?.model);
    // Seed 1's MLP with its hidden units in reverse order: the same function.
    let reversed: Vec<i64> = (0..c.hidden).rev().collect();
    let mlp_a_permuted = permuted(mlp_a, 0, &reversed)?;
    let (mut soft_scratch, mut mlp_scratch) = (Mlp::new(&softmax, 0)?, Mlp::new(&mlp, 0)?);
    let ce = Loss::CrossEntropy;
    let curve = |label: &str, line: Line, scratch: &mut Mlp| -> Result<Vec<(f64, f64)>> {
        let curve = line.losses(scratch, LINE_POINTS, &eval, ce)?;
        let (first, last) = (curve[0].1, curve[LINE_POINTS - 1].1);
        println!("{label}: loss at the ends {first:.4} / {last:.4}, barrier {:.4}", barrier(&curve));
        Ok(curve)
    };
    let softmax = curve("softmax regression, seed 1 → seed 2", Line::between(&soft_a, &soft_b)?, &mut soft_scratch)?;
    let mlp = curve("MLP, seed 1 → seed 2", Line::between(mlp_a, mlp_b)?, &mut mlp_scratch)?;
    let permuted =
        curve("MLP, seed 1 → its hidden units reversed", Line::between(mlp_a, &mlp_a_permuted)?, &mut mlp_scratch)?;
    let lines = Lines {
        permuted_loss_change: (permuted[LINE_POINTS - 1].1 - permuted[0].1).abs(),
        permuted_distance: distance(&parameters(mlp_a), &parameters(&mlp_a_permuted)),
        seeds_distance: distance(&parameters(mlp_a), &parameters(mlp_b)),
        softmax,
        mlp,
        permuted,
    };
    println!(
        "hidden units reversed: the loss changes by {:.2e}, the parameters move {:.2} (seed 2's solution is {:.2} away)",
        lines.permuted_loss_change, lines.permuted_distance, lines.seeds_distance
    );
    Ok(lines)
}

impl Lines {
    /// The three curves in one chart.
    pub fn figure(&self) -> Figure {
        let series = vec![
            Series::line("softmax regression, seed 1 → seed 2", self.softmax.clone()),
            Series::line("MLP, seed 1 → seed 2", self.mlp.clone()),
            Series::line("MLP, seed 1 → seed 1 with hidden units reversed", self.permuted.clone()),
        ];
        Figure::lines("Training loss on the straight line between two solutions", "t", "training loss", series)
    }
}

/// The training-loss curves of several seeds in one chart.
pub fn seeds_figure(runs: &[SeedRun]) -> Figure {
    let curves = runs.iter().map(|r| Series::line(&format!("seed {}", r.seed), r.history.curve("train", "loss")));
    Figure::lines("Same model, different seeds", "epoch", "training loss", curves.collect())
}

/// One initialisation's outcome, named after its field: `zeros_init_unit_spread`,
/// `zeros_init_train_accuracy`, … .
#[derive(Clone, Debug, PartialEq)]
pub struct InitOutcome {
    /// The largest difference between any hidden unit's weights and the first unit's.
    pub unit_spread: f64,
    /// Training accuracy after the last epoch (%).
    pub train_accuracy: f64,
}

impl super::MetricValue for InitOutcome {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_unit_spread"), self.unit_spread));
        out.push((format!("{field}_train_accuracy"), self.train_accuracy));
    }
}

/// One seed's final training loss, named `seed1_final_loss`, … .
#[derive(Clone, Debug, PartialEq)]
pub struct SeedLoss {
    /// The seed.
    pub seed: u64,
    /// Its final training loss.
    pub final_loss: f64,
}

impl super::MetricValue for SeedLoss {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("seed{}_final_loss", self.seed), self.final_loss));
    }
}

crate::results! {
    /// The three claims in numbers: autograd is the sum over paths, all-zero weights keep
    /// the hidden units identical, and the MLP's loss is not convex.
    pub struct Results {
        /// dl/dw1_11 by autograd.
        grad_autograd: f64,
        /// The same as the slide's sum over paths.
        grad_path_sum: f64,
        /// |autograd − sum over paths|.
        grad_abs_difference: f64,
        /// The symmetry demonstration from all-zero weights.
        zeros_init: InitOutcome,
        /// … and from the default (random) initialisation.
        default_init: InitOutcome,
        /// Each seed's final training loss.
        seeds: Vec<SeedLoss>,
        /// Highest − lowest final loss over the seeds.
        final_loss_spread: f64,
        /// Softmax regression, seed 1 → 2: the loss's largest rise above the chord.
        softmax_line_barrier: f64,
        /// The MLP, seed 1 → 2.
        mlp_line_barrier: f64,
        /// |loss(hidden units reversed) − loss(seed 1)|.
        permuted_loss_change: f64,
        /// The distance the permutation moves the parameters.
        permuted_distance: f64,
        /// The distance between seed 1's and seed 2's MLP.
        seeds_distance: f64,
        /// The MLP, seed 1 → seed 1 with its hidden units reversed.
        permuted_line_barrier: f64,
    }
}

/// The numbers of every step.
///
/// ```no_run
/// use tchlab::experiments::architecture::*;
/// let c = Config::ci();
/// let zeros = symmetry(&c, "zeros", tchlab::model::Init::Zeros)?;
/// let default = symmetry(&c, "default", tchlab::model::Init::Default)?;
/// let train = mnist_train(&c)?;
/// let seeds: Vec<SeedRun> = (1..=2).map(|s| train_seed(&c, &model(&c, true), &train, s)).collect::<anyhow::Result<_>>()?;
/// let lines = straight_lines(&c, &train, &seeds[0].model, &seeds[1].model)?;
/// let r = results(path_sum_check(PATH_SEED), &zeros, &default, &seeds, &lines);
/// assert!(r.grad_abs_difference < 1e-9);
/// # anyhow::Ok(())
/// ```
pub fn results(
    gradient: (f64, f64),
    zeros: &SymmetryRun,
    default: &SymmetryRun,
    seeds: &[SeedRun],
    lines: &Lines,
) -> Results {
    let (auto, paths) = gradient;
    let seeds: Vec<SeedLoss> = seeds.iter().map(|r| SeedLoss { seed: r.seed, final_loss: r.final_loss() }).collect();
    let (lo, hi) = seeds.iter().fold((f64::MAX, f64::MIN), |(a, b), s| (a.min(s.final_loss), b.max(s.final_loss)));
    Results {
        grad_autograd: auto,
        grad_path_sum: paths,
        grad_abs_difference: (auto - paths).abs(),
        zeros_init: InitOutcome { unit_spread: zeros.unit_spread, train_accuracy: zeros.train_accuracy },
        default_init: InitOutcome { unit_spread: default.unit_spread, train_accuracy: default.train_accuracy },
        seeds,
        final_loss_spread: hi - lo,
        softmax_line_barrier: barrier(&lines.softmax),
        mlp_line_barrier: barrier(&lines.mlp),
        permuted_loss_change: lines.permuted_loss_change,
        permuted_distance: lines.permuted_distance,
        seeds_distance: lines.seeds_distance,
        permuted_line_barrier: barrier(&lines.permuted),
    }
}

/// Every figure, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::architecture::*;
/// let c = Config::ci();
/// let zeros = symmetry(&c, "zeros", tchlab::model::Init::Zeros)?;
/// let train = mnist_train(&c)?;
/// let seeds: Vec<SeedRun> = (1..=2).map(|s| train_seed(&c, &model(&c, true), &train, s)).collect::<anyhow::Result<_>>()?;
/// let lines = straight_lines(&c, &train, &seeds[0].model, &seeds[1].model)?;
/// assert_eq!(present(&[zeros], &seeds, &lines).figure_names(), vec!["zero_init", "seeds", "straight_lines"]);
/// # anyhow::Ok(())
/// ```
pub fn present(symmetry: &[SymmetryRun], seeds: &[SeedRun], lines: &Lines) -> Presentation {
    Presentation::default()
        .figure("zero_init", Figure::row(symmetry.iter().map(SymmetryRun::figure).collect()))
        .figure("seeds", seeds_figure(seeds))
        .figure("straight_lines", lines.figure())
}

/// Runs the three demonstrations: the steps above, in order.
pub fn run(c: &Config) -> Result<Report> {
    ensure!(c.seeds >= 2, "seeds={} but the straight line between two solutions needs at least 2", c.seeds);
    let clock = Instant::now();
    let gradient = path_sum_check(PATH_SEED);
    println!("dl/dw1_11: autograd {:.12}, sum over paths {:.12}", gradient.0, gradient.1);
    let symmetry = vec![symmetry(c, "zeros", Init::Zeros)?, symmetry(c, "default", Init::Default)?];
    let train = mnist_train(c)?;
    let mut seeds = Vec::new();
    for seed in 1..=c.seeds {
        let run = train_seed(c, &model(c, true), &train, seed)?;
        println!("seed {seed}: final training loss {:.5}", run.final_loss());
        seeds.push(run);
    }
    let lines = straight_lines(c, &train, &seeds[0].model, &seeds[1].model)?;
    let results = results(gradient, &symmetry[0], &symmetry[1], &seeds, &lines);
    Ok(c.report(&results, present(&symmetry, &seeds, &lines), clock))
}
