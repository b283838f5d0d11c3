//! Validation optimism: a random search over settings, the winner chosen on a small
//! validation set. The winner's validation accuracy is a biased estimate of its
//! accuracy on new data (it won partly by luck on those few images); its test accuracy,
//! measured once, is not. Repeated over many draws of the validation set and of the
//! searched settings.

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{Presentation, Report, Trained, fit_and_test, mnist_splits};
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

/// The images: the first `train` training images in minibatches of 64 (shuffled with
/// the seed), and the 10,000 held-out images from which each draw takes its validation
/// images (the rest are that draw's test images).
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// The held-out images as one batch, pixels in [0, 1], flattened.
    pub held_out: (Tensor, Tensor),
    /// The held-out images as a loader (each setting's accuracy on all of them).
    pub test: DataLoader,
}

/// Step 1: MNIST with pixels in [0, 1].
///
/// ```no_run
/// use tchlab::experiments::validation_optimism::{Config, data};
/// let d = data(&Config::lecture())?;
/// assert_eq!(d.train.examples_per_epoch(), 2000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    ensure!(c.search >= 1 && c.search <= c.pool, "search ({}) must be in 1..=pool ({})", c.search, c.pool);
    ensure!(c.valid >= 1, "valid must be at least 1");
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 0)?;
    let n_test = crate::data::Dataset::len(&splits.test);
    ensure!(c.valid < n_test, "valid ({}) must leave test images (of {n_test})", c.valid);
    let held_out = (splits.test.scaled_inputs().reshape([-1, 784]), splits.test.labels().shallow_clone());
    let train = std::sync::Arc::new(splits.train);
    Ok(Data {
        train: DataLoader::new(Subset::range(train, 0..c.train)?, 64)?.shuffle(c.seed),
        held_out,
        test: DataLoader::new(splits.test, 1000)?,
    })
}

/// One setting of the pool: a 784-`width`-10 ReLU MLP trained by SGD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    /// Hidden units (8–512, log-uniform).
    pub width: i64,
    /// Learning rate (0.005–0.5, log-uniform).
    pub lr: f64,
    /// Epochs (2–`max_epochs`).
    pub epochs: usize,
}

/// The pool's settings, drawn from the seed, and the generator the searches continue
/// with.
fn draw_settings(c: &Config) -> (Vec<Setting>, Rng) {
    let mut rng = Rng::new(mix(c.seed ^ 0x0971));
    let settings = (0..c.pool)
        .map(|_| Setting {
            width: (8f64 * 64f64.powf(rng.uniform())).round() as i64,
            lr: 0.005 * 100f64.powf(rng.uniform()),
            epochs: 2 + rng.below(c.max_epochs.saturating_sub(1).max(1)),
        })
        .collect();
    (settings, rng)
}

/// Step 2: the `pool` random settings, drawn from the seed.
///
/// ```
/// use tchlab::experiments::validation_optimism::{Config, settings};
/// let pool = settings(&Config::lecture());
/// assert_eq!(pool.len(), 40);
/// assert!(pool.iter().all(|s| (8..=512).contains(&s.width) && s.epochs >= 2));
/// ```
pub fn settings(c: &Config) -> Vec<Setting> {
    draw_settings(c).0
}

/// One trained setting: its accuracy on all held-out images, and which of them it gets
/// right.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolRun {
    /// The setting.
    pub setting: Setting,
    /// Accuracy on all held-out images (%).
    pub accuracy: f64,
    /// Right or wrong, per held-out image.
    pub correct: Vec<bool>,
}

/// Step 3: trains every setting of the pool (setting s with seed `seed + s`).
///
/// ```no_run
/// use tchlab::experiments::validation_optimism::{Config, data, train_pool};
/// let c = Config { pool: 2, search: 2, ..Config::ci() };
/// assert_eq!(train_pool(&c, &data(&c)?)?.len(), 2);
/// # anyhow::Ok(())
/// ```
pub fn train_pool(c: &Config, data: &Data) -> Result<Vec<PoolRun>> {
    let (x, y) = &data.held_out;
    let mut pool = Vec::new();
    for (s, setting) in settings(c).into_iter().enumerate() {
        let config = MlpConfig::new(784, &[setting.width], 10).activation(Activation::Relu);
        let seed = c.seed + s as u64;
        let tc = TrainConfig::sgd(setting.lr, setting.epochs).seed(seed).eval_train(false).quiet();
        let Trained { model, test_accuracy, .. } = fit_and_test(&config, seed, &data.train, None, &data.test, tc)?;
        pool.push(PoolRun { setting, accuracy: test_accuracy, correct: correct_on(&model, x, y)? });
    }
    Ok(pool)
}

