//! Clustering for user segments, over row-major `f32`/`f64` [`Matrix`] data:
//!
//! - [`KMeans::fit`]: greedy k-means++ seeding (scikit-learn's), several restarts,
//!   Lloyd iterations parallel with rayon; [`KMeansModel::predict`];
//! - [`silhouette_score`] (exact) and [`silhouette_score_sampled`], and [`choose_k`],
//!   which picks k in a range by silhouette;
//! - [`Dbscan::fit`], with `eps` from the knee of the k-distance curve
//!   ([`k_distances`], [`kdistance_knee`], [`suggest_eps`]);
//! - [`pca_2d`] for a scatter chart, [`FeatureStats`] for standardising, and
//!   [`describe_cluster`], which puts a centroid into words.
//!
//! Pure computation: no I/O. Work runs on the current rayon pool.

mod dbscan;
mod describe;
mod error;
mod kmeans;
mod matrix;
mod pca;
mod scale;
mod silhouette;

pub use dbscan::{Dbscan, DbscanConfig, DbscanModel, k_distances, kdistance_knee, suggest_eps};
pub use describe::{
    ClusterDescription, DISTINCTIVE_Z, Distinction, FeatureWords, MAX_WORDS, describe_cluster,
};
pub use error::{ClusterError, Result};
pub use kmeans::{KMeans, KMeansConfig, KMeansModel};
pub use matrix::{Matrix, Scalar};
pub use pca::{Projection, pca_2d};
pub use scale::FeatureStats;
pub use silhouette::{
    ChosenK, KCandidate, choose_k, silhouette_samples, silhouette_score, silhouette_score_sampled,
};
