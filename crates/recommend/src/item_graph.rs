//! Item-to-item models: item-kNN (cosine or asymmetric cosine with shrinkage, from
//! co-occurrence or from click order) and EASE. Both end as a sparse item → item weight
//! graph, and score a history by summing the rows of its items, recent items weighted
//! more.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::HistoryItem;
use crate::error::{RecommendError, Result};
use crate::interactions::{Csr, TrainingData};
use crate::prefetch::prefetch;
use crate::scratch::{Scratch, best_k, top_k};

/// Hyper-parameters of item-kNN.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemKnnConfig {
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// Added to the similarity's denominator, so pairs seen together rarely count less.
    pub shrink: f32,
    /// Asymmetric cosine: `c(i,j) / (n(i)^alpha · n(j)^(1-alpha) + shrink)`; 0.5 is cosine.
    pub alpha: f32,
    /// Count `j` after `i` within `window` clicks of one session, weighted by 1/distance
    /// (sequential rules), instead of `i` and `j` anywhere in one user's history.
    pub sequential: bool,
    pub window: usize,
    /// The weight of the item `d` clicks before the last one is `history_decay^d`
    /// (0: only the last item counts, 1: all count alike).
    pub history_decay: f32,
}

impl Default for ItemKnnConfig {
    fn default() -> Self {
        Self {
            neighbours: 100,
            shrink: 10.0,
            alpha: 0.5,
            sequential: false,
            window: 10,
            history_decay: 1.0,
        }
    }
}

/// Hyper-parameters of EASE (Steck 2019).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EaseConfig {
    /// L2 regularisation added to the diagonal of the Gram matrix.
    pub lambda: f64,
    /// Largest weights kept per item row (the dense matrix is n²; serving needs only the top).
    pub keep: usize,
    pub history_decay: f32,
    /// EASE inverts a dense items × items matrix: refuse catalogues larger than this.
    pub max_items: usize,
}

impl Default for EaseConfig {
    fn default() -> Self {
        Self { lambda: 500.0, keep: 200, history_decay: 1.0, max_items: 20_000 }
    }
}

/// A sparse item → item weight graph and the history decay used to query it.
#[derive(Clone, Debug)]
pub struct ItemGraph {
    pub(crate) weights: Csr,
    pub(crate) history_decay: f32,
}

impl ItemGraph {
    /// The decay applies to an `ordered` history (a click sequence), not to a profile.
    pub(crate) fn score(&self, history: &[HistoryItem], ordered: bool, scratch: &mut Scratch) {
        let decay = if ordered { self.history_decay } else { 1.0 };
        let last = history.len().saturating_sub(1);
        for (position, entry) in history.iter().enumerate() {
            let weight = entry.weight * decay.powi((last - position) as i32);
            if weight == 0.0 {
                continue;
            }
            let (items, values) = self.weights.row(entry.item as usize);
            for (&item, &value) in items.iter().zip(values) {
                scratch.add_item(item, weight * value);
            }
        }
    }

    /// The history item that contributed most to `item`'s score.
    pub(crate) fn explain(&self, history: &[HistoryItem], ordered: bool, item: u32) -> Option<u32> {
        let decay = if ordered { self.history_decay } else { 1.0 };
        let last = history.len().saturating_sub(1);
        history
            .iter()
            .enumerate()
            .map(|(position, entry)| {
                let weight = entry.weight * decay.powi((last - position) as i32);
                (entry.item, weight * self.weights.get(entry.item as usize, item))
            })
            .filter(|&(_, contribution)| contribution > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(item, _)| item)
    }
}

/// Keeps the `keep` largest positive entries of a dense or sparse row.
fn strongest(entries: impl Iterator<Item = (u32, f32)>, keep: usize) -> Vec<(u32, f32)> {
    let entries: Vec<(u32, f32)> = entries.filter(|&(_, value)| value > 0.0).collect();
    let lookup = |index: u32| entries[index as usize].1;
    top_k(0..entries.len() as u32, lookup, keep, |_| true)
        .into_iter()
        .map(|(at, value)| (entries[at as usize].0, value))
        .collect()
}

/// How many users ahead item-kNN training asks for interaction rows (the row offsets
/// twice as far ahead). 8 and 16 measured alike; without it, training waits on memory.
const ROWS_AHEAD: usize = 8;

