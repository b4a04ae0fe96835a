//! User features from the event lake, for models, segments and tags.
//!
//! - [`build`] computes the feature table: one row per user, from that user's
//!   events strictly before an as-of time, with DataFusion over the `events`
//!   table ([`FEATURES`] lists and explains every column; `docs/features.md`
//!   is the same list for readers).
//! - [`labels`](labels()) labels the same users for purchase propensity, churn
//!   or the time to the next purchase, from the events in [as-of, as-of + horizon).
//! - [`tag_users`] gives every user rule-based tags (new, loyal, big spender, …)
//!   with thresholds relative to the population.
//! - [`rule_segments`] names segments by rules, [`cluster_users`] by K-Means
//!   or DBSCAN on the scaled features ([`ClusterSpace`]), and
//!   [`segment_profiles`] describes either, in numbers and in words.
//! - [`texts`] reads the review texts and search queries before the as-of
//!   time, for text columns computed elsewhere, and
//!   [`FeatureTable::put_column`] adds such columns.
//!
//! Every function takes a [`SessionContext`](datafusion::prelude::SessionContext)
//! in which `events` is registered (the lake's schema) and returns values;
//! nothing here prints. Bot-flagged events are left out unless asked for.
//!
//! Architecture invariant: no feature reads an event at or after the as-of
//! time, so a model trained on features before T and labels from [T, T + H)
//! never sees its own labels.

pub mod catalog;
pub mod clusters;
mod columns;
mod error;
pub mod labels;
pub mod segments;
mod table;
pub mod tags;
pub mod texts;

pub use catalog::{CATEGORY_SHARE_PREFIX, FEATURES, FeatureDef, FeatureKind, feature_def};
pub use clusters::{
    CLUSTER_FEATURES, ClusterMethod, ClusterScale, ClusterSpace, ClusterSummary, Clustering,
    KChoice, NOISE_SEGMENT, cluster_users,
};
pub use error::{FeaturesError, Result};
pub use labels::{LabelSpec, LabelTask, Labels, labels, parse_horizon};
pub use segments::{
    FeatureMatrix, PROFILE_FEATURES, SegmentProfile, rule_segments, segment_profiles,
};
pub use table::{FeatureOptions, FeatureTable, build, default_as_of};
pub use tags::{Tag, TagThresholds, UserTags, tag_users};
