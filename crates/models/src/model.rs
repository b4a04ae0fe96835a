//! The one training API over every model family: configuration, folds,
//! cross-validation, hyper-parameter search, calibration, the trained model
//! with its preprocessing, saving and loading.

use std::path::Path;
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cart::{CartModel, TreeParams};
use crate::dataset::{ColumnSpec, CsvRoles, Dataset};
use crate::error::{ModelsError, Result};
use crate::gbdt::{GbdtModel, GbdtParams};
use crate::linear::{LogisticModel, LogisticParams, Penalty, PlattScaling, sigmoid};
use crate::metrics::{MetricReport, roc_auc};
use crate::mlp::{MlpModel, MlpParams};
use crate::preprocess::{
    CategoricalEncoding, FeatureSelection, Matrix, PreprocessConfig, Preprocessor, Scaling,
};

/// The version of `model.json`'s layout; `load` refuses others.
pub const MODEL_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    Logistic,
    Tree,
    Gbdt,
    Mlp,
}

impl ModelFamily {
    pub const ALL: [ModelFamily; 4] =
        [ModelFamily::Logistic, ModelFamily::Tree, ModelFamily::Gbdt, ModelFamily::Mlp];

    pub fn name(self) -> &'static str {
        match self {
            ModelFamily::Logistic => "logistic",
            ModelFamily::Tree => "tree",
            ModelFamily::Gbdt => "gbdt",
            ModelFamily::Mlp => "mlp",
        }
    }

    /// Preprocessing that suits the family: trees need no scaling and split
    /// ordinal categories well; linear models and the network want one-hot
    /// columns on a common scale.
    pub fn default_preprocessing(self) -> PreprocessConfig {
        match self {
            ModelFamily::Tree | ModelFamily::Gbdt => PreprocessConfig {
                scaling: Scaling::None,
                categorical: CategoricalEncoding::Ordinal,
                min_level_count: 1,
                selection: FeatureSelection::default(),
            },
            ModelFamily::Logistic | ModelFamily::Mlp => PreprocessConfig {
                scaling: Scaling::Standard,
                categorical: CategoricalEncoding::OneHot,
                min_level_count: 10,
                selection: FeatureSelection::default(),
            },
        }
    }
}

impl std::fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelFamily {
    type Err = ModelsError;
    fn from_str(s: &str) -> Result<ModelFamily> {
        ModelFamily::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            ModelsError::InvalidConfig(format!(
                "unknown model family {s:?} (logistic, tree, gbdt, mlp)"
            ))
        })
    }
}

/// Which families to try: one, or all of them with the best CV ROC AUC kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyChoice {
    Auto,
    Only(ModelFamily),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row counts once.
    None,
    /// Each class weighs as much as the other in total (n / (2 · class count) per row).
    Balanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    None,
    /// Platt scaling fitted on the cross-validation's out-of-fold scores.
    Platt,
}

/// Hyper-parameters of every family; `family` picks which are used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilyParams {
    pub logistic: LogisticParams,
    pub tree: TreeParams,
    pub gbdt: GbdtParams,
    pub mlp: MlpParams,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub family: FamilyChoice,
    pub params: FamilyParams,
    /// None: each family's `default_preprocessing`.
    pub preprocessing: Option<PreprocessConfig>,
    /// Replaces the scaling of `preprocessing` (or of the family's default).
    pub scaling: Option<Scaling>,
    pub class_weight: ClassWeight,
    pub calibration: Calibration,
    /// Folds of the cross-validation that reports metrics and picks the family.
    pub folds: usize,
    pub seed: u64,
    /// Try a small grid of hyper-parameters per family, keeping the best CV ROC AUC.
    pub search: bool,
    /// Scores at or above this count as predicted positive in the metric report.
    pub threshold: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            family: FamilyChoice::Auto,
            params: FamilyParams::default(),
            preprocessing: None,
            scaling: None,
            class_weight: ClassWeight::None,
            calibration: Calibration::None,
            folds: 5,
            seed: 42,
            search: false,
            threshold: 0.5,
        }
    }
}

