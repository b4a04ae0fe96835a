//! Neighbourhood models over whole histories: session-based kNN (SKNN), its
//! vector-multiplication variant with position decay and IDF (V-SKNN, Ludewig &
//! Jannach 2018), and user-based CF. All three find the training rows (sessions or
//! users) most similar to the query history and add up their items.

use serde::{Deserialize, Serialize};

use crate::HistoryItem;
use crate::error::Result;
use crate::interactions::{Csr, TrainingData};
use crate::scratch::{Scratch, top_k};
use crate::storage::{ArrayReader, ArrayWriter};

/// How a query item's weight falls with its distance `d` from the newest item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionDecay {
    /// Every item counts alike (SKNN, user-kNN).
    None,
    /// `max(1 − d/10, 0.1)` (V-SKNN "linear").
    Linear,
    /// `1 / (d + 1)` (V-SKNN "div").
    Harmonic,
}

impl PositionDecay {
    fn weight(self, distance: usize) -> f32 {
        match self {
            PositionDecay::None => 1.0,
            PositionDecay::Linear => (1.0 - distance as f32 / 10.0).max(0.1),
            PositionDecay::Harmonic => 1.0 / (distance + 1) as f32,
        }
    }
}

/// Hyper-parameters of the neighbourhood models.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighbourConfig {
    /// Most similar rows whose items are added up.
    pub neighbours: usize,
    /// Per query item, only its `sample` most recent rows are candidates (0: all).
    pub sample: usize,
    pub position_decay: PositionDecay,
    /// Weight matches by the item's inverse document frequency (rare items say more).
    pub idf: bool,
    /// Cosine similarity (true) or the plain dot product (V-SKNN).
    pub cosine: bool,
    /// Use the rows' event weights (user-kNN) instead of 0/1 membership (SKNN).
    pub weighted: bool,
    /// Weight a neighbour session's items by `exp(−d / match_decay)`, `d` their distance in
    /// clicks from where it meets the query's newest shared item (as STAN, Garg et al.
    /// 2019); 0 weighs all its items alike. Only for click sequences.
    #[serde(default)]
    pub match_decay: f32,
    /// With `match_decay`: the weight of a neighbour session's items that come before the
    /// shared item, relative to those after it (1 weighs both sides alike). The clicks
    /// that followed the shared item are the ones a next click resembles.
    #[serde(default = "one")]
    pub before_match: f32,
    /// Weight a neighbour row by `exp(−age / recency_days)`, its age being the days from
    /// its last event to the end of the training data (STAN's recency of neighbour
    /// sessions, Garg et al. 2019); 0 weighs old and new rows alike.
    #[serde(default)]
    pub recency_days: f32,
}

fn one() -> f32 {
    1.0
}

impl NeighbourConfig {
    pub fn sknn() -> Self {
        Self {
            neighbours: 100,
            sample: 500,
            position_decay: PositionDecay::None,
            idf: false,
            cosine: true,
            weighted: false,
            match_decay: 0.0,
            before_match: 1.0,
            recency_days: 0.0,
        }
    }

    pub fn vsknn() -> Self {
        Self {
            neighbours: 100,
            sample: 500,
            position_decay: PositionDecay::Linear,
            idf: true,
            cosine: false,
            weighted: false,
            match_decay: 0.0,
            before_match: 1.0,
            recency_days: 0.0,
        }
    }

    pub fn user_knn() -> Self {
        Self {
            neighbours: 50,
            sample: 0,
            position_decay: PositionDecay::None,
            idf: false,
            cosine: true,
            weighted: true,
            match_decay: 0.0,
            before_match: 1.0,
            recency_days: 0.0,
        }
    }
}

/// The training rows, indexed from item to the rows that hold it (most recent first).
#[derive(Clone, Debug)]
pub struct Neighbours {
    pub(crate) config: NeighbourConfig,
    pub(crate) rows: Csr,
    pub(crate) item_rows: Csr,
    pub(crate) row_norms: Vec<f32>,
    pub(crate) idf: Vec<f32>,
    /// Each row's items in click order (its sessions one after another).
    pub(crate) sequences: Csr,
    /// Each row's recency weight, `exp(−age / recency_days)` (all 1 without
    /// `recency_days`), computed once at training rather than per query.
    pub(crate) row_recency: Vec<f32>,
}

