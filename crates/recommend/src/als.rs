//! Alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008) with the
//! conjugate-gradient inner solver of Takács et al. 2011, as `implicit` does it: each
//! half-iteration takes a few CG steps per row, warm-started from the last factors.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::HistoryItem;
use crate::interactions::{Csr, TrainingData};
use crate::scratch::{Scratch, top_k};

/// Hyper-parameters of ALS.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlsConfig {
    pub factors: usize,
    pub iterations: usize,
    pub regularization: f32,
    /// Confidence of an interaction with weight `w` is `1 + alpha·w`.
    pub alpha: f32,
    /// Conjugate-gradient steps per row and half-iteration.
    pub cg_steps: usize,
    pub seed: u64,
}

impl Default for AlsConfig {
    fn default() -> Self {
        Self {
            factors: 64,
            iterations: 15,
            regularization: 0.01,
            alpha: 1.0,
            cg_steps: 3,
            seed: 42,
        }
    }
}

/// The trained item factors; users are folded in at query time from their history.
#[derive(Clone, Debug)]
pub struct Als {
    pub(crate) config: AlsConfig,
    /// `items × factors`, row-major.
    pub(crate) item_factors: Vec<f32>,
    /// `YᵀY + λI`, cached for fold-in.
    pub(crate) gram: Vec<f32>,
    /// The item factors quantised to 8 bits, for the first pass of a top-k query.
    coarse: CoarseFactors,
}

/// Item factors quantised to 8 bits (each item's values as multiples of its own scale,
/// `max |y| / 127`), with a bound on the rounding's effect on each item's score. A top-k
/// query scans these (a quarter of the bytes of the `f32` factors) and rescores exactly
/// only the items the bound cannot rule out, so its answer is the one a full `f32` scan
/// gives. The values are stored in blocks of [`COARSE_BLOCK`] items, factor by factor,
/// so the scan keeps one item per vector lane and needs no horizontal sums.
#[derive(Clone, Debug)]
struct CoarseFactors {
    /// Per block of [`COARSE_BLOCK`] items, per factor, the items' values (the last block
    /// padded with zero items).
    blocks: Vec<i8>,
    /// Per item (padded like `blocks`), the value of one step of its quantised factors.
    scales: Vec<f32>,
    /// Per item, `m` such that the coarse and the exact score, both summed in `f32`,
    /// differ by at most `‖u‖·m` for any user vector `u`.
    margin: Vec<f32>,
}

/// Items per block of [`CoarseFactors`]: one per lane of an AVX2 vector of `f32`.
const COARSE_BLOCK: usize = 8;

impl CoarseFactors {
    fn new(item_factors: &[f32], factors: usize) -> Self {
        let f = factors.max(1);
        let items = item_factors.len() / f;
        let padded = items.div_ceil(COARSE_BLOCK) * COARSE_BLOCK;
        let mut blocks = vec![0i8; padded * f];
        let mut scales = vec![0f32; padded];
        let mut margin = Vec::with_capacity(items);
        // |u·y − u·ŷ| ≤ ‖u‖·‖y − ŷ‖ (Cauchy–Schwarz); an f32 sum of `factors` products,
        // in any order, is off the real one by less than (factors + 16)·2⁻²⁴·‖u‖·‖y‖
        // (terms with their absolute values, again by Cauchy–Schwarz), once for y and
        // once for ŷ, where ‖ŷ‖ ≤ ‖y‖ + ‖y − ŷ‖; scaling, adding and comparing the
        // bounds round by a few 2⁻²⁴·|score| more, and |score| ≤ ‖u‖·‖ŷ‖. The last
        // factor covers the margin's own arithmetic.
        let summing = (2.2 * (factors as f32 + 16.0) + 8.0) * f32::EPSILON / 2.0;
        for (item, exact) in item_factors.chunks_exact(f).enumerate() {
            let largest = exact.iter().fold(0f32, |most, value| most.max(value.abs()));
            let scale = largest / 127.0;
            let (block, lane) = (item / COARSE_BLOCK, item % COARSE_BLOCK);
            let (mut error, mut norm) = (0f32, 0f32);
            for (factor, &value) in exact.iter().enumerate() {
                let step =
                    if scale > 0.0 { (value / scale).round().clamp(-127.0, 127.0) } else { 0.0 };
                blocks[(block * f + factor) * COARSE_BLOCK + lane] = step as i8;
                let difference = value - step * scale;
                error += difference * difference;
                norm += value * value;
            }
            scales[item] = scale;
            let error = error.sqrt();
            margin.push((error + summing * (norm.sqrt() + error)) * 1.001);
        }
        CoarseFactors { blocks, scales, margin }
    }
}

