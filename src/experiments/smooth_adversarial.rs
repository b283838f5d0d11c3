//! Smooth adversarial training (Xie et al. 2020): MNIST MLPs with ReLU and with smooth
//! activations (softplus, GELU, SiLU, ELU), trained normally and adversarially; their
//! accuracy on clean test images and under FGSM and PGD attacks within an L∞ budget ε.
//!
//! The steps, each a function that `run` composes in this order (a notebook calls them
//! one by one): [`data`], [`train`] per activation (standard training), [`robustness`]
//! per model, [`train_adversarial`] per activation, [`robustness`] again, [`examples`],
//! [`results`] and [`present`].

use std::time::Instant;

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{List, Presentation, Report, Trained, fit_and_test, mnist_splits};
use crate::attack::{AdversarialInputs, Attack, evaluate_under_attack};
use crate::data::{DataLoader, MnistKind, Scaling, TensorDataset};
use crate::display::Table;
use crate::model::{Activation, Mlp, MlpConfig};
use crate::plot::{Figure, Series};
use crate::train::{TrainConfig, Trainer};

super::settings! {
    /// Settings: 784-256-10 MLPs, SGD 0.1, batch 100, 4 + 4 epochs on all 60,000 training
    /// images, 4,000 test images attacked; ε = 0.1 on pixels in [0, 1];
    /// PGD-10 with step ε/4 and a random start to evaluate; adversarial training on
    /// FGSM examples from a random start with step 1.25ε (Wong et al. 2020).
    ///
    /// ```
    /// let c = tchlab::experiments::smooth_adversarial::Config::lecture();
    /// assert_eq!(c.activations.0.len(), 5);
    /// assert_eq!(c.epsilon, 0.1);
    /// ```
    "smooth-adversarial",
    pub struct Config {
        /// Hidden activations compared (ReLU first: the figures' examples use it).
        activations: List<Activation> = List(vec![Activation::Relu, Activation::Softplus, Activation::Gelu, Activation::Silu, Activation::Elu(1.0)]),
        /// Hidden layer sizes.
        hidden: List<i64> = List(vec![256]),
        /// SGD learning rate (both trainings).
        lr: f64 = 0.1,
        /// Minibatch size.
        batch: usize = 100,
        /// Epochs of standard training.
        epochs: usize = 4,
        /// Epochs of adversarial training.
        adv_epochs: usize = 4,
        /// Training images (0: all 60,000).
        train_size: usize = 0,
        /// Test images, clean and attacked (the first ones of the test set).
        test_size: usize = 4_000,
        /// The L∞ budget of the attacks and of adversarial training.
        epsilon: f64 = 0.1,
        /// Steps of the evaluation PGD attack.
        pgd_steps: usize = 10,
        /// Step of the evaluation PGD attack, as a fraction of ε.
        pgd_step: f64 = 0.25,
        /// Steps of the attack that makes the adversarial-training examples (1: FGSM).
        train_steps: usize = 1,
        /// Step of the adversarial-training attack, as a fraction of ε.
        train_step: f64 = 1.25,
        /// The budgets of the accuracy-vs-ε curves (PGD with the same steps).
        epsilons: List<f64> = List(vec![0.0, 0.05, 0.1, 0.15, 0.2]),
        /// Seed (weights, shuffling, random starts).
        seed: u64 = 1,
    }
}

impl Config {
    /// CI: 10,000 training images, 2,000 test images, 3 + 3 epochs, a shorter curve.
    pub fn ci() -> Self {
        Config {
            train_size: 10_000,
            test_size: 2_000,
            epochs: 3,
            adv_epochs: 3,
            epsilons: List(vec![0.0, 0.05, 0.1, 0.2]),
            ..Self::lecture()
        }
    }

    fn check(&self) -> Result<()> {
        ensure!(!self.activations.0.is_empty(), "activations is empty: give at least one, e.g. activations=relu,gelu");
        ensure!(self.test_size > 0, "test_size = 0: attack at least one test image");
        ensure!(
            self.epsilons.0.iter().all(|e| e.is_finite() && (0.0..=1.0).contains(e)),
            "epsilons {} must all be in [0, 1]",
            self.epsilons
        );
        self.fgsm().validate()?;
        self.pgd(self.epsilon).validate()?;
        self.training_attack().validate()
    }

