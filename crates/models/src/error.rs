//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading data, training, scoring or
/// loading a model. Variants other than `Internal` are the caller's input.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A CSV record could not be parsed (bad quoting, wrong field count, bad UTF-8).
    #[error("{path}, line {line}: {message}")]
    Csv { path: String, line: u64, message: String },
    /// A field does not fit its column's type.
    #[error("{path}, line {line}, column {column:?}: {message} (value {value:?})")]
    BadValue { path: String, line: u64, column: String, value: String, message: String },
    /// A column the caller or the model needs is not in the data.
    #[error("{path}: no column {column:?} (columns: {available})")]
    MissingColumn { path: String, column: String, available: String },
    /// The data cannot train or evaluate a model (no rows, one class only, mismatched lengths).
    #[error("{0}")]
    InvalidData(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A model directory does not hold a model this version can read.
    #[error("{}: not a readable model: {message}", path.display())]
    BadModelFile { path: PathBuf, message: String },
    /// A bug: an invariant of this crate does not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = ModelsError> = std::result::Result<T, E>;
