//! Per-feature means and standard deviations, for standardising data before clustering
//! and for describing clusters against the population.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::matrix::{Matrix, Scalar};

/// The population's mean and (population) standard deviation of each feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Mean of each column.
    pub means: Vec<f64>,
    /// Standard deviation of each column (divisor n).
    pub std_devs: Vec<f64>,
}

impl FeatureStats {
    /// The statistics of `data`'s columns.
    pub fn of<T: Scalar>(data: &Matrix<T>) -> Self {
        let rows = data.rows().max(1) as f64;
        let means: Vec<f64> =
            column_sums(data, |_, value| value).into_iter().map(|sum| sum / rows).collect();
        let std_devs = column_sums(data, |column, value| (value - means[column]).powi(2))
            .into_iter()
            .map(|square| (square / rows).sqrt())
            .collect();
        FeatureStats { means, std_devs }
    }

    /// How many standard deviations `value` lies from feature `column`'s mean (0 for a
    /// constant feature, including one that varies only by rounding, below 1e-9 of its
    /// mean's magnitude).
    pub fn z_score(&self, column: usize, value: f64) -> f64 {
        let std_dev = self.std_devs[column];
        let rounding = 1e-9 * self.means[column].abs().max(1.0);
        if std_dev > rounding { (value - self.means[column]) / std_dev } else { 0.0 }
    }

    /// `data` with every column centred and scaled to unit variance (constant columns
    /// only centred).
    pub fn standardize<T: Scalar>(&self, data: &Matrix<T>) -> Matrix<T> {
        let values = data
            .iter_rows()
            .flat_map(|row| {
                row.iter().enumerate().map(|(column, value)| {
                    let z = self.z_score(column, value.to_f64().unwrap_or(0.0));
                    T::from(z).unwrap_or_else(T::zero)
                })
            })
            .collect();
        Matrix::from_parts(values, data.rows(), data.columns())
    }

    /// The inverse of [`FeatureStats::standardize`] for one row (a centroid, say).
    pub fn unstandardize_row(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(column, z)| {
                let std_dev = if self.std_devs[column] > 0.0 { self.std_devs[column] } else { 1.0 };
                self.means[column] + z * std_dev
            })
            .collect()
    }
}

/// Element-wise sum, for reducing per-task partial sums.
pub(crate) fn add_vectors(mut left: Vec<f64>, right: Vec<f64>) -> Vec<f64> {
    add_into(&mut left, &right);
    left
}

/// `total += part`, element by element.
pub(crate) fn add_into(total: &mut [f64], part: &[f64]) {
    total.iter_mut().zip(part).for_each(|(total, part)| *total += part);
}

/// Per-column sums of `f(column, value)`, in f64.
pub(crate) fn column_sums<T: Scalar>(
    data: &Matrix<T>,
    f: impl Fn(usize, f64) -> f64 + Sync,
) -> Vec<f64> {
    let columns = data.columns();
    data.as_slice()
        .par_chunks(4096 * columns)
        .map(|chunk| {
            let mut sums = vec![0.0; columns];
            for row in chunk.chunks_exact(columns) {
                for (column, value) in row.iter().enumerate() {
                    sums[column] += f(column, value.to_f64().unwrap_or(0.0));
                }
            }
            sums
        })
        .reduce(|| vec![0.0; columns], add_vectors)
}