/// The winners of every draw: chosen on the validation images among the draw's
/// candidates, and, as the control, the draw's first candidate fixed in advance.
#[derive(Clone, Debug, PartialEq)]
pub struct Searches {
    /// The winner of each draw's search.
    pub selected: Vec<Selection>,
    /// The first candidate of each draw (no selection).
    pub fixed: Vec<Selection>,
}

/// Step 4: the `draws` random searches: each draws `valid` validation images and
/// `search` candidates of the pool and picks the best on the validation images.
///
/// ```no_run
/// use tchlab::experiments::validation_optimism::{Config, data, search_all, train_pool};
/// let c = Config::ci();
/// let s = search_all(&c, &train_pool(&c, &data(&c)?)?)?;
/// assert_eq!(s.selected.len(), c.draws);
/// # anyhow::Ok(())
/// ```
pub fn search_all(c: &Config, pool: &[PoolRun]) -> Result<Searches> {
    ensure!(pool.len() == c.pool, "the pool has {} settings, the settings say pool = {}", pool.len(), c.pool);
    let mut rng = draw_settings(c).1;
    let correct: Vec<Vec<bool>> = pool.iter().map(|p| p.correct.clone()).collect();
    let indices: Vec<usize> = (0..correct.first().map_or(0, Vec::len)).collect();
    let settings: Vec<usize> = (0..c.pool).collect();
    let (mut selected, mut fixed) = (Vec::new(), Vec::new());
    for _ in 0..c.draws {
        let mut imgs = indices.clone();
        rng.shuffle(&mut imgs);
        imgs.truncate(c.valid);
        let mut cands = settings.clone();
        rng.shuffle(&mut cands);
        cands.truncate(c.search);
        selected.push(select(&correct, &cands, &imgs)?);
        fixed.push(select(&correct, &cands[..1], &imgs)?);
    }
    Ok(Searches { selected, fixed })
}

crate::results! {
    /// How optimistic the winner's validation accuracy is, against the control.
    pub struct Results {
        /// Mean validation accuracy of the winners (%).
        selected_valid_mean: f64,
        /// Mean test accuracy of the winners (%).
        selected_test_mean: f64,
        /// Mean validation − test accuracy of the winners (points).
        selected_optimism_mean: f64,
        /// Its standard error over the draws.
        selected_optimism_stderr: f64,
        /// Fraction of draws whose winner scored higher on validation than on test.
        selected_optimistic_fraction: f64,
        /// Mean validation − test accuracy of the fixed candidate (points).
        fixed_optimism_mean: f64,
        /// Its standard error.
        fixed_optimism_stderr: f64,
        /// Selected − fixed optimism (points).
        optimism_excess: f64,
        /// The best setting of the pool on all held-out images (%).
        best_pool_test_accuracy: f64,
    }
}

/// Validation − test accuracy of each selection.
fn optimism(selections: &[Selection]) -> Vec<f64> {
    selections.iter().map(|s| s.valid - s.test).collect()
}

/// Step 5: means and standard errors of the optimism over the draws.
///
/// ```no_run
/// use tchlab::experiments::validation_optimism::{Config, data, results, search_all, train_pool};
/// let c = Config::ci();
/// let pool = train_pool(&c, &data(&c)?)?;
/// let r = results(&pool, &search_all(&c, &pool)?);
/// assert!(r.selected_optimism_mean > r.fixed_optimism_mean);
/// # anyhow::Ok(())
/// ```
pub fn results(pool: &[PoolRun], searches: &Searches) -> Results {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let stderr = |v: &[f64]| {
        let m = mean(v);
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt();
        sd / (v.len() as f64).sqrt()
    };
    let (sel_gap, fix_gap) = (optimism(&searches.selected), optimism(&searches.fixed));
    let of_selected = |f: fn(&Selection) -> f64| mean(&searches.selected.iter().map(f).collect::<Vec<_>>());
    let accuracy = |row: &Vec<bool>| 100.0 * row.iter().filter(|&&h| h).count() as f64 / row.len() as f64;
    Results {
        selected_valid_mean: of_selected(|s| s.valid),
        selected_test_mean: of_selected(|s| s.test),
        selected_optimism_mean: mean(&sel_gap),
        selected_optimism_stderr: stderr(&sel_gap),
        selected_optimistic_fraction: sel_gap.iter().filter(|&&g| g > 0.0).count() as f64 / sel_gap.len() as f64,
        fixed_optimism_mean: mean(&fix_gap),
        fixed_optimism_stderr: stderr(&fix_gap),
        optimism_excess: mean(&sel_gap) - mean(&fix_gap),
        best_pool_test_accuracy: pool.iter().map(|p| accuracy(&p.correct)).fold(0.0, f64::max),
    }
}

