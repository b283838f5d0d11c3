//! Bias–variance decomposition: many training sets, one MLP per training set and width,
//! trained all at once with [`MlpEnsemble`]. First regression with a known truth
//! (`y = sin 2πx + noise`), where `noise + bias² + variance` must add up to the measured
//! test error; then the 0–1 loss on MNIST subsets (Domingos 2000).

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{List, Report};
use crate::data::{Mnist, MnistKind, Scaling};
use crate::display::Table;
use crate::metrics::{squared_decomposition, zero_one_decomposition};
use crate::model::{Activation, EnsembleLoss, EnsembleTrain, MlpConfig, MlpEnsemble};
use crate::plot::{Figure, Scale, Series, Style};
use crate::rng::{Rng, mix};

super::settings! {
    /// Settings: 100 training sets of 30 points each, `y = sin 2πx + N(0, 0.3²)`, x uniform
    /// in [0, 1]; 1-w-1 tanh MLPs, full-batch Adam (0.01) for 3,000 steps and, as a second
    /// budget, 20,000 steps; 500 test points.
    /// MNIST: 20 disjoint training sets of 500 images, 784-w-10 ReLU, SGD 0.1, batch 50,
    /// 40 epochs; the 10,000 test images.
    ///
    /// ```
    /// let c = tchlab::experiments::bias_variance::Config::lecture();
    /// assert_eq!((c.reg_sets, c.reg_n), (100, 30));
    /// ```
    "bias-variance",
    pub struct Config {
        /// Seed (data draws and initial weights).
        seed: u64 = 1,
        /// Regression: number of training sets (one model each).
        reg_sets: i64 = 100,
        /// Regression: points per training set.
        reg_n: i64 = 30,
        /// Regression: standard deviation of the label noise.
        reg_noise: f64 = 0.3,
        /// Regression: hidden units of the 1-w-1 tanh MLPs.
        reg_widths: List<i64> = List(vec![1, 2, 3, 4, 8, 16, 64, 256]),
        /// Regression: full-batch Adam steps.
        reg_steps: usize = 3000,
        /// Regression: steps of the second, long training budget (0: none).
        reg_long_steps: usize = 20000,
        /// Regression: Adam learning rate.
        reg_lr: f64 = 0.01,
        /// Regression: test points (each with its own noisy label per model).
        reg_test: i64 = 500,
        /// MNIST: number of disjoint training sets.
        mnist_sets: i64 = 20,
        /// MNIST: images per training set.
        mnist_n: i64 = 500,
        /// MNIST: hidden units of the 784-w-10 ReLU MLPs.
        mnist_widths: List<i64> = List(vec![1, 2, 4, 8, 16, 64, 256]),
        /// MNIST: SGD learning rate.
        mnist_lr: f64 = 0.1,
        /// MNIST: minibatch size.
        mnist_batch: usize = 50,
        /// MNIST: epochs.
        mnist_epochs: usize = 40,
        /// MNIST: test images (the first ones of the test set).
        mnist_test: i64 = 10000,
    }
}

impl Config {
    /// CI: fewer training sets and steps, fewer widths and test images.
    ///
    /// ```
    /// let c = tchlab::experiments::bias_variance::Config::ci();
    /// assert!(c.reg_sets < tchlab::experiments::bias_variance::Config::lecture().reg_sets);
    /// ```
    pub fn ci() -> Self {
        Config {
            reg_sets: 50,
            reg_steps: 1500,
            reg_long_steps: 6000,
            reg_widths: List(vec![1, 2, 4, 16, 256]),
            mnist_sets: 10,
            mnist_widths: List(vec![1, 4, 16, 128]),
            mnist_epochs: 20,
            mnist_test: 2000,
            ..Self::lecture()
        }
    }
}

/// The true function `sin 2πx`.
fn truth(x: &Tensor) -> Tensor {
    (x * (2.0 * std::f64::consts::PI)).sin()
}

