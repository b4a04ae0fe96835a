//! DBSCAN, and its `eps` from the knee of the sorted k-distance curve.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::matrix::{Matrix, Scalar, squared_distance};

/// DBSCAN's two parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DbscanConfig {
    /// Neighbourhood radius (Euclidean).
    pub eps: f64,
    /// Rows within `eps` (the row itself included) that make a row a core row.
    pub min_points: usize,
}

/// A DBSCAN clustering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbscanModel {
    /// The cluster of each row; `None` for noise.
    pub labels: Vec<Option<usize>>,
    /// Whether each row is a core row.
    pub core: Vec<bool>,
    /// Number of clusters.
    pub clusters: usize,
    /// Rows labelled noise.
    pub noise: usize,
}

/// Density-based clustering (Ester et al. 1996).
#[derive(Debug, Clone, Copy)]
pub struct Dbscan;

impl Dbscan {
    /// Clusters the rows of `data`. Neighbourhoods are found by brute force in parallel,
    /// O(n²) distances, so this is meant for up to some tens of thousands of rows (a
    /// sample of a larger population).
    pub fn fit<T: Scalar>(data: &Matrix<T>, config: &DbscanConfig) -> Result<DbscanModel> {
        if !(config.eps.is_finite() && config.eps >= 0.0) {
            return Err(invalid("eps", "finite and non-negative", config.eps));
        }
        if config.min_points == 0 {
            return Err(invalid("min_points", "at least 1", config.min_points));
        }
        let radius = config.eps * config.eps;
        let neighbourhoods: Vec<Vec<usize>> = (0..data.rows())
            .into_par_iter()
            .map(|index| {
                let row = data.row(index);
                (0..data.rows())
                    .filter(|&other| {
                        squared_distance(row, data.row(other)).to_f64().unwrap_or(f64::INFINITY)
                            <= radius
                    })
                    .collect()
            })
            .collect();
        let core: Vec<bool> =
            neighbourhoods.iter().map(|neighbours| neighbours.len() >= config.min_points).collect();
        let mut labels: Vec<Option<usize>> = vec![None; data.rows()];
        let mut clusters = 0;
        let mut frontier = Vec::new();
        for start in 0..data.rows() {
            if !core[start] || labels[start].is_some() {
                continue;
            }
            labels[start] = Some(clusters);
            frontier.push(start);
            while let Some(index) = frontier.pop() {
                for &neighbour in &neighbourhoods[index] {
                    if labels[neighbour].is_none() {
                        labels[neighbour] = Some(clusters);
                        // Border rows join the cluster but do not extend it.
                        if core[neighbour] {
                            frontier.push(neighbour);
                        }
                    }
                }
            }
            clusters += 1;
        }
        let noise = labels.iter().filter(|label| label.is_none()).count();
        Ok(DbscanModel { labels, core, clusters, noise })
    }
}

impl DbscanModel {
    /// Labels rows that were not clustered (the rest of a population fitted on a
    /// sample): a row joins the cluster of its nearest core row of `fitted` (the data
    /// this model was fitted on) when that row lies within `eps`, and is noise
    /// otherwise, as a border row would be. Brute force: O(new rows × fitted rows).
    pub fn assign<T: Scalar>(
        &self,
        fitted: &Matrix<T>,
        eps: f64,
        rows: &Matrix<T>,
    ) -> Result<Vec<Option<usize>>> {
        if fitted.rows() != self.labels.len() || fitted.columns() != rows.columns() {
            return Err(crate::error::ClusterError::ShapeMismatch(format!(
                "the model has {} rows, the fitted data {}×{}, the new rows {} columns",
                self.labels.len(),
                fitted.rows(),
                fitted.columns(),
                rows.columns()
            )));
        }
        let core_rows: Vec<usize> = (0..fitted.rows()).filter(|&row| self.core[row]).collect();
        let radius = eps * eps;
        Ok((0..rows.rows())
            .into_par_iter()
            .map(|index| {
                let row = rows.row(index);
                let nearest = core_rows
                    .iter()
                    .map(|&core| {
                        let distance = squared_distance(row, fitted.row(core)).to_f64();
                        (distance.unwrap_or(f64::INFINITY), core)
                    })
                    .min_by(|left, right| left.0.total_cmp(&right.0));
                nearest
                    .filter(|(distance, _)| *distance <= radius)
                    .and_then(|(_, core)| self.labels[core])
            })
            .collect())
    }
}

/// For each row, the distance to its `k`-th nearest other row, sorted ascending: the
/// k-distance curve whose knee suggests `eps` for `min_points = k + 1`. Brute force,
/// O(n²).
pub fn k_distances<T: Scalar>(data: &Matrix<T>, k: usize) -> Result<Vec<f64>> {
    if k == 0 || k >= data.rows() {
        return Err(invalid(
            "k",
            format!("between 1 and {} (rows − 1)", data.rows().saturating_sub(1)),
            k,
        ));
    }
    let mut distances: Vec<f64> = (0..data.rows())
        .into_par_iter()
        .map(|index| {
            let row = data.row(index);
            let mut others: Vec<f64> = (0..data.rows())
                .filter(|&other| other != index)
                .map(|other| {
                    squared_distance(row, data.row(other)).to_f64().unwrap_or(f64::INFINITY)
                })
                .collect();
            let (_, kth, _) = others.select_nth_unstable_by(k - 1, f64::total_cmp);
            kth.sqrt()
        })
        .collect();
    distances.sort_by(f64::total_cmp);
    Ok(distances)
}

/// The index of the knee of an ascending, convex curve (a sorted k-distance curve): the
/// point farthest below the chord from its first to its last point, both axes scaled to
/// [0, 1] (the Kneedle rule). `None` for fewer than three points or a straight line.
pub fn kdistance_knee(curve: &[f64]) -> Option<usize> {
    let (&first, &last) = (curve.first()?, curve.last()?);
    if curve.len() < 3 || last <= first {
        return None;
    }
    let steps = (curve.len() - 1) as f64;
    let (index, gap) = curve
        .iter()
        .enumerate()
        .map(|(index, &value)| (index, index as f64 / steps - (value - first) / (last - first)))
        .max_by(|left, right| left.1.total_cmp(&right.1))?;
    (gap > 0.0).then_some(index)
}

/// `eps` for DBSCAN with `min_points`: the knee of the `(min_points − 1)`-distance curve.
pub fn suggest_eps<T: Scalar>(data: &Matrix<T>, min_points: usize) -> Result<f64> {
    let curve = k_distances(data, min_points.saturating_sub(1).max(1))?;
    let knee = kdistance_knee(&curve).unwrap_or(curve.len() - 1);
    Ok(curve[knee])
}
