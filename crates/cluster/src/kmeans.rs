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
        let row_norms = row_norms(data);
        let mut best: Option<KMeansModel<T>> = None;
        for run in 0..config.init_runs {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed.wrapping_add(run as u64));
            let seeds = kmeans_plus_plus(data, &row_norms, config.k, &mut rng);
            let model = lloyd(data, &row_norms, seeds, config.max_iterations, shift_tolerance);
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
        let arch = pulp::Arch::new();
        labels.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(task, labels)| {
            let first = task * ROWS_PER_TASK;
            let rows = first..first + labels.len();
            let visitor = Labeller { labels, first };
            arch.dispatch(VisitScores { centroids: &centroids, data, rows, visitor });
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
/// interleaving several rows keeps the vector units busy (8 chains are enough to
/// cover the latency of two AVX2 adders).
const ROWS_TOGETHER: usize = 8;

/// Centroids laid out for the nearest-centroid search: transposed (feature-major) in
/// blocks of [`CENTROID_BLOCK`], padded with zeros and multiplied by −2 (exact, a
/// power of two), so that the inner loop runs over a block of centroids with one
/// independent accumulator each and vectorises; and with their squared norms, so that
/// `‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c` needs only the dot products (scikit-learn computes
/// distances the same way).
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
        let minus_two = -(T::one() + T::one());
        let mut transposed = vec![T::zero(); padded * columns];
        for cluster in 0..k {
            for (column, &value) in centroids.row(cluster).iter().enumerate() {
                transposed[column * padded + cluster] = value * minus_two;
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
    /// less `‖x‖²`.
    #[inline(always)]
    fn visit_scores<V: ScoreVisitor<T>>(
        &self,
        data: &Matrix<T>,
        rows: std::ops::Range<usize>,
        visitor: &mut V,
    ) {
        self.visit_scores_inline(data, rows.len(), |index| rows.start + index, visitor);
    }

    /// [`Centroids::visit_scores`] for the listed rows.
    #[inline(always)]
    fn visit_scores_of<V: ScoreVisitor<T>>(
        &self,
        data: &Matrix<T>,
        rows: &[usize],
        visitor: &mut V,
    ) {
        self.visit_scores_inline(data, rows.len(), |index| rows[index], visitor);
    }

    #[inline(always)]
    fn visit_scores_inline<V: ScoreVisitor<T>>(
        &self,
        data: &Matrix<T>,
        count: usize,
        row_at: impl Fn(usize) -> usize,
        visitor: &mut V,
    ) {
        let mut scores = vec![T::zero(); self.padded * ROWS_TOGETHER];
        let mut index = 0;
        while index + ROWS_TOGETHER <= count {
            let rows: [usize; ROWS_TOGETHER] = std::array::from_fn(|i| row_at(index + i));
            self.group_scores(&rows.map(|row| data.row(row)), &mut scores);
            for (row, scores) in rows.iter().zip(scores.chunks_exact(self.padded)) {
                visitor.visit(*row, &scores[..self.k]);
            }
            index += ROWS_TOGETHER;
        }
        for index in index..count {
            let row = row_at(index);
            self.group_scores(&[data.row(row); ROWS_TOGETHER], &mut scores);
            visitor.visit(row, &scores[..self.k]);
        }
    }

    /// Scores of [`ROWS_TOGETHER`] rows, row after row, each `padded` long.
    #[inline(always)]
    fn group_scores(&self, rows: &[&[T]; ROWS_TOGETHER], scores: &mut [T]) {
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
                    let value = row[column];
                    for lane in 0..CENTROID_BLOCK {
                        sums[lane] += value * centroid_values[lane];
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
/// mark `visit` `#[inline(always)]` so that it is compiled into the scoring loop.
trait ScoreVisitor<T> {
    fn visit(&mut self, row: usize, scores: &[T]);
}

/// [`Centroids::visit_scores`] under `pulp::Arch::dispatch`: a struct rather than a
/// closure, because pulp compiles `with_simd` (always inlined, with everything it calls)
/// for AVX2/FMA, whereas a closure's body may stay out of line at the baseline (SSE2).
struct VisitScores<'a, T, V> {
    centroids: &'a Centroids<T>,
    data: &'a Matrix<T>,
    rows: std::ops::Range<usize>,
    visitor: V,
}

impl<T: Scalar, V: ScoreVisitor<T>> pulp::WithSimd for VisitScores<'_, T, V> {
    type Output = V;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> V {
        let VisitScores { centroids, data, rows, mut visitor } = self;
        centroids.visit_scores(data, rows, &mut visitor);
        visitor
    }
}

/// `‖x‖²` of every row.
fn row_norms<T: Scalar>(data: &Matrix<T>) -> Vec<T> {
    let arch = pulp::Arch::new();
    let mut norms = vec![T::zero(); data.rows()];
    norms.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(task, norms)| {
        arch.dispatch(RowNorms { data, first: task * ROWS_PER_TASK, norms });
    });
    norms
}

struct RowNorms<'a, T> {
    data: &'a Matrix<T>,
    first: usize,
    norms: &'a mut [T],
}

impl<T: Scalar> pulp::WithSimd for RowNorms<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let RowNorms { data, first, norms } = self;
        for (offset, norm) in norms.iter_mut().enumerate() {
            *norm = data.row(first + offset).iter().map(|&value| value * value).sum();
        }
    }
}

