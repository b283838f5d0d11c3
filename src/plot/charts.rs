//! One constructor per figure of the lecture.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use super::{Figure, LineChart, Plot, Scale, Series, Style, Tile};
use crate::model::Activation;
use crate::train::History;

const SIZE: (u32, u32) = (640, 400);

/// Running mean over a trailing window of `window` values.
///
/// ```
/// assert_eq!(tchlab::plot::running_mean(&[1.0, 3.0, 5.0], 2), vec![1.0, 2.0, 4.0]);
/// ```
pub fn running_mean(values: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0;
    for (i, v) in values.iter().enumerate() {
        sum += v;
        if i >= window {
            sum -= values[i - window];
        }
        out.push(sum / (i + 1).min(window) as f64);
    }
    out
}

impl Figure {
    /// A line chart of several series.
    pub fn lines(title: &str, x_label: &str, y_label: &str, series: Vec<Series>) -> Self {
        Figure::new(
            title,
            SIZE,
            Plot::Lines(LineChart {
                series,
                x_label: x_label.into(),
                y_label: y_label.into(),
                y_range: None,
                scales: (Scale::Linear, Scale::Linear),
                ordered: false,
            }),
        )
    }

    /// Fixes the y range of a line chart.
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        if let Plot::Lines(chart) = &mut self.plot {
            chart.y_range = Some((lo, hi));
        }
        self
    }

    /// Sets the x axis's scale of a line chart (e.g. [`Scale::Log`] for widths 1, 2, 4, …).
    pub fn x_scale(mut self, scale: Scale) -> Self {
        if let Plot::Lines(chart) = &mut self.plot {
            chart.scales.0 = scale;
        }
        self
    }

    /// Sets the y axis's scale of a line chart.
    ///
    /// ```
    /// use tchlab::plot::{Figure, Scale, Series};
    /// let fig = Figure::lines("Error", "n", "error (%)", vec![Series::line("test", vec![(1.0, 50.0), (2.0, 5.0)])])
    ///     .y_scale(Scale::Log(10.0));
    /// assert!(fig.to_svg().unwrap().lines().any(|l| l.trim() == "10")); // a tick at 10
    /// ```
    pub fn y_scale(mut self, scale: Scale) -> Self {
        if let Plot::Lines(chart) = &mut self.plot {
            chart.scales.1 = scale;
        }
        self
    }

    /// Marks the series of a line chart as an ordered family (widths, sizes, epochs): they
    /// take their colours in order from a sequential colour map, light to dark, instead of
    /// the palette. A chart with more coloured series than the palette has colours does so
    /// without being asked.
    ///
    /// ```
    /// use tchlab::plot::{Figure, Series};
    /// let widths = (0..3).map(|k| Series::line(&format!("width {}", 1 << k), vec![(0.0, k as f64), (1.0, 0.0)])).collect();
    /// assert!(Figure::lines("Widths", "x", "y", widths).ordered().to_png().is_ok());
    /// ```
    pub fn ordered(mut self) -> Self {
        if let Plot::Lines(chart) = &mut self.plot {
            chart.ordered = true;
        }
        self
    }

    /// Loss of every minibatch (faint) with its running mean over `window` batches,
    /// x in epochs.
    ///
    /// ```
    /// let mut h = tchlab::train::History::default();
    /// h.minibatch_loss = vec![1.0, 0.8, 0.7, 0.5];
    /// h.batches_per_epoch = 2;
    /// let fig = tchlab::plot::Figure::minibatch_loss(&h, 2);
    /// assert!(fig.to_svg().unwrap().contains("running mean"));
    /// ```
    pub fn minibatch_loss(history: &History, window: usize) -> Self {
        let per = history.batches_per_epoch.max(1) as f64;
        let x = |i: usize| (i + 1) as f64 / per;
        let raw: Vec<(f64, f64)> = history.minibatch_loss.iter().enumerate().map(|(i, &v)| (x(i), v)).collect();
        let avg: Vec<(f64, f64)> =
            running_mean(&history.minibatch_loss, window).into_iter().enumerate().map(|(i, v)| (x(i), v)).collect();
        // Start the y axis at the data, but cut the first spikes: the top is the 99th percentile.
        let mut sorted: Vec<f64> = history.minibatch_loss.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let top = sorted
            .get(((sorted.len() as f64 * 0.99) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(1.0);
        let bottom = sorted.first().copied().unwrap_or(0.0);
        let fig = Figure::lines(
            "Loss per minibatch",
            "epoch",
            "loss",
            vec![
                Series::line("minibatch", raw).style(Style::Faint).color(0),
                Series::line(&format!("running mean ({window})"), avg).color(1),
            ],
        );
        if top > bottom { fig.y_range(bottom - 0.02 * (top - bottom), top * 1.02) } else { fig }
    }

    /// Per-epoch `metric` (`loss` or `accuracy`) of several runs: train solid,
    /// validation dashed, one colour per run.
    ///
    /// ```
    /// let mut h = tchlab::train::History::default();
    /// h.push(1, "train", 0.5, 0.8, 0.1, 1.0);
    /// h.push(1, "valid", 0.6, 0.7, 0.1, 1.0);
    /// let fig = tchlab::plot::Figure::curves("Accuracy", &[("mlp", &h)], "accuracy");
    /// assert!(fig.to_svg().unwrap().contains("mlp train"));
    /// ```
    pub fn curves(title: &str, runs: &[(&str, &History)], metric: &str) -> Self {
        let mut series = Vec::new();
        for (k, (name, h)) in runs.iter().enumerate() {
            let scale = if metric == "accuracy" { 100.0 } else { 1.0 };
            for (split, style) in [("train", Style::Line), ("valid", Style::Dashed), ("test", Style::Points)] {
                let pts: Vec<(f64, f64)> = h.curve(split, metric).into_iter().map(|(x, y)| (x, y * scale)).collect();
                if !pts.is_empty() {
                    let label = if name.is_empty() { split.to_string() } else { format!("{name} {split}") };
                    series.push(Series::line(&label, pts).style(style).color(k));
                }
            }
        }
        let y = if metric == "accuracy" { "accuracy (%)" } else { "loss" };
        Figure::lines(title, "epoch", y, series)
    }

    /// Decision regions: `cells[j][i]` is the predicted class at grid cell (i, j)
    /// spanning `x`×`y` (row 0 at the bottom), with the data on top.
    pub fn decision_regions(
        title: &str,
        x: (f64, f64),
        y: (f64, f64),
        cells: Vec<Vec<i64>>,
        points: Vec<(f64, f64, i64)>,
    ) -> Self {
        Figure::new(
            title,
            (520, 460),
            Plot::Regions { x, y, cells, points, x_label: "x1".into(), y_label: "x2".into() },
        )
    }

    /// A grid of images with captions. `images` is `[N, H, W]` or `[N, C, H, W]`
    /// with values in [0, 1] (or any range, rescaled per image when `rescale`).
    ///
    /// ```
    /// let imgs = tch::Tensor::rand([6, 28, 28], tch::kind::FLOAT_CPU);
    /// let captions: Vec<String> = (0..6).map(|i| format!("t: {i} p: {i}")).collect();
    /// let fig = tchlab::plot::Figure::image_grid("Digits", &imgs, &captions, 3, false).unwrap();
    /// assert!(fig.to_svg().unwrap().contains("t: 5 p: 5"));
    /// ```
    pub fn image_grid(title: &str, images: &Tensor, captions: &[String], cols: usize, rescale: bool) -> Result<Self> {
        let size = images.size();
        ensure!(size.len() == 3 || size.len() == 4, "image_grid needs images [N, H, W] or [N, C, H, W], got {size:?}");
        let images = if size.len() == 3 { images.unsqueeze(1) } else { images.shallow_clone() };
        let (n, c, h, w) =
            (size[0] as usize, images.size()[1] as usize, images.size()[2] as usize, images.size()[3] as usize);
        ensure!(c == 1 || c == 3, "image_grid needs 1 or 3 channels, got {c}");
        let mut tiles = Vec::with_capacity(n);
        for i in 0..n {
            let mut img = images.get(i as i64).to_kind(Kind::Float).to_device(tch::Device::Cpu);
            if rescale {
                let (lo, hi) = (img.min().double_value(&[]), img.max().double_value(&[]));
                img = (img - lo) / (hi - lo).max(1e-12);
            }
            tiles.push(Tile {
                pixels: Vec::<f32>::try_from(img.flatten(0, -1))?,
                channels: c,
                height: h,
                width: w,
                caption: captions.get(i).cloned().unwrap_or_default(),
            });
        }
        let cols = cols.max(1);
        let rows = n.div_ceil(cols).max(1) as u32;
        let cell = if h >= 48 { 150 } else { 110 };
        let title_h = if title.is_empty() { 0 } else { 34 };
        Ok(Figure::new(title, (cell * cols as u32, (cell + 14) * rows + title_h), Plot::Images { tiles, cols }))
    }

    /// Each activation (solid) with its autograd derivative (dashed) over [lo, hi].
    ///
    /// ```
    /// use tchlab::model::Activation;
    /// let fig = tchlab::plot::Figure::activation_gallery(&[Activation::Relu, Activation::Tanh], (-4.0, 4.0));
    /// assert!(fig.to_svg().unwrap().contains("tanh"));
    /// ```
    pub fn activation_gallery(activations: &[Activation], range: (f64, f64)) -> Self {
        let z = Tensor::linspace(range.0, range.1, 401, (Kind::Double, tch::Device::Cpu));
        let xs = Vec::<f64>::try_from(&z).unwrap_or_default();
        let figures = activations
            .iter()
            .map(|a| {
                let f = Vec::<f64>::try_from(a.apply(&z, None)).unwrap_or_default();
                let d = Vec::<f64>::try_from(a.derivative(&z)).unwrap_or_default();
                Figure::lines(
                    a.name(),
                    "z",
                    "",
                    vec![
                        Series::line("f(z)", xs.iter().copied().zip(f).collect()).color(0),
                        Series::line("df/dz", xs.iter().copied().zip(d).collect()).style(Style::Dashed).color(1),
                    ],
                )
                .size(300, 240)
            })
            .collect();
        Figure::grid(figures, 4)
    }

    /// Overlaid histograms (each normalised to fractions) of named value groups.
    ///
    /// ```
    /// let fig = tchlab::plot::Figure::histograms("Weights", "value", vec![("layer1".into(), vec![0.1, 0.2, 0.2])], 10);
    /// assert!(fig.to_svg().unwrap().contains("layer1"));
    /// ```
    pub fn histograms(title: &str, x_label: &str, groups: Vec<(String, Vec<f64>)>, bins: usize) -> Self {
        Figure::new(title, SIZE, Plot::Histogram { groups, bins, x_label: x_label.into() })
    }

    /// Fraction of dead units per hidden layer over epochs, from the `dead_fraction`
    /// series of a history.
    pub fn dead_units(title: &str, history: &History) -> Self {
        let per_epoch = history.series.get("dead_fraction").cloned().unwrap_or_default();
        let layers = per_epoch.iter().map(Vec::len).max().unwrap_or(0);
        let series = (0..layers)
            .map(|l| {
                let pts = per_epoch
                    .iter()
                    .enumerate()
                    .filter_map(|(e, v)| v.get(l).map(|f| ((e + 1) as f64, 100.0 * f)))
                    .collect();
                Series::line(&format!("hidden layer {}", l + 1), pts)
            })
            .collect();
        Figure::lines(title, "epoch", "dead units (%)", series)
    }

    /// A confusion matrix `m[target][predicted]` as a heatmap with counts.
    ///
    /// ```
    /// let fig = tchlab::plot::Figure::confusion_matrix(&[vec![5, 1], vec![0, 4]], &["cat".into(), "dog".into()]);
    /// assert!(fig.to_svg().unwrap().contains("predicted"));
    /// ```
    pub fn confusion_matrix(matrix: &[Vec<u64>], classes: &[String]) -> Self {
        let values = matrix.iter().map(|r| r.iter().map(|&v| v as f64).collect()).collect();
        let names: Vec<String> = if classes.len() == matrix.len() {
            classes.to_vec()
        } else {
            (0..matrix.len()).map(|i| i.to_string()).collect()
        };
        Figure::new(
            "Confusion matrix",
            (560, 520),
            Plot::Heatmap {
                values,
                rows: names.clone(),
                cols: names,
                x_label: "predicted".into(),
                y_label: "true".into(),
                integer: true,
            },
        )
    }

    /// A heatmap of `values[row][col]` with labels (e.g. a hyperparameter sweep).
    pub fn heatmap(
        title: &str,
        values: Vec<Vec<f64>>,
        rows: Vec<String>,
        cols: Vec<String>,
        x_label: &str,
        y_label: &str,
    ) -> Self {
        Figure::new(
            title,
            (560, 460),
            Plot::Heatmap { values, rows, cols, x_label: x_label.into(), y_label: y_label.into(), integer: false },
        )
    }

    /// A contour plot of `values[j][i]` on a regular grid spanning `x` × `y` (row 0 at
    /// the bottom): `levels` filled bands between the smallest and the largest value,
    /// spaced evenly in log(value) when every value is positive (losses span orders of
    /// magnitude) and evenly otherwise, with their boundary lines, a colour bar, and a
    /// white dot at the smallest value.
    ///
    /// ```
    /// let values: Vec<Vec<f64>> = (0..11)
    ///     .map(|j| (0..11).map(|i| { let (a, b) = (i as f64 / 5.0 - 1.0, j as f64 / 5.0 - 1.0); 1.0 + a * a + b * b }).collect())
    ///     .collect();
    /// let fig = tchlab::plot::Figure::contour("Bowl", (-1.0, 1.0), (-1.0, 1.0), values, 8, "α", "β");
    /// assert!(fig.to_svg().unwrap().contains("Bowl"));
    /// assert_eq!(&fig.to_png().unwrap()[1..4], b"PNG");
    /// ```
    pub fn contour(
        title: &str,
        x: (f64, f64),
        y: (f64, f64),
        values: Vec<Vec<f64>>,
        levels: usize,
        x_label: &str,
        y_label: &str,
    ) -> Self {
        Figure::new(
            title,
            (560, 480),
            Plot::Contour { x, y, values, levels: levels.max(2), x_label: x_label.into(), y_label: y_label.into() },
        )
    }
}
