//! Wide vs deep: MLPs with (about) the same number of parameters, one wide hidden layer
//! vs several narrow ones; and the gradient per layer of an 8-hidden-layer MLP at
//! initialisation, with sigmoid vs ReLU and with three weight inits.
//!
//! The steps, each a function the notebook calls on its own: [`data`], [`model`] (one
//! depth at the budget), [`train`] (one depth), [`gradient_cases`] and [`gradients`]
//! (one activation and init), then [`results`] and [`present`]. [`run`] is exactly these steps in order.

use std::time::Instant;

use anyhow::Result;

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::data::{DataLoader, MnistKind, Scaling};
use crate::display::Table;
use crate::model::{Activation, Init, Mlp, MlpConfig};
use crate::plot::{Figure, Scale, Series};
use crate::train::{LayerGradients, Loss, TrainConfig, layer_gradients};

super::settings! {
    /// Settings: depths 1, 2, 4, 8 with about 100,000 parameters each, ReLU, SGD 0.1,
    /// batch 64; gradients of an 8-hidden-layer MLP of width 64 at initialisation, on
    /// the first 1,000 training images.
    ///
    /// ```
    /// let c = tchlab::experiments::wide_vs_deep::Config::lecture();
    /// assert_eq!(c.depths.0, vec![1, 2, 4, 8]);
    /// ```
    "wide-vs-deep",
    pub struct Config {
        /// Numbers of hidden layers compared.
        depths: List<usize> = List(vec![1, 2, 4, 8]),
        /// Parameter budget of each model.
        budget: i64 = 100_000,
        /// Hidden activation of the comparison.
        activation: Activation = Activation::Relu,
        /// SGD learning rate.
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 64,
        /// Epochs.
        epochs: usize = 5,
        /// Training images (0: all 60,000).
        train_size: usize = 0,
        /// Hidden layers of the gradient model.
        grad_depth: usize = 8,
        /// Width of the gradient model.
        grad_width: i64 = 64,
        /// Training images the gradients are taken on (the first ones).
        grad_images: usize = 1000,
        /// Standard deviation of the N(0, std²) weights that make ReLU gradients explode.
        explode_std: f64 = 1.0,
        /// Seed.
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 10,000 training images, 3 epochs.
    pub fn ci() -> Self {
        Config { train_size: 10_000, epochs: 3, ..Self::lecture() }
    }
}

/// The width that gives `depth` equal hidden layers about `budget` parameters
/// (784 inputs, 10 outputs).
///
/// ```
/// let w = tchlab::experiments::wide_vs_deep::width_for_budget(1, 100_000);
/// assert_eq!(w, 126);
/// ```
pub fn width_for_budget(depth: usize, budget: i64) -> i64 {
    let params = |h: i64| MlpConfig::new(784, &vec![h; depth], 10).parameter_count();
    (1..4096).min_by_key(|&h| (params(h) - budget).abs()).unwrap_or(1)
}

/// The data of every step: MNIST in [0, 1], shuffled training minibatches, the test
/// set, and the images the gradients are taken on.
pub struct Data {
    /// Training minibatches (shuffled with the seed).
    pub train: DataLoader,
    /// The 10,000 test images.
    pub test: DataLoader,
    /// The first `grad_images` training images and their labels.
    pub probe: (tch::Tensor, tch::Tensor),
}

/// Step 1: loads MNIST (the first `train_size` training images).
///
/// ```no_run
/// use tchlab::experiments::wide_vs_deep;
/// let data = wide_vs_deep::data(&wide_vs_deep::Config::ci())?;
/// assert_eq!(data.probe.0.size(), vec![1000, 784]);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let n = c.grad_images.min(crate::data::Dataset::len(&splits.train));
    anyhow::ensure!(n > 0, "grad_images = 0: the gradients need at least one image (e.g. --set grad_images=1000)");
    let probe = crate::data::Dataset::batch(&splits.train, &(0..n).collect::<Vec<_>>(), 0)?;
    Ok(Data {
        train: DataLoader::new(splits.train, c.batch)?.shuffle(c.seed),
        test: DataLoader::new(splits.test, 1000)?,
        probe: (probe.0.flatten(1, -1), probe.1),
    })
}

