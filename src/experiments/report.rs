//! What an experiment returns: settings, metrics, histories, figures and tables.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use super::{Metrics, Presentation};
use crate::display::Table;
use crate::plot::Figure;
use crate::train::History;

/// The result of an experiment as `tchlab run` saves it and a notebook shows it: the
/// settings, the results as named numbers, the figures, tables and histories, and the
/// seconds it took. Assembled once, by [`Report::assemble`] (an experiment's
/// `Config::report`), from the experiment's typed results and its presentation.
///
/// ```
/// use tchlab::experiments::{Presentation, Report, results};
/// results! {
///     /// One number.
///     pub struct Results {
///         /// Accuracy on the test images (%).
///         test_accuracy: f64,
///     }
/// }
/// let r = Report::assemble("demo", vec![], &Results { test_accuracy: 97.5 }, Presentation::default(), 1.0);
/// assert_eq!(r.get("test_accuracy"), Some(97.5));
/// assert!(r.result_lines().contains("RESULT test_accuracy=97.5"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Report {
    name: String,
    settings: Vec<(String, String)>,
    metrics: Vec<(String, f64)>,
    histories: Vec<(String, History)>,
    figures: Vec<(String, Figure)>,
    tables: Vec<(String, Table)>,
    seconds: f64,
}

impl Report {
    /// The report of experiment `name` run with `settings`: `results` as named numbers,
    /// `presentation`'s figures, tables and histories, and the `seconds` it took.
    pub fn assemble(
        name: &str,
        settings: Vec<(String, String)>,
        results: &impl Metrics,
        presentation: Presentation,
        seconds: f64,
    ) -> Self {
        let Presentation { figures, tables, histories } = presentation;
        Report { name: name.into(), settings, metrics: results.metrics(), histories, figures, tables, seconds }
    }

    /// The experiment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings it ran with, as `key=value` pairs.
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// Every result, named.
    pub fn metrics(&self) -> &[(String, f64)] {
        &self.metrics
    }

    /// Wall-clock seconds of the run.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// A result by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// A result by name, NaN when the experiment did not record it.
    pub fn value(&self, name: &str) -> f64 {
        self.get(name).unwrap_or(f64::NAN)
    }

    /// A figure by name.
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        named(&self.figures, name)
    }

    /// A figure by name, as a notebook cell's value (`report.show("loss_curves")?`
    /// shows it inline); the error names the figures the report has.
    ///
    /// ```
    /// use tchlab::experiments::{Presentation, Report};
    /// let p = Presentation::default().figure("curve", tchlab::plot::Figure::lines("t", "x", "y", vec![]));
    /// let r = Report::assemble("demo", vec![], &(), p, 0.0);
    /// assert!(r.show("curve").is_ok());
    /// assert!(format!("{}", r.show("nope").unwrap_err()).contains("`curve`"));
    /// ```
    pub fn show(&self, name: &str) -> Result<Figure> {
        self.required(&self.figures, "figure", name)
    }

    /// A table by name, as a notebook cell's value (`report.show_table("summary")?`).
    ///
    /// ```
    /// use tchlab::experiments::{Presentation, Report};
    /// let p = Presentation::default().table("summary", tchlab::display::Table::from_rows(&["a"], vec![vec!["1".into()]]));
    /// let r = Report::assemble("demo", vec![], &(), p, 0.0);
    /// assert_eq!(r.show_table("summary").unwrap().rows.len(), 1);
    /// assert!(r.show_table("nope").is_err());
    /// ```
    pub fn show_table(&self, name: &str) -> Result<Table> {
        self.required(&self.tables, "table", name)
    }

    /// A copy of the item `name` of `items`; the error names the items there are.
    fn required<T: Clone>(&self, items: &[(String, T)], kind: &str, name: &str) -> Result<T> {
        named(items, name).cloned().ok_or_else(|| {
            let names: Vec<String> = items.iter().map(|(n, _)| format!("`{n}`")).collect();
            anyhow::anyhow!("the {} report has no {kind} `{name}`; its {kind}s are {}", self.name, names.join(", "))
        })
    }

    /// A history by run name.
    pub fn history(&self, name: &str) -> Option<&History> {
        named(&self.histories, name)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        named(&self.tables, name)
    }

    /// `RESULT name=value` lines, which the notebook runner checks against the
    /// lecture's numbers.
    pub fn result_lines(&self) -> String {
        self.metrics.iter().map(|(n, v)| format!("RESULT {n}={v}")).collect::<Vec<_>>().join("\n")
    }

    /// Prints the results as a compact table (4 significant digits, two per line), and
    /// hands them at full precision to the notebook runner (see
    /// [`crate::display::results`]: invisible in a notebook, `RESULT` lines elsewhere).
    pub fn print(&self) {
        match self.seconds > 0.0 {
            true => println!("{} finished in {:.1}s", self.name, self.seconds),
            false => println!("{}: {} results", self.name, self.metrics.len()),
        }
        for pair in self.metrics.chunks(2) {
            let cells: Vec<String> = pair.iter().map(|(n, v)| format!("{n:<34} {:>10}", significant(*v))).collect();
            println!("  {}", cells.join("   "));
        }
        crate::display::results(&self.metrics);
    }

    /// Writes the report into `dir` (created if needed): `history.csv`, each figure as
    /// SVG and PNG, each table as text, and `summary.json` (settings, metrics, figures,
    /// versions, seconds; `seconds_total` is the whole run's, loading included).
    ///
    /// ```
    /// use tchlab::experiments::{Presentation, Report, results};
    /// results! {
    ///     /// One number.
    ///     pub struct Results {
    ///         /// Accuracy on the test images (%).
    ///         test_accuracy: f64,
    ///     }
    /// }
    /// let r = Report::assemble("demo", vec![], &Results { test_accuracy: 97.5 }, Presentation::default(), 0.0);
    /// let dir = tempfile::tempdir().unwrap();
    /// r.save(dir.path(), 1.0).unwrap();
    /// let summary = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    /// assert!(summary.contains("\"test_accuracy\": 97.5"), "{summary}");
    /// ```
    pub fn save(&self, dir: &Path, seconds_total: f64) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).with_context(|| format!("writing {}", dir.join(name).display()))
        };
        write("history.csv", self.histories_csv()?)?;
        let figures = self.save_figures(dir)?;
        for (name, table) in &self.tables {
            write(&format!("{name}.txt"), table.to_text())?;
        }
        let summary = json!({
            "experiment": self.name,
            "settings": self.settings.iter().cloned().collect::<BTreeMap<_, _>>(),
            "metrics": self.metrics.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "figures": figures,
            "versions": versions(),
            "seconds": self.seconds,
            "seconds_total": seconds_total,
        });
        write("summary.json", serde_json::to_string_pretty(&summary)?)
    }

    /// All histories in one CSV table (a `run` column first).
    pub fn histories_csv(&self) -> Result<String> {
        let mut out = String::from("run,epoch,split,loss,accuracy,lr,seconds\n");
        for (run, h) in &self.histories {
            for r in &h.epochs {
                out.push_str(&format!(
                    "{run},{},{},{},{},{},{}\n",
                    r.epoch, r.split, r.loss, r.accuracy, r.lr, r.seconds
                ));
            }
        }
        Ok(out)
    }

    /// Writes every figure as SVG and PNG into `dir`.
    pub fn save_figures(&self, dir: &Path) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for (name, fig) in &self.figures {
            for ext in ["svg", "png"] {
                let path = dir.join(format!("{name}.{ext}"));
                fig.save(&path).with_context(|| format!("saving {}", path.display()))?;
                files.push(path.file_name().unwrap_or_default().to_string_lossy().into_owned());
            }
        }
        Ok(files)
    }

    /// Shows all figures inline (as one grid) — the cell's value in a notebook.
    pub fn evcxr_display(&self) {
        let figs: Vec<Figure> = self.figures.iter().map(|(_, f)| f.clone()).collect();
        if !figs.is_empty() {
            Figure::grid(figs, 2).evcxr_display();
        }
    }
}

