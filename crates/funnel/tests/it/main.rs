//! The one integration-test binary of the `funnel` crate.
//!
//! Cases are tables of rows → expected result, taken from the ClickHouse documentation
//! (`docs/en/sql-reference/aggregate-functions/parametric-functions.md`), from the
//! ClickHouse test `tests/queries/0_stateless/00632_aggregation_window_funnel.sql` with
//! its `.reference`, and from the rules in `docs/funnels.md`.

mod properties;
mod retention;
mod sequence;
mod window_funnel;
