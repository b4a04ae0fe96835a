//! Training data in the shapes the algorithms need: a sparse rows × items matrix of
//! preference weights, and each session's clicks in order.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, EventKind};
use crate::prefetch::prefetch;

/// How much each kind of event counts, and how fast old events fade.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub view: f32,
    pub cart: f32,
    pub purchase: f32,
    /// An event this many days older than the newest one counts half; `None`: no decay.
    pub half_life_days: Option<f64>,
}

impl Default for Weights {
    fn default() -> Self {
        Self { view: 1.0, cart: 3.0, purchase: 5.0, half_life_days: None }
    }
}

impl Weights {
    pub fn of(&self, kind: EventKind) -> f32 {
        match kind {
            EventKind::View => self.view,
            EventKind::Cart => self.cart,
            EventKind::Purchase => self.purchase,
        }
    }

    /// The weight of an event of `kind` at `time`, when the newest event is at `now`.
    pub fn at(&self, kind: EventKind, time: f64, now: f64) -> f32 {
        let decay = match self.half_life_days {
            Some(half_life) if half_life > 0.0 => {
                0.5f64.powf((now - time) / (half_life * 86_400.0))
            }
            _ => 1.0,
        };
        self.of(kind) * decay as f32
    }
}

/// A compressed sparse row matrix with `f32` values; columns sorted within each row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub columns: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// Builds a matrix from per-row `(column, value)` lists, sorting each by column.
    pub fn from_rows(rows: Vec<Vec<(u32, f32)>>) -> Self {
        let mut matrix = Csr { offsets: Vec::with_capacity(rows.len() + 1), ..Csr::default() };
        matrix.offsets.push(0);
        for mut row in rows {
            row.sort_unstable_by_key(|&(column, _)| column);
            for (column, value) in row {
                matrix.columns.push(column);
                matrix.values.push(value);
            }
            matrix.offsets.push(matrix.columns.len());
        }
        matrix
    }

    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn row(&self, row: usize) -> (&[u32], &[f32]) {
        let range = self.offsets[row]..self.offsets[row + 1];
        (&self.columns[range.clone()], &self.values[range])
    }

    /// Starts loading row `row` into the cache (see [`crate::prefetch`]).
    pub(crate) fn prefetch_row(&self, row: usize) {
        // 16 four-byte entries to a 64-byte cache line.
        for at in (self.offsets[row]..self.offsets[row + 1]).step_by(16) {
            prefetch(&self.columns[at]);
            prefetch(&self.values[at]);
        }
    }

    /// The value at `(row, column)`, 0 where there is none.
    pub fn get(&self, row: usize, column: u32) -> f32 {
        let (columns, values) = self.row(row);
        columns.binary_search(&column).map_or(0.0, |at| values[at])
    }

    /// Builds a matrix from per-row `(column, value)` lists kept in the given order (a
    /// click sequence), so [`Csr::get`] does not apply.
    pub fn from_ordered_rows(rows: Vec<Vec<(u32, f32)>>) -> Self {
        let mut matrix = Csr { offsets: Vec::with_capacity(rows.len() + 1), ..Csr::default() };
        matrix.offsets.push(0);
        for row in rows {
            for (column, value) in row {
                matrix.columns.push(column);
                matrix.values.push(value);
            }
            matrix.offsets.push(matrix.columns.len());
        }
        matrix
    }

    /// The transpose, with `columns` rows.
    pub fn transpose(&self, columns: usize) -> Csr {
        let mut counts = vec![0usize; columns + 1];
        for &column in &self.columns {
            counts[column as usize + 1] += 1;
        }
        for at in 1..counts.len() {
            counts[at] += counts[at - 1];
        }
        let mut next = counts.clone();
        let mut transposed_columns = vec![0u32; self.columns.len()];
        let mut values = vec![0f32; self.values.len()];
        for row in 0..self.rows() {
            let (row_columns, row_values) = self.row(row);
            for (&column, &value) in row_columns.iter().zip(row_values) {
                let at = next[column as usize];
                transposed_columns[at] = row as u32;
                values[at] = value;
                next[column as usize] += 1;
            }
        }
        Csr { offsets: counts, columns: transposed_columns, values }
    }
}

/// The training view of a [`Dataset`].
#[derive(Clone, Debug)]
pub struct TrainingData {
    pub items: usize,
    /// One row per user (for session-only data, per session): summed event weights per item.
    pub rows: Csr,
    /// Per stored entry of `rows`: whether the user bought the item.
    pub purchased: Vec<bool>,
    /// The time of each row's last event, for recency sampling.
    pub row_end: Vec<f64>,
    /// Each session's items in click order.
    pub sequences: Vec<Vec<u32>>,
    /// The row (user) of each session.
    pub session_rows: Vec<u32>,
    /// Events per item.
    pub popularity: Vec<f32>,
}

impl TrainingData {
    pub fn new(dataset: &Dataset, weights: &Weights) -> Self {
        let now = dataset.last_time();
        let users = dataset.users.len();
        let mut per_user: Vec<Vec<(u32, f32, bool)>> = vec![Vec::new(); users];
        let mut row_end = vec![f64::NEG_INFINITY; users];
        let mut popularity = vec![0f32; dataset.items.len()];
        let mut sequences = Vec::with_capacity(dataset.sessions.len());
        let mut session_rows = Vec::with_capacity(dataset.sessions.len());
        for session in &dataset.sessions {
            let user = session.user as usize;
            row_end[user] = row_end[user].max(session.end());
            for click in &session.clicks {
                popularity[click.item as usize] += 1.0;
                let bought = click.kind == EventKind::Purchase;
                per_user[user].push((click.item, weights.at(click.kind, click.time, now), bought));
            }
            sequences.push(session.clicks.iter().map(|click| click.item).collect());
            session_rows.push(session.user);
        }
        let mut purchased = Vec::new();
        let rows = per_user
            .into_iter()
            .map(|mut entries| {
                entries.sort_unstable_by_key(|&(item, _, _)| item);
                let mut merged: Vec<(u32, f32)> = Vec::with_capacity(entries.len());
                for (item, weight, bought) in entries {
                    match merged.last_mut() {
                        Some(last) if last.0 == item => {
                            last.1 += weight;
                            let flag: &mut bool = purchased.last_mut().expect("one flag per entry");
                            *flag |= bought;
                        }
                        _ => {
                            merged.push((item, weight));
                            purchased.push(bought);
                        }
                    }
                }
                merged
            })
            .collect();
        TrainingData {
            items: dataset.items.len(),
            rows: Csr::from_rows(rows),
            purchased,
            row_end,
            sequences,
            session_rows,
            popularity,
        }
    }
}
