//! K-Means: greedy k-means++ seeding and Lloyd iterations, both parallel with rayon.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result, invalid};
use crate::matrix::{Matrix, Scalar, squared_distance};
use crate::scale::{FeatureStats, add_vectors};

/// Rows handled by one rayon task: big enough to amortise the per-task partial sums
/// (k × columns values), small enough to balance across cores.
const ROWS_PER_TASK: usize = 2048;

/// How to fit K-Means. The defaults are scikit-learn's for `init='k-means++'`
/// except `tolerance`, which is 0 (iterate until no label changes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KMeansConfig {
    /// Number of clusters.
    pub k: usize,
    /// Independent k-means++ seedings, each followed by Lloyd iterations; the run with
    /// the lowest inertia wins (scikit-learn's `n_init`).
    pub init_runs: usize,
    /// Most Lloyd iterations per run (`max_iter`).
    pub max_iterations: usize,
    /// Stop when the centroids moved less than this, in squared distance summed over
    /// centroids and relative to the data's mean per-feature variance (`tol`). With 0,
    /// a run stops only when no label changes or at `max_iterations`.
    pub tolerance: f64,
    /// Seed of the seeding (run i uses `seed + i`). The same seed on the same thread
    /// count gives the same model; other thread counts add partial sums in another
    /// order, which can change the last bits.
    pub seed: u64,
}

impl KMeansConfig {
    /// `k` clusters, one run, at most 300 iterations, tolerance 0, seed 0.
    pub fn new(k: usize) -> Self {
        KMeansConfig { k, init_runs: 1, max_iterations: 300, tolerance: 0.0, seed: 0 }
    }
}

/// A fitted K-Means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel<T> {
    /// One row per cluster.
    pub centroids: Matrix<T>,
    /// The cluster of each training row.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the rows to their centroids.
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub iterations: usize,
}

/// K-Means clustering.
#[derive(Debug, Clone, Copy)]
pub struct KMeans;

impl KMeans {
    /// Fits `config.k` clusters to the rows of `data`.
    ///
    /// Runs on the current rayon pool; call it inside `ThreadPool::install` to choose
    /// the thread count.
    pub fn fit<T: Scalar>(data: &Matrix<T>, config: &KMeansConfig) -> Result<KMeansModel<T>> {
        if config.k == 0 || config.k > data.rows() {
            return Err(invalid("k", format!("between 1 and the {} rows", data.rows()), config.k));
        }
        if config.init_runs == 0 {
            return Err(invalid("init_runs", "at least 1", config.init_runs));
        }
        if !(config.tolerance.is_finite() && config.tolerance >= 0.0) {
            return Err(invalid("tolerance", "finite and non-negative", config.tolerance));
        }
        let shift_tolerance = if config.tolerance > 0.0 {
            config.tolerance * mean_feature_variance(data)
        } else {
            0.0
        };
        let mut best: Option<KMeansModel<T>> = None;
        for run in 0..config.init_runs {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed.wrapping_add(run as u64));
            let seeds = kmeans_plus_plus(data, config.k, &mut rng);
            let model = lloyd(data, seeds, config.max_iterations, shift_tolerance);
            if best.as_ref().is_none_or(|best| model.inertia < best.inertia) {
                best = Some(model);
            }
        }
        best.ok_or_else(|| ClusterError::Internal("no K-Means run finished".into()))
    }
}

impl<T: Scalar> KMeansModel<T> {
    /// The nearest centroid of each row of `data`.
    pub fn predict(&self, data: &Matrix<T>) -> Result<Vec<usize>> {
        if data.columns() != self.centroids.columns() {
            return Err(ClusterError::ShapeMismatch(format!(
                "data has {} columns, the centroids {}",
                data.columns(),
                self.centroids.columns()
            )));
        }
        let centroids = Centroids::new(&self.centroids);
        let mut labels = vec![0; data.rows()];
        labels.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(task, labels)| {
            let first = task * ROWS_PER_TASK;
            let mut scores = vec![T::zero(); centroids.k];
            for (offset, label) in labels.iter_mut().enumerate() {
                *label = centroids.nearest(data.row(first + offset), &mut scores);
            }
        });
        Ok(labels)
    }
}