/// Coarse scores of the items of whole [`CoarseFactors`] blocks: each lane of an
/// accumulator is one item, and four accumulators take turns over the factors so that
/// their additions overlap.
#[inline(always)]
fn coarse_scores(blocks: &[i8], scales: &[f32], user: &[f32], scores: &mut [f32]) {
    const CHAINS: usize = 4;
    let f = user.len();
    for ((block, scales), scores) in blocks
        .chunks_exact(COARSE_BLOCK * f)
        .zip(scales.chunks_exact(COARSE_BLOCK))
        .zip(scores.chunks_mut(COARSE_BLOCK))
    {
        let mut sums = [[0f32; COARSE_BLOCK]; CHAINS];
        let (values, users) =
            (block.chunks_exact(CHAINS * COARSE_BLOCK), user.chunks_exact(CHAINS));
        let (tail_values, tail_users) = (values.remainder(), users.remainder());
        for (values, users) in values.zip(users) {
            for (chain, sums) in sums.iter_mut().enumerate() {
                for lane in 0..COARSE_BLOCK {
                    sums[lane] += f32::from(values[chain * COARSE_BLOCK + lane]) * users[chain];
                }
            }
        }
        for (values, &user) in tail_values.chunks_exact(COARSE_BLOCK).zip(tail_users) {
            for lane in 0..COARSE_BLOCK {
                sums[0][lane] += f32::from(values[lane]) * user;
            }
        }
        for (lane, score) in scores.iter_mut().enumerate() {
            *score =
                scales[lane] * ((sums[0][lane] + sums[1][lane]) + (sums[2][lane] + sums[3][lane]));
        }
    }
}

/// A dot product with eight independent partial sums, so the compiler can use SIMD
/// (one running sum would force strict left-to-right float additions). Always inlined so
/// that, called under [`pulp::Arch::dispatch`], it is compiled for the CPU's widest vectors.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    lane_dot::<f32, 8>(a, b)
}

/// [`dot`] of `f64` values, four partial sums (one AVX2 vector).
#[inline(always)]
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    lane_dot::<f64, 4>(a, b)
}

/// A dot product with `LANES` independent partial sums, added up in order at the end.
#[inline(always)]
fn lane_dot<T, const LANES: usize>(a: &[T], b: &[T]) -> T
where
    T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<Output = T> + std::iter::Sum,
{
    let mut partial = [T::default(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: T = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(&x, &y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] = partial[lane] + x[lane] * y[lane];
        }
    }
    partial.iter().copied().sum::<T>() + tail
}

/// `FᵀF + λI` for a row-major `rows × factors` matrix.
fn regularized_gram(factors_matrix: &[f32], factors: usize, regularization: f32) -> Vec<f32> {
    let arch = pulp::Arch::new();
    // The blocks' sums are added in block order: a parallel reduction would add them in
    // whatever order the threads finish, and the same seed would give different factors.
    let partials: Vec<Vec<f32>> = factors_matrix
        .par_chunks(factors * 1024)
        .map(|block| {
            let mut partial = vec![0f32; factors * factors];
            arch.dispatch(GramBlock { block, factors, partial: &mut partial });
            partial
        })
        .collect();
    let mut gram = vec![0f32; factors * factors];
    for partial in &partials {
        gram.iter_mut().zip(partial).for_each(|(x, y)| *x += y);
    }
    for a in 0..factors {
        gram[a * factors + a] += regularization;
    }
    gram
}

