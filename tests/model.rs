//! Activations, inits, MLP training, losses, divergence and shape errors,
//! reproducibility and checkpoints.

mod common;

use tch::{Kind, Tensor};
use tchlab::prelude::*;
use tchlab::train::{load_checkpoint, save_checkpoint};

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double)).unwrap()
}

#[test]
fn every_activation_matches_its_formula_and_derivative() {
    let zs = [-2.5f64, -0.7, -0.1, 0.3, 1.2, 3.0];
    let z = Tensor::from_slice(&zs);
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    let phi = |x: f64| (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let big_phi = |x: f64| 0.5 * (1.0 + libm_erf(x / 2f64.sqrt()));
    type Formula = Box<dyn Fn(f64) -> f64>;
    let cases: Vec<(Activation, Formula, Formula)> = vec![
        (Activation::Identity, Box::new(|x| x), Box::new(|_| 1.0)),
        (Activation::Sigmoid, Box::new(sig), Box::new(move |x| sig(x) * (1.0 - sig(x)))),
        (Activation::Tanh, Box::new(f64::tanh), Box::new(|x: f64| 1.0 - x.tanh().powi(2))),
        (
            Activation::HardTanh,
            Box::new(|x: f64| x.clamp(-1.0, 1.0)),
            Box::new(|x: f64| if x.abs() < 1.0 { 1.0 } else { 0.0 }),
        ),
        (Activation::Relu, Box::new(|x: f64| x.max(0.0)), Box::new(|x| if x > 0.0 { 1.0 } else { 0.0 })),
        (Activation::LeakyRelu(0.1), Box::new(|x: f64| x.max(0.1 * x)), Box::new(|x| if x > 0.0 { 1.0 } else { 0.1 })),
        (
            Activation::Elu(1.0),
            Box::new(|x: f64| if x >= 0.0 { x } else { x.exp() - 1.0 }),
            Box::new(|x: f64| if x > 0.0 { 1.0 } else { x.exp() }),
        ),
        (
            Activation::Prelu(0.25),
            Box::new(|x: f64| if x >= 0.0 { x } else { 0.25 * x }),
            Box::new(|x| if x > 0.0 { 1.0 } else { 0.25 }),
        ),
        (Activation::Softplus, Box::new(softplus), Box::new(sig)),
        (
            Activation::Softsign,
            Box::new(|x: f64| x / (1.0 + x.abs())),
            Box::new(|x: f64| 1.0 / (1.0 + x.abs()).powi(2)),
        ),
        (Activation::Silu, Box::new(move |x| x * sig(x)), Box::new(move |x| sig(x) * (1.0 + x * (1.0 - sig(x))))),
        (
            Activation::Mish,
            Box::new(move |x| x * softplus(x).tanh()),
            Box::new(move |x| softplus(x).tanh() + x * sig(x) * (1.0 - softplus(x).tanh().powi(2))),
        ),
        (Activation::Gelu, Box::new(move |x| x * big_phi(x)), Box::new(move |x| big_phi(x) + x * phi(x))),
        (Activation::LogSigmoid, Box::new(move |x| sig(x).ln()), Box::new(move |x| 1.0 - sig(x))),
        (Activation::Sinc, Box::new(|x: f64| x.sin() / x), Box::new(|x: f64| (x * x.cos() - x.sin()) / (x * x))),
        (Activation::Step, Box::new(|x| if x >= 0.0 { 1.0 } else { 0.0 }), Box::new(|_| 0.0)),
    ];
    assert_eq!(cases.len(), Activation::ALL.len(), "every lecture activation is tested");
    for (a, f, df) in &cases {
        let y = values(&a.apply(&z, None));
        let dy = values(&a.derivative(&z));
        for (k, &x) in zs.iter().enumerate() {
            assert!((y[k] - f(x)).abs() < 1e-6, "{a}({x}) = {} but the formula gives {}", y[k], f(x));
            assert!((dy[k] - df(x)).abs() < 1e-6, "{a}'({x}) = {} but the formula gives {}", dy[k], df(x));
        }
        assert_eq!(Activation::parse(&a.to_string()).unwrap(), *a);
    }
    // sinc is 1 at 0.
    assert!((Activation::Sinc.apply(&Tensor::from_slice(&[0.0f64]), None).double_value(&[0]) - 1.0).abs() < 1e-12);
}

/// The error function (Abramowitz–Stegun 7.1.26 is too coarse; use a series/continued fraction).
fn libm_erf(x: f64) -> f64 {
    // erf via the complementary function's continued fraction for |x| > 2, series otherwise.
    if x.abs() < 2.5 {
        let mut sum = x;
        let mut term = x;
        for n in 1..60 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        let t = x.abs();
        let mut f = 0.0;
        for n in (1..60).rev() {
            f = n as f64 / 2.0 / (t + f);
        }
        let erfc = (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f);
        x.signum() * (1.0 - erfc)
    }
}

#[test]
fn inits_have_the_right_statistics() {
    let stats = |init: Init| {
        let m = Mlp::new(&MlpConfig::new(400, &[300], 10).weight_init(init).bias_init(Init::Zeros), 3).unwrap();
        let w = &m.layers()[0].ws;
        (
            w.mean(Kind::Double).double_value(&[]),
            w.std(true).double_value(&[]),
            w.min().double_value(&[]),
            w.max().double_value(&[]),
        )
    };
    let (mean, std, lo, hi) = stats(Init::Default);
    let b = 1.0 / 400f64.sqrt();
    assert!(mean.abs() < 2e-3 && (std - b / 3f64.sqrt()).abs() < 2e-3 && lo >= -b && hi <= b);
    let (mean, std, ..) = stats(Init::Normal { mean: 0.5, std: 0.1 });
    assert!((mean - 0.5).abs() < 2e-3 && (std - 0.1).abs() < 2e-3);
    let (_, _, lo, hi) = stats(Init::Uniform { low: -0.3, high: 0.2 });
    assert!(lo >= -0.3 && hi <= 0.2 && lo < -0.29 && hi > 0.19);
    let (mean, std, ..) = stats(Init::Zeros);
    assert_eq!((mean, std), (0.0, 0.0));
    let (mean, std, ..) = stats(Init::Constant(0.7));
    assert!((mean - 0.7).abs() < 1e-6 && std < 1e-6);
    let (_, std, ..) = stats(Init::XavierUniform);
    assert!((std - (2.0 / 700f64).sqrt()).abs() < 2e-3);
    let (_, std, ..) = stats(Init::XavierNormal);
    assert!((std - (2.0 / 700f64).sqrt()).abs() < 2e-3);
    let (_, std, ..) = stats(Init::KaimingUniform);
    assert!((std - (2.0 / 400f64).sqrt()).abs() < 2e-3);
    let (_, std, ..) = stats(Init::KaimingNormal);
    assert!((std - (2.0 / 400f64).sqrt()).abs() < 2e-3);
    // Biases follow the bias init.
    let m = Mlp::new(&MlpConfig::new(4, &[3], 2).bias_init(Init::Constant(-1.0)), 1).unwrap();
    assert_eq!(values(m.layers()[0].bs.as_ref().unwrap()), vec![-1.0; 3]);
}

/// A model draws its initial weights from its own generator: the same values that
/// `manual_seed` and tch's `nn::linear` give (so every published number stands), and
/// the global generator is left where it was.
#[test]
fn a_model_draws_the_weights_manual_seed_gives_without_touching_the_global_generator() {
    let _rng = common::torch_rng();
    for (weight_init, bias_init) in
        [(Init::Default, Init::Default), (Init::Normal { mean: 0.0, std: 0.1 }, Init::Zeros)]
    {
        let cfg = MlpConfig::new(784, &[100], 10).weight_init(weight_init).bias_init(bias_init);
        tch::manual_seed(1234);
        let before = Tensor::rand([3], tch::kind::FLOAT_CPU);
        tch::manual_seed(1234);
        let model = Mlp::new(&cfg, 17).unwrap();
        assert!(Tensor::rand([3], tch::kind::FLOAT_CPU).equal(&before), "Mlp::new moved the global generator");

        tch::manual_seed(17);
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let linear = |name: &str, fan_in: i64, fan_out: i64| {
            let (ws_init, bs_init) =
                (tch_init(weight_init, fan_in, fan_out), Some(tch_init(bias_init, fan_in, fan_out)));
            tch::nn::linear(vs.root() / name, fan_in, fan_out, tch::nn::LinearConfig { ws_init, bs_init, bias: true })
        };
        let layer1 = linear("a", 784, 100);
        let first = &model.layers()[0];
        assert!(first.ws.equal(&layer1.ws), "{weight_init}: first weights differ from manual_seed + nn::linear");
        assert!(first.bs.as_ref().unwrap().equal(layer1.bs.as_ref().unwrap()), "{bias_init}: first biases differ");
        let layer2 = linear("b", 100, 10);
        assert!(model.layers()[1].ws.equal(&layer2.ws), "{weight_init}: output weights differ");
    }
}

/// tch's initialiser for `init`, as models were built before they had their own
/// generator: the reference the models' draws must equal.
fn tch_init(init: Init, fan_in: i64, fan_out: i64) -> tch::nn::Init {
    let (fi, fo) = (fan_in as f64, fan_out as f64);
    let uniform = |b: f64| tch::nn::Init::Uniform { lo: -b, up: b };
    match init {
        Init::Default => uniform(1.0 / fi.sqrt()),
        Init::Normal { mean, std } => tch::nn::Init::Randn { mean, stdev: std },
        Init::Uniform { low, high } => tch::nn::Init::Uniform { lo: low, up: high },
        Init::Zeros => tch::nn::Init::Const(0.0),
        Init::Constant(c) => tch::nn::Init::Const(c),
        Init::XavierUniform => uniform((6.0 / (fi + fo)).sqrt()),
        Init::XavierNormal => tch::nn::Init::Randn { mean: 0.0, stdev: (2.0 / (fi + fo)).sqrt() },
        Init::KaimingUniform => uniform((6.0 / fi).sqrt()),
        Init::KaimingNormal => tch::nn::Init::Randn { mean: 0.0, stdev: (2.0 / fi).sqrt() },
    }
}

fn assert_same_variables(what: &str, ours: &tch::nn::VarStore, reference: &tch::nn::VarStore) {
    let (ours, reference) = (ours.variables(), reference.variables());
    assert_eq!(ours.len(), reference.len(), "{what}: variables");
    for (name, value) in &reference {
        assert!(ours[name].equal(value), "{what}: {name} differs from manual_seed + tch's initialiser");
    }
}

#[test]
fn cnns_and_ensembles_draw_the_weights_manual_seed_gives() {
    let _rng = common::torch_rng();
    // Random biases too, so that the order of the draws matters.
    let cfg = CnnConfig { bias_init: Init::Uniform { low: -0.1, high: 0.1 }, ..CnnConfig::small(3, 16, 2) };
    let cnn = Cnn::new(&cfg, 8).unwrap();
    tch::manual_seed(8);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let mut channels = 3;
    for (b, block) in cfg.blocks.iter().enumerate() {
        for (c, &out) in block.iter().enumerate() {
            let (ws_init, bs_init) =
                (tch_init(cfg.weight_init, channels * 9, out * 9), tch_init(cfg.bias_init, channels * 9, out * 9));
            let conv = tch::nn::ConvConfig { padding: 1, ws_init, bs_init, ..Default::default() };
            let _ = tch::nn::conv2d(
                vs.root() / format!("block{}", b + 1) / format!("conv{}", c + 1),
                channels,
                out,
                3,
                conv,
            );
            channels = out;
        }
    }
    let sizes = [cfg.flat_features(), 128, 2];
    for (k, w) in sizes.windows(2).enumerate() {
        let (ws_init, bs_init) = (tch_init(cfg.weight_init, w[0], w[1]), Some(tch_init(cfg.bias_init, w[0], w[1])));
        let _ = tch::nn::linear(
            vs.root() / format!("fc{}", k + 1),
            w[0],
            w[1],
            tch::nn::LinearConfig { ws_init, bs_init, bias: true },
        );
    }
    assert_same_variables("cnn", cnn.var_store(), &vs);

    let cfg = MlpConfig::new(5, &[7], 3).weight_init(Init::XavierNormal).bias_init(Init::Default);
    let ensemble = tchlab::model::MlpEnsemble::new(&cfg, 4, 6).unwrap();
    tch::manual_seed(6);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    for (k, w) in [5, 7, 3].windows(2).enumerate() {
        let layer = vs.root() / format!("layer{}", k + 1);
        let _ = layer.var("weight", &[4, w[0], w[1]], tch_init(cfg.weight_init, w[0], w[1]));
        let _ = layer.var("bias", &[4, 1, w[1]], tch_init(cfg.bias_init, w[0], w[1]));
    }
    assert_same_variables("ensemble", ensemble.var_store(), &vs);
}

fn separable_xor() -> DataLoader {
    DataLoader::new(Xor::generate([40, 40, 40, 40], 0.15, 5).dataset(), 32).unwrap().shuffle(2)
}

#[test]
fn a_tiny_mlp_learns_xor_perfectly() {
    let _rng = common::torch_rng();
    let loader = separable_xor();
    let mut m = Mlp::new(&MlpConfig::new(2, &[8], 2).activation(Activation::Tanh), 1).unwrap();
    let h = Trainer::new(TrainConfig::sgd(0.2, 40).quiet()).fit(&mut m, &loader, None).unwrap();
    assert_eq!(h.last("train").unwrap().accuracy, 1.0);
    let first = h.at("train", 1).unwrap().loss;
    assert!(h.last_loss("train").unwrap() < first / 4.0);
    // A linear hidden layer cannot.
    let mut lin = Mlp::new(&MlpConfig::new(2, &[8], 2).activation(Activation::Identity), 1).unwrap();
    let h = Trainer::new(TrainConfig::sgd(0.2, 40).quiet()).fit(&mut lin, &loader, None).unwrap();
    assert!(h.last("train").unwrap().accuracy < 0.8);
}

#[test]
fn every_loss_and_both_optimizers_learn_an_mnist_subset() {
    let _rng = common::torch_rng();
    let Some(mnist) = common::mnist() else { return };
    let train = DataLoader::new(mnist.train_range(0..5000, Scaling::Unit).unwrap(), 20).unwrap().shuffle(1);
    let test = DataLoader::new(mnist.train_range(50_000..52_000, Scaling::Unit).unwrap(), 1000).unwrap();
    for (loss, opt, lr, want) in [
        (Loss::SigmoidMse, "sgd", 0.5, 0.5),
        (Loss::CrossEntropy, "sgd", 0.1, 0.85),
        (Loss::Nll, "adam", 0.001, 0.85),
        (Loss::BinaryCrossEntropy, "sgd", 0.5, 0.5),
    ] {
        // The lecture's init: N(0, 0.1) weights, zero biases.
        let cfg = MlpConfig::new(784, &[64], 10)
            .activation(Activation::Sigmoid)
            .weight_init(Init::Normal { mean: 0.0, std: 0.1 })
            .bias_init(Init::Zeros);
        let mut m = Mlp::new(&cfg, 1).unwrap();
        let tc = if opt == "sgd" { TrainConfig::sgd(lr, 4) } else { TrainConfig::adam(lr, 4) };
        Trainer::new(tc.loss(loss).quiet().eval_train(false)).fit(&mut m, &train, None).unwrap();
        let acc = evaluate(&m, &test, loss).unwrap().accuracy;
        assert!(acc > want, "{loss} with {opt}: accuracy {acc}");
    }
}

#[test]
fn divergence_and_shape_mismatch_are_errors_in_plain_words() {
    // Builds models: reseeds libtorch's global generator, which the reproducibility
    // tests running beside it must not see.
    let _rng = common::torch_rng();
    let loader = separable_xor();
    let mut m = Mlp::new(&MlpConfig::new(2, &[8], 2).weight_init(Init::Normal { mean: 0.0, std: 1e20 }), 1).unwrap();
    let e = Trainer::new(TrainConfig::sgd(1e30, 5).quiet()).fit(&mut m, &loader, None).unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains("diverged") && text.contains("epoch 1") && text.contains("learning rate"), "{text}");
    let mut wrong = Mlp::new(&MlpConfig::new(784, &[8], 2), 1).unwrap();
    let e = Trainer::new(TrainConfig::sgd(0.1, 1).quiet()).fit(&mut wrong, &loader, None).unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains("shape [2]") && text.contains("784 input values"), "{text}");
    let mut few = Mlp::new(&MlpConfig::new(2, &[8], 1), 1).unwrap();
    let e = Trainer::new(TrainConfig::sgd(0.1, 1).quiet()).fit(&mut few, &loader, None).unwrap_err();
    assert!(format!("{e:#}").contains("2 classes but the model has 1 outputs"));
    assert!(
        Trainer::new(TrainConfig::sgd(-1.0, 1).quiet())
            .fit(&mut Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap(), &loader, None)
            .is_err()
    );
}