/// A squared distance from its norm form, clamped at 0 against rounding.
#[inline(always)]
fn distance_from_score<T: Scalar>(row_norm: T, score: T) -> f64 {
    to_f64(row_norm + score).max(0.0)
}

/// scikit-learn's greedy k-means++: each new centroid is the best, by the resulting
/// potential (sum of squared distances to the nearest centroid), of `2 + ⌊ln k⌋`
/// candidates drawn with probability proportional to that squared distance.
fn kmeans_plus_plus<T: Scalar>(
    data: &Matrix<T>,
    row_norms: &[T],
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<T> {
    let rows = data.rows();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.random_range(0..rows);
    let mut centroids: Vec<T> = data.row(first).to_vec();
    // Distances through the norms, as in the Lloyd step (and as scikit-learn computes
    // them), clamped at 0 against rounding.
    let mut closest = vec![0.0; rows];
    let unbounded = vec![f64::INFINITY; rows];
    candidate_distances(data, row_norms, &[first], &unbounded, &mut closest);
    drop(unbounded);
    let mut cumulative = vec![0.0; rows];
    // Row after row, each row's squared distance to every candidate.
    let mut to_candidates = vec![0.0; rows * trials];
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
        let potentials =
            candidate_distances(data, row_norms, &candidates, &closest, &mut to_candidates);
        let best = (0..trials)
            .min_by(|&left, &right| potentials[left].total_cmp(&potentials[right]))
            .unwrap_or(0);
        closest
            .par_iter_mut()
            .zip(to_candidates.par_chunks(trials))
            .for_each(|(current, distances)| *current = current.min(distances[best]));
        centroids.extend_from_slice(data.row(candidates[best]));
    }
    centroids
}

/// Writes the squared distance of every row to every candidate row into
/// `to_candidates` (row after row) and returns, per candidate, the potential: the sum
/// over rows of the squared distance to the nearest of `closest` and the candidate.
fn candidate_distances<T: Scalar>(
    data: &Matrix<T>,
    row_norms: &[T],
    candidates: &[usize],
    closest: &[f64],
    to_candidates: &mut [f64],
) -> Vec<f64> {
    let trials = candidates.len();
    let layout = Centroids::new(&data.select_rows(candidates));
    let arch = pulp::Arch::new();
    // Per-task potentials are collected in task order and added in that order, so the
    // choice of candidate does not depend on how rayon split the work.
    let per_task: Vec<Vec<f64>> = to_candidates
        .par_chunks_mut(ROWS_PER_TASK * trials)
        .enumerate()
        .map(|(task, to_candidates)| {
            let first = task * ROWS_PER_TASK;
            let count = to_candidates.len() / trials;
            let visitor = Potentials {
                closest: &closest[first..first + count],
                first,
                row_norms,
                to_candidates,
                potentials: vec![0.0; trials],
            };
            let rows = first..first + count;
            arch.dispatch(VisitScores { centroids: &layout, data, rows, visitor }).potentials
        })
        .collect();
    per_task.into_iter().fold(vec![0.0; trials], add_vectors)
}

