//! Segments by clustering: K-Means (k chosen by silhouette) or DBSCAN (eps
//! from the k-distance knee) on the scaled behavioural features, and every
//! segment, however it was made, described in words from its centre.
//!
//! The clustering space is one column per behaviour ([`CLUSTER_FEATURES`] and
//! the category shares), not every column of the table: `views` repeats
//! `events`, `purchases` repeats `orders`, the RFM scores re-encode recency,
//! frequency and money, and a Euclidean distance would count such a behaviour
//! once per copy. Counts, money and durations are heavy-tailed, so they enter
//! as `ln(1 + x)`; then every column is standardised (z-scores), so that each
//! behaviour weighs the same; the category mix is one behaviour spread over
//! several share columns, so each of the c shares is further scaled by 1/√c
//! and together they weigh as much as one other feature. Robust scaling
//! (median and IQR) was not chosen because most of these columns are zero for
//! most users, which gives an IQR of 0.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use cluster::{
    ClusterDescription, Dbscan, DbscanConfig, FeatureStats, FeatureWords, KCandidate, KMeans,
    KMeansConfig, Matrix,
};
use serde::Serialize;

use crate::catalog::CATEGORY_SHARE_PREFIX;
use crate::segments::FeatureMatrix;
use crate::{FeatureTable, FeaturesError, Result};

/// How a feature enters the clustering space before standardising.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterScale {
    /// `ln(1 + x)`: counts, money and durations, whose tails would otherwise
    /// make a handful of heavy users a cluster of their own.
    Log,
    /// As is: shares and rates, already bounded.
    Linear,
}

/// A feature of the clustering space and the words for a segment well below
/// or above the population on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClusterFeature {
    pub name: &'static str,
    pub scale: ClusterScale,
    pub low: &'static str,
    pub high: &'static str,
}

const fn cluster_feature(
    name: &'static str,
    scale: ClusterScale,
    low: &'static str,
    high: &'static str,
) -> ClusterFeature {
    ClusterFeature { name, scale, low, high }
}

/// The fixed features of the clustering space, one per behaviour; the
/// `category_share_*` columns of the table follow them.
pub const CLUSTER_FEATURES: [ClusterFeature; 14] = [
    cluster_feature("sessions", ClusterScale::Log, "rarely visiting", "often visiting"),
    cluster_feature("mean_events_per_session", ClusterScale::Log, "brief-visit", "deep-browsing"),
    cluster_feature("orders", ClusterScale::Log, "non-buying", "frequent-buying"),
    cluster_feature("monetary", ClusterScale::Log, "low-spend", "high-value"),
    cluster_feature("average_order_value", ClusterScale::Log, "small-basket", "big-basket"),
    cluster_feature("recency_days", ClusterScale::Linear, "recently active", "lapsed"),
    cluster_feature("tenure_days", ClusterScale::Linear, "new", "long-standing"),
    cluster_feature(
        "cart_abandonment_rate",
        ClusterScale::Linear,
        "cart-completing",
        "cart-abandoning",
    ),
    cluster_feature("searches_per_session", ClusterScale::Linear, "browse-led", "search-led"),
    cluster_feature("category_entropy", ClusterScale::Linear, "single-category", "multi-category"),
    cluster_feature("price_level_viewed", ClusterScale::Linear, "budget", "premium"),
    cluster_feature("night_share", ClusterScale::Linear, "daytime", "night-time"),
    cluster_feature("weekend_share", ClusterScale::Linear, "weekday", "weekend"),
    cluster_feature("mobile_share", ClusterScale::Linear, "desktop", "mobile"),
];

/// Users of a segment that is not a cluster: DBSCAN's noise.
pub const NOISE_SEGMENT: &str = "noise";

/// The users in the clustering space: transformed, not yet standardised.
#[derive(Debug, Clone)]
pub struct ClusterSpace {
    /// One name and pair of words per column.
    pub words: Vec<FeatureWords>,
    /// Rows are users in the table's order. Nulls were filled with the
    /// column's median (as [`FeatureMatrix`] does), then transformed.
    pub data: Matrix<f64>,
    /// The population's statistics of `data`, for standardising and describing.
    pub stats: FeatureStats,
    /// Each standardised column's weight in the distance: 1, or 1/√c for
    /// each of the c category shares.
    pub weights: Vec<f64>,
}