/// Step 2: the MLP with `depth` equal hidden layers at the parameter budget.
///
/// ```
/// use tchlab::experiments::wide_vs_deep;
/// let m = wide_vs_deep::model(&wide_vs_deep::Config::lecture(), 2);
/// assert_eq!(m.describe(), "784-110-110-10 relu");
/// ```
pub fn model(c: &Config, depth: usize) -> MlpConfig {
    MlpConfig::new(784, &vec![width_for_budget(depth, c.budget); depth], 10).activation(c.activation)
}

/// Step 3: trains the MLP of [`model`] with `depth` hidden layers (SGD, `epochs`) and
/// measures its test accuracy.
pub fn train(c: &Config, data: &Data, depth: usize) -> Result<Trained> {
    let config = model(c, depth);
    println!("== {} ({} parameters) ==", config.describe(), config.parameter_count());
    fit_and_test(&config, c.seed, &data.train, None, &data.test, TrainConfig::sgd(c.lr, c.epochs).seed(c.seed))
}

/// One activation and weight init of the gradient model, with the name its results carry.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientCase {
    /// Prefix of its results, e.g. `relu_kaiming`.
    pub name: String,
    /// Hidden activation.
    pub activation: Activation,
    /// Weight init (biases keep PyTorch's default).
    pub init: Init,
}

/// The four cases of the gradient step: sigmoid and ReLU with PyTorch's default init,
/// ReLU with Kaiming (He) normal weights, and ReLU with N(0, `explode_std`²) weights.
///
/// ```
/// use tchlab::experiments::wide_vs_deep;
/// let cases = wide_vs_deep::gradient_cases(&wide_vs_deep::Config::lecture());
/// let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
/// assert_eq!(names, ["sigmoid", "relu", "relu_kaiming", "relu_normal"]);
/// ```
pub fn gradient_cases(c: &Config) -> Vec<GradientCase> {
    let case = |name: &str, activation, init| GradientCase { name: name.into(), activation, init };
    vec![
        case("sigmoid", Activation::Sigmoid, Init::Default),
        case("relu", Activation::Relu, Init::Default),
        case("relu_kaiming", Activation::Relu, Init::KaimingNormal),
        case("relu_normal", Activation::Relu, Init::Normal { mean: 0.0, std: c.explode_std }),
    ]
}

/// Step 5: the gradient model (`grad_depth` hidden layers of `grad_width`) of `case`,
/// freshly initialised with the seed, and its gradient per layer on the probe images
/// (cross-entropy; no training step).
pub fn gradients(c: &Config, data: &Data, case: &GradientCase) -> Result<LayerGradients> {
    let config =
        MlpConfig::new(784, &vec![c.grad_width; c.grad_depth], 10).activation(case.activation).weight_init(case.init);
    let model = Mlp::new(&config, c.seed)?;
    let g = layer_gradients(&model, &data.probe.0, &data.probe.1, Loss::CrossEntropy)?;
    let show = |v: &[f64]| v.iter().map(|v| format!("{v:.1e}")).collect::<Vec<_>>().join(" ");
    println!("{:<13} {} | loss {:.3}", case.name, config.describe(), g.loss);
    println!("  ‖∂L/∂W‖ per layer: {}", show(&g.weights));
    println!("  ‖∂L/∂h‖ per layer: {}", show(&g.activations));
    Ok(g)
}

/// Gradient norms per layer at initialisation (log scale), one line per case.
///
/// ```
/// let c = tchlab::experiments::wide_vs_deep::Config::ci();
/// let figure = tchlab::experiments::wide_vs_deep::gradient_norms_figure(&c, &[]);
/// ```
pub fn gradient_norms_figure(c: &Config, gradients: &[(GradientCase, LayerGradients)]) -> Figure {
    gradient_figure(c, gradients, false)
}

