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
            let mut visitor = Labeller { labels, first };
            centroids.visit_scores(data, first..first + visitor.labels.len(), &mut visitor);
        });
        Ok(labels)
    }
}

/// Labels rows by their nearest centroid.
struct Labeller<'a> {
    labels: &'a mut [usize],
    first: usize,
}

impl<T: Scalar> ScoreVisitor<T> for Labeller<'_> {
    #[inline(always)]
    fn visit(&mut self, row: usize, scores: &[T]) {
        self.labels[row - self.first] = nearest(scores).0;
    }
}

/// The mean of the per-feature variances, which scales `tolerance` like scikit-learn.
fn mean_feature_variance<T: Scalar>(data: &Matrix<T>) -> f64 {
    let std_devs = FeatureStats::of(data).std_devs;
    std_devs.iter().map(|std_dev| std_dev * std_dev).sum::<f64>() / std_devs.len() as f64
}

/// Centroids scored together: their partial sums live in a fixed-size local array,
/// which the compiler keeps in vector registers (a slice of dynamic length k would go
/// through memory on every feature).
const CENTROID_BLOCK: usize = 8;
/// Rows scored together: each row's multiply-adds form a dependent chain, so
/// interleaving several rows keeps the vector units busy.
const ROWS_TOGETHER: usize = 4;

/// Centroids laid out for the nearest-centroid search: transposed (feature-major) in
/// blocks of [`CENTROID_BLOCK`], padded with zeros, so that the inner loop runs over a
/// block of centroids with one independent accumulator each and vectorises; and with
/// their squared norms, so that `‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c` needs only the dot
/// products (scikit-learn computes distances the same way).
struct Centroids<T> {
    k: usize,
    padded: usize,
    columns: usize,
    transposed: Vec<T>,
    squared_norms: Vec<T>,
}

impl<T: Scalar> Centroids<T> {
    fn new(centroids: &Matrix<T>) -> Self {
        let (k, columns) = (centroids.rows(), centroids.columns());
        let padded = k.div_ceil(CENTROID_BLOCK) * CENTROID_BLOCK;
        let mut transposed = vec![T::zero(); padded * columns];
        for cluster in 0..k {
            for (column, &value) in centroids.row(cluster).iter().enumerate() {
                transposed[column * padded + cluster] = value;
            }
        }
        let mut squared_norms = vec![T::zero(); padded];
        for (norm, row) in squared_norms.iter_mut().zip(centroids.iter_rows()) {
            *norm = row.iter().map(|&v| v * v).sum();
        }
        Centroids { k, padded, columns, transposed, squared_norms }
    }

    /// Calls `visitor.visit(row, scores)` for every row in `rows`, in order, where
    /// `scores[c]` is `‖c‖² − 2 x·c`: the squared distance from the row to centroid `c`,
    /// less `‖x‖²`. Compiled for the best vector instructions of the CPU (see
    /// [`ScorePass`]).
    fn visit_scores<V: ScoreVisitor<T>>(
        &self,
        data: &Matrix<T>,
        rows: std::ops::Range<usize>,
        visitor: &mut V,
    ) {
        pulp::Arch::new().dispatch(ScorePass { centroids: self, data, rows, visitor });
    }

    #[inline(always)]
    fn visit_scores_inline<V: ScoreVisitor<T>>(
        &self,
        data: &Matrix<T>,
        rows: std::ops::Range<usize>,
        visitor: &mut V,
    ) {
        let mut scores = vec![T::zero(); self.padded * ROWS_TOGETHER];
        let mut row = rows.start;
        while row + ROWS_TOGETHER <= rows.end {
            let group: [&[T]; ROWS_TOGETHER] = std::array::from_fn(|i| data.row(row + i));
            self.group_scores(&group, &mut scores);
            for (offset, scores) in scores.chunks_exact(self.padded).enumerate() {
                visitor.visit(row + offset, &scores[..self.k]);
            }
            row += ROWS_TOGETHER;
        }
        for row in row..rows.end {
            let group: [&[T]; ROWS_TOGETHER] = std::array::from_fn(|_| data.row(row));
            self.group_scores(&group, &mut scores);
            visitor.visit(row, &scores[..self.k]);
        }
    }