#[test]
fn same_seed_gives_identical_histories() {
    let _rng = common::torch_rng();
    let run = |seed: u64| {
        let loader = DataLoader::new(Xor::lecture().dataset(), 64).unwrap().shuffle(seed);
        let mut m = Mlp::new(&MlpConfig::new(2, &[16, 16], 2).dropout(0.2), seed).unwrap();
        let mut h = Trainer::new(TrainConfig::sgd(0.1, 5).seed(seed).quiet()).fit(&mut m, &loader, None).unwrap();
        h.epochs.iter_mut().for_each(|r| r.seconds = 0.0);
        h
    };
    assert_eq!(run(4), run(4));
    assert_ne!(run(4).minibatch_loss, run(5).minibatch_loss);
}

#[test]
fn checkpoint_resume_equals_training_straight_through() {
    let _rng = common::torch_rng();
    let dir = tempfile::tempdir().unwrap();
    let loader = DataLoader::new(Xor::lecture().dataset(), 64).unwrap().shuffle(9);
    let cfg = MlpConfig::new(2, &[16], 2).activation(Activation::Relu);
    let tc = |epochs| TrainConfig::sgd(0.1, epochs).seed(9).quiet();
    let mut straight = Mlp::new(&cfg, 9).unwrap();
    let full = Trainer::new(tc(6)).fit(&mut straight, &loader, None).unwrap();

    let mut first = Mlp::new(&cfg, 9).unwrap();
    let half = Trainer::new(tc(3)).fit(&mut first, &loader, None).unwrap();
    save_checkpoint(&first, &half, &dir.path().join("ckpt")).unwrap();
    assert!(!dir.path().join("ckpt.part").exists());
    let mut resumed = Mlp::new(&cfg, 1234).unwrap();
    let loaded = load_checkpoint(&mut resumed, &dir.path().join("ckpt")).unwrap();
    assert_eq!(loaded.minibatch_loss, half.minibatch_loss);
    let rest = Trainer::new(tc(6)).fit_from(&mut resumed, &loader, None, loaded).unwrap();
    assert_eq!(rest.minibatch_loss, full.minibatch_loss);
    let x = Tensor::from_slice(&[0.5f32, -0.5]).reshape([1, 2]);
    assert!(straight.forward(&x).allclose(&resumed.forward(&x), 0.0, 0.0, false));
    // Loading into another architecture is an error that says so.
    let mut other = Mlp::new(&MlpConfig::new(2, &[7], 2), 1).unwrap();
    assert!(
        format!("{:#}", load_checkpoint(&mut other, &dir.path().join("ckpt")).unwrap_err())
            .contains("same architecture")
    );
}

