use std::fmt;

/// Everything that can go wrong in this crate.
///
/// All variants but [`FunnelError::PatternTooComplex`] are user errors found before any
/// row is looked at (bad parameters); `PatternTooComplex` is ClickHouse's `TOO_SLOW`
/// guard, raised while matching.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunnelError {
    /// `windowFunnel` needs 1 to 32 steps.
    #[error("a window funnel needs 1 to 32 steps, got {steps}")]
    InvalidStepCount {
        /// The number of steps asked for.
        steps: usize,
    },
    /// `retention`, `sequenceMatch` and `sequenceCount` need 2 to 32 conditions.
    #[error("{function} needs 2 to 32 conditions, got {conditions}")]
    InvalidConditionCount {
        /// The ClickHouse name of the function.
        function: &'static str,
        /// The number of conditions asked for.
        conditions: usize,
    },
    /// A `windowFunnel` mode that ClickHouse does not know.
    #[error("windowFunnel has no mode {mode:?}")]
    UnknownMode {
        /// The mode string as given.
        mode: String,
    },
    /// The old `'strict'` mode, which ClickHouse rejects in favour of `'strict_deduplication'`.
    #[error("windowFunnel mode 'strict' is replaced with 'strict_deduplication'")]
    StrictModeRenamed,
    /// `allow_reentry` only makes sense together with `strict_order`.
    #[error("windowFunnel mode 'allow_reentry' requires 'strict_order'")]
    ReentryWithoutStrictOrder,
    /// A `sequenceMatch`/`sequenceCount` pattern that does not parse.
    #[error("invalid sequence pattern {pattern:?} at byte {position}: {kind}")]
    InvalidPattern {
        /// The whole pattern.
        pattern: String,
        /// The byte offset where parsing stopped.
        position: usize,
        /// What was wrong there.
        kind: PatternErrorKind,
    },
    /// Matching took more than ClickHouse's 1,000,000 backtracking steps.
    #[error("sequence pattern {pattern:?} is too difficult to match: more than {limit} steps")]
    PatternTooComplex {
        /// The pattern.
        pattern: String,
        /// The step limit (`sequence_match_max_iterations` in ClickHouse).
        limit: usize,
    },
}

/// Why a sequence pattern did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternErrorKind {
    /// `(?t` followed by something other than `<=`, `<`, `>=`, `>`, `==`.
    UnknownTimeCondition,
    /// No decimal number where one was expected (or one that overflows `u64`).
    ExpectedNumber,
    /// No `)` after `(?N` or `(?tOPN`.
    ExpectedClosingParenthesis,
    /// A character that starts no pattern element.
    UnexpectedSymbol,
    /// A time condition right after another time condition.
    TimeConditionNotAfterEvent,
    /// `(?N)` with `N` = 0 or above the number of conditions.
    ConditionOutOfRange {
        /// The condition number written.
        number: u64,
        /// The number of conditions the function has.
        conditions: usize,
    },
}

impl fmt::Display for PatternErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTimeCondition => {
                f.write_str("unknown time condition (expected <=, <, >=, > or ==)")
            }
            Self::ExpectedNumber => f.write_str("could not parse number"),
            Self::ExpectedClosingParenthesis => f.write_str("expected closing parenthesis"),
            Self::UnexpectedSymbol => f.write_str("unexpected starting symbol"),
            Self::TimeConditionNotAfterEvent => {
                f.write_str("temporal condition should be preceded by an event condition")
            }
            Self::ConditionOutOfRange { number, conditions } => {
                write!(f, "condition number {number} is out of range 1..={conditions}")
            }
        }
    }
}
