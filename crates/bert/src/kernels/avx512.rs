//! The matrix kernel's block product for CPUs with AVX-512F, written with
//! `std::arch` intrinsics: a 12 × 32 block of sums in 24 of the 32 vector
//! registers, each weight vector loaded once per input and each input value
//! broadcast into the multiply-add.
//!
//! This is the crate's only unsafe code, for two reasons: pulp's AVX-512
//! types need its `x86-v4` feature, which turns on bytemuck's
//! `avx512_simd` and so rebuilds every crate that depends on bytemuck (Arrow
//! among them); and unaligned vector loads take a raw pointer. Measured on
//! the 2,000 English sentences of `bench/run --only text-throughput`, this
//! kernel is what puts all-MiniLM-L6-v2 ahead of sentence-transformers.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use super::{PANEL, Tile};

/// Rows per block: 12 rows × 2 vectors of sums is 24 of the 32 registers,
/// leaving room for the two weight vectors and a broadcast.
pub(super) const BLOCK_ROWS: usize = 12;

/// f32 lanes in one AVX-512 vector; a panel is two of them.
const LANES: usize = 16;
const _: () = assert!(PANEL == 2 * LANES);

/// Proof that this CPU runs AVX-512F: the only way to get one is
/// [`Avx512::detect`], so [`Avx512::block_product`] may call the
/// `target_feature` function.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

impl Avx512 {
    pub(super) fn detect() -> Option<Avx512> {
        std::arch::is_x86_feature_detected!("avx512f").then_some(Avx512(()))
    }

    /// Adds one block of [`BLOCK_ROWS`] rows (input-major: one input's row
    /// values adjacent) times one slice of a panel (`PANEL` weights per
    /// input) onto `tile`.
    #[inline]
    pub(super) fn block_product(self, block: &[f32], panel: &[f32], tile: &mut Tile<BLOCK_ROWS>) {
        // SAFETY: an `Avx512` exists only where `detect` found AVX-512F.
        unsafe { block_product(block, panel, tile) }
    }
}

#[target_feature(enable = "avx512f")]
fn block_product(block: &[f32], panel: &[f32], tile: &mut Tile<BLOCK_ROWS>) {
    let mut sums = [[_mm512_setzero_ps(); 2]; BLOCK_ROWS];
    for (sum, row) in sums.iter_mut().zip(tile.iter()) {
        *sum = [load(&row[..LANES]), load(&row[LANES..])];
    }
    for (values, weights) in block.chunks_exact(BLOCK_ROWS).zip(panel.chunks_exact(PANEL)) {
        let low = load(&weights[..LANES]);
        let high = load(&weights[LANES..]);
        for (sum, &value) in sums.iter_mut().zip(values) {
            let value = _mm512_set1_ps(value);
            sum[0] = _mm512_fmadd_ps(value, low, sum[0]);
            sum[1] = _mm512_fmadd_ps(value, high, sum[1]);
        }
    }
    for (row, sum) in tile.iter_mut().zip(&sums) {
        let (low, high) = row.split_at_mut(LANES);
        store(low, sum[0]);
        store(high, sum[1]);
    }
}

#[target_feature(enable = "avx512f")]
#[inline]
fn load(values: &[f32]) -> __m512 {
    let values: &[f32; LANES] = values.try_into().expect("a vector's worth of values");
    // SAFETY: the load reads LANES values, and `values` holds exactly that many.
    unsafe { _mm512_loadu_ps(values.as_ptr()) }
}

#[target_feature(enable = "avx512f")]
#[inline]
fn store(slots: &mut [f32], vector: __m512) {
    let slots: &mut [f32; LANES] = slots.try_into().expect("a vector's worth of slots");
    // SAFETY: the store writes LANES values, and `slots` holds exactly that many.
    unsafe { _mm512_storeu_ps(slots.as_mut_ptr(), vector) }
}