#[test]
fn error_analysis_counts_and_ranks_mistakes() {
    let _rng = common::torch_rng();
    let loader = separable_xor();
    let mut m = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
    Trainer::new(TrainConfig::sgd(0.2, 2).quiet()).fit(&mut m, &loader, None).unwrap();
    let i = Interpretation::from_model(&m, &loader, Loss::CrossEntropy).unwrap();
    let cm = i.confusion_matrix();
    assert_eq!(cm.iter().flatten().sum::<u64>(), 160);
    let correct: u64 = (0..2).map(|c| cm[c][c]).sum();
    assert_eq!(i.misclassified().len() as u64, 160 - correct);
    assert!((i.accuracy() - correct as f64 / 160.0).abs() < 1e-12);
    let top = i.top_losses(5);
    assert!(top.windows(2).all(|w| w[0].loss >= w[1].loss));
    // Per-example losses agree with the batch loss.
    let mean: f64 = i.predictions.losses.iter().sum::<f64>() / 160.0;
    assert!((mean - evaluate(&m, &loader, Loss::CrossEntropy).unwrap().loss).abs() < 1e-5);
}

#[test]
fn cnn_blocks_build_the_vgg16_shape_and_train() {
    let vgg = CnnConfig::vgg16(3, 64, 2);
    assert_eq!(vgg.blocks.iter().map(Vec::len).sum::<usize>(), 16);
    let small = Cnn::new(&CnnConfig::small(1, 16, 2), 1).unwrap();
    assert_eq!(small.forward_t(&Tensor::zeros([3, 1, 16, 16], tch::kind::FLOAT_CPU), true).size(), vec![3, 2]);
    assert!(Cnn::new(&CnnConfig::small(1, 8, 2), 1).is_err(), "8×8 images are too small for 4 pooling blocks");
}

