//! Principal component analysis down to two dimensions, for scatter charts.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Result, invalid};
use crate::matrix::{Matrix, Scalar};
use crate::scale::{FeatureStats, add_vectors};

/// Sweeps of the Jacobi eigenvalue method; it converges quadratically, so a covariance
/// matrix of a few dozen features needs well under ten.
const MAX_JACOBI_SWEEPS: usize = 64;

/// A projection onto the two leading principal components.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// Each row's coordinates on the two components.
    pub points: Vec<[f64; 2]>,
    /// The two unit-length components (loadings per feature), the larger first. Each is
    /// signed so that its largest-magnitude loading is positive, which makes the chart
    /// the same from run to run.
    pub components: [Vec<f64>; 2],
    /// Variance along each component.
    pub explained_variance: [f64; 2],
    /// Share of the total variance along each component.
    pub explained_variance_ratio: [f64; 2],
    /// The feature means subtracted before projecting.
    pub means: Vec<f64>,
}

impl Projection {
    /// Projects other rows (new users, centroids) with the same components.
    pub fn project(&self, row: &[f64]) -> [f64; 2] {
        let centred = |component: &[f64]| {
            row.iter().zip(&self.means).zip(component).map(|((v, m), c)| (v - m) * c).sum()
        };
        [centred(&self.components[0]), centred(&self.components[1])]
    }
}

/// Projects `data` (at least two rows, two columns) onto its two leading principal
/// components: the eigenvectors of the covariance matrix (divisor n − 1) with the largest
/// eigenvalues.
pub fn pca_2d<T: Scalar>(data: &Matrix<T>) -> Result<Projection> {
    let (rows, columns) = (data.rows(), data.columns());
    if rows < 2 || columns < 2 {
        return Err(invalid(
            "data shape",
            "at least 2 rows and 2 columns",
            format!("{rows}×{columns}"),
        ));
    }
    let means = FeatureStats::of(data).means;
    let covariance = covariance(data, &means);
    let (eigenvalues, eigenvectors) = symmetric_eigen(covariance, columns);
    let mut order: Vec<usize> = (0..columns).collect();
    order.sort_by(|&left, &right| eigenvalues[right].total_cmp(&eigenvalues[left]));
    let component = |rank: usize| {
        let index = order[rank];
        let mut vector: Vec<f64> =
            (0..columns).map(|row| eigenvectors[row * columns + index]).collect();
        let largest = vector
            .iter()
            .copied()
            .fold(0.0, |best: f64, value| if value.abs() > best.abs() { value } else { best });
        if largest < 0.0 {
            vector.iter_mut().for_each(|value| *value = -*value);
        }
        vector
    };
    let total: f64 = eigenvalues.iter().map(|value| value.max(0.0)).sum();
    let explained_variance = [eigenvalues[order[0]].max(0.0), eigenvalues[order[1]].max(0.0)];
    let ratio = |variance: f64| if total > 0.0 { variance / total } else { 0.0 };
    let mut projection = Projection {
        points: Vec::new(),
        components: [component(0), component(1)],
        explained_variance,
        explained_variance_ratio: [ratio(explained_variance[0]), ratio(explained_variance[1])],
        means,
    };
    projection.points = data
        .iter_rows()
        .map(|row| {
            let row: Vec<f64> = row.iter().map(|value| value.to_f64().unwrap_or(0.0)).collect();
            projection.project(&row)
        })
        .collect();
    Ok(projection)
}

/// The sample covariance matrix (columns × columns, row-major).
fn covariance<T: Scalar>(data: &Matrix<T>, means: &[f64]) -> Vec<f64> {
    let columns = data.columns();
    let sums = data
        .as_slice()
        .par_chunks(4096 * columns)
        .map(|chunk| {
            let mut sums = vec![0.0; columns * columns];
            let mut centred = vec![0.0; columns];
            for row in chunk.chunks_exact(columns) {
                for (column, value) in row.iter().enumerate() {
                    centred[column] = value.to_f64().unwrap_or(0.0) - means[column];
                }
                for i in 0..columns {
                    for j in i..columns {
                        sums[i * columns + j] += centred[i] * centred[j];
                    }
                }
            }
            sums
        })
        .reduce(|| vec![0.0; columns * columns], add_vectors);
    let divisor = (data.rows() - 1) as f64;
    let mut covariance = vec![0.0; columns * columns];
    for i in 0..columns {
        for j in i..columns {
            let value = sums[i * columns + j] / divisor;
            covariance[i * columns + j] = value;
            covariance[j * columns + i] = value;
        }
    }
    covariance
}

/// Eigenvalues and eigenvectors (as columns of a row-major n × n matrix) of a symmetric
/// matrix, by cyclic Jacobi rotations. Written here rather than pulling in a linear
/// algebra crate for one small symmetric eigenproblem.
fn symmetric_eigen(mut matrix: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut vectors = vec![0.0; n * n];
    for i in 0..n {
        vectors[i * n + i] = 1.0;
    }
    let scale: f64 = matrix.iter().map(|value| value * value).sum::<f64>().sqrt();
    for _ in 0..MAX_JACOBI_SWEEPS {
        let off_diagonal: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| matrix[i * n + j].powi(2))
            .sum::<f64>()
            .sqrt();
        if off_diagonal <= 1e-15 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = matrix[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (matrix[q * n + q] - matrix[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (matrix[k * n + p], matrix[k * n + q]);
                    matrix[k * n + p] = c * akp - s * akq;
                    matrix[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (matrix[p * n + k], matrix[q * n + k]);
                    matrix[p * n + k] = c * apk - s * aqk;
                    matrix[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (vectors[k * n + p], vectors[k * n + q]);
                    vectors[k * n + p] = c * vkp - s * vkq;
                    vectors[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let eigenvalues = (0..n).map(|i| matrix[i * n + i]).collect();
    (eigenvalues, vectors)
}