pub fn train_neighbours(data: &TrainingData, config: &NeighbourConfig) -> Neighbours {
    let mut rows = data.rows.clone();
    if !config.weighted {
        rows.values.iter_mut().for_each(|value| *value = 1.0);
    }
    let row_norms = (0..rows.rows())
        .map(|row| rows.row(row).1.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect();
    let mut item_rows = rows.transpose(data.items);
    // Most recent rows first, so sampling keeps the freshest.
    for item in 0..data.items {
        let range = item_rows.offsets[item]..item_rows.offsets[item + 1];
        let mut entries: Vec<(u32, f32)> = item_rows.columns[range.clone()]
            .iter()
            .copied()
            .zip(item_rows.values[range.clone()].iter().copied())
            .collect();
        entries.sort_by(|a, b| {
            data.row_end[b.0 as usize].total_cmp(&data.row_end[a.0 as usize]).then(a.0.cmp(&b.0))
        });
        for (at, (row, value)) in range.zip(entries) {
            item_rows.columns[at] = row;
            item_rows.values[at] = value;
        }
    }
    let total_rows = rows.rows().max(1) as f32;
    let idf = (0..data.items)
        .map(|item| {
            let holders = (item_rows.offsets[item + 1] - item_rows.offsets[item]).max(1) as f32;
            (total_rows / holders).ln()
        })
        .collect();
    let mut sequences: Vec<Vec<(u32, f32)>> = vec![Vec::new(); rows.rows()];
    for (session, sequence) in data.sequences.iter().enumerate() {
        sequences[data.session_rows[session] as usize]
            .extend(sequence.iter().map(|&item| (item, 0.0)));
    }
    let sequences = Csr::from_ordered_rows(sequences);
    let end = data.row_end.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let row_recency = data
        .row_end
        .iter()
        .map(|&row_end| {
            let age_days = if row_end.is_finite() { (end - row_end) / 86_400.0 } else { 0.0 };
            if config.recency_days > 0.0 {
                (-age_days / f64::from(config.recency_days)).exp() as f32
            } else {
                1.0
            }
        })
        .collect();
    Neighbours { config: *config, rows, item_rows, row_norms, idf, sequences, row_recency }
}

impl Neighbours {
    pub(crate) fn write(&self, arrays: &mut ArrayWriter) -> Result<()> {
        arrays.csr(&self.rows)?;
        arrays.csr(&self.item_rows)?;
        arrays.f32s(&self.row_norms)?;
        arrays.f32s(&self.idf)?;
        arrays.csr(&self.sequences)?;
        arrays.f32s(&self.row_recency)
    }

    pub(crate) fn read(
        arrays: &mut ArrayReader,
        config: NeighbourConfig,
        rows: usize,
        items: usize,
    ) -> Result<Self> {
        let row_items = arrays.csr(rows, items)?;
        let item_rows = arrays.csr(items, rows)?;
        let row_norms = arrays.f32s()?;
        let idf = arrays.f32s()?;
        let sequences = arrays.csr(rows, items)?;
        let row_recency = arrays.f32s()?;
        if row_norms.len() != rows || idf.len() != items || row_recency.len() != rows {
            return Err(arrays.damaged("neighbour arrays do not match the rows"));
        }
        Ok(Neighbours {
            config,
            rows: row_items,
            item_rows,
            row_norms,
            idf,
            sequences,
            row_recency,
        })
    }

    /// Position decay applies to an `ordered` history (a click sequence), not to a profile.
    pub(crate) fn score(&self, history: &[HistoryItem], ordered: bool, scratch: &mut Scratch) {
        // One weight per distinct query item: that of its newest occurrence.
        let mut query: Vec<(u32, f32)> = Vec::with_capacity(history.len());
        for (distance, entry) in history.iter().rev().enumerate() {
            if query.iter().any(|&(item, _)| item == entry.item) {
                continue;
            }
            let mut weight =
                if ordered { self.config.position_decay.weight(distance) } else { 1.0 };
            if self.config.weighted {
                weight *= entry.weight;
            }
            if self.config.idf {
                weight *= self.idf[entry.item as usize];
            }
            query.push((entry.item, weight));
        }
        let query_norm = query.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        for &(item, weight) in &query {
            let (rows, values) = self.item_rows.row(item as usize);
            let take = if self.config.sample == 0 {
                rows.len()
            } else {
                self.config.sample.min(rows.len())
            };
            for (&row, &value) in rows[..take].iter().zip(values) {
                scratch.add_row(row, weight * value);
            }
        }
        let similarity = |row: u32| {
            let dot = scratch.row_scores[row as usize];
            let similarity = if self.config.cosine {
                let denominator = query_norm * self.row_norms[row as usize];
                if denominator > 0.0 { dot / denominator } else { 0.0 }
            } else {
                dot
            };
            similarity * self.row_recency[row as usize]
        };
        let nearest =
            top_k(scratch.touched_rows.iter().copied(), similarity, self.config.neighbours, |_| {
                true
            });
        for (row, similarity) in nearest {
            if ordered && self.config.match_decay > 0.0 {
                let sequence = self.sequences.row(row as usize).0;
                let anchor = history
                    .iter()
                    .rev()
                    .find_map(|entry| sequence.iter().rposition(|&item| item == entry.item));
                if let Some(anchor) = anchor {
                    for (position, &item) in sequence.iter().enumerate() {
                        let distance = position.abs_diff(anchor) as f32;
                        let side = if position < anchor { self.config.before_match } else { 1.0 };
                        scratch.add_item(
                            item,
                            side * similarity * (-distance / self.config.match_decay).exp(),
                        );
                    }
                    continue;
                }
            }
            let (items, values) = self.rows.row(row as usize);
            for (&item, &value) in items.iter().zip(values) {
                scratch.add_item(item, similarity * value);
            }
        }
    }
}
