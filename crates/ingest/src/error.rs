use std::path::PathBuf;

/// Errors that stop an import as a whole. Bad *rows* never end up here: they
/// are [`crate::Rejection`]s in the quarantine file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The format was not given and could not be told from the file's start.
    #[error(
        "{path}: cannot tell the format from the header {header:?}; pass --format (one of {})",
        crate::Format::NAMES.join(", ")
    )]
    UnknownFormat { path: PathBuf, header: String },
    /// A header lacks a column the format or the mapping needs.
    #[error("{path}: line {line}: header has no column {column:?} (columns: {available})")]
    MissingColumn { path: PathBuf, line: u64, column: String, available: String },
    /// The `--map` option or another setting is malformed.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A Parquet input could not be decoded as a whole.
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    /// Arrow failed on data that we built ourselves; a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IngestError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IngestError::Io { path: path.into(), source }
    }
}

impl From<arrow::error::ArrowError> for IngestError {
    fn from(error: arrow::error::ArrowError) -> Self {
        IngestError::Internal(error.to_string())
    }
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