/// Each row's fold, 0..k.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folds {
    pub assignment: Vec<usize>,
    pub count: usize,
}

impl Folds {
    /// Stratified: each class is shuffled (seeded) and dealt round-robin, so
    /// every fold has about the same positive rate.
    pub fn stratified(target: &[f64], count: usize, seed: u64) -> Result<Folds> {
        if count < 2 || count > target.len() {
            return Err(ModelsError::InvalidConfig(format!(
                "{count} folds for {} rows: need at least 2 folds and no more folds than rows",
                target.len()
            )));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut assignment = vec![0; target.len()];
        let mut next = 0;
        for class in [1.0, 0.0] {
            let mut rows: Vec<usize> =
                (0..target.len()).filter(|&i| (target[i] > 0.5) == (class > 0.5)).collect();
            rows.shuffle(&mut rng);
            for row in rows {
                assignment[row] = next % count;
                next += 1;
            }
        }
        Ok(Folds { assignment, count })
    }

    /// Folds given by the caller (e.g. read from a file a peer uses too).
    pub fn from_assignment(assignment: Vec<usize>) -> Result<Folds> {
        let count = assignment.iter().max().map_or(0, |m| m + 1);
        for fold in 0..count {
            if !assignment.contains(&fold) {
                return Err(ModelsError::InvalidConfig(format!("fold {fold} has no rows")));
            }
        }
        if count < 2 {
            return Err(ModelsError::InvalidConfig("need at least 2 folds".to_string()));
        }
        Ok(Folds { assignment, count })
    }

    /// (training rows, test rows) of fold `k`.
    pub fn split(&self, k: usize) -> (Vec<usize>, Vec<usize>) {
        (0..self.assignment.len()).partition(|&i| self.assignment[i] != k)
    }
}

/// One fitted model of one family, before calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Estimator {
    Logistic(LogisticModel),
    Tree(CartModel),
    Gbdt(GbdtModel),
    Mlp(MlpModel),
}

impl Estimator {
    fn fit(
        family: ModelFamily,
        x: &Matrix,
        y: &[f64],
        weights: &[f64],
        params: &FamilyParams,
    ) -> Estimator {
        match family {
            ModelFamily::Logistic => {
                Estimator::Logistic(LogisticModel::fit(x, y, weights, &params.logistic))
            }
            ModelFamily::Tree => Estimator::Tree(CartModel::fit(x, y, weights, &params.tree)),
            ModelFamily::Gbdt => Estimator::Gbdt(GbdtModel::fit(x, y, weights, &params.gbdt)),
            ModelFamily::Mlp => Estimator::Mlp(MlpModel::fit(x, y, weights, &params.mlp)),
        }
    }

    pub fn family(&self) -> ModelFamily {
        match self {
            Estimator::Logistic(_) => ModelFamily::Logistic,
            Estimator::Tree(_) => ModelFamily::Tree,
            Estimator::Gbdt(_) => ModelFamily::Gbdt,
            Estimator::Mlp(_) => ModelFamily::Mlp,
        }
    }

    /// The probability of the positive class for one preprocessed row (the
    /// predicted value for gradient-boosted trees with a regression objective).
    pub fn score_row(&self, x: &[f64]) -> f64 {
        match self {
            Estimator::Logistic(m) => sigmoid(m.margin(x)),
            Estimator::Tree(m) => m.predict(x),
            Estimator::Gbdt(m) => m.predict(x),
            Estimator::Mlp(m) => sigmoid(m.margin(x)),
        }
    }

    pub fn score(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows).into_par_iter().map(|i| self.score_row(x.row(i))).collect()
    }
}

fn sample_weights(y: &[f64], class_weight: ClassWeight) -> Vec<f64> {
    match class_weight {
        ClassWeight::None => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let positives = y.iter().filter(|v| **v > 0.5).count().max(1) as f64;
            let negatives = (y.len() as f64 - positives).max(1.0);
            let n = y.len() as f64;
            y.iter()
                .map(|v| if *v > 0.5 { n / (2.0 * positives) } else { n / (2.0 * negatives) })
                .collect()
        }
    }
}