/// Trains `Mlp::new(cfg, 7)` under `tc` twice, with the fused step and with autograd
/// (checking that each ran as asked): `[fused, autograd]`.
fn train_fused_and_autograd(cfg: &MlpConfig, tc: &TrainConfig, loader: &DataLoader) -> [(History, Mlp); 2] {
    [true, false].map(|fused| {
        let mut m = Mlp::new(cfg, 7).unwrap();
        let mut trainer = Trainer::new(tc.clone().fused_step(fused));
        assert_eq!(trainer.uses_fused_step(&m), fused);
        let h = trainer.fit(&mut m, loader, None).unwrap();
        (h, m)
    })
}

/// The two runs of [`train_fused_and_autograd`] over 72 minibatches agree: each loss to
/// 1e-5 (relative above 1), each weight to 1e-5.
fn assert_trained_alike(case: &str, (fh, fm): (&History, &Mlp), (ah, am): (&History, &Mlp)) {
    assert_eq!(fh.minibatch_loss.len(), 72, "{case}");
    for (f, a) in fh.minibatch_loss.iter().zip(&ah.minibatch_loss) {
        assert!((f - a).abs() <= 1e-5 * a.abs().max(1.0), "{case}: loss {f} vs {a}");
    }
    let autograd_vars = am.var_store().variables();
    for (name, f) in fm.var_store().variables() {
        let diff = (&f - &autograd_vars[&name]).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{case}: {name} differs by {diff}");
    }
}

