use std::path::PathBuf;

/// Errors of the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The directory holds no smartfunnel lake.
    #[error(
        "{path} is not a smartfunnel lake (no Delta table at {path}/events); create one with `smartfunnel import --lake {path} FILE`"
    )]
    NotALake { path: PathBuf },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The user's SQL is wrong: planning or execution failed on it.
    #[error("query failed: {0}")]
    Query(String),
    /// Importing failed as a whole (the bad rows themselves are quarantined, not errors).
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    /// The Delta log or its files are unreadable, or a commit failed.
    #[error("delta table: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// A bug: data we built did not fit the schema we built it for.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<datafusion::error::DataFusionError> for LakeError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        LakeError::Query(error.to_string())
    }
}

impl From<arrow::error::ArrowError> for LakeError {
    fn from(error: arrow::error::ArrowError) -> Self {
        LakeError::Internal(error.to_string())
    }
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;