/// ‖∂L/∂h‖ per layer at initialisation (what backpropagation carries), one line per case.
///
/// ```
/// let c = tchlab::experiments::wide_vs_deep::Config::ci();
/// let figure = tchlab::experiments::wide_vs_deep::backprop_norms_figure(&c, &[]);
/// ```
pub fn backprop_norms_figure(c: &Config, gradients: &[(GradientCase, LayerGradients)]) -> Figure {
    gradient_figure(c, gradients, true)
}

/// One figure of gradient norms per layer (log scale), one line per case: of the weights,
/// or with `activations` of the layers' outputs.
fn gradient_figure(c: &Config, gradients: &[(GradientCase, LayerGradients)], activations: bool) -> Figure {
    let series = gradients
        .iter()
        .map(|(case, g)| {
            let v = if activations { &g.activations } else { &g.weights };
            let points = v.iter().enumerate().map(|(l, v)| ((l + 1) as f64, v.max(1e-30))).collect();
            Series::line(&case.name, points)
        })
        .collect();
    let (what, y) =
        if activations { ("output", "‖∂L/∂h‖ (log scale)") } else { ("weight", "‖∂L/∂W‖ (log scale)") };
    Figure::lines(
        &format!("Gradient per layer's {what} at initialisation ({} hidden layers)", c.grad_depth),
        "layer (input → output)",
        y,
        series,
    )
    .y_scale(Scale::Log(10.0))
}

/// One depth at the parameter budget, named `depth4_test_accuracy`, `depth4_parameters`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthOutcome {
    /// Hidden layers.
    pub depth: usize,
    /// Their width.
    pub width: i64,
    /// Parameters.
    pub parameters: i64,
    /// Test accuracy (%).
    pub test_accuracy: f64,
}

impl super::MetricValue for DepthOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("depth{}_test_accuracy", self.depth), self.test_accuracy));
        out.push((format!("depth{}_parameters", self.depth), self.parameters as f64));
    }
}

/// One gradient case at initialisation, named after the case: `relu_kaiming_grad_ratio_first_to_last`, … .
#[derive(Clone, Debug, PartialEq)]
pub struct GradientOutcome {
    /// The case's name, e.g. `relu_kaiming`.
    pub name: String,
    /// ‖∂L/∂W₁‖ / ‖∂L/∂W_last‖.
    pub grad_ratio_first_to_last: f64,
    /// ‖∂L/∂h₁‖ / ‖∂L/∂h_last‖.
    pub backprop_ratio_first_to_last: f64,
    /// ‖∂L/∂W₁‖.
    pub grad_first_layer: f64,
}

impl super::MetricValue for GradientOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{}_grad_ratio_first_to_last", self.name), self.grad_ratio_first_to_last));
        out.push((format!("{}_backprop_ratio_first_to_last", self.name), self.backprop_ratio_first_to_last));
        out.push((format!("{}_grad_first_layer", self.name), self.grad_first_layer));
    }
}

crate::results! {
    /// Depth at a fixed budget, and gradient norms at initialisation.
    pub struct Results {
        /// Per depth, in the order trained.
        depths: Vec<DepthOutcome>,
        /// Per gradient case.
        gradients: Vec<GradientOutcome>,
    }
}

/// The numbers of the trained depths and the gradient cases.
///
/// ```
/// let r = tchlab::experiments::wide_vs_deep::results(&[], &[]);
/// assert!(r.depths.is_empty() && r.gradients.is_empty());
/// ```
pub fn results(trained: &[&Trained], gradients: &[(GradientCase, LayerGradients)]) -> Results {
    Results {
        depths: trained
            .iter()
            .map(|t| {
                let m = t.model.config();
                DepthOutcome {
                    depth: m.hidden.len(),
                    width: m.hidden.first().copied().unwrap_or(0),
                    parameters: m.parameter_count(),
                    test_accuracy: t.test_accuracy,
                }
            })
            .collect(),
        gradients: gradients
            .iter()
            .map(|(case, g)| GradientOutcome {
                name: case.name.clone(),
                grad_ratio_first_to_last: g.weight_ratio(),
                backprop_ratio_first_to_last: g.activation_ratio(),
                grad_first_layer: g.weights.first().copied().unwrap_or(f64::NAN),
            })
            .collect(),
    }
}

