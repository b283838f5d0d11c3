//! Image transforms: colour mode, resize, random flip / rotation / resized crop,
//! normalisation; and the per-channel mean/std of a dataset.

use std::os::raw::c_int;
use std::path::Path;

use anyhow::{Result, anyhow, bail, ensure};
use image::{DynamicImage, GrayImage, ImageDecoder, RgbImage, imageops::FilterType};

use super::Dataset;
use super::files::{MAX_IMAGE_FILE_BYTES, read_regular_file};
use crate::rng::Rng;

/// The colour mode an image is converted to before transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorMode {
    /// 1 channel for gray images, 3 for colour ones.
    #[default]
    Keep,
    /// 1 channel.
    Gray,
    /// 3 channels.
    Rgb,
}

/// One transform step. Image steps (colour, resize, crop) come before tensor steps
/// (flip, rotation, normalise).
///
/// ```
/// use tchlab::data::{Transform, Transforms};
/// let t = Transforms::new()
///     .then(Transform::Resize { width: 64, height: 64 })
///     .then(Transform::RandomHorizontalFlip(0.5))
///     .then(Transform::Normalize { mean: vec![0.5; 3], std: vec![0.25; 3] });
/// assert_eq!(t.output_size(), Some((64, 64)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Transform {
    /// Convert to one gray channel.
    Grayscale,
    /// Convert to three RGB channels.
    Rgb,
    /// Resize to `width` × `height` (bilinear).
    Resize { width: u32, height: u32 },
    /// Crop a random area (fraction of the image in `scale`, aspect ratio 3/4..4/3) and
    /// resize it to `width` × `height`.
    RandomResizedCrop { width: u32, height: u32, scale: (f64, f64) },
    /// Mirror left-right with probability `p`.
    RandomHorizontalFlip(f64),
    /// Rotate by a random angle in ±`degrees` (bilinear, zero fill).
    RandomRotation(f64),
    /// `(x - mean[c]) / std[c]` per channel (values in [0, 1] before it).
    Normalize { mean: Vec<f32>, std: Vec<f32> },
}

impl Transform {
    fn is_image_step(&self) -> bool {
        matches!(
            self,
            Transform::Grayscale | Transform::Rgb | Transform::Resize { .. } | Transform::RandomResizedCrop { .. }
        )
    }
}

/// The default largest image decoded, in pixels (width × height): 64 megapixels
/// (64,000,000), e.g. 8000 × 8000. A larger image is refused from its header, before
/// any pixel is decoded; see [`Transforms::max_pixels`].
///
/// ```
/// assert_eq!(tchlab::data::DEFAULT_MAX_PIXELS, 64_000_000);
/// ```
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;

/// A pipeline of [`Transform`]s; turns a decoded image into a `[C, H, W]` `f32` buffer
/// in [0, 1] (or normalised).
///
/// ```
/// use tchlab::data::{Transform, Transforms};
/// let t = Transforms::new().then(Transform::Grayscale).max_pixels(1_000_000);
/// assert_eq!(t.steps().len(), 1);
/// assert_eq!(t.pixel_limit(), 1_000_000);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Transforms {
    steps: Vec<Transform>,
    max_pixels: u64,
}

impl Default for Transforms {
    fn default() -> Self {
        Transforms { steps: Vec::new(), max_pixels: DEFAULT_MAX_PIXELS }
    }
}

/// `n` pixels in words: `900 MP`, `2.5 MP`, or `60000 pixels` below one megapixel.
fn megapixels(n: u64) -> String {
    let mp = n as f64 / 1e6;
    if mp >= 10.0 {
        format!("{mp:.0} MP")
    } else if n >= 1_000_000 {
        let s = format!("{mp:.1}");
        format!("{} MP", s.trim_end_matches(".0"))
    } else {
        format!("{n} pixels")
    }
}

impl Transforms {
    /// No transform: the image as it is, scaled to [0, 1].
    ///
    /// ```
    /// assert!(tchlab::data::Transforms::new().steps().is_empty());
    /// ```
    pub fn new() -> Self {
        Transforms::default()
    }

