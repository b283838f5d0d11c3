//! Datasets, loaders, MNIST files and downloads, the custom CSV layout, image folders,
//! transforms, and every bad input the data module must reject with a clear error.

mod common;

use std::sync::Arc;

use tchlab::data::*;

fn err<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

#[test]
fn idx_reader_reads_gzip_and_raw_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..2 * 3 * 4).map(|v| v as u8).collect();
    common::write_idx(&dir.path().join("a.gz"), 3, &[2, 3, 4], &data, true);
    common::write_idx(&dir.path().join("a"), 3, &[2, 3, 4], &data, false);
    for name in ["a.gz", "a"] {
        let (dims, got) = read_idx(&dir.path().join(name)).unwrap();
        assert_eq!(dims, vec![2, 3, 4]);
        assert_eq!(got, data);
    }
    // Wrong magic.
    std::fs::write(dir.path().join("bad"), [1, 2, 3, 4, 0, 0, 0, 1, 9]).unwrap();
    assert!(err(read_idx(&dir.path().join("bad"))).contains("wrong magic"));
    // Truncated data.
    common::write_idx(&dir.path().join("short"), 3, &[2, 3, 4], &data[..10], false);
    let e = err(read_idx(&dir.path().join("short")));
    assert!(e.contains("truncated") && e.contains("short"), "{e}");
    // Corrupt gzip: a valid header followed by garbage.
    let mut gz = std::fs::read(dir.path().join("a.gz")).unwrap();
    let n = gz.len();
    gz.truncate(n / 2);
    std::fs::write(dir.path().join("cut.gz"), &gz).unwrap();
    let e = err(read_idx(&dir.path().join("cut.gz")));
    assert!(e.contains("corrupt gzip") && e.contains("cut.gz"), "{e}");
    // Missing file.
    assert!(err(read_idx(&dir.path().join("nope"))).contains("nope"));
}

fn fake_mnist(dir: &std::path::Path, n_train: u32, n_train_labels: u32) {
    let img = |n: u32| (0..n * 28 * 28).map(|v| (v % 251) as u8).collect::<Vec<_>>();
    let lab = |n: u32| (0..n).map(|v| (v % 10) as u8).collect::<Vec<_>>();
    common::write_idx(&dir.join("train-images-idx3-ubyte.gz"), 3, &[n_train, 28, 28], &img(n_train), true);
    common::write_idx(&dir.join("train-labels-idx1-ubyte.gz"), 1, &[n_train_labels], &lab(n_train_labels), true);
    common::write_idx(&dir.join("t10k-images-idx3-ubyte"), 3, &[4, 28, 28], &img(4), false);
    common::write_idx(&dir.join("t10k-labels-idx1-ubyte"), 1, &[4], &lab(4), false);
}

#[test]
fn mnist_load_dir_checks_counts_and_names_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    fake_mnist(dir.path(), 6, 6);
    let m = Mnist::load_dir(MnistKind::Digits, dir.path()).unwrap();
    assert_eq!(m.train_images.size(), vec![6, 28, 28]);
    assert_eq!(m.test_labels.size(), vec![4]);
    let ds = m.train(Scaling::Unit);
    assert_eq!(ds.len(), 6);
    let (x, y) = ds.batch(&[5, 0], 0).unwrap();
    assert_eq!(x.size(), vec![2, 28, 28]);
    assert_eq!(Vec::<i64>::try_from(y).unwrap(), vec![5, 0]);
    assert!(x.max().double_value(&[]) <= 1.0);
    // Image/label count mismatch.
    let bad = tempfile::tempdir().unwrap();
    fake_mnist(bad.path(), 6, 5);
    let e = err(Mnist::load_dir(MnistKind::Digits, bad.path()));
    assert!(e.contains("5 labels") && e.contains("6 images"), "{e}");
    // Missing file says how to get it.
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    let e = err(Mnist::load_dir(MnistKind::Digits, dir.path()));
    assert!(e.contains("t10k-labels-idx1-ubyte") && e.contains("tchlab data fetch mnist"), "{e}");
}

