//! Trains an MLP on your own data with tchlab and writes its learning curve.
//!
//! ```sh
//! cargo run --release -- data/my_train.csv   # the lecture's layout: `Class Label,File Name` + a folder of images
//! cargo run --release -- data/my_photos/     # an image folder: one sub-folder per class
//! cargo run --release                        # no data: the lecture's XOR points
//! ```
//! `EPOCHS=20` changes the number of epochs; the figure goes to `accuracy.svg`.

use tchlab::prelude::*;

fn main() -> Result<()> {
    let epochs: usize = match std::env::var("EPOCHS") {
        Ok(e) => e.parse().with_context(|| format!("EPOCHS={e} is not a number of epochs"))?,
        Err(_) => 10,
    };
    // Gray 28×28 images (MNIST-sized); change the size for your data.
    let images = Transforms::new().then(Transform::Grayscale).then(Transform::Resize { width: 28, height: 28 });
    let data: std::sync::Arc<dyn Dataset> = match std::env::args().nth(1) {
        Some(path) if path.ends_with(".csv") => std::sync::Arc::new(CsvImageDataset::open(&path)?.transforms(images)?),
        Some(path) => std::sync::Arc::new(ImageFolder::open(&path)?.transforms(images)?),
        None => std::sync::Arc::new(Xor::lecture().dataset()),
    };
    let inputs = data.get(0)?.numel() as i64;
    let classes = (0..data.len()).map(|i| data.get(i).map(|e| e.label)).collect::<Result<Vec<_>>>()?;
    let classes = classes.iter().max().map_or(2, |&m| m + 1).max(2);
    println!("{} examples of {inputs} values, {classes} classes", data.len());

    let loader = DataLoader::from_arc(data, 32)?.shuffle(1);
    let mut model = Mlp::new(&MlpConfig::new(inputs, &[100], classes).activation(Activation::Relu), 1)?;
    let history = Trainer::new(TrainConfig::sgd(0.1, epochs).quiet()).fit(&mut model, &loader, None)?;
    println!("{history:?}");
    Figure::curves("My experiment", &[("MLP", &history)], "accuracy").save("accuracy.svg")?;
    println!("wrote accuracy.svg");
    Ok(())
}