/// Adds `FᵀF` of a block of rows to `partial` (see [`SolveRow`] for why a struct).
struct GramBlock<'a> {
    block: &'a [f32],
    factors: usize,
    partial: &'a mut [f32],
}

impl pulp::WithSimd for GramBlock<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let GramBlock { block, factors, partial } = self;
        for row in block.chunks(factors) {
            for (a, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    for (out, &other) in partial[a * factors..(a + 1) * factors].iter_mut().zip(row)
                    {
                        *out += value * other;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn multiply(matrix: &[f32], vector: &[f32], out: &mut [f32]) {
    let n = vector.len();
    for (row, value) in out.iter_mut().enumerate() {
        *value = dot(&matrix[row * n..(row + 1) * n], vector);
    }
}

/// The three work vectors of one row's conjugate-gradient solve.
struct CgVectors {
    residual: Vec<f32>,
    direction: Vec<f32>,
    product: Vec<f32>,
}

/// One half-iteration: update every row of `target` given the `fixed` side.
fn conjugate_gradient_update(target: &mut [f32], matrix: &Csr, fixed: &[f32], config: &AlsConfig) {
    let f = config.factors;
    let gram = regularized_gram(fixed, f, config.regularization);
    // Detected once; each row's solve is then compiled with AVX2 enabled where the CPU
    // has it (1.27× the SSE2 build's training speed, measured), without unsafe code.
    let arch = pulp::Arch::new();
    target.par_chunks_mut(f).enumerate().for_each_init(
        || CgVectors { residual: vec![0f32; f], direction: vec![0f32; f], product: vec![0f32; f] },
        |vectors, (row, x)| {
            let (columns, values) = matrix.row(row);
            arch.dispatch(SolveRow { x, columns, values, fixed, gram: &gram, config, vectors });
        },
    );
}

/// A few conjugate-gradient steps on one row's normal equations, warm-started from `x`.
///
/// A struct rather than a closure: pulp compiles `with_simd` (always inlined, with
/// everything it calls) inside a function with AVX2/FMA enabled, whereas a closure's
/// body is a function of its own that the compiler may leave out of line, at the
/// baseline instruction set.
struct SolveRow<'a> {
    x: &'a mut [f32],
    columns: &'a [u32],
    values: &'a [f32],
    fixed: &'a [f32],
    gram: &'a [f32],
    config: &'a AlsConfig,
    vectors: &'a mut CgVectors,
}

impl pulp::WithSimd for SolveRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let SolveRow { x, columns, values, fixed, gram, config, vectors } = self;
        let f = config.factors;
        let CgVectors { residual, direction, product } = vectors;
        // residual = b − A·x, with A = YᵀY + λI + Σ (c − 1)·y·yᵀ and b = Σ c·y.
        multiply(gram, x, residual);
        residual.iter_mut().for_each(|r| *r = -*r);
        for (&column, &value) in columns.iter().zip(values) {
            let confidence = 1.0 + config.alpha * value;
            let y = &fixed[column as usize * f..(column as usize + 1) * f];
            let scale = confidence - (confidence - 1.0) * dot(y, x);
            residual.iter_mut().zip(y).for_each(|(r, &yv)| *r += scale * yv);
        }
        direction.copy_from_slice(residual);
        let mut residual_norm = dot(residual, residual);
        for _ in 0..config.cg_steps {
            if residual_norm < 1e-20 {
                break;
            }
            multiply(gram, direction, product);
            for (&column, &value) in columns.iter().zip(values) {
                let y = &fixed[column as usize * f..(column as usize + 1) * f];
                let scale = config.alpha * value * dot(y, direction);
                product.iter_mut().zip(y).for_each(|(p, &yv)| *p += scale * yv);
            }
            let step = residual_norm / dot(direction, product);
            x.iter_mut().zip(direction.iter()).for_each(|(xv, &d)| *xv += step * d);
            residual.iter_mut().zip(product.iter()).for_each(|(r, &p)| *r -= step * p);
            let next_norm = dot(residual, residual);
            let ratio = next_norm / residual_norm;
            direction.iter_mut().zip(residual.iter()).for_each(|(d, &r)| *d = r + ratio * *d);
            residual_norm = next_norm;
        }
    }
}