#[test]
fn fetch_checks_the_checksum_and_keeps_no_bad_file() {
    let mirror = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(mirror.path().join("f.bin"), b"hello").unwrap();
    let good = md5_hex(b"hello");
    let check = |want: String| {
        move |bytes: &[u8]| -> anyhow::Result<()> {
            anyhow::ensure!(md5_hex(bytes) == want, "checksum mismatch: got {}", md5_hex(bytes));
            Ok(())
        }
    };
    let mirrors = vec![mirror.path().display().to_string()];
    let path = fetch_file("f.bin", &mirrors, cache.path(), &check(good.clone())).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    // A wrong checksum: the error names the mirror, and nothing is kept.
    let e = err(fetch_file("f.bin", &mirrors, &cache.path().join("other"), &check("0".repeat(32))));
    assert!(e.contains("checksum mismatch") && e.contains(&mirrors[0]), "{e}");
    let left = std::fs::read_dir(cache.path().join("other")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "a file that failed its check, or a temporary file, was left behind");
    // A missing file on every mirror.
    let e = err(fetch_file("g.bin", &mirrors, cache.path(), &check(good)));
    assert!(e.contains("g.bin") && e.contains("set a mirror"), "{e}");
}

#[test]
fn real_mnist_through_the_mirror_has_the_known_counts() {
    let Some(m) = common::mnist() else { return };
    assert_eq!(m.train_images.size(), vec![60000, 28, 28]);
    assert_eq!(m.test_images.size(), vec![10000, 28, 28]);
    let counts = m.train_labels.bincount::<tch::Tensor>(None, 10);
    assert_eq!(Vec::<i64>::try_from(counts).unwrap(), vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    let counts = m.test_labels.bincount::<tch::Tensor>(None, 10);
    assert_eq!(Vec::<i64>::try_from(counts).unwrap(), vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // Pixel statistics of the training set (a well-known 0.1307 / 0.3081).
    let x = m.train_images.to_kind(tch::Kind::Double) / 255.0;
    assert!((x.mean(tch::Kind::Double).double_value(&[]) - 0.1307).abs() < 1e-4);
    assert!((x.std(true).double_value(&[]) - 0.3081).abs() < 1e-4);
}

#[test]
fn loader_batches_shuffles_reproducibly_and_rejects_bad_settings() {
    let ds = Xor::lecture().dataset();
    let a = DataLoader::new(Xor::lecture().dataset(), 100).unwrap().shuffle(7);
    let b = DataLoader::new(Xor::lecture().dataset(), 100).unwrap().shuffle(7);
    assert_eq!(a.order(0), b.order(0));
    assert_ne!(a.order(0), a.order(1), "a new order every epoch");
    assert_ne!(a.order(0), DataLoader::new(Xor::lecture().dataset(), 100).unwrap().shuffle(8).order(0));
    let mut sorted = a.order(3);
    sorted.sort();
    assert_eq!(sorted, (0..750).collect::<Vec<_>>());
    let sizes: Vec<usize> = a.epoch(0).map(|b| b.unwrap().indices.len()).collect();
    assert_eq!(sizes, vec![100, 100, 100, 100, 100, 100, 100, 50]);
    let dropped = a.clone().drop_last(true);
    assert_eq!(dropped.epoch(0).count(), 7);
    // Batches hold the examples the indices name.
    let batch = a.epoch(2).next().unwrap().unwrap();
    let first = ds.get(batch.indices[0]).unwrap();
    assert_eq!(batch.inputs.double_value(&[0, 0]) as f32, first.input[0]);
    assert_eq!(batch.labels.int64_value(&[0]), first.label);
    // Bad settings.
    assert!(err(DataLoader::new(Xor::lecture().dataset(), 0)).contains("batch size is 0"));
    let empty = TensorDataset::new(
        tch::Tensor::zeros([0, 2], tch::kind::FLOAT_CPU),
        tch::Tensor::zeros([0], tch::kind::INT64_CPU),
        Scaling::None,
    )
    .unwrap();
    assert!(err(DataLoader::new(empty, 4)).contains("empty"));
}

#[test]
fn splits_by_fraction_and_range_are_reproducible_and_disjoint() {
    let parts = split_fractions(1000, &[0.8, 0.05, 0.15], 3).unwrap();
    assert_eq!(parts, split_fractions(1000, &[0.8, 0.05, 0.15], 3).unwrap());
    let mut all: Vec<usize> = parts.concat();
    all.sort();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
    assert!(split_fractions(10, &[0.5, 0.6], 1).is_err());
    let ds: Arc<dyn Dataset> = Arc::new(Xor::lecture().dataset());
    let valid = Subset::range(ds.clone(), 700..750).unwrap();
    assert_eq!(valid.get(0).unwrap(), ds.get(700).unwrap());
    assert!(err(Subset::range(ds, 700..751)).contains("does not fit"));
}

fn custom_layout(dir: &std::path::Path, rows: &[(i64, &str)]) -> std::path::PathBuf {
    let images = dir.join("digits");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("Class Label,File Name\n");
    for (label, name) in rows {
        csv.push_str(&format!("{label},{name}\n"));
    }
    std::fs::write(dir.join("digits.csv"), csv).unwrap();
    dir.join("digits.csv")
}

#[test]
fn csv_dataset_reads_images_and_reports_every_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = custom_layout(dir.path(), &[(3, "a.png"), (7, "b.png")]);
    common::write_png(&dir.path().join("digits/a.png"), 28, 28, 255);
    common::write_png(&dir.path().join("digits/b.png"), 28, 28, 0);
    let ds = CsvImageDataset::open(&csv).unwrap();
    assert_eq!(ds.len(), 2);
    let ex = ds.get(0).unwrap();
    assert_eq!((ex.shape.clone(), ex.label), (vec![1, 28, 28], 3));
    assert!(ex.input.iter().all(|&v| v == 1.0));
    let (x, y) = ds.batch(&[1, 0], 0).unwrap();
    assert_eq!(x.size(), vec![2, 1, 28, 28]);
    assert_eq!(Vec::<i64>::try_from(y).unwrap(), vec![7, 3]);

    // A row that names a missing image.
    let d2 = tempfile::tempdir().unwrap();
    let csv2 = custom_layout(d2.path(), &[(1, "there.png"), (2, "missing.png")]);
    common::write_png(&d2.path().join("digits/there.png"), 28, 28, 1);
    let e = err(CsvImageDataset::open(&csv2));
    assert!(e.contains("row 2") && e.contains("missing.png"), "{e}");
    // An undecodable image.
    std::fs::write(d2.path().join("digits/missing.png"), b"not a png").unwrap();
    let ds2 = CsvImageDataset::open(&csv2).unwrap();
    let e = err(ds2.get(1));
    assert!(e.contains("row 2") && e.contains("cannot decode"), "{e}");
    // An image of the wrong size.
    common::write_png(&d2.path().join("digits/missing.png"), 20, 28, 1);
    let e = err(CsvImageDataset::open(&csv2).unwrap().batch(&[0, 1], 0));
    assert!(e.contains("row 2") && e.contains("[1, 28, 20]") && e.contains("[1, 28, 28]"), "{e}");
    // Wrong channel count: RGB among gray images.
    image::RgbImage::new(28, 28).save(d2.path().join("digits/missing.png")).unwrap();
    let e = err(CsvImageDataset::open(&csv2).unwrap().get(1));
    assert!(e.contains("[3, 28, 28]"), "{e}");
    // Missing columns name the columns that exist.
    let d3 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d3.path().join("x")).unwrap();
    std::fs::write(d3.path().join("x.csv"), "label,file\n1,a.png\n").unwrap();
    let e = err(CsvImageDataset::open(d3.path().join("x.csv")));
    assert!(e.contains("no column `Class Label`") && e.contains("`label`"), "{e}");
    // Configurable columns accept it.
    common::write_png(&d3.path().join("x/a.png"), 4, 4, 9);
    let opts = CsvOptions { label_column: "label".into(), file_column: "file".into(), ..Default::default() };
    assert_eq!(CsvImageDataset::with_options(d3.path().join("x.csv"), &opts).unwrap().len(), 1);
    // An empty CSV.
    std::fs::write(d3.path().join("x.csv"), "Class Label,File Name\n").unwrap();
    assert!(err(CsvImageDataset::open(d3.path().join("x.csv"))).contains("empty"));
    // A missing CSV.
    assert!(err(CsvImageDataset::open(d3.path().join("nope.csv"))).contains("nope.csv"));
}

