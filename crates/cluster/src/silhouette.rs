//! Silhouette coefficients, and choosing k by them.

use std::ops::RangeInclusive;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{ClusterError, Result, invalid};
use crate::kmeans::{KMeans, KMeansConfig, KMeansModel};
use crate::matrix::{Matrix, Scalar, squared_distance};

/// The silhouette of each row: `(b − a) / max(a, b)`, with `a` the mean distance to the
/// other rows of its cluster and `b` the smallest mean distance to another cluster's
/// rows; 0 for a row alone in its cluster (scikit-learn's convention). Exact: O(n²).
pub fn silhouette_samples<T: Scalar>(data: &Matrix<T>, labels: &[usize]) -> Result<Vec<f64>> {
    if labels.len() != data.rows() {
        return Err(ClusterError::ShapeMismatch(format!(
            "{} labels for {} rows",
            labels.len(),
            data.rows()
        )));
    }
    let clusters = labels.iter().max().map_or(0, |max| max + 1);
    let mut sizes = vec![0usize; clusters];
    for &label in labels {
        sizes[label] += 1;
    }
    let used = sizes.iter().filter(|&&size| size > 0).count();
    if used < 2 || used >= data.rows() {
        return Err(invalid(
            "number of clusters",
            format!("between 2 and {} (rows − 1) for a silhouette", data.rows().saturating_sub(1)),
            used,
        ));
    }
    Ok((0..data.rows())
        .into_par_iter()
        .map(|index| {
            let own = labels[index];
            if sizes[own] == 1 {
                return 0.0;
            }
            let mut sums = vec![0.0; clusters];
            let row = data.row(index);
            for (other, &label) in labels.iter().enumerate() {
                sums[label] +=
                    squared_distance(row, data.row(other)).to_f64().unwrap_or(0.0).sqrt();
            }
            let within = sums[own] / (sizes[own] - 1) as f64;
            let nearest_other = (0..clusters)
                .filter(|&cluster| cluster != own && sizes[cluster] > 0)
                .map(|cluster| sums[cluster] / sizes[cluster] as f64)
                .fold(f64::INFINITY, f64::min);
            let larger = within.max(nearest_other);
            if larger > 0.0 { (nearest_other - within) / larger } else { 0.0 }
        })
        .collect())
}

/// The mean silhouette of all rows (exact, O(n²)).
pub fn silhouette_score<T: Scalar>(data: &Matrix<T>, labels: &[usize]) -> Result<f64> {
    let samples = silhouette_samples(data, labels)?;
    Ok(samples.iter().sum::<f64>() / samples.len() as f64)
}

/// The mean silhouette of `sample_size` rows drawn without replacement, measured among
/// those rows only (scikit-learn's `silhouette_score(sample_size=…)`); exact when
/// `sample_size` covers the data. O(sample_size²).
pub fn silhouette_score_sampled<T: Scalar>(
    data: &Matrix<T>,
    labels: &[usize],
    sample_size: usize,
    seed: u64,
) -> Result<f64> {
    if sample_size >= data.rows() {
        return silhouette_score(data, labels);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut indices = rand::seq::index::sample(&mut rng, data.rows(), sample_size).into_vec();
    indices.sort_unstable();
    let sample_labels: Vec<usize> = indices.iter().map(|&index| labels[index]).collect();
    silhouette_score(&data.select_rows(&indices), &sample_labels)
}

/// One k tried by [`choose_k`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KCandidate {
    /// Number of clusters.
    pub k: usize,
    /// The fit's inertia.
    pub inertia: f64,
    /// Its (sampled) mean silhouette.
    pub silhouette: f64,
}

/// The outcome of [`choose_k`]: every k tried, and the model of the best.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenK<T> {
    /// Every k tried, in order.
    pub candidates: Vec<KCandidate>,
    /// The k with the highest silhouette (the smaller k on ties).
    pub best_k: usize,
    /// The model fitted with `best_k`.
    pub model: KMeansModel<T>,
}

/// Fits K-Means for every k in `ks` (with `config`'s other settings) and keeps the one
/// with the highest mean silhouette, measured on `silhouette_sample` rows.
pub fn choose_k<T: Scalar>(
    data: &Matrix<T>,
    ks: RangeInclusive<usize>,
    config: &KMeansConfig,
    silhouette_sample: usize,
) -> Result<ChosenK<T>> {
    if *ks.start() < 2 || ks.is_empty() {
        return Err(invalid("k range", "non-empty and starting at 2 or more", format!("{ks:?}")));
    }
    let mut candidates = Vec::new();
    let mut best: Option<(f64, usize, KMeansModel<T>)> = None;
    for k in ks {
        let model = KMeans::fit(data, &KMeansConfig { k, ..*config })?;
        let silhouette =
            silhouette_score_sampled(data, &model.labels, silhouette_sample, config.seed)?;
        candidates.push(KCandidate { k, inertia: model.inertia, silhouette });
        if best.as_ref().is_none_or(|(score, _, _)| silhouette > *score) {
            best = Some((silhouette, k, model));
        }
    }
    let (_, best_k, model) = best.ok_or_else(|| ClusterError::Internal("no k was tried".into()))?;
    Ok(ChosenK { candidates, best_k, model })
}