    /// Sets the largest image decoded, in pixels (width × height; default
    /// [`DEFAULT_MAX_PIXELS`], 64 megapixels). A larger image is an error naming the
    /// file and its size, found from the image's header before it is decoded, so a
    /// small file announcing a huge image costs neither memory nor time.
    ///
    /// ```
    /// use tchlab::data::Transforms;
    /// let mut bytes = std::io::Cursor::new(Vec::new());
    /// image::GrayImage::new(300, 200).write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    /// let e = Transforms::new().max_pixels(50_000).decode(bytes.get_ref()).unwrap_err();
    /// assert!(e.to_string().contains("300×200 pixels (60000 pixels) exceeds the limit of 50000 pixels"), "{e}");
    /// assert!(Transforms::new().max_pixels(60_000).decode(bytes.get_ref()).is_ok());
    /// ```
    pub fn max_pixels(mut self, pixels: u64) -> Self {
        self.max_pixels = pixels;
        self
    }

    /// The largest image decoded, in pixels (see [`Transforms::max_pixels`]).
    ///
    /// ```
    /// assert_eq!(tchlab::data::Transforms::new().pixel_limit(), tchlab::data::DEFAULT_MAX_PIXELS);
    /// ```
    pub fn pixel_limit(&self) -> u64 {
        self.max_pixels
    }

    /// Refuses an image of `width` × `height` beyond the pixel limit.
    fn check_pixels(&self, (width, height): (u32, u32), path: Option<&Path>) -> Result<()> {
        let n = u64::from(width) * u64::from(height);
        if n > self.max_pixels {
            let prefix = path.map(|p| format!("{}: ", p.display())).unwrap_or_default();
            bail!(
                "{prefix}{width}×{height} pixels ({}) exceeds the limit of {}; resize it or raise Transforms::max_pixels",
                megapixels(n),
                megapixels(self.max_pixels)
            );
        }
        Ok(())
    }

    /// Appends a step.
    pub fn then(mut self, step: Transform) -> Self {
        self.steps.push(step);
        self
    }

    /// The steps.
    pub fn steps(&self) -> &[Transform] {
        &self.steps
    }

    /// The final image size when a step fixes it.
    pub fn output_size(&self) -> Option<(u32, u32)> {
        self.steps.iter().rev().find_map(|s| match s {
            Transform::Resize { width, height } | Transform::RandomResizedCrop { width, height, .. } => {
                Some((*width, *height))
            }
            _ => None,
        })
    }

    /// The size of the first resize, when resizing is the first step that changes the
    /// image's size: then a JPEG can be decoded directly at a reduced scale.
    fn first_resize(&self) -> Option<(u32, u32)> {
        self.steps.iter().find_map(|s| match s {
            Transform::Grayscale | Transform::Rgb => None,
            Transform::Resize { width, height } => Some(Some((*width, *height))),
            _ => Some(None),
        })?
    }

    /// Reads and decodes an image file for this pipeline (see [`Transforms::decode`]).
    ///
    /// ```
    /// use tchlab::data::{Transform, Transforms};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("big.jpg");
    /// image::RgbImage::from_pixel(640, 480, image::Rgb([200, 100, 50])).save(&path).unwrap();
    /// let t = Transforms::new().then(Transform::Resize { width: 64, height: 64 });
    /// let img = t.open(&path).unwrap();
    /// assert_eq!((img.width(), img.height()), (160, 120)); // decoded at 1/4
    /// let (values, shape) = t.apply(img, 0).unwrap();
    /// assert_eq!(shape, vec![3, 64, 64]);
    /// assert!((values[0] - 200.0 / 255.0).abs() < 0.02);
    /// ```
    ///
    /// Only a regular file of at most [`MAX_IMAGE_FILE_BYTES`](super::MAX_IMAGE_FILE_BYTES)
    /// is read (a FIFO or device is an error, not a wait), and an image of more pixels
    /// than [`Transforms::max_pixels`] is an error naming the file.
    pub fn open(&self, path: &Path) -> Result<DynamicImage> {
        let bytes = read_regular_file(path, MAX_IMAGE_FILE_BYTES)?;
        self.decode_file(&bytes, Some(path))
    }

