//! The batched ensemble trains each member as if alone; the bias–variance
//! decompositions add up; the helpers of the new experiments.

use tch::{Kind, Tensor};
use tchlab::data::{DataLoader, Scaling, TensorDataset};
use tchlab::metrics::{squared_decomposition, zero_one_decomposition};
use tchlab::model::{Activation, MlpConfig, MlpEnsemble};
use tchlab::train::{EnsembleLoss, EnsembleTrain, TrainConfig, Trainer};

#[test]
fn each_member_trains_exactly_like_a_lone_mlp() {
    // full-batch SGD: member k of the ensemble vs member k copied out and trained by the Trainer
    let (k, n) = (3, 12);
    tch::manual_seed(5);
    let x = Tensor::randn([k, n, 4], tch::kind::FLOAT_CPU);
    let y = Tensor::randint(3, [k, n], (Kind::Int64, tch::Device::Cpu));
    let config = MlpConfig::new(4, &[6], 3).activation(Activation::Tanh);
    let mut ensemble = MlpEnsemble::new(&config, k, 1).unwrap();
    let lone: Vec<_> = (0..k).map(|m| ensemble.member(m).unwrap()).collect();
    EnsembleTrain::sgd(0.2, 15, EnsembleLoss::CrossEntropy).fit(&mut ensemble, &x, &y).unwrap();
    for (m, mut mlp) in lone.into_iter().enumerate() {
        let m = m as i64;
        let ds = TensorDataset::new(x.get(m), y.get(m), Scaling::None).unwrap();
        let loader = DataLoader::new(ds, n as usize).unwrap();
        Trainer::new(TrainConfig::sgd(0.2, 15).quiet()).fit(&mut mlp, &loader, None).unwrap();
        let ours = ensemble.predict(&x.get(m), 100).get(m);
        let theirs = mlp.forward(&x.get(m));
        assert!(ours.allclose(&theirs, 1e-4, 1e-5, false), "member {m} differs:\n{ours}\n{theirs}");
    }
}

#[test]
fn members_do_not_see_each_others_data() {
    // changing member 1's data leaves member 0's training untouched (Adam, minibatches)
    let config = MlpConfig::new(2, &[5], 1).activation(Activation::Relu);
    let x = Tensor::randn([2, 20, 2], tch::kind::FLOAT_CPU);
    let y = Tensor::randn([2, 20, 1], tch::kind::FLOAT_CPU);
    let train = EnsembleTrain::adam(0.05, 5, EnsembleLoss::Mse).batch(7).seed(3);
    let mut a = MlpEnsemble::new(&config, 2, 9).unwrap();
    train.fit(&mut a, &x, &y).unwrap();
    let y2 = y.copy();
    let _ = y2.get(1).fill_(100.0);
    let mut b = MlpEnsemble::new(&config, 2, 9).unwrap();
    train.fit(&mut b, &x, &y2).unwrap();
    let probe = Tensor::randn([8, 2], tch::kind::FLOAT_CPU);
    let (pa, pb) = (a.predict(&probe, 4), b.predict(&probe, 4));
    assert!(pa.get(0).allclose(&pb.get(0), 1e-6, 1e-6, false));
    assert!(!pa.get(1).allclose(&pb.get(1), 1e-3, 1e-3, false));
}

#[test]
fn ensemble_is_reproducible_by_seed_and_checks_shapes() {
    let config = MlpConfig::new(1, &[8], 1).activation(Activation::Tanh);
    let x = Tensor::rand([4, 10, 1], tch::kind::FLOAT_CPU);
    let y = x.sin();
    let train = EnsembleTrain::adam(0.01, 20, EnsembleLoss::Mse).batch(3);
    let run = || {
        let mut e = MlpEnsemble::new(&config, 4, 2).unwrap();
        train.fit(&mut e, &x, &y).unwrap();
        e.predict(&x, 100)
    };
    assert!(run().equal(&run()));
    let mut e = MlpEnsemble::new(&config, 4, 2).unwrap();
    assert!(train.fit(&mut e, &x, &y.reshape([4, 10])).is_err());
    assert!(train.fit(&mut e, &x.narrow(0, 0, 3), &y.narrow(0, 0, 3)).is_err());
    assert!(MlpEnsemble::new(&config, 0, 1).is_err());
    assert!(MlpEnsemble::new(&config.clone().dropout(0.5), 2, 1).is_err());
    let diverge = EnsembleTrain::sgd(1e6, 50, EnsembleLoss::Mse);
    assert!(diverge.fit(&mut e, &x, &(&y * 1e6)).is_err());
}

#[test]
fn squared_decomposition_adds_up_to_the_monte_carlo_error() {
    // predictions = truth + offset + spread; labels = truth + noise
    tch::manual_seed(1);
    let (k, j, sigma) = (400, 300, 0.5);
    let truth = Tensor::rand([j], (Kind::Double, tch::Device::Cpu));
    let preds = truth.unsqueeze(0) + 0.3 + Tensor::randn([k, j], (Kind::Double, tch::Device::Cpu)) * 0.2;
    let labels = truth.unsqueeze(0) + Tensor::randn([k, j], (Kind::Double, tch::Device::Cpu)) * sigma;
    let d = squared_decomposition(&preds, &truth, sigma * sigma).unwrap();
    assert!((d.bias2 - 0.09).abs() < 0.005, "{d:?}");
    assert!((d.variance - 0.04).abs() < 0.003, "{d:?}");
    let measured = (labels - &preds).square().mean(Kind::Double).double_value(&[]);
    assert!((d.total() - measured).abs() / measured < 0.02, "{} vs {measured}", d.total());
    assert!(squared_decomposition(&preds, &truth.narrow(0, 0, 5), 0.1).is_err());
    assert!(squared_decomposition(&preds, &truth, -1.0).is_err());
}

