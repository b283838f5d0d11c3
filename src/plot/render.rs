//! Drawing a [`Figure`] on any plotters backend (SVG text or an RGB buffer -> PNG).

use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::{Figure, LineChart, PALETTE, Plot, Scale, Style, Tile};

static FONT: Once = Once::new();
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    FONT.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic, FontStyle::Oblique] {
            let _ = plotters::style::register_font(FAMILY, style, FONT_BYTES);
        }
    });
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

pub(crate) fn svg(fig: &Figure) -> Result<String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (fig.width, fig.height)).into_drawing_area();
        draw(fig, &root, false)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

pub(crate) fn png(fig: &Figure) -> Result<Vec<u8>> {
    register_font();
    let (w, h) = (fig.width, fig.height);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(fig, &root, true)?;
        root.present().map_err(err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| anyhow!("PNG buffer has the wrong size"))?;
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    Ok(bytes)
}

pub(crate) fn color(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

/// `bitmap`: the target is a raster image (the rasteriser sets a colon too close to a
/// preceding `t`/`T`, so captions get a hair space there).
fn draw<DB: DrawingBackend>(fig: &Figure, area: &DrawingArea<DB, Shift>, bitmap: bool) -> Result<()> {
    area.fill(&WHITE).map_err(err)?;
    match &fig.plot {
        Plot::Grid { figures, cols } => {
            let rows = figures.len().div_ceil(*cols).max(1);
            let cells = area.split_evenly((rows, *cols));
            for (f, cell) in figures.iter().zip(cells.iter()) {
                draw(f, cell, bitmap)?;
            }
            Ok(())
        }
        Plot::Lines(chart) => lines(fig, area, chart),
        Plot::Regions { x, y, cells, points, x_label, y_label } => {
            regions(fig, area, *x, *y, cells, points, x_label, y_label)
        }
        Plot::Images { tiles, cols } => images(fig, area, tiles, *cols, bitmap),
        Plot::Heatmap { values, rows, cols, x_label, y_label, integer } => {
            heatmap(fig, area, values, rows, cols, x_label, y_label, *integer)
        }
        Plot::Contour { x, y, values, levels, x_label, y_label } => {
            contour(fig, area, *x, *y, values, *levels, x_label, y_label)
        }
        Plot::Histogram { groups, bins, x_label } => histogram(fig, area, groups, *bins, x_label),
    }
}

/// Tick labels with as many decimals as the axis span needs (scientific for tiny spans).
fn tick_format(span: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if span > 0.0 && span < 1e-3 {
            format!("{v:.2e}")
        } else {
            let decimals = (1.0 - span.max(1e-12).log10().floor()).clamp(0.0, 4.0) as usize;
            let text = format!("{v:.decimals$}");
            if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { "0".into() } else { text }
        }
    }
}

/// The title's font: `size` px, smaller (down to 10 px) when the title would not fit in
/// `width` px (about 0.58 of the size per letter).
fn title_style(title: &str, width: u32, size: u32) -> TextStyle<'static> {
    let letters = title.chars().count().max(1) as f64;
    let fits = ((width as f64 - 24.0) / (0.58 * letters)).floor() as u32;
    (FAMILY, size.min(fits).max(10)).into_font().color(&BLACK)
}

/// The legend's places, in the order they are tried: the corners, then halfway up either
/// side (between curves that keep to the top and the bottom).
const LEGEND_CORNERS: [SeriesLabelPosition; 6] = [
    SeriesLabelPosition::UpperRight,
    SeriesLabelPosition::UpperLeft,
    SeriesLabelPosition::LowerRight,
    SeriesLabelPosition::LowerLeft,
    SeriesLabelPosition::MiddleRight,
    SeriesLabelPosition::MiddleLeft,
];

/// A value's position along an axis, as a fraction of the way from `range.0` to `range.1`.
fn along(v: f64, range: (f64, f64), scale: Scale) -> f64 {
    match scale {
        Scale::Linear => (v - range.0) / (range.1 - range.0),
        Scale::Log(_) => (v.ln() - range.0.ln()) / (range.1.ln() - range.0.ln()),
    }
}