/// Preprocessing and estimator fitted together on some rows: a classifier,
/// or, with gradient-boosted trees and a regression objective
/// (`params.gbdt.objective`), a regressor whose scores are predicted values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub preprocessor: Preprocessor,
    pub estimator: Estimator,
}

impl Pipeline {
    pub fn fit(
        data: &Dataset,
        family: ModelFamily,
        config: &TrainConfig,
        params: &FamilyParams,
    ) -> Result<Pipeline> {
        let preprocessing =
            config.preprocessing.clone().unwrap_or_else(|| family.default_preprocessing());
        let y = data.target_or_error()?;
        let regression = family == ModelFamily::Gbdt && params.gbdt.objective.is_regression();
        if !regression && y.iter().any(|&v| v != 0.0 && v != 1.0) {
            return Err(ModelsError::InvalidData(format!(
                "{family} is a classifier and needs a 0/1 target; only gbdt with a regression \
                 objective fits real values"
            )));
        }
        let preprocessor = Preprocessor::fit(data, &preprocessing)?;
        let x = preprocessor.transform(data)?;
        let weights = sample_weights(y, config.class_weight);
        let estimator = Estimator::fit(family, &x, y, &weights, params);
        Ok(Pipeline { preprocessor, estimator })
    }

    pub fn score(&self, data: &Dataset) -> Result<Vec<f64>> {
        Ok(self.estimator.score(&self.preprocessor.transform(data)?))
    }
}

/// One family's cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub family: ModelFamily,
    pub params: FamilyParams,
    pub fold_roc_auc: Vec<f64>,
    pub mean_roc_auc: f64,
    pub std_roc_auc: f64,
    /// Every metric on the pooled out-of-fold scores.
    pub pooled: MetricReport,
    /// Each row's score from the model that did not see it.
    #[serde(skip)]
    pub out_of_fold: Vec<f64>,
    /// Wall time of the k fits and scorings.
    pub seconds: f64,
}

