//! XOR: a hidden layer without a non-linearity stays linear; with ReLU it solves XOR.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::Report;
use crate::data::{DataLoader, Dataset, NumericCsv, Xor};
use crate::metrics::decision_grid;
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{TrainConfig, Trainer};

super::settings! {
    /// Settings of the XOR experiment.
    ///
    /// ```
    /// let c = tchlab::experiments::xor::Config::lecture();
    /// assert_eq!((c.hidden, c.epochs, c.lr, c.seed), (50, 25, 0.1, 123));
    /// ```
    "xor",
    pub struct Config {
        /// The CSV with `x1,x2,class label` (missing: generate the lecture's data).
        csv: String = crate::env::crate_dir().join("data/xor.csv").display().to_string(),
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

/// Trains the linear and the ReLU model and draws their losses and decision regions.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("xor");
    report.settings = c.to_params().entries();
    let csv = PathBuf::from(&c.csv);
    let data = if csv.is_file() { NumericCsv::read(&csv, "class label")?.dataset } else { Xor::lecture().dataset() };
    let n = data.len();
    let points: Vec<(f64, f64, i64)> =
        (0..n).map(|i| data.get(i).map(|e| (e.input[0] as f64, e.input[1] as f64, e.label))).collect::<Result<_>>()?;
    let loader = DataLoader::new(data, n)?;
    let (xmin, xmax) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (ymin, ymax) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (xr, yr) = ((xmin - 1.0, xmax + 1.0), (ymin - 1.0, ymax + 1.0));
    let mut regions = Vec::new();
    let mut curves = Vec::new();
    for (name, act) in [("linear", Activation::Identity), ("relu", Activation::Relu)] {
        let mut model = Mlp::new(&MlpConfig::new(2, &[c.hidden], 2).activation(act), c.seed)?;
        let history =
            Trainer::new(TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).quiet()).fit(&mut model, &loader, None)?;
        println!("{name}: cost per epoch (before each update)");
        for (e, v) in history.minibatch_loss.iter().enumerate() {
            println!("  epoch {:>3} | cost {v:.4}", e + 1);
        }
        let last = history.last("train").map(|r| (r.loss, r.accuracy)).unwrap_or_default();
        report.metric(&format!("{name}_first_cost"), history.minibatch_loss[0]);
        report.metric(&format!("{name}_final_cost"), *history.minibatch_loss.last().unwrap_or(&f64::NAN));
        report.metric(&format!("{name}_train_accuracy"), 100.0 * last.1);
        curves.push(Series::line(
            name,
            history.minibatch_loss.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect(),
        ));
        let cells = decision_grid(&model, xr, yr, c.grid_step)?;
        regions.push(Figure::decision_regions(&format!("{name} hidden layer"), xr, yr, cells, points.clone()));
        report.histories.push((name.to_string(), history));
    }
    curves.push(
        Series::line("ln 2", vec![(1.0, 2f64.ln()), (c.epochs as f64, 2f64.ln())])
            .style(crate::plot::Style::Dashed)
            .color(6),
    );
    report.figures.push(("loss".into(), Figure::lines("XOR: cost per epoch", "epoch", "cross-entropy", curves)));
    report.figures.push(("decision_regions".into(), Figure::row(regions)));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
