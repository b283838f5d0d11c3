//! Adversarial examples under an L∞ budget on pixels in [0, 1]: the fast gradient sign
//! method (FGSM, Goodfellow et al. 2015) and projected gradient descent (PGD, Madry et
//! al. 2018) against any [`Network`], the accuracy of a model under attack over a
//! [`DataLoader`], and [`AdversarialInputs`], which makes the [`Trainer`](crate::train::Trainer)
//! train on attacked minibatches (adversarial training).
//!
//! ```
//! use tchlab::prelude::*;
//! use tchlab::attack::{Attack, evaluate_under_attack};
//! let loader = DataLoader::new(Xor::lecture().dataset(), 250).unwrap();
//! let model = Mlp::new(&MlpConfig::new(2, &[8], 2), 1).unwrap();
//! // XOR's inputs are not pixels in [0, 1]: the attack says so instead of clamping them.
//! assert!(evaluate_under_attack(&model, &loader, &Attack::fgsm(0.1)).is_err());
//! ```

use anyhow::{Context, Result, ensure};
use tch::{Kind, Tensor};

use crate::data::DataLoader;
use crate::model::Network;
use crate::rng::{Rng, mix};
use crate::train::{BatchTransform, Evaluation, Loss};

/// An L∞ attack: `steps` signed-gradient steps of size `step` that raise `loss`, each
/// followed by a projection onto the box `|x' − x| ≤ epsilon` and onto the pixel range
/// [0, 1]; optionally from a random start drawn uniformly in the box. FGSM is one step of
/// size `epsilon` from the clean image.
///
/// ```
/// use tchlab::attack::Attack;
/// let fgsm = Attack::fgsm(0.1);
/// assert_eq!((fgsm.steps, fgsm.step), (1, 0.1));
/// let pgd = Attack::pgd(0.1, 0.025, 10).random_start(1);
/// assert_eq!(pgd.describe(), "PGD-10 ε=0.1 (step 0.025, random start)");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Attack {
    /// The L∞ budget: no pixel moves by more than this.
    pub epsilon: f64,
    /// The size of each signed-gradient step.
    pub step: f64,
    /// The number of steps.
    pub steps: usize,
    /// Seed of a random start uniform in `[−ε, ε]` per pixel (`None`: start at the image).
    pub random_start: Option<u64>,
    /// The loss the attack raises (cross-entropy unless set).
    pub loss: Loss,
}

impl Attack {
    /// FGSM: `x + ε·sign(∇ₓ loss)`, clamped to [0, 1].
    pub fn fgsm(epsilon: f64) -> Self {
        Attack { epsilon, step: epsilon, steps: 1, random_start: None, loss: Loss::CrossEntropy }
    }

    /// PGD: `steps` steps of size `step` within the ε-box, from the image (add
    /// [`Attack::random_start`] for Madry et al.'s random start).
    pub fn pgd(epsilon: f64, step: f64, steps: usize) -> Self {
        Attack { epsilon, step, steps, random_start: None, loss: Loss::CrossEntropy }
    }

    /// Starts from a random point of the ε-box drawn with `seed` (a new draw for every
    /// batch: see [`Attack::perturb_stream`]).
    pub fn random_start(mut self, seed: u64) -> Self {
        self.random_start = Some(seed);
        self
    }

    /// Sets the loss the attack raises.
    ///
    /// ```
    /// let a = tchlab::attack::Attack::fgsm(0.1).loss(tchlab::train::Loss::SigmoidMse);
    /// assert_eq!(a.loss, tchlab::train::Loss::SigmoidMse);
    /// ```
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// `FGSM ε=0.1`, `PGD-10 ε=0.1 (step 0.025, random start)`.
    pub fn describe(&self) -> String {
        let start = if self.random_start.is_some() { ", random start" } else { "" };
        if self.steps == 1 && self.step == self.epsilon && self.random_start.is_none() {
            format!("FGSM ε={}", self.epsilon)
        } else {
            format!("PGD-{} ε={} (step {}{start})", self.steps, self.epsilon, self.step)
        }
    }