/// The range of `values` on an axis, padded by `pad` of its span (multiplicatively on a
/// log axis, where values ≤ 0 are left out).
fn axis_range(values: impl Iterator<Item = f64>, scale: Scale, pad: f64) -> (f64, f64) {
    let kept = values.filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0));
    let (lo, hi) = kept.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    match scale {
        _ if !lo.is_finite() => (0.0, 1.0),
        Scale::Linear => {
            let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) * 0.5 };
            (lo - pad * span, hi + pad * span)
        }
        Scale::Log(_) => {
            let ratio = if hi > lo { (hi / lo).powf(pad) } else { 2.0 };
            (lo / ratio, hi * ratio)
        }
    }
}

/// The labelled ticks of a log axis over `range` (powers of the base; in base 10 also 2
/// and 5 times them while that gives at most 12 ticks) and its light grid lines (in base
/// 10 every whole multiple of a power).
fn log_ticks(range: (f64, f64), base: f64) -> (Vec<f64>, Vec<f64>) {
    let inside = |v: &f64| *v >= range.0 * (1.0 - 1e-9) && *v <= range.1 * (1.0 + 1e-9);
    let first = (range.0.ln() / base.ln()).floor() as i32;
    let last = (range.1.ln() / base.ln()).ceil() as i32;
    let powers: Vec<f64> = (first..=last).map(|k| base.powi(k)).collect();
    let scaled =
        |ms: &[f64]| -> Vec<f64> { powers.iter().flat_map(|p| ms.iter().map(move |m| m * p)).filter(inside).collect() };
    let mut bold = if base == 10.0 { scaled(&[1.0, 2.0, 5.0]) } else { scaled(&[1.0]) };
    if bold.len() > 12 {
        bold = scaled(&[1.0]);
    }
    while bold.len() > 12 {
        bold = bold.into_iter().step_by(2).collect();
    }
    let light = if base == 10.0 { scaled(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]) } else { bold.clone() };
    (bold, light)
}

/// Tick labels of an axis: the values themselves on a log axis, whole numbers only on an
/// axis of whole numbers, else as many decimals as the span needs.
fn axis_labels(range: (f64, f64), scale: Scale, whole: bool) -> impl Fn(&f64) -> String {
    let linear = tick_format(range.1 - range.0);
    move |v: &f64| match scale {
        // The ticks are the values themselves (see `log_ticks`).
        Scale::Log(_) if *v >= 1.0 => format!("{}", v.round()),
        Scale::Log(_) if *v >= 1e-3 => format!("{v:.6}").trim_end_matches('0').to_string(),
        Scale::Log(_) => format!("{v:e}"),
        Scale::Linear if whole && (v - v.round()).abs() > 1e-9 => String::new(),
        Scale::Linear if whole => format!("{}", v.round()),
        Scale::Linear => linear(v),
    }
}

/// The place where a legend of `size` (fractions of the plotting area) covers the fewest
/// of `points` (positions as fractions, y upwards), and how many it covers there.
fn legend_corner(points: &[(f64, f64)], size: (f64, f64)) -> (SeriesLabelPosition, usize) {
    let covered = |corner: &SeriesLabelPosition| {
        use SeriesLabelPosition::*;
        let right = matches!(corner, UpperRight | LowerRight | MiddleRight);
        let in_x = |x: f64| if right { x >= 1.0 - size.0 } else { x <= size.0 };
        let in_y = |y: f64| match corner {
            UpperRight | UpperLeft => y >= 1.0 - size.1,
            LowerRight | LowerLeft => y <= size.1,
            _ => (y - 0.5).abs() <= size.1 / 2.0,
        };
        points.iter().filter(|(x, y)| in_x(*x) && in_y(*y)).count()
    };
    let best = LEGEND_CORNERS.iter().min_by_key(|c| covered(c)).cloned().unwrap_or(SeriesLabelPosition::UpperRight);
    let count = covered(&best);
    (best, count)
}

/// The points of `series` and of the straight segments between them (lines cover the
/// space between their points), as fractions of the ranges.
fn covered_positions(
    series: &[super::Series],
    xr: (f64, f64),
    yr: (f64, f64),
    scales: (Scale, Scale),
) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (along(x, xr, scales.0), along(y, yr, scales.1)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        out.extend(&pts);
        if s.style != Style::Points {
            for w in pts.windows(2) {
                out.extend((1..8).map(|k| {
                    let t = k as f64 / 8.0;
                    (w[0].0 + t * (w[1].0 - w[0].0), w[0].1 + t * (w[1].1 - w[0].1))
                }));
            }
        }
    }
    out
}