/// Trains `family` with `params` on each fold's training rows and scores its test rows.
pub fn cross_validate(
    data: &Dataset,
    family: ModelFamily,
    config: &TrainConfig,
    params: &FamilyParams,
    folds: &Folds,
) -> Result<CvReport> {
    let started = Instant::now();
    let y = data.target_or_error()?;
    if folds.assignment.len() != data.rows() {
        return Err(ModelsError::InvalidConfig(format!(
            "the fold assignment has {} rows, the data {}",
            folds.assignment.len(),
            data.rows()
        )));
    }
    let fold_scores: Vec<(Vec<usize>, Vec<f64>)> = (0..folds.count)
        .into_par_iter()
        .map(|k| {
            let (train_rows, test_rows) = folds.split(k);
            let pipeline = Pipeline::fit(&data.subset(&train_rows), family, config, params)?;
            let scores = pipeline.score(&data.subset(&test_rows))?;
            Ok((test_rows, scores))
        })
        .collect::<Result<_>>()?;
    let mut out_of_fold = vec![0.0; data.rows()];
    let mut fold_roc_auc = Vec::new();
    for (rows, scores) in &fold_scores {
        let labels: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        fold_roc_auc.push(roc_auc(scores, &labels));
        for (&i, s) in rows.iter().zip(scores) {
            out_of_fold[i] = *s;
        }
    }
    let mean = fold_roc_auc.iter().sum::<f64>() / fold_roc_auc.len() as f64;
    let variance = fold_roc_auc.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>()
        / fold_roc_auc.len() as f64;
    Ok(CvReport {
        family,
        params: params.clone(),
        pooled: MetricReport::compute(&out_of_fold, y, config.threshold)?,
        fold_roc_auc,
        mean_roc_auc: mean,
        std_roc_auc: variance.sqrt(),
        out_of_fold,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The small grid `search` tries for a family, around the defaults.
pub fn search_grid(family: ModelFamily, base: &FamilyParams) -> Vec<FamilyParams> {
    let mut grid = Vec::new();
    match family {
        ModelFamily::Logistic => {
            for penalty in [Penalty::L2, Penalty::L1] {
                for strength in [1e-4, 1e-3, 1e-2] {
                    let mut p = base.clone();
                    p.logistic.penalty = penalty;
                    p.logistic.strength = strength;
                    grid.push(p);
                }
            }
        }
        ModelFamily::Tree => {
            for max_depth in [4, 6, 8] {
                for min_samples_leaf in [10, 40] {
                    let mut p = base.clone();
                    p.tree = TreeParams { max_depth, min_samples_leaf };
                    grid.push(p);
                }
            }
        }
        ModelFamily::Gbdt => {
            for (trees, learning_rate) in [(150, 0.05), (300, 0.03), (100, 0.1)] {
                for max_leaves in [6, 12, 24] {
                    let mut p = base.clone();
                    p.gbdt.trees = trees;
                    p.gbdt.learning_rate = learning_rate;
                    p.gbdt.max_leaves = max_leaves;
                    grid.push(p);
                }
            }
        }
        ModelFamily::Mlp => {
            for hidden in [8, 16, 32] {
                for weight_decay in [1e-3, 1e-2] {
                    let mut p = base.clone();
                    p.mlp.hidden = hidden;
                    p.mlp.weight_decay = weight_decay;
                    grid.push(p);
                }
            }
        }
    }
    grid
}

/// A column's permutation importance: how much the training ROC AUC drops
/// when its values are shuffled among the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    pub column: String,
    pub roc_auc_drop: f64,
}

/// One feature's part in one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The model input (a one-hot column is `column=level`).
    pub feature: String,
    /// Its value after preprocessing.
    pub value: f64,
    pub contribution: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionMethod {
    /// Exact SHAP values of the trees (TreeSHAP, path-dependent).
    TreeShap,
    /// Coefficient × (scaled) value.
    Linear,
    /// The drop in log-odds when the feature is set to its training mean
    /// (0 after standard scaling) alone: an approximation, not additive.
    Occlusion,
}

/// Why a row got its score: `base + Σ contributions = output` (exactly for
/// TreeSHAP and linear), in `scale` units, before calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowExplanation {
    pub row: usize,
    pub score: f64,
    pub method: ContributionMethod,
    /// `log_odds` or `probability`.
    pub scale: String,
    pub base: f64,
    pub output: f64,
    /// Largest absolute contribution first.
    pub contributions: Vec<Contribution>,
}

/// A trained model: the chosen pipeline, its calibration, the cross-validation
/// that chose it, and what it needs to read new data. Saved as `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format_version: u32,
    pub config: TrainConfig,
    pub family: ModelFamily,
    pub schema: Vec<ColumnSpec>,
    pub target_name: String,
    pub id_name: Option<String>,
    pub training_rows: usize,
    pub training_positives: f64,
    pub data_fingerprint: String,
    pub pipeline: Pipeline,
    pub calibration: Option<PlattScaling>,
    /// Every family tried (one unless `auto`), best CV ROC AUC first.
    pub cross_validation: Vec<CvReport>,
    /// Permutation importance per input column on the training rows, largest first.
    pub importance: Vec<Importance>,
    pub train_seconds: f64,
}

fn check_trainable(data: &Dataset) -> Result<()> {
    let y = data.target_or_error()?;
    let positives = y.iter().filter(|v| **v > 0.5).count();
    if positives == 0 || positives == y.len() {
        return Err(ModelsError::InvalidData(format!(
            "the target has only one class ({positives} positive of {} rows)",
            y.len()
        )));
    }
    if data.columns.is_empty() {
        return Err(ModelsError::InvalidData("the data has no feature columns".to_string()));
    }
    Ok(())
}

/// Cross-validates the chosen families (searching hyper-parameters if asked),
/// keeps the best by mean CV ROC AUC, and fits it on all rows.
pub fn train(data: &Dataset, config: &TrainConfig) -> Result<TrainedModel> {
    let folds = Folds::stratified(data.target_or_error()?, config.folds, config.seed)?;
    train_with_folds(data, config, &folds)
}

