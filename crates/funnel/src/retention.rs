//! `retention`, ported from ClickHouse `src/AggregateFunctions/AggregateFunctionRetention.cpp`.

use crate::{FunnelError, MAX_CONDITIONS, low_bits};

/// The per-group state of `retention`: which conditions held on at least one row.
///
/// Row order and timestamps play no part, so this is a single mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetentionState {
    conditions: u8,
    seen: u32,
}

impl RetentionState {
    /// An empty state for `retention(cond1, ..., cond{conditions})`; ClickHouse accepts
    /// 2 to 32 conditions.
    pub fn new(conditions: usize) -> Result<Self, FunnelError> {
        if !(2..=MAX_CONDITIONS).contains(&conditions) {
            return Err(FunnelError::InvalidConditionCount { function: "retention", conditions });
        }
        Ok(Self { conditions: conditions as u8, seen: 0 })
    }

    /// Adds one row: bit `i` of `mask` set means `cond{i+1}` held on it.
    pub fn add(&mut self, mask: u32) {
        self.seen |= mask & low_bits(usize::from(self.conditions));
    }

    /// Which conditions held on some row so far (bit `i` is `cond{i+1}`), the state to
    /// hand to another partial aggregation.
    pub fn mask(&self) -> u32 {
        self.seen
    }

    /// Adds another partial state of the same call.
    pub fn merge(&mut self, other: &RetentionState) {
        self.seen |= other.seen;
    }

    /// `[c1, c1 && c2, c1 && c3, ...]`, each 0 or 1, where `ck` is "condition k held on
    /// some row".
    pub fn finish(&self) -> Vec<u8> {
        let first = self.seen & 1 != 0;
        (0..self.conditions).map(|index| u8::from(first && self.seen & (1 << index) != 0)).collect()
    }
}

/// `retention(cond1, ..., cond{conditions})` over rows given as condition masks (bit 0 is
/// `cond1`).
pub fn retention(rows: &[u32], conditions: usize) -> Result<Vec<u8>, FunnelError> {
    let mut state = RetentionState::new(conditions)?;
    for &mask in rows {
        state.add(mask);
    }
    Ok(state.finish())
}
