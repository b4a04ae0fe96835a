//! SASRec (Kang & McAuley 2018), a causal Transformer over a shopper's latest clicks that
//! scores every item as the next one, trained with full-softmax cross-entropy at every
//! position (as Klenitskiy & Vasilev 2023 recommend over sampled losses), on the CPU with
//! candle.
//!
//! The model plugs into the `recommend` crate rather than beside it: it trains on a
//! [`recommend::Dataset`], implements [`recommend::Recommender`], and so is evaluated,
//! timed and served by the same next-click and user-level protocols as every other
//! recommender. candle stays out of `recommend`, which other crates build on.
//!
//! Invariants:
//! - Attention is causal and sequences are right-padded, so a step's output depends only
//!   on that sequence's clicks up to it: padding and batch composition never change it.
//! - Everything is seeded, dropout included (candle's own draws from an unseeded
//!   generator): the same data, settings and thread count give the same model.
//! - With a validation set, the epoch kept is the one with the best validation Recall@k;
//!   the test never enters training.

mod error;
mod inference;
mod model;
mod network;
mod sequences;

pub use error::{Result, SasRecError};
pub use model::{
    Epoch, SESSION_WEIGHTS, SasRec, SasRecConfig, SequenceAlgorithm, TUNED_MEMBERS,
    TrainingHistory, Trial, Tuning, Validation, grid, train, tune,
};