    /// FGSM at ε.
    ///
    /// ```
    /// let c = tchlab::experiments::smooth_adversarial::Config::lecture();
    /// assert_eq!(c.fgsm().describe(), "FGSM ε=0.1");
    /// ```
    pub fn fgsm(&self) -> Attack {
        Attack::fgsm(self.epsilon)
    }

    /// The evaluation PGD attack at budget `epsilon` (random start from the seed).
    ///
    /// ```
    /// let c = tchlab::experiments::smooth_adversarial::Config::lecture();
    /// assert_eq!(c.pgd(0.1).describe(), "PGD-10 ε=0.1 (step 0.025, random start)");
    /// ```
    pub fn pgd(&self, epsilon: f64) -> Attack {
        Attack::pgd(epsilon, self.pgd_step * epsilon, self.pgd_steps).random_start(self.seed)
    }

    /// The attack that makes the adversarial-training examples (its own random stream).
    ///
    /// ```
    /// let c = tchlab::experiments::smooth_adversarial::Config::lecture();
    /// assert_eq!(c.training_attack().describe(), "PGD-1 ε=0.1 (step 0.125, random start)");
    /// ```
    pub fn training_attack(&self) -> Attack {
        Attack::pgd(self.epsilon, self.train_step * self.epsilon, self.train_steps)
            .random_start(crate::rng::mix(self.seed ^ 0xad))
    }
}

/// The training images (shuffled with the seed) and the test images the models are
/// measured on, clean and attacked.
pub struct Data {
    /// Training minibatches.
    pub train: DataLoader,
    /// The first `test_size` test images, in batches of 1,000.
    pub test: DataLoader,
    /// The same test images as one dataset (for the figure of adversarial examples).
    pub test_images: std::sync::Arc<TensorDataset>,
}

/// Loads MNIST (pixels in [0, 1]).
///
/// ```no_run
/// let c = tchlab::experiments::smooth_adversarial::Config::ci();
/// let data = tchlab::experiments::smooth_adversarial::data(&c)?;
/// assert_eq!(data.test.examples_per_epoch(), 2_000);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
    c.check()?;
    let splits = mnist_splits(MnistKind::Digits, Scaling::Unit, c.train_size, 0)?;
    let n = (c.test_size as i64).min(splits.test.labels().size()[0]);
    let test_images = std::sync::Arc::new(TensorDataset::new(
        splits.test.inputs().narrow(0, 0, n),
        splits.test.labels().narrow(0, 0, n),
        Scaling::Unit,
    )?);
    Ok(Data {
        train: DataLoader::new(splits.train, c.batch)?.shuffle(c.seed),
        test: DataLoader::from_arc(test_images.clone(), 1000)?,
        test_images,
    })
}

/// The MLP with `activation`.
///
/// ```
/// use tchlab::experiments::smooth_adversarial::{Config, model};
/// assert_eq!(model(&Config::lecture(), tchlab::model::Activation::Gelu).describe(), "784-256-10 gelu");
/// ```
pub fn model(c: &Config, activation: Activation) -> MlpConfig {
    MlpConfig::new(784, &c.hidden.0, 10).activation(activation)
}

fn train_config(c: &Config, epochs: usize) -> TrainConfig {
    TrainConfig::sgd(c.lr, epochs).seed(c.seed).eval_train(false)
}

/// Standard training of the MLP with `activation`; its `test_accuracy` is the clean accuracy
/// on the test images.
pub fn train(c: &Config, data: &Data, activation: Activation) -> Result<Trained> {
    let config = model(c, activation);
    println!("== {} ==", config.describe());
    fit_and_test(&config, c.seed, &data.train, None, &data.test, train_config(c, c.epochs))
}

