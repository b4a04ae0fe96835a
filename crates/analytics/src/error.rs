/// Errors of the analytics crate.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A parameter of an analysis is wrong (a window of zero, an unknown mode, a step
    /// predicate that does not parse, …); the message says which and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// DataFusion failed to plan or run a query over the events.
    #[error("query failed: {0}")]
    Query(String),
    /// The ClickHouse-semantics layer refused its parameters.
    #[error(transparent)]
    Funnel(#[from] funnel::FunnelError),
    /// A bug: a column did not have the type the query promised.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<datafusion::error::DataFusionError> for AnalyticsError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        AnalyticsError::Query(error.to_string())
    }
}

impl From<arrow::error::ArrowError> for AnalyticsError {
    fn from(error: arrow::error::ArrowError) -> Self {
        AnalyticsError::Internal(error.to_string())
    }
}

pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