/// Runs both decompositions.
///
/// ```no_run
/// let report = tchlab::experiments::bias_variance::run(&tchlab::experiments::bias_variance::Config::ci()).unwrap();
/// report.print();
/// ```
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("bias-variance");
    report.settings = c.to_params().entries();
    ensure!(c.reg_sets >= 2 && c.mnist_sets >= 2, "a variance needs at least two training sets");
    ensure!(!c.reg_widths.0.is_empty() && !c.mnist_widths.0.is_empty(), "give at least one width");
    regression(c, &mut report)?;
    classification(c, &mut report)?;
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

fn uniform(rng: &mut Rng, n: i64) -> Tensor {
    Tensor::from_slice(&(0..n).map(|_| rng.uniform() as f32).collect::<Vec<_>>())
}

fn normal(rng: &mut Rng, n: i64) -> Tensor {
    Tensor::from_slice(&(0..n).map(|_| rng.normal() as f32).collect::<Vec<_>>())
}

fn regression(c: &Config, report: &mut Report) -> Result<()> {
    let (k, n, j, sigma) = (c.reg_sets, c.reg_n, c.reg_test, c.reg_noise);
    let mut rng = Rng::new(mix(c.seed ^ 0xB1A5));
    let x_train = uniform(&mut rng, k * n).reshape([k, n, 1]);
    let y_train = truth(&x_train) + normal(&mut rng, k * n).reshape([k, n, 1]) * sigma;
    let x_test = uniform(&mut rng, j).reshape([j, 1]);
    let h_test = truth(&x_test).reshape([j]);
    // every model meets its own noisy labels at the test points
    let y_test = h_test.unsqueeze(0) + normal(&mut rng, k * j).reshape([k, j]) * sigma;

    let grid = Tensor::linspace(0.0, 1.0, 201, (Kind::Float, tch::Device::Cpu)).reshape([201, 1]);
    let grid_x: Vec<f64> = Vec::<f32>::try_from(grid.reshape([201]))?.into_iter().map(f64::from).collect();
    let curve = |t: &Tensor| -> Result<Vec<(f64, f64)>> {
        let ys: Vec<f32> = Vec::try_from(t.reshape([201]))?;
        Ok(grid_x.iter().zip(ys).map(|(&x, y)| (x, y as f64)).collect())
    };
    let truth_series = Series::line("truth sin 2πx", curve(&truth(&grid))?).style(Style::Dashed).color(6);
    let curve: &Curve<'_> = &curve;
    let mut data_series = vec![truth_series.clone()];
    for s in 0..3.min(k) {
        let xs: Vec<f32> = Vec::try_from(x_train.get(s).reshape([n]))?;
        let ys: Vec<f32> = Vec::try_from(y_train.get(s).reshape([n]))?;
        let pts = xs.iter().zip(&ys).map(|(&x, &y)| (x as f64, y as f64)).collect();
        data_series.push(Series::line(&format!("training set {}", s + 1), pts).style(Style::Points).color(s as usize));
    }
    report.figures.push((
        "reg_data".into(),
        Figure::lines(
            &format!("{k} training sets of {n} points: y = sin 2πx + N(0, {sigma}²); three of them"),
            "x",
            "y",
            data_series,
        )
        .y_range(-2.0, 2.0),
    ));

    let data = RegressionData { x_train, y_train, x_test, h_test, y_test, grid, curve: &curve, truth_series };
    regression_budget(c, &data, c.reg_steps, "", report)?;
    if c.reg_long_steps > 0 {
        regression_budget(c, &data, c.reg_long_steps, "long_", report)?;
        let peak = |tag: &str| {
            c.reg_widths.0.iter().map(|w| report.value(&format!("reg_{tag}w{w}_variance"))).fold(0.0, f64::max)
        };
        report.metric("reg_long_to_short_variance_peak", peak("long_") / peak(""));
    }
    Ok(())
}

/// Values on the plotting grid as `(x, y)` points.
type Curve<'a> = dyn Fn(&Tensor) -> Result<Vec<(f64, f64)>> + 'a;

/// The draws of the regression problem, shared by the training budgets.
struct RegressionData<'a> {
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    h_test: Tensor,
    y_test: Tensor,
    grid: Tensor,
    curve: &'a Curve<'a>,
    truth_series: Series,
}

