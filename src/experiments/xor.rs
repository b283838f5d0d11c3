//! XOR: a hidden layer without a non-linearity stays linear; with ReLU it solves XOR.
//! The steps: the lecture's data ([`data`]), one model per activation ([`train`]), the
//! cost per epoch beside the lecture's ([`cost_table`]), the decision regions
//! ([`Run::regions`]), [`results`] and [`present`].

use std::time::Instant;

use anyhow::{Result, bail};

use super::{Presentation, Report};
use crate::data::{DataLoader, Dataset, NumericCsv, Xor};
use crate::display::Table;
use crate::metrics::decision_grid;
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{History, TrainConfig, Trainer};

super::settings! {
    /// Settings of the XOR experiment.
    ///
    /// ```
    /// let c = tchlab::experiments::xor::Config::lecture();
    /// assert_eq!((c.hidden, c.epochs, c.lr, c.seed), (50, 25, 0.1, 123));
    /// ```
    "xor",
    pub struct Config {
        /// The CSV with `x1,x2,class label`, a relative path read from the crate folder
        /// (missing: generate the lecture's data).
        csv: String = "data/xor.csv".into(),
        /// Hidden units.
        hidden: i64 = 50,
        /// Epochs (full batch).
        epochs: usize = 25,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Seed before each model.
        seed: u64 = 123,
        /// Decision-region grid step.
        grid_step: f64 = 0.02,
    }
}

impl Config {
    /// Same as the lecture (it takes a second).
    pub fn ci() -> Self {
        Self::lecture()
    }
}

/// The cost the lecture's code printed before each epoch's update of the linear model,
/// epochs 1–6; from epoch 7 to 25 it printed 0.6927 ([`LECTURE_LINEAR_PLATEAU`]).
pub const LECTURE_LINEAR_COSTS: [f64; 6] = [0.7075, 0.6980, 0.6946, 0.6933, 0.6929, 0.6928];
/// The linear model's printed cost from epoch 7 on (ln 2 to four decimals: guessing).
pub const LECTURE_LINEAR_PLATEAU: f64 = 0.6927;
/// The ReLU model's printed cost at epochs 1 and 25 (falling steadily in between).
pub const LECTURE_RELU_COSTS: (f64, f64) = (0.7163, 0.3594);

/// The XOR data: one full batch, the points for plotting, and the plotting range (the
/// data's range ± 1, as in the lecture).
pub struct Data {
    /// All points in one batch (the lecture trains full batch).
    pub loader: DataLoader,
    /// `(x1, x2, class)` of every point.
    pub points: Vec<(f64, f64, i64)>,
    /// The x1 range of the plots.
    pub x: (f64, f64),
    /// The x2 range of the plots.
    pub y: (f64, f64),
}

/// Reads the lecture's `xor.csv` (`csv`; when that file is missing, generates data like it).
///
/// ```no_run
/// let data = tchlab::experiments::xor::data(&tchlab::experiments::xor::Config::lecture())?;
/// assert_eq!(data.points.len(), 750);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let csv = crate::env::crate_dir().join(&c.csv);
    let data = if csv.is_file() { NumericCsv::read(&csv, "class label")?.dataset } else { Xor::lecture().dataset() };
    let n = data.len();
    let points: Vec<(f64, f64, i64)> =
        (0..n).map(|i| data.get(i).map(|e| (e.input[0] as f64, e.input[1] as f64, e.label))).collect::<Result<_>>()?;
    let (xmin, xmax) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (ymin, ymax) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    Ok(Data { loader: DataLoader::new(data, n)?, points, x: (xmin - 1.0, xmax + 1.0), y: (ymin - 1.0, ymax + 1.0) })
}

impl Data {
    /// The points as a scatter plot, by class.
    pub fn scatter(&self) -> Figure {
        Figure::decision_regions("XOR data", self.x, self.y, Vec::new(), self.points.clone())
    }

    /// Points per class.
    pub fn class_counts(&self) -> (usize, usize) {
        let zeros = self.points.iter().filter(|p| p.2 == 0).count();
        (zeros, self.points.len() - zeros)
    }
}

