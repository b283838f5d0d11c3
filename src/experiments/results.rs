//! What an experiment computes from its runs, as typed values. Each experiment declares
//! its `Results` with [`results!`](crate::experiments::results): a plain struct whose
//! fields a notebook reads (`results.best_epoch`, checked by the compiler), and whose
//! [`Metrics::metrics`] lists the same numbers by field name for the tools that need
//! names: the notebook runner (through [`Metrics::record`]), `summary.json` and the
//! `RESULT` lines of `tchlab run`.

use crate::display::Table;
use crate::plot::Figure;
use crate::train::History;

/// Results that list themselves as named numbers.
///
/// ```
/// use tchlab::experiments::Metrics;
/// struct Two { a: f64 }
/// impl Metrics for Two {
///     fn metrics(&self) -> Vec<(String, f64)> { vec![("a".into(), self.a)] }
/// }
/// assert_eq!(Two { a: 1.5 }.metrics(), vec![("a".to_string(), 1.5)]);
/// ```
pub trait Metrics {
    /// Every number, named, in the order of the fields.
    fn metrics(&self) -> Vec<(String, f64)>;

    /// The number called `name`, if the results have one (for code that only has a
    /// name, such as a target; code that has the struct reads its field).
    ///
    /// ```
    /// use tchlab::experiments::Metrics;
    /// struct One;
    /// impl Metrics for One { fn metrics(&self) -> Vec<(String, f64)> { vec![("x".into(), 2.0)] } }
    /// assert_eq!(One.metric("x"), Some(2.0));
    /// assert_eq!(One.metric("y"), None);
    /// ```
    fn metric(&self, name: &str) -> Option<f64> {
        self.metrics().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Hands every number to the notebook runner at full precision: invisible in a
    /// notebook, `RESULT name=value` lines elsewhere (see [`crate::display::results`];
    /// one call per cell).
    ///
    /// ```
    /// use tchlab::experiments::Metrics;
    /// struct One;
    /// impl Metrics for One { fn metrics(&self) -> Vec<(String, f64)> { vec![("x".into(), 2.0)] } }
    /// One.record(); // prints RESULT x=2
    /// ```
    fn record(&self) {
        crate::display::results(&self.metrics());
    }
}

/// No results: a report of figures only (`Report::assemble(name, settings, &(), …)`).
impl Metrics for () {
    fn metrics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// A field of a results struct: how it adds its numbers to the flat list under the
/// field's `name`. A number adds itself; `None` adds nothing; a list of runs adds each
/// run's numbers under names that the run's type chooses.
///
/// ```
/// use tchlab::experiments::MetricValue;
/// let mut out = Vec::new();
/// 3usize.push_metrics("best_width", &mut out);
/// None::<f64>.push_metrics("late_gain", &mut out);
/// assert_eq!(out, vec![("best_width".to_string(), 3.0)]);
/// ```
pub trait MetricValue {
    /// Appends this value's numbers, named after `name`, to `out`.
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>);
}

impl MetricValue for f64 {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        out.push((name.into(), *self));
    }
}

impl MetricValue for usize {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        out.push((name.into(), *self as f64));
    }
}

impl MetricValue for i64 {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        out.push((name.into(), *self as f64));
    }
}

impl<T: MetricValue> MetricValue for Option<T> {
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        if let Some(v) = self {
            v.push_metrics(name, out);
        }
    }
}

impl<T: MetricValue> MetricValue for Vec<T> {
    /// Each element adds its own numbers (a list of runs whose type names them).
    fn push_metrics(&self, name: &str, out: &mut Vec<(String, f64)>) {
        for v in self {
            v.push_metrics(name, out);
        }
    }
}

/// Declares an experiment's results: a struct with public, documented fields (each a
/// number, an `Option` of one, or a list of runs implementing [`MetricValue`]), and its
/// [`Metrics`], which names every number after its field.
///
/// ```
/// use tchlab::experiments::{Metrics, results};
/// results! {
///     /// Two numbers.
///     pub struct Results {
///         /// The best epoch.
///         best_epoch: usize,
///         /// Its loss.
///         best_loss: f64,
///     }
/// }
/// let r = Results { best_epoch: 7, best_loss: 0.25 };
/// assert_eq!(r.metrics(), vec![("best_epoch".to_string(), 7.0), ("best_loss".to_string(), 0.25)]);
/// ```
#[macro_export]
macro_rules! results {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::experiments::Metrics for $name {
            fn metrics(&self) -> Vec<(String, f64)> {
                let mut out = Vec::new();
                $($crate::experiments::MetricValue::push_metrics(&self.$field, stringify!($field), &mut out);)*
                out
            }
        }
    };
}

/// What an experiment draws from its runs and results: figures, tables and training
/// histories, each under the name its files get (`NAME.svg`, `NAME.txt`, the `run`
/// column of `history.csv`).
///
/// ```
/// use tchlab::experiments::Presentation;
/// let p = Presentation::default().figure("curve", tchlab::plot::Figure::lines("t", "x", "y", vec![]));
/// assert_eq!(p.figure_names(), vec!["curve"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Presentation {
    pub(crate) figures: Vec<(String, Figure)>,
    pub(crate) tables: Vec<(String, Table)>,
    pub(crate) histories: Vec<(String, History)>,
}

impl Presentation {
    /// Adds a figure.
    pub fn figure(mut self, name: &str, figure: Figure) -> Self {
        self.figures.push((name.into(), figure));
        self
    }

    /// Adds a table.
    ///
    /// ```
    /// use tchlab::{display::Table, experiments::Presentation};
    /// let p = Presentation::default().table("runs", Table::from_rows(&["a"], vec![]));
    /// assert_eq!(p.figure_names().len(), 0);
    /// ```
    pub fn table(mut self, name: &str, table: Table) -> Self {
        self.tables.push((name.into(), table));
        self
    }

    /// Adds a training history.
    ///
    /// ```
    /// use tchlab::experiments::Presentation;
    /// let p = Presentation::default().history("mlp", tchlab::train::History::default());
    /// assert_eq!(p.figure_names().len(), 0);
    /// ```
    pub fn history(mut self, name: &str, history: History) -> Self {
        self.histories.push((name.into(), history));
        self
    }

    /// The figures' names, in order.
    pub fn figure_names(&self) -> Vec<&str> {
        self.figures.iter().map(|(n, _)| n.as_str()).collect()
    }
}
