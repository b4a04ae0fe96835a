//! CART: one classification tree, Gini splits (see `tree` for why the shared
//! grower is Gini here), leaves holding the weighted positive rate.

use serde::{Deserialize, Serialize};

use crate::preprocess::Matrix;
use crate::tree::{BinnedData, GrowParams, Tree};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    pub max_depth: usize,
    pub min_samples_leaf: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams { max_depth: 6, min_samples_leaf: 20 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartModel {
    pub tree: Tree,
}

impl CartModel {
    pub fn fit(x: &Matrix, y: &[f64], weights: &[f64], params: &TreeParams) -> CartModel {
        let data = BinnedData::from_matrix(x);
        let gradients: Vec<f64> = y.iter().zip(weights).map(|(y, w)| -w * y).collect();
        let features: Vec<usize> = (0..x.cols).collect();
        let rows: Vec<u32> = (0..x.rows as u32).collect();
        let grow = GrowParams {
            max_depth: params.max_depth,
            max_leaves: usize::MAX,
            min_samples_leaf: params.min_samples_leaf.max(1),
            min_child_weight: 0.0,
            lambda: 0.0,
            leaf_scale: 1.0,
        };
        CartModel { tree: Tree::grow(&data, rows, &features, &gradients, weights, &grow) }
    }

    pub fn predict(&self, x: &[f64]) -> f64 {
        self.tree.predict(x).clamp(0.0, 1.0)
    }
}