fn regression_budget(c: &Config, data: &RegressionData, steps: usize, tag: &str, report: &mut Report) -> Result<()> {
    let RegressionData { x_train, y_train, x_test, h_test, y_test, grid, curve, truth_series } = data;
    let (k, j, sigma) = (c.reg_sets, c.reg_test, c.reg_noise);
    let widths = &c.reg_widths.0;
    let shown: Vec<i64> = {
        let mut v = vec![widths[0], widths[widths.len() / 2], widths[widths.len() - 1]];
        v.dedup();
        v
    };
    let (mut rows, mut fits, mut train_curves) = (Vec::new(), Vec::new(), Vec::new());
    let (mut s_bias, mut s_var, mut s_sum, mut s_test, mut s_noise, mut s_train) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut worst_gap: f64 = 0.0;
    for &w in widths {
        let config = MlpConfig::new(1, &[w], 1).activation(Activation::Tanh);
        let mut ensemble = MlpEnsemble::new(&config, k, c.seed)?;
        let history = ensemble.fit(x_train, y_train, &EnsembleTrain::adam(c.reg_lr, steps, EnsembleLoss::Mse))?;
        let preds = ensemble.predict(x_test, 4096).reshape([k, j]);
        let d = squared_decomposition(&preds, h_test, sigma * sigma)?;
        let test_error = (y_test - &preds).square().mean(Kind::Double).double_value(&[]);
        let train_error =
            ensemble.member_losses(x_train, y_train, EnsembleLoss::Mse)?.mean(Kind::Double).double_value(&[]);
        let gap = (d.total() - test_error).abs() / test_error;
        worst_gap = worst_gap.max(gap);
        let lx = w as f64;
        s_bias.push((lx, d.bias2));
        s_var.push((lx, d.variance));
        s_noise.push((lx, d.noise));
        s_sum.push((lx, d.total()));
        s_test.push((lx, test_error));
        s_train.push((lx, train_error));
        for (name, v) in [("bias2", d.bias2), ("variance", d.variance), ("sum", d.total()), ("test_error", test_error)]
        {
            report.metric(&format!("reg_{tag}w{w}_{name}"), v);
        }
        rows.push(vec![
            w.to_string(),
            config.parameter_count().to_string(),
            format!("{train_error:.4}"),
            format!("{:.4}", d.bias2),
            format!("{:.4}", d.variance),
            format!("{:.4}", d.noise),
            format!("{:.4}", d.total()),
            format!("{test_error:.4}"),
            format!("{:.1}", 100.0 * gap),
        ]);
        let step = (steps / 100).max(1);
        let pts: Vec<(f64, f64)> = history
            .curve("train", "loss")
            .into_iter()
            .filter(|(e, _)| (*e as usize).is_multiple_of(step) || *e as usize == 1)
            .collect();
        train_curves.push(Series::line(&format!("w = {w}"), pts));
        if shown.contains(&w) {
            let on_grid = ensemble.predict(grid, 4096).reshape([k, 201]);
            let mut series = Vec::new();
            for m in 0..20.min(k) {
                series.push(Series::line("", curve(&on_grid.get(m))?).style(Style::Faint).color(0));
            }
            series.push(
                Series::line("mean over training sets", curve(&on_grid.mean_dim(&[0i64][..], false, Kind::Float))?)
                    .color(1),
            );
            series.push(truth_series.clone());
            fits.push(
                Figure::lines(
                    &format!("w = {w}, {steps} steps: bias² {:.3}, variance {:.3}", d.bias2, d.variance),
                    "x",
                    "prediction",
                    series,
                )
                .y_range(-2.0, 2.0),
            );
        }
    }
    if tag.is_empty() {
        report.metric("reg_noise", sigma * sigma);
    }
    report.metric(&format!("reg_{tag}max_relative_gap"), worst_gap);
    let (first, last) = (0, widths.len() - 1);
    report.metric(&format!("reg_{tag}bias2_ratio_narrow_to_wide"), s_bias[first].1 / s_bias[last].1.max(1e-12));
    report.metric(&format!("reg_{tag}variance_ratio_wide_to_narrow"), s_var[last].1 / s_var[first].1.max(1e-12));
    let peak = s_var.iter().map(|p| p.1).fold(0.0, f64::max);
    report.metric(&format!("reg_{tag}variance_peak_to_narrow"), peak / s_var[first].1.max(1e-12));
    let best = s_test.iter().enumerate().min_by(|a, b| a.1.1.total_cmp(&b.1.1)).map(|(i, _)| i).unwrap_or(0);
    report.metric(&format!("reg_{tag}best_width"), widths[best] as f64);
    report.metric(&format!("reg_{tag}best_test_error"), s_test[best].1);
    let name = |base: &str| {
        format!("{base}{}", if tag.is_empty() { String::new() } else { format!("_{}", tag.trim_end_matches('_')) })
    };
    report.tables.push((
        name("reg_decomposition"),
        Table::from_rows(
            &["width", "parameters", "train MSE", "bias²", "variance", "noise", "sum", "test MSE", "|sum − test| (%)"],
            rows,
        ),
    ));
    report.figures.push((name("reg_fits"), Figure::grid(fits, 3)));
    report.figures.push((
        name("reg_training"),
        Figure::lines(
            &format!("Mean training MSE over the {k} models (full-batch Adam, {steps} steps)"),
            "step",
            "training MSE",
            train_curves,
        )
        .x_scale(Scale::Log(10.0))
        .ordered(),
    ));
    report.figures.push((
        name("reg_decomposition"),
        Figure::lines(
            &format!("{steps} steps: noise + bias² + variance against the measured test error"),
            "hidden units",
            "mean squared error",
            vec![
                Series::line("bias²", s_bias),
                Series::line("variance", s_var),
                Series::line("noise σ²", s_noise).style(Style::Dashed),
                Series::line("noise + bias² + variance", s_sum),
                Series::line("measured test error", s_test).style(Style::Points),
                Series::line("training error", s_train).style(Style::Dashed),
            ],
        )
        .x_scale(Scale::Log(2.0)),
    ));
    Ok(())
}

