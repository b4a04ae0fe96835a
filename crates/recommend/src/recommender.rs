//! What the evaluation protocols and the command line need from a trained recommender.
//!
//! [`Model`](crate::Model) implements it, and so do models that live outside this crate
//! because of their dependencies (the candle sequence model in `crates/sasrec`): every
//! model is then evaluated, timed and served by the same code, so the protocol cannot
//! drift between them.

use crate::HistoryItem;
use crate::data::Vocabulary;
use crate::interactions::Weights;
use crate::model::{Recommendation, UserFilter};

/// A trained recommender as the protocols see it.
pub trait Recommender: Sync {
    /// Working memory for one thread's queries, reused from query to query.
    type Scratch: Send;

    /// The algorithm's name as `--algo` takes it.
    fn algorithm_name(&self) -> &'static str;

    /// The training items; recommendations are indices into it.
    fn item_vocabulary(&self) -> &Vocabulary;

    /// The training users.
    fn user_vocabulary(&self) -> &Vocabulary;

    /// How much each kind of event counts in a query history.
    fn event_weights(&self) -> &Weights;

    /// Events per item in the training data, by item index.
    fn item_popularity(&self) -> &[f32];

    /// Fresh working memory for one thread.
    fn new_scratch(&self) -> Self::Scratch;

    /// The `k` best next items, best first, after the click sequence `history` (oldest
    /// first, item indices of this model), with their scores.
    fn next_items(
        &self,
        history: &[HistoryItem],
        k: usize,
        scratch: &mut Self::Scratch,
    ) -> Vec<(u32, f32)>;

    /// Top-`k` items for a known user from their whole training history, filtered as
    /// `filter` says; `None` for a user the model has not seen.
    fn user_items(&self, user: &str, k: usize, filter: &UserFilter) -> Option<Vec<Recommendation>>;
}