impl ClusterSpace {
    /// The clustering columns of `table` that it has ([`CLUSTER_FEATURES`],
    /// then its category shares).
    pub fn of(table: &FeatureTable) -> Result<ClusterSpace> {
        let matrix = FeatureMatrix::from_table(table)?;
        let mut picked: Vec<(usize, ClusterScale, FeatureWords)> = Vec::new();
        for feature in CLUSTER_FEATURES {
            if let Some(column) = matrix.names.iter().position(|name| name == feature.name) {
                picked.push((
                    column,
                    feature.scale,
                    FeatureWords::new(feature.name, feature.low, feature.high),
                ));
            }
        }
        for (column, name) in matrix.names.iter().enumerate() {
            if let Some(category) = name.strip_prefix(CATEGORY_SHARE_PREFIX) {
                let words = FeatureWords::new(
                    name,
                    &format!("little {category}"),
                    &format!("{category}-focused"),
                );
                picked.push((column, ClusterScale::Linear, words));
            }
        }
        let rows: Vec<Vec<f64>> = matrix
            .rows
            .iter()
            .map(|row| {
                picked
                    .iter()
                    .map(|(column, scale, _)| match scale {
                        // Counts and amounts are never negative; the guard keeps ln finite.
                        ClusterScale::Log => row[*column].max(0.0).ln_1p(),
                        ClusterScale::Linear => row[*column],
                    })
                    .collect()
            })
            .collect();
        let data = if rows.is_empty() {
            Matrix::new(Vec::new(), picked.len())
        } else {
            Matrix::from_rows(&rows)
        }
        .map_err(|e| FeaturesError::Internal(format!("the clustering matrix: {e}")))?;
        let stats = FeatureStats::of(&data);
        let shares = picked.iter().filter(|(_, _, words)| is_share(&words.name)).count();
        let weights = picked
            .iter()
            .map(
                |(_, _, words)| {
                    if is_share(&words.name) { 1.0 / (shares as f64).sqrt() } else { 1.0 }
                },
            )
            .collect();
        Ok(ClusterSpace {
            words: picked.into_iter().map(|(_, _, words)| words).collect(),
            data,
            stats,
            weights,
        })
    }

    /// The standardised, weighted matrix the algorithms run on.
    pub fn standardized(&self) -> Result<Matrix<f64>> {
        let standard = self.stats.standardize(&self.data);
        let columns = standard.columns();
        let values: Vec<f64> = standard
            .as_slice()
            .iter()
            .enumerate()
            .map(|(index, value)| value * self.weights[index % columns])
            .collect();
        Matrix::new(values, columns)
            .map_err(|e| FeaturesError::Internal(format!("the standardised matrix: {e}")))
    }

    /// Each segment of `labels` (one per row) in words, from its members' mean
    /// in the clustering space against the population: the centroid, for K-Means.
    pub fn describe(&self, labels: &[String]) -> Result<BTreeMap<String, ClusterDescription>> {
        if labels.len() != self.data.rows() {
            return Err(FeaturesError::InvalidArgument(format!(
                "{} users but {} segment labels",
                self.data.rows(),
                labels.len()
            )));
        }
        let mut sums: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
        for (row, label) in self.data.iter_rows().zip(labels) {
            let (sum, count) = sums.entry(label).or_insert_with(|| (vec![0.0; row.len()], 0));
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            *count += 1;
        }
        let total = labels.len() as f64;
        sums.into_iter()
            .map(|(label, (sum, count))| {
                let centre: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
                let description = cluster::describe_cluster(
                    &centre,
                    &self.stats,
                    &self.words,
                    count as f64 / total,
                )
                .map_err(|e| FeaturesError::Internal(format!("describing {label}: {e}")))?;
                Ok((label.to_string(), description))
            })
            .collect()
    }
}

fn is_share(name: &str) -> bool {
    name.starts_with(CATEGORY_SHARE_PREFIX)
}

/// How many clusters K-Means makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KChoice {
    Fixed(usize),
    /// Every k in the range is fitted; the best mean silhouette wins.
    BySilhouette(RangeInclusive<usize>),
}

/// A clustering method and its settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMethod {
    KMeans {
        k: KChoice,
        /// k-means++ seedings per k; the lowest inertia wins.
        restarts: usize,
        seed: u64,
    },
    Dbscan {
        /// None: the knee of the sorted (min_points − 1)-distance curve.
        eps: Option<f64>,
        min_points: usize,
        /// DBSCAN is O(n²): above this many users it clusters an even sample
        /// and the other users join their nearest core user's cluster within
        /// eps (else noise).
        max_fitted_users: usize,
    },
}

/// Rows the mean silhouette is measured on (scikit-learn's `sample_size`):
/// exact silhouettes are O(n²).
pub const SILHOUETTE_SAMPLE: usize = 2000;

/// What a clustering found, beside the labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSummary {
    pub method: String,
    /// The clustering columns, in order.
    pub features: Vec<String>,
    /// K-Means: every k tried with its inertia and silhouette.
    pub candidates: Vec<KCandidate>,
    /// Clusters found (noise not counted).
    pub clusters: usize,
    /// The mean silhouette of the clustering (noise left out), on at most
    /// [`SILHOUETTE_SAMPLE`] users; None when it has fewer than two clusters.
    pub silhouette: Option<f64>,
    /// DBSCAN: the eps used, and whether it came from the knee.
    pub eps: Option<f64>,
    pub eps_from_knee: bool,
    pub min_points: Option<usize>,
    /// Users labelled noise (DBSCAN).
    pub noise: usize,
}

/// One segment label per user (`cluster 1` is the largest, `noise` for
/// DBSCAN's noise) and what the clustering found.
#[derive(Debug, Clone)]
pub struct Clustering {
    pub labels: Vec<String>,
    pub summary: ClusterSummary,
}

