//! Recommenders on implicit feedback and one honest way to evaluate them.
//!
//! - Data: [`read_file`] reads YOOCHOOSE, DIGINETICA and CSV interaction files into a
//!   [`Dataset`] (sessions of clicks in time order); the CLI builds one from the lake
//!   with [`DatasetBuilder`].
//! - Algorithms ([`Algorithm`]): popularity, item-kNN (cosine / asymmetric cosine with
//!   shrinkage, co-occurrence or sequential), user-kNN, SKNN and V-SKNN, EASE, and ALS
//!   with a conjugate-gradient solver. [`train`] returns a [`Model`] that saves to and
//!   loads from a directory with its hyper-parameters.
//! - Evaluation ([`evaluate`]): every next click of a test session given only its prefix;
//!   Recall@k, MRR@k, NDCG@k, coverage and popularity bias. [`tune`] picks
//!   hyper-parameters on a validation split.
//!
//! No printing, no async; training and evaluation run on rayon's pool.

mod als;
mod data;
mod error;
mod evaluate;
mod interactions;
mod item_graph;
mod model;
mod neighbours;
mod prefetch;
mod recommender;
mod scratch;
mod storage;
mod tune;

pub use als::AlsConfig;
pub use data::{
    Click, Dataset, DatasetBuilder, EventKind, Format, Session, Vocabulary, is_plain_integer,
    parse_time, read_file,
};
pub use error::{RecommendError, Result};
pub use evaluate::{
    Evaluation, Latency, Metrics, MetricsAccumulator, NextPrediction, evaluate, evaluate_users,
    evaluate_with, map_items, measure_latency, measure_user_latency, predict_next,
    relative_popularity,
};
pub use interactions::{Csr, TrainingData, Weights};
pub use item_graph::{EaseConfig, ItemKnnConfig};
pub use model::{
    Algorithm, HybridConfig, Model, Recommendation, TrainConfig, TrainingSummary, Tuning,
    TuningTrial, UserFilter, saved_algorithm, train,
};
pub use neighbours::{NeighbourConfig, PositionDecay};
pub use recommender::Recommender;
pub use scratch::{Scratch, top_k};
pub use tune::{grid, tune};

/// One item of a query history: a model item index and how much it counts (the event
/// weight: a purchase more than a view).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryItem {
    pub item: u32,
    pub weight: f32,
}
