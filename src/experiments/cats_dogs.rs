//! Cats vs dogs from real photos: an image-folder dataset, per-channel normalisation,
//! augmentation, and a VGG-style CNN (the lecture's VGG16 or a small one for CPUs).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};

use super::{Presentation, Report};
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

/// The photos as the lecture's pipeline prepares them: loaders for the training photos
/// (random resized crop, flip and rotation, then normalised; shuffled), the validation
/// and test photos (resized and normalised), the training set's per-channel mean and
/// standard deviation, the class names, and the test photos without normalisation (for
/// showing them).
pub struct Data {
    /// The training photos, augmented and normalised, shuffled with the seed.
    pub train: DataLoader,
    /// The validation photos, normalised.
    pub valid: DataLoader,
    /// The test photos, normalised.
    pub test: DataLoader,
    /// Per-channel mean of the resized training photos (R, G, B).
    pub mean: Vec<f64>,
    /// Per-channel standard deviation of the resized training photos.
    pub std: Vec<f64>,
    /// Class names (the sub-folders, sorted).
    pub classes: Vec<String>,
    /// The test photos resized, without normalisation.
    pub test_photos: ImageFolder,
    /// The device the loaders put their batches on.
    pub device: tch::Device,
}

/// Opens `train/`, `valid/` and `test/` of [`Config::folder`], computes the training
/// photos' mean and standard deviation, and builds the loaders of [`Data`].
///
/// ```no_run
/// use tchlab::experiments::cats_dogs::{Config, data};
/// let d = data(&Config::ci())?;
/// assert_eq!(d.classes, vec!["cat", "dog"]);
/// # anyhow::Ok(())
/// ```
pub fn data(c: &Config) -> Result<Data> {
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
    Ok(Data {
        train: DataLoader::new(train, c.batch)?.shuffle(c.seed).device(device),
        valid: DataLoader::new(valid, 125)?.device(device),
        test: DataLoader::new(test, 125)?.device(device),
        mean,
        std,
        classes,
        test_photos: ImageFolder::open(root.join("test"))?.transforms(plain)?,
        device,
    })
}

/// The network `c.model` names: `vgg16` (the lecture's) or `small`, for `c.size`-pixel
/// photos and the data's classes.
///
/// ```
/// use tchlab::experiments::cats_dogs::{Config, model};
/// assert!(model(&Config::ci(), 2).is_ok());
/// assert!(model(&Config { model: "resnet".into(), ..Config::ci() }, 2).is_err());
/// ```
pub fn model(c: &Config, classes: usize) -> Result<CnnConfig> {
    let (s, k) = (c.size as i64, classes as i64);
    Ok(match c.model.as_str() {
        "vgg16" => CnnConfig::vgg16(3, s, k),
        "small" => CnnConfig::small(3, s, k),
        other => bail!("model `{other}` is not known: use vgg16 or small"),
    })
}

/// A trained CNN and its history (training loss per minibatch, validation accuracy per epoch).
pub struct TrainedCnn {
    /// The trained network.
    pub model: Cnn,
    /// Its history.
    pub history: crate::train::History,
}

/// Builds [`model`] with the seed and trains it with Adam, validating after each epoch.
pub fn train(c: &Config, data: &Data) -> Result<TrainedCnn> {
    let mut model = Cnn::on_device(&model(c, data.classes.len())?, c.seed, data.device)?;
    println!(
        "{} ({} parameters)",
        crate::model::Network::describe(&model),
        crate::model::Network::parameter_count(&model)
    );
    let history = Trainer::new(TrainConfig::adam(c.lr, c.epochs).seed(c.seed).eval_train(false)).fit(
        &mut model,
        &data.train,
        Some(&data.valid),
    )?;
    Ok(TrainedCnn { model, history })
}

/// The trained network's predictions on the test photos.
pub fn evaluate(data: &Data, trained: &TrainedCnn) -> Result<Interpretation> {
    Interpretation::from_model(&trained.model, &data.test, Loss::CrossEntropy)
}

/// Eight test photos spread over the test set, without normalisation, titled with the
/// prediction and the truth as on the lecture's slide (`P: dog | T: cat`).
pub fn test_photos(data: &Data, interp: &Interpretation) -> Result<Figure> {
    let n = data.test_photos.len();
    let picks: Vec<usize> = (0..8).map(|k| k * n / 8).collect();
    let (images, _) = data.test_photos.batch(&picks, 0)?;
    let name = |i: i64| data.classes.get(i as usize).map_or("?", |s| s.as_str()).to_string();
    let captions: Vec<String> = picks
        .iter()
        .map(|&i| format!("P: {} | T: {}", name(interp.predictions.predicted[i]), name(interp.predictions.targets[i])))
        .collect();
    Figure::image_grid("Test photos", &images, &captions, 4, false)
}

