//! Gradient-boosted trees for the log loss: histogram-based, leaf-wise
//! growth, Newton leaf values, row and column subsampling.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::linear::{logit, sigmoid};
use crate::preprocess::Matrix;
use crate::tree::{BinnedData, GrowParams, Tree};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
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
    /// The starting log-odds: the weighted training positive rate's.
    #[serde(with = "crate::exact_float")]
    pub base_margin: f64,
    pub trees: Vec<Tree>,
}

impl GbdtModel {
    pub fn fit(x: &Matrix, y: &[f64], weights: &[f64], params: &GbdtParams) -> GbdtModel {
        let data = BinnedData::from_matrix(x);
        let total_weight: f64 = weights.iter().sum();
        let rate = y.iter().zip(weights).map(|(y, w)| y * w).sum::<f64>() / total_weight;
        let base_margin = logit(rate);
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
            return GbdtModel { base_margin, trees };
        }
        for _ in 0..params.trees {
            for i in 0..x.rows {
                let p = sigmoid(margins[i]);
                gradients[i] = weights[i] * (p - y[i]);
                hessians[i] = (weights[i] * p * (1.0 - p)).max(1e-16);
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
            let tree = Tree::grow(&data, rows, &features, &gradients, &hessians, &grow);
            for (i, margin) in margins.iter_mut().enumerate() {
                *margin += tree.predict(x.row(i));
            }
            trees.push(tree);
        }
        GbdtModel { base_margin, trees }
    }

    pub fn margin(&self, x: &[f64]) -> f64 {
        self.base_margin + self.trees.iter().map(|t| t.predict(x)).sum::<f64>()
    }
}