#[test]
fn export_writes_the_lecture_layout_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let images = tch::Tensor::arange(10 * 28 * 28, (tch::Kind::Int64, tch::Device::Cpu))
        .remainder(256)
        .to_kind(tch::Kind::Uint8)
        .reshape([10, 28, 28]);
    let labels = tch::Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let csv = export_custom(&images, &labels, 4..8, dir.path(), "mnist_valid").unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some("Class Label,File Name"));
    assert_eq!(text.lines().nth(1), Some("4,4.png"));
    assert!(!dir.path().join("mnist_valid.part").exists());
    let ds = CsvImageDataset::open(&csv).unwrap();
    assert_eq!(ds.len(), 4);
    let ex = ds.get(0).unwrap();
    let want = Vec::<u8>::try_from(images.get(4).flatten(0, -1)).unwrap();
    let got: Vec<u8> = ex.input.iter().map(|v| (v * 255.0).round() as u8).collect();
    assert_eq!(got, want, "PNG round trip is lossless");
    assert!(err(export_custom(&images, &labels, 8..12, dir.path(), "x")).contains("does not fit"));
}

#[test]
fn image_folder_sorts_classes_and_augments_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["dog", "cat"] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for i in 0..3 {
            let mut img = image::RgbImage::new(40, 30);
            for (x, _, p) in img.enumerate_pixels_mut() {
                *p = image::Rgb([(x * 6) as u8, i * 40, 100]);
            }
            img.save(dir.path().join(class).join(format!("{i}.jpg"))).unwrap();
        }
    }
    std::fs::write(dir.path().join("cat/notes.txt"), "ignored").unwrap();
    let t = Transforms::new()
        .then(Transform::RandomResizedCrop { width: 16, height: 16, scale: (0.5, 1.0) })
        .then(Transform::RandomHorizontalFlip(0.5))
        .then(Transform::RandomRotation(10.0));
    let ds = ImageFolder::open(dir.path()).unwrap().transforms(t).unwrap();
    assert_eq!(ds.classes(), vec!["cat", "dog"]);
    assert_eq!(ds.class_to_index()["dog"], 1);
    assert_eq!(ds.len(), 6);
    let a = ds.get_seeded(0, 42).unwrap();
    assert_eq!(a.shape, vec![3, 16, 16]);
    assert_eq!(a, ds.get_seeded(0, 42).unwrap(), "same seed, same augmentation");
    assert_ne!(a.input, ds.get_seeded(0, 43).unwrap().input, "another seed, another augmentation");
    // Parallel batches equal sequential ones.
    let (x1, _) = ds.clone().workers(1).batch(&[0, 1, 2, 3, 4, 5], 9).unwrap();
    let (x2, _) = ds.clone().workers(3).batch(&[0, 1, 2, 3, 4, 5], 9).unwrap();
    assert!(x1.equal(&x2));
    // No class folders.
    let empty = tempfile::tempdir().unwrap();
    assert!(err(ImageFolder::open(empty.path())).contains("no class sub-folders"));
    // Transforms in the wrong order.
    let bad =
        Transforms::new().then(Transform::RandomHorizontalFlip(0.5)).then(Transform::Resize { width: 8, height: 8 });
    assert!(
        err(ImageFolder::open(dir.path()).unwrap().transforms(bad)).contains("put colour, resize and crop steps first")
    );
}