/// A value per colour channel, named after the field: `mean_r`, `mean_g`, `mean_b`, … .
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb(pub [f64; 3]);

impl super::MetricValue for Rgb {
    fn push_metrics(&self, field: &str, out: &mut Vec<(String, f64)>) {
        for (ch, v) in ["r", "g", "b"].iter().zip(self.0) {
            out.push((format!("{field}_{ch}"), v));
        }
    }
}

crate::results! {
    /// The normalisation and the CNN's accuracies.
    pub struct Results {
        /// Mean of each channel over the training photos.
        mean: Rgb,
        /// Standard deviation of each channel.
        std: Rgb,
        /// Training accuracy after the last epoch (%).
        train_accuracy: f64,
        /// Validation accuracy after the last epoch (%).
        valid_accuracy: f64,
        /// Test accuracy (%).
        test_accuracy: f64,
    }
}

/// The numbers of the run.
///
/// ```no_run
/// use tchlab::experiments::cats_dogs::{Config, data, evaluate, results, train};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let t = train(&c, &d)?;
/// let r = results(&d, &t, &evaluate(&d, &t)?);
/// assert!(r.test_accuracy > 0.0);
/// # anyhow::Ok(())
/// ```
pub fn results(data: &Data, trained: &TrainedCnn, interp: &Interpretation) -> Results {
    let last = |split: &str| 100.0 * trained.history.last(split).map(|r| r.accuracy).unwrap_or(f64::NAN);
    Results {
        mean: Rgb([data.mean[0], data.mean[1], data.mean[2]]),
        std: Rgb([data.std[0], data.std[1], data.std[2]]),
        train_accuracy: last("train"),
        valid_accuracy: last("valid"),
        test_accuracy: 100.0 * interp.accuracy(),
    }
}

/// Accuracy per epoch, training and validation.
///
/// ```no_run
/// use tchlab::experiments::cats_dogs::{Config, accuracy_figure, data, train};
/// let c = Config::ci();
/// let figure = accuracy_figure(&train(&c, &data(&c)?)?);
/// # anyhow::Ok(())
/// ```
pub fn accuracy_figure(trained: &TrainedCnn) -> Figure {
    Figure::curves("Cats vs dogs accuracy", &[("", &trained.history)], "accuracy")
}

/// The test confusion matrix.
///
/// ```no_run
/// use tchlab::experiments::cats_dogs::{Config, confusion_figure, data, evaluate, train};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let figure = confusion_figure(&d, &evaluate(&d, &train(&c, &d)?)?);
/// # anyhow::Ok(())
/// ```
pub fn confusion_figure(data: &Data, interp: &Interpretation) -> Figure {
    Figure::confusion_matrix(&interp.confusion_matrix(), &data.classes)
}

/// Every figure and the history, as `tchlab run` saves them (`photos` from
/// [`test_photos`]).
///
/// ```no_run
/// use tchlab::experiments::cats_dogs::{Config, data, evaluate, present, test_photos, train};
/// let c = Config::ci();
/// let d = data(&c)?;
/// let t = train(&c, &d)?;
/// let interp = evaluate(&d, &t)?;
/// let p = present(&d, &t, &interp, test_photos(&d, &interp)?);
/// assert_eq!(p.figure_names(), vec!["curves", "test_photos", "confusion_matrix"]);
/// # anyhow::Ok(())
/// ```
pub fn present(data: &Data, trained: &TrainedCnn, interp: &Interpretation, photos: Figure) -> Presentation {
    Presentation::default()
        .figure("curves", accuracy_figure(trained))
        .figure("test_photos", photos)
        .figure("confusion_matrix", confusion_figure(data, interp))
        .history("cnn", trained.history.clone())
}

/// Every step in order: data, training, evaluation, the test photos, the results.
pub fn run(c: &Config) -> Result<Report> {
    let clock = Instant::now();
    let data = data(c)?;
    let trained = train(c, &data)?;
    let interp = evaluate(&data, &trained)?;
    let photos = test_photos(&data, &interp)?;
    Ok(c.report(&results(&data, &trained, &interp), present(&data, &trained, &interp, photos), clock))
}
