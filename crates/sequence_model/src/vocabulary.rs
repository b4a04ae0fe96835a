//! Token strings ↔ ids, fitted on the training journeys only.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Id of the padding token (never a real step).
pub const PADDING: u32 = 0;
/// Id of every token not seen often enough in training.
pub const UNKNOWN: u32 = 1;

/// The tokens a model knows. Rare tokens share [`UNKNOWN`], so a token first
/// seen at scoring time is handled like the rare ones were in training.
/// Saved as the list of tokens in id order; the lookup index is rebuilt on load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocabulary {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl From<Vec<String>> for Vocabulary {
    fn from(tokens: Vec<String>) -> Self {
        let ids = tokens.iter().enumerate().map(|(id, t)| (t.clone(), id as u32)).collect();
        Self { tokens, ids }
    }
}

impl From<Vocabulary> for Vec<String> {
    fn from(vocabulary: Vocabulary) -> Self {
        vocabulary.tokens
    }
}

impl Vocabulary {
    /// The `max_size` most frequent tokens seen at least `min_count` times
    /// (ties broken by name, so the result does not depend on input order).
    pub fn fit<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
        min_count: usize,
        max_size: usize,
    ) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for token in tokens {
            *counts.entry(token).or_default() += 1;
        }
        let mut frequent: Vec<(&str, usize)> =
            counts.into_iter().filter(|&(_, count)| count >= min_count).collect();
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        frequent.truncate(max_size);
        let mut names = vec!["<pad>".to_string(), "<unknown>".to_string()];
        names.extend(frequent.into_iter().map(|(token, _)| token.to_string()));
        Self::from(names)
    }

    /// The id of a token, [`UNKNOWN`] if it is not in the vocabulary.
    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNKNOWN)
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Number of ids, padding and unknown included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}
