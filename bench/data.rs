//! Data benchmark (tchlab side), twin of `bench/data.py`. Prints one JSON line per case.
//!
//! `cargo run --release --example bench_data -- THREADS BENCH_DIR`
use std::path::PathBuf;
use std::time::Instant;

use tchlab::data::*;

fn line(case: &str, workers: usize, seconds: f64, items: usize) {
    println!(
        "{{\"impl\":\"tchlab\",\"case\":\"{case}\",\"workers\":{workers},\"seconds\":{seconds:.4},\"items_per_second\":{:.0}}}",
        items as f64 / seconds
    );
}

fn epoch(loader: &DataLoader) -> anyhow::Result<usize> {
    let mut n = 0;
    for b in loader.epoch(0) {
        n += b?.indices.len();
    }
    Ok(n)
}

fn best_of<F: FnMut() -> anyhow::Result<usize>>(runs: usize, mut f: F) -> anyhow::Result<(f64, usize)> {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((best, n))
}

fn main() -> anyhow::Result<()> {
    let threads: usize = std::env::args().nth(1).and_then(|t| t.parse().ok()).unwrap_or(2);
    let dir = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "target/bench".into()));
    tchlab::env::set_threads(Some(threads))?;
    let settings = tchlab::env::Settings::from_env();
    let mnist_dir = PathBuf::from(
        settings
            .mnist_mirrors
            .first()
            .cloned()
            .unwrap_or_else(|| settings.data_dir.join("mnist").display().to_string()),
    );
    // (1) MNIST .gz files into float tensors.
    let (s, n) = best_of(3, || {
        let m = Mnist::load_dir(MnistKind::Digits, &mnist_dir)?;
        let a = m.train(Scaling::Unit).scaled_inputs();
        let b = m.test(Scaling::Unit).scaled_inputs();
        Ok((a.size()[0] + b.size()[0]) as usize)
    })?;
    line("mnist_gz_to_float", 2, s, n); // the two image files decompress in parallel
    // (2) One epoch of shuffled batches of 100 over MNIST in memory.
    let m = Mnist::load_dir(MnistKind::Digits, &mnist_dir)?;
    let loader = DataLoader::new(m.train(Scaling::Unit), 100)?.shuffle(1);
    let (s, n) = best_of(5, || epoch(&loader))?;
    line("mnist_epoch_batch100", 0, s, n);
    // (3) 10,000 MNIST PNG files through the CSV dataset.
    let csv = dir.join("mnist_png10k.csv");
    if !csv.exists() {
        std::fs::create_dir_all(&dir)?;
        export_custom(&m.train_images, &m.train_labels, 0..10_000, &dir, "mnist_png10k")?;
    }
    for workers in [1, threads] {
        let ds = CsvImageDataset::open(&csv)?.workers(workers);
        let loader = DataLoader::new(ds, 100)?.shuffle(1);
        let (s, n) = best_of(2, || epoch(&loader))?;
        line("png_10k_csv", workers, s, n);
    }
    // (4) The cats/dogs training JPEGs, decoded and resized to 64×64.
    let photos = settings.cats_dogs_dir.join("train");
    if photos.is_dir() {
        let t = Transforms::new().then(Transform::Rgb).then(Transform::Resize { width: 64, height: 64 });
        for workers in [1, threads] {
            let ds = ImageFolder::open(&photos)?.transforms(t.clone())?.workers(workers);
            let loader = DataLoader::new(ds, 100)?.shuffle(1);
            let (s, n) = best_of(2, || epoch(&loader))?;
            line("jpeg_cats_dogs_64", workers, s, n);
        }
        // Decoding alone, from bytes in memory, one thread, at the scale the pipeline above
        // uses (the smallest of 1/8, 1/4, 1/2, 1 that covers 64×64): the twin of PIL's `draft`.
        let ds = ImageFolder::open(&photos)?;
        let blobs: Vec<Vec<u8>> = ds.files().iter().map(|(p, _)| std::fs::read(p)).collect::<Result<_, _>>()?;
        let (s, n) = best_of(3, || {
            for b in &blobs {
                std::hint::black_box(t.decode(b)?);
            }
            Ok(blobs.len())
        })?;
        line("jpeg_scaled_decode_only", 1, s, n);
    }
    Ok(())
}
