//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// Real MNIST through the settings (the CI mirror). In CI a missing dataset fails the
/// test; on a machine without the data the test says so and returns `None`.
pub fn mnist() -> Option<tchlab::data::Mnist> {
    match tchlab::data::Mnist::load(tchlab::data::MnistKind::Digits) {
        Ok(m) => Some(m),
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("MNIST unavailable ({e:#}); set TCHLAB_MNIST_MIRROR to run this test");
            None
        }
        Err(e) => panic!("MNIST must be available in CI: {e:#}"),
    }
}

/// Writes an IDX file: `dims` then `data`, gzip-compressed when `gz`.
pub fn write_idx(path: &Path, magic: u8, dims: &[u32], data: &[u8], gz: bool) {
    let mut raw = vec![0, 0, 8, magic];
    for d in dims {
        raw.extend_from_slice(&d.to_be_bytes());
    }
    raw.extend_from_slice(data);
    let bytes = if gz {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&raw).unwrap();
        e.finish().unwrap()
    } else {
        raw
    };
    std::fs::write(path, bytes).unwrap();
}

/// Writes a gray PNG of `w`×`h` filled with `value`.
pub fn write_png(path: &Path, w: u32, h: u32, value: u8) {
    image::GrayImage::from_pixel(w, h, image::Luma([value])).save(path).unwrap();
}

/// libtorch's random generator is global to the process: tests that draw from it
/// (`manual_seed`, `Tensor::randn`, training, which reseeds it every epoch for dropout)
/// hold this lock so that parallel tests do not reseed it under them. Building a model
/// draws from the model's own generator and needs no lock.
pub fn torch_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
