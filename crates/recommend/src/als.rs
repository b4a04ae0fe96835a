//! Alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008) with the
//! conjugate-gradient inner solver of Takács et al. 2011, as `implicit` does it: each
//! half-iteration takes a few CG steps per row, warm-started from the last factors.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::HistoryItem;
use crate::interactions::{Csr, TrainingData};
use crate::scratch::Scratch;

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
}

/// A dot product with eight independent partial sums, so the compiler can use SIMD
/// (one running sum would force strict left-to-right float additions). Always inlined so
/// that, called under [`pulp::Arch::dispatch`], it is compiled for the CPU's widest vectors.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut partial = [0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            partial[lane] += x[lane] * y[lane];
        }
    }
    partial.iter().sum::<f32>() + tail
}

/// `FᵀF + λI` for a row-major `rows × factors` matrix.
fn regularized_gram(factors_matrix: &[f32], factors: usize, regularization: f32) -> Vec<f32> {
    let arch = pulp::Arch::new();
    let mut gram = factors_matrix
        .par_chunks(factors * 1024)
        .map(|block| {
            let mut partial = vec![0f32; factors * factors];
            arch.dispatch(GramBlock { block, factors, partial: &mut partial });
            partial
        })
        .reduce(
            || vec![0f32; factors * factors],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
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
    let gram = regularized_gram(&item_factors, f, config.regularization);
    Als { config: *config, item_factors, gram }
}

impl Als {
    pub(crate) fn from_factors(config: AlsConfig, item_factors: Vec<f32>) -> Self {
        let gram = regularized_gram(&item_factors, config.factors, config.regularization);
        Als { config, item_factors, gram }
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
        for entry in history {
            let confidence = f64::from(1.0 + self.config.alpha * entry.weight);
            let y = self.item(entry.item);
            for a in 0..f {
                let ya = f64::from(y[a]);
                rhs[a] += confidence * ya;
                for b in 0..f {
                    matrix[a * f + b] += (confidence - 1.0) * ya * f64::from(y[b]);
                }
            }
        }
        cholesky_solve(&mut matrix, &mut rhs, f);
        rhs.into_iter().map(|v| v as f32).collect()
    }

    pub(crate) fn score(&self, history: &[HistoryItem], scratch: &mut Scratch) {
        let user = self.fold_in(history);
        let f = self.config.factors;
        let arch = pulp::Arch::new();
        // The scan reads every item vector (12.8 MB for 50,000 items × 64 factors) and is
        // bound by one core's memory bandwidth, so a large catalogue is split across the
        // cores, as `implicit`'s top-k does; a small one is not worth the hand-off.
        if self.item_factors.len() <= 2 * SCAN_FLOATS_PER_TASK {
            let scores = &mut scratch.item_scores;
            arch.dispatch(ScoreItems { item_factors: &self.item_factors, user: &user, scores });
            return;
        }
        let items_per_task = SCAN_FLOATS_PER_TASK.div_ceil(f).max(1);
        scratch
            .item_scores
            .par_chunks_mut(items_per_task)
            .zip(self.item_factors.par_chunks(items_per_task * f))
            .for_each(|(scores, item_factors)| {
                arch.dispatch(ScoreItems { item_factors, user: &user, scores });
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

/// Factor values one task of the catalogue scan reads (256 KiB): large enough that
/// handing it to another core costs little, small enough to share a 50,000-item scan.
const SCAN_FLOATS_PER_TASK: usize = 64 * 1024;

/// Every item's score for one user vector (see [`SolveRow`] for why a struct).
struct ScoreItems<'a> {
    item_factors: &'a [f32],
    user: &'a [f32],
    scores: &'a mut [f32],
}

impl pulp::WithSimd for ScoreItems<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let factors = self.user.len();
        for (score, item) in self.scores.iter_mut().zip(self.item_factors.chunks_exact(factors)) {
            *score = dot(item, self.user);
        }
    }
}

/// Solves `A·x = b` for symmetric positive definite `A` (overwritten), `x` into `b`.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) {
    for j in 0..n {
        let mut diagonal = a[j * n + j];
        for k in 0..j {
            diagonal -= a[j * n + k] * a[j * n + k];
        }
        let diagonal = diagonal.max(1e-12).sqrt();
        a[j * n + j] = diagonal;
        for i in j + 1..n {
            let mut value = a[i * n + j];
            for k in 0..j {
                value -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = value / diagonal;
        }
    }
    for i in 0..n {
        let mut value = b[i];
        for k in 0..i {
            value -= a[i * n + k] * b[k];
        }
        b[i] = value / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut value = b[i];
        for k in i + 1..n {
            value -= a[k * n + i] * b[k];
        }
        b[i] = value / a[i * n + i];
    }
}
