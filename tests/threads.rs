//! The thread count follows the machine's load without changing results. A test binary
//! of its own: these tests set libtorch's process-wide thread count.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tch::Tensor;
use tchlab::prelude::*;
use tchlab::threads::{ThreadGovernor, reproducible_products};

/// Held by each test: they set the process-wide thread count and draw from libtorch's
/// global generator.
static SERIAL: Mutex<()> = Mutex::new(());

/// 1,000 random "images" of the lecture's MNIST shape with 10 classes.
fn lecture_shaped_data() -> DataLoader {
    tch::manual_seed(11);
    let x = Tensor::rand([1000, 784], tch::kind::FLOAT_CPU);
    let y = Tensor::randint(10, [1000], tch::kind::INT64_CPU);
    DataLoader::new(TensorDataset::new(x, y, Scaling::None).unwrap(), 100).unwrap().shuffle(2)
}

/// Minibatch losses and final weights of the lecture's 784-100-10 sigmoid model trained
/// with `threads` threads under `tc`.
fn train(threads: i32, tc: TrainConfig) -> (Vec<f64>, Vec<Vec<f32>>) {
    tch::set_num_threads(threads);
    let loader = lecture_shaped_data();
    let mut model = Mlp::new(&MlpConfig::new(784, &[100], 10).activation(Activation::Sigmoid), 1).unwrap();
    let history = Trainer::new(tc.quiet()).fit(&mut model, &loader, Some(&loader)).unwrap();
    let mut vars: Vec<_> = model.var_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let weights = vars.iter().map(|(_, v)| Vec::<f32>::try_from(v.flatten(0, -1)).unwrap()).collect();
    (history.minibatch_loss, weights)
}

#[test]
fn training_gives_the_same_bits_with_one_thread_or_two() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(reproducible_products(), "MKL's reproducible mode could not be set: libtorch without MKL?");
    for tc in [TrainConfig::sgd(0.5, 2), TrainConfig::adam(0.01, 2), TrainConfig::sgd(0.5, 2).fused_step(false)] {
        let (one, two) = (train(1, tc.clone()), train(2, tc.clone()));
        assert!(one.0.iter().zip(&two.0).all(|(a, b)| a.to_bits() == b.to_bits()), "{tc:?}: losses differ");
        assert!(one.1 == two.1, "{tc:?}: weights differ between one and two threads");
    }
}

#[test]
fn the_governor_drops_to_the_free_cores_while_another_process_is_busy() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cores != 2 {
        eprintln!("skipped: the check is written for a 2-core machine ({cores} cores here)");
        return;
    }
    tch::set_num_threads(2);
    let _ = reproducible_products();
    let busy = Busy(std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap());
    let mut governor = ThreadGovernor::new();
    assert_eq!(governor.threads(), 2);
    let start = Instant::now();
    // Our own work meanwhile, as training would do.
    let a = Tensor::rand([256, 256], tch::kind::FLOAT_CPU);
    while start.elapsed() < Duration::from_millis(1300) {
        let _ = a.mm(&a);
        governor.tick();
    }
    let chosen = governor.threads();
    drop(busy);
    assert_eq!(chosen, 1, "one busy process on two cores: the governor should use one thread");
    assert_eq!(tch::get_num_threads(), 1);
    drop(governor);
    assert_eq!(tch::get_num_threads(), 2, "dropping the governor restores the thread count");
}

/// A busy process, killed when dropped (also when an assertion fails first).
struct Busy(std::process::Child);

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