#[test]
fn fused_step_trains_exactly_like_autograd() {
    let _rng = common::torch_rng();
    let loader = DataLoader::new(Xor::lecture().dataset(), 32).unwrap().shuffle(3);
    for activation in
        [Activation::Identity, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu(0.1)]
    {
        for (loss, weight_decay) in [(Loss::CrossEntropy, 0.0), (Loss::SigmoidMse, 0.01), (Loss::Nll, 0.001)] {
            let cfg = MlpConfig::new(2, &[16, 8], 2).activation(activation);
            let sgd = OptimizerKind::Sgd { lr: 0.2, momentum: 0.0, weight_decay };
            let tc = TrainConfig::sgd(0.2, 3).optimizer(sgd).loss(loss).quiet();
            let [(fh, fm), (ah, am)] = train_fused_and_autograd(&cfg, &tc, &loader);
            let case = format!("{activation} {loss} wd {weight_decay}");
            assert_trained_alike(&case, (&fh, &fm), (&ah, &am));
            let (f, a) = (fh.last("train").unwrap(), ah.last("train").unwrap());
            assert!((f.accuracy - a.accuracy).abs() < 1e-9 && (f.loss - a.loss).abs() < 1e-5, "{case}");
        }
    }
    // Saturated softmax and sigmoid (logits in the tens) agree too.
    for loss in [Loss::CrossEntropy, Loss::SigmoidMse] {
        let cfg = MlpConfig::new(2, &[16], 2).weight_init(Init::Normal { mean: 0.0, std: 8.0 });
        let run = |fused: bool| {
            let mut m = Mlp::new(&cfg, 5).unwrap();
            let tc = TrainConfig::sgd(0.05, 2).loss(loss).fused_step(fused).quiet();
            let h = Trainer::new(tc).fit(&mut m, &loader, None).unwrap();
            (h.minibatch_loss, m.forward(&Tensor::from_slice(&[0.3f32, -0.7]).reshape([1, 2])))
        };
        let ((fl, fo), (al, ao)) = (run(true), run(false));
        assert!(fl.iter().any(|&l| l > 5.0) || loss == Loss::SigmoidMse, "{loss}: logits were not large: {fl:?}");
        for (f, a) in fl.iter().zip(&al) {
            assert!((f - a).abs() <= 1e-5 * a.abs().max(1.0), "{loss}: loss {f} vs {a}");
        }
        assert!(fo.allclose(&ao, 1e-5, 1e-4, false), "{loss}: outputs {fo} vs {ao}");
    }
    // The same seed gives the same history on the fused path too.
    let run = || {
        let mut m = Mlp::new(&MlpConfig::new(2, &[16], 2), 3).unwrap();
        Trainer::new(TrainConfig::sgd(0.1, 2).quiet()).fit(&mut m, &loader, None).unwrap().minibatch_loss
    };
    assert_eq!(run(), run());
}