/// The mean of the per-feature variances, which scales `tolerance` like scikit-learn.
fn mean_feature_variance<T: Scalar>(data: &Matrix<T>) -> f64 {
    let std_devs = FeatureStats::of(data).std_devs;
    std_devs.iter().map(|std_dev| std_dev * std_dev).sum::<f64>() / std_devs.len() as f64
}

/// Centroids laid out for the nearest-centroid search: transposed (feature-major), so
/// that the inner loop runs over centroids with one independent accumulator each and
/// vectorises, and with their squared norms, so that `‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c`
/// needs only the dot products (the argmin does not need `‖x‖²`).
struct Centroids<T> {
    k: usize,
    transposed: Vec<T>,
    squared_norms: Vec<T>,
}

impl<T: Scalar> Centroids<T> {
    fn new(centroids: &Matrix<T>) -> Self {
        let (k, columns) = (centroids.rows(), centroids.columns());
        let mut transposed = vec![T::zero(); k * columns];
        for cluster in 0..k {
            for (column, &value) in centroids.row(cluster).iter().enumerate() {
                transposed[column * k + cluster] = value;
            }
        }
        let squared_norms =
            centroids.iter_rows().map(|row| row.iter().map(|&v| v * v).sum()).collect();
        Centroids { k, transposed, squared_norms }
    }

    /// The index of the centroid nearest to `row`; `scores` is scratch of length k.
    fn nearest(&self, row: &[T], scores: &mut [T]) -> usize {
        scores.copy_from_slice(&self.squared_norms);
        let minus_two = -(T::one() + T::one());
        for (&value, centroid_values) in row.iter().zip(self.transposed.chunks_exact(self.k)) {
            let scaled = value * minus_two;
            for (score, &centroid_value) in scores.iter_mut().zip(centroid_values) {
                *score += scaled * centroid_value;
            }
        }
        let mut nearest = 0;
        for (cluster, &score) in scores.iter().enumerate().skip(1) {
            if score < scores[nearest] {
                nearest = cluster;
            }
        }
        nearest
    }
}

/// scikit-learn's greedy k-means++: each new centroid is the best, by the resulting
/// potential (sum of squared distances to the nearest centroid), of `2 + ⌊ln k⌋`
/// candidates drawn with probability proportional to that squared distance.
fn kmeans_plus_plus<T: Scalar>(data: &Matrix<T>, k: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<T> {
    let rows = data.rows();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.random_range(0..rows);
    let mut centroids: Vec<T> = data.row(first).to_vec();
    let mut closest: Vec<f64> = (0..rows)
        .into_par_iter()
        .map(|row| to_f64(squared_distance(data.row(row), data.row(first))))
        .collect();
    let mut cumulative = vec![0.0; rows];
    for _ in 1..k {
        let mut running = 0.0;
        for (sum, &distance) in cumulative.iter_mut().zip(&closest) {
            running += distance;
            *sum = running;
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.random::<f64>() * running;
                cumulative.partition_point(|&sum| sum <= target).min(rows - 1)
            })
            .collect();
        let potentials = closest
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(task, closest)| {
                let first_row = task * ROWS_PER_TASK;
                let mut potentials = vec![0.0; candidates.len()];
                for (offset, &current) in closest.iter().enumerate() {
                    let row = data.row(first_row + offset);
                    for (potential, &candidate) in potentials.iter_mut().zip(&candidates) {
                        *potential +=
                            current.min(to_f64(squared_distance(row, data.row(candidate))));
                    }
                }
                potentials
            })
            .reduce(|| vec![0.0; candidates.len()], add_vectors);
        let best = (0..candidates.len())
            .min_by(|&left, &right| potentials[left].total_cmp(&potentials[right]))
            .unwrap_or(0);
        let chosen = data.row(candidates[best]);
        closest.par_iter_mut().enumerate().for_each(|(row, current)| {
            *current = current.min(to_f64(squared_distance(data.row(row), chosen)));
        });
        centroids.extend_from_slice(chosen);
    }
    centroids
}