/// The colour of series `index` of `count`: the palette, or for an ordered family (or more
/// series than the palette has colours) a sequential map from light to dark.
fn series_color(index: usize, count: usize, sequential: bool) -> RGBColor {
    if !sequential {
        return color(index);
    }
    // Viridis from its yellow-green end to its dark purple end, without the palest yellow.
    const STOPS: [(f64, f64, f64); 5] =
        [(94.0, 201.0, 98.0), (33.0, 145.0, 140.0), (59.0, 82.0, 139.0), (72.0, 33.0, 115.0), (30.0, 10.0, 60.0)];
    let t = if count > 1 { index as f64 / (count - 1) as f64 } else { 0.5 } * (STOPS.len() - 1) as f64;
    let (k, f) = ((t.floor() as usize).min(STOPS.len() - 2), t - t.floor().min((STOPS.len() - 2) as f64));
    let mix = |a: f64, b: f64| (a + f * (b - a)).round() as u8;
    RGBColor(mix(STOPS[k].0, STOPS[k + 1].0), mix(STOPS[k].1, STOPS[k + 1].1), mix(STOPS[k].2, STOPS[k + 1].2))
}

/// What a line chart draws, with its axes' ranges and scales decided.
struct LineLayout<'a> {
    series: &'a [super::Series],
    x_label: &'a str,
    y_label: &'a str,
    xr: (f64, f64),
    yr: (f64, f64),
    scales: (Scale, Scale),
    whole: (bool, bool),
    legend: SeriesLabelPosition,
    /// Colours the series take (the largest colour index + 1).
    colours: usize,
    sequential: bool,
}

/// A chart's frame on `area`: the title (fitted to `title_width` pixels at `title_size`
/// at most), the margin, and the label areas below (`label_areas.0`) and left of
/// (`label_areas.1`) the plot.
fn frame<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    (title_width, title_size): (u32, u32),
    label_areas: (u32, u32),
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, title_style(title, title_width, title_size))
        .margin(12)
        .x_label_area_size(label_areas.0)
        .y_label_area_size(label_areas.1);
    builder
}

/// Draws the legend of `chart`'s labelled series at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// A line chart. Its axes follow the figure's scales; its legend goes to the corner that
/// covers no data, and when every corner would, the y axis grows until the top has room.
fn lines<DB: DrawingBackend>(fig: &Figure, area: &DrawingArea<DB, Shift>, chart: &LineChart) -> Result<()> {
    let LineChart { series, x_label, y_label, y_range, scales, ordered } = chart;
    let points = || series.iter().flat_map(|s| s.points.iter().copied());
    let xr = axis_range(points().map(|p| p.0), scales.0, 0.0);
    let mut yr = y_range.unwrap_or_else(|| axis_range(points().map(|p| p.1), scales.1, 0.05));
    let whole = |vs: Vec<f64>| !vs.is_empty() && vs.iter().all(|v| v.fract() == 0.0);
    let finite =
        |f: fn(&(f64, f64)) -> f64| points().filter(|p| p.0.is_finite() && p.1.is_finite()).map(|p| f(&p)).collect();
    let whole = (whole(finite(|p| p.0)), whole(finite(|p| p.1)));
    let (width, height) = area.dim_in_pixel();
    let legend = place_legend(chart, (width, height), xr, &mut yr);
    let colours = series.iter().enumerate().map(|(i, s)| s.color.unwrap_or(i)).max().map_or(0, |m| m + 1);
    let layout = LineLayout {
        series,
        x_label,
        y_label,
        xr,
        yr,
        scales: *scales,
        whole,
        legend,
        colours,
        sequential: *ordered || colours > PALETTE.len(),
    };
    let mut builder = frame(area, &fig.title, (width, 18), (40, 62));
    let log_axis = |r: (f64, f64), base: f64| {
        let (bold, light) = log_ticks(r, base);
        (r.0..r.1).log_scale().base(base).with_key_points(bold).with_light_points(light)
    };
    let (x, y) = ((xr.0..xr.1), (yr.0..yr.1));
    match (scales.0, scales.1) {
        (Scale::Linear, Scale::Linear) => draw_lines(builder.build_cartesian_2d(x, y).map_err(err)?, &layout),
        (Scale::Log(b), Scale::Linear) => {
            draw_lines(builder.build_cartesian_2d(log_axis(xr, b), y).map_err(err)?, &layout)
        }
        (Scale::Linear, Scale::Log(b)) => {
            draw_lines(builder.build_cartesian_2d(x, log_axis(yr, b)).map_err(err)?, &layout)
        }
        (Scale::Log(bx), Scale::Log(by)) => {
            draw_lines(builder.build_cartesian_2d(log_axis(xr, bx), log_axis(yr, by)).map_err(err)?, &layout)
        }
    }
}

