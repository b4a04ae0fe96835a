//! The numeric kernels: a packed matrix product with its bias, the
//! activations, residual + layer normalisation, and attention over one text.
//!
//! Each runs under `pulp::Arch::dispatch` (as a struct implementing
//! `WithSimd`), which compiles it for AVX2 + FMA (and Neon) and picks it at
//! run time. On CPUs with AVX-512F the matrix product's inner block runs
//! [`avx512`]'s kernel instead (12 × 32 sums in registers). Elsewhere it is
//! written with pulp's explicit vector types, so its 6 × 16 block of sums is
//! in registers whatever the optimiser decides; an auto-vectorised version of the same loops came out scalar or
//! as gathers depending on how the crate was split into codegen units. The
//! other kernels are plain loops the compiler vectorises: fixed-width lane
//! arrays and no reduction across lanes in a hot loop (floating-point
//! reductions are not reordered, so they would stay scalar).

use pulp::Simd;
use rayon::prelude::*;

use crate::Activation;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Outputs per packed weight panel (two passes of the 16-wide kernel).
pub(crate) const PANEL: usize = 32;

/// Rows per block of the pulp matrix kernel: 6 rows × 2 AVX2 vectors of sums
/// is 12 of the 16 registers, leaving room for two weight vectors and a
/// broadcast.
const BLOCK_ROWS: usize = 6;

/// Activation buffers hold a multiple of this many rows (every kernel's row
/// block divides it); the extra rows are never read back.
pub(crate) const ROW_ALIGN: usize = 12;
#[cfg(target_arch = "x86_64")]
const _: () = assert!(ROW_ALIGN.is_multiple_of(avx512::BLOCK_ROWS));

/// Rows per task of [`dense`] at most. More rows per task means each weight
/// fetched from memory serves more rows; a task's rows times one [`DEPTH`]
/// slice of inputs (384 × 256 values, 384 KiB) stay in the L2 cache while
/// the panels pass over them.
const MAX_CHUNK_ROWS: usize = 384;

/// Inputs per pass of a block product: 256 × [`PANEL`] weights are 32 KiB,
/// two thirds of a 48 KiB L1 data cache. (128 measured 3% slower.)
const DEPTH: usize = 256;

/// A linear layer's weights packed for [`dense`]: panels of [`PANEL`]
/// outputs, each panel `inputs × PANEL` values with one input's weights
/// contiguous; outputs past `outputs` in the last panel are zero.
pub(crate) struct Dense {
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// Packs `weight` (`outputs × inputs`, row-major: PyTorch's `Linear`).
    pub(crate) fn pack(weight: &[f32], bias: Vec<f32>, inputs: usize, outputs: usize) -> Dense {
        debug_assert_eq!(weight.len(), inputs * outputs);
        debug_assert_eq!(bias.len(), outputs);
        let panel_count = outputs.div_ceil(PANEL);
        let mut panels = vec![0.0; panel_count * inputs * PANEL];
        for (panel_index, panel) in panels.chunks_exact_mut(inputs * PANEL).enumerate() {
            for (input, slot) in panel.chunks_exact_mut(PANEL).enumerate() {
                for (lane, value) in slot.iter_mut().enumerate() {
                    let output = panel_index * PANEL + lane;
                    if output < outputs {
                        *value = weight[output * inputs + input];
                    }
                }
            }
        }
        Dense { inputs, outputs, panels, bias }
    }
}

/// `out = input · Wᵀ + bias`, row by row; `input` holds a multiple of
/// [`ROW_ALIGN`] rows of `layer.inputs` values.
pub(crate) fn dense(input: &[f32], layer: &Dense, out: &mut [f32]) {
    dense_with(MatrixKernel::best(), input, layer, out);
}

/// Which block product [`dense`] runs.
#[derive(Clone, Copy, Debug)]
enum MatrixKernel {
    #[cfg(target_arch = "x86_64")]
    Avx512(avx512::Avx512),
    /// pulp's dispatch: AVX2 + FMA, Neon, or portable code.
    Pulp,
}

impl MatrixKernel {
    fn best() -> MatrixKernel {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx512) = avx512::Avx512::detect() {
            return MatrixKernel::Avx512(avx512);
        }
        MatrixKernel::Pulp
    }
}

fn dense_with(kernel: MatrixKernel, input: &[f32], layer: &Dense, out: &mut [f32]) {
    let rows = input.len() / layer.inputs;
    debug_assert_eq!(rows % ROW_ALIGN, 0);
    debug_assert_eq!(out.len(), rows * layer.outputs);
    // One task per thread: a batch's weights are read once per task, so
    // fewer, larger tasks read them less often (measured 4% faster than two
    // tasks per thread).
    let threads = rayon::current_num_threads().max(1);
    let chunk_rows =
        rows.div_ceil(threads).next_multiple_of(ROW_ALIGN).clamp(ROW_ALIGN, MAX_CHUNK_ROWS);
    input
        .par_chunks(chunk_rows * layer.inputs)
        .zip(out.par_chunks_mut(chunk_rows * layer.outputs))
        .for_each(|(input, out)| dense_rows(kernel, input, out, layer));
}

