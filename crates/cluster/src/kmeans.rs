//! K-Means: greedy k-means++ seeding and Lloyd iterations, both parallel with rayon.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result, invalid};
use crate::matrix::{Matrix, Scalar, squared_distance};
use crate::scale::{FeatureStats, add_into, add_vectors};

/// Rows handled by one rayon task: big enough to amortise the per-task partial sums
/// (k × columns values), small enough to balance across cores.
const ROWS_PER_TASK: usize = 2048;
const _: () = assert!(ROWS_PER_TASK.is_multiple_of(PANEL), "tasks hold whole panels");

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
    /// Seed of the seeding (run i uses `seed + i`). The same seed gives the same model
    /// on any thread count when `tolerance` is 0 (partial sums are taken over fixed
    /// blocks of rows and added in block order; the tolerance's feature variance is not).
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
        let panels = Panels::new(data);
        let mut best: Option<KMeansModel<T>> = None;
        for run in 0..config.init_runs {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed.wrapping_add(run as u64));
            let seeds = kmeans_plus_plus(data, &panels, config.k, &mut rng);
            let model = lloyd(data, &panels, seeds, config.max_iterations, shift_tolerance);
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
        let panels = Panels::new(data);
        let k = self.centroids.rows();
        let mut labels = vec![k as u32; panels.padded_rows()];
        assign(&panels, &CentroidBlocks::new(&self.centroids), &mut labels, false);
        Ok(labels[..data.rows()].iter().map(|&label| label as usize).collect())
    }
}

/// The mean of the per-feature variances, which scales `tolerance` like scikit-learn.
fn mean_feature_variance<T: Scalar>(data: &Matrix<T>) -> f64 {
    let std_devs = FeatureStats::of(data).std_devs;
    std_devs.iter().map(|std_dev| std_dev * std_dev).sum::<f64>() / std_devs.len() as f64
}

/// Rows scored together, one per vector lane: eight `f32` fill an AVX2 register (two
/// for `f64`), so the nearest-centroid search compares eight rows per instruction
/// instead of looping over each row's scores.
const PANEL: usize = 8;

/// The data laid out for the passes: panels of [`PANEL`] consecutive rows, each panel
/// column after column ([`PANEL`] values of column 0, then of column 1, …), the last
/// panel padded with zero rows. The passes read a whole column of a panel as one
/// vector. The copy costs a few passes' time (on 1M × 16, mostly faulting in the new
/// pages) and makes every pass several times cheaper.
struct Panels<T> {
    rows: usize,
    columns: usize,
    values: Vec<T>,
    /// `‖x‖²` of each row (0 for padding rows), in row order.
    squared_norms: Vec<T>,
}

impl<T: Scalar> Panels<T> {
    fn new(data: &Matrix<T>) -> Self {
        let (rows, columns) = (data.rows(), data.columns());
        let padded_rows = rows.div_ceil(PANEL) * PANEL;
        let mut values = vec![T::zero(); padded_rows * columns];
        let mut squared_norms = vec![T::zero(); padded_rows];
        let arch = pulp::Arch::new();
        values
            .par_chunks_mut(ROWS_PER_TASK * columns)
            .zip(squared_norms.par_chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(|(task, (values, squared_norms))| {
                let first = task * ROWS_PER_TASK;
                arch.dispatch(Transpose { data, first, values, squared_norms });
            });
        Panels { rows, columns, values, squared_norms }
    }

    fn padded_rows(&self) -> usize {
        self.squared_norms.len()
    }

    /// Panel `index`: `columns` groups of [`PANEL`] values.
    #[inline(always)]
    fn panel(&self, index: usize) -> &[[T; PANEL]] {
        let size = PANEL * self.columns;
        self.values[index * size..(index + 1) * size].as_chunks().0
    }

    /// How many rows of panel `index` are data rather than padding.
    #[inline(always)]
    fn rows_in(&self, index: usize) -> usize {
        PANEL.min(self.rows - index * PANEL)
    }
}

/// One task of [`Panels::new`], under `pulp::Arch::dispatch`: a struct rather than a
/// closure, because pulp compiles `with_simd` (always inlined, with everything it
/// calls) for AVX2/FMA, whereas a closure's body may stay out of line at the baseline
/// (SSE2). The other passes follow the same pattern.
struct Transpose<'a, T> {
    data: &'a Matrix<T>,
    first: usize,
    values: &'a mut [T],
    squared_norms: &'a mut [T],
}