/// Records each row's squared distances to the candidates and sums, per candidate, the
/// squared distance of each row to its nearest centroid if the candidate were added.
struct Potentials<'a, T> {
    closest: &'a [f64],
    first: usize,
    row_norms: &'a [T],
    to_candidates: &'a mut [f64],
    potentials: Vec<f64>,
}

impl<T: Scalar> ScoreVisitor<T> for Potentials<'_, T> {
    #[inline(always)]
    fn visit(&mut self, row: usize, scores: &[T]) {
        let offset = row - self.first;
        let current = self.closest[offset];
        let trials = self.potentials.len();
        let distances = &mut self.to_candidates[offset * trials..(offset + 1) * trials];
        for ((potential, distance), &score) in self.potentials.iter_mut().zip(distances).zip(scores)
        {
            *distance = distance_from_score(self.row_norms[row], score);
            *potential += current.min(*distance);
        }
    }
}

#[inline(always)]
fn to_f64<T: Scalar>(value: T) -> f64 {
    value.to_f64().unwrap_or(f64::INFINITY)
}

/// How far each centroid moved in one update. Moving the centroids loosens a row's
/// bounds by at most that much: its upper bound by its own centroid's move, its lower
/// bound by the largest move of any other centroid. The next assignment pass applies it
/// row by row as it checks the bounds, rather than in a pass of its own.
struct Drift {
    moves: Vec<f64>,
    /// The centroid that moved most, and how far.
    largest: (usize, f64),
    /// The second-largest move.
    runner_up: f64,
}

impl Drift {
    fn new(moves: Vec<f64>) -> Self {
        let (largest, runner_up) = moves.iter().enumerate().fold(
            ((moves.len(), 0.0), 0.0),
            |((index, top), second), (cluster, &moved)| {
                if moved > top {
                    ((cluster, moved), top)
                } else {
                    ((index, top), f64::max(second, moved))
                }
            },
        );
        Drift { moves, largest, runner_up }
    }

    /// How far the nearest other centroid of a row in `label` may have come closer.
    #[inline(always)]
    fn lower_shift(&self, label: usize) -> f64 {
        if label == self.largest.0 { self.runner_up } else { self.largest.1 }
    }
}

/// Per-row state of the Lloyd iterations, with Hamerly's bounds: a row whose distance to
/// its centroid (at most `upper`) cannot exceed its distance to any other centroid (at
/// least `lower`, and at least half the distance from its centroid to the nearest other
/// one) keeps its label without computing any distance. The labels are those of plain
/// Lloyd iterations; only the work differs (Hamerly 2010, "Making k-means even faster").
struct RowBounds {
    labels: Vec<usize>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

/// Recomputes the nearest and second-nearest centroid of the rows it visits.
struct Reassigner<'a, T> {
    row_norms: &'a [T],
    first: usize,
    labels: &'a mut [usize],
    upper: &'a mut [f64],
    lower: &'a mut [f64],
    /// Rows that changed cluster, with their old cluster (k for a first assignment).
    moved: Vec<(usize, usize)>,
}

impl<T: Scalar> ScoreVisitor<T> for Reassigner<'_, T> {
    #[inline(always)]
    fn visit(&mut self, row: usize, scores: &[T]) {
        // Branch-free: which centroid wins is data-dependent, and mispredicted branches
        // here cost more than the selects.
        let mut best = (0, scores[0]);
        let mut second = T::infinity();
        for (cluster, &score) in scores.iter().enumerate().skip(1) {
            second = second.min(best.1.max(score));
            let closer = score < best.1;
            best = (if closer { cluster } else { best.0 }, if closer { score } else { best.1 });
        }
        let norm = self.row_norms[row];
        let offset = row - self.first;
        self.upper[offset] = distance_from_score(norm, best.1).sqrt();
        self.lower[offset] = distance_from_score(norm, second).sqrt();
        if self.labels[offset] != best.0 {
            self.moved.push((row, self.labels[offset]));
            self.labels[offset] = best.0;
        }
    }
}