/// Adversarial training of the MLP with `activation` (same initial weights and batches as
/// [`train`]): every minibatch is replaced by its [`Config::training_attack`] examples
/// against the model as it is at that step.
pub fn train_adversarial(c: &Config, data: &Data, activation: Activation) -> Result<Trained> {
    let config = model(c, activation);
    println!("== {} adversarially trained ({}) ==", config.describe(), c.training_attack().describe());
    let mut model = Mlp::on_device(&config, c.seed, data.train.target_device())?;
    let history = Trainer::new(train_config(c, c.adv_epochs))
        .transform(AdversarialInputs::new(c.training_attack()))
        .fit(&mut model, &data.train, None)?;
    let test_accuracy = 100.0 * crate::train::evaluate(&model, &data.test, crate::train::Loss::CrossEntropy)?.accuracy;
    Ok(Trained { model, history, test_accuracy })
}

/// A model's accuracy (%) on the test images: clean, under FGSM and PGD at ε, and under
/// PGD at each budget of the curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Robustness {
    /// The activation.
    pub activation: Activation,
    /// Clean accuracy.
    pub clean: f64,
    /// Accuracy under FGSM at ε.
    pub fgsm: f64,
    /// Accuracy under PGD at ε.
    pub pgd: f64,
    /// `(ε, accuracy under PGD at ε)` for every budget of `epsilons`.
    pub curve: Vec<(f64, f64)>,
}

/// Attacks `trained` with FGSM and PGD at ε and with PGD at every budget of the curve.
pub fn robustness(c: &Config, data: &Data, trained: &Trained) -> Result<Robustness> {
    let model = &trained.model;
    let accuracy =
        |attack: &Attack| -> Result<f64> { Ok(100.0 * evaluate_under_attack(model, &data.test, attack)?.accuracy) };
    let pgd = accuracy(&c.pgd(c.epsilon))?;
    let mut curve = Vec::new();
    for &e in &c.epsilons.0 {
        let value = if e == 0.0 {
            trained.test_accuracy
        } else if e == c.epsilon {
            pgd
        } else {
            accuracy(&c.pgd(e))?
        };
        curve.push((e, value));
    }
    let r = Robustness {
        activation: model.config().activation,
        clean: trained.test_accuracy,
        fgsm: accuracy(&c.fgsm())?,
        pgd,
        curve,
    };
    println!(
        "{}: clean {:.2}%, FGSM {:.2}%, PGD {:.2}% (ε = {})",
        model.config().describe(),
        r.clean,
        r.fgsm,
        r.pgd,
        c.epsilon
    );
    Ok(r)
}

/// Eight test digits (the first the standard model classifies correctly) in three rows:
/// clean with the standard model's prediction, their PGD examples against the standard
/// model, and against the adversarially trained one, each with `t: p:` captions.
pub fn examples(c: &Config, data: &Data, standard: &Mlp, adversarial: &Mlp) -> Result<Figure> {
    let x = data.test_images.scaled_inputs();
    let y = data.test_images.labels();
    let predict = |m: &Mlp, x: &Tensor| {
        let _g = tch::no_grad_guard();
        m.forward(x).argmax(-1, false)
    };
    let right: Vec<i64> = Vec::<bool>::try_from(predict(standard, &x).eq_tensor(y))?
        .iter()
        .enumerate()
        .filter(|(_, ok)| **ok)
        .map(|(i, _)| i as i64)
        .take(8)
        .collect();
    let index = Tensor::from_slice(&right);
    let (x, y) = (x.index_select(0, &index), y.index_select(0, &index));
    let attack = c.pgd(c.epsilon);
    let rows = [x.shallow_clone(), attack.perturb(standard, &x, &y)?, attack.perturb(adversarial, &x, &y)?];
    let models = [standard, standard, adversarial];
    let labels = Vec::<i64>::try_from(&y)?;
    let mut captions = Vec::new();
    for (images, m) in rows.iter().zip(models) {
        for (t, p) in labels.iter().zip(Vec::<i64>::try_from(predict(m, images))?) {
            captions.push(format!("t: {t} p: {p}"));
        }
    }
    let images = Tensor::cat(&rows, 0).to_kind(Kind::Float);
    let name = standard.config().activation.name();
    Figure::image_grid(
        &format!("clean ({name}) / PGD ε={} vs standard {name} / vs adversarially trained {name}", c.epsilon),
        &images,
        &captions,
        right.len().max(1),
        false,
    )
}

