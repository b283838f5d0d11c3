//! Validation optimism: a random search over settings, the winner chosen on a small
//! validation set. The winner's validation accuracy is a biased estimate of its
//! accuracy on new data (it won partly by luck on those few images); its test accuracy,
//! measured once, is not. Repeated over many draws of the validation set and of the
//! searched settings.

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling, Subset};
use crate::display::Table;
use crate::model::{Activation, MlpConfig, Network};
use crate::plot::{Figure, Series, Style};
use crate::rng::{Rng, mix};
use crate::train::TrainConfig;

super::settings! {
    /// Settings: a pool of 40 random one-hidden-layer ReLU MLPs (width 8–512 and
    /// learning rate 0.005–0.5 log-uniform, 2–12 epochs, SGD batch 64) trained on the
    /// first 2,000 MNIST training images. 1,000 draws, each a random search over 10
    /// settings of the pool, selected on 100 validation images drawn at random from the
    /// 10,000 held-out (test-set) images; the winner's accuracy on the other 9,900.
    ///
    /// ```
    /// let c = tchlab::experiments::validation_optimism::Config::lecture();
    /// assert_eq!((c.search, c.valid), (10, 100));
    /// ```
    "validation-optimism",
    pub struct Config {
        /// Settings trained (the pool the searches draw from).
        pool: usize = 40,
        /// Settings per random search.
        search: usize = 10,
        /// Validation images per draw.
        valid: usize = 100,
        /// Draws (searches).
        draws: usize = 1000,
        /// Training images.
        train: usize = 2000,
        /// Most epochs of a setting.
        max_epochs: usize = 12,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 16 settings of at most 8 epochs, searches over 8, 400 draws.
    ///
    /// ```
    /// let c = tchlab::experiments::validation_optimism::Config::ci();
    /// assert_eq!(c.pool, 16);
    /// ```
    pub fn ci() -> Self {
        Config { pool: 16, search: 8, max_epochs: 8, draws: 400, ..Self::lecture() }
    }
}

/// The winner of one search: its index in the pool, its accuracy (%) on the draw's
/// validation images and on all the other images (the test images of that draw).
///
/// ```
/// let s = tchlab::experiments::validation_optimism::select(&[vec![true, false]], &[0], &[0]).unwrap();
/// assert_eq!(s, tchlab::experiments::validation_optimism::Selection { index: 0, valid: 100.0, test: 0.0 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selection {
    /// Index of the chosen setting.
    pub index: usize,
    /// Its accuracy on the draw's validation images.
    pub valid: f64,
    /// Its accuracy on the remaining images.
    pub test: f64,
}

/// Picks, among `candidates`, the setting with the highest accuracy on the validation
/// images `images` (the first on ties), given each setting's per-image correctness
/// `correct[s][i]` on the held-out images; its test accuracy is measured on every image
/// not in `images`.
///
/// ```
/// use tchlab::experiments::validation_optimism::select;
/// let correct = vec![vec![true, false, true, true], vec![true, true, false, false]];
/// let s = select(&correct, &[0, 1], &[0, 1]).unwrap();
/// // setting 1 is right on both validation images, and on neither of the other two
/// assert_eq!((s.index, s.valid, s.test), (1, 100.0, 0.0));
/// ```
pub fn select(correct: &[Vec<bool>], candidates: &[usize], images: &[usize]) -> Result<Selection> {
    ensure!(!candidates.is_empty() && !images.is_empty(), "a search needs candidates and validation images");
    let mut best: Option<Selection> = None;
    for &s in candidates {
        let row = correct.get(s).ok_or_else(|| anyhow::anyhow!("no setting {s}"))?;
        ensure!(images.len() < row.len(), "the validation images must leave test images");
        let hits = images.iter().filter(|&&i| row[i]).count();
        let all = row.iter().filter(|&&h| h).count();
        let valid = 100.0 * hits as f64 / images.len() as f64;
        let test = 100.0 * (all - hits) as f64 / (row.len() - images.len()) as f64;
        if best.is_none_or(|b| valid > b.valid) {
            best = Some(Selection { index: s, valid, test });
        }
    }
    best.ok_or_else(|| anyhow::anyhow!("no candidate"))
}

fn correct_on(model: &dyn Network, x: &Tensor, y: &Tensor) -> Result<Vec<bool>> {
    let _guard = tch::no_grad_guard();
    let hits = model.forward_t(x, false).argmax(-1, false).eq_tensor(y);
    Ok(Vec::<bool>::try_from(hits.to_kind(Kind::Bool))?)
}

