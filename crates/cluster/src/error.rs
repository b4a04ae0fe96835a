/// Everything that can go wrong in this crate.
///
/// All variants but [`ClusterError::Internal`] are user errors: data of the wrong shape or
/// parameters that cannot work with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// The data's length is not rows × columns.
    #[error("{values} values do not fill a matrix of {columns} columns")]
    RaggedData {
        /// Values given.
        values: usize,
        /// Columns asked for.
        columns: usize,
    },
    /// A row with a different number of values than the first.
    #[error("row {row} has {got} values, the first row has {expected}")]
    RaggedRow {
        /// 0-based row index.
        row: usize,
        /// Values in that row.
        got: usize,
        /// Values in the first row.
        expected: usize,
    },
    /// A NaN or infinite value.
    #[error("row {row}, column {column} is not finite")]
    NotFinite {
        /// 0-based row index.
        row: usize,
        /// 0-based column index.
        column: usize,
    },
    /// Two matrices (or a matrix and a list) whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A parameter outside what the data allows (k above the number of rows, say).
    #[error("{name} must be {requirement}, got {value}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What it must be.
        requirement: String,
        /// The value given.
        value: String,
    },
    /// A bug: an invariant of this crate did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// This crate's `Result`.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

pub(crate) fn invalid(
    name: &'static str,
    requirement: impl Into<String>,
    value: impl ToString,
) -> ClusterError {
    ClusterError::InvalidParameter {
        name,
        requirement: requirement.into(),
        value: value.to_string(),
    }
}
