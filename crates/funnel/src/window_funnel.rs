//! `windowFunnel`, ported from ClickHouse `src/AggregateFunctions/AggregateFunctionWindowFunnel.cpp`.

use crate::{Event, FunnelError, MAX_CONDITIONS, low_bits};

/// The optional `windowFunnel` modes (the string parameters after the window).
///
/// Every combination is allowed except `allow_reentry` without `strict_order`, which
/// [`FunnelSpec::new`] rejects as ClickHouse does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Modes {
    /// `'strict_deduplication'`: a step (other than step 1) seen again after it was
    /// reached stops the search and the level reached so far is returned.
    pub strict_deduplication: bool,
    /// `'strict_order'`: once step 1 was seen, a row that is not the next step (or a
    /// row that meets no condition at all) stops the search.
    pub strict_order: bool,
    /// `'strict_increase'`: each step must have a strictly larger timestamp than the
    /// step before it in the same chain.
    pub strict_increase: bool,
    /// `'strict_once'`: one row counts at most once per chain, even if it meets several
    /// conditions; every chain is tracked separately.
    pub strict_once: bool,
    /// `'allow_reentry'` (needs `strict_order`): a row that is a step ahead of the next
    /// expected one is skipped instead of stopping the search.
    pub allow_reentry: bool,
}

impl Modes {
    /// Parses ClickHouse mode strings (`"strict_order"`, `"strict_once"`, …).
    ///
    /// Rejects unknown strings and the retired `"strict"`; repeated modes are fine.
    pub fn from_options<I, S>(options: I) -> Result<Self, FunnelError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut modes = Self::default();
        for option in options {
            match option.as_ref() {
                "strict_deduplication" => modes.strict_deduplication = true,
                "strict_order" => modes.strict_order = true,
                "strict_increase" => modes.strict_increase = true,
                "strict_once" => modes.strict_once = true,
                "allow_reentry" => modes.allow_reentry = true,
                "strict" => return Err(FunnelError::StrictModeRenamed),
                other => return Err(FunnelError::UnknownMode { mode: other.to_owned() }),
            }
        }
        Ok(modes)
    }
}

/// A validated `windowFunnel(window, modes...)` with `steps` conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FunnelSpec {
    window: u64,
    steps: u8,
    modes: Modes,
}

impl FunnelSpec {
    /// Checks the parameters as ClickHouse does: 1 to 32 steps, and `allow_reentry`
    /// only with `strict_order`.
    pub fn new(window: u64, steps: usize, modes: Modes) -> Result<Self, FunnelError> {
        if steps == 0 || steps > MAX_CONDITIONS {
            return Err(FunnelError::InvalidStepCount { steps });
        }
        if modes.allow_reentry && !modes.strict_order {
            return Err(FunnelError::ReentryWithoutStrictOrder);
        }
        Ok(Self { window, steps: steps as u8, modes })
    }

    /// The window, in timestamp units.
    pub fn window(&self) -> u64 {
        self.window
    }

    /// The number of steps (conditions).
    pub fn steps(&self) -> usize {
        usize::from(self.steps)
    }

    /// The modes.
    pub fn modes(&self) -> Modes {
        self.modes
    }

    /// An empty per-group state for this funnel.
    pub fn state(&self) -> FunnelState {
        FunnelState { spec: *self, rows: Vec::new() }
    }

    /// The funnel level (0 to `steps`) reached by these rows, in any order.
    pub fn level(&self, rows: &[Event]) -> u8 {
        let step_mask = low_bits(self.steps());
        if self.modes.strict_once {
            self.level_strict_once(rows, step_mask)
        } else {
            self.level_default(rows, step_mask)
        }
    }