/// Trains item-kNN: per item (in parallel), accumulate co-occurrence counts with every
/// other item into a dense buffer, turn them into similarities, keep the top neighbours.
pub fn train_item_knn(data: &TrainingData, config: &ItemKnnConfig) -> Result<ItemGraph> {
    if !(0.0..=1.0).contains(&config.alpha) {
        return Err(RecommendError::Config(format!(
            "alpha must be in [0, 1], got {}",
            config.alpha
        )));
    }
    let items = data.items;
    // Where each item occurs: (row, value) for co-occurrence, (session, position) for order.
    let (occurrences, norms) = if config.sequential {
        let mut per_item: Vec<Vec<(u32, f32)>> = vec![Vec::new(); items];
        for (session, sequence) in data.sequences.iter().enumerate() {
            for (position, &item) in sequence.iter().enumerate() {
                per_item[item as usize].push((session as u32, position as f32));
            }
        }
        let norms = per_item.iter().map(|list| list.len() as f32).collect::<Vec<_>>();
        (Csr::from_rows(per_item), norms)
    } else {
        let by_item = data.rows.transpose(items);
        let norms =
            (0..items).map(|item| by_item.row(item).1.iter().map(|v| v * v).sum()).collect();
        (by_item, norms)
    };
    // `‖other‖^(1−α)` once per item, not once per co-occurring pair (a `powf` per pair
    // was most of the training time on 10M interactions).
    let other_norms: Vec<f32> = norms.iter().map(|norm| norm.powf(1.0 - config.alpha)).collect();
    let rows: Vec<Vec<(u32, f32)>> = (0..items)
        .into_par_iter()
        .map_init(
            || Scratch::new(items, 0),
            |scratch, item| {
                let (places, values) = occurrences.row(item);
                if config.sequential {
                    for (&session, &position) in places.iter().zip(values) {
                        let sequence = &data.sequences[session as usize];
                        let position = position as usize;
                        let end = (position + 1 + config.window).min(sequence.len());
                        for (distance, &next) in sequence[position + 1..end].iter().enumerate() {
                            scratch.add_item(next, 1.0 / (distance + 1) as f32);
                        }
                    }
                } else {
                    for (at, (&row, &value)) in places.iter().zip(values).enumerate() {
                        // The item's users' rows are scattered: ask for the offsets of
                        // the row 16 users ahead and the contents of the one 8 ahead, so
                        // that they arrive by the time they are read.
                        if let Some(&ahead) = places.get(at + ROWS_AHEAD * 2) {
                            prefetch(&data.rows.offsets[ahead as usize]);
                        }
                        if let Some(&ahead) = places.get(at + ROWS_AHEAD) {
                            data.rows.prefetch_row(ahead as usize);
                        }
                        let (others, other_values) = data.rows.row(row as usize);
                        for (&other, &other_value) in others.iter().zip(other_values) {
                            if other as usize != item {
                                scratch.add_item(other, value * other_value);
                            }
                        }
                    }
                }
                let norm = norms[item].powf(config.alpha);
                let similarity = |other: u32| {
                    let together = scratch.item_scores[other as usize];
                    let denominator = norm * other_norms[other as usize] + config.shrink;
                    if denominator > 0.0 { together / denominator } else { 0.0 }
                };
                // Straight from the touched items (collecting the similarities first
                // cost allocation and copying), and unsorted: the row is sorted by item.
                let candidates = scratch.touched_items.iter().copied();
                let row = best_k(candidates, similarity, config.neighbours, |other| {
                    similarity(other) > 0.0
                });
                scratch.clear();
                row
            },
        )
        .collect();
    Ok(ItemGraph { weights: Csr::from_rows(rows), history_decay: config.history_decay })
}

/// Trains EASE: `P = (XᵀX + λI)⁻¹`, `B = I − P·diag(1/diag P)` with a zero diagonal,
/// keeping the strongest `keep` weights per row.
pub fn train_ease(data: &TrainingData, config: &EaseConfig) -> Result<ItemGraph> {
    let n = data.items;
    if n > config.max_items {
        return Err(RecommendError::Config(format!(
            "EASE inverts a dense {n} × {n} matrix; this catalogue has more than max_items = {} items",
            config.max_items
        )));
    }
    let by_item = data.rows.transpose(n);
    let mut gram = vec![0f64; n * n];
    gram.par_chunks_mut(n.max(1)).enumerate().for_each(|(item, row)| {
        let (users, values) = by_item.row(item);
        for (&user, &value) in users.iter().zip(values) {
            let (others, other_values) = data.rows.row(user as usize);
            for (&other, &other_value) in others.iter().zip(other_values) {
                row[other as usize] += f64::from(value) * f64::from(other_value);
            }
        }
        row[item] += config.lambda;
    });
    invert_symmetric_positive_definite(&mut gram, n)?;
    let rows: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .map(|item| {
            let weights = (0..n).filter(|&other| other != item).map(|other| {
                // B[i][j] = −P[i][j] / P[j][j]
                (other as u32, (-gram[item * n + other] / gram[other * n + other]) as f32)
            });
            strongest(weights, config.keep)
        })
        .collect();
    Ok(ItemGraph { weights: Csr::from_rows(rows), history_decay: config.history_decay })
}

/// In-place Gauss–Jordan inversion without pivoting, which is stable for the symmetric
/// positive definite matrices EASE builds (λ > 0 keeps every pivot positive).
fn invert_symmetric_positive_definite(matrix: &mut [f64], n: usize) -> Result<()> {
    let mut pivot_row = vec![0f64; n];
    for k in 0..n {
        let pivot = matrix[k * n + k];
        if pivot <= 0.0 || !pivot.is_finite() {
            return Err(RecommendError::Config(format!(
                "EASE: the regularised Gram matrix is not positive definite (pivot {pivot} at {k}); raise lambda"
            )));
        }
        matrix[k * n + k] = 1.0;
        for value in &mut matrix[k * n..(k + 1) * n] {
            *value /= pivot;
        }
        pivot_row.copy_from_slice(&matrix[k * n..(k + 1) * n]);
        matrix.par_chunks_mut(n).enumerate().filter(|&(row, _)| row != k).for_each(|(_, row)| {
            let factor = row[k];
            if factor != 0.0 {
                row[k] = 0.0;
                for (value, &pivot_value) in row.iter_mut().zip(&pivot_row) {
                    *value -= factor * pivot_value;
                }
            }
        });
    }
    Ok(())
}