/// One assignment pass. Rows whose bounds prove their label are skipped; the others are
/// checked against their own centroid and, if still in doubt, against all. Returns the
/// rows that changed cluster with their old cluster.
fn assign<T: Scalar>(
    data: &Matrix<T>,
    row_norms: &[T],
    centroids: &Matrix<T>,
    bounds: &mut RowBounds,
    check_all: bool,
    drift: Option<&Drift>,
) -> Vec<(usize, usize)> {
    let k = centroids.rows();
    let layout = Centroids::new(centroids);
    // Half the distance from each centroid to the nearest other one.
    let half_gap: Vec<f64> = (0..k)
        .map(|cluster| {
            (0..k)
                .filter(|&other| other != cluster)
                .map(|other| to_f64(squared_distance(centroids.row(cluster), centroids.row(other))))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
                / 2.0
        })
        .collect();
    let RowBounds { labels, upper, lower } = bounds;
    let arch = pulp::Arch::new();
    labels
        .par_chunks_mut(ROWS_PER_TASK)
        .zip(upper.par_chunks_mut(ROWS_PER_TASK))
        .zip(lower.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .map(|(task, ((labels, upper), lower))| {
            let first = task * ROWS_PER_TASK;
            let visitor = Reassigner { row_norms, first, labels, upper, lower, moved: Vec::new() };
            arch.dispatch(AssignRows {
                data,
                centroids,
                layout: &layout,
                half_gap: &half_gap,
                check_all,
                drift,
                visitor,
            })
        })
        .reduce(Vec::new, |mut left, right| {
            left.extend(right);
            left
        })
}

/// One task of [`assign`], under `pulp::Arch::dispatch` (see [`VisitScores`]).
struct AssignRows<'a, T> {
    data: &'a Matrix<T>,
    centroids: &'a Matrix<T>,
    layout: &'a Centroids<T>,
    half_gap: &'a [f64],
    check_all: bool,
    drift: Option<&'a Drift>,
    visitor: Reassigner<'a, T>,
}

impl<T: Scalar> pulp::WithSimd for AssignRows<'_, T> {
    type Output = Vec<(usize, usize)>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<(usize, usize)> {
        let AssignRows { data, centroids, layout, half_gap, check_all, drift, mut visitor } = self;
        let first = visitor.first;
        if check_all {
            let rows = first..first + visitor.labels.len();
            layout.visit_scores(data, rows, &mut visitor);
            return visitor.moved;
        }
        let mut doubtful = Vec::new();
        for offset in 0..visitor.labels.len() {
            let row = first + offset;
            let label = visitor.labels[offset];
            let (upper, lower) = (&mut visitor.upper[offset], &mut visitor.lower[offset]);
            if let Some(drift) = drift {
                *upper += drift.moves[label];
                *lower -= drift.lower_shift(label);
            }
            let bound = half_gap[label].max(*lower);
            if *upper <= bound {
                continue;
            }
            *upper = to_f64(squared_distance(data.row(row), centroids.row(label))).sqrt();
            if *upper > bound {
                doubtful.push(row);
            }
        }
        layout.visit_scores_of(data, &doubtful, &mut visitor);
        visitor.moved
    }
}

/// The sum of squared distances of the rows to their centroids, computed directly
/// rather than through the norms, so that it carries no cancellation error.
fn exact_inertia<T: Scalar>(data: &Matrix<T>, centroids: &Matrix<T>, labels: &[usize]) -> f64 {
    // Fixed-size chunks summed in order keep the total the same bits on every run, so
    // restarts with equal inertia are always resolved the same way.
    const CHUNK: usize = 4096;
    let partial_sums: Vec<f64> = labels
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(chunk, labels)| {
            pulp::Arch::new().dispatch(Inertia { data, centroids, labels, first: chunk * CHUNK })
        })
        .collect();
    partial_sums.iter().sum()
}