/// `v` with 4 significant digits (no exponent between 0.001 and 10⁶).
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if (-3..6).contains(&magnitude) { format!("{v:.*}", (3 - magnitude).max(0) as usize) } else { format!("{v:.3e}") }
}

/// The item called `name` in a list of named items.
fn named<'a, T>(items: &'a [(String, T)], name: &str) -> Option<&'a T> {
    items.iter().find(|(n, _)| n == name).map(|(_, item)| item)
}

/// The versions a result depends on: tchlab, libtorch, the thread count.
fn versions() -> serde_json::Value {
    json!({
        "tchlab": env!("CARGO_PKG_VERSION"),
        "libtorch": crate::env::libtorch_version(),
        "threads": tch::get_num_threads(),
    })
}

/// Writes `summary.json` for runs of one experiment with several seeds (each metric's
/// mean, standard deviation, minimum, maximum and values) into `dir`, and returns the
/// same as text (`mean ± std` per metric).
///
/// ```
/// use tchlab::experiments::{Presentation, Report, results, save_seed_summary};
/// results! {
///     /// One number.
///     pub struct Results {
///         /// Accuracy (%).
///         acc: f64,
///     }
/// }
/// let run = |seed: u64, acc: f64| (seed, Report::assemble("demo", vec![], &Results { acc }, Presentation::default(), 0.0));
/// let dir = tempfile::tempdir().unwrap();
/// let text = save_seed_summary(&[run(1, 90.0), run(2, 92.0)], dir.path()).unwrap();
/// assert!(text.contains("acc") && text.contains("91.0000 ± 1.0000"), "{text}");
/// ```
pub fn save_seed_summary(reports: &[(u64, Report)], dir: &Path) -> Result<String> {
    let Some((_, first)) = reports.first() else { anyhow::bail!("no runs to summarise") };
    let mut metrics = serde_json::Map::new();
    for (name, _) in &first.metrics {
        let values: Vec<f64> = reports.iter().filter_map(|(_, r)| r.get(name)).collect();
        let (mean, std) = crate::metrics::mean_std(&values);
        let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        metrics.insert(name.clone(), json!({"mean": mean, "std": std, "min": min, "max": max, "values": values}));
    }
    let summary = json!({
        "experiment": first.name,
        "seeds": reports.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        "metrics": metrics,
        "versions": versions(),
    });
    let path = dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let mut text = format!("{} seeds: mean ± std\n", reports.len());
    for (k, v) in &metrics {
        let get = |f: &str| v[f].as_f64().unwrap_or(f64::NAN);
        text.push_str(&format!("  {k:<32} {:.4} ± {:.4}\n", get("mean"), get("std")));
    }
    Ok(text)
}
