use std::path::PathBuf;

/// Errors of the features crate.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    /// A parameter is wrong (a zero horizon, an unknown task, a segment list of
    /// the wrong length, …); the message says which and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// DataFusion failed to plan or run a query over the events.
    #[error("query failed: {0}")]
    Query(String),
    /// An analysis of the `analytics` crate (RFM) failed.
    #[error(transparent)]
    Analytics(#[from] analytics::AnalyticsError),
    /// Writing the feature table failed.
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    /// A bug: a column was missing or did not have the type the query promised.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<datafusion::error::DataFusionError> for FeaturesError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        FeaturesError::Query(error.to_string())
    }
}

impl From<arrow::error::ArrowError> for FeaturesError {
    fn from(error: arrow::error::ArrowError) -> Self {
        FeaturesError::Internal(error.to_string())
    }
}

pub type Result<T, E = FeaturesError> = std::result::Result<T, E>;
