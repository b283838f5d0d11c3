//! Image transforms: colour mode, resize, random flip / rotation / resized crop,
//! normalisation; and the per-channel mean/std of a dataset.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use image::{DynamicImage, GrayImage, RgbImage, imageops::FilterType};

use super::Dataset;
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

/// A pipeline of [`Transform`]s; turns a decoded image into a `[C, H, W]` `f32` buffer
/// in [0, 1] (or normalised).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Transforms {
    steps: Vec<Transform>,
}

impl Transforms {
    /// No transform: the image as it is, scaled to [0, 1].
    pub fn new() -> Self {
        Transforms::default()
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

    /// Reads and decodes an image file for this pipeline. When the pipeline begins by
    /// resizing to `w` × `h`, a JPEG is decoded directly at the smallest of the scales
    /// 1/8, 1/4, 1/2, 1 that keeps it at least `w` × `h` (scaling inside the inverse DCT,
    /// as libjpeg does), which is several times faster than decoding every pixel; the
    /// resize then gives the exact size.
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
    pub fn open(&self, path: &Path) -> Result<DynamicImage> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if let (Some((w, h)), [0xFF, 0xD8, ..]) = (self.first_resize(), bytes.as_slice())
            && let Some(img) = decode_jpeg_scaled(&bytes, w, h)
        {
            return Ok(img);
        }
        image::load_from_memory(&bytes).with_context(|| format!("cannot decode {}", path.display()))
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
    let (mut sum, mut sq, mut count) = (Vec::<f64>::new(), Vec::<f64>::new(), 0f64);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    for chunk in indices.chunks(256) {
        let (x, _) = dataset.batch(chunk, 0)?;
        ensure!(x.dim() == 4, "mean/std needs images [C, H, W], got batches of shape {:?}", x.size());
        let x = x.to_kind(tch::Kind::Double);
        let s = Vec::<f64>::try_from(x.sum_dim_intlist([0i64, 2, 3].as_slice(), false, tch::Kind::Double))?;
        let q = Vec::<f64>::try_from((&x * &x).sum_dim_intlist([0i64, 2, 3].as_slice(), false, tch::Kind::Double))?;
        if sum.is_empty() {
            sum = vec![0.0; s.len()];
            sq = vec![0.0; s.len()];
        }
        for k in 0..s.len() {
            sum[k] += s[k];
            sq[k] += q[k];
        }
        let size = x.size();
        count += (size[0] * size[2] * size[3]) as f64;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    let std = sq.iter().zip(&mean).map(|(q, m)| (q / count - m * m).max(0.0).sqrt()).collect();
    Ok((mean, std))
}

/// Decodes a JPEG at the smallest IDCT scale (1/8, 1/4, 1/2, 1) that keeps it at least
/// `w` × `h`; `None` for anything it does not handle (then the `image` crate decodes it
/// and reports errors).
fn decode_jpeg_scaled(bytes: &[u8], w: u32, h: u32) -> Option<DynamicImage> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let (iw, ih) = (u32::from(info.width), u32::from(info.height));
    let factor = [8, 4, 2, 1].into_iter().find(|f| iw.div_ceil(*f) >= w && ih.div_ceil(*f) >= h).unwrap_or(1);
    let (sw, sh) = decoder.scale(iw.div_ceil(factor) as u16, ih.div_ceil(factor) as u16).ok()?;
    let pixels = decoder.decode().ok()?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    match decoder.info()?.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8),
        jpeg_decoder::PixelFormat::L8 => GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8),
        _ => None,
    }
}
