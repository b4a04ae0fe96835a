//! Binary decision trees grown on histograms of binned features, shared by
//! CART and the gradient-boosted trees, and TreeSHAP on them.
//!
//! One grower serves both: a split's gain is G_L²/(H_L+λ) + G_R²/(H_R+λ) −
//! G²/(H+λ) for per-row gradients g and hessians h. With g = −w·y, h = w and
//! λ = 0 that is half the weighted Gini decrease, and the leaf value −G/H is
//! the weighted positive rate: CART with Gini. With the log-loss gradients it
//! is the Newton step of gradient boosting.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::preprocess::Matrix;

/// Features cut into at most 256 bins; bin `b` holds values in `(t[b−1], t[b]]`.
#[derive(Debug, Clone)]
pub struct BinnedData {
    /// Column-major: `bins[feature][row]`.
    pub bins: Vec<Vec<u8>>,
    /// Per feature, the bins' upper bounds except the last (which is +∞).
    pub thresholds: Vec<Vec<f64>>,
}

impl BinnedData {
    pub fn from_matrix(x: &Matrix) -> BinnedData {
        let (bins, thresholds) = (0..x.cols)
            .into_par_iter()
            .map(|j| {
                let column = x.column(j);
                let mut sorted = column.clone();
                sorted.sort_by(f64::total_cmp);
                let mut distinct = sorted.clone();
                distinct.dedup();
                let mut thresholds: Vec<f64> = if distinct.len() <= 256 {
                    distinct[..distinct.len().saturating_sub(1)].to_vec()
                } else {
                    (1..256).map(|k| sorted[k * (sorted.len() - 1) / 256]).collect()
                };
                thresholds.dedup();
                if thresholds.last() == distinct.last() {
                    thresholds.pop();
                }
                let bins =
                    column.iter().map(|v| thresholds.partition_point(|t| t < v) as u8).collect();
                (bins, thresholds)
            })
            .unzip();
        BinnedData { bins, thresholds }
    }

    pub fn features(&self) -> usize {
        self.bins.len()
    }
}

/// A node: a split (`x[feature] <= threshold` goes left) or a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: usize,
    #[serde(with = "crate::exact_float")]
    pub threshold: f64,
    /// Child indices; both 0 for a leaf (the root is never a child).
    pub left: usize,
    pub right: usize,
    /// The leaf's output (for a split node, the value it would have as a leaf).
    #[serde(with = "crate::exact_float")]
    pub value: f64,
    /// Training weight (hessian sum) that reached the node: TreeSHAP's expectations use it.
    #[serde(with = "crate::exact_float")]
    pub cover: f64,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.left == 0 && self.right == 0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, Copy)]