impl<T: Scalar> pulp::WithSimd for Transpose<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Transpose { data, first, values, squared_norms } = self;
        let columns = data.columns();
        let panels = values.chunks_exact_mut(PANEL * columns);
        for (index, (panel, norms)) in panels.zip(squared_norms.chunks_exact_mut(PANEL)).enumerate()
        {
            let first = first + index * PANEL;
            let rows: [&[T]; PANEL] = std::array::from_fn(|lane| {
                let row = (first + lane).min(data.rows() - 1);
                data.row(row)
            });
            // Column by column, so that each output vector is written once; the PANEL
            // input rows are 8 cache lines (for 16 f32 columns) read in turn.
            for (column, out) in panel.as_chunks_mut::<PANEL>().0.iter_mut().enumerate() {
                for lane in 0..PANEL {
                    out[lane] = rows[lane][column];
                }
            }
            for (norm, row) in norms.iter_mut().zip(rows) {
                *norm = row.iter().map(|&value| value * value).sum();
            }
            let valid = PANEL.min(data.rows().saturating_sub(first));
            if valid < PANEL {
                // The last panel: padding rows are zeros.
                for out in panel.as_chunks_mut::<PANEL>().0 {
                    out[valid..].fill(T::zero());
                }
                norms[valid..].fill(T::zero());
            }
        }
    }
}

/// How many centroids are scored together against a panel: each keeps a panel-wide
/// vector of partial sums, eight registers in all (eight f32 vectors, or four pairs of
/// f64 vectors). Eight independent chains of multiply-adds cover the latency of the two
/// FMA units; more would spill to memory (measured: twice as slow with eight f64
/// centroids).
fn block_for<T>() -> usize {
    if size_of::<T>() <= 4 { 8 } else { 4 }
}

/// Centroids (or k-means++ candidates) laid out for the panel kernel: in blocks of
/// [`block_for`] centroids, each block column after column, multiplied by −2 (exact, a
/// power of two); with their squared norms, so that `‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c`
/// needs only the dot products (scikit-learn computes distances the same way). The
/// last block is padded with zero centroids of squared norm +∞.
struct CentroidBlocks<T> {
    count: usize,
    columns: usize,
    scaled: Vec<T>,
    squared_norms: Vec<T>,
}

impl<T: Scalar> CentroidBlocks<T> {
    fn new(centroids: &Matrix<T>) -> Self {
        let (count, columns) = (centroids.rows(), centroids.columns());
        let block = block_for::<T>();
        let padded = count.div_ceil(block) * block;
        let minus_two = -(T::one() + T::one());
        let mut scaled = vec![T::zero(); padded * columns];
        let mut squared_norms = vec![T::infinity(); padded];
        for (centroid, row) in centroids.iter_rows().enumerate() {
            let (first, place) = (centroid / block * block, centroid % block);
            for (column, &value) in row.iter().enumerate() {
                scaled[(first * columns) + column * block + place] = value * minus_two;
            }
            squared_norms[centroid] = row.iter().map(|&value| value * value).sum();
        }
        CentroidBlocks { count, columns, scaled, squared_norms }
    }

    fn blocks(&self) -> usize {
        self.squared_norms.len() / block_for::<T>()
    }

    /// `scores[c][lane]` = `‖c‖² − 2 x·c` for the `N` centroids of `block` and the rows
    /// of `panel`: the squared distance less `‖x‖²`. `N` is `block_for::<T>()`, passed
    /// as a constant so that the sums are a fixed-size array kept in registers.
    #[inline(always)]
    fn block_scores<const N: usize>(&self, block: usize, panel: &[[T; PANEL]]) -> [[T; PANEL]; N] {
        debug_assert_eq!(N, block_for::<T>());
        let size = N * self.columns;
        let scaled = self.scaled[block * size..][..size].as_chunks::<N>().0;
        let norms = &self.squared_norms[block * N..][..N];
        let mut scores: [[T; PANEL]; N] = std::array::from_fn(|place| [norms[place]; PANEL]);
        for (values, centroid_values) in panel.iter().zip(scaled) {
            for (scores, &centroid_value) in scores.iter_mut().zip(centroid_values) {
                for lane in 0..PANEL {
                    scores[lane] = values[lane].mul_add(centroid_value, scores[lane]);
                }
            }
        }
        scores
    }