/// The depths: layers, width, parameters and test accuracy.
///
/// ```
/// let r = tchlab::experiments::wide_vs_deep::results(&[], &[]);
/// assert!(tchlab::experiments::wide_vs_deep::models_table(&r).rows.is_empty());
/// ```
pub fn models_table(results: &Results) -> Table {
    let rows = results
        .depths
        .iter()
        .map(|d| {
            vec![d.depth.to_string(), d.width.to_string(), d.parameters.to_string(), format!("{:.2}", d.test_accuracy)]
        })
        .collect();
    Table::from_rows(&["hidden layers", "width", "parameters", "test acc (%)"], rows)
}

/// The gradient cases: first-layer gradient norm and the first-to-last ratios.
///
/// ```
/// assert!(tchlab::experiments::wide_vs_deep::gradients_table(&[]).rows.is_empty());
/// ```
pub fn gradients_table(gradients: &[(GradientCase, LayerGradients)]) -> Table {
    let e = |v: f64| format!("{v:.2e}");
    let rows = gradients
        .iter()
        .map(|(case, g)| {
            vec![
                case.name.clone(),
                case.init.to_string(),
                e(g.weights.first().copied().unwrap_or(f64::NAN)),
                e(g.weight_ratio()),
                e(g.activation_ratio()),
            ]
        })
        .collect();
    let header = ["case", "weight init", "‖∂L/∂W₁‖", "‖∂L/∂W₁‖ / ‖∂L/∂W_last‖", "‖∂L/∂h₁‖ / ‖∂L/∂h_last‖"];
    Table::from_rows(&header, rows)
}

/// Every table and figure and the histories, as `tchlab run` saves them.
///
/// ```
/// let c = tchlab::experiments::wide_vs_deep::Config::ci();
/// let r = tchlab::experiments::wide_vs_deep::results(&[], &[]);
/// let p = tchlab::experiments::wide_vs_deep::present(&c, &[], &[], &r);
/// assert_eq!(p.figure_names(), vec!["accuracy", "gradient_norms", "backprop_norms"]);
/// ```
pub fn present(
    c: &Config,
    trained: &[&Trained],
    gradients: &[(GradientCase, LayerGradients)],
    results: &Results,
) -> Presentation {
    let names: Vec<String> = trained
        .iter()
        .map(|t| {
            let m = t.model.config();
            format!("{}×{}", m.hidden.len(), m.hidden.first().copied().unwrap_or(0))
        })
        .collect();
    let refs: Vec<(&str, &crate::train::History)> =
        names.iter().zip(trained).map(|(n, t)| (n.as_str(), &t.history)).collect();
    let mut p = Presentation::default()
        .table("models", models_table(results))
        .figure("accuracy", Figure::curves("Same budget, different depth", &refs, "accuracy"))
        .table("gradients", gradients_table(gradients))
        .figure("gradient_norms", gradient_figure(c, gradients, false))
        .figure("backprop_norms", gradient_figure(c, gradients, true));
    for (name, t) in names.iter().zip(trained) {
        p = p.history(name, t.history.clone());
    }
    p
}

/// All steps in order: data, one training per depth, the gradients of every case, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let trained = c.depths.0.iter().map(|&d| train(c, &data, d)).collect::<Result<Vec<_>>>()?;
    let gradients = gradient_cases(c)
        .into_iter()
        .map(|case| Ok((case.clone(), gradients(c, &data, &case)?)))
        .collect::<Result<Vec<_>>>()?;
    let trained: Vec<&Trained> = trained.iter().collect();
    let results = results(&trained, &gradients);
    Ok(c.report(&results, present(c, &trained, &gradients, &results), clock))
}