pub fn train_als(data: &TrainingData, config: &AlsConfig) -> Als {
    let f = config.factors;
    let mut random = Xoshiro256PlusPlus::seed_from_u64(config.seed);
    let mut init = |rows: usize| -> Vec<f32> {
        (0..rows * f).map(|_| random.random::<f32>() * 0.01).collect()
    };
    let mut user_factors = init(data.rows.rows());
    let mut item_factors = init(data.items);
    let by_item = data.rows.transpose(data.items);
    for _ in 0..config.iterations {
        conjugate_gradient_update(&mut user_factors, &data.rows, &item_factors, config);
        conjugate_gradient_update(&mut item_factors, &by_item, &user_factors, config);
    }
    Als::from_factors(*config, item_factors)
}

impl Als {
    pub(crate) fn from_factors(config: AlsConfig, item_factors: Vec<f32>) -> Self {
        let gram = regularized_gram(&item_factors, config.factors, config.regularization);
        let coarse = CoarseFactors::new(&item_factors, config.factors);
        Als { config, item_factors, gram, coarse }
    }

    fn item(&self, item: u32) -> &[f32] {
        let f = self.config.factors;
        &self.item_factors[item as usize * f..(item as usize + 1) * f]
    }

    /// The user vector that best explains `history`, solved exactly (Cholesky).
    pub(crate) fn fold_in(&self, history: &[HistoryItem]) -> Vec<f32> {
        let f = self.config.factors;
        let mut matrix: Vec<f64> = self.gram.iter().map(|&v| f64::from(v)).collect();
        let mut rhs = vec![0f64; f];
        pulp::Arch::new().dispatch(AddHistory {
            als: self,
            history,
            matrix: &mut matrix,
            rhs: &mut rhs,
        });
        rhs.into_iter().map(|v| v as f32).collect()
    }

    /// Every item's exact score after `history`, into `scratch.item_scores`.
    pub(crate) fn score(&self, history: &[HistoryItem], scratch: &mut Scratch) {
        let user = self.fold_in(history);
        self.scan(Factors::Exact(&self.item_factors), &user, &mut scratch.item_scores);
    }

    /// The `k` best items after `history` for which `keep` is true, exactly as ranking
    /// [`Als::score`]'s scores would give them, but reading a quarter of the bytes: a first pass
    /// scores every item from its 8-bit factors, the `k`-th best lower bound
    /// (coarse score − margin) among kept items is a threshold no true top-`k` score is
    /// below, and only the items whose upper bound reaches it are rescored exactly.
    pub(crate) fn top_k(
        &self,
        history: &[HistoryItem],
        k: usize,
        keep: &mut impl FnMut(u32) -> bool,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        if k == 0 {
            return Vec::new();
        }
        let user = self.fold_in(history);
        let scores = &mut scratch.item_scores;
        self.scan(Factors::Coarse(&self.coarse.blocks, &self.coarse.scales), &user, scores);
        let user_norm = dot(&user, &user).sqrt() * 1.001;
        let margins = &self.coarse.margin;
        let Some(threshold) = kth_best_lower_bound(scores, margins, user_norm, k, &mut *keep)
        else {
            // Fewer than `k` items are kept: rank them all exactly.
            self.scan(Factors::Exact(&self.item_factors), &user, scores);
            let items = scores.len() as u32;
            return top_k(0..items, |item| scores[item as usize], k, keep);
        };
        let mut candidates = Vec::new();
        for (chunk, (coarse, margins)) in
            scores.chunks(BOUND_CHUNK).zip(margins.chunks(BOUND_CHUNK)).enumerate()
        {
            let reaches = |(&score, &margin): (&f32, &f32)| {
                let upper = score + user_norm * margin;
                upper >= threshold || upper.is_nan()
            };
            // One vectorised test per chunk; most chunks hold no candidate.
            if coarse.iter().zip(margins).fold(false, |any, pair| any | reaches(pair)) {
                let first = chunk * BOUND_CHUNK;
                candidates.extend(
                    coarse
                        .iter()
                        .zip(margins)
                        .enumerate()
                        .filter(|&(_, pair)| reaches(pair))
                        .map(|(offset, _)| (first + offset) as u32),
                );
            }
        }
        for &item in &candidates {
            scores[item as usize] = dot(self.item(item), &user);
        }
        top_k(candidates.into_iter(), |item| scores[item as usize], k, keep)
    }