#[test]
fn transforms_flip_normalise_and_mean_std() {
    let img = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(4, 1, |x, _| image::Luma([(x * 85) as u8])));
    let flip = Transforms::new().then(Transform::RandomHorizontalFlip(1.0));
    let (v, shape) = flip.apply(img.clone(), 5).unwrap();
    assert_eq!(shape, vec![1, 1, 4]);
    assert_eq!(v, vec![1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0]);
    let (v, _) = flip.apply(img.clone(), 0).unwrap();
    assert_eq!(v[0], 0.0, "seed 0 turns random steps off");
    let norm = Transforms::new().then(Transform::Normalize { mean: vec![0.5], std: vec![0.5] });
    let (v, _) = norm.apply(img.clone(), 0).unwrap();
    for (got, want) in v.iter().zip([-1.0f32, -1.0 / 3.0, 1.0 / 3.0, 1.0]) {
        assert!((got - want).abs() < 1e-6, "{v:?}");
    }
    let rgb_norm = Transforms::new().then(Transform::Normalize { mean: vec![0.5; 3], std: vec![0.5; 3] });
    assert!(err(rgb_norm.apply(img, 0)).contains("3 channel values"));
}

#[test]
fn resize_and_scaled_jpeg_decoding_match_full_decoding() {
    // A smooth colour photo-like image, saved as JPEG.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    let img = image::RgbImage::from_fn(500, 374, |x, y| {
        image::Rgb([(x * 255 / 499) as u8, (y * 255 / 373) as u8, (((x + y) / 4) % 256) as u8])
    });
    image::DynamicImage::ImageRgb8(img).to_rgb8().save(&path).unwrap();
    let t = Transforms::new().then(Transform::Rgb).then(Transform::Resize { width: 64, height: 64 });
    // Decoded at 1/4 scale (125 x 94, still at least 64 x 64) ...
    let fast = t.open(&path).unwrap();
    assert_eq!((fast.width(), fast.height()), (125, 94));
    let (a, shape) = t.apply(fast, 0).unwrap();
    assert_eq!(shape, vec![3, 64, 64]);
    // ... gives the same picture as decoding every pixel and resizing with the image crate.
    let full = image::open(&path).unwrap().resize_exact(64, 64, image::imageops::FilterType::Triangle);
    let (b, _) = Transforms::new().apply(full, 0).unwrap();
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    let mean = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    assert!(mean < 0.01 && worst < 0.08, "mean difference {mean}, worst {worst}");
    // A resize to the full size keeps a constant image constant; a non-JPEG file and a
    // pipeline without a leading resize decode every pixel.
    let gray = image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(37, 23, image::Luma([77])));
    let (v, shape) = Transforms::new().then(Transform::Resize { width: 8, height: 5 }).apply(gray, 0).unwrap();
    assert_eq!(shape, vec![1, 5, 8]);
    assert!(v.iter().all(|x| (x - 77.0 / 255.0).abs() < 1e-6), "{v:?}");
    let flip_first = Transforms::new().then(Transform::RandomResizedCrop { width: 64, height: 64, scale: (0.5, 1.0) });
    assert_eq!(flip_first.open(&path).unwrap().width(), 500);
    // A gray JPEG stays one channel, at the reduced scale too.
    let gray_path = dir.path().join("gray.jpg");
    image::GrayImage::from_fn(400, 300, |x, _| image::Luma([(x * 255 / 399) as u8])).save(&gray_path).unwrap();
    let small = Transforms::new().then(Transform::Resize { width: 64, height: 64 }).open(&gray_path).unwrap();
    assert!(matches!(small, image::DynamicImage::ImageLuma8(_)) && (small.width(), small.height()) == (100, 75));
    std::fs::write(dir.path().join("bad.jpg"), [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]).unwrap();
    let e = err(t.open(&dir.path().join("bad.jpg")));
    assert!(e.contains("cannot decode") && e.contains("bad.jpg"), "{e}");
}