/// One network's accuracies under attack, named `relu_std_clean_accuracy`,
/// `relu_std_fgsm_accuracy`, `relu_std_pgd_accuracy` (`adv` after adversarial training).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttackOutcome {
    /// The activation.
    pub activation: Activation,
    /// Adversarially trained.
    pub adversarial: bool,
    /// Clean accuracy (%).
    pub clean: f64,
    /// Accuracy under FGSM at ε (%).
    pub fgsm: f64,
    /// Accuracy under PGD at ε (%).
    pub pgd: f64,
}

impl AttackOutcome {
    /// `std` or `adv`.
    fn kind(&self) -> &'static str {
        if self.adversarial { "adv" } else { "std" }
    }
}

impl super::MetricValue for AttackOutcome {
    fn push_metrics(&self, _field: &str, out: &mut Vec<(String, f64)>) {
        let (a, kind) = (self.activation.name(), self.kind());
        out.push((format!("{a}_{kind}_clean_accuracy"), self.clean));
        out.push((format!("{a}_{kind}_fgsm_accuracy"), self.fgsm));
        out.push((format!("{a}_{kind}_pgd_accuracy"), self.pgd));
    }
}

/// The smooth activations' mean accuracies, named after the field:
/// `smooth_mean_std_clean_accuracy`, `smooth_mean_std_pgd_accuracy` (and `_adv_`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothMean {
    /// Mean clean accuracy (%).
    pub clean: f64,
    /// Mean accuracy under PGD (%).
    pub pgd: f64,
}

impl super::MetricValue for SmoothMean {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        out.push((format!("{field}_clean_accuracy"), self.clean));
        out.push((format!("{field}_pgd_accuracy"), self.pgd));
    }
}

crate::results! {
    /// Accuracies under attack, standard and adversarial training.
    pub struct Results {
        /// Standard training, per activation.
        standard: Vec<AttackOutcome>,
        /// The smooth activations' means, standard training.
        smooth_mean_std: Option<SmoothMean>,
        /// Adversarial training, per activation.
        adversarial: Vec<AttackOutcome>,
        /// The smooth activations' means, adversarial training.
        smooth_mean_adv: Option<SmoothMean>,
    }
}

/// The accuracies of every network under attack and the smooth activations' means.
///
/// ```
/// use tchlab::{experiments::smooth_adversarial::{Robustness, results}, model::Activation};
/// let r = |activation, pgd| Robustness { activation, clean: 98.0, fgsm: 50.0, pgd, curve: vec![] };
/// let out = results(&[r(Activation::Relu, 10.0), r(Activation::Silu, 20.0)], &[]);
/// assert_eq!(out.smooth_mean_std.map(|m| m.pgd), Some(20.0));
/// assert!(out.smooth_mean_adv.is_none());
/// ```
pub fn results(standard: &[Robustness], adversarial: &[Robustness]) -> Results {
    let outcomes = |runs: &[Robustness], adversarial: bool| -> Vec<AttackOutcome> {
        runs.iter()
            .map(|r| AttackOutcome { activation: r.activation, adversarial, clean: r.clean, fgsm: r.fgsm, pgd: r.pgd })
            .collect()
    };
    let smooth_mean = |runs: &[Robustness]| {
        let smooth: Vec<&Robustness> = runs.iter().filter(|r| r.activation != Activation::Relu).collect();
        let mean = |f: fn(&Robustness) -> f64| smooth.iter().map(|r| f(r)).sum::<f64>() / smooth.len() as f64;
        (!smooth.is_empty()).then(|| SmoothMean { clean: mean(|r| r.clean), pgd: mean(|r| r.pgd) })
    };
    Results {
        standard: outcomes(standard, false),
        smooth_mean_std: smooth_mean(standard),
        adversarial: outcomes(adversarial, true),
        smooth_mean_adv: smooth_mean(adversarial),
    }
}