/// `train` with the caller's fold assignment.
pub fn train_with_folds(
    data: &Dataset,
    config: &TrainConfig,
    folds: &Folds,
) -> Result<TrainedModel> {
    let started = Instant::now();
    if config.params.gbdt.objective.is_regression() {
        return Err(ModelsError::InvalidConfig(format!(
            "train cross-validates classifiers by ROC AUC, so it cannot fit the {:?} objective; \
             fit a regression with Pipeline::fit",
            config.params.gbdt.objective
        )));
    }
    check_trainable(data)?;
    let families: Vec<ModelFamily> = match config.family {
        FamilyChoice::Auto => ModelFamily::ALL.to_vec(),
        FamilyChoice::Only(family) => vec![family],
    };
    let mut reports = Vec::new();
    for family in families {
        let candidates = if config.search {
            search_grid(family, &config.params)
        } else {
            vec![config.params.clone()]
        };
        let mut best: Option<CvReport> = None;
        for params in candidates {
            let report = cross_validate(data, family, config, &params, folds)?;
            if best.as_ref().is_none_or(|b| report.mean_roc_auc > b.mean_roc_auc) {
                best = Some(report);
            }
        }
        reports.extend(best);
    }
    reports.sort_by(|a, b| b.mean_roc_auc.total_cmp(&a.mean_roc_auc));
    let chosen = reports
        .first()
        .ok_or_else(|| ModelsError::Internal("no family was cross-validated".into()))?;
    let y = data.target_or_error()?;
    let calibration = match config.calibration {
        Calibration::None => None,
        Calibration::Platt => Some(PlattScaling::fit(&chosen.out_of_fold, y)),
    };
    let pipeline = Pipeline::fit(data, chosen.family, config, &chosen.params)?;
    let mut model = TrainedModel {
        format_version: MODEL_FORMAT_VERSION,
        config: config.clone(),
        family: chosen.family,
        schema: data.columns.clone(),
        target_name: data.target_name.clone().unwrap_or_default(),
        id_name: data.id_name.clone(),
        training_rows: data.rows(),
        training_positives: y.iter().sum(),
        data_fingerprint: data.fingerprint(),
        pipeline,
        calibration,
        cross_validation: reports,
        importance: Vec::new(),
        train_seconds: 0.0,
    };
    model.importance = model.permutation_importance(data, config.seed)?;
    model.train_seconds = started.elapsed().as_secs_f64();
    Ok(model)
}

impl TrainedModel {
    /// The probability of the positive class for every row, in row order.
    pub fn predict_proba(&self, data: &Dataset) -> Result<Vec<f64>> {
        let scores = self.pipeline.score(data)?;
        Ok(match &self.calibration {
            Some(platt) => scores.into_iter().map(|s| platt.apply(s)).collect(),
            None => scores,
        })
    }

    /// Reads a CSV with this model's feature columns; the target and the id
    /// column are read when present.
    pub fn read_csv(&self, path: &Path) -> Result<Dataset> {
        let header =
            csv::Reader::from_path(path).and_then(|mut r| r.headers().cloned()).map_err(|e| {
                ModelsError::Csv {
                    path: path.display().to_string(),
                    line: 1,
                    message: e.to_string(),
                }
            })?;
        let has = |name: &str| header.iter().any(|h| h.trim() == name);
        let roles = CsvRoles {
            target: Some(self.target_name.clone()).filter(|t| has(t)),
            id: self.id_name.clone().filter(|id| has(id)),
        };
        Dataset::from_csv_with_schema(path, &self.schema, &roles)
    }

    /// The cross-validation of the chosen family.
    pub fn chosen_cv(&self) -> &CvReport {
        &self.cross_validation[0]
    }

