//! A dense row-major matrix of `f32` or `f64`.

use std::fmt::Debug;
use std::iter::Sum;

use num_traits::{Float, NumAssign};

use crate::error::{ClusterError, Result};

/// The element types the algorithms run on: `f32` (half the memory traffic, as
/// scikit-learn keeps `float32` input) and `f64`.
pub trait Scalar: Float + NumAssign + Sum + Send + Sync + Debug + 'static {}

impl Scalar for f32 {}
impl Scalar for f64 {}

/// Rows are observations, columns features; stored row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix<T> {
    values: Vec<T>,
    rows: usize,
    columns: usize,
}

impl<T: Scalar> Matrix<T> {
    /// A matrix over `values`, row after row. Every value must be finite.
    pub fn new(values: Vec<T>, columns: usize) -> Result<Self> {
        if columns == 0 || !values.len().is_multiple_of(columns) {
            return Err(ClusterError::RaggedData { values: values.len(), columns });
        }
        if let Some(index) = values.iter().position(|value| !value.is_finite()) {
            return Err(ClusterError::NotFinite { row: index / columns, column: index % columns });
        }
        let rows = values.len() / columns;
        Ok(Matrix { values, rows, columns })
    }

    /// A matrix from rows of equal length.
    pub fn from_rows(rows: &[Vec<T>]) -> Result<Self> {
        let columns = rows.first().map_or(0, Vec::len);
        let mut values = Vec::with_capacity(rows.len() * columns);
        for (index, row) in rows.iter().enumerate() {
            if row.len() != columns {
                return Err(ClusterError::RaggedRow {
                    row: index,
                    got: row.len(),
                    expected: columns,
                });
            }
            values.extend_from_slice(row);
        }
        Matrix::new(values, columns)
    }

    /// Number of rows (observations).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Row `index`.
    pub fn row(&self, index: usize) -> &[T] {
        &self.values[index * self.columns..(index + 1) * self.columns]
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[T] {
        &self.values
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix<T> {
        let mut values = Vec::with_capacity(indices.len() * self.columns);
        for &index in indices {
            values.extend_from_slice(self.row(index));
        }
        Matrix { values, rows: indices.len(), columns: self.columns }
    }

    /// Every row, in order.
    pub fn iter_rows(&self) -> impl ExactSizeIterator<Item = &[T]> {
        self.values.chunks_exact(self.columns)
    }

    /// Values converted to `f64`.
    pub fn to_f64(&self) -> Matrix<f64> {
        Matrix {
            values: self.values.iter().map(|value| value.to_f64().unwrap_or(f64::NAN)).collect(),
            rows: self.rows,
            columns: self.columns,
        }
    }

    pub(crate) fn from_parts(values: Vec<T>, rows: usize, columns: usize) -> Self {
        debug_assert_eq!(values.len(), rows * columns);
        Matrix { values, rows, columns }
    }
}

/// Independent partial sums in [`squared_distance`]: enough for the compiler to keep
/// them in one or two vector registers, so the loop vectorises (a single running sum
/// would be a chain of dependent additions).
const LANES: usize = 8;

/// Squared Euclidean distance. Always inlined, so that under `pulp::Arch::dispatch`
/// it is compiled for the CPU's widest vectors.
#[inline(always)]
pub(crate) fn squared_distance<T: Scalar>(left: &[T], right: &[T]) -> T {
    let mut partial = [T::zero(); LANES];
    let mut left_chunks = left.chunks_exact(LANES);
    let mut right_chunks = right.chunks_exact(LANES);
    for (l, r) in (&mut left_chunks).zip(&mut right_chunks) {
        for lane in 0..LANES {
            let difference = l[lane] - r[lane];
            partial[lane] += difference * difference;
        }
    }
    let tail: T = left_chunks
        .remainder()
        .iter()
        .zip(right_chunks.remainder())
        .map(|(&l, &r)| (l - r) * (l - r))
        .sum();
    partial.iter().copied().sum::<T>() + tail
}
