//! Tabular propensity models behind one API.
//!
//! Build a [`Dataset`] (from a CSV with [`Dataset::from_csv`] or from vectors
//! with [`Dataset::new`] and its `with_*` methods), then [`train`] it with a
//! [`TrainConfig`]: the preprocessing (imputation, categorical encoding,
//! scaling, feature selection) is fitted and saved inside the
//! [`TrainedModel`], so [`TrainedModel::predict_proba`] transforms new rows
//! exactly as training did. Every family — logistic regression (L1/L2), a
//! CART tree, gradient-boosted trees and a small MLP — is cross-validated on
//! stratified folds; `auto` keeps the best by mean ROC AUC.
//!
//! Architecture invariant: no printing and no I/O besides reading CSV files
//! and reading/writing `model.json`; a loaded model scores exactly like the
//! one that was saved.

mod cart;
mod dataset;
mod error;
mod exact_float;
mod gbdt;
mod linear;
pub mod metrics;
mod mlp;
mod model;
mod preprocess;
mod tree;

pub use cart::{CartModel, TreeParams};
pub use dataset::{CategoricalColumn, ColumnKind, ColumnSpec, CsvRoles, Dataset, NumericColumn};
pub use error::{ModelsError, Result};
pub use gbdt::{GbdtModel, GbdtObjective, GbdtParams};
pub use linear::{LogisticModel, LogisticParams, Penalty, PlattScaling};
pub use metrics::MetricReport;
pub use mlp::{MlpModel, MlpParams};
pub use model::{
    Calibration, ClassWeight, Contribution, ContributionMethod, CvReport, Estimator, FamilyChoice,
    FamilyParams, Folds, Importance, MODEL_FORMAT_VERSION, ModelFamily, Pipeline, RowExplanation,
    TrainConfig, TrainedModel, cross_validate, search_grid, train, train_with_folds,
};
pub use preprocess::{
    CategoricalEncoding, FeatureSelection, Matrix, PreprocessConfig, Preprocessor, Scaling,
    mutual_information,
};
pub use tree::{BinnedData, GrowParams, Node, Tree};