    /// Decodes the bytes of an image file for this pipeline. JPEGs are decoded with
    /// libjpeg-turbo's decoder (mozjpeg's build), PNGs and other formats with the `image`
    /// crate. When the pipeline begins by resizing to `w` × `h`, a JPEG is decoded
    /// directly at the smallest of the scales 1/8, 1/4, 1/2, 1 that keeps it at least
    /// `w` × `h` (scaling inside the inverse DCT, as PIL's `draft` does), which is several
    /// times faster than decoding every pixel; the resize then gives the exact size. A
    /// JPEG whose data ends early (a truncated download) is an error, as in PIL. An image
    /// of more pixels than [`Transforms::max_pixels`] (at full size) is an error.
    ///
    /// ```
    /// use tchlab::data::{Transform, Transforms};
    /// let mut bytes = std::io::Cursor::new(Vec::new());
    /// image::RgbImage::from_pixel(300, 200, image::Rgb([10, 200, 90]))
    ///     .write_to(&mut bytes, image::ImageFormat::Jpeg)
    ///     .unwrap();
    /// let bytes = bytes.into_inner();
    /// let t = Transforms::new().then(Transform::Resize { width: 32, height: 32 });
    /// // Decoded at 1/4 (75 × 50): at 1/8 it would be 38 × 25, less than 32 high.
    /// assert_eq!(t.decode(&bytes).unwrap().width(), 75);
    /// assert_eq!(Transforms::new().decode(&bytes).unwrap().width(), 300);
    /// let e = t.decode(&bytes[..bytes.len() / 2]).unwrap_err();
    /// assert!(e.to_string().contains("truncated"), "{e}");
    /// ```
    pub fn decode(&self, bytes: &[u8]) -> Result<DynamicImage> {
        self.decode_file(bytes, None)
    }

