//! `sequenceMatch` and `sequenceCount`, ported from ClickHouse
//! `src/AggregateFunctions/AggregateFunctionSequenceMatch.h` (and `.cpp` for the
//! argument checks).

use crate::{Event, FunnelError, MAX_CONDITIONS, PatternErrorKind, low_bits};

/// ClickHouse's `sequence_match_max_iterations`: the most steps one backtracking match
/// may take before it gives up with `TOO_SLOW`.
const MAX_ITERATIONS: usize = 1_000_000;

/// How a time condition compares the current event's timestamp `t` with the timestamp
/// `b` of the event matched before it: `t OP b + value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeComparison {
    /// `(?t<=value)`
    LessOrEqual,
    /// `(?t<value)`
    Less,
    /// `(?t>=value)`
    GreaterOrEqual,
    /// `(?t>value)`
    Greater,
    /// `(?t==value)`
    Equal,
}

/// One element of a parsed sequence pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatternElement {
    /// `(?N)`: one event meeting condition `N` (1-based).
    Condition(u8),
    /// `.`: exactly one event, any.
    AnyEvent,
    /// `.*`: any number of events, including none.
    AnyEvents,
    /// `(?tOPvalue)`: a time constraint between the events around it.
    Time(TimeComparison, u64),
}

/// Where a DFA state goes on the next event (`DFATransition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transition {
    None,
    AnyEvent,
    /// 0-based condition index.
    Condition(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DfaState {
    has_kleene: bool,
    transition: Transition,
}

/// A parsed `sequenceMatch`/`sequenceCount` pattern for a given number of conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencePattern {
    source: String,
    conditions: u8,
    /// The parsed elements after an implicit leading `.*`, exactly as ClickHouse's
    /// `actions` (which start with a `KleeneStar`).
    actions: Vec<PatternElement>,
    dfa_states: Vec<DfaState>,
    has_time: bool,
    /// Bit `i`: `(?{i+1})` appears in the pattern.
    conditions_in_pattern: u32,
}