pub struct GrowParams {
    pub max_depth: usize,
    pub max_leaves: usize,
    pub min_samples_leaf: usize,
    pub min_child_weight: f64,
    pub lambda: f64,
    /// Leaf values are multiplied by this (the learning rate; 1 for CART).
    pub leaf_scale: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct BinStats {
    gradient: f64,
    hessian: f64,
    count: f64,
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
}

struct Leaf {
    node: usize,
    rows: Vec<u32>,
    depth: usize,
    histogram: Vec<Vec<BinStats>>,
    split: Option<Split>,
}

fn histogram(
    data: &BinnedData,
    features: &[usize],
    rows: &[u32],
    g: &[f64],
    h: &[f64],
) -> Vec<Vec<BinStats>> {
    let mut histogram = vec![Vec::new(); data.features()];
    let built: Vec<(usize, Vec<BinStats>)> = features
        .par_iter()
        .map(|&j| {
            let mut bins = vec![BinStats::default(); data.thresholds[j].len() + 1];
            let column = &data.bins[j];
            for &row in rows {
                let row = row as usize;
                let bin = &mut bins[column[row] as usize];
                bin.gradient += g[row];
                bin.hessian += h[row];
                bin.count += 1.0;
            }
            (j, bins)
        })
        .collect();
    for (j, bins) in built {
        histogram[j] = bins;
    }
    histogram
}

fn score(gradient: f64, hessian: f64, lambda: f64) -> f64 {
    gradient * gradient / (hessian + lambda)
}

fn best_split(
    histogram: &[Vec<BinStats>],
    features: &[usize],
    totals: BinStats,
    params: &GrowParams,
) -> Option<Split> {
    let parent = score(totals.gradient, totals.hessian, params.lambda);
    let mut best: Option<Split> = None;
    for &j in features {
        let mut left = BinStats::default();
        let bins = &histogram[j];
        for (b, bin) in bins.iter().enumerate().take(bins.len().saturating_sub(1)) {
            left.gradient += bin.gradient;
            left.hessian += bin.hessian;
            left.count += bin.count;
            let right = BinStats {
                gradient: totals.gradient - left.gradient,
                hessian: totals.hessian - left.hessian,
                count: totals.count - left.count,
            };
            let min_rows = params.min_samples_leaf as f64;
            if left.count < min_rows || right.count < min_rows {
                continue;
            }
            if left.hessian < params.min_child_weight || right.hessian < params.min_child_weight {
                continue;
            }
            let gain = score(left.gradient, left.hessian, params.lambda)
                + score(right.gradient, right.hessian, params.lambda)
                - parent;
            if gain > 1e-12 && best.is_none_or(|s| gain > s.gain) {
                best = Some(Split { gain, feature: j, bin: b as u8 });
            }
        }
    }
    best
}

impl Tree {
    /// Grows a tree leaf by leaf, always splitting the leaf with the largest
    /// gain, on `rows` using only `features`.
    pub fn grow(
        data: &BinnedData,
        rows: Vec<u32>,
        features: &[usize],
        g: &[f64],
        h: &[f64],
        params: &GrowParams,
    ) -> Tree {
        let leaf_node = |t: BinStats| Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            value: -t.gradient / (t.hessian + params.lambda) * params.leaf_scale,
            cover: t.hessian,
        };
        let totals_of = |histogram: &[Vec<BinStats>]| {
            let j = features[0];
            histogram[j].iter().fold(BinStats::default(), |a, b| BinStats {
                gradient: a.gradient + b.gradient,
                hessian: a.hessian + b.hessian,
                count: a.count + b.count,
            })
        };
        let root_histogram = histogram(data, features, &rows, g, h);
        let totals = totals_of(&root_histogram);
        let mut nodes = vec![leaf_node(totals)];
        let split = (params.max_depth > 0)
            .then(|| best_split(&root_histogram, features, totals, params))
            .flatten();
        let mut open = vec![Leaf { node: 0, rows, depth: 0, histogram: root_histogram, split }];
        let mut leaves = 1;
        while leaves < params.max_leaves {
            let Some(best) = open
                .iter()
                .enumerate()
                .filter_map(|(k, leaf)| leaf.split.map(|s| (k, s.gain)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
            else {
                break;
            };
            let leaf = open.swap_remove(best);
            let split = leaf.split.expect("chosen for its split");
            let column = &data.bins[split.feature];
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) =
                leaf.rows.iter().partition(|&&r| column[r as usize] <= split.bin);
            // Build the smaller child's histogram; the larger one is the parent's minus it.
            let left_is_smaller = left_rows.len() <= right_rows.len();
            let small_rows = if left_is_smaller { &left_rows } else { &right_rows };
            let small = histogram(data, features, small_rows, g, h);
            let mut large = leaf.histogram;
            for &j in features {
                for (l, s) in large[j].iter_mut().zip(&small[j]) {
                    l.gradient -= s.gradient;
                    l.hessian -= s.hessian;
                    l.count -= s.count;
                }
            }
            let (left_histogram, right_histogram) =
                if left_is_smaller { (small, large) } else { (large, small) };
            let node = leaf.node;
            nodes[node].feature = split.feature;
            nodes[node].threshold = data.thresholds[split.feature][split.bin as usize];
            for (child_rows, child_histogram, is_left) in
                [(left_rows, left_histogram, true), (right_rows, right_histogram, false)]
            {
                let totals = totals_of(&child_histogram);
                let index = nodes.len();
                nodes.push(leaf_node(totals));
                if is_left {
                    nodes[node].left = index;
                } else {
                    nodes[node].right = index;
                }
                let depth = leaf.depth + 1;
                let split = (depth < params.max_depth)
                    .then(|| best_split(&child_histogram, features, totals, params))
                    .flatten();
                open.push(Leaf {
                    node: index,
                    rows: child_rows,
                    depth,
                    histogram: child_histogram,
                    split,
                });
            }
            leaves += 1;
        }
        Tree { nodes }
    }

    /// The leaf value reached by `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.nodes[self.leaf_index(x)].value
    }

    /// The index in `nodes` of the leaf reached by `x`.
    pub fn leaf_index(&self, x: &[f64]) -> usize {
        let mut index = 0;
        while !self.nodes[index].is_leaf() {
            let node = &self.nodes[index];
            index = if x[node.feature] <= node.threshold { node.left } else { node.right };
        }
        index
    }

