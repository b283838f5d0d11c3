//! Drawing a [`Figure`] on any plotters backend (SVG text or an RGB buffer -> PNG).

use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, PALETTE, Plot, Style, Tile};

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
        Plot::Lines { series, x_label, y_label, y_range } => lines(fig, area, series, x_label, y_label, *y_range),
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

fn bounds(points: impl Iterator<Item = (f64, f64)>) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    let pad = |lo: f64, hi: f64, frac: f64| {
        let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
        (lo - frac * span, hi + frac * span)
    };
    (if x1 > x0 { (x0, x1) } else { pad(x0, x1, 0.5) }, pad(y0, y1, 0.05))
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

fn title_style(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn lines<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    series: &[super::Series],
    x_label: &str,
    y_label: &str,
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    let (xr, mut yr) = bounds(series.iter().flat_map(|s| s.points.iter().copied()));
    if let Some(r) = y_range {
        yr = r;
    }
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, title_style(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(62)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(err)?;
    let (fx, fy) = (tick_format(xr.1 - xr.0), tick_format(yr.1 - yr.0));
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(err)?;
    let mut any_label = false;
    for (i, s) in series.iter().enumerate() {
        let c = color(s.color.unwrap_or(i));
        let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
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
            any_label = true;
            let dashed = s.style == Style::Dashed;
            drawn.label(s.name.clone()).legend(move |(x, y)| {
                let pts = if dashed { vec![(x, y), (x + 8, y)] } else { vec![(x, y), (x + 18, y)] };
                PathElement::new(pts, c.stroke_width(2))
            });
        }
    }
    if any_label {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
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
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, title_style(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(err)?;
    let ny = cells.len();
    let nx = cells.first().map(Vec::len).unwrap_or(0);
    if nx > 0 && ny > 0 {
        let (dx, dy) = ((xr.1 - xr.0) / nx as f64, (yr.1 - yr.0) / ny as f64);
        // Merge runs of one class in a row into one rectangle.
        let mut rects = Vec::new();
        for (j, row) in cells.iter().enumerate() {
            let mut start = 0;
            for i in 1..=nx {
                if i == nx || row[i] != row[start] {
                    let c = color(row[start].max(0) as usize).mix(0.25);
                    let y = yr.0 + j as f64 * dy;
                    rects.push(Rectangle::new(
                        [(xr.0 + start as f64 * dx, y), (xr.0 + i as f64 * dx, y + dy)],
                        c.filled(),
                    ));
                    start = i;
                }
            }
        }
        chart.draw_series(rects).map_err(err)?;
    }
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
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn images<DB: DrawingBackend>(
    fig: &Figure,
    area: &DrawingArea<DB, Shift>,
    tiles: &[Tile],
    cols: usize,
    bitmap: bool,
) -> Result<()> {
    let area =
        if fig.title.is_empty() { area.clone() } else { area.titled(&fig.title, title_style(18)).map_err(err)? };
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
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, title_style(18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
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
                let text = if !v.is_finite() {
                    "–".to_string()
                } else if integer || v.abs() >= 100.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.3}")
                };
                let ink = if t > 0.6 { BLACK } else { WHITE };
                let style = (FAMILY, 12).into_font().color(&ink).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (SegmentValue::CenterOf(c), SegmentValue::CenterOf(y)),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
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
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&fig.title, title_style(17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
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
        let (dx, dy) = ((xr.1 - xr.0) / mx as f64, (yr.1 - yr.0) / my as f64);
        let sample = |i: usize, j: usize| {
            let (fx, fy) = ((i as f64 + 0.5) / fine as f64, (j as f64 + 0.5) / fine as f64);
            let (i0, j0) = ((fx as usize).min(nx - 2), (fy as usize).min(ny - 2));
            let (tx, ty) = (fx - i0 as f64, fy - j0 as f64);
            let v = |i: usize, j: usize| values[j][i];
            (1.0 - ty) * ((1.0 - tx) * v(i0, j0) + tx * v(i0 + 1, j0))
                + ty * ((1.0 - tx) * v(i0, j0 + 1) + tx * v(i0 + 1, j0 + 1))
        };
        let mut rects = Vec::new();
        for j in 0..my {
            let bands: Vec<usize> = (0..mx).map(|i| band(sample(i, j))).collect();
            let mut start = 0;
            for i in 1..=mx {
                if i == mx || bands[i] != bands[start] {
                    let y = yr.0 + j as f64 * dy;
                    rects.push(Rectangle::new(
                        [(xr.0 + start as f64 * dx, y), (xr.0 + i as f64 * dx, y + dy)],
                        shade(bands[start]).filled(),
                    ));
                    start = i;
                }
            }
        }
        chart.draw_series(rects).map_err(err)?;
        // The level lines.
        let (cx, cy) = ((xr.1 - xr.0) / (nx - 1) as f64, (yr.1 - yr.0) / (ny - 1) as f64);
        let mut paths = Vec::new();
        for &level in &bounds[1..bounds.len() - 1] {
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
        chart.draw_series(paths).map_err(err)?;
        // The grid's smallest value.
        let mut best = (f64::INFINITY, (0, 0));
        for (j, row) in values.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                if v < best.0 {
                    best = (v, (i, j));
                }
            }
        }
        let p = (xr.0 + best.1.0 as f64 * cx, yr.0 + best.1.1 as f64 * cy);
        chart
            .draw_series([Circle::new(p, 4, WHITE.filled()), Circle::new(p, 4, BLACK.stroke_width(1))])
            .map_err(err)?;
    }
    // The colour bar with its level values.
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
    let counts: Vec<Vec<f64>> = groups
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
    let ymax = counts.iter().flatten().copied().fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, title_style(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(62)
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
    }
    Ok(())
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
