//! Failure cases, overfitting and underfitting: an MNIST MLP's misclassified test
//! digits and confusion matrix, train vs validation curves, and sweeps of capacity
//! and training-set size.

use std::time::Instant;

use anyhow::Result;

use super::{List, Report, mnist_splits, train_mlp};
use crate::data::{DataLoader, MnistKind, Scaling, Subset};
use crate::display::Table;
use crate::metrics::Interpretation;
use crate::model::{Activation, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{Loss, TrainConfig};

super::settings! {
    /// Settings: 784-128-256-10 ReLU, SGD 0.1, batch 64, 10 epochs (≈97.5% test),
    /// first 55,000 images for training and the last 5,000 for validation.
    ///
    /// ```
    /// let c = tchlab::experiments::failure_cases::Config::lecture();
    /// assert_eq!(c.hidden.0, vec![128, 256]);
    /// ```
    "failure-cases",
    pub struct Config {
        /// Hidden layer sizes.
        hidden: List<i64> = List(vec![128, 256]),
        /// Hidden activation.
        activation: Activation = Activation::Relu,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// L2 weight decay.
        weight_decay: f64 = 0.0,
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 10,
        /// Seed.
        seed: u64 = 1,
        /// Widths of the one-hidden-layer capacity sweep.
        sweep_widths: List<i64> = List(vec![1, 2, 4, 16, 64, 256]),
        /// Training-set sizes of the data sweep.
        sweep_sizes: List<usize> = List(vec![250, 1000, 4000, 16000]),
        /// Training images of the capacity sweep.
        sweep_train: usize = 2000,
        /// Epochs of each sweep run.
        sweep_epochs: usize = 30,
    }
}

impl Config {
    /// CI: the same main model; lighter sweeps.
    pub fn ci() -> Self {
        Config { sweep_epochs: 10, sweep_sizes: List(vec![250, 1000, 4000]), ..Self::lecture() }
    }
}

/// Trains, analyses the errors and sweeps capacity and data size.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("failure-cases");
    report.settings = c.to_params().entries();
    let data = mnist_splits(MnistKind::Digits, Scaling::Unit, 0, 5000)?;
    let test_ds = std::sync::Arc::new(data.test);
    let train_ds = std::sync::Arc::new(data.train);
    let train = DataLoader::from_arc(train_ds.clone(), c.batch)?.shuffle(c.seed);
    let valid = DataLoader::new(data.valid.ok_or_else(|| anyhow::anyhow!("no validation split"))?, 1000)?;
    let test = DataLoader::from_arc(test_ds.clone(), 1000)?;
    let model = MlpConfig::new(784, &c.hidden.0, 10).activation(c.activation);
    let tc = TrainConfig::sgd(c.lr, c.epochs).seed(c.seed).optimizer(crate::train::OptimizerKind::Sgd {
        lr: c.lr,
        momentum: 0.0,
        weight_decay: c.weight_decay,
    });
    let (mlp, history, test_acc) = train_mlp(&model, c.seed, &train, Some(&valid), &test, tc)?;
    println!("{}: test accuracy {test_acc:.2}%", model.describe());
    report.metric("train_accuracy", 100.0 * history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("valid_accuracy", 100.0 * history.last("valid").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("test_accuracy", test_acc);

    let interp = Interpretation::from_model(&mlp, &test, Loss::CrossEntropy)?;
    let wrong = interp.misclassified();
    report.metric("misclassified", wrong.len() as f64);
    let first: Vec<usize> = wrong.iter().take(25).map(|m| m.index).collect();
    let images = test_ds
        .inputs()
        .index_select(0, &tch::Tensor::from_slice(&first.iter().map(|&i| i as i64).collect::<Vec<_>>()));
    let captions: Vec<String> = wrong.iter().take(25).map(|m| format!("t: {} p: {}", m.target, m.predicted)).collect();
    let grid = Figure::image_grid(
        "Misclassified test digits",
        &(images.to_kind(tch::Kind::Float) / 255.0),
        &captions,
        5,
        false,
    )?;
    let classes: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let confusion = Figure::confusion_matrix(&interp.confusion_matrix(), &classes);
    let confused: Vec<Vec<String>> =
        interp.most_confused(8).iter().map(|(t, p, n)| vec![t.to_string(), p.to_string(), n.to_string()]).collect();
    report.tables.push(("most_confused".into(), Table::from_rows(&["true", "predicted", "count"], confused)));
    let top: Vec<Vec<String>> = interp
        .top_losses(8)
        .iter()
        .map(|m| {
            vec![
                m.index.to_string(),
                m.target.to_string(),
                m.predicted.to_string(),
                format!("{:.3}", m.probability),
                format!("{:.2}", m.loss),
            ]
        })
        .collect();
    report
        .tables
        .push(("top_losses".into(), Table::from_rows(&["index", "target", "predicted", "p(predicted)", "loss"], top)));

    // Capacity sweep on a small training set: under- then overfitting.
    let small = Subset::range(train_ds.clone(), 0..c.sweep_train.min(train_ds_len(&train_ds)))?;
    let small_loader = DataLoader::new(small, 64)?.shuffle(c.seed);
    let mut cap_train = Vec::new();
    let mut cap_test = Vec::new();
    let mut cap_rows = Vec::new();
    for &w in &c.sweep_widths.0 {
        let cfg = MlpConfig::new(784, &[w], 10).activation(Activation::Relu);
        let (_, h, acc) = train_mlp(
            &cfg,
            c.seed,
            &small_loader,
            None,
            &test,
            TrainConfig::sgd(0.1, c.sweep_epochs).seed(c.seed).quiet(),
        )?;
        let tr = 100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN);
        cap_train.push(((w as f64).log2(), tr));
        cap_test.push(((w as f64).log2(), acc));
        cap_rows.push(vec![w.to_string(), cfg.parameter_count().to_string(), format!("{tr:.2}"), format!("{acc:.2}")]);
        report.metric(&format!("capacity_w{w}_test_accuracy"), acc);
    }
    report.tables.push((
        "capacity".into(),
        Table::from_rows(&["hidden units", "parameters", "train acc (%)", "test acc (%)"], cap_rows),
    ));
    // Training-set size sweep with the main model's shape.
    let mut size_train = Vec::new();
    let mut size_test = Vec::new();
    for &n in &c.sweep_sizes.0 {
        let sub = Subset::range(train_ds.clone(), 0..n.min(train_ds_len(&train_ds)))?;
        let loader = DataLoader::new(sub, 64)?.shuffle(c.seed);
        let (_, h, acc) = train_mlp(
            &model,
            c.seed,
            &loader,
            None,
            &test,
            TrainConfig::sgd(0.1, c.sweep_epochs).seed(c.seed).quiet(),
        )?;
        size_train.push(((n as f64).log10(), 100.0 * h.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN)));
        size_test.push(((n as f64).log10(), acc));
        report.metric(&format!("size_n{n}_test_accuracy"), acc);
    }
    report.figures.push(("misclassified".into(), grid));
    report.figures.push(("confusion_matrix".into(), confusion));
    report
        .figures
        .push(("train_vs_valid".into(), Figure::curves("Train vs validation loss", &[("", &history)], "loss")));
    report.figures.push((
        "capacity_sweep".into(),
        Figure::lines(
            &format!("Capacity: one hidden layer, {} training images", c.sweep_train),
            "log2(hidden units)",
            "accuracy (%)",
            vec![Series::line("train", cap_train), Series::line("test", cap_test)],
        ),
    ));
    report.figures.push((
        "size_sweep".into(),
        Figure::lines(
            &format!("Training-set size ({})", model.describe()),
            "log10(training images)",
            "accuracy (%)",
            vec![Series::line("train", size_train), Series::line("test", size_test)],
        ),
    ));
    report.histories.push(("mlp".into(), history));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}

fn train_ds_len(ds: &std::sync::Arc<crate::data::TensorDataset>) -> usize {
    crate::data::Dataset::len(ds.as_ref())
}
