//! The one error type of the `sasrec` crate.

use std::path::PathBuf;

/// Everything that can go wrong training, saving or loading a sequence model.
#[derive(Debug, thiserror::Error)]
pub enum SasRecError {
    /// The data, the base recommender or its files (reading, vocabularies, saving).
    #[error(transparent)]
    Recommend(#[from] recommend::RecommendError),
    /// A hyper-parameter is out of its range, or the data cannot train a model.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A saved model directory is damaged or from another version.
    #[error("model {path}: {reason}")]
    ModelFormat {
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Training produced a loss that is not a finite number (a learning rate far too
    /// high, for instance); no model is returned rather than a broken one.
    #[error("training diverged at epoch {epoch}: loss {loss}")]
    Diverged {
        /// The 1-based epoch.
        epoch: usize,
        /// The batch loss that was not finite.
        loss: f32,
    },
    /// A tensor operation failed: a bug (shapes are fixed when the network is built).
    #[error("internal error in a tensor operation: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// The crate's result type.
pub type Result<T, E = SasRecError> = std::result::Result<T, E>;
