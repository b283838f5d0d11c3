//! Figures drawn with plotters: one [`Figure`] value per chart (or a grid of them)
//! that renders to SVG and PNG, saves to files and shows inline in evcxr.
//!
//! Text renders in PNG too: the crate ships DejaVu Sans and registers it with
//! plotters, so no system font is needed.

mod charts;
mod render;

use std::path::Path;

use anyhow::{Result, bail};

pub use charts::running_mean;

/// Colour-blind-safe palette (Okabe–Ito), in drawing order.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (0, 0, 0),
    (240, 228, 66),
];

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A thin, light line (e.g. raw minibatch losses under their running mean).
    Faint,
    /// A dashed line.
    Dashed,
    /// Points.
    Points,
}

/// One named series of `(x, y)` points.
///
/// ```
/// let s = tchlab::plot::Series::line("train", vec![(1.0, 0.5), (2.0, 0.3)]);
/// assert_eq!(s.points.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry (empty: no entry).
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// How to draw it.
    pub style: Style,
    /// Palette index (None: by position).
    pub color: Option<usize>,
}

impl Series {
    /// A solid line.
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, style: Style::Line, color: None }
    }

    /// Sets the style.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Sets the palette colour.
    pub fn color(mut self, index: usize) -> Self {
        self.color = Some(index);
        self
    }
}

/// An image to show in a grid: values in [0, 1], `channels` 1 or 3, with a caption.
#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    /// Row-major pixels, `[C, H, W]` planar.
    pub pixels: Vec<f32>,
    /// Channels (1 or 3).
    pub channels: usize,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
    /// Caption drawn above the image.
    pub caption: String,
}

/// How an axis maps values to positions.
///
/// ```
/// use tchlab::plot::{Figure, Scale, Series};
/// let fig = Figure::lines("Capacity", "hidden units", "error (%)", vec![Series::line("test", vec![(1.0, 40.0), (256.0, 3.0)])])
///     .x_scale(Scale::Log(2.0));
/// assert!(fig.to_svg().unwrap().lines().any(|l| l.trim() == "256")); // a tick shows the value
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Equal steps for equal differences.
    Linear,
    /// Equal steps for equal ratios, with the given base (2: 1, 2, 4, 8, …; 10: 1, 10,
    /// 100, …); the ticks show the values themselves. Values ≤ 0 are left out.
    Log(f64),
}

/// A line chart: its series, axis labels, a fixed y range if any, the axes' scales, and
/// whether its series are an ordered family (coloured by a sequential map).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LineChart {
    pub(crate) series: Vec<Series>,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) y_range: Option<(f64, f64)>,
    pub(crate) scales: (Scale, Scale),
    pub(crate) ordered: bool,
}

/// What a figure draws.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plot {
    Lines(LineChart),
    Regions {
        x: (f64, f64),
        y: (f64, f64),
        cells: Vec<Vec<i64>>,
        points: Vec<(f64, f64, i64)>,
        x_label: String,
        y_label: String,
    },
    Images {
        tiles: Vec<Tile>,
        cols: usize,
    },
    Heatmap {
        values: Vec<Vec<f64>>,
        rows: Vec<String>,
        cols: Vec<String>,
        x_label: String,
        y_label: String,
        integer: bool,
    },
    Contour {
        x: (f64, f64),
        y: (f64, f64),
        values: Vec<Vec<f64>>,
        levels: usize,
        x_label: String,
        y_label: String,
    },
    Histogram {
        groups: Vec<(String, Vec<f64>)>,
        bins: usize,
        x_label: String,
    },
    Grid {
        figures: Vec<Figure>,
        cols: usize,
    },
}

/// A figure: a title, a size in pixels, and what it draws.
///
/// ```
/// use tchlab::plot::{Figure, Series};
/// let fig = Figure::lines("Loss", "epoch", "loss", vec![Series::line("train", vec![(1.0, 0.7), (2.0, 0.4)])]);
/// let svg = fig.to_svg().unwrap();
/// assert!(svg.contains("Loss"));
/// let png = fig.to_png().unwrap();
/// assert_eq!(&png[1..4], b"PNG");
/// ```
#[derive(Clone, PartialEq)]
pub struct Figure {
    /// Title drawn above the chart.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    pub(crate) plot: Plot,
}

impl std::fmt::Debug for Figure {
    /// Title and size only: a figure's data can be megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Figure({:?}, {}×{})", self.title, self.width, self.height)
    }
}

impl Figure {
    pub(crate) fn new(title: &str, size: (u32, u32), plot: Plot) -> Self {
        Figure { title: title.into(), width: size.0, height: size.1, plot }
    }

    /// Sets the size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Figures side by side in one row.
    pub fn row(figures: Vec<Figure>) -> Self {
        let n = figures.len().max(1);
        Figure::grid(figures, n)
    }

    /// Figures in a grid of `cols` columns; its size is the sum of the cells'.
    pub fn grid(figures: Vec<Figure>, cols: usize) -> Self {
        let cols = cols.max(1);
        let rows = figures.len().div_ceil(cols).max(1);
        let w = figures.iter().map(|f| f.width).max().unwrap_or(400) * cols.min(figures.len().max(1)) as u32;
        let h = figures.iter().map(|f| f.height).max().unwrap_or(300) * rows as u32;
        Figure::new("", (w, h), Plot::Grid { figures, cols })
    }

    /// The SVG text of the figure.
    pub fn to_svg(&self) -> Result<String> {
        render::svg(self)
    }

    /// The PNG bytes of the figure.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        render::png(self)
    }

    /// Saves as `.svg` or `.png` (by extension), through a temporary file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => self.to_svg()?.into_bytes(),
            Some("png") => self.to_png()?,
            _ => bail!("cannot save a figure as {}: use a .svg or .png file name", path.display()),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        crate::output::write_file_atomic(path, &bytes)
    }
}