#[test]
fn fused_momentum_and_adam_train_like_the_tch_optimisers() {
    let _rng = common::torch_rng();
    let loader = DataLoader::new(Xor::lecture().dataset(), 32).unwrap().shuffle(3);
    let optimisers = [
        OptimizerKind::Sgd { lr: 0.05, momentum: 0.9, weight_decay: 0.0 },
        OptimizerKind::Sgd { lr: 0.05, momentum: 0.5, weight_decay: 0.01 },
        OptimizerKind::Adam { lr: 0.01, weight_decay: 0.0 },
        OptimizerKind::Adam { lr: 0.003, weight_decay: 0.001 },
    ];
    for activation in [Activation::Sigmoid, Activation::Relu, Activation::LeakyRelu(0.1)] {
        for (optimizer, loss) in optimisers.into_iter().zip([Loss::CrossEntropy, Loss::SigmoidMse].into_iter().cycle())
        {
            let cfg = MlpConfig::new(2, &[16, 8], 2).activation(activation);
            // A cosine schedule checks that each epoch's rate reaches the fused update.
            let tc = TrainConfig::sgd(0.0, 3).optimizer(optimizer).loss(loss).quiet();
            let tc = tc.schedule(LrSchedule::Cosine { min_lr: 0.0 });
            let [(fh, fm), (ah, am)] = train_fused_and_autograd(&cfg, &tc, &loader);
            let case = format!("{activation} {loss} {optimizer:?}");
            assert_trained_alike(&case, (&fh, &fm), (&ah, &am));
            let start = Mlp::new(&cfg, 7).unwrap().var_store().variables();
            let moved = fm
                .var_store()
                .variables()
                .iter()
                .map(|(name, f)| (f - &start[name]).abs().max().double_value(&[]))
                .fold(0.0f64, f64::max);
            assert!(moved > 1e-2, "{case}: the weights barely moved ({moved}), so the comparison shows little");
        }
    }
}