    /// Scores of [`ROWS_TOGETHER`] rows, row after row, each `padded` long.
    #[inline(always)]
    fn group_scores(&self, rows: &[&[T]; ROWS_TOGETHER], scores: &mut [T]) {
        let minus_two = -(T::one() + T::one());
        for block in (0..self.padded).step_by(CENTROID_BLOCK) {
            let norms = &self.squared_norms[block..block + CENTROID_BLOCK];
            let mut partial = [[T::zero(); CENTROID_BLOCK]; ROWS_TOGETHER];
            for sums in &mut partial {
                sums.copy_from_slice(norms);
            }
            for column in 0..self.columns {
                let start = column * self.padded + block;
                let centroid_values = &self.transposed[start..start + CENTROID_BLOCK];
                for (sums, row) in partial.iter_mut().zip(rows) {
                    let scaled = row[column] * minus_two;
                    for lane in 0..CENTROID_BLOCK {
                        sums[lane] += scaled * centroid_values[lane];
                    }
                }
            }
            for (index, sums) in partial.iter().enumerate() {
                let start = index * self.padded + block;
                scores[start..start + CENTROID_BLOCK].copy_from_slice(sums);
            }
        }
    }
}

/// The index and value of the smallest score (the first on ties).
#[inline(always)]
fn nearest<T: Scalar>(scores: &[T]) -> (usize, T) {
    let mut best = (0, scores[0]);
    for (cluster, &score) in scores.iter().enumerate().skip(1) {
        if score < best.1 {
            best = (cluster, score);
        }
    }
    best
}

/// What a pass over the rows does with each row's centroid scores. Implementations
/// mark `visit` `#[inline(always)]` so that it is compiled into [`ScorePass`].
trait ScoreVisitor<T> {
    fn visit(&mut self, row: usize, scores: &[T]);
}

/// One pass of [`Centroids::visit_scores`], run through `pulp`'s run-time dispatch: the
/// kernels are plain loops that the compiler vectorises for whatever the enclosing
/// function allows, which is SSE2 for the default x86-64 target and AVX2 with FMA inside
/// `pulp`'s dispatch where the CPU has them. Everything called from here is inlined so
/// that it is compiled for those instructions too.
struct ScorePass<'a, T, V> {
    centroids: &'a Centroids<T>,
    data: &'a Matrix<T>,
    rows: std::ops::Range<usize>,
    visitor: &'a mut V,
}

impl<T: Scalar, V: ScoreVisitor<T>> pulp::WithSimd for ScorePass<'_, T, V> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.centroids.visit_scores_inline(self.data, self.rows, self.visitor);
    }
}

/// `‖x‖²` of every row.
fn row_norms<T: Scalar>(data: &Matrix<T>) -> Vec<T> {
    (0..data.rows())
        .into_par_iter()
        .map(|row| data.row(row).iter().map(|&value| value * value).sum())
        .collect()
}

/// A squared distance from its norm form, clamped at 0 against rounding.
#[inline(always)]
fn distance_from_score<T: Scalar>(row_norm: T, score: T) -> f64 {
    to_f64(row_norm + score).max(0.0)
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
    let row_norms = row_norms(data);
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
        // Distances to the candidates through the norms, as in the Lloyd step (and as
        // scikit-learn computes them), clamped at 0 against rounding.
        let layout = Centroids::new(&data.select_rows(&candidates));
        let potentials = closest
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(task, closest)| {
                let first = task * ROWS_PER_TASK;
                let mut visitor = Potentials {
                    closest,
                    first,
                    row_norms: &row_norms,
                    potentials: vec![0.0; candidates.len()],
                };
                layout.visit_scores(data, first..first + closest.len(), &mut visitor);
                visitor.potentials
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

/// Sums, per candidate, the squared distance of each row to its nearest centroid if the
/// candidate were added.
struct Potentials<'a, T> {
    closest: &'a [f64],
    first: usize,
    row_norms: &'a [T],
    potentials: Vec<f64>,
}

impl<T: Scalar> ScoreVisitor<T> for Potentials<'_, T> {
    #[inline(always)]
    fn visit(&mut self, row: usize, scores: &[T]) {
        let current = self.closest[row - self.first];
        for (potential, &score) in self.potentials.iter_mut().zip(scores) {
            *potential += current.min(distance_from_score(self.row_norms[row], score));
        }
    }
}