fn to_f64<T: Scalar>(value: T) -> f64 {
    value.to_f64().unwrap_or(f64::INFINITY)
}

/// What one assignment pass over a block of rows found.
struct Assignment {
    sums: Vec<f64>,
    counts: Vec<usize>,
    inertia: f64,
    changed: usize,
    /// The row farthest from its centroid, for re-seeding empty clusters.
    farthest: (f64, usize),
}

impl Assignment {
    fn empty(k: usize, columns: usize) -> Self {
        Assignment {
            sums: vec![0.0; k * columns],
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
            farthest: (-1.0, 0),
        }
    }

    fn merge(mut self, other: Assignment) -> Assignment {
        self.sums = add_vectors(self.sums, other.sums);
        self.counts.iter_mut().zip(other.counts).for_each(|(l, r)| *l += r);
        self.inertia += other.inertia;
        self.changed += other.changed;
        if other.farthest.0 > self.farthest.0 {
            self.farthest = other.farthest;
        }
        self
    }
}

/// Assigns every row to its nearest centroid, updating `labels`, and sums the rows per
/// cluster for the next centroids.
fn assign<T: Scalar>(data: &Matrix<T>, centroids: &Matrix<T>, labels: &mut [usize]) -> Assignment {
    let (k, columns) = (centroids.rows(), centroids.columns());
    let layout = Centroids::new(centroids);
    labels
        .par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .map(|(task, labels)| {
            let first = task * ROWS_PER_TASK;
            let mut found = Assignment::empty(k, columns);
            let mut scores = vec![T::zero(); k];
            for (offset, label) in labels.iter_mut().enumerate() {
                let row = data.row(first + offset);
                let nearest = layout.nearest(row, &mut scores);
                if *label != nearest {
                    found.changed += 1;
                    *label = nearest;
                }
                let distance = to_f64(squared_distance(row, centroids.row(nearest)));
                found.inertia += distance;
                if distance > found.farthest.0 {
                    found.farthest = (distance, first + offset);
                }
                found.counts[nearest] += 1;
                let sums = &mut found.sums[nearest * columns..(nearest + 1) * columns];
                for (sum, value) in sums.iter_mut().zip(row) {
                    *sum += to_f64(*value);
                }
            }
            found
        })
        .reduce(|| Assignment::empty(k, columns), Assignment::merge)
}

/// Lloyd iterations from `seeds` (k × columns values, row after row).
fn lloyd<T: Scalar>(
    data: &Matrix<T>,
    seeds: Vec<T>,
    max_iterations: usize,
    shift_tolerance: f64,
) -> KMeansModel<T> {
    let columns = data.columns();
    let k = seeds.len() / columns;
    let mut centroids = Matrix::from_parts(seeds, k, columns);
    // No row has label k, so the first pass counts every row as changed.
    let mut labels = vec![k; data.rows()];
    let mut iterations = 0;
    let mut converged = false;
    let mut inertia = f64::INFINITY;
    while iterations < max_iterations {
        iterations += 1;
        let found = assign(data, &centroids, &mut labels);
        inertia = found.inertia;
        if found.changed == 0 {
            converged = true;
            break;
        }
        let mut next = Vec::with_capacity(k * columns);
        for cluster in 0..k {
            if found.counts[cluster] == 0 {
                // An empty cluster restarts at the row worst served by its centroid.
                next.extend_from_slice(data.row(found.farthest.1));
                continue;
            }
            let count = found.counts[cluster] as f64;
            next.extend(
                found.sums[cluster * columns..(cluster + 1) * columns]
                    .iter()
                    .map(|sum| T::from(sum / count).unwrap_or_else(T::zero)),
            );
        }
        let next = Matrix::from_parts(next, k, columns);
        let shift: f64 = (0..k)
            .map(|cluster| to_f64(squared_distance(centroids.row(cluster), next.row(cluster))))
            .sum();
        centroids = next;
        if shift <= shift_tolerance {
            break;
        }
    }
    if !converged {
        // The last update moved the centroids: label the rows by the final ones.
        inertia = assign(data, &centroids, &mut labels).inertia;
    }
    KMeansModel { centroids, labels, inertia, iterations }
}