#[test]
fn the_fused_step_steps_aside_for_what_it_cannot_do() {
    let mlp = |cfg: MlpConfig| Mlp::new(&cfg, 1).unwrap();
    let base = MlpConfig::new(2, &[4], 2);
    let sgd = TrainConfig::sgd(0.1, 1);
    let blocker = |m: &dyn Network, c: &TrainConfig| tchlab::train::fused_step_blocker(m, c, &[]);
    assert_eq!(blocker(&mlp(base.clone()), &sgd), None);
    assert!(blocker(&mlp(base.clone().activation(Activation::Gelu)), &sgd).unwrap().contains("gelu"));
    assert!(blocker(&mlp(base.clone().dropout(0.5)), &sgd).unwrap().contains("dropout"));
    // Momentum and Adam fuse too (on the CPU).
    assert_eq!(blocker(&mlp(base.clone()), &TrainConfig::adam(0.01, 1)), None);
    let momentum = sgd.clone().optimizer(OptimizerKind::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 });
    assert_eq!(blocker(&mlp(base.clone()), &momentum), None);
    assert!(blocker(&mlp(base.clone()), &sgd.clone().fused_step(false)).unwrap().contains("turned off"));
    assert!(blocker(&mlp(base.clone()), &sgd.clone().loss(Loss::BinaryCrossEntropy)).is_some());
    let cnn = Cnn::new(&CnnConfig::small(1, 16, 2), 1).unwrap();
    assert!(blocker(&cnn, &sgd).unwrap().contains("not a plain MLP"));
    // A hook that reads gradients gets them: the trainer falls back to autograd.
    let m = mlp(base);
    assert!(!Trainer::new(sgd.clone()).hook(tchlab::train::GradNorms::default()).uses_fused_step(&m));
    let probe = Tensor::zeros([4, 2], tch::kind::FLOAT_CPU);
    assert!(Trainer::new(sgd).hook(tchlab::train::DeadUnits::new(probe)).uses_fused_step(&m));
}

/// Counts the trainer's calls of each hook.
#[derive(Clone, Default)]
struct CountCalls(std::rc::Rc<std::cell::Cell<(usize, usize)>>);

impl tchlab::train::Hook for CountCalls {
    fn after_backward(&mut self, _m: &dyn Network, _epoch: usize, _batch: usize) -> Result<()> {
        let (a, e) = self.0.get();
        self.0.set((a + 1, e));
        Ok(())
    }
    fn end_of_epoch(&mut self, _m: &dyn Network, _epoch: usize, _h: &mut History) -> Result<()> {
        let (a, e) = self.0.get();
        self.0.set((a, e + 1));
        Ok(())
    }
    fn needs_gradients(&self) -> bool {
        false
    }
}

#[test]
fn fused_and_autograd_paths_agree_at_lr_zero_and_call_the_same_hooks() {
    let loader = DataLoader::new(Xor::lecture().dataset(), 32).unwrap();
    let cfg = MlpConfig::new(2, &[4], 2).activation(Activation::Relu);
    let untrained = Mlp::new(&cfg, 7).unwrap();
    for tc in [TrainConfig::sgd(0.0, 2), TrainConfig::adam(0.0, 2)] {
        let mut runs = Vec::new();
        for fused in [true, false] {
            let (mut m, calls) = (Mlp::new(&cfg, 7).unwrap(), CountCalls::default());
            let mut trainer = Trainer::new(tc.clone().fused_step(fused).quiet()).hook(calls.clone());
            assert_eq!(trainer.uses_fused_step(&m), fused, "a hook without gradients keeps the fused step");
            let h = trainer.fit(&mut m, &loader, None).unwrap_or_else(|e| panic!("fused = {fused}, lr 0: {e}"));
            // lr = 0 leaves every weight where it started, on both paths
            for (name, w) in m.var_store().variables() {
                assert!(w.equal(&untrained.var_store().variables()[&name]), "fused = {fused}: {name} moved at lr 0");
            }
            assert_eq!(
                calls.0.get(),
                (2 * loader.len(), 2),
                "fused = {fused}: hook calls (after_backward, end_of_epoch)"
            );
            runs.push(h);
        }
        assert_eq!(runs[0].minibatch_loss.len(), runs[1].minibatch_loss.len());
    }
    assert!(Trainer::new(TrainConfig::sgd(-0.1, 1)).fit(&mut Mlp::new(&cfg, 7).unwrap(), &loader, None).is_err());
}

#[test]
fn an_mlp_too_large_to_allocate_is_an_error_not_a_panic() {
    for hidden in [vec![99_999_999_999], vec![i64::MAX / 2, 4], vec![1 << 20, 1 << 10]] {
        let err = Mlp::new(&MlpConfig::new(784, &hidden, 10), 1).unwrap_err().to_string();
        assert!(err.contains("more than the limit"), "{hidden:?}: {err}");
    }
    assert!(Mlp::new(&MlpConfig::new(784, &[100], 10), 1).is_ok());
}

