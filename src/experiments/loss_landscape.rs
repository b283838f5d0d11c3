//! The loss is not convex (the lecture's slide "Note That the Loss is Not Convex
//! Anymore", after Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"):
//! two-dimensional slices of the training loss for softmax regression (convex: every
//! slice is convex) and a 784-32-10 sigmoid MLP. The first plane is Li et al.'s: around a
//! trained model along two random directions, each filter-normalised to the model's
//! weights (biases held fixed). The second passes through two solutions (for the MLP: the
//! solution and itself with its hidden units reversed, the same function; for softmax
//! regression: the solutions of seeds 1 and 2) and one filter-normalised random direction.

use std::time::Instant;

use anyhow::{Result, ensure};

use super::{Presentation, Report, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::landscape::{Grid, Plane, barrier, parameters, permuted, random_direction};
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::Figure;
use crate::train::{Loss, TrainConfig, Trainer};

super::settings! {
    /// Settings of the loss-landscape slices.
    ///
    /// ```
    /// let c = tchlab::experiments::loss_landscape::Config::lecture();
    /// assert_eq!((c.points, c.range, c.through_range), (25, 1.0, 1.5));
    /// ```
    "loss-landscape",
    pub struct Config {
        /// MNIST training images the models train on.
        train_size: usize = 5000,
        /// The first of them on which the loss is evaluated on the grids.
        eval_size: usize = 5000,
        /// Hidden units of the MLP.
        hidden: i64 = 32,
        /// Epochs of SGD (learning rate 0.1, minibatches of 64, seed 1).
        epochs: usize = 20,
        /// Grid points per side (odd, so that the trained model is the centre; with
        /// `through_range` 1.5, 4k + 1 puts the two solutions on the grid).
        points: usize = 25,
        /// The random plane spans α, β in [−range, range] (Li et al.: 1).
        range: f64 = 1.0,
        /// The plane through two solutions spans [−through_range, through_range]² (the
        /// solutions at α = ±1).
        through_range: f64 = 1.5,
        /// Seed of the two random directions.
        direction_seed: u64 = 2018,
    }
}

impl Config {
    /// CI: the same models, 13 × 13 grids, the loss on the first 1,000 training images.
    pub fn ci() -> Self {
        Config { points: 13, eval_size: 1000, ..Self::lecture() }
    }
}

/// The training images, as shuffled minibatches of 64 (for training), and the first
/// `eval_size` of them in batches of 1,000 (for the loss on the grids).
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// The same images for evaluation.
    pub eval: DataLoader,
}

/// Loads the first `train_size` MNIST training images.
pub fn data(c: &Config) -> Result<Data> {
    ensure!(c.train_size > 0, "train_size must be at least 1");
    ensure!(
        (1..=c.train_size).contains(&c.eval_size),
        "eval_size={} must be between 1 and train_size={}",
        c.eval_size,
        c.train_size
    );
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let evaluated = mnist_splits(MnistKind::Digits, Scaling::Unit, c.eval_size, 0)?;
    let train = DataLoader::new(splits.train, 64)?.shuffle(1);
    let eval = DataLoader::new(evaluated.train, 1000)?;
    Ok(Data { train, eval })
}

/// The two models: `"softmax"` (784 → 10, convex in its weights) or `"mlp"`
/// (784 → `hidden` sigmoid → 10).
///
/// ```
/// let c = tchlab::experiments::loss_landscape::Config::lecture();
/// assert_eq!(tchlab::experiments::loss_landscape::model(&c, "mlp").unwrap().layer_sizes(), vec![784, 32, 10]);
/// assert!(tchlab::experiments::loss_landscape::model(&c, "cnn").is_err());
/// ```
pub fn model(c: &Config, name: &str) -> Result<MlpConfig> {
    match name {
        "softmax" => Ok(MlpConfig::new(784, &[], 10)),
        "mlp" => Ok(MlpConfig::new(784, &[c.hidden], 10).activation(Activation::Sigmoid)),
        _ => anyhow::bail!("unknown model `{name}`: use softmax or mlp"),
    }
}

/// Trains model `name` from `seed` (SGD, learning rate 0.1, `epochs` epochs).
pub fn train(c: &Config, data: &Data, name: &str, seed: u64) -> Result<Mlp> {
    let mut m = Mlp::new(&model(c, name)?, seed)?;
    let h = Trainer::new(TrainConfig::sgd(0.1, c.epochs).seed(seed).quiet()).fit(&mut m, &data.train, None)?;
    println!(
        "{name}, seed {seed}: training loss after {} epochs {:.4}",
        c.epochs,
        h.last_loss("train").unwrap_or(f64::NAN)
    );
    Ok(m)
}

/// A second solution of model `name` to slice through with `first`: for the MLP, `first`
/// with its hidden units in reverse order (the same function, the same loss, another
/// point); for softmax regression, which has no hidden units, the solution from seed 2.
pub fn second_solution(c: &Config, data: &Data, name: &str, first: &Mlp) -> Result<Mlp> {
    if name == "mlp" {
        let reversed: Vec<i64> = (0..c.hidden).rev().collect();
        permuted(first, 0, &reversed)
    } else {
        train(c, data, name, 2)
    }
}