    /// Scores every item against `user` into `scores`. The scan reads every item vector
    /// (12.8 MB of `f32`, 3.2 MB of coarse values for 50,000 items × 64 factors), so a
    /// large catalogue is split across the cores, as `implicit`'s top-k does; a small one
    /// is not worth the hand-off. Tasks take whole coarse blocks.
    fn scan(&self, factors: Factors<'_>, user: &[f32], scores: &mut [f32]) {
        let arch = pulp::Arch::new();
        let f = self.config.factors;
        if self.item_factors.len() <= 2 * SCAN_FLOATS_PER_TASK {
            arch.dispatch(ScoreItems { factors, user, scores });
            return;
        }
        let items_per_task = SCAN_FLOATS_PER_TASK.div_ceil(f * COARSE_BLOCK).max(1) * COARSE_BLOCK;
        scores.par_chunks_mut(items_per_task).enumerate().for_each(|(task, scores)| {
            let first = task * items_per_task;
            let factors = match factors {
                Factors::Exact(all) => Factors::Exact(&all[first * f..(first + scores.len()) * f]),
                Factors::Coarse(blocks, scales) => {
                    let padded = first + scores.len().div_ceil(COARSE_BLOCK) * COARSE_BLOCK;
                    Factors::Coarse(&blocks[first * f..padded * f], &scales[first..padded])
                }
            };
            arch.dispatch(ScoreItems { factors, user, scores });
        });
    }

    pub(crate) fn explain(&self, history: &[HistoryItem], item: u32) -> Option<u32> {
        let target = self.item(item);
        history
            .iter()
            .map(|entry| (entry.item, dot(self.item(entry.item), target)))
            .filter(|&(_, similarity)| similarity > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(item, _)| item)
    }
}

/// Items per vectorised test of the top-k query's bound passes.
const BOUND_CHUNK: usize = 64;

/// The `k`-th best lower bound `score − norm·margin` among the items `keep` accepts, or
/// `None` when it accepts fewer than `k` (NaN bounds are skipped, as [`top_k`] does).
/// Once `k` bounds are held, a chunk none of whose bounds beats the `k`-th is passed
/// over with one vectorised test, so `keep` is asked about few items.
fn kth_best_lower_bound(
    scores: &[f32],
    margins: &[f32],
    norm: f32,
    k: usize,
    mut keep: impl FnMut(u32) -> bool,
) -> Option<f32> {
    let mut best: Vec<f32> = Vec::with_capacity(k + 1);
    let mut threshold = f32::NEG_INFINITY;
    for (chunk, (scores, margins)) in
        scores.chunks(BOUND_CHUNK).zip(margins.chunks(BOUND_CHUNK)).enumerate()
    {
        let lower = |(&score, &margin): (&f32, &f32)| score - norm * margin;
        let full = best.len() == k;
        if full
            && !scores.iter().zip(margins).fold(false, |any, pair| any | (lower(pair) > threshold))
        {
            continue;
        }
        for (offset, pair) in scores.iter().zip(margins).enumerate() {
            let bound = lower(pair);
            if bound.is_nan() || (best.len() == k && bound <= threshold) {
                continue;
            }
            if !keep((chunk * BOUND_CHUNK + offset) as u32) {
                continue;
            }
            let at = best.partition_point(|&held| held >= bound);
            best.insert(at, bound);
            best.truncate(k);
            if best.len() == k {
                threshold = best[k - 1];
            }
        }
    }
    (best.len() == k).then_some(threshold)
}