impl SequencePattern {
    /// Parses `pattern` for a function with `conditions` condition arguments (2 to 32, as
    /// ClickHouse requires).
    ///
    /// The grammar is ClickHouse's, with no whitespace: `(?N)`, `.`, `.*` and
    /// `(?t<=N)`, `(?t<N)`, `(?t>=N)`, `(?t>N)`, `(?t==N)` with `N` a decimal number. A
    /// time condition may not directly follow another time condition.
    pub fn parse(pattern: &str, conditions: usize) -> Result<Self, FunnelError> {
        if !(2..=MAX_CONDITIONS).contains(&conditions) {
            return Err(FunnelError::InvalidConditionCount {
                function: "sequenceMatch",
                conditions,
            });
        }
        let bytes = pattern.as_bytes();
        let error = |position: usize, kind: PatternErrorKind| FunnelError::InvalidPattern {
            pattern: pattern.to_owned(),
            position,
            kind,
        };

        let mut actions = vec![PatternElement::AnyEvents];
        let mut dfa_states = vec![DfaState { has_kleene: true, transition: Transition::None }];
        let mut has_time = false;
        let mut conditions_in_pattern = 0u32;
        let mut pos = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            if rest.starts_with(b"(?") {
                pos += 2;
                if bytes.get(pos) == Some(&b't') {
                    pos += 1;
                    let rest = &bytes[pos..];
                    let (comparison, length) = if rest.starts_with(b"<=") {
                        (TimeComparison::LessOrEqual, 2)
                    } else if rest.starts_with(b"<") {
                        (TimeComparison::Less, 1)
                    } else if rest.starts_with(b">=") {
                        (TimeComparison::GreaterOrEqual, 2)
                    } else if rest.starts_with(b">") {
                        (TimeComparison::Greater, 1)
                    } else if rest.starts_with(b"==") {
                        (TimeComparison::Equal, 2)
                    } else {
                        return Err(error(pos, PatternErrorKind::UnknownTimeCondition));
                    };
                    pos += length;
                    let (value, next) = read_number(bytes, pos)
                        .ok_or_else(|| error(pos, PatternErrorKind::ExpectedNumber))?;
                    if matches!(actions.last(), Some(PatternElement::Time(..))) {
                        return Err(error(pos, PatternErrorKind::TimeConditionNotAfterEvent));
                    }
                    pos = next;
                    has_time = true;
                    actions.push(PatternElement::Time(comparison, value));
                } else {
                    let (number, next) = read_number(bytes, pos)
                        .ok_or_else(|| error(pos, PatternErrorKind::ExpectedNumber))?;
                    if number == 0 || number > conditions as u64 {
                        let kind = PatternErrorKind::ConditionOutOfRange { number, conditions };
                        return Err(error(pos, kind));
                    }
                    pos = next;
                    let index = (number - 1) as u8;
                    actions.push(PatternElement::Condition(index + 1));
                    if let Some(last) = dfa_states.last_mut() {
                        last.transition = Transition::Condition(index);
                    }
                    dfa_states.push(DfaState { has_kleene: false, transition: Transition::None });
                    conditions_in_pattern |= 1 << index;
                }
                if bytes.get(pos) != Some(&b')') {
                    return Err(error(pos, PatternErrorKind::ExpectedClosingParenthesis));
                }
                pos += 1;
            } else if rest.starts_with(b".*") {
                pos += 2;
                actions.push(PatternElement::AnyEvents);
                if let Some(last) = dfa_states.last_mut() {
                    last.has_kleene = true;
                }
            } else if rest.starts_with(b".") {
                pos += 1;
                actions.push(PatternElement::AnyEvent);
                if let Some(last) = dfa_states.last_mut() {
                    last.transition = Transition::AnyEvent;
                }
                dfa_states.push(DfaState { has_kleene: false, transition: Transition::None });
            } else {
                return Err(error(pos, PatternErrorKind::UnexpectedSymbol));
            }
        }
        Ok(Self {
            source: pattern.to_owned(),
            conditions: conditions as u8,
            actions,
            dfa_states,
            has_time,
            conditions_in_pattern,
        })
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The number of conditions the pattern was parsed for.
    pub fn conditions(&self) -> usize {
        usize::from(self.conditions)
    }

    /// The elements as written (without ClickHouse's implicit leading `.*`).
    pub fn elements(&self) -> &[PatternElement] {
        &self.actions[1..]
    }

    /// Whether the pattern has a time condition (then matching backtracks; otherwise
    /// `sequenceMatch` runs a DFA).
    pub fn has_time_condition(&self) -> bool {
        self.has_time
    }

    /// The same pattern with every time condition's value multiplied by `factor`
    /// (saturating), for timestamps in a finer unit than the pattern's: a pattern
    /// written in seconds over microsecond timestamps takes `factor = 1_000_000`.
    pub fn with_time_scale(mut self, factor: u64) -> Self {
        for action in &mut self.actions {
            if let PatternElement::Time(_, value) = action {
                *value = value.saturating_mul(factor);
            }
        }
        self
    }

    /// An empty per-group state for this pattern.
    pub fn state(&self) -> SequenceState {
        SequenceState {
            condition_mask: low_bits(self.conditions()),
            rows: Vec::new(),
            conditions_met: 0,
        }
    }

    /// `dfaMatch`: a set of active states advanced one event at a time; matches as soon
    /// as the last state is active.
    fn dfa_match(&self, events: &[Event]) -> bool {
        let states = &self.dfa_states;
        let last = states.len() - 1;
        let mut active = vec![false; states.len()];
        let mut next_active = vec![false; states.len()];
        active[0] = true;
        let mut n_active = 1usize;
        let mut events_it = 0;
        while events_it < events.len() && n_active > 0 && !active[last] {
            n_active = 0;
            next_active.fill(false);
            for (state, dfa_state) in states.iter().enumerate() {
                if !active[state] {
                    continue;
                }
                match dfa_state.transition {
                    Transition::None => {}
                    Transition::AnyEvent => {
                        next_active[state + 1] = true;
                        n_active += 1;
                    }
                    Transition::Condition(index) => {
                        if events[events_it].mask & (1 << index) != 0 {
                            next_active[state + 1] = true;
                            n_active += 1;
                        }
                    }
                }
                if dfa_state.has_kleene {
                    next_active[state] = true;
                    n_active += 1;
                }
            }
            std::mem::swap(&mut active, &mut next_active);
            events_it += 1;
        }
        active[last]
    }