/// Where a line chart's legend goes on an area of `(width, height)` pixels: the corner
/// that covers no data; when every corner would, the upper right, with the top of the y
/// range `yr` grown until the legend's band above the data is empty (unless the range
/// was set).
fn place_legend(
    chart: &LineChart,
    (width, height): (u32, u32),
    xr: (f64, f64),
    yr: &mut (f64, f64),
) -> SeriesLabelPosition {
    let LineChart { series, y_range, scales, .. } = chart;
    // The legend's size as fractions of the plotting area (rows of 17 px, 7.5 px a letter).
    let labelled: Vec<&str> = series.iter().map(|s| s.name.as_str()).filter(|n| !n.is_empty()).collect();
    if labelled.is_empty() {
        return SeriesLabelPosition::UpperRight;
    }
    let plot_w = (width as f64 - 100.0).max(50.0);
    let plot_h = (height as f64 - 110.0).max(50.0);
    let longest = labelled.iter().map(|n| n.chars().count()).max().unwrap_or(0) as f64;
    let size = ((34.0 + 7.5 * longest) / plot_w, (10.0 + 17.0 * labelled.len() as f64) / plot_h);
    let (corner, covered) = legend_corner(&covered_positions(series, xr, *yr, *scales), size);
    if covered > 0 && y_range.is_none() && size.1 < 0.6 {
        let grow = size.1 / (1.0 - size.1);
        yr.1 = match scales.1 {
            Scale::Linear => yr.1 + grow * (yr.1 - yr.0),
            Scale::Log(_) => yr.1 * (yr.1 / yr.0).powf(grow),
        };
        return SeriesLabelPosition::UpperRight;
    }
    corner
}

fn draw_lines<'a, DB, X, Y>(mut chart: ChartContext<'a, DB, Cartesian2d<X, Y>>, layout: &LineLayout) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let fx = axis_labels(layout.xr, layout.scales.0, layout.whole.0);
    let fy = axis_labels(layout.yr, layout.scales.1, layout.whole.1);
    chart
        .configure_mesh()
        .x_desc(layout.x_label)
        .y_desc(layout.y_label)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(err)?;
    for (i, s) in layout.series.iter().enumerate() {
        draw_series_line(&mut chart, s, series_color(s.color.unwrap_or(i), layout.colours, layout.sequential), layout)?;
    }
    if layout.series.iter().any(|s| !s.name.is_empty()) {
        draw_legend(&mut chart, layout.legend.clone())?;
    }
    Ok(())
}