    /// [`Transforms::decode`], naming `path` in errors.
    fn decode_file(&self, bytes: &[u8], path: Option<&Path>) -> Result<DynamicImage> {
        let named = |e: anyhow::Error| match path {
            Some(p) => e.context(format!("cannot decode {}", p.display())),
            None => e,
        };
        let check = |size: (u32, u32)| self.check_pixels(size, path);
        if bytes.starts_with(&[0xFF, 0xD8]) {
            match decode_jpeg(bytes, self.first_resize(), &check) {
                Ok(Some(img)) => return Ok(img),
                Ok(None) => {}
                Err(JpegError::TooLarge(e)) => return Err(e),
                Err(JpegError::Invalid(e)) => return Err(named(e)),
            }
        }
        // PNG and the colour spaces libjpeg does not convert: the `image` crate, with
        // the pixel limit checked from the header and an allocation limit behind it.
        let reader =
            image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| named(e.into()))?;
        let mut reader = reader;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(self.max_pixels.saturating_mul(8).max(512 << 20));
        reader.limits(limits);
        let decoder = reader.into_decoder().map_err(|e| named(e.into()))?;
        check(decoder.dimensions())?;
        DynamicImage::from_decoder(decoder).map_err(|e| named(e.into()))
    }

    /// Checks the order of steps and their settings.
    pub fn validate(&self) -> Result<()> {
        let mut tensor_seen = false;
        for s in &self.steps {
            if s.is_image_step() && tensor_seen {
                bail!(
                    "transform {s:?} comes after a flip/rotation/normalise step: put colour, resize and crop steps first"
                );
            }
            tensor_seen |= !s.is_image_step();
            match s {
                Transform::Resize { width, height } | Transform::RandomResizedCrop { width, height, .. }
                    if *width == 0 || *height == 0 =>
                {
                    bail!("transform {s:?}: width and height must be at least 1")
                }
                Transform::RandomResizedCrop { scale: (lo, hi), .. } if !(0.0 < *lo && lo <= hi && *hi <= 1.0) => {
                    bail!("transform {s:?}: scale must satisfy 0 < low <= high <= 1")
                }
                Transform::RandomHorizontalFlip(p) if !(0.0..=1.0).contains(p) => {
                    bail!("flip probability {p} is not in [0, 1]")
                }
                Transform::Normalize { mean, std } => {
                    ensure!(
                        mean.len() == std.len() && !mean.is_empty(),
                        "normalise: mean and std need one value per channel"
                    );
                    ensure!(std.iter().all(|s| *s > 0.0), "normalise: every std must be positive, got {std:?}");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Applies the pipeline to `image`, drawing random steps from `seed` (0 disables
    /// random steps). Returns the values `[C, H, W]` and the shape.
    pub fn apply(&self, image: DynamicImage, seed: u64) -> Result<(Vec<f32>, Vec<i64>)> {
        let mut rng = Rng::new(seed);
        let random = seed != 0;
        let mut img = normalise_color(image, ColorMode::Keep);
        let mut steps = self.steps.iter().peekable();
        while let Some(step) = steps.next_if(|s| s.is_image_step()) {
            img = match step {
                Transform::Grayscale => normalise_color(img, ColorMode::Gray),
                Transform::Rgb => normalise_color(img, ColorMode::Rgb),
                Transform::Resize { width, height } => resize(&img, *width, *height),
                Transform::RandomResizedCrop { width, height, scale } => {
                    let (w, h) = (img.width() as f64, img.height() as f64);
                    let (mut cw, mut ch) = (w, h);
                    if random {
                        let area = w * h * rng.range(scale.0, scale.1);
                        let ratio = rng.range((3f64 / 4.0).ln(), (4f64 / 3.0).ln()).exp();
                        cw = (area * ratio).sqrt().min(w).max(1.0);
                        ch = (area / ratio).sqrt().min(h).max(1.0);
                    }
                    let x = if random { rng.range(0.0, w - cw + 1.0).floor() } else { ((w - cw) / 2.0).floor() };
                    let y = if random { rng.range(0.0, h - ch + 1.0).floor() } else { ((h - ch) / 2.0).floor() };
                    resize(&img.crop_imm(x as u32, y as u32, cw as u32, ch as u32), *width, *height)
                }
                _ => unreachable!("only image steps are taken here"),
            };
        }
        let (c, h, w) = (img.color().channel_count() as usize, img.height() as usize, img.width() as usize);
        let mut values = to_chw(&img);
        for step in steps {
            match step {
                Transform::RandomHorizontalFlip(p) => {
                    if random && rng.uniform() < *p {
                        for row in values.chunks_mut(w) {
                            row.reverse();
                        }
                    }
                }
                Transform::RandomRotation(deg) => {
                    if random {
                        let angle = rng.range(-deg, *deg).to_radians();
                        values = rotate(&values, c, h, w, angle);
                    }
                }
                Transform::Normalize { mean, std } => {
                    ensure!(
                        mean.len() == c,
                        "normalise has {} channel values but the image has {c} channels: add Grayscale or Rgb first",
                        mean.len()
                    );
                    for (k, plane) in values.chunks_mut(h * w).enumerate() {
                        for v in plane {
                            *v = (*v - mean[k]) / std[k];
                        }
                    }
                }
                other => bail!("transform {other:?} must come before flip/rotation/normalise steps"),
            }
        }
        Ok((values, vec![c as i64, h as i64, w as i64]))
    }
}

/// Converts any decoded image to 8-bit gray or RGB.
fn normalise_color(img: DynamicImage, mode: ColorMode) -> DynamicImage {
    let gray = !img.color().has_color();
    match (mode, &img) {
        (ColorMode::Gray, DynamicImage::ImageLuma8(_)) | (ColorMode::Rgb, DynamicImage::ImageRgb8(_)) => img,
        (ColorMode::Keep, DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_)) => img,
        (ColorMode::Gray, _) => DynamicImage::ImageLuma8(img.to_luma8()),
        (ColorMode::Rgb, _) => DynamicImage::ImageRgb8(img.to_rgb8()),
        (ColorMode::Keep, _) if gray => DynamicImage::ImageLuma8(img.to_luma8()),
        (ColorMode::Keep, _) => DynamicImage::ImageRgb8(img.to_rgb8()),
    }
}

/// Resizes an 8-bit gray or RGB image to `w` × `h` with a triangle (bilinear) filter
/// that widens with the scale factor when shrinking (antialiased, as PIL's `BILINEAR`).
/// Separable, with the weights computed once per row and column.
fn resize(img: &DynamicImage, w: u32, h: u32) -> DynamicImage {
    let (sw, sh) = (img.width(), img.height());
    if (sw, sh) == (w, h) {
        return img.clone();
    }
    let c = img.color().channel_count() as usize;
    if !matches!(img, DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_)) || sw == 0 || sh == 0 {
        return img.resize_exact(w, h, FilterType::Triangle);
    }
    let src = img.as_bytes();
    let dst = match c {
        1 => resize_planes::<1>(src, (sw, sh), (w, h)),
        _ => resize_planes::<3>(src, (sw, sh), (w, h)),
    };
    match c {
        1 => GrayImage::from_raw(w, h, dst).map(DynamicImage::ImageLuma8),
        _ => RgbImage::from_raw(w, h, dst).map(DynamicImage::ImageRgb8),
    }
    .unwrap_or_else(|| img.resize_exact(w, h, FilterType::Triangle))
}

/// The two passes of [`resize`] over `C`-channel interleaved 8-bit pixels, one output
/// row at a time: vertical first (whole source rows, which vectorises), then horizontal.
fn resize_planes<const C: usize>(src: &[u8], (sw, sh): (u32, u32), (w, h): (u32, u32)) -> Vec<u8> {
    let (xs, ys) = (filter_weights(sw, w), filter_weights(sh, h));
    let src_stride = sw as usize * C;
    let mut column = vec![0f32; src_stride];
    let mut dst = Vec::with_capacity(h as usize * w as usize * C);
    for (start, weights) in &ys {
        column.fill(0.0);
        for (k, wt) in weights.iter().enumerate() {
            let row = &src[(start + k) * src_stride..][..src_stride];
            for (a, &v) in column.iter_mut().zip(row) {
                *a += wt * f32::from(v);
            }
        }
        for (start, weights) in &xs {
            // `+ 0.5` then the saturating cast rounds and clamps to 0..=255.
            let mut acc = [0.5f32; C];
            for (wt, p) in weights.iter().zip(column[start * C..].chunks_exact(C)) {
                for k in 0..C {
                    acc[k] += wt * p[k];
                }
            }
            dst.extend(acc.map(|a| a as u8));
        }
    }
    dst
}

/// For each of `dst` output positions: the first source index and the normalised
/// triangle-filter weights of the source pixels it covers.
fn filter_weights(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f32 / dst as f32;
    let support = scale.max(1.0);
    (0..dst)
        .map(|i| {
            let center = (i as f32 + 0.5) * scale;
            let lo = (center - support).floor().max(0.0) as usize;
            let hi = ((center + support).ceil() as usize).min(src as usize).max(lo + 1);
            let mut w: Vec<f32> =
                (lo..hi).map(|j| (1.0 - ((j as f32 + 0.5 - center) / support).abs()).max(0.0)).collect();
            let sum: f32 = w.iter().sum();
            if sum > 0.0 {
                w.iter_mut().for_each(|x| *x /= sum);
            } else {
                w = vec![0.0; hi - lo];
                w[(center as usize).clamp(lo, hi - 1) - lo] = 1.0;
            }
            (lo, w)
        })
        .collect()
}

/// 8-bit interleaved pixels to planar `[C, H, W]` floats in [0, 1].
fn to_chw(img: &DynamicImage) -> Vec<f32> {
    let bytes = img.as_bytes();
    let c = img.color().channel_count() as usize;
    let n = bytes.len() / c;
    let mut out = vec![0f32; bytes.len()];
    for (i, px) in bytes.chunks_exact(c).enumerate() {
        for (k, &v) in px.iter().enumerate() {
            out[k * n + i] = v as f32 / 255.0;
        }
    }
    out
}

/// Rotates each plane by `angle` radians about its centre (bilinear, zero fill).
fn rotate(values: &[f32], c: usize, h: usize, w: usize, angle: f64) -> Vec<f32> {
    let (sin, cos) = angle.sin_cos();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let mut out = vec![0f32; values.len()];
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let sx = cos * dx + sin * dy + cx;
            let sy = -sin * dx + cos * dy + cy;
            if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f64 || sy > (h - 1) as f64 {
                continue;
            }
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            for k in 0..c {
                let p = &values[k * h * w..(k + 1) * h * w];
                let top = p[y0 * w + x0] * (1.0 - fx) + p[y0 * w + x1] * fx;
                let bottom = p[y1 * w + x0] * (1.0 - fx) + p[y1 * w + x1] * fx;
                out[k * h * w + y * w + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

/// Per-channel mean and standard deviation of a dataset of `[C, H, W]` images
/// (without augmentation), e.g. to build a [`Transform::Normalize`].
///
/// ```
/// use tchlab::data::{Scaling, TensorDataset, channel_mean_std};
/// let x = tch::Tensor::from_slice(&[0u8, 255, 0, 255]).reshape([4, 1, 1, 1]);
/// let ds = TensorDataset::new(x, tch::Tensor::from_slice(&[0i64, 1, 0, 1]), Scaling::Unit).unwrap();
/// let (mean, std) = channel_mean_std(&ds).unwrap();
/// assert!((mean[0] - 0.5).abs() < 1e-6 && (std[0] - 0.5).abs() < 1e-6);
/// ```
pub fn channel_mean_std(dataset: &dyn Dataset) -> Result<(Vec<f64>, Vec<f64>)> {
    ensure!(!dataset.is_empty(), "cannot compute the mean/std of an empty dataset");
    // Batches of about 32M values (256 images at most), whatever the image size.
    let per_image = dataset.get(0)?.input.len().max(1);
    let batch = ((32usize << 20) / per_image).clamp(1, 256);
    let (mut sum, mut sq, mut count) = (Vec::<f64>::new(), Vec::<f64>::new(), 0f64);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let dims = [0i64, 2, 3];
    for chunk in indices.chunks(batch) {
        let (x, _) = dataset.batch(chunk, 0)?;
        ensure!(x.dim() == 4, "mean/std needs images [C, H, W], got batches of shape {:?}", x.size());
        let x = x.f_to_kind(tch::Kind::Double)?;
        let s = Vec::<f64>::try_from(x.f_sum_dim_intlist(dims.as_slice(), false, tch::Kind::Double)?)?;
        let q = Vec::<f64>::try_from(x.f_mul(&x)?.f_sum_dim_intlist(dims.as_slice(), false, tch::Kind::Double)?)?;
        if sum.is_empty() {
            sum = vec![0.0; s.len()];
            sq = vec![0.0; s.len()];
        }
        ensure!(
            s.len() == sum.len() && q.len() == sum.len(),
            "mean/std: images with {} channels beside images with {}: add a Grayscale or Rgb transform",
            s.len(),
            sum.len()
        );
        for k in 0..s.len() {
            sum[k] += s[k];
            sq[k] += q[k];
        }
        let size = x.size();
        count += size[0] as f64 * size[2] as f64 * size[3] as f64;
    }
    ensure!(count > 0.0 && !sum.is_empty(), "cannot compute the mean/std of images without pixels");
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let std = sq.iter().zip(&mean).map(|(q, m)| (q / count - m * m).max(0.0).sqrt()).collect();
    Ok((mean, std))
}

/// Why [`decode_jpeg`] failed.
enum JpegError {
    /// The pixel check refused the image's size (the error is complete as it is).
    TooLarge(anyhow::Error),
    /// libjpeg could not decode the data.
    Invalid(anyhow::Error),
}

/// Decodes a JPEG with libjpeg, at the smallest IDCT scale (1/8, 1/4, 1/2, 1) that keeps
/// it at least `w` × `h` when `min_size` is given. `check` sees the full size from the
/// header before anything is decompressed. `Ok(None)` for colour spaces it does not
/// convert to gray or RGB (CMYK, YCCK): the `image` crate decodes those.
fn decode_jpeg(
    bytes: &[u8],
    min_size: Option<(u32, u32)>,
    check: &dyn Fn((u32, u32)) -> Result<()>,
) -> Result<Option<DynamicImage>, JpegError> {
    let invalid = |e: std::io::Error| JpegError::Invalid(anyhow!("not a valid JPEG ({e})"));
    let run = || -> Result<Option<DynamicImage>, JpegError> {
        // SAFETY: `jpeg_std_error` fills every field of the zeroed struct.
        let mut errors: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
        unsafe { mozjpeg_sys::jpeg_std_error(&mut errors) };
        errors.error_exit = Some(jpeg_error_exit);
        errors.emit_message = Some(jpeg_emit_message);
        let mut decoder = mozjpeg::Decompress::with_err(errors).from_mem(bytes).map_err(invalid)?;
        let (iw, ih) = (decoder.width() as u32, decoder.height() as u32);
        check((iw, ih)).map_err(JpegError::TooLarge)?;
        if let Some((w, h)) = min_size {
            let factor = [8, 4, 2, 1].into_iter().find(|f| iw.div_ceil(*f) >= w && ih.div_ceil(*f) >= h).unwrap_or(1);
            decoder.scale((8 / factor) as u8);
        }
        let (mut started, gray) = match decoder.image().map_err(invalid)? {
            mozjpeg::Format::RGB(s) => (s, false),
            mozjpeg::Format::Gray(s) => (s, true),
            mozjpeg::Format::CMYK(_) => return Ok(None),
        };
        let (w, h) = (started.width() as u32, started.height() as u32);
        let pixels = started.read_scanlines::<u8>().map_err(invalid)?;
        started.finish().map_err(invalid)?;
        Ok(if gray {
            GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        } else {
            RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        })
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(decoded) => decoded,
        Err(payload) => match payload.downcast::<JpegStop>() {
            Ok(stop) => Err(JpegError::Invalid(anyhow!("{}", stop.0))),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Why libjpeg stopped decoding: its error handlers below unwind with this to the
/// `catch_unwind` in [`decode_jpeg`] (`resume_unwind` does not print a panic message).
struct JpegStop(String);

/// libjpeg's handler for fatal errors (it must not return).
unsafe extern "C-unwind" fn jpeg_error_exit(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    let mut text = [0u8; 80];
    // SAFETY: `format_message` writes a NUL-terminated message of at most 80 bytes into
    // its buffer; the binding declares the buffer `&[u8; 80]`, so it is passed as `*mut`.
    let format = unsafe { cinfo.err.as_ref() }.and_then(|e| e.format_message);
    if let Some(format) = format {
        let format: unsafe extern "C-unwind" fn(&mut mozjpeg_sys::jpeg_common_struct, *mut u8) =
            unsafe { std::mem::transmute(format) };
        unsafe { format(cinfo, text.as_mut_ptr()) };
    }
    let len = text.iter().position(|b| *b == 0).unwrap_or(text.len());
    let message = String::from_utf8_lossy(&text[..len]).into_owned();
    std::panic::resume_unwind(Box::new(JpegStop(format!("not a valid JPEG ({message})"))))
}

/// libjpeg's handler for warnings and trace messages: warnings are ignored, as PIL does
/// (real photos often have a few stray bytes), except the end of the data before the
/// image is complete.
unsafe extern "C-unwind" fn jpeg_emit_message(cinfo: &mut mozjpeg_sys::jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with its own `cinfo`, whose `err` points to the error
    // manager set up before decoding (or is null, which `as_ref` turns into None).
    let code = unsafe { cinfo.err.as_ref() }.map(|e| e.msg_code);
    if level < 0 && code == Some(mozjpeg_sys::JWRN_JPEG_EOF) {
        std::panic::resume_unwind(Box::new(JpegStop(
            "the JPEG data ends before the image is complete: the file is truncated (download or copy it again)".into(),
        )))
    }
}
