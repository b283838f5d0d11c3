//! `key=value` settings of an experiment, with typed getters that reject unknown keys.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Result, bail};

/// Settings given as `key=value` (`tchlab run … --set lr=0.05`).
///
/// ```
/// use tchlab::experiments::Params;
/// let p = Params::parse(&["lr=0.05".to_string(), "epochs=3".to_string()]).unwrap();
/// assert_eq!(p.get("lr", 0.1).unwrap(), 0.05);
/// assert_eq!(p.get("batch", 100usize).unwrap(), 100);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, String>,
    used: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl Params {
    /// Parses `key=value` items.
    pub fn parse(items: &[String]) -> Result<Self> {
        let mut p = Params::default();
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                bail!("setting `{item}` is not key=value (e.g. --set lr=0.05)");
            };
            p.set(k.trim(), v.trim());
        }
        Ok(p)
    }

    /// Sets a value.
    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.values.insert(key.to_string(), value.to_string());
    }

    /// Whether `key` was given.
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The value of `key` parsed as `T`, or `default`.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> Result<T> {
        self.used.borrow_mut().insert(key.to_string());
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| anyhow::anyhow!("setting {key}={v}: not a valid {}", std::any::type_name::<T>()))
            }
        }
    }

    /// The value of `key` as text, or `default`.
    pub fn text(&self, key: &str, default: &str) -> String {
        self.used.borrow_mut().insert(key.to_string());
        self.values.get(key).cloned().unwrap_or_else(|| default.to_string())
    }

    /// Fails on keys that no getter asked for (a typo in `--set`).
    pub fn check_all_used(&self, experiment: &str, known: &[String]) -> Result<()> {
        let used = self.used.borrow();
        for k in self.values.keys() {
            if !used.contains(k) {
                bail!("unknown setting `{k}` for {experiment}; its settings are: {}", known.join(", "));
            }
        }
        Ok(())
    }

    /// The settings as `(key, value)` pairs.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// A comma-separated list of numbers as one setting (`hidden=256,256`; empty: none).
///
/// ```
/// let s: tchlab::experiments::List<i64> = "256,256".parse().unwrap();
/// assert_eq!(s.0, vec![256, 256]);
/// assert_eq!(s.to_string(), "256,256");
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct List<T>(pub Vec<T>);

impl<T: FromStr> FromStr for List<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().map_err(|_| format!("`{x}` is not valid")))
            .collect::<Result<Vec<T>, String>>()
            .map(List)
    }
}

impl<T: std::fmt::Display> std::fmt::Display for List<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|x| x.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

/// Declares an experiment's settings: the struct, `lecture()` with the defaults,
/// `from_params` (defaults overridden by `key=value`, unknown keys rejected) and
/// `to_params`.
macro_rules! settings {
    ($(#[$meta:meta])* $name:literal, pub struct Config { $($(#[$fmeta:meta])* $field:ident : $ty:ty = $default:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct Config {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Config {
            /// The experiment's name (`tchlab run NAME`).
            pub const NAME: &'static str = $name;

            /// The report of a run with these settings that started at `started`:
            /// `results` as named numbers and `presentation`'s figures, tables and
            /// histories (what `tchlab run` saves; see [`Report::assemble`]).
            ///
            /// [`Report::assemble`]: $crate::experiments::Report::assemble
            pub fn report(
                &self,
                results: &impl $crate::experiments::Metrics,
                presentation: $crate::experiments::Presentation,
                started: std::time::Instant,
            ) -> $crate::experiments::Report {
                $crate::experiments::Report::assemble(
                    $name,
                    self.to_params().entries(),
                    results,
                    presentation,
                    started.elapsed().as_secs_f64(),
                )
            }

            /// The lecture's settings.
            pub fn lecture() -> Self {
                Config { $($field: $default,)* }
            }

            /// The lecture's settings with `key=value` overrides; unknown keys are errors.
            pub fn from_params(p: &$crate::experiments::Params) -> anyhow::Result<Self> {
                let base = if p.text("profile", "lecture") == "ci" { Self::ci() } else { Self::lecture() };
                let c = Config { $($field: p.get(stringify!($field), base.$field.clone())?,)* };
                let mut known: Vec<String> = vec![$(stringify!($field).to_string(),)*];
                known.push("profile".into());
                p.check_all_used($name, &known)?;
                Ok(c)
            }

            /// The settings as `key=value`.
            pub fn to_params(&self) -> $crate::experiments::Params {
                let mut p = $crate::experiments::Params::default();
                $(p.set(stringify!($field), &self.$field);)*
                p
            }

            /// The CI settings when `TCHLAB_CI` is set, else the lecture's.
            pub fn from_env() -> Self {
                if $crate::env::ci() { Self::ci() } else { Self::lecture() }
            }
        }
    };
}
pub(crate) use settings;