    /// Checks the settings; the error names the one to change.
    ///
    /// ```
    /// assert!(tchlab::attack::Attack::fgsm(-0.1).validate().is_err());
    /// assert!(tchlab::attack::Attack::pgd(0.1, 0.01, 0).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.epsilon.is_finite() && (0.0..=1.0).contains(&self.epsilon),
            "attack epsilon {} must be in [0, 1] (pixels are in [0, 1]), e.g. 0.1",
            self.epsilon
        );
        ensure!(self.step.is_finite() && self.step >= 0.0, "attack step {} must be a finite number >= 0", self.step);
        ensure!(self.steps >= 1, "attack steps = 0: an attack needs at least one step");
        Ok(())
    }

    /// Adversarial examples for `inputs` (`[B, ...]`, pixels in [0, 1]) with `labels`
    /// against `model` (in evaluation mode), from the random start of stream 0.
    ///
    /// ```
    /// use tchlab::prelude::*;
    /// use tchlab::attack::Attack;
    /// let model = Mlp::new(&MlpConfig::new(4, &[8], 3), 1).unwrap();
    /// let x = Tensor::rand([5, 4], tch::kind::FLOAT_CPU);
    /// let y = Tensor::from_slice(&[0i64, 1, 2, 0, 1]);
    /// let adv = Attack::fgsm(0.1).perturb(&model, &x, &y).unwrap();
    /// assert!((&adv - &x).abs().max().double_value(&[]) <= 0.1 + 1e-6);
    /// ```
    pub fn perturb(&self, model: &dyn Network, inputs: &Tensor, labels: &Tensor) -> Result<Tensor> {
        self.perturb_stream(model, inputs, labels, 0)
    }

    /// Like [`Attack::perturb`], with the random start drawn from stream `stream` of the
    /// seed (the batch index, say), so that every batch gets its own start and the same
    /// seed and stream give the same examples.
    ///
    /// ```
    /// use tchlab::prelude::*;
    /// use tchlab::attack::Attack;
    /// let model = Mlp::new(&MlpConfig::new(4, &[8], 3), 1).unwrap();
    /// let x = Tensor::rand([5, 4], tch::kind::FLOAT_CPU);
    /// let y = Tensor::from_slice(&[0i64, 1, 2, 0, 1]);
    /// let pgd = Attack::pgd(0.1, 0.02, 3).random_start(7);
    /// let a = pgd.perturb_stream(&model, &x, &y, 4).unwrap();
    /// assert!(a.equal(&pgd.perturb_stream(&model, &x, &y, 4).unwrap()));
    /// ```
    pub fn perturb_stream(&self, model: &dyn Network, inputs: &Tensor, labels: &Tensor, stream: u64) -> Result<Tensor> {
        self.validate()?;
        let x = inputs.detach().to_kind(Kind::Float);
        ensure!(x.numel() > 0, "the attack got an empty batch");
        let (lo, hi) = (x.min().double_value(&[]), x.max().double_value(&[]));
        ensure!(
            lo >= 0.0 && hi <= 1.0,
            "the attack needs pixels in [0, 1], but the inputs range over [{lo}, {hi}]: load the images with Scaling::Unit"
        );
        if self.epsilon == 0.0 {
            return Ok(x);
        }
        let (below, above) = (&x - self.epsilon, &x + self.epsilon);
        let project = |t: Tensor| t.maximum(&below).minimum(&above).clamp(0.0, 1.0);
        let mut adv = match self.random_start {
            Some(seed) => {
                let mut rng = Rng::new(mix(seed.wrapping_add(mix(stream))));
                let noise: Vec<f32> = (0..x.numel()).map(|_| rng.range(-self.epsilon, self.epsilon) as f32).collect();
                let noise = Tensor::from_slice(&noise).reshape(x.size()).to_device(x.device());
                project(&x + noise)
            }
            None => x.shallow_clone(),
        };
        for _ in 0..self.steps {
            let gradient = tch::with_grad(|| -> Result<Tensor> {
                let a = adv.detach().set_requires_grad(true);
                let logits = model.forward_t(&a, false);
                let loss = self.loss.compute(&logits, labels).context("the attack's loss")?;
                let mut g = Tensor::f_run_backward(&[loss], &[&a], false, false)?;
                Ok(g.remove(0))
            })?;
            let _guard = tch::no_grad_guard();
            adv = project(adv.detach() + gradient.sign() * self.step);
        }
        Ok(adv.detach())
    }
}