    /// The nearest centroid of each row of `panel` (the first on ties).
    #[inline(always)]
    fn nearest(&self, panel: &[[T; PANEL]]) -> [u32; PANEL] {
        // `block_for` folds to a constant, so only one arm is compiled per type.
        if block_for::<T>() == 8 {
            self.nearest_in::<8>(panel)
        } else {
            self.nearest_in::<4>(panel)
        }
    }

    /// Branch-free: which centroid wins is data-dependent, and the selects vectorise
    /// across rows. Padding centroids have a squared norm of +∞ and never win.
    #[inline(always)]
    fn nearest_in<const N: usize>(&self, panel: &[[T; PANEL]]) -> [u32; PANEL] {
        let mut best = [T::infinity(); PANEL];
        let mut labels = [0u32; PANEL];
        for block in 0..self.blocks() {
            let scores = self.block_scores::<N>(block, panel);
            for (place, scores) in scores.iter().enumerate() {
                let centroid = (block * N + place) as u32;
                for lane in 0..PANEL {
                    let closer = scores[lane] < best[lane];
                    best[lane] = if closer { scores[lane] } else { best[lane] };
                    labels[lane] = if closer { centroid } else { labels[lane] };
                }
            }
        }
        labels
    }

    /// For k-means++ candidates: writes the squared distance of each row of `panel` to
    /// each candidate into `distances` (candidate after candidate, `stride` values
    /// apart; 0 for padding rows, of which the panel holds `PANEL − valid`) and adds,
    /// per candidate and lane, the distance to the nearer of `closest` and the
    /// candidate to `potentials`.
    #[inline(always)]
    fn add_potentials(
        &self,
        panel: &[[T; PANEL]],
        rows: PanelRows<'_, T>,
        potentials: &mut [[f64; PANEL]],
    ) {
        if block_for::<T>() == 8 {
            self.add_potentials_in::<8>(panel, rows, potentials);
        } else {
            self.add_potentials_in::<4>(panel, rows, potentials);
        }
    }

    #[inline(always)]
    fn add_potentials_in<const N: usize>(
        &self,
        panel: &[[T; PANEL]],
        rows: PanelRows<'_, T>,
        potentials: &mut [[f64; PANEL]],
    ) {
        let PanelRows { squared_norms, closest, valid, distances, stride } = rows;
        for block in 0..self.blocks() {
            let scores = self.block_scores::<N>(block, panel);
            for (place, scores) in scores.iter().enumerate() {
                let candidate = block * N + place;
                if candidate == self.count {
                    return;
                }
                // Selects rather than `max`/`min`, whose NaN rules cost a compare and a
                // blend per lane: no value here is NaN.
                let mut distance: [T; PANEL] = std::array::from_fn(|lane| {
                    let distance = squared_norms[lane] + scores[lane];
                    if distance > T::zero() { distance } else { T::zero() }
                });
                distance[valid..].fill(T::zero());
                distances[candidate * stride..][..PANEL].copy_from_slice(&distance);
                let potential = &mut potentials[candidate];
                for lane in 0..PANEL {
                    let nearer =
                        if closest[lane] < distance[lane] { closest[lane] } else { distance[lane] };
                    potential[lane] += to_f64(nearer);
                }
            }
        }
    }
}

/// What [`CentroidBlocks::add_potentials`] needs to know of a panel's rows.
struct PanelRows<'a, T> {
    squared_norms: &'a [T],
    closest: &'a [T; PANEL],
    valid: usize,
    /// Where the distances to the first candidate go.
    distances: &'a mut [T],
    stride: usize,
}

/// What an assignment pass changed: how many rows moved, and what the moves add to
/// the per-cluster sums and counts (when tracked).
struct Changes {
    moved: usize,
    sums: Vec<f64>,
    counts: Vec<i64>,
}