    /// `backtrackingMatch`: tries to match the whole pattern starting at `*events_it`,
    /// leaving `*events_it` after the match (for `sequenceCount`).
    fn backtracking_match(
        &self,
        events: &[Event],
        events_it: &mut usize,
    ) -> Result<bool, FunnelError> {
        let actions = &self.actions;
        let events_end = events.len();
        let events_begin = *events_it;
        let mut action_it = 0;
        let mut base_it = *events_it;
        // (action, event, base) to resume from.
        let mut back_stack: Vec<(usize, usize, usize)> = Vec::new();

        let do_backtrack = |back_stack: &mut Vec<(usize, usize, usize)>,
                            action_it: &mut usize,
                            events_it: &mut usize,
                            base_it: &mut usize| {
            while let Some((action, event, base)) = back_stack.pop() {
                *action_it = action;
                *events_it = event + 1;
                *base_it = base;
                if *events_it != events_end {
                    return true;
                }
            }
            false
        };

        let mut iterations = 0;
        while action_it != actions.len() && *events_it != events_end {
            let event = events[*events_it];
            match actions[action_it] {
                PatternElement::Condition(number) => {
                    if event.mask & (1 << (number - 1)) != 0 {
                        base_it = *events_it;
                        action_it += 1;
                        *events_it += 1;
                    } else if !do_backtrack(
                        &mut back_stack,
                        &mut action_it,
                        events_it,
                        &mut base_it,
                    ) {
                        break;
                    }
                }
                PatternElement::AnyEvent => {
                    base_it = *events_it;
                    action_it += 1;
                    *events_it += 1;
                }
                PatternElement::AnyEvents => {
                    back_stack.push((action_it, *events_it, base_it));
                    base_it = *events_it;
                    action_it += 1;
                }
                PatternElement::Time(comparison, value) => {
                    // ClickHouse adds in UInt64 and wraps.
                    let bound = events[base_it].timestamp.wrapping_add(value);
                    let timestamp = event.timestamp;
                    let satisfied = match comparison {
                        TimeComparison::LessOrEqual => timestamp <= bound,
                        TimeComparison::Less => timestamp < bound,
                        TimeComparison::GreaterOrEqual => timestamp >= bound,
                        TimeComparison::Greater => timestamp > bound,
                        TimeComparison::Equal => timestamp == bound,
                    };
                    if satisfied {
                        back_stack.push((action_it, *events_it, base_it));
                        base_it = *events_it;
                        action_it += 1;
                    } else {
                        match comparison {
                            // An upper bound that fails will fail for later events too:
                            // backtrack.
                            TimeComparison::LessOrEqual | TimeComparison::Less => {
                                if !do_backtrack(
                                    &mut back_stack,
                                    &mut action_it,
                                    events_it,
                                    &mut base_it,
                                ) {
                                    break;
                                }
                            }
                            // A lower bound (or equality) may hold later: skip this event.
                            TimeComparison::GreaterOrEqual
                            | TimeComparison::Greater
                            | TimeComparison::Equal => {
                                *events_it += 1;
                                if *events_it == events_end
                                    && !do_backtrack(
                                        &mut back_stack,
                                        &mut action_it,
                                        events_it,
                                        &mut base_it,
                                    )
                                {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            iterations += 1;
            if iterations > MAX_ITERATIONS {
                return Err(FunnelError::PatternTooComplex {
                    pattern: self.source.clone(),
                    limit: MAX_ITERATIONS,
                });
            }
        }

        // Remaining actions that can match an empty tail. ClickHouse reads past the end
        // of its action list when all of them can; this port stops at the end.
        while action_it < actions.len()
            && matches!(
                actions[action_it],
                PatternElement::AnyEvents
                    | PatternElement::Time(TimeComparison::LessOrEqual | TimeComparison::Less, _)
                    | PatternElement::Time(TimeComparison::GreaterOrEqual, 0)
            )
        {
            action_it += 1;
        }

        if *events_it == events_begin {
            *events_it += 1;
        }
        Ok(action_it == actions.len())
    }
}

/// Reads a decimal `u64` at `pos`: the value and the position after it.
fn read_number(bytes: &[u8], pos: usize) -> Option<(u64, usize)> {
    let digits = bytes[pos..].iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in &bytes[pos..pos + digits] {
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some((value, pos + digits))
}

/// The per-group state of `sequenceMatch`/`sequenceCount`: rows that meet at least one
/// condition, in arrival order, and the union of their conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceState {
    condition_mask: u32,
    rows: Vec<Event>,
    conditions_met: u32,
}

impl SequenceState {
    /// Adds one row; rows meeting no condition are dropped, as in ClickHouse.
    pub fn add(&mut self, timestamp: u64, mask: u32) {
        let mask = mask & self.condition_mask;
        if mask != 0 {
            self.rows.push(Event { timestamp, mask });
            self.conditions_met |= mask;
        }
    }

    /// Adds the rows of another partial state, after this one's.
    pub fn merge(&mut self, other: &SequenceState) {
        self.rows.extend_from_slice(&other.rows);
        self.conditions_met |= other.conditions_met;
    }

    /// The rows kept so far, in arrival order.
    pub fn rows(&self) -> &[Event] {
        &self.rows
    }

    /// `sequenceMatch(pattern)` over the rows added so far.
    pub fn finish_match(&mut self, pattern: &SequencePattern) -> Result<bool, FunnelError> {
        if !self.prepare(pattern) {
            return Ok(false);
        }
        if pattern.has_time {
            let mut events_it = 0;
            pattern.backtracking_match(&self.rows, &mut events_it)
        } else {
            Ok(pattern.dfa_match(&self.rows))
        }
    }

    /// `sequenceCount(pattern)` over the rows added so far: non-overlapping matches, each
    /// search starting where the previous match ended.
    pub fn finish_count(&mut self, pattern: &SequencePattern) -> Result<u64, FunnelError> {
        if !self.prepare(pattern) {
            return Ok(0);
        }
        let mut events_it = 0;
        let mut count = 0;
        while events_it != self.rows.len()
            && pattern.backtracking_match(&self.rows, &mut events_it)?
        {
            count += 1;
        }
        Ok(count)
    }

    /// False when some condition of the pattern never held (the answer is then "no
    /// match"); otherwise sorts the rows by timestamp.
    fn prepare(&mut self, pattern: &SequencePattern) -> bool {
        if pattern.conditions_in_pattern & self.conditions_met != pattern.conditions_in_pattern {
            return false;
        }
        // ClickHouse sorts by timestamp only, with an unstable sort, so rows with equal
        // timestamps end up in an unspecified order; a stable sort keeps arrival order.
        self.rows.sort_by_key(|row| row.timestamp);
        true
    }
}

/// `sequenceMatch(pattern)(timestamp, cond1, ...)` over `events`.
pub fn sequence_match(pattern: &SequencePattern, events: &[Event]) -> Result<bool, FunnelError> {
    let mut state = pattern.state();
    for event in events {
        state.add(event.timestamp, event.mask);
    }
    state.finish_match(pattern)
}

/// `sequenceCount(pattern)(timestamp, cond1, ...)` over `events`.
pub fn sequence_count(pattern: &SequencePattern, events: &[Event]) -> Result<u64, FunnelError> {
    let mut state = pattern.state();
    for event in events {
        state.add(event.timestamp, event.mask);
    }
    state.finish_count(pattern)
}