/// Loss and accuracy of `model` on the adversarial examples `attack` makes for every
/// batch of `loader` (batch `k` draws its random start from stream `k`); the loss is the
/// attack's.
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::attack::{Attack, evaluate_under_attack};
/// let x = Tensor::rand([40, 6], tch::kind::FLOAT_CPU);
/// let y = x.narrow(1, 0, 1).squeeze_dim(1).gt(0.5).to_kind(Kind::Int64);
/// let loader = DataLoader::new(TensorDataset::new(x, y, Scaling::None).unwrap(), 16).unwrap();
/// let model = Mlp::new(&MlpConfig::new(6, &[8], 2), 1).unwrap();
/// let clean = evaluate(&model, &loader, Loss::CrossEntropy).unwrap();
/// let attacked = evaluate_under_attack(&model, &loader, &Attack::fgsm(0.3)).unwrap();
/// assert_eq!(attacked.count, 40);
/// assert!(attacked.loss > clean.loss);
/// ```
pub fn evaluate_under_attack(model: &dyn Network, loader: &DataLoader, attack: &Attack) -> Result<Evaluation> {
    let (mut total, mut correct, mut count) = (0.0, 0i64, 0usize);
    for (k, batch) in loader.iter().enumerate() {
        let batch = batch?;
        let adv = attack.perturb_stream(model, &batch.inputs, &batch.labels, k as u64)?;
        let _guard = tch::no_grad_guard();
        let logits = model.forward_t(&adv, false);
        let n = batch.indices.len();
        total += attack.loss.compute(&logits, &batch.labels)?.double_value(&[]) * n as f64;
        correct += logits.argmax(-1, false).eq_tensor(&batch.labels).sum(Kind::Int64).int64_value(&[]);
        count += n;
    }
    ensure!(count > 0, "evaluation under attack saw no examples");
    Ok(Evaluation { loss: total / count as f64, accuracy: correct as f64 / count as f64, count })
}

/// Adversarial training: a [`BatchTransform`] that replaces each training minibatch by
/// its adversarial examples against the model being trained (Madry et al. 2018 with
/// PGD; with FGSM from a random start, Wong et al. 2020). Minibatch `b` of epoch `e`
/// draws its random start from its own stream of the attack's seed.
///
/// ```
/// use tchlab::prelude::*;
/// use tchlab::attack::{AdversarialInputs, Attack};
/// let x = Tensor::rand([64, 6], tch::kind::FLOAT_CPU);
/// let y = x.narrow(1, 0, 1).squeeze_dim(1).gt(0.5).to_kind(Kind::Int64);
/// let loader = DataLoader::new(TensorDataset::new(x, y, Scaling::None).unwrap(), 16).unwrap().shuffle(1);
/// let mut model = Mlp::new(&MlpConfig::new(6, &[8], 2), 1).unwrap();
/// let attack = Attack::fgsm(0.05).random_start(1);
/// let mut trainer = Trainer::new(TrainConfig::sgd(0.1, 2).quiet()).transform(AdversarialInputs::new(attack));
/// assert_eq!(trainer.fit(&mut model, &loader, None).unwrap().epochs_done(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct AdversarialInputs {
    attack: Attack,
}

impl AdversarialInputs {
    /// Trains on `attack`'s examples (checked when training starts).
    pub fn new(attack: Attack) -> Self {
        AdversarialInputs { attack }
    }

    /// The attack.
    ///
    /// ```
    /// let t = tchlab::attack::AdversarialInputs::new(tchlab::attack::Attack::fgsm(0.1));
    /// assert_eq!(t.attack().epsilon, 0.1);
    /// ```
    pub fn attack(&self) -> &Attack {
        &self.attack
    }
}

impl BatchTransform for AdversarialInputs {
    fn inputs(
        &mut self,
        model: &dyn Network,
        inputs: &Tensor,
        labels: &Tensor,
        epoch: usize,
        batch: usize,
    ) -> Result<Tensor> {
        let stream = mix(epoch as u64) ^ batch as u64;
        self.attack.perturb_stream(model, inputs, labels, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Init, Mlp, MlpConfig};

    fn data(n: i64, d: i64, seed: i64) -> (Tensor, Tensor) {
        tch::manual_seed(seed);
        let x = Tensor::rand([n, d], tch::kind::FLOAT_CPU);
        let y = Tensor::randint(3, [n], (Kind::Int64, tch::Device::Cpu));
        (x, y)
    }

    fn loss(model: &Mlp, x: &Tensor, y: &Tensor) -> f64 {
        let _g = tch::no_grad_guard();
        Loss::CrossEntropy.compute(&model.forward(x), y).unwrap().double_value(&[])
    }

    #[test]
    fn perturbation_stays_in_the_box_and_in_the_pixel_range() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let model = Mlp::new(&MlpConfig::new(10, &[16], 3).activation(Activation::Gelu), 3).unwrap();
        let (x, y) = data(64, 4, 1);
        // Pixels at the edges of [0, 1], where the clamp must act.
        let x = Tensor::cat(
            &[Tensor::zeros([64, 3], tch::kind::FLOAT_CPU), Tensor::ones([64, 3], tch::kind::FLOAT_CPU), x],
            1,
        );
        for attack in [Attack::fgsm(0.2), Attack::pgd(0.2, 0.05, 10), Attack::pgd(0.2, 0.5, 5).random_start(4)] {
            let adv = attack.perturb(&model, &x, &y).unwrap();
            let moved = (&adv - &x).abs().max().double_value(&[]);
            assert!(moved <= 0.2 + 1e-6, "{}: a pixel moved by {moved}", attack.describe());
            assert!(moved > 0.19, "{}: the attack moved nothing ({moved})", attack.describe());
            assert!(adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0, "{}", attack.describe());
        }
    }