/// Labels every row by its nearest centroid, updating `labels` (one per padded row; a
/// row labelled `k` or more has no cluster yet). With `track`, the returned changes
/// carry the sums and counts of the moves, added up per task and then in task order,
/// so they are the same bits on every thread count.
fn assign<T: Scalar>(
    panels: &Panels<T>,
    centroids: &CentroidBlocks<T>,
    labels: &mut [u32],
    track: bool,
) -> Changes {
    let k = centroids.count;
    let arch = pulp::Arch::new();
    let per_task: Vec<Changes> = labels
        .par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .map(|(task, labels)| {
            let first_panel = task * ROWS_PER_TASK / PANEL;
            arch.dispatch(AssignTask { panels, centroids, first_panel, labels, track })
        })
        .collect();
    let mut total = Changes { moved: 0, sums: vec![0.0; k * panels.columns], counts: vec![0; k] };
    for changes in per_task {
        total.moved += changes.moved;
        if track && changes.moved > 0 {
            add_into(&mut total.sums, &changes.sums);
            total.counts.iter_mut().zip(&changes.counts).for_each(|(total, count)| *total += count);
        }
    }
    total
}

/// One task of [`assign`].
struct AssignTask<'a, T> {
    panels: &'a Panels<T>,
    centroids: &'a CentroidBlocks<T>,
    first_panel: usize,
    labels: &'a mut [u32],
    track: bool,
}

impl<T: Scalar> pulp::WithSimd for AssignTask<'_, T> {
    type Output = Changes;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Changes {
        let AssignTask { panels, centroids, first_panel, labels, track } = self;
        let k = centroids.count;
        let columns = panels.columns;
        let mut changes = Changes { moved: 0, sums: Vec::new(), counts: Vec::new() };
        for (offset, labels) in labels.as_chunks_mut::<PANEL>().0.iter_mut().enumerate() {
            let index = first_panel + offset;
            let panel = panels.panel(index);
            let nearest = centroids.nearest(panel);
            if *labels == nearest {
                continue;
            }
            for lane in 0..panels.rows_in(index) {
                let (old, new) = (labels[lane] as usize, nearest[lane] as usize);
                if old == new {
                    continue;
                }
                labels[lane] = nearest[lane];
                changes.moved += 1;
                if !track {
                    continue;
                }
                if changes.counts.is_empty() {
                    changes.sums = vec![0.0; k * columns];
                    changes.counts = vec![0; k];
                }
                for (column, values) in panel.iter().enumerate() {
                    let value = to_f64(values[lane]);
                    if old < k {
                        changes.sums[old * columns + column] -= value;
                    }
                    changes.sums[new * columns + column] += value;
                }
                if old < k {
                    changes.counts[old] -= 1;
                }
                changes.counts[new] += 1;
            }
        }
        changes
    }
}