/// Draws series `s` in colour `c`, with its legend entry when it has a name; points
/// that the axes cannot show (not finite, or not positive on a log axis) are left out.
fn draw_series_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: &super::Series,
    c: RGBColor,
    layout: &LineLayout,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let shown = |(x, y): &(f64, f64)| {
        x.is_finite()
            && y.is_finite()
            && (layout.scales.0 == Scale::Linear || *x > 0.0)
            && (layout.scales.1 == Scale::Linear || *y > 0.0)
    };
    let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(shown).collect();
    let style = match s.style {
        Style::Faint => c.mix(0.3).stroke_width(1),
        _ => c.stroke_width(2),
    };
    let drawn = match s.style {
        Style::Points => chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?,
        Style::Dashed => chart.draw_series(DashedLineSeries::new(pts, 6, 4, style)).map_err(err)?,
        _ => chart.draw_series(LineSeries::new(pts, style)).map_err(err)?,
    };
    if !s.name.is_empty() {
        let kind = s.style;
        drawn.label(s.name.clone()).legend(move |(x, y)| -> DynElement<DB, (i32, i32)> {
            match kind {
                Style::Points => Circle::new((x + 9, y), 3, c.filled()).into_dyn(),
                Style::Dashed => PathElement::new(vec![(x, y), (x + 8, y)], c.stroke_width(2)).into_dyn(),
                _ => PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)).into_dyn(),
            }
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn regions<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    xr: (f64, f64),
    yr: (f64, f64),
    cells: &[Vec<i64>],
    points: &[(f64, f64, i64)],
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    let mut chart =
        frame(area, &fig.title, (fig.width, 18), (40, 50)).build_cartesian_2d(xr.0..xr.1, yr.0..yr.1).map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(err)?;
    chart.draw_series(row_runs(cells, xr, yr, |class| color(class.max(0) as usize).mix(0.25))).map_err(err)?;
    let classes: std::collections::BTreeSet<i64> = points.iter().map(|p| p.2).collect();
    for class in classes {
        let c = color(class.max(0) as usize);
        let pts: Vec<(f64, f64)> = points.iter().filter(|p| p.2 == class).map(|p| (p.0, p.1)).collect();
        let shape = class;
        chart
            .draw_series(pts.into_iter().map(move |p| -> DynElement<DB, (f64, f64)> {
                if shape % 2 == 0 {
                    Circle::new(p, 3, c.filled()).into_dyn()
                } else {
                    TriangleMarker::new(p, 4, c.filled()).into_dyn()
                }
            }))
            .map_err(err)?
            .label(format!("class {class}"))
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, c.filled()));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// One rectangle per run of equal values in a row of `cells` (row 0 at the bottom),
/// spanning `xr` × `yr`, filled with `fill(value)`.
fn row_runs<T: PartialEq + Copy, C: Color>(
    cells: &[Vec<T>],
    xr: (f64, f64),
    yr: (f64, f64),
    fill: impl Fn(T) -> C,
) -> Vec<Rectangle<(f64, f64)>> {
    let ny = cells.len();
    let nx = cells.first().map(Vec::len).unwrap_or(0);
    let mut rects = Vec::new();
    if nx == 0 || ny == 0 {
        return rects;
    }
    let (dx, dy) = ((xr.1 - xr.0) / nx as f64, (yr.1 - yr.0) / ny as f64);
    for (j, row) in cells.iter().enumerate() {
        let mut start = 0;
        for i in 1..=nx {
            if i == nx || row[i] != row[start] {
                let y = yr.0 + j as f64 * dy;
                rects.push(Rectangle::new(
                    [(xr.0 + start as f64 * dx, y), (xr.0 + i as f64 * dx, y + dy)],
                    fill(row[start]).filled(),
                ));
                start = i;
            }
        }
    }
    rects
}

fn images<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    tiles: &[Tile],
    cols: usize,
    bitmap: bool,
) -> Result<()> {
    let area = if fig.title.is_empty() {
        area.clone()
    } else {
        area.titled(&fig.title, title_style(&fig.title, fig.width, 18)).map_err(err)?
    };
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let cells = area.split_evenly((rows, cols));
    for (tile, cell) in tiles.iter().zip(cells.iter()) {
        let (w, h) = cell.dim_in_pixel();
        let caption_h = 20i32;
        if !tile.caption.is_empty() {
            let caption = if bitmap { tile.caption.replace(':', "\u{200A}:") } else { tile.caption.clone() };
            cell.draw(&Text::new(caption, (4, 3), (FAMILY, 14).into_font().color(&BLACK))).map_err(err)?;
        }
        let avail_w = w as i32 - 8;
        let avail_h = h as i32 - caption_h - 4;
        let scale = (avail_w as f64 / tile.width as f64).min(avail_h as f64 / tile.height as f64).max(0.1);
        let (ox, oy) = (4 + ((avail_w as f64 - scale * tile.width as f64) / 2.0) as i32, caption_h);
        let plane = tile.width * tile.height;
        let px = |x: usize, y: usize| -> RGBColor {
            let v = |k: usize| (tile.pixels[k * plane + y * tile.width + x].clamp(0.0, 1.0) * 255.0).round() as u8;
            if tile.channels >= 3 { RGBColor(v(0), v(1), v(2)) } else { RGBColor(v(0), v(0), v(0)) }
        };
        let mut rects = Vec::new();
        for y in 0..tile.height {
            let mut start = 0;
            for x in 1..=tile.width {
                if x == tile.width || px(x, y) != px(start, y) {
                    let x0 = ox + (start as f64 * scale) as i32;
                    let x1 = ox + (x as f64 * scale).ceil() as i32;
                    let y0 = oy + (y as f64 * scale) as i32;
                    let y1 = oy + ((y + 1) as f64 * scale).ceil() as i32;
                    rects.push(Rectangle::new([(x0, y0), (x1, y1)], px(start, y).filled()));
                    start = x;
                }
            }
        }
        for r in rects {
            cell.draw(&r).map_err(err)?;
        }
    }
    Ok(())
}

