//! The lecture's XOR data (four Gaussian blobs) and a reader for numeric CSV files of
//! features plus a label column.

use std::path::Path;

use anyhow::Result;
#[cfg(feature = "polars")]
use anyhow::ensure;
use tch::Tensor;

#[cfg(feature = "polars")]
use super::custom::{column, label_values, read_csv_text, text_values};
use super::{Scaling, TensorDataset};
use crate::rng::Rng;

/// The XOR problem: four blobs near (±1, ±1); class 0 at (+,+) and (−,−), class 1 at
/// (−,+) and (+,−).
///
/// ```
/// let xor = tchlab::data::Xor::lecture();
/// assert_eq!(xor.labels.iter().filter(|&&l| l == 0).count(), 376);
/// ```
#[derive(Clone, Debug)]
pub struct Xor {
    /// Points `[n][2]`.
    pub points: Vec<[f32; 2]>,
    /// Labels 0/1.
    pub labels: Vec<i64>,
}

impl Xor {
    /// Generates `per_blob` points per blob (class 0 blobs, then class 1 blobs) with
    /// standard deviation `std`, from `seed`.
    pub fn generate(per_blob: [usize; 4], std: f64, seed: u64) -> Self {
        let centres = [([1.0, 1.0], 0), ([-1.0, -1.0], 0), ([-1.0, 1.0], 1), ([1.0, -1.0], 1)];
        let mut rng = Rng::new(seed);
        let (mut points, mut labels) = (Vec::new(), Vec::new());
        for ((c, label), n) in centres.iter().zip(per_blob) {
            for _ in 0..n {
                points.push([(c[0] + std * rng.normal()) as f32, (c[1] + std * rng.normal()) as f32]);
                labels.push(*label);
            }
        }
        // Interleave so that files and minibatches mix the classes.
        let mut order: Vec<usize> = (0..points.len()).collect();
        rng.shuffle(&mut order);
        Xor { points: order.iter().map(|&i| points[i]).collect(), labels: order.iter().map(|&i| labels[i]).collect() }
    }

    /// The lecture's set: 750 points (376 class 0, 374 class 1), std 0.35, seed 123.
    pub fn lecture() -> Self {
        Xor::generate([188, 188, 187, 187], 0.35, 123)
    }

    /// As a dataset (inputs `[n, 2]` `f32`).
    pub fn dataset(&self) -> TensorDataset {
        let flat: Vec<f32> = self.points.iter().flatten().copied().collect();
        TensorDataset::new(Tensor::from_slice(&flat).reshape([-1, 2]), Tensor::from_slice(&self.labels), Scaling::None)
            .expect("points and labels have the same length")
            .with_classes(vec!["0".into(), "1".into()])
    }

    /// Writes `x1,x2,class label` rows.
    pub fn save_csv(&self, path: &Path) -> Result<()> {
        let mut s = String::from("x1,x2,class label\n");
        for (p, l) in self.points.iter().zip(&self.labels) {
            s.push_str(&format!("{:.6},{:.6},{l}\n", p[0], p[1]));
        }
        crate::output::write_file_atomic(path, s.as_bytes())
    }
}

/// A CSV of numeric feature columns and one integer label column, read with polars
/// (feature `polars`, on by default).
///
/// ```no_run
/// let data = tchlab::data::NumericCsv::read("data/xor.csv".as_ref(), "class label").unwrap();
/// assert_eq!(data.features, vec!["x1", "x2"]);
/// ```
#[cfg(feature = "polars")]
#[derive(Debug)]
pub struct NumericCsv {
    /// Feature column names.
    pub features: Vec<String>,
    /// The dataset (inputs `[n, features]`).
    pub dataset: TensorDataset,
}

#[cfg(feature = "polars")]
impl NumericCsv {
    /// Reads `path`; every column except `label` is a feature. The file is read as
    /// text and each value parsed strictly: features must be finite numbers, labels
    /// whole numbers from 0 (`1.5`, `true` or `-1` is an error naming the row).
    pub fn read(path: &Path, label: &str) -> Result<Self> {
        let df = read_csv_text(path)?;
        let labels = label_values(column(&df, label, path)?, path, None)?;
        let features: Vec<String> =
            df.get_column_names().iter().map(|s| s.to_string()).filter(|s| s != label).collect();
        ensure!(!features.is_empty(), "{} has no feature columns besides `{label}`", path.display());
        ensure!(!labels.is_empty(), "{} has no rows: the dataset is empty", path.display());
        let mut columns = Vec::new();
        for name in &features {
            let values: Vec<f32> = text_values(column(&df, name, path)?, path)?
                .iter()
                .enumerate()
                .map(|(row, v)| {
                    feature_value(v.as_deref())
                        .map_err(|why| anyhow::anyhow!("{} row {}, column `{name}`: {why}", path.display(), row + 1))
                })
                .collect::<Result<_>>()?;
            columns.push(Tensor::from_slice(&values));
        }
        let inputs = Tensor::stack(&columns, 1);
        Ok(NumericCsv { features, dataset: TensorDataset::new(inputs, Tensor::from_slice(&labels), Scaling::None)? })
    }
}

/// Parses one feature value: a finite number, surrounding spaces allowed.
#[cfg(feature = "polars")]
fn feature_value(raw: Option<&str>) -> std::result::Result<f32, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err("the value is empty: every feature needs a number".into());
    };
    match text.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("`{text}` is not a finite number: replace it with a number")),
        Err(_) => Err(format!("`{text}` is not a number: features must be numbers; fix the row")),
    }
}