/// scikit-learn's greedy k-means++: each new centroid is the best, by the resulting
/// potential (sum of squared distances to the nearest centroid), of `2 + ⌊ln k⌋`
/// candidates drawn with probability proportional to that squared distance.
fn kmeans_plus_plus<T: Scalar>(
    data: &Matrix<T>,
    panels: &Panels<T>,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<T> {
    let rows = data.rows();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let padded_rows = panels.padded_rows();
    let first = rng.random_range(0..rows);
    let mut centroids: Vec<T> = data.row(first).to_vec();
    // Each row's squared distance to its nearest centroid so far, through the norms as
    // in the Lloyd step (and as scikit-learn computes them), clamped at 0 against
    // rounding; 0 for padding rows once the first centroid is in.
    let mut closest = vec![T::infinity(); padded_rows];
    let mut to_candidates = CandidateDistances::new(padded_rows, trials);
    candidate_potentials(panels, &data.select_rows(&[first]), &closest, &mut to_candidates);
    let mut block_sums = to_candidates.move_closer(0, &mut closest);
    for _ in 1..k {
        let total: f64 = block_sums.iter().sum();
        let candidates: Vec<usize> = (0..trials)
            .map(|_| draw(&closest, &block_sums, rng.random::<f64>() * total).min(rows - 1))
            .collect();
        let potentials = candidate_potentials(
            panels,
            &data.select_rows(&candidates),
            &closest,
            &mut to_candidates,
        );
        let best = (0..trials)
            .min_by(|&left, &right| potentials[left].total_cmp(&potentials[right]))
            .unwrap_or(0);
        block_sums = to_candidates.move_closer(best, &mut closest);
        centroids.extend_from_slice(data.row(candidates[best]));
    }
    centroids
}

/// The row where the running sum of `closest` first exceeds `target`: a draw with
/// probability proportional to `closest`. `block_sums` holds the sums of
/// [`ROWS_PER_TASK`] rows at a time, so only one block is walked row by row.
fn draw<T: Scalar>(closest: &[T], block_sums: &[f64], target: f64) -> usize {
    let mut before = 0.0;
    for (block, &sum) in block_sums.iter().enumerate() {
        if before + sum > target {
            let first = block * ROWS_PER_TASK;
            let rows = &closest[first..(first + ROWS_PER_TASK).min(closest.len())];
            let mut running = before;
            for (offset, &distance) in rows.iter().enumerate() {
                running += to_f64(distance);
                if running > target {
                    return first + offset;
                }
            }
            // Rounding kept the walk at or below the target: the block's last row.
            return first + rows.len() - 1;
        }
        before += sum;
    }
    closest.len()
}

/// Each row's squared distance to each k-means++ candidate of one round. Stored task
/// by task ([`ROWS_PER_TASK`] rows), and within a task candidate after candidate, so
/// that every task writes one contiguous chunk and the winner's distances are
/// contiguous per task.
struct CandidateDistances<T> {
    trials: usize,
    values: Vec<T>,
}

impl<T: Scalar> CandidateDistances<T> {
    fn new(padded_rows: usize, trials: usize) -> Self {
        CandidateDistances { trials, values: vec![T::zero(); padded_rows * trials] }
    }

    /// `closest = min(closest, distance to candidate)` row by row; returns the sums of
    /// `closest` per [`ROWS_PER_TASK`] rows, each added in row order, for [`draw`].
    fn move_closer(&self, candidate: usize, closest: &mut [T]) -> Vec<f64> {
        closest
            .par_chunks_mut(ROWS_PER_TASK)
            .zip(self.values.par_chunks(ROWS_PER_TASK * self.trials))
            .map(|(closest, distances)| {
                let distances = &distances[candidate * closest.len()..][..closest.len()];
                closest.iter_mut().zip(distances).fold(0.0, |sum, (closest, &distance)| {
                    *closest = closest.min(distance);
                    sum + to_f64(*closest)
                })
            })
            .collect()
    }
}

/// Writes each row's squared distance to each candidate into `to_candidates` (0 for
/// padding rows) and returns, per candidate, the potential: the sum over rows of the
/// squared distance to the nearer of `closest` and the candidate.
fn candidate_potentials<T: Scalar>(
    panels: &Panels<T>,
    candidates: &Matrix<T>,
    closest: &[T],
    to_candidates: &mut CandidateDistances<T>,
) -> Vec<f64> {
    let trials = candidates.rows();
    let blocks = CentroidBlocks::new(candidates);
    let arch = pulp::Arch::new();
    // Per-task potentials are collected in task order and added in that order, so the
    // choice of candidate does not depend on how rayon split the work.
    let stored = to_candidates.trials;
    let per_task: Vec<Vec<f64>> = to_candidates
        .values
        .par_chunks_mut(ROWS_PER_TASK * stored)
        .enumerate()
        .map(|(task, distances)| {
            let first_panel = task * ROWS_PER_TASK / PANEL;
            let closest = &closest[task * ROWS_PER_TASK..][..distances.len() / stored];
            let candidates = &blocks;
            arch.dispatch(CandidateTask { panels, candidates, first_panel, closest, distances })
        })
        .collect();
    per_task.into_iter().fold(vec![0.0; trials], add_vectors)
}

/// One task of [`candidate_potentials`].
struct CandidateTask<'a, T> {
    panels: &'a Panels<T>,
    candidates: &'a CentroidBlocks<T>,
    first_panel: usize,
    closest: &'a [T],
    /// Candidate after candidate, `closest.len()` rows each (room for at least all
    /// the candidates).
    distances: &'a mut [T],
}

impl<T: Scalar> pulp::WithSimd for CandidateTask<'_, T> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f64> {
        let CandidateTask { panels, candidates, first_panel, closest, distances } = self;
        let rows = closest.len();
        let mut potentials = vec![[0.0f64; PANEL]; candidates.count];
        let closest = closest.as_chunks::<PANEL>().0;
        for (offset, closest) in closest.iter().enumerate() {
            let index = first_panel + offset;
            let panel = panels.panel(index);
            let squared_norms = &panels.squared_norms[index * PANEL..][..PANEL];
            let rows = PanelRows {
                squared_norms,
                closest,
                valid: panels.rows_in(index),
                distances: &mut distances[offset * PANEL..],
                stride: rows,
            };
            candidates.add_potentials(panel, rows, &mut potentials);
        }
        potentials.iter().map(|lanes| lanes.iter().sum()).collect()
    }
}