fn dense_rows(kernel: MatrixKernel, input: &[f32], out: &mut [f32], layer: &Dense) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        MatrixKernel::Avx512(avx512) => {
            let packed = pack_blocks(input, layer.inputs, avx512::BLOCK_ROWS);
            product_rows(&packed, out, layer, |block, panel, tile| {
                avx512.block_product(block, panel, tile)
            });
        }
        MatrixKernel::Pulp => {
            let packed = pack_blocks(input, layer.inputs, BLOCK_ROWS);
            pulp::Arch::new().dispatch(DenseRows { packed: &packed, out, layer });
        }
    }
}

/// The rows, input-major within blocks of `block_rows`: one input's values
/// of a block are adjacent, as the block products read them.
fn pack_blocks(input: &[f32], inputs: usize, block_rows: usize) -> Vec<f32> {
    let mut packed = vec![0.0f32; input.len()];
    for (block, source) in
        packed.chunks_exact_mut(block_rows * inputs).zip(input.chunks_exact(block_rows * inputs))
    {
        for (row, values) in source.chunks_exact(inputs).enumerate() {
            for (input_index, &value) in values.iter().enumerate() {
                block[input_index * block_rows + row] = value;
            }
        }
    }
    packed
}

struct DenseRows<'a> {
    packed: &'a [f32],
    out: &'a mut [f32],
    layer: &'a Dense,
}

impl pulp::WithSimd for DenseRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let DenseRows { packed, out, layer } = self;
        product_rows(packed, out, layer, |block, panel, tile| {
            block_product(simd, block, panel, tile)
        });
    }
}

/// `out = packed · Wᵀ + bias` given a kernel that adds one block of `ROWS`
/// packed rows times a slice of a panel onto a tile of sums.
#[inline(always)]
fn product_rows<const ROWS: usize>(
    packed: &[f32],
    out: &mut [f32],
    layer: &Dense,
    block_product: impl Fn(&[f32], &[f32], &mut Tile<ROWS>),
) {
    let Dense { inputs, outputs, ref panels, ref bias } = *layer;
    let mut tiles = vec![[[0.0f32; PANEL]; ROWS]; packed.len() / (ROWS * inputs)];
    for (panel_index, panel) in panels.chunks_exact(inputs * PANEL).enumerate() {
        let first = panel_index * PANEL;
        let width = PANEL.min(outputs - first);
        let mut bias_row = [0.0f32; PANEL];
        bias_row[..width].copy_from_slice(&bias[first..first + width]);
        tiles.iter_mut().flatten().for_each(|row| *row = bias_row);
        // A slice of DEPTH inputs of the panel stays in the L1 cache while
        // every row block passes over it; the sums stay in the tiles until
        // the whole panel is done.
        for start_input in (0..inputs).step_by(DEPTH) {
            let end_input = (start_input + DEPTH).min(inputs);
            let panel = &panel[start_input * PANEL..end_input * PANEL];
            for (block, tile) in packed.chunks_exact(ROWS * inputs).zip(&mut tiles) {
                block_product(&block[start_input * ROWS..end_input * ROWS], panel, tile);
            }
        }
        let rows = tiles.iter().flatten();
        for (out, sums) in out.chunks_exact_mut(outputs).zip(rows) {
            out[first..first + width].copy_from_slice(&sums[..width]);
        }
    }
}

/// The sums of one block of rows for one panel.
type Tile<const ROWS: usize> = [[f32; PANEL]; ROWS];

/// Adds one block of rows times one panel slice onto `tile`, in column
/// groups of two vectors: the `BLOCK_ROWS × 2` vector sums stay in registers
/// over the whole slice.
#[inline(always)]
fn block_product<S: Simd>(simd: S, block: &[f32], panel: &[f32], tile: &mut Tile<BLOCK_ROWS>) {
    let group = 2 * S::F32_LANES;
    for first in (0..PANEL).step_by(group) {
        let mut vectors = [[simd.splat_f32s(0.0); 2]; BLOCK_ROWS];
        for (vector, row) in vectors.iter_mut().zip(tile.iter()) {
            let (sums, _) = S::as_simd_f32s(&row[first..first + group]);
            vector.copy_from_slice(sums);
        }
        for (values, weights) in block.chunks_exact(BLOCK_ROWS).zip(panel.chunks_exact(PANEL)) {
            let (weights, _) = S::as_simd_f32s(&weights[first..first + group]);
            let (low, high) = (weights[0], weights[1]);
            for (vector, &value) in vectors.iter_mut().zip(values) {
                let value = simd.splat_f32s(value);
                vector[0] = simd.mul_add_f32s(value, low, vector[0]);
                vector[1] = simd.mul_add_f32s(value, high, vector[1]);
            }
        }
        for (row, vector) in tile.iter_mut().zip(&vectors) {
            let (slots, _) = S::as_mut_simd_f32s(&mut row[first..first + group]);
            slots.copy_from_slice(vector);
        }
    }
}

