/// Everything that can go wrong in this crate.
///
/// All variants but [`ClvError::Internal`] are user errors: bad input rows, dates in the
/// wrong order, or data too thin to fit a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    /// A transaction-log row that does not parse.
    #[error("line {line}: {field} {value:?} {reason}")]
    BadRow {
        /// 1-based line number in the input.
        line: usize,
        /// The column that is wrong.
        field: &'static str,
        /// The raw value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The observation end lies before the calibration end.
    #[error("observation end {observation_end} is before calibration end {calibration_end}")]
    DatesOutOfOrder {
        /// Last day of the calibration period.
        calibration_end: chrono::NaiveDate,
        /// Last day of the holdout period.
        observation_end: chrono::NaiveDate,
    },
    /// No customer made a purchase on or before the calibration end.
    #[error("no customer purchased on or before {calibration_end}")]
    NoCustomers {
        /// Last day of the calibration period.
        calibration_end: chrono::NaiveDate,
    },
    /// Gamma-Gamma needs customers with repeat purchases of positive value.
    #[error("Gamma-Gamma needs at least {needed} repeat customers with positive spend, got {got}")]
    TooFewRepeatCustomers {
        /// How many the fit needs.
        needed: usize,
        /// How many there are.
        got: usize,
    },
    /// A parameter outside its domain (model parameters must be positive and finite,
    /// horizons and rates non-negative).
    #[error("{name} must be {requirement}, got {value}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What it must be.
        requirement: &'static str,
        /// The value given.
        value: f64,
    },
    /// The optimiser failed or ended at a non-finite likelihood; a bug or degenerate data.
    #[error("internal error: {0}")]
    Internal(String),
}

/// This crate's `Result`.
pub type Result<T, E = ClvError> = std::result::Result<T, E>;