    #[test]
    fn fgsm_is_epsilon_times_the_sign_of_the_hand_computed_gradient() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        // Softmax regression: d CE / dx = Wᵀ (softmax(Wx + b) − onehot(y)) / B.
        let model = Mlp::new(&MlpConfig::new(3, &[], 2).weight_init(Init::Normal { mean: 0.0, std: 1.0 }), 5).unwrap();
        let x = Tensor::from_slice(&[0.5f32, 0.4, 0.6, 0.3, 0.55, 0.45]).reshape([2, 3]);
        let y = Tensor::from_slice(&[0i64, 1]);
        let layer = &model.layers()[0];
        let p = x.linear(&layer.ws, layer.bs.as_ref()).softmax(-1, Kind::Float).detach();
        let onehot = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).reshape([2, 2]);
        let gradient = (p - onehot).matmul(&layer.ws.detach()) / 2.0;
        let expected = (&x + gradient.sign() * 0.1).clamp(0.0, 1.0);
        let adv = Attack::fgsm(0.1).perturb(&model, &x, &y).unwrap();
        assert!(adv.allclose(&expected, 0.0, 1e-7, false), "{adv:?} vs {expected:?}");
        assert!((&adv - &x).abs().min().double_value(&[]) > 0.099, "every pixel moves by ε");
    }

    #[test]
    fn pgd_with_one_step_of_epsilon_is_fgsm() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let model = Mlp::new(&MlpConfig::new(10, &[16], 3).activation(Activation::Softplus), 2).unwrap();
        let (x, y) = data(32, 10, 2);
        let fgsm = Attack::fgsm(0.1).perturb(&model, &x, &y).unwrap();
        let pgd1 = Attack::pgd(0.1, 0.1, 1).perturb(&model, &x, &y).unwrap();
        assert!(fgsm.equal(&pgd1));
        // More steps (or a random start) give other examples.
        assert!(!Attack::pgd(0.1, 0.02, 3).perturb(&model, &x, &y).unwrap().equal(&fgsm));
        assert!(!Attack::pgd(0.1, 0.1, 1).random_start(1).perturb(&model, &x, &y).unwrap().equal(&fgsm));
    }

    #[test]
    fn the_attack_raises_the_loss_and_pgd_raises_it_more_than_noise() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let model = Mlp::new(&MlpConfig::new(10, &[16], 3).activation(Activation::Relu), 4).unwrap();
        let (x, y) = data(256, 10, 3);
        let clean = loss(&model, &x, &y);
        let fgsm = loss(&model, &Attack::fgsm(0.1).perturb(&model, &x, &y).unwrap(), &y);
        let pgd = loss(&model, &Attack::pgd(0.1, 0.025, 10).perturb(&model, &x, &y).unwrap(), &y);
        let noise = loss(&model, &(&x + (Tensor::rand_like(&x) * 0.2 - 0.1)).clamp(0.0, 1.0), &y);
        assert!(fgsm > clean && pgd > clean, "clean {clean}, FGSM {fgsm}, PGD {pgd}");
        assert!(pgd - clean > 10.0 * (noise - clean).abs(), "PGD {pgd} vs random noise {noise} (clean {clean})");
    }

    #[test]
    fn random_starts_are_seeded_per_stream() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let model = Mlp::new(&MlpConfig::new(10, &[16], 3), 4).unwrap();
        let (x, y) = data(16, 10, 4);
        let a = Attack::pgd(0.1, 0.02, 2).random_start(9);
        let first = a.perturb_stream(&model, &x, &y, 0).unwrap();
        assert!(first.equal(&a.perturb_stream(&model, &x, &y, 0).unwrap()));
        assert!(!first.equal(&a.perturb_stream(&model, &x, &y, 1).unwrap()));
        assert!(!first.equal(&a.clone().random_start(10).perturb_stream(&model, &x, &y, 0).unwrap()));
    }

    #[test]
    fn epsilon_zero_leaves_the_inputs_and_bad_inputs_are_errors() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        let model = Mlp::new(&MlpConfig::new(10, &[16], 3), 4).unwrap();
        let (x, y) = data(16, 10, 5);
        assert!(Attack::pgd(0.0, 0.0, 3).perturb(&model, &x, &y).unwrap().equal(&x));
        let err = Attack::fgsm(0.1).perturb(&model, &(&x * 255.0), &y).unwrap_err().to_string();
        assert!(err.contains("Scaling::Unit"), "{err}");
        assert!(Attack::fgsm(f64::NAN).perturb(&model, &x, &y).unwrap_err().to_string().contains("epsilon"));
    }

    #[test]
    fn accuracy_under_attack_is_at_most_the_clean_accuracy() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        // A model trained to fit the data, then attacked.
        tch::manual_seed(6);
        let x = Tensor::rand([512, 8], tch::kind::FLOAT_CPU);
        let y = x.narrow(1, 0, 1).squeeze_dim(1).gt(0.5).to_kind(Kind::Int64);
        let ds = crate::data::TensorDataset::new(x, y, crate::data::Scaling::None).unwrap();
        let loader = DataLoader::new(ds, 64).unwrap().shuffle(1);
        let mut model = Mlp::new(&MlpConfig::new(8, &[16], 2), 1).unwrap();
        crate::train::Trainer::new(crate::train::TrainConfig::sgd(0.5, 30).quiet())
            .fit(&mut model, &loader, None)
            .unwrap();
        let clean = crate::train::evaluate(&model, &loader, Loss::CrossEntropy).unwrap();
        let fgsm = evaluate_under_attack(&model, &loader, &Attack::fgsm(0.2)).unwrap();
        let pgd = evaluate_under_attack(&model, &loader, &Attack::pgd(0.2, 0.05, 10).random_start(1)).unwrap();
        assert!(clean.accuracy > 0.9, "{clean:?}");
        assert!(fgsm.accuracy < clean.accuracy - 0.2, "FGSM {fgsm:?} vs clean {clean:?}");
        assert!(pgd.accuracy <= fgsm.accuracy, "PGD {pgd:?} vs FGSM {fgsm:?}");
        assert_eq!(fgsm.count, 512);
    }

    #[test]
    fn adversarial_training_raises_accuracy_under_attack() {
        let _serial = crate::rng::GLOBAL_GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
        // The label is in the first pixel (0.2 or 0.8, far from the boundary); 63 pixels of
        // noise that a standard model still weighs, and an attack can push all at once.
        tch::manual_seed(7);
        let y = Tensor::rand([512], tch::kind::FLOAT_CPU).gt(0.5).to_kind(Kind::Int64);
        let signal = (y.to_kind(Kind::Float) * 0.6 + 0.2).unsqueeze(1);
        let x = Tensor::cat(&[signal, Tensor::rand([512, 63], tch::kind::FLOAT_CPU)], 1);
        let ds = std::sync::Arc::new(crate::data::TensorDataset::new(x, y, crate::data::Scaling::None).unwrap());
        let loader = DataLoader::from_arc(ds, 64).unwrap().shuffle(1);
        let attack = Attack::pgd(0.1, 0.025, 5).random_start(1);
        let mut robust = Vec::new();
        for adversarial in [false, true] {
            let mut model = Mlp::new(&MlpConfig::new(64, &[16], 2), 1).unwrap();
            let mut trainer = crate::train::Trainer::new(crate::train::TrainConfig::sgd(0.5, 20).quiet());
            if adversarial {
                trainer = trainer.transform(AdversarialInputs::new(attack.clone()));
            }
            trainer.fit(&mut model, &loader, None).unwrap();
            robust.push(evaluate_under_attack(&model, &loader, &attack).unwrap().accuracy);
        }
        assert!(robust[1] > robust[0] + 0.2, "robust accuracy standard {} vs adversarial {}", robust[0], robust[1]);
    }
}