    /// `getEventLevel` + `getEventLevelNonStrictOnce`: one `(timestamp, step)` entry per
    /// condition a row meets (step 0 for a row meeting none, in `strict_order` only),
    /// sorted by `(timestamp, step)`.
    fn level_default(&self, rows: &[Event], step_mask: u32) -> u8 {
        let mut entries: Vec<(u64, u8)> = Vec::with_capacity(rows.len());
        for row in rows {
            let mask = row.mask & step_mask;
            if mask == 0 {
                if self.modes.strict_order {
                    entries.push((row.timestamp, 0));
                }
                continue;
            }
            for step in set_bits(mask) {
                entries.push((row.timestamp, step + 1));
            }
        }
        if entries.is_empty() {
            return 0;
        }
        if !self.modes.strict_order && self.steps == 1 {
            return 1;
        }
        // ClickHouse stable-sorts `std::pair<T, UInt8>`, i.e. by timestamp and then by
        // step; equal pairs are indistinguishable, so an unstable sort gives the same list.
        entries.sort_unstable();

        let steps = self.steps();
        // For each step reached: (timestamp of the chain's step 1, timestamp of this step).
        let mut reached: Vec<Option<(u64, u64)>> = vec![None; steps];
        let mut first_event = false;
        for &(timestamp, step) in &entries {
            if step == 0 {
                // Only present in strict_order: a row meeting no condition.
                if first_event {
                    break;
                }
                continue;
            }
            let index = usize::from(step) - 1;
            if index == 0 {
                reached[0] = Some((timestamp, timestamp));
                first_event = true;
            } else if self.modes.strict_deduplication && reached[index].is_some() {
                return highest_reached(reached.iter().map(Option::is_some));
            } else if self.modes.strict_order && first_event && reached[index - 1].is_none() {
                if self.modes.allow_reentry {
                    continue;
                }
                return first_unreached(reached.iter().map(Option::is_some), self.steps);
            } else if let Some((first_timestamp, previous_timestamp)) = reached[index - 1] {
                // ClickHouse computes `first_timestamp + window` in UInt64 and wraps.
                let mut time_matched = timestamp <= first_timestamp.wrapping_add(self.window);
                if self.modes.strict_increase {
                    time_matched = time_matched && previous_timestamp < timestamp;
                }
                if time_matched {
                    reached[index] = Some((first_timestamp, timestamp));
                    if index + 1 == steps {
                        return self.steps;
                    }
                }
            }
        }
        highest_reached(reached.iter().map(Option::is_some))
    }

    /// `getEventLevelStrictOnce`: entries carry the id of their row, every partial chain
    /// is kept, and a chain never uses the same row twice.
    fn level_strict_once(&self, rows: &[Event], step_mask: u32) -> u8 {
        let mut entries: Vec<(u64, u8, u64)> = Vec::with_capacity(rows.len());
        for (position, row) in rows.iter().enumerate() {
            // ClickHouse numbers rows from 1 in arrival order (`next_unique_id`).
            let row_id = position as u64 + 1;
            let mask = row.mask & step_mask;
            if mask == 0 {
                if self.modes.strict_order {
                    entries.push((row.timestamp, 0, row_id));
                }
                continue;
            }
            for step in set_bits(mask) {
                entries.push((row.timestamp, step + 1, row_id));
            }
        }
        if entries.is_empty() {
            return 0;
        }
        if !self.modes.strict_order && self.steps == 1 {
            return 1;
        }
        // Sorted by (timestamp, step, row id), all distinct.
        entries.sort_unstable();

        let steps = self.steps();
        let mut chains: Vec<Vec<Chain>> = (0..steps).map(|_| Vec::new()).collect();
        let mut has_first_event = false;
        for &(timestamp, step, row_id) in &entries {
            if step == 0 {
                if has_first_event {
                    break;
                }
                continue;
            }
            let index = usize::from(step) - 1;
            if index == 0 {
                let mut path = [0; MAX_CONDITIONS];
                path[0] = row_id;
                chains[0].push(Chain {
                    first_timestamp: timestamp,
                    last_timestamp: timestamp,
                    path,
                });
                has_first_event = true;
            } else if self.modes.strict_deduplication && !chains[index].is_empty() {
                return highest_reached(chains.iter().map(|level| !level.is_empty()));
            } else if self.modes.strict_order && has_first_event && chains[index - 1].is_empty() {
                if self.modes.allow_reentry {
                    continue;
                }
                return first_unreached(chains.iter().map(|level| !level.is_empty()), self.steps);
            } else if !chains[index - 1].is_empty() {
                let (lower, upper) = chains.split_at_mut(index);
                let previous = &mut lower[index - 1];
                let current = &mut upper[0];
                let mut i = 0;
                while i < previous.len() {
                    let chain = previous[i];
                    let mut time_matched =
                        timestamp <= chain.first_timestamp.wrapping_add(self.window);
                    if !time_matched && previous.len() > 1 {
                        // Drop chains that fell out of the window, but keep at least one.
                        previous.remove(i);
                        continue;
                    }
                    if time_matched {
                        time_matched = !chain.path[..index].contains(&row_id);
                    }
                    if time_matched && self.modes.strict_increase {
                        time_matched = chain.last_timestamp < timestamp;
                    }
                    if time_matched {
                        let mut path = chain.path;
                        path[index] = row_id;
                        current.push(Chain {
                            first_timestamp: chain.first_timestamp,
                            last_timestamp: timestamp,
                            path,
                        });
                        if index + 1 == steps {
                            return self.steps;
                        }
                    }
                    i += 1;
                }
            }
        }
        highest_reached(chains.iter().map(|level| !level.is_empty()))
    }
}

