//! Product analytics over the `events` table: everything a growth team asks of a
//! funnel tool, computed with DataFusion on the lake.
//!
//! - [`udaf`] registers ClickHouse-exact `window_funnel`, `retention`,
//!   `sequence_match` and `sequence_count` aggregates in a DataFusion session, so plain
//!   SQL can use them (`smartfunnel sql`).
//!
//! Every analysis takes a [`SessionContext`](datafusion::prelude::SessionContext) in
//! which the table `events` (the lake schema of the `events` crate) is registered,
//! and returns plain serialisable values; nothing here prints or touches files.

mod error;
pub mod funnels;
pub mod udaf;

pub use error::{AnalyticsError, Result};