fn classification(c: &Config, report: &mut Report) -> Result<()> {
    let (k, n) = (c.mnist_sets, c.mnist_n);
    let mnist = Mnist::load(MnistKind::Digits)?;
    let train = mnist.train(Scaling::Unit);
    let available = crate::data::Dataset::len(&train) as i64;
    ensure!(k * n <= available, "{k} disjoint sets of {n} images need {} images; MNIST has {available}", k * n);
    let x = train.scaled_inputs().narrow(0, 0, k * n).reshape([k, n, 784]);
    let y = train.labels().narrow(0, 0, k * n).reshape([k, n]);
    let test = mnist.test(Scaling::Unit);
    let j = c.mnist_test.min(crate::data::Dataset::len(&test) as i64);
    let x_test = test.scaled_inputs().narrow(0, 0, j).reshape([j, 784]);
    let y_test = test.labels().narrow(0, 0, j);

    let shown = train.inputs().narrow(0, 0, k * n).reshape([k, n, 28, 28]).narrow(0, 0, 3.min(k)).narrow(1, 0, 8);
    let shown = shown.reshape([-1, 28, 28]).to_kind(Kind::Float) / 255.0;
    let labels: Vec<i64> = Vec::try_from(y.narrow(0, 0, 3.min(k)).narrow(1, 0, 8).reshape([-1]))?;
    let captions: Vec<String> = labels.iter().enumerate().map(|(i, l)| format!("set {}: {l}", i / 8 + 1)).collect();
    report.figures.push((
        "mnist_sets".into(),
        Figure::image_grid(
            &format!("{k} disjoint training sets of {n} images: the first 8 of three"),
            &shown,
            &captions,
            8,
            false,
        )?,
    ));

    let (mut rows, mut curves) = (Vec::new(), Vec::new());
    let (mut s_err, mut s_bias, mut s_var, mut s_net, mut s_unb, mut s_bvar, mut s_train) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut worst: f64 = 0.0;
    for &w in &c.mnist_widths.0 {
        let config = MlpConfig::new(784, &[w], 10).activation(Activation::Relu);
        let mut ensemble = MlpEnsemble::new(&config, k, c.seed)?;
        let train_cfg = EnsembleTrain::sgd(c.mnist_lr, c.mnist_epochs, EnsembleLoss::CrossEntropy)
            .batch(c.mnist_batch)
            .seed(c.seed);
        let history = ensemble.fit(&x, &y, &train_cfg)?;
        let preds = ensemble.predict(&x_test, 2000).argmax(-1, false);
        let train_preds = ensemble.predict(&x, 2000).argmax(-1, false);
        let train_err = 1.0 - train_preds.eq_tensor(&y).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        let d = zero_one_decomposition(&preds, &y_test, 10)?;
        worst = worst.max((d.error - (d.bias + d.net_variance)).abs());
        let lx = w as f64;
        s_err.push((lx, 100.0 * d.error));
        s_bias.push((lx, 100.0 * d.bias));
        s_var.push((lx, 100.0 * d.variance));
        s_net.push((lx, 100.0 * d.net_variance));
        s_unb.push((lx, 100.0 * d.unbiased_variance));
        s_bvar.push((lx, 100.0 * d.biased_variance));
        s_train.push((lx, 100.0 * train_err));
        for (name, v) in [
            ("error", d.error),
            ("bias", d.bias),
            ("variance", d.variance),
            ("net_variance", d.net_variance),
            ("train_error", train_err),
        ] {
            report.metric(&format!("mnist_w{w}_{name}"), 100.0 * v);
        }
        rows.push(vec![
            w.to_string(),
            format!("{:.2}", 100.0 * train_err),
            format!("{:.2}", 100.0 * d.error),
            format!("{:.2}", 100.0 * d.bias),
            format!("{:.2}", 100.0 * d.variance),
            format!("{:.2}", 100.0 * d.unbiased_variance),
            format!("{:.2}", 100.0 * d.biased_variance),
            format!("{:.2}", 100.0 * d.net_variance),
        ]);
        curves.push(Series::line(&format!("w = {w}"), history.curve("train", "loss")));
    }
    let last = s_err.len() - 1;
    report.metric("mnist_identity_max_gap", worst);
    report.metric("mnist_bias_drop", s_bias[0].1 - s_bias[last].1);
    report.metric("mnist_variance_drop", s_var[0].1 - s_var[last].1);
    report.metric("mnist_widest_error", s_err[last].1);
    report.metric("mnist_widest_bias", s_bias[last].1);
    report.metric("mnist_widest_net_variance", s_net[last].1);
    report.tables.push((
        "mnist_decomposition".into(),
        Table::from_rows(
            &[
                "width",
                "train error (%)",
                "test error (%)",
                "bias (%)",
                "variance (%)",
                "unbiased var. (%)",
                "biased var. (%)",
                "net variance (%)",
            ],
            rows,
        ),
    ));
    report.figures.push((
        "mnist_training".into(),
        Figure::lines(&format!("Mean training loss over the {k} models (SGD)"), "epoch", "cross-entropy", curves)
            .ordered(),
    ));
    report.figures.push((
        "mnist_decomposition".into(),
        Figure::lines(
            &format!("0–1 loss vs capacity on MNIST ({k} training sets of {n} images)"),
            "hidden units",
            "% of test points",
            vec![
                Series::line("test error", s_err),
                Series::line("bias (main prediction wrong)", s_bias),
                Series::line("variance (disagree with main)", s_var),
                Series::line("net variance = error − bias", s_net).style(Style::Dashed),
                Series::line("training error", s_train).style(Style::Dashed),
                Series::line("variance on unbiased points", s_unb).style(Style::Points),
                Series::line("variance on biased points", s_bvar).style(Style::Points),
            ],
        )
        .x_scale(Scale::Log(2.0)),
    ));
    Ok(())
}
