//! Inline display in Jupyter (evcxr): figures as PNG, tables and histories as HTML.
//!
//! evcxr shows a cell's value by calling its `evcxr_display` method; only the last
//! rich output of a cell reaches the notebook, so several figures go into one
//! [`Figure::row`]/[`Figure::grid`].

#[cfg(feature = "polars")]
use anyhow::Result;
use base64::Engine;
#[cfg(feature = "polars")]
use polars::prelude::*;

use crate::plot::Figure;
use crate::train::History;

fn emit(mime: &str, content: &str) {
    evcxr_runtime::mime_type(mime).text(content);
}

/// The MIME type in which a notebook cell hands its results to the notebook runner:
/// a JSON object `{"name": "value", …}`, each value written at full precision (Rust's
/// shortest round-trip form). Front-ends do not render it; `tools/run_notebooks.py`
/// reads it and checks the values against `notebooks/targets.json`.
pub const RESULTS_MIME: &str = "application/vnd.tchlab.results+json";

/// Whether this code runs inside an evcxr (Jupyter) cell.
fn in_notebook() -> bool {
    std::env::var_os("EVCXR_IS_RUNTIME").is_some()
}

/// The JSON object of [`RESULTS_MIME`] for `items`.
///
/// ```
/// let json = tchlab::display::results_json(&[("test_accuracy".into(), 97.5)]);
/// assert_eq!(json, r#"{"test_accuracy":"97.5"}"#);
/// ```
pub fn results_json(items: &[(String, f64)]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let fields: Vec<String> = items.iter().map(|(n, v)| format!("{}:{}", quote(n), quote(&v.to_string()))).collect();
    format!("{{{}}}", fields.join(","))
}

/// Hands named results to whoever checks them: in a notebook, invisibly to the reader,
/// as [`RESULTS_MIME`] output for the notebook runner (one per cell: a second call in
/// the same cell replaces the first); elsewhere as `RESULT name=value` lines on stdout.
///
/// ```
/// tchlab::display::results(&[("tensor_sum".into(), 12.0)]); // prints RESULT tensor_sum=12
/// ```
pub fn results(items: &[(String, f64)]) {
    if in_notebook() {
        emit(RESULTS_MIME, &results_json(items));
    } else {
        for (n, v) in items {
            println!("RESULT {n}={v}");
        }
    }
}

impl Figure {
    /// Shows the figure inline (PNG); evcxr calls this for a cell's value.
    pub fn evcxr_display(&self) {
        match self.to_png() {
            Ok(png) => emit("image/png", &base64::engine::general_purpose::STANDARD.encode(png)),
            Err(e) => println!("Error: could not render the figure: {e:#}"),
        }
    }
}

/// Shows a figure inline now (for figures that are not the cell's value).
///
/// ```
/// let fig = tchlab::plot::Figure::lines("t", "x", "y", vec![]);
/// tchlab::display::show(&fig);
/// ```
pub fn show(figure: &Figure) {
    figure.evcxr_display();
}

/// A DataFrame (or any rows) shown inline as an HTML table.
///
/// ```
/// let t = tchlab::display::Table::from_rows(&["a", "b"], vec![vec!["1".into(), "2".into()]]);
/// assert!(t.to_html().contains("<td>2</td>"));
/// ```
#[derive(Clone, Debug)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Cells as text.
    pub rows: Vec<Vec<String>>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Table {
    /// A table from column names and rows of text.
    pub fn from_rows(columns: &[&str], rows: Vec<Vec<String>>) -> Self {
        Table { columns: columns.iter().map(|s| s.to_string()).collect(), rows }
    }

    /// A table of a DataFrame (floats with 4 decimals; feature `polars`).
    #[cfg(feature = "polars")]
    pub fn from_frame(df: &DataFrame) -> Result<Self> {
        let columns: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = vec![Vec::with_capacity(columns.len()); df.height()];
        for col in df.columns() {
            let s = col.as_materialized_series();
            for (i, row) in rows.iter_mut().enumerate() {
                let v = s.get(i)?;
                row.push(match v {
                    AnyValue::Float64(f) => format!("{f:.4}"),
                    AnyValue::Float32(f) => format!("{f:.4}"),
                    AnyValue::String(s) => s.to_string(),
                    AnyValue::Null => String::new(),
                    other => other.to_string(),
                });
            }
        }
        Ok(Table { columns, rows })
    }

    /// The HTML text.
    pub fn to_html(&self) -> String {
        let mut h = String::from("<table style=\"border-collapse:collapse\"><thead><tr>");
        for c in &self.columns {
            h.push_str(&format!("<th style=\"padding:2px 8px;text-align:right\">{}</th>", escape(c)));
        }
        h.push_str("</tr></thead><tbody>");
        for r in &self.rows {
            h.push_str("<tr>");
            for v in r {
                h.push_str(&format!("<td>{}</td>", escape(v)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        h
    }

    /// Plain text, for terminals and logs.
    pub fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                    .max()
                    .unwrap_or(0)
                    .max(self.columns[c].chars().count())
            })
            .collect();
        let line = |cells: &[String]| -> String {
            cells.iter().zip(&widths).map(|(v, w)| format!("{v:>w$}")).collect::<Vec<_>>().join("  ")
        };
        let mut out = line(&self.columns);
        for r in &self.rows {
            out.push('\n');
            out.push_str(&line(r));
        }
        out
    }

    /// Shows the table inline (HTML, with a text fallback).
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl History {
    /// The per-epoch records as a table (numbers with 4 decimals).
    ///
    /// ```
    /// let mut h = tchlab::train::History::default();
    /// h.push(1, "train", 0.5, 0.8, 0.1, 1.0);
    /// assert!(h.table().to_text().contains("0.8000"));
    /// ```
    pub fn table(&self) -> Table {
        Table::from_rows(&History::COLUMNS, self.rows_with(|v| format!("{v:.4}")))
    }

    /// Shows the per-epoch records inline as an HTML table.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display()
    }
}