/// Viridis, interpolated between five anchors; `t` in [0, 1].
pub(crate) fn viridis(t: f64) -> RGBColor {
    const A: [(f64, f64, f64); 5] =
        [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(A[i].0, A[i + 1].0), mix(A[i].1, A[i + 1].1), mix(A[i].2, A[i + 1].2))
}

#[allow(clippy::too_many_arguments)]
fn heatmap<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f64>],
    rows: &[String],
    cols: &[String],
    x_label: &str,
    y_label: &str,
    integer: bool,
) -> Result<()> {
    use plotters::coord::ranged1d::SegmentValue;
    let (nr, nc) = (values.len() as i32, values.first().map(Vec::len).unwrap_or(0) as i32);
    let finite = values.iter().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let label = |names: &[String], v: &SegmentValue<i32>, flip: bool| match v {
        SegmentValue::CenterOf(i) => {
            let i = if flip { names.len() as i32 - 1 - i } else { *i };
            names.get(i as usize).cloned().unwrap_or_default()
        }
        _ => String::new(),
    };
    let mut chart = frame(area, &fig.title, (fig.width, 18), (44, 70))
        .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_labels(nc as usize + 1)
        .y_labels(nr as usize + 1)
        .x_label_formatter(&|v| label(cols, v, false))
        .y_label_formatter(&|v| label(rows, v, true))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(err)?;
    // Row 0 is drawn at the top.
    for (r, row) in values.iter().enumerate() {
        let y = nr - 1 - r as i32;
        for (c, &v) in row.iter().enumerate() {
            let c = c as i32;
            let t = (v - lo) / span;
            let cell = [
                (SegmentValue::Exact(c), SegmentValue::Exact(y + 1)),
                (SegmentValue::Exact(c + 1), SegmentValue::Exact(y)),
            ];
            chart.draw_series(std::iter::once(Rectangle::new(cell, viridis(t).filled()))).map_err(err)?;
            if nr * nc <= 400 {
                let style = centred_text(if t > 0.6 { BLACK } else { WHITE });
                let at = (SegmentValue::CenterOf(c), SegmentValue::CenterOf(y));
                chart.draw_series(std::iter::once(Text::new(cell_text(v, integer), at, style))).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// A heatmap cell's value as written in it: whole numbers when `integer` or from 100 up,
/// else three decimals; a dash when not finite.
fn cell_text(v: f64, integer: bool) -> String {
    if !v.is_finite() {
        "–".to_string()
    } else if integer || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// 12-pixel text in `ink`, centred on its position.
fn centred_text(ink: RGBColor) -> TextStyle<'static> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    (FAMILY, 12).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center))
}

/// The contour levels of [`contour`]: `levels + 1` boundaries from the smallest to
/// the largest finite value, evenly spaced in log(value) when all values are positive.
pub(crate) fn contour_levels(values: &[Vec<f64>], levels: usize) -> Vec<f64> {
    let finite = values.iter().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !(lo.is_finite() && hi > lo) {
        return vec![lo, lo + 1.0];
    }
    let n = levels.max(1);
    let log = lo > 0.0;
    (0..=n)
        .map(|k| {
            let t = k as f64 / n as f64;
            if log { (lo.ln() + t * (hi.ln() - lo.ln())).exp() } else { lo + t * (hi - lo) }
        })
        .collect()
}

/// Marching squares on one grid cell: the segments where the bilinear surface through
/// the corner values `v` (bottom-left, bottom-right, top-right, top-left, at unit
/// coordinates) crosses `level`.
fn cell_segments(v: [f64; 4], level: f64) -> Vec<((f64, f64), (f64, f64))> {
    let corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
    let mut crossings = Vec::new();
    for e in 0..4 {
        let (a, b) = (v[e], v[(e + 1) % 4]);
        if (a < level) != (b < level) {
            let t = (level - a) / (b - a);
            let (p, q) = (corners[e], corners[(e + 1) % 4]);
            crossings.push((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)));
        }
    }
    crossings.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect()
}

#[allow(clippy::too_many_arguments)]
fn contour<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    xr: (f64, f64),
    yr: (f64, f64),
    values: &[Vec<f64>],
    levels: usize,
    x_label: &str,
    y_label: &str,
) -> Result<()> {
    let (plot_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(80));
    let mut chart = frame(&plot_area, &fig.title, (fig.width, 17), (40, 50))
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(err)?;
    let ny = values.len();
    let nx = values.first().map(Vec::len).unwrap_or(0);
    let bounds = contour_levels(values, levels);
    let band = |v: f64| bounds.iter().skip(1).take_while(|&&b| v > b).count().min(levels - 1);
    let shade = |k: usize| viridis(k as f64 / (levels - 1).max(1) as f64);
    if nx >= 2 && ny >= 2 {
        // Filled bands: the bilinear surface sampled on a finer grid, runs merged per row.
        let fine = 6;
        let (mx, my) = ((nx - 1) * fine, (ny - 1) * fine);
        let sample = |i: usize, j: usize| {
            let (fx, fy) = ((i as f64 + 0.5) / fine as f64, (j as f64 + 0.5) / fine as f64);
            let (i0, j0) = ((fx as usize).min(nx - 2), (fy as usize).min(ny - 2));
            let (tx, ty) = (fx - i0 as f64, fy - j0 as f64);
            let v = |i: usize, j: usize| values[j][i];
            (1.0 - ty) * ((1.0 - tx) * v(i0, j0) + tx * v(i0 + 1, j0))
                + ty * ((1.0 - tx) * v(i0, j0 + 1) + tx * v(i0 + 1, j0 + 1))
        };
        let bands: Vec<Vec<usize>> = (0..my).map(|j| (0..mx).map(|i| band(sample(i, j))).collect()).collect();
        chart.draw_series(row_runs(&bands, xr, yr, shade)).map_err(err)?;
        chart.draw_series(level_lines(values, &bounds[1..bounds.len() - 1], xr, yr)).map_err(err)?;
        // The grid's smallest value.
        let (cx, cy) = ((xr.1 - xr.0) / (nx - 1) as f64, (yr.1 - yr.0) / (ny - 1) as f64);
        let (i, j) = grid_minimum(values);
        let p = (xr.0 + i as f64 * cx, yr.0 + j as f64 * cy);
        chart
            .draw_series([Circle::new(p, 4, WHITE.filled()), Circle::new(p, 4, BLACK.stroke_width(1))])
            .map_err(err)?;
    }
    colour_bar(&bar_area, &bounds, levels, shade)
}

/// The lines at each of `levels` through the grid `values` (at least 2 × 2) spanning
/// `xr` × `yr`, cell by cell (marching squares).
fn level_lines(values: &[Vec<f64>], levels: &[f64], xr: (f64, f64), yr: (f64, f64)) -> Vec<PathElement<(f64, f64)>> {
    let (ny, nx) = (values.len(), values[0].len());
    let (cx, cy) = ((xr.1 - xr.0) / (nx - 1) as f64, (yr.1 - yr.0) / (ny - 1) as f64);
    let mut paths = Vec::new();
    for &level in levels {
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let v = [values[j][i], values[j][i + 1], values[j + 1][i + 1], values[j + 1][i]];
                if v.iter().all(|v| v.is_finite()) {
                    for (a, b) in cell_segments(v, level) {
                        let at = |p: (f64, f64)| (xr.0 + (i as f64 + p.0) * cx, yr.0 + (j as f64 + p.1) * cy);
                        paths.push(PathElement::new(vec![at(a), at(b)], BLACK.mix(0.45).stroke_width(1)));
                    }
                }
            }
        }
    }
    paths
}