/// The lecture's model Linear(2 → hidden) → activation → Linear(hidden → 2) for
/// `name` `linear` (no activation) or `relu`.
///
/// ```
/// let c = tchlab::experiments::xor::Config::lecture();
/// assert_eq!(tchlab::experiments::xor::model(&c, "relu").unwrap().layer_sizes(), vec![2, 50, 2]);
/// assert!(tchlab::experiments::xor::model(&c, "tanh").is_err());
/// ```
pub fn model(c: &Config, name: &str) -> Result<MlpConfig> {
    let act = match name {
        "linear" => Activation::Identity,
        "relu" => Activation::Relu,
        _ => bail!("unknown XOR model `{name}`: use linear or relu"),
    };
    Ok(MlpConfig::new(2, &[c.hidden], 2).activation(act))
}

/// One trained XOR model.
pub struct Run {
    /// `linear` or `relu`.
    pub name: String,
    /// The trained model.
    pub model: Mlp,
    /// Its cost per epoch (`minibatch_loss`: one full batch, before each update).
    pub history: History,
}

/// Trains model `name` from `seed` (full batch, SGD at `lr`, `epochs` epochs) and prints
/// its cost per epoch as the lecture's code did.
pub fn train(c: &Config, data: &Data, name: &str) -> Result<Run> {
    let mut model = Mlp::new(&self::model(c, name)?, c.seed)?;
    let history =
        Trainer::new(TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).quiet()).fit(&mut model, &data.loader, None)?;
    println!("{name}: cost per epoch (before each update)");
    for (e, v) in history.minibatch_loss.iter().enumerate() {
        println!("  epoch {:>3} | cost {v:.4}", e + 1);
    }
    Ok(Run { name: name.into(), model, history })
}

impl Run {
    /// The cost per epoch.
    pub fn costs(&self) -> &[f64] {
        &self.history.minibatch_loss
    }

    /// Training accuracy after the last epoch, in percent.
    pub fn train_accuracy(&self) -> f64 {
        100.0 * self.history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN)
    }

    /// The predicted class over a grid of step `grid_step` spanning the plots' range,
    /// with the data on top.
    pub fn regions(&self, c: &Config, data: &Data) -> Result<Figure> {
        let cells = decision_grid(&self.model, data.x, data.y, c.grid_step)?;
        let title = format!("{} hidden layer", self.name);
        Ok(Figure::decision_regions(&title, data.x, data.y, cells, data.points.clone()))
    }
}

/// The cost per epoch of each run, beside the lecture's printed costs (where it printed
/// them: linear epochs 1–25, ReLU epochs 1 and 25).
pub fn cost_table(runs: &[Run]) -> Table {
    let find = |name: &str| runs.iter().find(|r| r.name == name);
    let (linear, relu) = (find("linear"), find("relu"));
    let epochs = runs.iter().map(|r| r.costs().len()).max().unwrap_or(0);
    let ours =
        |r: Option<&Run>, e: usize| r.and_then(|r| r.costs().get(e)).map(|v| format!("{v:.4}")).unwrap_or_default();
    let rows = (0..epochs)
        .map(|e| {
            let lecture_linear = LECTURE_LINEAR_COSTS.get(e).copied().unwrap_or(LECTURE_LINEAR_PLATEAU);
            let lecture_relu = match e {
                0 => format!("{:.4}", LECTURE_RELU_COSTS.0),
                24 => format!("{:.4}", LECTURE_RELU_COSTS.1),
                _ => String::new(),
            };
            let lecture_linear = if e < 25 { format!("{lecture_linear:.4}") } else { String::new() };
            vec![(e + 1).to_string(), lecture_linear, ours(linear, e), lecture_relu, ours(relu, e)]
        })
        .collect();
    Table::from_rows(&["epoch", "lecture: linear", "tchlab: linear", "lecture: ReLU", "tchlab: ReLU"], rows)
}

/// The costs per epoch of each run, with ln 2 (guessing) dashed.
pub fn cost_figure(c: &Config, runs: &[Run]) -> Figure {
    let mut curves: Vec<Series> = runs
        .iter()
        .map(|r| Series::line(&r.name, r.costs().iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect()))
        .collect();
    curves.push(
        Series::line("ln 2", vec![(1.0, 2f64.ln()), (c.epochs as f64, 2f64.ln())])
            .style(crate::plot::Style::Dashed)
            .color(6),
    );
    Figure::lines("XOR: cost per epoch", "epoch", "cross-entropy", curves)
}

