//! A saved recommender of any kind: the `recommend` crate's models and the sequence
//! models of `sasrec`, told apart by the algorithm name in `model.json`, behind the one
//! interface the protocols use.

use std::path::Path;

use anyhow::Context as _;
use recommend::{HistoryItem, Model, Recommendation, Recommender, UserFilter, Vocabulary, Weights};
use sasrec::{SasRec, SequenceAlgorithm};

/// A loaded model directory.
#[derive(Debug)]
pub enum SavedModel {
    /// Popularity, neighbourhood, EASE, ALS and hybrid models.
    Items(Box<Model>),
    /// SASRec.
    Sequence(Box<SasRec>),
}

impl SavedModel {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let context = || format!("loading the model from {}", dir.display());
        let algorithm = recommend::saved_algorithm(dir).with_context(context)?;
        Ok(if SequenceAlgorithm::NAMES.contains(&algorithm.as_str()) {
            SavedModel::Sequence(Box::new(SasRec::load(dir).with_context(context)?))
        } else {
            SavedModel::Items(Box::new(Model::load(dir).with_context(context)?))
        })
    }
}

impl Recommender for SavedModel {
    type Scratch = recommend::Scratch;

    fn algorithm_name(&self) -> &'static str {
        match self {
            SavedModel::Items(model) => model.algorithm_name(),
            SavedModel::Sequence(model) => model.algorithm_name(),
        }
    }

    fn item_vocabulary(&self) -> &Vocabulary {
        match self {
            SavedModel::Items(model) => model.item_vocabulary(),
            SavedModel::Sequence(model) => model.item_vocabulary(),
        }
    }

    fn user_vocabulary(&self) -> &Vocabulary {
        match self {
            SavedModel::Items(model) => model.user_vocabulary(),
            SavedModel::Sequence(model) => model.user_vocabulary(),
        }
    }

    fn event_weights(&self) -> &Weights {
        match self {
            SavedModel::Items(model) => Recommender::event_weights(model.as_ref()),
            SavedModel::Sequence(model) => Recommender::event_weights(model.as_ref()),
        }
    }

    fn item_popularity(&self) -> &[f32] {
        match self {
            SavedModel::Items(model) => model.item_popularity(),
            SavedModel::Sequence(model) => model.item_popularity(),
        }
    }

    fn new_scratch(&self) -> Self::Scratch {
        match self {
            SavedModel::Items(model) => model.new_scratch(),
            SavedModel::Sequence(model) => model.new_scratch(),
        }
    }

    fn next_items(
        &self,
        history: &[HistoryItem],
        k: usize,
        scratch: &mut Self::Scratch,
    ) -> Vec<(u32, f32)> {
        match self {
            SavedModel::Items(model) => model.next_items(history, k, scratch),
            SavedModel::Sequence(model) => model.next_items(history, k, scratch),
        }
    }

    fn user_items(&self, user: &str, k: usize, filter: &UserFilter) -> Option<Vec<Recommendation>> {
        match self {
            SavedModel::Items(model) => model.user_items(user, k, filter),
            SavedModel::Sequence(model) => model.user_items(user, k, filter),
        }
    }
}