/// Applies `activation` to every value, in parallel.
pub(crate) fn activate(values: &mut [f32], activation: Activation) {
    values.par_chunks_mut(1 << 14).for_each(|values| {
        pulp::Arch::new().dispatch(Activate { values, activation });
    });
}

struct Activate<'a> {
    values: &'a mut [f32],
    activation: Activation,
}

impl pulp::WithSimd for Activate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Activate { values, activation } = self;
        match activation {
            Activation::Gelu => {
                for value in values {
                    *value = 0.5 * *value * (1.0 + erf(*value * std::f32::consts::FRAC_1_SQRT_2));
                }
            }
            Activation::GeluTanh => {
                // tanh(y) = 1 − 2 / (e^{2y} + 1)
                const SQRT_2_OVER_PI: f32 = 0.797_884_6;
                for value in values {
                    let x = *value;
                    let y = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
                    let tanh = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
                    *value = 0.5 * x * (1.0 + tanh);
                }
            }
            Activation::Relu => {
                for value in values {
                    *value = value.max(0.0);
                }
            }
        }
    }
}

/// The error function, as a rational function on [−4, 4] (Eigen's
/// `generic_fast_erf_float`); outside it erf is ±1 in single precision.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    p *= x;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329_3e-3;
    q = x2 * q + -1.426_473_9e-2;
    p / q
}

/// e^x to about one unit in the last place (Cephes' `expf`: x = n ln 2 + r,
/// a degree-6 polynomial for e^r, 2^n put in the exponent bits). Inputs are
/// clamped to where the result is a normal number.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let mut p = 1.987_569_1e-4 * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let scale = f32::from_bits((((n as i32) + 127) as u32) << 23);
    e_r * scale
}

/// The sum of `f(value)` over `values` with 16 independent partial sums, so
/// that it vectorises (a single running sum would stay scalar: floating-point
/// additions are not reordered).
#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 16];
    let chunks = values.chunks_exact(16);
    let rest: f32 = chunks.remainder().iter().map(|&value| f(value)).sum();
    for chunk in chunks {
        for (lane, &value) in lanes.iter_mut().zip(chunk) {
            *lane += f(value);
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// Layer normalisation's weights.
pub(crate) struct Norm {
    pub(crate) gamma: Vec<f32>,
    pub(crate) beta: Vec<f32>,
    pub(crate) eps: f32,
}

/// `rows = norm(rows + residual)` row by row (`residual` may be empty: no
/// residual), in parallel.
pub(crate) fn add_and_normalise(rows: &mut [f32], residual: &[f32], norm: &Norm) {
    let width = norm.gamma.len();
    const ROWS_PER_TASK: usize = 64;
    if residual.is_empty() {
        rows.par_chunks_mut(ROWS_PER_TASK * width).for_each(|rows| normalise_rows(rows, &[], norm));
    } else {
        rows.par_chunks_mut(ROWS_PER_TASK * width)
            .zip(residual.par_chunks(ROWS_PER_TASK * width))
            .for_each(|(rows, residual)| normalise_rows(rows, residual, norm));
    }
}

fn normalise_rows(rows: &mut [f32], residual: &[f32], norm: &Norm) {
    pulp::Arch::new().dispatch(NormaliseRows { rows, residual, norm });
}

struct NormaliseRows<'a> {
    rows: &'a mut [f32],
    residual: &'a [f32],
    norm: &'a Norm,
}

impl pulp::WithSimd for NormaliseRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let NormaliseRows { rows, residual, norm } = self;
        let width = norm.gamma.len();
        for (index, row) in rows.chunks_exact_mut(width).enumerate() {
            if !residual.is_empty() {
                for (value, add) in
                    row.iter_mut().zip(&residual[index * width..(index + 1) * width])
                {
                    *value += add;
                }
            }
            let mean = lane_sum(row, |value| value) / width as f32;
            let variance = lane_sum(row, |value| (value - mean) * (value - mean)) / width as f32;
            let scale = 1.0 / (variance + norm.eps).sqrt();
            for ((value, gamma), beta) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
                *value = (*value - mean) * scale * gamma + beta;
            }
        }
    }
}

