/// Everything that can go wrong in the bert crate.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    /// The configuration cannot describe a working encoder.
    #[error("model configuration: {0}")]
    Config(String),
    /// The weights lack a tensor the configuration calls for.
    #[error("weights: no tensor {name}")]
    MissingWeight { name: String },
    /// A tensor's shape differs from what the configuration implies.
    #[error("weights: tensor {name} has shape {found:?}, the configuration implies {expected:?}")]
    WeightShape { name: String, expected: Vec<usize>, found: Vec<usize> },
    /// A text the encoder cannot read: empty, too long, or an unknown token.
    #[error("text {index}: {reason}")]
    BadText { index: usize, reason: String },
}

pub type Result<T, E = BertError> = std::result::Result<T, E>;
