//! Preprocessing fitted on training rows and saved inside the model, so that
//! scoring transforms new rows exactly as training did: imputation,
//! categorical encoding, scaling and feature selection.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{ModelsError, Result};

/// A dense row-major matrix of model inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, values: vec![0.0; rows * cols] }
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.cols + j]
    }

    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.get(i, j)).collect()
    }

    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut values = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Matrix { rows: indices.len(), cols: self.cols, values }
    }
}

/// How numeric inputs are rescaled (after imputation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    None,
    /// (x − mean) / standard deviation.
    Standard,
    /// (x − min) / (max − min), into [0, 1] on the training rows.
    MinMax,
    /// (x − median) / interquartile range: insensitive to outliers.
    Robust,
}

/// How categorical columns become numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalEncoding {
    /// One 0/1 column per level seen at least `min_level_count` times; rarer
    /// and unseen levels and missing values get all zeros.
    OneHot,
    /// One column: the level's rank by (smoothed) training positive rate, so a
    /// tree can group similar levels with one split. Unseen levels get the
    /// overall rate's rank.
    Ordinal,
}

/// Which encoded features to keep, applied in this order on the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSelection {
    /// Drop features whose variance (before scaling) is at most this; 0 drops constants.
    pub min_variance: f64,
    /// Of two features correlated above this (absolute Pearson), drop the later one.
    pub max_abs_correlation: Option<f64>,
    /// Keep only this many features with the highest mutual information with the target.
    pub top_k_mutual_information: Option<usize>,
}

impl Default for FeatureSelection {
    fn default() -> Self {
        FeatureSelection {
            min_variance: 0.0,
            max_abs_correlation: None,
            top_k_mutual_information: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    pub scaling: Scaling,
    pub categorical: CategoricalEncoding,
    /// Levels rarer than this in the training rows are not given a one-hot column.
    pub min_level_count: usize,
    pub selection: FeatureSelection,
}

/// One input column's fitted transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Encoder {
    Numeric {
        column: String,
        #[serde(with = "crate::exact_float")]
        fill: f64,
    },
    OneHot {
        column: String,
        levels: Vec<String>,
    },
    Ordinal {
        column: String,
        ranks: HashMap<String, f64>,
        unseen: f64,
    },
}

/// The fitted preprocessing: apply it with `transform`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub config: PreprocessConfig,
    encoders: Vec<Encoder>,
    /// Encoded features kept after selection, as indices into the encoded columns.
    kept: Vec<usize>,
    /// Names of the kept features (`Month=Nov` for a one-hot column).
    pub feature_names: Vec<String>,
    /// Per kept feature: subtract `center`, divide by `scale`.
    #[serde(with = "crate::exact_float::vec")]
    center: Vec<f64>,
    #[serde(with = "crate::exact_float::vec")]
    scale: Vec<f64>,
}

fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q` quantile (linear interpolation) of the finite values; 0 if none.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return 0.0;
    }
    finite.sort_by(f64::total_cmp);
    let position = q * (finite.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    finite[low] + (finite[high] - finite[low]) * (position - low as f64)
}

fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, variance)
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (mean_a, var_a) = mean_and_variance(a);
    let (mean_b, var_b) = mean_and_variance(b);
    if var_a <= 0.0 || var_b <= 0.0 {
        return 0.0;
    }
    let covariance =
        a.iter().zip(b).map(|(x, y)| (x - mean_a) * (y - mean_b)).sum::<f64>() / a.len() as f64;
    covariance / (var_a * var_b).sqrt()
}

/// Mutual information (nats) between a feature cut into up to 10 quantile
/// bins and a 0/1 target.
pub fn mutual_information(feature: &[f64], target: &[f64]) -> f64 {
    let mut sorted = feature.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> =
        (1..10).map(|k| sorted[(k * (sorted.len() - 1)) / 10]).collect::<Vec<f64>>();
    edges.dedup();
    let bins = edges.len() + 1;
    let mut counts = vec![[0.0f64; 2]; bins];
    for (x, y) in feature.iter().zip(target) {
        let bin = edges.partition_point(|edge| edge < x);
        counts[bin][usize::from(*y > 0.5)] += 1.0;
    }
    let n = feature.len() as f64;
    let positives: f64 = counts.iter().map(|c| c[1]).sum();
    let class_totals = [n - positives, positives];
    let mut information = 0.0;
    for bin in &counts {
        let bin_total = bin[0] + bin[1];
        for class in 0..2 {
            if bin[class] > 0.0 {
                let joint = bin[class] / n;
                information += joint * (joint / ((bin_total / n) * (class_totals[class] / n))).ln();
            }
        }
    }
    information
}

impl Encoder {
    fn width(&self) -> usize {
        match self {
            Encoder::OneHot { levels, .. } => levels.len(),
            _ => 1,
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            Encoder::Numeric { column, .. } | Encoder::Ordinal { column, .. } => {
                vec![column.clone()]
            }
            Encoder::OneHot { column, levels } => {
                levels.iter().map(|level| format!("{column}={level}")).collect()
            }
        }
    }

    fn column(&self) -> &str {
        match self {
            Encoder::Numeric { column, .. }
            | Encoder::OneHot { column, .. }
            | Encoder::Ordinal { column, .. } => column,
        }
    }
}

impl Preprocessor {
    /// Fits every step on `data` (its target is needed for ordinal encoding
    /// and mutual information).
    pub fn fit(data: &Dataset, config: &PreprocessConfig) -> Result<Preprocessor> {
        let target = data.target_or_error()?;
        let mut encoders = Vec::new();
        for spec in &data.columns {
            if let Some(column) = data.numeric.iter().find(|c| c.name == spec.name) {
                let fill = median(&mut column.values.clone());
                encoders.push(Encoder::Numeric { column: column.name.clone(), fill });
            } else if let Some(column) = data.categorical.iter().find(|c| c.name == spec.name) {
                let mut counts: HashMap<&str, (f64, f64)> = HashMap::new();
                for (value, y) in column.values.iter().zip(target) {
                    if let Some(value) = value {
                        let entry = counts.entry(value.as_str()).or_default();
                        entry.0 += 1.0;
                        entry.1 += y;
                    }
                }
                match config.categorical {
                    CategoricalEncoding::OneHot => {
                        let mut levels: Vec<String> = counts
                            .iter()
                            .filter(|(_, (n, _))| *n >= config.min_level_count as f64)
                            .map(|(level, _)| level.to_string())
                            .collect();
                        levels.sort();
                        encoders.push(Encoder::OneHot { column: column.name.clone(), levels });
                    }
                    CategoricalEncoding::Ordinal => {
                        // Smoothing towards the overall rate keeps rare levels
                        // from getting extreme ranks by chance.
                        let prior = target.iter().sum::<f64>() / target.len().max(1) as f64;
                        let smoothing = 20.0;
                        let mut rates: Vec<(String, f64)> = counts
                            .iter()
                            .map(|(level, (n, positives))| {
                                (
                                    level.to_string(),
                                    (positives + prior * smoothing) / (n + smoothing),
                                )
                            })
                            .collect();
                        rates.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                        let ranks: HashMap<String, f64> = rates
                            .iter()
                            .enumerate()
                            .map(|(rank, (level, _))| (level.clone(), rank as f64))
                            .collect();
                        let unseen = rates.partition_point(|(_, rate)| *rate < prior) as f64 - 0.5;
                        encoders.push(Encoder::Ordinal {
                            column: column.name.clone(),
                            ranks,
                            unseen,
                        });
                    }
                }
            } else {
                return Err(ModelsError::Internal(format!(
                    "schema column {:?} has no values",
                    spec.name
                )));
            }
        }
        let mut preprocessor = Preprocessor {
            config: config.clone(),
            feature_names: encoders.iter().flat_map(Encoder::names).collect(),
            kept: (0..encoders.iter().map(Encoder::width).sum()).collect(),
            encoders,
            center: Vec::new(),
            scale: Vec::new(),
        };
        let encoded = preprocessor.encode(data)?;
        preprocessor.select(&encoded, target);
        preprocessor.fit_scaling(&encoded);
        Ok(preprocessor)
    }

    fn select(&mut self, encoded: &Matrix, target: &[f64]) {
        let selection = &self.config.selection;
        let columns: Vec<Vec<f64>> = (0..encoded.cols).map(|j| encoded.column(j)).collect();
        let mut kept: Vec<usize> = (0..encoded.cols)
            .filter(|&j| mean_and_variance(&columns[j]).1 > selection.min_variance)
            .collect();
        if let Some(limit) = selection.max_abs_correlation {
            let mut chosen: Vec<usize> = Vec::new();
            for &j in &kept {
                if chosen.iter().all(|&k| pearson(&columns[j], &columns[k]).abs() <= limit) {
                    chosen.push(j);
                }
            }
            kept = chosen;
        }
        if let Some(top) = selection.top_k_mutual_information {
            let mut scored: Vec<(usize, f64)> =
                kept.iter().map(|&j| (j, mutual_information(&columns[j], target))).collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scored.truncate(top.max(1));
            kept = scored.into_iter().map(|(j, _)| j).collect();
            kept.sort_unstable();
        }
        let all_names: Vec<String> = self.encoders.iter().flat_map(Encoder::names).collect();
        self.feature_names = kept.iter().map(|&j| all_names[j].clone()).collect();
        self.kept = kept;
    }

    fn fit_scaling(&mut self, encoded: &Matrix) {
        let (center, scale): (Vec<f64>, Vec<f64>) = self
            .kept
            .iter()
            .map(|&j| {
                let mut column = encoded.column(j);
                let (center, spread) = match self.config.scaling {
                    Scaling::None => (0.0, 1.0),
                    Scaling::Standard => {
                        let (mean, variance) = mean_and_variance(&column);
                        (mean, variance.sqrt())
                    }
                    Scaling::MinMax => {
                        let min = column.iter().copied().fold(f64::INFINITY, f64::min);
                        let max = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        (min, max - min)
                    }
                    Scaling::Robust => {
                        let median = median(&mut column);
                        let iqr = quantile(&mut column, 0.75) - quantile(&mut column, 0.25);
                        (median, iqr)
                    }
                };
                // A zero spread (a constant kept with min_variance < 0, or an
                // IQR of 0 on a skewed column) must not divide by zero.
                (center, if spread > 1e-12 { spread } else { 1.0 })
            })
            .unzip();
        self.center = center;
        self.scale = scale;
    }

    /// Imputes and encodes every input column, before selection and scaling.
    fn encode(&self, data: &Dataset) -> Result<Matrix> {
        let width: usize = self.encoders.iter().map(Encoder::width).sum();
        let mut matrix = Matrix::zeros(data.rows(), width);
        let mut offset = 0;
        for encoder in &self.encoders {
            let name = encoder.column();
            let missing = || ModelsError::InvalidData(format!("the data has no column {name:?}"));
            match encoder {
                Encoder::Numeric { fill, .. } => {
                    let column =
                        data.numeric.iter().find(|c| c.name == name).ok_or_else(missing)?;
                    for (i, v) in column.values.iter().enumerate() {
                        matrix.values[i * width + offset] = if v.is_finite() { *v } else { *fill };
                    }
                }
                Encoder::OneHot { levels, .. } => {
                    let column =
                        data.categorical.iter().find(|c| c.name == name).ok_or_else(missing)?;
                    for (i, v) in column.values.iter().enumerate() {
                        if let Some(level) = v
                            && let Ok(k) = levels.binary_search(level)
                        {
                            matrix.values[i * width + offset + k] = 1.0;
                        }
                    }
                }
                Encoder::Ordinal { ranks, unseen, .. } => {
                    let column =
                        data.categorical.iter().find(|c| c.name == name).ok_or_else(missing)?;
                    for (i, v) in column.values.iter().enumerate() {
                        matrix.values[i * width + offset] = v
                            .as_ref()
                            .and_then(|level| ranks.get(level))
                            .copied()
                            .unwrap_or(*unseen);
                    }
                }
            }
            offset += encoder.width();
        }
        Ok(matrix)
    }

    /// The model input for `data`: encoded, selected and scaled.
    pub fn transform(&self, data: &Dataset) -> Result<Matrix> {
        let encoded = self.encode(data)?;
        let mut out = Matrix::zeros(data.rows(), self.kept.len());
        for i in 0..data.rows() {
            let row = encoded.row(i);
            for (k, &j) in self.kept.iter().enumerate() {
                out.values[i * out.cols + k] = (row[j] - self.center[k]) / self.scale[k];
            }
        }
        Ok(out)
    }

    /// For each kept feature, the input column it comes from.
    pub fn source_columns(&self) -> Vec<String> {
        let all: Vec<String> = self
            .encoders
            .iter()
            .flat_map(|e| std::iter::repeat_n(e.column().to_string(), e.width()))
            .collect();
        self.kept.iter().map(|&j| all[j].clone()).collect()
    }
}