#[test]
fn xor_data_is_the_lecture_s_file_and_the_generator_looks_alike() {
    let xor = Xor::lecture();
    assert_eq!(xor.points.len(), 750);
    assert_eq!(xor.labels.iter().filter(|&&l| l == 1).count(), 374);
    // Blobs of std 0.35 around (±1, ±1): at most a handful of points cross an axis.
    let wrong =
        xor.points.iter().zip(&xor.labels).filter(|(p, l)| ((p[0] > 0.0) != (p[1] > 0.0)) as i64 != **l).count();
    assert!(wrong < 10, "{wrong} points on the wrong side");
    let near = xor.points.iter().filter(|p| p[0].abs() < 0.1 || p[1].abs() < 0.1).count();
    assert!((1..60).contains(&near), "{near} points near an axis");
    // The shipped CSV is the lecture's own file: 750 points, 374 of class 1, 9 on the
    // wrong side of their quadrant (targets.md), and its licence notice beside it.
    let shipped = NumericCsv::read(&tchlab::env::crate_dir().join("data/xor.csv"), "class label").unwrap();
    assert_eq!(shipped.features, vec!["x1", "x2"]);
    let (x, y) = shipped.dataset.batch(&(0..750).collect::<Vec<_>>(), 0).unwrap();
    let labels = Vec::<i64>::try_from(y).unwrap();
    assert_eq!((labels.len(), labels.iter().filter(|&&l| l == 1).count()), (750, 374));
    let x = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
    let wrong = x.chunks(2).zip(&labels).filter(|(p, l)| ((p[0] > 0.0) != (p[1] > 0.0)) as i64 != **l).count();
    assert_eq!(wrong, 9, "the lecture's file has 9 points on the wrong side");
    assert!((x[0] - 0.781_306).abs() < 1e-5 && (x[1] - 1.062_984).abs() < 1e-5, "not the lecture's first point");
    let notice = std::fs::read_to_string(tchlab::env::crate_dir().join("data/xor.csv.LICENSE")).unwrap();
    assert!(notice.contains("MIT License") && notice.contains("Sebastian Raschka"));
    // A CSV with a non-numeric feature names the row.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.csv"), "a,class label\n1.0,0\n,1\n").unwrap();
    let e = err(NumericCsv::read(&dir.path().join("x.csv"), "class label"));
    assert!(e.contains("row 2"), "{e}");
}