/// The pool: each setting and its accuracy on all held-out images.
///
/// ```
/// use tchlab::experiments::validation_optimism::{PoolRun, Setting, pool_table};
/// let run = PoolRun { setting: Setting { width: 8, lr: 0.1, epochs: 2 }, accuracy: 90.0, correct: vec![] };
/// assert_eq!(pool_table(&[run]).rows[0][4], "90.00");
/// ```
pub fn pool_table(pool: &[PoolRun]) -> Table {
    let rows = pool
        .iter()
        .enumerate()
        .map(|(s, p)| {
            let Setting { width, lr, epochs } = p.setting;
            vec![s.to_string(), width.to_string(), format!("{lr:.4}"), epochs.to_string(), format!("{:.2}", p.accuracy)]
        })
        .collect();
    Table::from_rows(&["setting", "width", "lr", "epochs", "accuracy on all 10,000 test images (%)"], rows)
}

/// Each draw's winner: validation against test accuracy, with the diagonal.
///
/// ```
/// use tchlab::experiments::validation_optimism::{Config, Searches, valid_vs_test_figure};
/// let figure = valid_vs_test_figure(&Config::ci(), &Searches { selected: vec![], fixed: vec![] });
/// ```
pub fn valid_vs_test_figure(c: &Config, searches: &Searches) -> Figure {
    let scatter: Vec<(f64, f64)> = searches.selected.iter().map(|s| (s.test, s.valid)).collect();
    let lo = scatter.iter().map(|p| p.0.min(p.1)).fold(f64::INFINITY, f64::min).floor();
    Figure::lines(
        &format!("The winner of each search: validation ({} images) vs test accuracy", c.valid),
        "test accuracy (%)",
        "validation accuracy (%)",
        vec![
            Series::line("selected model, one per draw", scatter).style(Style::Points),
            Series::line("validation = test", vec![(lo, lo), (100.0, 100.0)]).style(Style::Dashed).color(6),
        ],
    )
}

/// Histograms of validation − test accuracy: selected against fixed in advance.
///
/// ```
/// use tchlab::experiments::validation_optimism::{Searches, optimism_figure};
/// let figure = optimism_figure(&Searches { selected: vec![], fixed: vec![] });
/// ```
pub fn optimism_figure(searches: &Searches) -> Figure {
    Figure::histograms(
        "Validation − test accuracy (percentage points) over the draws",
        "validation − test (points)",
        vec![
            ("selected by validation".into(), optimism(&searches.selected)),
            ("fixed in advance".into(), optimism(&searches.fixed)),
        ],
        25,
    )
}

/// Step 6: the pool's table and both figures, as `tchlab run` saves them.
///
/// ```
/// use tchlab::experiments::validation_optimism::{Config, Searches, present};
/// let p = present(&Config::ci(), &[], &Searches { selected: vec![], fixed: vec![] });
/// assert_eq!(p.figure_names(), vec!["valid_vs_test", "optimism"]);
/// ```
pub fn present(c: &Config, pool: &[PoolRun], searches: &Searches) -> Presentation {
    Presentation::default()
        .table("pool", pool_table(pool))
        .figure("valid_vs_test", valid_vs_test_figure(c, searches))
        .figure("optimism", optimism_figure(searches))
}

/// Trains the pool, then runs the draws: [`data`], [`train_pool`], [`search_all`],
/// [`results`], [`present`].
///
/// ```no_run
/// let report = tchlab::experiments::validation_optimism::run(&tchlab::experiments::validation_optimism::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let pool = train_pool(c, &data)?;
    let searches = search_all(c, &pool)?;
    let results = results(&pool, &searches);
    Ok(c.report(&results, present(c, &pool, &searches), clock))
}