/// One slice: the grid of training losses of one model on one plane.
pub struct Slice {
    /// `softmax` or `mlp`.
    pub name: String,
    /// `random` (Li et al.'s plane around a solution) or `two_solutions`.
    pub plane: String,
    /// The loss at (α, β) on the grid.
    pub grid: Grid,
}

/// The training loss of model `name` on `plane` over a `points` × `points` grid spanning
/// [−range, range]².
fn evaluate_plane(c: &Config, data: &Data, name: &str, kind: &str, plane: &Plane, range: f64) -> Result<Slice> {
    ensure!(c.points % 2 == 1, "points={} must be odd so that the grid has a centre", c.points);
    let mut scratch = Mlp::new(&model(c, name)?, 0)?;
    let grid = plane.losses(&mut scratch, range, c.points, &data.eval, Loss::CrossEntropy)?;
    let s = Slice { name: name.into(), plane: kind.into(), grid };
    println!(
        "{name}, {kind} plane: loss {:.4} at the centre, {:.4} to {:.4} on the grid; curvature ratio {:.4}; {} interior local maxima",
        s.grid.centre(),
        s.grid.min().0,
        s.grid.max(),
        s.grid.curvature_ratio(),
        s.grid.interior_local_maxima()
    );
    Ok(s)
}

/// Li et al.'s slice: the training loss around `trained` along two filter-normalised
/// random directions ([`Plane::filter_normalized`], seed `direction_seed`, the same seed
/// for both models), α, β in [−range, range].
pub fn random_slice(c: &Config, data: &Data, name: &str, trained: &Mlp) -> Result<Slice> {
    let plane = Plane::filter_normalized(trained, c.direction_seed)?;
    evaluate_plane(c, data, name, "random", &plane, c.range)
}

/// The slice through two solutions `a` (α = −1) and `b` (α = 1) and along a
/// filter-normalised random direction (seed `direction_seed`, normalised to `a`).
pub fn two_solution_slice(c: &Config, data: &Data, name: &str, a: &Mlp, b: &Mlp) -> Result<Slice> {
    let (pa, pb) = (parameters(a), parameters(b));
    let plane = Plane::through(&pa, &pb, random_direction(&pa, c.direction_seed)?)?;
    evaluate_plane(c, data, name, "two_solutions", &plane, c.through_range)
}

impl Slice {
    /// The central half of the grid.
    pub fn central(&self) -> Grid {
        self.grid.central(self.grid.coords.len() / 2 + 1)
    }

    /// The barrier ([`barrier`]) along β = 0 between α = −1 and α = 1 (for the plane
    /// through two solutions: between the two solutions).
    pub fn middle_barrier(&self) -> f64 {
        barrier(&self.grid.middle_row(-1.0, 1.0))
    }

    /// The slice as a contour plot.
    pub fn figure(&self) -> Figure {
        let r = (self.grid.coords[0], *self.grid.coords.last().unwrap_or(&1.0));
        let model = if self.name == "softmax" { "softmax regression" } else { "784-32-10 sigmoid MLP" };
        let (x, title) = match (self.plane.as_str(), self.name.as_str()) {
            ("random", _) => ("α (random direction 1)", format!("{model}: random plane")),
            (_, "mlp") => ("α (−1: solution, 1: hidden units reversed)", format!("{model}: two solutions")),
            _ => ("α (−1: seed 1, 1: seed 2)", format!("{model}: two solutions")),
        };
        let y = if self.plane == "random" { "β (random direction 2)" } else { "β (random direction)" };
        Figure::contour(&title, r, r, self.grid.values.clone(), 12, x, y)
    }
}

/// What one slice shows, named `landscape_mlp_random_curvature_ratio`, … .
#[derive(Clone, Debug, PartialEq)]
pub struct SliceShape {
    /// `softmax` or `mlp`.
    pub name: String,
    /// `random` or `two_solutions`.
    pub plane: String,
    /// The loss at the centre.
    pub centre_loss: f64,
    /// The lowest loss on the grid.
    pub grid_min_loss: f64,
    /// Its distance from the centre.
    pub grid_min_distance: f64,
    /// The highest loss on the grid.
    pub grid_max_loss: f64,
    /// Share of grid lines that bend downwards somewhere (0 for a convex loss).
    pub curvature_ratio: f64,
    /// The same on the central half of the grid.
    pub central_curvature_ratio: f64,
    /// Interior points higher than their neighbours.
    pub interior_local_maxima: usize,
    /// The loss's rise above the chord between the two solutions, at the middle.
    pub middle_barrier: f64,
}