#[test]
fn cats_dogs_photos_load_through_the_image_folder() {
    let dir = tchlab::env::Settings::from_env().cats_dogs_dir;
    if !dir.join("train").is_dir() {
        assert!(std::env::var("CI").is_err(), "CI must have the cats/dogs photos at {}", dir.display());
        eprintln!("cats/dogs photos not found at {}; skipping", dir.display());
        return;
    }
    let t = Transforms::new().then(Transform::Rgb).then(Transform::Resize { width: 64, height: 64 });
    let ds = ImageFolder::open(dir.join("valid")).unwrap().transforms(t).unwrap();
    assert_eq!(ds.len(), 250);
    assert_eq!(ds.classes(), vec!["cat", "dog"]);
    let (x, y) = ds.batch(&(0..250).collect::<Vec<_>>(), 0).unwrap();
    assert_eq!(x.size(), vec![250, 3, 64, 64]);
    assert_eq!(y.sum(tch::Kind::Int64).int64_value(&[]), 125);
    let (mean, std) = channel_mean_std(&ds).unwrap();
    for k in 0..3 {
        assert!((0.3..0.6).contains(&mean[k]) && (0.15..0.35).contains(&std[k]), "{mean:?} {std:?}");
    }
    // A copy of a photo cut in half is an error that names the file (libjpeg alone would
    // fill the missing rows with gray); the whole photo, at full and at reduced scale, is
    // not, and a photo with a flipped byte in its image data still decodes, as in PIL.
    let first = &ds.files()[0].0;
    let bytes = std::fs::read(first).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    for t in [Transforms::new(), Transforms::new().then(Transform::Resize { width: 64, height: 64 })] {
        let e = err(t.open(&cut));
        assert!(e.contains("cut.jpg") && e.contains("truncated"), "{e}");
        assert!(t.open(first).is_ok());
    }
    let mut flipped = bytes.clone();
    let k = bytes.len() * 3 / 4;
    flipped[k] = if flipped[k] == 0x00 { 0x01 } else { 0x00 };
    let full = Transforms::new().decode(&bytes).unwrap().to_rgb8();
    let damaged = Transforms::new().decode(&flipped).unwrap().to_rgb8();
    assert_eq!(full.dimensions(), damaged.dimensions());
    // A header that is not a JPEG's is an error with libjpeg's reason.
    let e = err(Transforms::new().decode(&[0xFF, 0xD8, 0xFF, 0xD9]));
    assert!(e.contains("not a valid JPEG"), "{e}");
}
