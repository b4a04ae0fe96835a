//! Language models for reviews and search queries, run locally on the CPU:
//! fetching and converting weights ([`models`], [`e5_convert`]), sentence
//! embeddings ([`encoder`]), a review sentiment classifier ([`sentiment`]
//! over [`ngrams`] and embeddings), words and clauses of Chinese and English
//! text ([`segment`], jieba for Chinese), aspect-level sentiment
//! ([`aspects`]), topic discovery ([`topics`]), search-query intent
//! ([`intent`]), per-user text columns for the user profile ([`profile`]), and
//! segment descriptions and campaign messages written by a small chat model or
//! a template, their numbers filled in and checked by code ([`generate`]).
//!
//! Architecture invariant: candle and tokenizers live only in this crate;
//! it never prints and never touches the lake.

pub mod aspects;
pub mod e5_convert;
pub mod encoder;
mod error;
pub mod generate;
pub mod intent;
pub mod models;
pub mod ngrams;
pub mod profile;
pub mod segment;
pub mod sentiment;
pub mod topics;

pub use aspects::{Aspect, AspectMention, AspectSummary, Polarity, ReviewAspects};
pub use encoder::{Embeddings, Encoder, EncoderOptions};
pub use error::{Result, TextError};
pub use intent::{IntentClassifier, IntentPrediction, QueryIntent};
pub use models::{KnownModel, default_models_root, fetch};
pub use profile::{ScoredReview, UserTextFeatures, user_text_features};
pub use segment::Language;
pub use sentiment::{
    CvReport, EncoderInfo, SentimentConfig, SentimentModel, SentimentScore, TrainingData,
};
pub use topics::{Topic, TopicCount, TopicModel, TopicOptions, discover_topics};
