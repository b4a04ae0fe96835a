//! Gradient-boosted trees: histogram-based, leaf-wise growth, row and column
//! subsampling, for one of three objectives: the log loss (binary
//! classification, Newton leaf values), the squared error (regression to the
//! conditional mean) or the absolute error (regression to the conditional
//! median, with LightGBM's leaf renewal).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::linear::{logit, sigmoid};
use crate::preprocess::Matrix;
use crate::tree::{BinnedData, GrowParams, Tree};

/// The loss the trees minimise, which fixes what the model's output means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GbdtObjective {
    /// Binary log loss on a 0/1 target; the output is the probability of 1.
    #[default]
    LogLoss,
    /// Squared error on a real target; the output estimates the conditional mean.
    SquaredError,
    /// Absolute error on a real target; the output estimates the conditional
    /// median. The gradient of |y − f| is only its sign, so a Newton step would
    /// move a leaf by at most one unit of the target per tree; as LightGBM's
    /// `l1` objective does, each new leaf is instead set to the weighted median
    /// of its rows' residuals (times the learning rate).
    AbsoluteError,
}

impl GbdtObjective {
    /// Whether the objective fits a real-valued target rather than classes.
    pub fn is_regression(self) -> bool {
        !matches!(self, GbdtObjective::LogLoss)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    /// Model files written before regression existed have no objective: log loss.
    #[serde(default)]
    pub objective: GbdtObjective,
    pub trees: usize,
    pub learning_rate: f64,
    pub max_leaves: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Minimum hessian sum in a leaf (XGBoost's `min_child_weight`).
    pub min_child_weight: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Share of rows each tree sees.
    pub subsample: f64,
    /// Share of features each tree may split on.
    pub colsample: f64,
    pub seed: u64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            objective: GbdtObjective::LogLoss,
            trees: 150,
            learning_rate: 0.05,
            max_leaves: 12,
            max_depth: 6,
            min_samples_leaf: 20,
            min_child_weight: 1e-3,
            lambda: 1.0,
            subsample: 0.8,
            colsample: 0.7,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtModel {
    #[serde(default)]
    pub objective: GbdtObjective,
    /// The starting margin: the log-odds of the weighted positive rate (log
    /// loss), the weighted mean (squared error) or median (absolute error) of
    /// the target.
    #[serde(with = "crate::exact_float")]
    pub base_margin: f64,
    pub trees: Vec<Tree>,
}

impl GbdtModel {
    pub fn fit(x: &Matrix, y: &[f64], weights: &[f64], params: &GbdtParams) -> GbdtModel {
        let objective = params.objective;
        let data = BinnedData::from_matrix(x);
        let total_weight: f64 = weights.iter().sum();
        let weighted_mean = y.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / total_weight;
        let base_margin = match objective {
            GbdtObjective::LogLoss => logit(weighted_mean),
            GbdtObjective::SquaredError => weighted_mean,
            GbdtObjective::AbsoluteError => weighted_median(
                &mut y.iter().copied().zip(weights.iter().copied()).collect::<Vec<_>>(),
            ),
        };
        let mut margins = vec![base_margin; x.rows];
        let mut gradients = vec![0.0; x.rows];
        let mut hessians = vec![0.0; x.rows];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
        let all_rows: Vec<u32> = (0..x.rows as u32).collect();
        let all_features: Vec<usize> = (0..x.cols).collect();
        let grow = GrowParams {
            max_depth: params.max_depth,
            max_leaves: params.max_leaves.max(2),
            min_samples_leaf: params.min_samples_leaf.max(1),
            min_child_weight: params.min_child_weight,
            lambda: params.lambda,
            leaf_scale: params.learning_rate,
        };
        let mut trees = Vec::with_capacity(params.trees);
        if x.cols == 0 {
            return GbdtModel { objective, base_margin, trees };
        }
        for _ in 0..params.trees {
            for i in 0..x.rows {
                match objective {
                    GbdtObjective::LogLoss => {
                        let p = sigmoid(margins[i]);
                        gradients[i] = weights[i] * (p - y[i]);
                        hessians[i] = (weights[i] * p * (1.0 - p)).max(1e-16);
                    }
                    GbdtObjective::SquaredError => {
                        gradients[i] = weights[i] * (margins[i] - y[i]);
                        hessians[i] = weights[i].max(1e-16);
                    }
                    GbdtObjective::AbsoluteError => {
                        // The sign of the residual, 0 for a row already fitted
                        // (`f64::signum` would say 1 for 0).
                        let sign = match (margins[i] - y[i]).partial_cmp(&0.0) {
                            Some(std::cmp::Ordering::Greater) => 1.0,
                            Some(std::cmp::Ordering::Less) => -1.0,
                            _ => 0.0,
                        };
                        gradients[i] = weights[i] * sign;
                        hessians[i] = weights[i].max(1e-16);
                    }
                }
            }
            let mut rows = all_rows.clone();
            if params.subsample < 1.0 {
                rows.shuffle(&mut rng);
                rows.truncate(((x.rows as f64 * params.subsample).ceil() as usize).max(1));
                rows.sort_unstable();
            }
            let mut features = all_features.clone();
            if params.colsample < 1.0 {
                features.shuffle(&mut rng);
                features.truncate(((x.cols as f64 * params.colsample).ceil() as usize).max(1));
                features.sort_unstable();
            }
            let mut tree = Tree::grow(&data, rows.clone(), &features, &gradients, &hessians, &grow);
            if objective == GbdtObjective::AbsoluteError {
                renew_leaves_with_median_residuals(
                    &mut tree,
                    x,
                    &rows,
                    y,
                    weights,
                    &margins,
                    params.learning_rate,
                );
            }
            for (i, margin) in margins.iter_mut().enumerate() {
                *margin += tree.predict(x.row(i));
            }
            trees.push(tree);
        }
        GbdtModel { objective, base_margin, trees }
    }

    /// The raw output: log-odds for the log loss, the prediction itself for
    /// the regression objectives.
    pub fn margin(&self, x: &[f64]) -> f64 {
        self.base_margin + self.trees.iter().map(|t| t.predict(x)).sum::<f64>()
    }

    /// The output in the target's terms: the probability of 1 for the log
    /// loss, the predicted value for the regression objectives.
    pub fn predict(&self, x: &[f64]) -> f64 {
        match self.objective {
            GbdtObjective::LogLoss => sigmoid(self.margin(x)),
            GbdtObjective::SquaredError | GbdtObjective::AbsoluteError => self.margin(x),
        }
    }
}

/// Sets every leaf of `tree` to `learning_rate` × the weighted median of the
/// residuals `y − margin` of the training `rows` that reach it.
fn renew_leaves_with_median_residuals(
    tree: &mut Tree,
    x: &Matrix,
    rows: &[u32],
    y: &[f64],
    weights: &[f64],
    margins: &[f64],
    learning_rate: f64,
) {
    let mut residuals_by_leaf: Vec<Vec<(f64, f64)>> = vec![Vec::new(); tree.nodes.len()];
    for &row in rows {
        let row = row as usize;
        residuals_by_leaf[tree.leaf_index(x.row(row))].push((y[row] - margins[row], weights[row]));
    }
    for (node, residuals) in tree.nodes.iter_mut().zip(&mut residuals_by_leaf) {
        if node.is_leaf() && !residuals.is_empty() {
            node.value = learning_rate * weighted_median(residuals);
        }
    }
}

/// The lower weighted median: the smallest value whose cumulative weight
/// reaches half the total.
fn weighted_median(values: &mut [(f64, f64)]) -> f64 {
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = values.iter().map(|(_, w)| w).sum::<f64>() / 2.0;
    let mut cumulative = 0.0;
    for &(value, weight) in values.iter() {
        cumulative += weight;
        if cumulative >= half {
            return value;
        }
    }
    values.last().map_or(0.0, |(value, _)| *value)
}