/// One network's costs, named after its field: `linear_first_cost`, `linear_final_cost`,
/// `linear_train_accuracy` (and `relu_…`).
#[derive(Clone, Debug, PartialEq)]
pub struct CostOutcome {
    /// Cost after the first epoch.
    pub first_cost: f64,
    /// Cost after the last epoch.
    pub final_cost: f64,
    /// Training accuracy at the end (%).
    pub train_accuracy: f64,
}

impl super::MetricValue for CostOutcome {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_first_cost"), self.first_cost));
        out.push((format!("{field}_final_cost"), self.final_cost));
        out.push((format!("{field}_train_accuracy"), self.train_accuracy));
    }
}

crate::results! {
    /// The lecture's two runs in numbers: the linear network stalls, the ReLU one learns.
    pub struct Results {
        /// The network without a non-linearity.
        linear: CostOutcome,
        /// Highest − lowest cost of the linear network after the lecture's printed epochs.
        linear_plateau_spread: f64,
        /// The network with a ReLU hidden layer.
        relu: CostOutcome,
        /// Epochs in which the ReLU network's cost rose.
        relu_cost_rises: usize,
    }
}

/// The run called `name` (`linear` or `relu`).
fn run_named<'a>(runs: &'a [Run], name: &str) -> Result<&'a Run> {
    runs.iter().find(|r| r.name == name).ok_or_else(|| anyhow::anyhow!("no `{name}` run: train it with xor::train"))
}

/// The numbers of both runs.
///
/// ```no_run
/// use tchlab::experiments::xor::{Config, data, results, train};
/// let c = Config::lecture();
/// let d = data(&c)?;
/// let r = results(&[train(&c, &d, "linear")?, train(&c, &d, "relu")?])?;
/// assert!(r.relu.final_cost < r.linear.final_cost);
/// # anyhow::Ok(())
/// ```
pub fn results(runs: &[Run]) -> Result<Results> {
    let outcome = |run: &Run| {
        let costs = run.costs();
        CostOutcome {
            first_cost: costs.first().copied().unwrap_or(f64::NAN),
            final_cost: costs.last().copied().unwrap_or(f64::NAN),
            train_accuracy: run.train_accuracy(),
        }
    };
    let (linear, relu) = (run_named(runs, "linear")?, run_named(runs, "relu")?);
    let costs = linear.costs();
    let tail = costs.get(LECTURE_LINEAR_COSTS.len()..).unwrap_or(&[]);
    let (lo, hi) = tail.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    Ok(Results {
        linear: outcome(linear),
        linear_plateau_spread: hi - lo,
        relu: outcome(relu),
        relu_cost_rises: relu.costs().windows(2).filter(|w| w[1] > w[0]).count(),
    })
}

/// The cost figure, the decision regions and the cost table, as `tchlab run` saves them.
///
/// ```no_run
/// use tchlab::experiments::xor::{Config, data, present, train};
/// let c = Config::lecture();
/// let d = data(&c)?;
/// let p = present(&c, &d, &[train(&c, &d, "linear")?])?;
/// assert_eq!(p.figure_names(), vec!["loss", "decision_regions"]);
/// # anyhow::Ok(())
/// ```
pub fn present(c: &Config, data: &Data, runs: &[Run]) -> Result<Presentation> {
    let regions = runs.iter().map(|run| run.regions(c, data)).collect::<Result<Vec<_>>>()?;
    let mut p = Presentation::default()
        .figure("loss", cost_figure(c, runs))
        .figure("decision_regions", Figure::row(regions))
        .table("costs", cost_table(runs));
    for run in runs {
        p = p.history(&run.name, run.history.clone());
    }
    Ok(p)
}

/// Trains the linear and the ReLU model and draws their losses and decision regions:
/// the steps above, in order.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let runs = vec![train(c, &data, "linear")?, train(c, &data, "relu")?];
    Ok(c.report(&results(&runs)?, present(c, &data, &runs)?, clock))
}