#[test]
fn zero_one_decomposition_follows_domingos() {
    // 4 models, 3 points; labels 0, 1, 2
    let preds = Tensor::from_slice(&[0i64, 1, 0, 0, 2, 0, 1, 1, 0, 0, 1, 0]).reshape([4, 3]);
    let labels = Tensor::from_slice(&[0i64, 1, 2]);
    let d = zero_one_decomposition(&preds, &labels, 3).unwrap();
    // point 0: 0,0,1,0 -> main 0 right, V = 1/4. point 1: 1,2,1,1 -> main 1 right, V = 1/4.
    // point 2: 0,0,0,0 -> main 0 wrong, V = 0, error 1.
    assert!((d.bias - 1.0 / 3.0).abs() < 1e-12);
    assert!((d.variance - 1.0 / 6.0).abs() < 1e-12);
    assert!((d.unbiased_variance - 1.0 / 6.0).abs() < 1e-12);
    assert!(d.biased_variance.abs() < 1e-12);
    assert!((d.error - 0.5).abs() < 1e-12);
    // on a biased point, variance lowers the error: the one model of 4 that disagrees hits the truth
    let preds = Tensor::from_slice(&[1i64, 1, 1, 0]).reshape([4, 1]);
    let d = zero_one_decomposition(&preds, &Tensor::from_slice(&[0i64]), 2).unwrap();
    assert_eq!((d.bias, d.variance, d.error), (1.0, 0.25, 0.75));
    assert!((d.net_variance + 0.25).abs() < 1e-12);
    // a tie for the main prediction goes to the smaller class
    let preds = Tensor::from_slice(&[1i64, 1, 0, 0]).reshape([4, 1]);
    let d = zero_one_decomposition(&preds, &Tensor::from_slice(&[0i64]), 2).unwrap();
    assert_eq!((d.bias, d.variance, d.error), (0.0, 0.5, 0.5));
    assert!(zero_one_decomposition(&preds, &Tensor::from_slice(&[5i64]), 2).is_err());
}

#[test]
fn zero_one_identity_holds_on_random_predictions() {
    tch::manual_seed(3);
    let preds = Tensor::randint(4, [7, 500], (Kind::Int64, tch::Device::Cpu));
    let labels = Tensor::randint(4, [500], (Kind::Int64, tch::Device::Cpu));
    let d = zero_one_decomposition(&preds, &labels, 4).unwrap();
    let direct = preds.ne_tensor(&labels.unsqueeze(0)).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    assert!((d.error - direct).abs() < 1e-12);
    assert!((d.error - (d.bias + d.net_variance)).abs() < 1e-12);
    assert!((d.variance - (d.unbiased_variance + d.biased_variance)).abs() < 1e-12);
}

#[test]
fn best_epoch_is_the_lowest_validation_loss() {
    use tchlab::experiments::overfitting_time::best_epoch;
    let mut h = tchlab::train::History::default();
    assert_eq!(best_epoch(&h), None);
    for (e, l) in [1.0, 0.4, 0.4, 0.9].iter().enumerate() {
        h.push(e + 1, "valid", *l, 0.0, 0.1, 0.0);
        h.push(e + 1, "train", 0.01, 0.0, 0.1, 0.0);
    }
    assert_eq!(best_epoch(&h), Some((2, 0.4)));
}

#[test]
fn epochs_for_steps_gives_at_least_the_steps() {
    use tchlab::experiments::value_of_data::epochs_for_steps;
    assert_eq!(epochs_for_steps(3000, 1000, 100), 300);
    assert_eq!(epochs_for_steps(5, 1000, 100), 1);
    for (steps, n, batch) in [(6000, 300, 100), (6000, 60000, 100), (1000, 777, 64)] {
        let e = epochs_for_steps(steps, n, batch);
        let per_epoch = n.div_ceil(batch);
        assert!(e * per_epoch >= steps && (e - 1) * per_epoch < steps);
    }
}

#[test]
fn selection_picks_the_best_validation_accuracy_and_tests_on_the_rest() {
    use tchlab::experiments::validation_optimism::select;
    let correct = vec![vec![true, true, false], vec![false, true, true], vec![true, true, true]];
    let s = select(&correct, &[0, 1], &[0, 1]).unwrap();
    assert_eq!((s.index, s.valid, s.test), (0, 100.0, 0.0));
    let s = select(&correct, &[0, 1, 2], &[2]).unwrap();
    assert_eq!((s.index, s.valid, s.test), (1, 100.0, 50.0));
    assert!(select(&correct, &[], &[0]).is_err());
    assert!(select(&correct, &[0], &[0, 1, 2]).is_err());
}
