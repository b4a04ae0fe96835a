//! Clusters in words, from how their centroids differ from the population.

use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};
use crate::scale::FeatureStats;

/// A feature's name and the words for a cluster well below or above the population on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWords {
    /// The feature's name.
    pub name: String,
    /// Word for a low value ("occasional").
    pub low: String,
    /// Word for a high value ("frequent").
    pub high: String,
}

impl FeatureWords {
    /// Words for one feature.
    pub fn new(name: &str, low: &str, high: &str) -> Self {
        FeatureWords { name: name.into(), low: low.into(), high: high.into() }
    }
}

/// One feature that sets a cluster apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distinction {
    /// The feature's name.
    pub feature: String,
    /// The centroid's z-score on it against the population.
    pub z_score: f64,
    /// The low or high word chosen.
    pub word: String,
}

/// A cluster described in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterDescription {
    /// For example "frequent, high-value, mostly electronics buyers; 12% of users".
    pub text: String,
    /// The features behind the words, most distinctive first.
    pub distinctions: Vec<Distinction>,
}

/// How far (in standard deviations) a centroid must lie from the mean for a feature to
/// count as distinctive.
pub const DISTINCTIVE_Z: f64 = 0.5;
/// At most this many words describe a cluster.
pub const MAX_WORDS: usize = 3;

/// Describes a cluster by the (up to three) features on which its `centroid` lies
/// farthest from the population mean, each at least [`DISTINCTIVE_Z`] standard deviations
/// away, with the low or high word of each, followed by its `share` of users.
///
/// `centroid` is in the same (unstandardised) units as `population`; `words` names every
/// feature in column order.
pub fn describe_cluster(
    centroid: &[f64],
    population: &FeatureStats,
    words: &[FeatureWords],
    share: f64,
) -> Result<ClusterDescription> {
    if centroid.len() != population.means.len() || words.len() != centroid.len() {
        return Err(ClusterError::ShapeMismatch(format!(
            "centroid has {} features, population statistics {}, words {}",
            centroid.len(),
            population.means.len(),
            words.len()
        )));
    }
    let mut distinctions: Vec<Distinction> = centroid
        .iter()
        .enumerate()
        .map(|(column, &value)| {
            let z_score = population.z_score(column, value);
            let word = if z_score < 0.0 { &words[column].low } else { &words[column].high };
            Distinction { feature: words[column].name.clone(), z_score, word: word.clone() }
        })
        .filter(|distinction| distinction.z_score.abs() >= DISTINCTIVE_Z)
        .collect();
    // Ties keep column order, so equal inputs always give the same text.
    distinctions.sort_by(|left, right| right.z_score.abs().total_cmp(&left.z_score.abs()));
    distinctions.truncate(MAX_WORDS);
    let traits = if distinctions.is_empty() {
        "typical on every feature".to_string()
    } else {
        distinctions.iter().map(|d| d.word.as_str()).collect::<Vec<_>>().join(", ")
    };
    let text = format!("{traits}; {} of users", percent(share));
    Ok(ClusterDescription { text, distinctions })
}

fn percent(share: f64) -> String {
    let percent = share * 100.0;
    if percent > 0.0 && percent < 1.0 { format!("{percent:.1}%") } else { format!("{percent:.0}%") }
}