/// The column and row of the grid's smallest value (the first one on ties).
fn grid_minimum(values: &[Vec<f64>]) -> (usize, usize) {
    let mut best = (f64::INFINITY, (0, 0));
    for (j, row) in values.iter().enumerate() {
        for (i, &v) in row.iter().enumerate() {
            if v < best.0 {
                best = (v, (i, j));
            }
        }
    }
    best.1
}

/// The colour bar beside a contour plot: a band per level in `shade(level)`, with the
/// level boundaries `bounds` written beside it (at most about eight of them).
fn colour_bar<DB: DrawingBackend>(
    bar_area: &DrawingArea<DB, Shift>,
    bounds: &[f64],
    levels: usize,
    shade: impl Fn(usize) -> RGBColor,
) -> Result<()> {
    let h = bar_area.dim_in_pixel().1;
    let (top, bottom) = (46i32, h as i32 - 52);
    let step = (bottom - top) as f64 / levels as f64;
    for k in 0..levels {
        let y1 = bottom - (k as f64 * step) as i32;
        let y0 = bottom - ((k + 1) as f64 * step) as i32;
        bar_area.draw(&Rectangle::new([(6, y0), (24, y1)], shade(k).filled())).map_err(err)?;
    }
    let span = bounds.last().copied().unwrap_or(1.0) - bounds[0];
    let every = levels.div_ceil(8).max(1);
    for (k, b) in bounds.iter().enumerate().filter(|(k, _)| k % every == 0 || *k == levels) {
        let y = bottom - (k as f64 * step) as i32;
        let text = if span.abs() < 1e-3 || b.abs() >= 1000.0 { format!("{b:.2e}") } else { format!("{b:.3}") };
        bar_area.draw(&Text::new(text, (28, y - 6), (FAMILY, 11).into_font().color(&BLACK))).map_err(err)?;
    }
    Ok(())
}

