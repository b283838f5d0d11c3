//! Cats vs dogs from real photos: an image-folder dataset, per-channel normalisation,
//! augmentation, and a VGG-style CNN (the lecture's VGG16 or a small one for CPUs).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};

use super::Report;
use crate::data::{DataLoader, Dataset, ImageFolder, Transform, Transforms, channel_mean_std};
use crate::metrics::Interpretation;
use crate::model::{Cnn, CnnConfig};
use crate::plot::Figure;
use crate::train::{Loss, TrainConfig, Trainer};

super::settings! {
    /// Settings: 64×64 images, flip + 5° rotation + random resized crop (0.96–1),
    /// Adam 0.001, batch 128; `model=vgg16` is the lecture's network, `small` trains in
    /// minutes on a CPU.
    ///
    /// ```
    /// let c = tchlab::experiments::cats_dogs::Config::lecture();
    /// assert_eq!(c.model, "vgg16");
    /// ```
    "cats-dogs",
    pub struct Config {
        /// Folder with `train/`, `valid/`, `test/` (empty: `TCHLAB_CATS_DOGS_DIR`).
        dir: String = String::new(),
        /// `vgg16` or `small`.
        model: String = "vgg16".into(),
        /// Image side after resizing.
        size: u32 = 64,
        /// Adam learning rate.
        lr: f64 = 0.001,
        /// Minibatch size.
        batch: usize = 128,
        /// Epochs.
        epochs: usize = 100,
        /// Seed.
        seed: u64 = 1,
        /// Device: cpu, cuda or auto.
        device: String = "auto".into(),
    }
}

impl Config {
    /// CI and laptops: the small CNN, batch 32, 8 epochs on the CPU.
    pub fn ci() -> Self {
        Config { model: "small".into(), batch: 32, epochs: 8, device: "cpu".into(), ..Self::lecture() }
    }

    /// The photo folder.
    pub fn folder(&self) -> PathBuf {
        if self.dir.is_empty() { crate::env::Settings::from_env().cats_dogs_dir } else { PathBuf::from(&self.dir) }
    }
}

/// Loads the photos, trains and evaluates.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let mut report = Report::new("cats-dogs");
    report.settings = c.to_params().entries();
    let root = c.folder();
    if !root.join("train").is_dir() {
        bail!(
            "cats/dogs photos not found: {} has no train/ folder; set TCHLAB_CATS_DOGS_DIR (or --set dir=...) to a folder with train/valid/test/{{cat,dog}}",
            root.display()
        );
    }
    let device = crate::env::device(&c.device)?;
    let s = c.size;
    let plain = Transforms::new().then(Transform::Rgb).then(Transform::Resize { width: s, height: s });
    let (mean, std) = channel_mean_std(&ImageFolder::open(root.join("train"))?.transforms(plain.clone())?)?;
    println!("per-channel mean {mean:.4?} std {std:.4?}");
    for (k, ch) in ["r", "g", "b"].iter().enumerate() {
        report.metric(&format!("mean_{ch}"), mean[k]);
        report.metric(&format!("std_{ch}"), std[k]);
    }
    let norm = Transform::Normalize {
        mean: mean.iter().map(|&v| v as f32).collect(),
        std: std.iter().map(|&v| v as f32).collect(),
    };
    let train_tf = Transforms::new()
        .then(Transform::Rgb)
        .then(Transform::RandomResizedCrop { width: s, height: s, scale: (0.96, 1.0) })
        .then(Transform::RandomHorizontalFlip(0.5))
        .then(Transform::RandomRotation(5.0))
        .then(norm.clone());
    let eval_tf = plain.clone().then(norm);
    let train = ImageFolder::open(root.join("train"))?.transforms(train_tf)?;
    let valid = ImageFolder::open(root.join("valid"))?.transforms(eval_tf.clone())?;
    let test = ImageFolder::open(root.join("test"))?.transforms(eval_tf)?;
    let classes = train.classes();
    println!("{} training, {} validation, {} test images; classes {classes:?}", train.len(), valid.len(), test.len());
    let config = match c.model.as_str() {
        "vgg16" => CnnConfig::vgg16(3, s as i64, classes.len() as i64),
        "small" => CnnConfig::small(3, s as i64, classes.len() as i64),
        other => bail!("model `{other}` is not known: use vgg16 or small"),
    };
    let mut model = Cnn::on_device(&config, c.seed, device)?;
    println!(
        "{} ({} parameters)",
        crate::model::Network::describe(&model),
        crate::model::Network::parameter_count(&model)
    );
    let train_loader = DataLoader::new(train, c.batch)?.shuffle(c.seed).device(device);
    let valid_loader = DataLoader::new(valid, 125)?.device(device);
    let test_loader = DataLoader::new(test, 125)?.device(device);
    let history = Trainer::new(TrainConfig::adam(c.lr, c.epochs).seed(c.seed).eval_train(false)).fit(
        &mut model,
        &train_loader,
        Some(&valid_loader),
    )?;
    let interp = Interpretation::from_model(&model, &test_loader, Loss::CrossEntropy)?;
    report.metric("train_accuracy", 100.0 * history.last("train").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("valid_accuracy", 100.0 * history.last("valid").map(|r| r.accuracy).unwrap_or(f64::NAN));
    report.metric("test_accuracy", 100.0 * interp.accuracy());
    // A row of test photos (without normalisation) with their predictions.
    let photos = ImageFolder::open(root.join("test"))?.transforms(plain)?;
    let n = photos.len();
    let picks: Vec<usize> = (0..8).map(|k| k * n / 8).collect();
    let (images, _) = photos.batch(&picks, 0)?;
    let captions: Vec<String> = picks
        .iter()
        .map(|&i| {
            let p = interp.predictions.predicted[i] as usize;
            let t = interp.predictions.targets[i] as usize;
            format!(
                "P: {} | T: {}",
                classes.get(p).map_or("?", |s| s.as_str()),
                classes.get(t).map_or("?", |s| s.as_str())
            )
        })
        .collect();
    report.figures.push(("curves".into(), Figure::curves("Cats vs dogs accuracy", &[("", &history)], "accuracy")));
    report.figures.push(("test_photos".into(), Figure::image_grid("Test photos", &images, &captions, 4, false)?));
    report.figures.push(("confusion_matrix".into(), Figure::confusion_matrix(&interp.confusion_matrix(), &classes)));
    report.histories.push(("cnn".into(), history));
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(report)
}