/// Self-attention of one text: `qkv` holds its tokens' query, key and value
/// rows (`3 × hidden` each), `context` receives `hidden` values per token.
/// Only the text's own tokens take part, so no mask is needed.
pub(crate) fn attend(qkv: &[f32], context: &mut [f32], hidden: usize, heads: usize) {
    pulp::Arch::new().dispatch(Attend { qkv, context, hidden, heads });
}

struct Attend<'a> {
    qkv: &'a [f32],
    context: &'a mut [f32],
    hidden: usize,
    heads: usize,
}

impl pulp::WithSimd for Attend<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let Attend { qkv, context, hidden, heads } = self;
        let tokens = context.len() / hidden;
        let head_width = hidden / heads;
        let scale = 1.0 / (head_width as f32).sqrt();
        let stride = 3 * hidden;
        // One head's keys transposed (head_width × tokens), so that a query's
        // scores accumulate along the tokens: vector adds, no reductions.
        let mut keys = vec![0.0f32; head_width * tokens];
        let mut scores = vec![0.0f32; tokens];
        for head in 0..heads {
            let offset = head * head_width;
            for (token, row) in qkv.chunks_exact(stride).enumerate() {
                for (component, &value) in
                    row[hidden + offset..hidden + offset + head_width].iter().enumerate()
                {
                    keys[component * tokens + token] = value;
                }
            }
            for (token, row) in qkv.chunks_exact(stride).enumerate() {
                let query = &row[offset..offset + head_width];
                scores.fill(0.0);
                for (&component, keys) in query.iter().zip(keys.chunks_exact(tokens)) {
                    let component = component * scale;
                    for (score, &key) in scores.iter_mut().zip(keys) {
                        *score += component * key;
                    }
                }
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                for score in scores.iter_mut() {
                    *score = exp(*score - max);
                }
                let total = lane_sum(&scores, |score| score);
                let out =
                    &mut context[token * hidden + offset..token * hidden + offset + head_width];
                out.fill(0.0);
                for (&weight, values) in scores.iter().zip(qkv.chunks_exact(stride)) {
                    let weight = weight / total;
                    let values = &values[2 * hidden + offset..2 * hidden + offset + head_width];
                    for (out, &value) in out.iter_mut().zip(values) {
                        *out += weight * value;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_the_library() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let ours = exp(x) as f64;
            let exact = (x as f64).exp();
            worst = worst.max(((ours - exact) / exact).abs());
            x += 0.0137;
        }
        assert!(worst < 2.5e-7, "largest relative error {worst}");
    }

    #[test]
    fn erf_is_within_a_millionth_of_the_library() {
        let mut worst = 0.0f64;
        let mut x = -6.0f32;
        while x < 6.0 {
            let ours = erf(x) as f64;
            worst = worst.max((ours - libm::erf(x as f64)).abs());
            x += 0.000_73;
        }
        assert!(worst < 1e-6, "largest absolute error {worst}");
    }

    /// Every matrix kernel this CPU runs against a plain triple loop, on
    /// shapes that leave a partial panel and several row blocks.
    #[test]
    fn dense_matches_the_plain_product() {
        let mut kernels = vec![MatrixKernel::Pulp];
        #[cfg(target_arch = "x86_64")]
        kernels.extend(avx512::Avx512::detect().map(MatrixKernel::Avx512));
        for (kernel, (rows, inputs, outputs)) in kernels.into_iter().flat_map(|kernel| {
            [(12, 5, 3), (36, 40, 70), (120, 64, 96), (12, 1, 33), (24, 300, 40)]
                .map(|shape| (kernel, shape))
        }) {
            let weight: Vec<f32> =
                (0..inputs * outputs).map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5).collect();
            let bias: Vec<f32> = (0..outputs).map(|i| i as f32 * 0.01).collect();
            let input: Vec<f32> =
                (0..rows * inputs).map(|i| ((i * 104_729) % 89) as f32 / 89.0 - 0.5).collect();
            let layer = Dense::pack(&weight, bias.clone(), inputs, outputs);
            let mut out = vec![0.0; rows * outputs];
            dense_with(kernel, &input, &layer, &mut out);
            for row in 0..rows {
                for output in 0..outputs {
                    let expected: f32 = bias[output]
                        + (0..inputs)
                            .map(|k| input[row * inputs + k] * weight[output * inputs + k])
                            .sum::<f32>();
                    let got = out[row * outputs + output];
                    assert!(
                        (got - expected).abs() < 1e-4,
                        "{kernel:?} {rows}×{inputs}·{outputs}: [{row}][{output}] {got} vs {expected}"
                    );
                }
            }
        }
    }
}