/// Trains the pool, then runs the draws.
///
/// ```no_run
/// let report = tchlab::experiments::validation_optimism::run(&tchlab::experiments::validation_optimism::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("validation-optimism");
    report.settings = c.to_params().entries();
    ensure!(c.search >= 1 && c.search <= c.pool, "search ({}) must be in 1..=pool ({})", c.search, c.pool);
    ensure!(c.valid >= 1, "valid must be at least 1");
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 0)?;
    let train_ds = std::sync::Arc::new(data.train);
    let n_test = crate::data::Dataset::len(&data.test);
    ensure!(c.valid < n_test, "valid ({}) must leave test images (of {n_test})", c.valid);
    let mut rng = Rng::new(mix(c.seed ^ 0x0971));
    let (tx, ty) = (data.test.scaled_inputs().reshape([-1, 784]), data.test.labels().shallow_clone());
    let test = DataLoader::new(data.test, 1000)?;
    let loader = DataLoader::new(Subset::range(train_ds.clone(), 0..c.train)?, 64)?.shuffle(c.seed);
    let (mut correct, mut rows) = (Vec::new(), Vec::new());
    for s in 0..c.pool {
        let width = (8f64 * 64f64.powf(rng.uniform())).round() as i64;
        let lr = 0.005 * 100f64.powf(rng.uniform());
        let epochs = 2 + rng.below(c.max_epochs.saturating_sub(1).max(1));
        let config = MlpConfig::new(784, &[width], 10).activation(Activation::Relu);
        let tc = TrainConfig::sgd(lr, epochs).seed(c.seed + s as u64).eval_train(false).quiet();
        let Trained { model, test_accuracy: acc, .. } =
            fit_and_test(&config, c.seed + s as u64, &loader, None, &test, tc)?;
        rows.push(vec![s.to_string(), width.to_string(), format!("{lr:.4}"), epochs.to_string(), format!("{acc:.2}")]);
        correct.push(correct_on(&model, &tx, &ty)?);
    }
    let (mut selected, mut fixed) = (Vec::new(), Vec::new());
    let indices: Vec<usize> = (0..n_test).collect();
    let settings: Vec<usize> = (0..c.pool).collect();
    for _ in 0..c.draws {
        let mut imgs = indices.clone();
        rng.shuffle(&mut imgs);
        imgs.truncate(c.valid);
        let mut cands = settings.clone();
        rng.shuffle(&mut cands);
        cands.truncate(c.search);
        selected.push(select(&correct, &cands, &imgs)?);
        // control: the first candidate, fixed before looking at the validation images
        fixed.push(select(&correct, &cands[..1], &imgs)?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let sel_gap: Vec<f64> = selected.iter().map(|s| s.valid - s.test).collect();
    let fix_gap: Vec<f64> = fixed.iter().map(|s| s.valid - s.test).collect();
    let sd = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt()
    };
    let accuracy = |row: &Vec<bool>| 100.0 * row.iter().filter(|&&h| h).count() as f64 / row.len() as f64;
    let best_test = correct.iter().map(accuracy).fold(0.0, f64::max);
    report.metric("selected_valid_mean", mean(&selected.iter().map(|s| s.valid).collect::<Vec<_>>()));
    report.metric("selected_test_mean", mean(&selected.iter().map(|s| s.test).collect::<Vec<_>>()));
    report.metric("selected_optimism_mean", mean(&sel_gap));
    report.metric("selected_optimism_stderr", sd(&sel_gap) / (sel_gap.len() as f64).sqrt());
    report.metric(
        "selected_optimistic_fraction",
        sel_gap.iter().filter(|&&g| g > 0.0).count() as f64 / sel_gap.len() as f64,
    );
    report.metric("fixed_optimism_mean", mean(&fix_gap));
    report.metric("fixed_optimism_stderr", sd(&fix_gap) / (fix_gap.len() as f64).sqrt());
    report.metric("optimism_excess", mean(&sel_gap) - mean(&fix_gap));
    report.metric("best_pool_test_accuracy", best_test);
    report.tables.push((
        "pool".into(),
        Table::from_rows(&["setting", "width", "lr", "epochs", "accuracy on all 10,000 test images (%)"], rows),
    ));
    let scatter: Vec<(f64, f64)> = selected.iter().map(|s| (s.test, s.valid)).collect();
    let lo = scatter.iter().map(|p| p.0.min(p.1)).fold(f64::INFINITY, f64::min).floor();
    report.figures.push((
        "valid_vs_test".into(),
        Figure::lines(
            &format!("The winner of each search: validation ({} images) vs test accuracy", c.valid),
            "test accuracy (%)",
            "validation accuracy (%)",
            vec![
                Series::line("selected model, one per draw", scatter).style(Style::Points),
                Series::line("validation = test", vec![(lo, lo), (100.0, 100.0)]).style(Style::Dashed).color(6),
            ],
        ),
    ));
    report.figures.push((
        "optimism".into(),
        Figure::histograms(
            "Validation − test accuracy (percentage points) over the draws",
            "validation − test (points)",
            vec![("selected by validation".into(), sel_gap), ("fixed in advance".into(), fix_gap)],
            25,
        ),
    ));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
