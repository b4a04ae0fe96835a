//! The one error type of the `recommend` crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, training, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", "creating").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A row of an input file does not fit its format.
    #[error("{path}:{line}: field {field} = {value:?}: {reason}")]
    BadRow {
        /// The input file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// The field's name.
        field: &'static str,
        /// The value as read.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An input file lacks a column the format needs.
    #[error("{path}: no column {column} in the header")]
    MissingColumn {
        /// The input file.
        path: PathBuf,
        /// The missing column (or the alternatives, joined with `|`).
        column: &'static str,
    },
    /// There is nothing to train on or to evaluate.
    #[error("no interactions in {what}")]
    Empty {
        /// Which input was empty.
        what: String,
    },
    /// A hyper-parameter is out of its range, or an algorithm cannot handle the data.
    #[error("{0}")]
    Config(String),
    /// A saved model directory is damaged or from another version.
    #[error("model {path}: {reason}")]
    ModelFormat {
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = RecommendError> = std::result::Result<T, E>;

impl RecommendError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io { action, path: path.into(), source }
    }
}