#[test]
fn the_loss_along_a_line_is_flat_for_one_model_and_a_permutation_keeps_the_function() {
    let _rng = common::torch_rng(); // Tensor::randn below
    use tchlab::landscape::{Line, barrier, distance, parameters, permute_hidden_units, set_parameters};
    let config = MlpConfig::new(2, &[6], 2).activation(Activation::Relu);
    let loader = DataLoader::new(Xor::lecture().dataset(), 750).unwrap();
    let a = Mlp::new(&config, 3).unwrap();
    let mut scratch = Mlp::new(&config, 0).unwrap();
    // From a model to itself the loss is the same at every point, and the barrier is 0.
    let flat = Line::between(&a, &a).unwrap().losses(&mut scratch, 5, &loader, Loss::CrossEntropy).unwrap();
    assert!(flat.iter().all(|&(_, l)| (l - flat[0].1).abs() < 1e-6), "{flat:?}");
    assert!(barrier(&flat).abs() < 1e-6);
    // The line's ends are the two models.
    let b = Mlp::new(&config, 4).unwrap();
    let line = Line::between(&a, &b).unwrap();
    assert_eq!(distance(&line.at(1.0), &parameters(&b)), 0.0);
    assert!((distance(&line.at(0.5), &parameters(&a)) - distance(&parameters(&a), &parameters(&b)) / 2.0).abs() < 1e-4);
    // A permutation moves the parameters and keeps the outputs.
    let mut p = Mlp::new(&config, 0).unwrap();
    set_parameters(&mut p, &parameters(&a)).unwrap();
    permute_hidden_units(&mut p, 0, &[5, 4, 3, 2, 1, 0]).unwrap();
    assert!(distance(&parameters(&a), &parameters(&p)) > 0.1);
    let x = Tensor::randn([16, 2], tch::kind::FLOAT_CPU);
    assert!(a.forward(&x).allclose(&p.forward(&x), 1e-6, 1e-6, false));
    // Bad input: not a permutation, not a hidden layer, shapes that differ.
    assert!(permute_hidden_units(&mut p, 0, &[0, 0, 1, 2, 3, 4]).is_err());
    assert!(permute_hidden_units(&mut p, 1, &[0, 1]).is_err());
    let other = Mlp::new(&MlpConfig::new(2, &[5], 2), 1).unwrap();
    assert!(format!("{:#}", Line::between(&a, &other).err().unwrap()).contains("differ"));
}

#[test]
fn layer_gradients_match_backward_and_leave_the_model_unchanged() {
    let _rng = common::torch_rng();
    let model = Mlp::new(&MlpConfig::new(6, &[5, 4], 3).activation(Activation::Tanh), 3).unwrap();
    let x = Tensor::randn([7, 6], tch::kind::FLOAT_CPU);
    let y = Tensor::from_slice(&[0i64, 1, 2, 0, 1, 2, 0]);
    let before: Vec<Tensor> = model.layers().iter().map(|l| l.ws.copy()).collect();
    let g = layer_gradients(&model, &x, &y, Loss::CrossEntropy).unwrap();
    assert_eq!((g.weights.len(), g.activations.len()), (3, 2));
    // No .grad() was written and no weight moved.
    for (l, w0) in model.layers().iter().zip(&before) {
        assert!(!l.ws.grad().defined());
        assert!(l.ws.equal(w0));
    }
    // The weight gradients are those of loss.backward().
    let loss = Loss::CrossEntropy.compute(&model.forward(&x), &y).unwrap();
    assert!((loss.double_value(&[]) - g.loss).abs() < 1e-6);
    loss.backward();
    for (l, norm) in model.layers().iter().zip(&g.weights) {
        assert!((l.ws.grad().norm().double_value(&[]) - norm).abs() < 1e-6 * norm.max(1.0));
    }
    // The last hidden layer's output gradient is W_outᵀ (softmax − onehot) / n.
    let (logits, hidden) = model.forward_hidden(&x);
    let delta = (logits.softmax(-1, Kind::Float) - y.one_hot(3).to_kind(Kind::Float)) / 7.0;
    let expected = delta.matmul(&model.layers()[2].ws).norm().double_value(&[]);
    assert_eq!(hidden.len(), 2);
    assert!((expected - g.activations[1]).abs() < 1e-6);
    // Mismatched inputs and labels are an error, not a panic.
    assert!(layer_gradients(&model, &x, &y.narrow(0, 0, 3), Loss::CrossEntropy).is_err());
}