/// Factor values one task of the catalogue scan reads (256 KiB): large enough that
/// handing it to another core costs little, small enough to share a 50,000-item scan.
const SCAN_FLOATS_PER_TASK: usize = 64 * 1024;

/// Adds `Σ (c−1)·y·yᵀ` of a history to the lower triangle of `matrix` (all that
/// [`cholesky_solve`] reads) and `Σ c·y` to `rhs`, then solves for the user vector into
/// `rhs` (see [`SolveRow`] for why a struct).
struct AddHistory<'a> {
    als: &'a Als,
    history: &'a [HistoryItem],
    matrix: &'a mut [f64],
    rhs: &'a mut [f64],
}

impl pulp::WithSimd for AddHistory<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let AddHistory { als, history, matrix, rhs } = self;
        let f = als.config.factors;
        let mut y = vec![0f64; f];
        for entry in history {
            let confidence = f64::from(1.0 + als.config.alpha * entry.weight);
            for (out, &value) in y.iter_mut().zip(als.item(entry.item)) {
                *out = f64::from(value);
            }
            for a in 0..f {
                rhs[a] += confidence * y[a];
                let scaled = (confidence - 1.0) * y[a];
                for (out, &yb) in matrix[a * f..=a * f + a].iter_mut().zip(&y[..=a]) {
                    *out += scaled * yb;
                }
            }
        }
        cholesky_solve(matrix, rhs, f);
    }
}

/// Item factors to scan: exact, or quantised to 8 bits with a scale per item (in
/// [`CoarseFactors`] blocks).
#[derive(Clone, Copy)]
enum Factors<'a> {
    Exact(&'a [f32]),
    Coarse(&'a [i8], &'a [f32]),
}

/// Every item's score for one user vector (see [`SolveRow`] for why a struct).
struct ScoreItems<'a> {
    factors: Factors<'a>,
    user: &'a [f32],
    scores: &'a mut [f32],
}

impl pulp::WithSimd for ScoreItems<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let f = self.user.len();
        match self.factors {
            Factors::Exact(factors) => {
                for (score, item) in self.scores.iter_mut().zip(factors.chunks_exact(f)) {
                    *score = dot(item, self.user);
                }
            }
            Factors::Coarse(blocks, scales) => {
                coarse_scores(blocks, scales, self.user, self.scores)
            }
        }
    }
}

/// Solves `A·x = b` for symmetric positive definite `A` (overwritten), `x` into `b`,
/// reading only the lower triangle of `A`. Always inlined so that, called from
/// [`AddHistory`] under [`pulp::Arch::dispatch`], its row dot products use AVX2.
#[inline(always)]
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) {
    for j in 0..n {
        let diagonal =
            (a[j * n + j] - dot_f64(&a[j * n..j * n + j], &a[j * n..j * n + j])).max(1e-12).sqrt();
        a[j * n + j] = diagonal;
        for i in j + 1..n {
            let value = a[i * n + j] - dot_f64(&a[i * n..i * n + j], &a[j * n..j * n + j]);
            a[i * n + j] = value / diagonal;
        }
    }
    for i in 0..n {
        b[i] = (b[i] - dot_f64(&a[i * n..i * n + i], &b[..i])) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut value = b[i];
        for k in i + 1..n {
            value -= a[k * n + i] * b[k];
        }
        b[i] = value / a[i * n + i];
    }
}
