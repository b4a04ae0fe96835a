//! Per-user text features for the user profile: what a shopper's reviews
//! and searches say, as columns keyed by user id ([`TEXT_COLUMNS`] names and
//! defines them; `docs/features.md` lists the same).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aspects::Aspect;
use crate::intent::QueryIntent;

/// One user's text columns. Shares are over that user's own reviews or
/// searches; a user without reviews has `reviews == 0` and a `None` mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserTextFeatures {
    /// Scored review texts.
    pub reviews: u32,
    /// Mean calibrated probability that the user's reviews are positive.
    pub mean_review_sentiment: Option<f64>,
    /// Reviews scored below 0.5.
    pub negative_reviews: u32,
    /// Reviews that speak badly of each aspect, in [`Aspect::ALL`] order.
    pub aspect_complaints: [u32; 8],
    pub searches: u32,
    /// Share of the user's searches per intent, in [`QueryIntent::ALL`] order.
    pub intent_shares: [f64; 6],
}

impl UserTextFeatures {
    /// Share of the user's reviews scored negative; `None` without reviews.
    pub fn negative_review_share(&self) -> Option<f64> {
        (self.reviews > 0).then(|| f64::from(self.negative_reviews) / f64::from(self.reviews))
    }
}

/// One scored review: its author, the sentiment model's probability that it
/// is positive, and the aspects it speaks badly of.
#[derive(Debug, Clone, Copy)]
pub struct ScoredReview<'a> {
    pub user: &'a str,
    pub score: f64,
    pub complaints: &'a [Aspect],
}

/// Builds the per-user columns from scored reviews and classified searches
/// `(user_id, intent)`.
pub fn user_text_features<'a>(
    reviews: impl IntoIterator<Item = ScoredReview<'a>>,
    searches: impl IntoIterator<Item = (&'a str, QueryIntent)>,
) -> BTreeMap<String, UserTextFeatures> {
    let mut users: BTreeMap<String, (UserTextFeatures, f64)> = BTreeMap::new();
    for review in reviews {
        let (features, sum) = users.entry(review.user.to_owned()).or_default();
        features.reviews += 1;
        *sum += review.score;
        if review.score < 0.5 {
            features.negative_reviews += 1;
        }
        let mut complaints = review.complaints.to_vec();
        complaints.sort();
        complaints.dedup();
        for aspect in complaints {
            let slot =
                Aspect::ALL.iter().position(|&a| a == aspect).expect("every aspect is in ALL");
            features.aspect_complaints[slot] += 1;
        }
    }
    for (user, intent) in searches {
        let (features, _) = users.entry(user.to_owned()).or_default();
        features.searches += 1;
        let slot =
            QueryIntent::ALL.iter().position(|&i| i == intent).expect("every intent is in ALL");
        features.intent_shares[slot] += 1.0;
    }
    users
        .into_iter()
        .map(|(user, (mut features, sum))| {
            if features.reviews > 0 {
                features.mean_review_sentiment = Some(sum / f64::from(features.reviews));
            }
            if features.searches > 0 {
                let searches = f64::from(features.searches);
                for share in &mut features.intent_shares {
                    *share /= searches;
                }
            }
            (user, features)
        })
        .collect()
}

/// The feature-table column of [`UserTextFeatures::mean_review_sentiment`]
/// (the feature table reserves it).
pub const REVIEW_SENTIMENT_COLUMN: &str = "review_sentiment";
pub const NEGATIVE_REVIEW_SHARE_COLUMN: &str = "negative_review_share";
/// Followed by an [`Aspect::name`].
pub const ASPECT_COMPLAINTS_PREFIX: &str = "aspect_complaints_";
/// Followed by a [`QueryIntent::name`].
pub const SEARCH_INTENT_PREFIX: &str = "search_intent_";

/// One text column of the feature table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TextColumn {
    /// The name, or the prefix of a family of columns (ending in `_`).
    pub name: &'static str,
    /// `integer` or `real`.
    pub kind: &'static str,
    pub definition: &'static str,
    pub null_when: &'static str,
}

/// The text columns, as `docs/features.md` lists them.
pub const TEXT_COLUMNS: &[TextColumn] = &[
    TextColumn {
        name: REVIEW_SENTIMENT_COLUMN,
        kind: "real",
        definition: "mean calibrated probability that the user's review texts are positive",
        null_when: "no review text",
    },
    TextColumn {
        name: NEGATIVE_REVIEW_SHARE_COLUMN,
        kind: "real",
        definition: "share of the user's review texts scored below 0.5",
        null_when: "no review text",
    },
    TextColumn {
        name: ASPECT_COMPLAINTS_PREFIX,
        kind: "integer",
        definition: "review texts that speak badly of the aspect (one column per aspect)",
        null_when: "never (0)",
    },
    TextColumn {
        name: SEARCH_INTENT_PREFIX,
        kind: "real",
        definition: "share of the user's searches with the intent (one column per intent)",
        null_when: "no search",
    },
];