    fn permutation_importance(&self, data: &Dataset, seed: u64) -> Result<Vec<Importance>> {
        let y = data.target_or_error()?;
        let baseline = roc_auc(&self.predict_proba(data)?, y);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..data.rows()).collect();
        let mut importance = Vec::new();
        for spec in &self.schema {
            order.shuffle(&mut rng);
            let mut shuffled = data.clone();
            if let Some(column) = shuffled.numeric.iter_mut().find(|c| c.name == spec.name) {
                column.values = order.iter().map(|&i| column.values[i]).collect();
            } else if let Some(column) =
                shuffled.categorical.iter_mut().find(|c| c.name == spec.name)
            {
                column.values = order.iter().map(|&i| column.values[i].clone()).collect();
            }
            let auc = roc_auc(&self.predict_proba(&shuffled)?, y);
            importance.push(Importance { column: spec.name.clone(), roc_auc_drop: baseline - auc });
        }
        importance.sort_by(|a, b| b.roc_auc_drop.total_cmp(&a.roc_auc_drop));
        Ok(importance)
    }

    /// Per-feature contributions to row `row`'s prediction.
    pub fn explain_row(&self, data: &Dataset, row: usize) -> Result<RowExplanation> {
        if row >= data.rows() {
            return Err(ModelsError::InvalidData(format!(
                "row {row} is out of range: the data has {} rows",
                data.rows()
            )));
        }
        let one = data.subset(&[row]);
        let score = self.predict_proba(&one)?[0];
        let x = self.pipeline.preprocessor.transform(&one)?;
        let x = x.row(0);
        let names = &self.pipeline.preprocessor.feature_names;
        let mut phi = vec![0.0; x.len()];
        let (method, scale, base, output) = match &self.pipeline.estimator {
            Estimator::Logistic(m) => {
                for (j, p) in phi.iter_mut().enumerate() {
                    *p = m.coefficients[j] * x[j];
                }
                (ContributionMethod::Linear, "log_odds", m.intercept, m.margin(x))
            }
            Estimator::Tree(m) => {
                m.tree.shap_values(x, &mut phi);
                (
                    ContributionMethod::TreeShap,
                    "probability",
                    m.tree.expected_value(),
                    m.tree.predict(x),
                )
            }
            Estimator::Gbdt(m) => {
                for tree in &m.trees {
                    tree.shap_values(x, &mut phi);
                }
                let base = m.base_margin + m.trees.iter().map(|t| t.expected_value()).sum::<f64>();
                let scale = if m.objective.is_regression() { "target" } else { "log_odds" };
                (ContributionMethod::TreeShap, scale, base, m.margin(x))
            }
            Estimator::Mlp(m) => {
                let output = m.margin(x);
                let mut occluded = x.to_vec();
                for (j, p) in phi.iter_mut().enumerate() {
                    occluded[j] = 0.0;
                    *p = output - m.margin(&occluded);
                    occluded[j] = x[j];
                }
                (ContributionMethod::Occlusion, "log_odds", m.margin(&vec![0.0; x.len()]), output)
            }
        };
        let mut contributions: Vec<Contribution> = names
            .iter()
            .zip(x)
            .zip(&phi)
            .map(|((feature, value), contribution)| Contribution {
                feature: feature.clone(),
                value: *value,
                contribution: *contribution,
            })
            .collect();
        contributions.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        Ok(RowExplanation {
            row,
            score,
            method,
            scale: scale.to_string(),
            base,
            output,
            contributions,
        })
    }

    /// Writes `dir/model.json` (creating `dir`).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|source| ModelsError::Io { path: dir.to_path_buf(), source })?;
        let path = dir.join("model.json");
        let json = serde_json::to_string(self)
            .map_err(|e| ModelsError::Internal(format!("serialising the model: {e}")))?;
        std::fs::write(&path, json).map_err(|source| ModelsError::Io { path, source })
    }

    /// Reads `dir/model.json` written by `save`.
    pub fn load(dir: &Path) -> Result<TrainedModel> {
        let path = dir.join("model.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ModelsError::Io { path: path.clone(), source })?;
        let model: TrainedModel = serde_json::from_str(&text).map_err(|e| {
            ModelsError::BadModelFile { path: path.clone(), message: e.to_string() }
        })?;
        if model.format_version != MODEL_FORMAT_VERSION {
            return Err(ModelsError::BadModelFile {
                path,
                message: format!(
                    "format version {} (this build reads {MODEL_FORMAT_VERSION})",
                    model.format_version
                ),
            });
        }
        Ok(model)
    }
}