#[inline(always)]
fn to_f64<T: Scalar>(value: T) -> f64 {
    value.to_f64().unwrap_or(f64::INFINITY)
}

/// What one assignment pass over a block of rows found.
struct Assignment {
    sums: Vec<f64>,
    counts: Vec<usize>,
    changed: usize,
    /// The row farthest from its centroid, for re-seeding empty clusters.
    farthest: (f64, usize),
}

impl Assignment {
    fn empty(k: usize, columns: usize) -> Self {
        Assignment {
            sums: vec![0.0; k * columns],
            counts: vec![0; k],
            changed: 0,
            farthest: (-1.0, 0),
        }
    }

    fn merge(mut self, other: Assignment) -> Assignment {
        self.sums = add_vectors(self.sums, other.sums);
        self.counts.iter_mut().zip(other.counts).for_each(|(l, r)| *l += r);
        self.changed += other.changed;
        if other.farthest.0 > self.farthest.0 {
            self.farthest = other.farthest;
        }
        self
    }
}

/// Labels rows by their nearest centroid, counting changes, and sums them per cluster.
struct Assigner<'a, T> {
    data: &'a Matrix<T>,
    row_norms: &'a [T],
    labels: &'a mut [usize],
    first: usize,
    found: Assignment,
    /// Row sums per cluster in the data's type (vectorised; at most ROWS_PER_TASK rows,
    /// so f32 keeps enough precision), added to `found.sums` in f64 afterwards.
    sums: Vec<T>,
}

impl<T: Scalar> ScoreVisitor<T> for Assigner<'_, T> {
    #[inline(always)]
    fn visit(&mut self, row: usize, scores: &[T]) {
        let (cluster, score) = nearest(scores);
        let label = &mut self.labels[row - self.first];
        if *label != cluster {
            self.found.changed += 1;
            *label = cluster;
        }
        let distance = distance_from_score(self.row_norms[row], score);
        if distance > self.found.farthest.0 {
            self.found.farthest = (distance, row);
        }
        self.found.counts[cluster] += 1;
        let columns = self.data.columns();
        let sums = &mut self.sums[cluster * columns..(cluster + 1) * columns];
        for (sum, &value) in sums.iter_mut().zip(self.data.row(row)) {
            *sum += value;
        }
    }
}

/// Assigns every row to its nearest centroid, updating `labels`, and sums the rows per
/// cluster for the next centroids.
fn assign<T: Scalar>(
    data: &Matrix<T>,
    row_norms: &[T],
    centroids: &Matrix<T>,
    labels: &mut [usize],
) -> Assignment {
    let (k, columns) = (centroids.rows(), centroids.columns());
    let layout = Centroids::new(centroids);
    labels
        .par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .map(|(task, labels)| {
            let first = task * ROWS_PER_TASK;
            let mut visitor = Assigner {
                data,
                row_norms,
                labels,
                first,
                found: Assignment::empty(k, columns),
                sums: vec![T::zero(); k * columns],
            };
            layout.visit_scores(data, first..first + visitor.labels.len(), &mut visitor);
            let mut found = visitor.found;
            for (total, sum) in found.sums.iter_mut().zip(visitor.sums) {
                *total = to_f64(sum);
            }
            found
        })
        .reduce(|| Assignment::empty(k, columns), Assignment::merge)
}

/// The sum of squared distances of the rows to their centroids, computed directly
/// rather than through the norms, so that it carries no cancellation error.
fn exact_inertia<T: Scalar>(data: &Matrix<T>, centroids: &Matrix<T>, labels: &[usize]) -> f64 {
    labels
        .par_iter()
        .enumerate()
        .map(|(row, &label)| to_f64(squared_distance(data.row(row), centroids.row(label))))
        .sum()
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
    let row_norms = row_norms(data);
    let mut centroids = Matrix::from_parts(seeds, k, columns);
    // No row has label k, so the first pass counts every row as changed.
    let mut labels = vec![k; data.rows()];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations {
        iterations += 1;
        let found = assign(data, &row_norms, &centroids, &mut labels);
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
        assign(data, &row_norms, &centroids, &mut labels);
    }
    let inertia = exact_inertia(data, &centroids, &labels);
    KMeansModel { centroids, labels, inertia, iterations }
}