#[inline(always)]
fn to_f64<T: Scalar>(value: T) -> f64 {
    value.to_f64().unwrap_or(f64::INFINITY)
}

/// The sum of squared distances of the rows to their centroids, computed directly
/// rather than through the norms, so that it carries no cancellation error.
fn exact_inertia<T: Scalar>(data: &Matrix<T>, centroids: &Matrix<T>, labels: &[u32]) -> f64 {
    // Fixed-size chunks summed in order keep the total the same bits on every run, so
    // restarts with equal inertia are always resolved the same way.
    const CHUNK: usize = 4096;
    let partial_sums: Vec<f64> = labels[..data.rows()]
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(chunk, labels)| {
            pulp::Arch::new().dispatch(Inertia { data, centroids, labels, first: chunk * CHUNK })
        })
        .collect();
    partial_sums.iter().sum()
}

/// One chunk of [`exact_inertia`].
struct Inertia<'a, T> {
    data: &'a Matrix<T>,
    centroids: &'a Matrix<T>,
    labels: &'a [u32],
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
                let row = data.row(first + offset);
                to_f64(squared_distance(row, centroids.row(label as usize)))
            })
            .sum()
    }
}

/// The rows farthest from their centroids, one for each empty cluster: where those
/// clusters restart (as scikit-learn relocates empty clusters).
fn farthest_rows<T: Scalar>(
    data: &Matrix<T>,
    centroids: &Matrix<T>,
    labels: &[u32],
    count: usize,
) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let mut distances: Vec<(f64, usize)> = labels[..data.rows()]
        .par_iter()
        .enumerate()
        .map(|(row, &label)| {
            (to_f64(squared_distance(data.row(row), centroids.row(label as usize))), row)
        })
        .collect();
    // Farthest first; the lower row first on equal distances. Only the head is sorted.
    let farther = |left: &(f64, usize), right: &(f64, usize)| {
        right.0.total_cmp(&left.0).then(left.1.cmp(&right.1))
    };
    let count = count.min(distances.len());
    if count < distances.len() {
        distances.select_nth_unstable_by(count - 1, farther);
        distances.truncate(count);
    }
    distances.sort_unstable_by(farther);
    distances.iter().map(|&(_, row)| row).collect()
}

/// Lloyd iterations from `seeds` (k × columns values, row after row). Every pass labels
/// every row (sparse bounds such as Hamerly's skip rows, but on overlapping clusters
/// most rows stay in doubt, and the bookkeeping cost more than the panel kernel saves);
/// the cluster sums are kept in `f64` and updated from the rows that moved.
fn lloyd<T: Scalar>(
    data: &Matrix<T>,
    panels: &Panels<T>,
    seeds: Vec<T>,
    max_iterations: usize,
    shift_tolerance: f64,
) -> KMeansModel<T> {
    let columns = data.columns();
    let k = seeds.len() / columns;
    let mut centroids = Matrix::from_parts(seeds, k, columns);
    // No row has label k, so the first pass moves every row.
    let mut labels = vec![k as u32; panels.padded_rows()];
    let mut sums = vec![0.0; k * columns];
    let mut counts = vec![0i64; k];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations {
        iterations += 1;
        let changes = assign(panels, &CentroidBlocks::new(&centroids), &mut labels, true);
        if changes.moved == 0 {
            converged = true;
            break;
        }
        add_into(&mut sums, &changes.sums);
        counts.iter_mut().zip(&changes.counts).for_each(|(count, change)| *count += change);
        let empty = counts.iter().filter(|&&count| count == 0).count();
        let mut restarts = farthest_rows(data, &centroids, &labels, empty).into_iter();
        let mut next = Vec::with_capacity(k * columns);
        for cluster in 0..k {
            if counts[cluster] == 0 {
                let row = restarts.next().unwrap_or(0);
                next.extend_from_slice(data.row(row));
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
        assign(panels, &CentroidBlocks::new(&centroids), &mut labels, false);
    }
    let inertia = exact_inertia(data, &centroids, &labels);
    let labels = labels[..data.rows()].iter().map(|&label| label as usize).collect();
    KMeansModel { centroids, labels, inertia, iterations }
}