/// A partial chain in `strict_once` mode (`EventMatchTimeWindow` in ClickHouse).
#[derive(Clone, Copy)]
struct Chain {
    first_timestamp: u64,
    last_timestamp: u64,
    /// Row ids used for steps `0..=level`.
    path: [u64; MAX_CONDITIONS],
}

/// The 0-based indices of the set bits of `mask`, lowest first.
fn set_bits(mask: u32) -> impl Iterator<Item = u8> {
    (0..32u8).filter(move |bit| mask & (1 << bit) != 0)
}

/// The highest reached level (1-based), 0 if none.
fn highest_reached(reached: impl DoubleEndedIterator<Item = bool> + ExactSizeIterator) -> u8 {
    let len = reached.len();
    reached.rev().position(|is_reached| is_reached).map_or(0, |from_top| (len - from_top) as u8)
}

/// The first level not reached (0-based), i.e. how many were reached from the start.
fn first_unreached(mut reached: impl Iterator<Item = bool>, steps: u8) -> u8 {
    reached.position(|is_reached| !is_reached).map_or(steps, |index| index as u8)
}

/// The per-group state: rows in arrival order, as `(timestamp, mask)`.
///
/// Rows meeting no condition are dropped unless `strict_order` needs them, and mask bits
/// above the step count are cleared, so the state is no bigger than ClickHouse's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunnelState {
    spec: FunnelSpec,
    rows: Vec<Event>,
}

impl FunnelState {
    /// Adds one row.
    pub fn add(&mut self, timestamp: u64, mask: u32) {
        let mask = mask & low_bits(self.spec.steps());
        if mask != 0 || self.spec.modes.strict_order {
            self.rows.push(Event { timestamp, mask });
        }
    }

    /// Adds the rows of another partial state of the same funnel, after this one's rows
    /// (ClickHouse gives the other state's rows larger ids in `strict_once`).
    pub fn merge(&mut self, other: &FunnelState) {
        self.rows.extend_from_slice(&other.rows);
    }

    /// The rows kept so far, in arrival order.
    pub fn rows(&self) -> &[Event] {
        &self.rows
    }

    /// The funnel level of the rows added so far.
    pub fn finish(&self) -> u8 {
        self.spec.level(&self.rows)
    }
}

/// `windowFunnel(window, modes...)(timestamp, cond1, ..., cond{steps})` over `events`.
///
/// The input order does not matter except, in `strict_once` mode, between rows with the
/// same timestamp and step (arrival order breaks that tie, as in ClickHouse).
pub fn window_funnel(
    events: &[Event],
    window: u64,
    steps: usize,
    modes: Modes,
) -> Result<u8, FunnelError> {
    Ok(FunnelSpec::new(window, steps, modes)?.level(events))
}