    /// The cover-weighted mean leaf value: the prediction when no feature is known.
    pub fn expected_value(&self) -> f64 {
        fn walk(tree: &Tree, i: usize) -> f64 {
            let node = &tree.nodes[i];
            if node.is_leaf() || node.cover <= 0.0 {
                return node.value;
            }
            let (l, r) = (&tree.nodes[node.left], &tree.nodes[node.right]);
            (l.cover * walk(tree, node.left) + r.cover * walk(tree, node.right)) / node.cover
        }
        walk(self, 0)
    }

    /// Total split gain per feature is not kept; this counts splits per feature instead.
    pub fn split_counts(&self, features: usize) -> Vec<usize> {
        let mut counts = vec![0; features];
        for node in self.nodes.iter().filter(|n| !n.is_leaf()) {
            counts[node.feature] += 1;
        }
        counts
    }

    /// Adds each feature's SHAP value for `x` to `phi` (TreeSHAP, Lundberg et
    /// al. 2018, Algorithm 2, as in the `shap` package's `tree_shap_recursive`).
    /// The values sum to `predict(x) − expected_value()`.
    pub fn shap_values(&self, x: &[f64], phi: &mut [f64]) {
        self.shap_recurse(x, phi, 0, &[], 1.0, 1.0, usize::MAX);
    }

    #[allow(clippy::too_many_arguments)] // the algorithm's own state, passed down the recursion
    fn shap_recurse(
        &self,
        x: &[f64],
        phi: &mut [f64],
        index: usize,
        parent_path: &[PathElement],
        zero_fraction: f64,
        one_fraction: f64,
        feature: usize,
    ) {
        let mut path = parent_path.to_vec();
        extend_path(&mut path, zero_fraction, one_fraction, feature);
        let node = &self.nodes[index];
        if node.is_leaf() {
            for i in 1..path.len() {
                let weight = unwound_path_sum(&path, i);
                phi[path[i].feature] +=
                    weight * (path[i].one_fraction - path[i].zero_fraction) * node.value;
            }
            return;
        }
        let (hot, cold) = if x[node.feature] <= node.threshold {
            (node.left, node.right)
        } else {
            (node.right, node.left)
        };
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        if let Some(k) = path.iter().position(|e| e.feature == node.feature) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind_path(&mut path, k);
        }
        let cover = node.cover;
        let hot_fraction = if cover > 0.0 { self.nodes[hot].cover / cover } else { 0.5 };
        let cold_fraction = if cover > 0.0 { self.nodes[cold].cover / cover } else { 0.5 };
        self.shap_recurse(
            x,
            phi,
            hot,
            &path,
            hot_fraction * incoming_zero,
            incoming_one,
            node.feature,
        );
        self.shap_recurse(x, phi, cold, &path, cold_fraction * incoming_zero, 0.0, node.feature);
    }
}

#[derive(Debug, Clone, Copy)]
struct PathElement {
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

fn extend_path(path: &mut Vec<PathElement>, zero_fraction: f64, one_fraction: f64, feature: usize) {
    let depth = path.len();
    path.push(PathElement {
        feature,
        zero_fraction,
        one_fraction,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    });
    let d = depth as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one_fraction * path[i].weight * (i as f64 + 1.0) / (d + 1.0);
        path[i].weight = zero_fraction * path[i].weight * (d - i as f64) / (d + 1.0);
    }
}

fn unwind_path(path: &mut Vec<PathElement>, index: usize) {
    let depth = path.len() - 1;
    let d = depth as f64;
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one_portion = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let saved = path[i].weight;
            path[i].weight = next_one_portion * (d + 1.0) / ((i as f64 + 1.0) * one);
            next_one_portion = saved - path[i].weight * zero * (d - i as f64) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - i as f64));
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
    path.pop();
}

fn unwound_path_sum(path: &[PathElement], index: usize) -> f64 {
    let depth = path.len() - 1;
    let d = depth as f64;
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let mut next_one_portion = path[depth].weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let part = next_one_portion * (d + 1.0) / ((i as f64 + 1.0) * one);
            total += part;
            next_one_portion = path[i].weight - part * zero * ((d - i as f64) / (d + 1.0));
        } else if zero != 0.0 {
            total += path[i].weight / (zero * ((d - i as f64) / (d + 1.0)));
        }
    }
    total
}
