//! The one integration-test binary of the `clv` crate.
//!
//! Summaries are checked on hand-made histories, likelihoods and predictions on values
//! worked out by hand from the paper's formulas, and the fits on the CDNOW log
//! (`tests/data/cdnow`) against lifetimes 0.11.3's values recorded in its PROVENANCE.md.

mod cdnow;
mod models;
mod summary;

use chrono::NaiveDate;

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are YYYY-MM-DD")
}

pub fn close(got: f64, want: f64, relative: f64) -> bool {
    (got - want).abs() <= relative * want.abs().max(f64::MIN_POSITIVE)
}
