//! Per-user text features for the user profile: what a shopper's reviews
//! and searches say, as columns keyed by user id.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::intent::QueryIntent;

/// One user's text columns. Shares are over that user's own reviews or
/// searches; a user without reviews has `reviews == 0` and a `None` mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserTextFeatures {
    pub reviews: u32,
    /// Mean calibrated probability that the user's reviews are positive.
    pub mean_review_sentiment: Option<f64>,
    /// Reviews scored below 0.5.
    pub negative_reviews: u32,
    pub searches: u32,
    /// Share of the user's searches per intent, in [`QueryIntent::ALL`] order.
    pub intent_shares: [f64; 6],
}

/// Builds the per-user columns from scored reviews `(user_id, score)` and
/// classified searches `(user_id, intent)`.
pub fn user_text_features<'a>(
    reviews: impl IntoIterator<Item = (&'a str, f64)>,
    searches: impl IntoIterator<Item = (&'a str, QueryIntent)>,
) -> BTreeMap<String, UserTextFeatures> {
    let mut users: BTreeMap<String, (UserTextFeatures, f64)> = BTreeMap::new();
    for (user, score) in reviews {
        let (features, sum) = users.entry(user.to_owned()).or_default();
        features.reviews += 1;
        *sum += score;
        if score < 0.5 {
            features.negative_reviews += 1;
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
