use tchlab::prelude::*;
fn main() -> anyhow::Result<()> {
    let threads: usize = std::env::args().nth(1).unwrap().parse()?;
    tchlab::env::set_threads(Some(threads))?;
    let mnist = Mnist::load(MnistKind::Digits)?;
    let loader = DataLoader::new(mnist.train(Scaling::Unit), 100)?.shuffle(1);
    let valid = DataLoader::new(mnist.test(Scaling::Unit), 1000)?;
    for (hidden, act, opt) in [
        (vec![256, 256], Activation::Relu, TrainConfig::sgd(0.1, 2)),
        (vec![100], Activation::Sigmoid, TrainConfig::adam(0.001, 2)),
        (vec![100], Activation::Sigmoid, TrainConfig::sgd(0.1, 2).fused_step(false)),
    ] {
        let cfg = MlpConfig::new(784, &hidden, 10).activation(act);
        let mut model = Mlp::new(&cfg, 1)?;
        let h = Trainer::new(opt.quiet()).fit(&mut model, &loader, Some(&valid))?;
        let mut bits = 0u64;
        let mut vars: Vec<_> = model.var_store().variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, v) in vars {
            let data: Vec<f32> = Vec::<f32>::try_from(v.flatten(0, -1))?;
            for x in data {
                bits = bits.wrapping_mul(31).wrapping_add(x.to_bits() as u64);
            }
        }
        let l: Vec<String> = h.minibatch_loss.iter().rev().take(1).map(|x| format!("{x:e}")).collect();
        println!(
            "threads {threads} {cfg:?}: weights hash {bits:x} last loss {l:?} valid {:?}",
            h.last("valid").map(|r| (r.loss, r.accuracy))
        );
    }
    Ok(())
}