/// Clusters the users of `space` with `method`.
pub fn cluster_users(space: &ClusterSpace, method: &ClusterMethod) -> Result<Clustering> {
    let data = space.standardized()?;
    let users = data.rows();
    let features = space.words.iter().map(|w| w.name.clone()).collect();
    let cluster_error = |e: cluster::ClusterError| FeaturesError::InvalidArgument(e.to_string());
    match method {
        ClusterMethod::KMeans { k, restarts, seed } => {
            let config = KMeansConfig { init_runs: *restarts, seed: *seed, ..KMeansConfig::new(2) };
            let (model, candidates) = match k {
                KChoice::Fixed(k) => {
                    if *k < 1 || *k > users {
                        return Err(FeaturesError::InvalidArgument(format!(
                            "k must be between 1 and the {users} users, not {k}"
                        )));
                    }
                    (
                        KMeans::fit(&data, &KMeansConfig { k: *k, ..config })
                            .map_err(cluster_error)?,
                        Vec::new(),
                    )
                }
                KChoice::BySilhouette(range) => {
                    if *range.start() < 2 || range.is_empty() || *range.end() >= users {
                        return Err(FeaturesError::InvalidArgument(format!(
                            "the k range must start at 2 or more and end below the {users} users, \
                             not {}..{}",
                            range.start(),
                            range.end()
                        )));
                    }
                    let chosen =
                        cluster::choose_k(&data, range.clone(), &config, SILHOUETTE_SAMPLE)
                            .map_err(cluster_error)?;
                    (chosen.model, chosen.candidates)
                }
            };
            let labels: Vec<Option<usize>> = model.labels.iter().map(|&l| Some(l)).collect();
            let (labels, clusters) = names_by_size(&labels);
            let silhouette = silhouette(&data, &model.labels, *seed);
            Ok(Clustering {
                labels,
                summary: ClusterSummary {
                    method: "kmeans".into(),
                    features,
                    candidates,
                    clusters,
                    silhouette,
                    eps: None,
                    eps_from_knee: false,
                    min_points: None,
                    noise: 0,
                },
            })
        }
        ClusterMethod::Dbscan { eps, min_points, max_fitted_users } => {
            if *min_points < 2 || *min_points >= users {
                return Err(FeaturesError::InvalidArgument(format!(
                    "min-points must be between 2 and {} (the users − 1), not {min_points}",
                    users.saturating_sub(1)
                )));
            }
            // An even spread over the users (sorted by id), the same on every run.
            let stride = users.div_ceil((*max_fitted_users).max(1));
            let fitted_rows: Vec<usize> = (0..users).step_by(stride.max(1)).collect();
            let fitted = data.select_rows(&fitted_rows);
            let eps_used = match eps {
                Some(eps) => *eps,
                None => cluster::suggest_eps(&fitted, *min_points).map_err(cluster_error)?,
            };
            let model =
                Dbscan::fit(&fitted, &DbscanConfig { eps: eps_used, min_points: *min_points })
                    .map_err(cluster_error)?;
            let labels = if stride > 1 {
                model.assign(&fitted, eps_used, &data).map_err(cluster_error)?
            } else {
                model.labels.clone()
            };
            let (names, clusters) = names_by_size(&labels);
            let clustered: Vec<usize> = (0..users).filter(|&row| labels[row].is_some()).collect();
            let silhouette = silhouette(
                &data.select_rows(&clustered),
                &clustered.iter().filter_map(|&row| labels[row]).collect::<Vec<_>>(),
                0,
            );
            Ok(Clustering {
                summary: ClusterSummary {
                    method: "dbscan".into(),
                    features,
                    candidates: Vec::new(),
                    clusters,
                    silhouette,
                    eps: Some(eps_used),
                    eps_from_knee: eps.is_none(),
                    min_points: Some(*min_points),
                    noise: names.iter().filter(|name| *name == NOISE_SEGMENT).count(),
                },
                labels: names,
            })
        }
    }
}

/// The sampled mean silhouette, None when it is undefined (fewer than two
/// clusters, or every row its own cluster).
fn silhouette(data: &Matrix<f64>, labels: &[usize], seed: u64) -> Option<f64> {
    cluster::silhouette_score_sampled(data, labels, SILHOUETTE_SAMPLE, seed).ok()
}

/// `cluster 1` for the largest cluster, `cluster 2` for the next (ties by
/// the algorithm's number), `noise` for None; and the number of clusters.
fn names_by_size(labels: &[Option<usize>]) -> (Vec<String>, usize) {
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for label in labels.iter().flatten() {
        *sizes.entry(*label).or_default() += 1;
    }
    let mut by_size: Vec<(usize, usize)> = sizes.into_iter().collect();
    by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: BTreeMap<usize, usize> =
        by_size.iter().enumerate().map(|(rank, (label, _))| (*label, rank + 1)).collect();
    let names = labels
        .iter()
        .map(|label| match label {
            Some(label) => format!("cluster {}", rank[label]),
            None => NOISE_SEGMENT.to_string(),
        })
        .collect();
    (names, by_size.len())
}