fn histogram<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    groups: &[(String, Vec<f64>)],
    bins: usize,
    x_label: &str,
) -> Result<()> {
    let ((lo, hi), width, counts) = histogram_bins(groups, bins);
    let ymax = counts.iter().flatten().copied().fold(0.0, f64::max) * 1.1;
    let mut chart = frame(area, &fig.title, (fig.width, 18), (40, 62))
        .build_cartesian_2d(lo..hi, 0.0..ymax.max(1e-9))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("fraction")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (g, ((name, _), c)) in groups.iter().zip(&counts).enumerate() {
        let col = color(g);
        chart
            .draw_series(c.iter().enumerate().map(|(b, &v)| {
                let x0 = lo + b as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width, v)],
                    col.mix(if groups.len() > 1 { 0.45 } else { 0.8 }).filled(),
                )
            }))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
    }
    if groups.iter().any(|g| !g.0.is_empty()) {
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

/// The bins of a histogram of `groups` (`bins` of equal width over the finite values'
/// range, or a unit range when there is none): the range, the bin width, and each
/// group's fraction of its finite values per bin.
fn histogram_bins(groups: &[(String, Vec<f64>)], bins: usize) -> ((f64, f64), f64, Vec<Vec<f64>>) {
    let all = groups.iter().flat_map(|g| g.1.iter().copied()).filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let bins = bins.max(1);
    let width = (hi - lo) / bins as f64;
    let counts = groups
        .iter()
        .map(|(_, vals)| {
            let mut c = vec![0f64; bins];
            let n = vals.iter().filter(|v| v.is_finite()).count().max(1) as f64;
            for v in vals.iter().filter(|v| v.is_finite()) {
                let b = (((v - lo) / width) as usize).min(bins - 1);
                c[b] += 1.0 / n;
            }
            c
        })
        .collect();
    ((lo, hi), width, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contour_levels_span_the_values_in_log_steps_when_positive() {
        let v = vec![vec![1.0, 10.0], vec![100.0, 1000.0]];
        let l = contour_levels(&v, 3);
        assert_eq!(l.len(), 4);
        for (a, b) in l.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            assert!((a - b).abs() < 1e-9 * b, "{l:?}");
        }
        let l = contour_levels(&[vec![-1.0, 1.0]], 2);
        assert_eq!(l, vec![-1.0, 0.0, 1.0]);
    }

    #[test]
    fn marching_squares_crosses_each_cell_where_the_level_lies() {
        // Bottom edge 0 → 1, top edge 0 → 1: the level 0.5 is the vertical line x = 0.5.
        let s = cell_segments([0.0, 1.0, 1.0, 0.0], 0.5);
        assert_eq!(s.len(), 1);
        let ((x0, _), (x1, _)) = s[0];
        assert!((x0 - 0.5).abs() < 1e-12 && (x1 - 0.5).abs() < 1e-12, "{s:?}");
        assert!(cell_segments([0.0, 0.0, 0.0, 0.0], 0.5).is_empty());
        assert_eq!(cell_segments([1.0, 0.0, 1.0, 0.0], 0.5).len(), 2);
    }
}
