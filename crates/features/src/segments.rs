//! Segments: a label per user, and a profile per segment.
//!
//! [`rule_segments`] names each user's segment from the RFM segment and the
//! tags; [`crate::clusters`] clusters the users instead. [`segment_profiles`]
//! describes either kind of labels the same way, in numbers and in words.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clusters::ClusterSpace;
use crate::tags::{Tag, UserTags};
use crate::{FeatureTable, FeaturesError, Result};

/// The numeric features as a dense row-major matrix, for clustering and models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureMatrix {
    pub user_ids: Vec<String>,
    /// Column names, in order.
    pub names: Vec<String>,
    /// One row per user, one value per name. A null became the column's
    /// median over the users that have a value (0 when nobody has one), so
    /// the matrix has no gaps; scaling is the caller's choice.
    pub rows: Vec<Vec<f64>>,
}

impl FeatureMatrix {
    /// Every numeric feature of the table (categorical ones are left out;
    /// `review_sentiment` too while it is always null).
    pub fn from_table(table: &FeatureTable) -> Result<FeatureMatrix> {
        let mut names = Vec::new();
        let mut columns = Vec::new();
        for name in table.numeric_feature_names() {
            let values = table.numeric(&name)?;
            if values.iter().all(Option::is_none) && name == "review_sentiment" {
                continue;
            }
            let fill =
                crate::tags::percentile(values.iter().flatten().copied(), 0.5).unwrap_or(0.0);
            columns.push(values.into_iter().map(|v| v.unwrap_or(fill)).collect::<Vec<_>>());
            names.push(name);
        }
        let rows = (0..table.users())
            .map(|row| columns.iter().map(|column| column[row]).collect())
            .collect();
        Ok(FeatureMatrix { user_ids: table.user_ids()?, names, rows })
    }
}

/// A segment for every user from rules: customers get their RFM segment
/// (Champions, Loyal, …); users without a purchase are "Window Shoppers" when
/// tagged so, "New Visitors" when new, and "Browsers" otherwise.
pub fn rule_segments(table: &FeatureTable, tags: &UserTags) -> Result<Vec<String>> {
    let rfm = table.categorical("rfm_segment")?;
    if rfm.len() != tags.tags.len() {
        return Err(FeaturesError::InvalidArgument(format!(
            "{} users but {} tag lists",
            rfm.len(),
            tags.tags.len()
        )));
    }
    Ok(rfm
        .into_iter()
        .zip(&tags.tags)
        .map(|(segment, user_tags)| match segment {
            Some(segment) => segment,
            None if user_tags.contains(&Tag::WindowShopper) => "Window Shoppers".to_string(),
            None if user_tags.contains(&Tag::New) => "New Visitors".to_string(),
            None => "Browsers".to_string(),
        })
        .collect())
}

/// The features a profile reports by default.
pub const PROFILE_FEATURES: [&str; 10] = [
    "events",
    "sessions",
    "views",
    "orders",
    "monetary",
    "recency_days",
    "cart_abandonment_rate",
    "night_share",
    "mobile_share",
    "category_entropy",
];

/// One segment: its size and the mean of some features over its users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentProfile {
    pub segment: String,
    pub users: usize,
    /// Of all users.
    pub share: f64,
    /// `(feature, mean)` over the segment's users with a value; `None` when
    /// none of them has one.
    pub means: Vec<(String, Option<f64>)>,
    /// The most common tags in the segment with the share of its users that
    /// carry them, most common first (at most three).
    pub top_tags: Vec<(Tag, f64)>,
    /// The segment in words, from its members' mean on the clustering
    /// features against the population ([`ClusterSpace::describe`]):
    /// "often visiting, frequent-buying, high-value; 12% of users".
    pub description: String,
}

/// Profiles of the segments in `labels` (one per row of the table), largest
/// first, ties by name.
pub fn segment_profiles(
    table: &FeatureTable,
    labels: &[String],
    tags: &UserTags,
    features: &[&str],
) -> Result<Vec<SegmentProfile>> {
    if labels.len() != table.users() || tags.tags.len() != table.users() {
        return Err(FeaturesError::InvalidArgument(format!(
            "{} users but {} segment labels and {} tag lists",
            table.users(),
            labels.len(),
            tags.tags.len()
        )));
    }
    let columns: Vec<Vec<Option<f64>>> =
        features.iter().map(|name| table.numeric(name)).collect::<Result<_>>()?;
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (row, label) in labels.iter().enumerate() {
        members.entry(label.as_str()).or_default().push(row);
    }
    let total = labels.len().max(1) as f64;
    let mut descriptions = if labels.is_empty() {
        BTreeMap::new()
    } else {
        ClusterSpace::of(table)?.describe(labels)?
    };
    let mut profiles: Vec<SegmentProfile> = members
        .into_iter()
        .map(|(segment, rows)| {
            let means = features
                .iter()
                .zip(&columns)
                .map(|(name, column)| {
                    let values: Vec<f64> = rows.iter().filter_map(|&row| column[row]).collect();
                    let mean = (!values.is_empty())
                        .then(|| values.iter().sum::<f64>() / values.len() as f64);
                    (name.to_string(), mean)
                })
                .collect();
            let mut top_tags: Vec<(Tag, f64)> = Tag::ALL
                .iter()
                .map(|&tag| {
                    let carrying =
                        rows.iter().filter(|&&row| tags.tags[row].contains(&tag)).count();
                    (tag, carrying as f64 / rows.len() as f64)
                })
                .filter(|(_, share)| *share > 0.0)
                .collect();
            top_tags.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            top_tags.truncate(3);
            SegmentProfile {
                segment: segment.to_string(),
                users: rows.len(),
                share: rows.len() as f64 / total,
                means,
                top_tags,
                description: descriptions.remove(segment).map(|d| d.text).unwrap_or_default(),
            }
        })
        .collect();
    profiles.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.segment.cmp(&b.segment)));
    Ok(profiles)
}
