//! ClickHouse-exact funnel semantics, in pure Rust.
//!
//! This crate reproduces four ClickHouse aggregate functions bit for bit, so that the
//! DataFusion UDAFs built on top of it return what ClickHouse would return for the
//! same rows:
//!
//! - [`window_funnel`] — `windowFunnel(window, modes...)(timestamp, cond1, ..., condN)`,
//! - [`retention`] — `retention(cond1, ..., condN)`,
//! - [`sequence_match`] and [`sequence_count`] — `sequenceMatch(pattern)(...)` and
//!   `sequenceCount(pattern)(...)`, with the pattern parsed into a [`SequencePattern`].
//!
//! Every function also has a streaming state ([`FunnelState`], [`RetentionState`],
//! [`SequenceState`]): `add` rows one at a time (per group), `merge` partial states, then
//! `finish`. States keep only `(timestamp, condition mask)` pairs, or a single mask for
//! retention. The rules, with the ClickHouse source each one comes from, are in
//! `docs/funnels.md`.
//!
//! No I/O, no async, no dependencies beyond `thiserror`.

mod error;
mod retention;
mod sequence;
mod window_funnel;

pub use error::{FunnelError, PatternErrorKind};
pub use retention::{RetentionState, retention};
pub use sequence::{
    PatternElement, SequencePattern, SequenceState, TimeComparison, sequence_count, sequence_match,
};
pub use window_funnel::{FunnelSpec, FunnelState, Modes, window_funnel};

/// The most conditions (funnel steps, retention conditions, sequence conditions) one call
/// takes, as in ClickHouse (`MAX_EVENTS = 32`).
pub const MAX_CONDITIONS: usize = 32;

/// One input row: its timestamp and which conditions it satisfies.
///
/// Bit `i` of `mask` is condition `i + 1` (`cond1` is bit 0), so a row can satisfy
/// several conditions at once, as a ClickHouse row whose `cond` columns are 1 for
/// several steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Event {
    /// The timestamp, in whatever unit the window and time conditions use.
    pub timestamp: u64,
    /// Bit `i` set: the row satisfies condition `i + 1`.
    pub mask: u32,
}

impl Event {
    /// An event at `timestamp` satisfying the conditions in `mask` (bit 0 is `cond1`).
    pub const fn new(timestamp: u64, mask: u32) -> Self {
        Self { timestamp, mask }
    }
}

/// A mask with the lowest `conditions` bits set (`conditions` at most 32).
pub(crate) const fn low_bits(conditions: usize) -> u32 {
    if conditions >= 32 { u32::MAX } else { (1u32 << conditions) - 1 }
}