impl SliceShape {
    /// The numbers of `slice`.
    ///
    /// ```no_run
    /// # use tchlab::experiments::loss_landscape::*;
    /// # let c = Config::ci(); let d = data(&c)?; let m = train(&c, &d, "softmax", 1)?;
    /// let shape = SliceShape::of(&random_slice(&c, &d, "softmax", &m)?);
    /// assert!(shape.curvature_ratio < 1e-3);
    /// # anyhow::Ok(())
    /// ```
    pub fn of(slice: &Slice) -> Self {
        let (min, (a, b)) = slice.grid.min();
        SliceShape {
            name: slice.name.clone(),
            plane: slice.plane.clone(),
            centre_loss: slice.grid.centre(),
            grid_min_loss: min,
            grid_min_distance: a.hypot(b),
            grid_max_loss: slice.grid.max(),
            curvature_ratio: slice.grid.curvature_ratio(),
            central_curvature_ratio: slice.central().curvature_ratio(),
            interior_local_maxima: slice.grid.interior_local_maxima(),
            middle_barrier: slice.middle_barrier(),
        }
    }
}

impl super::MetricValue for SliceShape {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        for (m, v) in [
            ("centre_loss", self.centre_loss),
            ("grid_min_loss", self.grid_min_loss),
            ("grid_min_distance", self.grid_min_distance),
            ("grid_max_loss", self.grid_max_loss),
            ("curvature_ratio", self.curvature_ratio),
            ("central_curvature_ratio", self.central_curvature_ratio),
            ("interior_local_maxima", self.interior_local_maxima as f64),
            ("middle_barrier", self.middle_barrier),
        ] {
            out.push((format!("landscape_{}_{}_{m}", self.name, self.plane), v));
        }
    }
}

crate::results! {
    /// The shape of every slice.
    pub struct Results {
        /// One per slice, in the order computed.
        slices: Vec<SliceShape>,
    }
}

impl Results {
    /// The shape of model `name` (`softmax`, `mlp`) on `plane` (`random`,
    /// `two_solutions`), if computed.
    ///
    /// ```
    /// use tchlab::experiments::loss_landscape::Results;
    /// assert!(Results { slices: vec![] }.slice("mlp", "random").is_none());
    /// ```
    pub fn slice(&self, name: &str, plane: &str) -> Option<&SliceShape> {
        self.slices.iter().find(|s| s.name == name && s.plane == plane)
    }
}

/// The numbers of every slice.
///
/// ```
/// assert!(tchlab::experiments::loss_landscape::results(&[]).slices.is_empty());
/// ```
pub fn results(slices: &[Slice]) -> Results {
    Results { slices: slices.iter().map(SliceShape::of).collect() }
}

/// Every slice's numbers as a table (losses to 4 decimals).
///
/// ```
/// use tchlab::experiments::loss_landscape::{Results, shapes_table};
/// assert!(shapes_table(&Results { slices: vec![] }).rows.is_empty());
/// ```
pub fn shapes_table(results: &Results) -> Table {
    let rows = results
        .slices
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.plane.clone(),
                format!("{:.4}", s.centre_loss),
                format!("{:.4}", s.grid_min_loss),
                format!("{:.4}", s.grid_max_loss),
                format!("{:.4}", s.curvature_ratio),
                format!("{:.4}", s.central_curvature_ratio),
                s.interior_local_maxima.to_string(),
                format!("{:.4}", s.middle_barrier),
            ]
        })
        .collect();
    let header = [
        "model",
        "plane",
        "loss at centre",
        "lowest",
        "highest",
        "curvature ratio",
        "central half",
        "local maxima",
        "middle barrier",
    ];
    Table::from_rows(&header, rows)
}

/// Both planes' figures and the table of slices, as `tchlab run` saves them.
///
/// ```
/// use tchlab::experiments::loss_landscape::{Results, present};
/// let p = present(&[], &Results { slices: vec![] });
/// assert_eq!(p.figure_names(), vec!["random", "two_solutions"]);
/// ```
pub fn present(slices: &[Slice], results: &Results) -> Presentation {
    Presentation::default()
        .table("slices", shapes_table(results))
        .figure("random", plane_figure(slices, "random"))
        .figure("two_solutions", plane_figure(slices, "two_solutions"))
}

/// The contour plots of the slices on `plane` (`random` or `two_solutions`) side by side.
pub fn plane_figure(slices: &[Slice], plane: &str) -> Figure {
    Figure::row(slices.iter().filter(|s| s.plane == plane).map(Slice::figure).collect())
}

/// Trains both models and slices their losses on both planes: the steps above, in order.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let names = ["softmax", "mlp"];
    let trained = names.iter().map(|name| train(c, &data, name, 1)).collect::<Result<Vec<_>>>()?;
    let mut slices = Vec::new();
    for (name, model) in names.iter().zip(&trained) {
        slices.push(random_slice(c, &data, name, model)?);
    }
    for (name, model) in names.iter().zip(&trained) {
        let second = second_solution(c, &data, name, model)?;
        slices.push(two_solution_slice(c, &data, name, model, &second)?);
    }
    let results = results(&slices);
    Ok(c.report(&results, present(&slices, &results), clock))
}