/// Every network's clean, FGSM and PGD accuracy.
///
/// ```
/// let c = tchlab::experiments::smooth_adversarial::Config::ci();
/// let r = tchlab::experiments::smooth_adversarial::results(&[], &[]);
/// assert!(tchlab::experiments::smooth_adversarial::accuracy_table(&c, &r).rows.is_empty());
/// ```
pub fn accuracy_table(c: &Config, results: &Results) -> Table {
    let rows = results
        .standard
        .iter()
        .chain(&results.adversarial)
        .map(|r| {
            vec![
                r.activation.to_string(),
                if r.adversarial { "adversarial" } else { "standard" }.into(),
                format!("{:.2}", r.clean),
                format!("{:.2}", r.fgsm),
                format!("{:.2}", r.pgd),
            ]
        })
        .collect();
    let attack = c.pgd(c.epsilon).describe();
    Table::from_rows(
        &["activation", "training", "clean (%)", &format!("FGSM ε={} (%)", c.epsilon), &format!("{attack} (%)")],
        rows,
    )
}

/// PGD accuracy against ε, one curve per activation; `training` names the runs
/// (`standard training`, `adversarial training`).
///
/// ```
/// let c = tchlab::experiments::smooth_adversarial::Config::ci();
/// let figure = tchlab::experiments::smooth_adversarial::robustness_figure(&c, &[], "standard training");
/// ```
pub fn robustness_figure(c: &Config, runs: &[Robustness], training: &str) -> Figure {
    let series = runs.iter().map(|r| Series::line(r.activation.name(), r.curve.clone())).collect();
    let title = format!("PGD-{} accuracy vs ε, {training}", c.pgd_steps);
    Figure::lines(&title, "ε (L∞, pixels in [0, 1])", "accuracy (%)", series).y_range(0.0, 100.0)
}

/// The table, both curves' figures, the examples and the histories, as `tchlab run`
/// saves them.
///
/// ```
/// use tchlab::{experiments::smooth_adversarial::{Config, present, results}, plot::Figure};
/// let p = present(&Config::ci(), (&[], &[]), &results(&[], &[]), vec![], Figure::lines("t", "x", "y", vec![]));
/// assert_eq!(p.figure_names()[2], "adversarial_examples");
/// ```
pub fn present(
    c: &Config,
    (standard, adversarial): (&[Robustness], &[Robustness]),
    results: &Results,
    histories: Vec<(String, crate::train::History)>,
    examples: Figure,
) -> Presentation {
    let mut p = Presentation::default()
        .table("accuracy", accuracy_table(c, results))
        .figure("robust_vs_epsilon_standard", robustness_figure(c, standard, "standard training"))
        .figure("robust_vs_epsilon_adversarial", robustness_figure(c, adversarial, "adversarial training"))
        .figure("adversarial_examples", examples);
    for (name, h) in histories {
        p = p.history(&name, h);
    }
    p
}

/// Runs every step: standard training and attacks, adversarial training and attacks,
/// the examples, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let acts = &c.activations.0;
    let standard: Vec<Trained> = acts.iter().map(|&a| train(c, &data, a)).collect::<Result<_>>()?;
    let standard_robust: Vec<Robustness> = standard.iter().map(|t| robustness(c, &data, t)).collect::<Result<_>>()?;
    let adversarial: Vec<Trained> = acts.iter().map(|&a| train_adversarial(c, &data, a)).collect::<Result<_>>()?;
    let adversarial_robust: Vec<Robustness> =
        adversarial.iter().map(|t| robustness(c, &data, t)).collect::<Result<_>>()?;
    let figure = examples(c, &data, &standard[0].model, &adversarial[0].model)?;
    let histories = histories(&standard, &adversarial);
    let results = results(&standard_robust, &adversarial_robust);
    Ok(c.report(&results, present(c, (&standard_robust, &adversarial_robust), &results, histories, figure), clock))
}

/// The training histories, named `relu` and `relu_adv`, ….
pub fn histories(standard: &[Trained], adversarial: &[Trained]) -> Vec<(String, crate::train::History)> {
    let name = |t: &Trained, suffix: &str| format!("{}{suffix}", t.model.config().activation.name());
    standard
        .iter()
        .map(|t| (name(t, ""), t.history.clone()))
        .chain(adversarial.iter().map(|t| (name(t, "_adv"), t.history.clone())))
        .collect()
}