/// One chunk of [`exact_inertia`], under `pulp::Arch::dispatch` (see [`VisitScores`]).
struct Inertia<'a, T> {
    data: &'a Matrix<T>,
    centroids: &'a Matrix<T>,
    labels: &'a [usize],
    first: usize,
}

impl<T: Scalar> pulp::WithSimd for Inertia<'_, T> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> f64 {
        let Inertia { data, centroids, labels, first } = self;
        labels
            .iter()
            .enumerate()
            .map(|(offset, &label)| {
                to_f64(squared_distance(data.row(first + offset), centroids.row(label)))
            })
            .sum()
    }
}

/// Lloyd iterations from `seeds` (k × columns values, row after row), with Hamerly's
/// bounds to skip rows whose label cannot change. Cluster sums are kept up to date
/// from the rows that move.
fn lloyd<T: Scalar>(
    data: &Matrix<T>,
    row_norms: &[T],
    seeds: Vec<T>,
    max_iterations: usize,
    shift_tolerance: f64,
) -> KMeansModel<T> {
    let (rows, columns) = (data.rows(), data.columns());
    let k = seeds.len() / columns;
    let mut centroids = Matrix::from_parts(seeds, k, columns);
    // No row has label k, so the first pass moves every row.
    let mut bounds =
        RowBounds { labels: vec![k; rows], upper: vec![0.0; rows], lower: vec![0.0; rows] };
    let mut sums = vec![0.0; k * columns];
    let mut counts = vec![0usize; k];
    let mut iterations = 0;
    let mut converged = false;
    // How far the centroids moved in the last update, not yet applied to the bounds.
    let mut drift: Option<Drift> = None;
    while iterations < max_iterations {
        iterations += 1;
        let moved =
            assign(data, row_norms, &centroids, &mut bounds, iterations == 1, drift.as_ref());
        if moved.is_empty() {
            converged = true;
            break;
        }
        for &(row, old) in &moved {
            let new = bounds.labels[row];
            for (column, &value) in data.row(row).iter().enumerate() {
                let value = to_f64(value);
                if old < k {
                    sums[old * columns + column] -= value;
                }
                sums[new * columns + column] += value;
            }
            if old < k {
                counts[old] -= 1;
            }
            counts[new] += 1;
        }
        let mut next = Vec::with_capacity(k * columns);
        for cluster in 0..k {
            if counts[cluster] == 0 {
                // An empty cluster restarts at the row that may be worst served.
                let (farthest, _) =
                    bounds.upper.iter().enumerate().fold((0, -1.0), |best, (row, &u)| {
                        if u > best.1 { (row, u) } else { best }
                    });
                next.extend_from_slice(data.row(farthest));
                continue;
            }
            let count = counts[cluster] as f64;
            next.extend(
                sums[cluster * columns..(cluster + 1) * columns]
                    .iter()
                    .map(|sum| T::from(sum / count).unwrap_or_else(T::zero)),
            );
        }
        let next = Matrix::from_parts(next, k, columns);
        let moves: Vec<f64> = (0..k)
            .map(|cluster| {
                to_f64(squared_distance(centroids.row(cluster), next.row(cluster))).sqrt()
            })
            .collect();
        centroids = next;
        let shift: f64 = moves.iter().map(|moved| moved * moved).sum();
        drift = Some(Drift::new(moves));
        if shift <= shift_tolerance {
            break;
        }
    }
    if !converged {
        // The last update moved the centroids: label the rows by the final ones.
        assign(data, row_norms, &centroids, &mut bounds, false, drift.as_ref());
    }
    let inertia = exact_inertia(data, &centroids, &bounds.labels);
    KMeansModel { centroids, labels: bounds.labels, inertia, iterations }
}
