//! Product analytics over the `events` table: everything a growth team asks of a
//! funnel tool, computed with DataFusion on the lake.
//!
//! - [`udaf`] registers ClickHouse-exact `window_funnel`, `retention`,
//!   `sequence_match` and `sequence_count` aggregates in a DataFusion session, so plain
//!   SQL can use them (`smartfunnel sql`).
//! - [`cohort_retention`](cohort_retention()) groups users into cohorts by the period of
//!   their first (cohort) event and counts who comes back in each later period.
//! - [`paths`](paths()) follows sessions forward or back from an event, as Sankey data.
//! - [`lifecycle`](lifecycle()) splits each period's active users into new, returning
//!   and resurrected, and counts those who went dormant.
//! - [`rfm`](rfm()) scores customers on recency, frequency and monetary value and
//!   names their segment.
//! - [`journeys`](journeys()) gives each user's latest events before a cut-off as
//!   tokens, the input of sequence models.
//!
//! Every analysis takes a [`SessionContext`](datafusion::prelude::SessionContext) in
//! which the table `events` (the lake schema of the `events` crate) is registered,
//! and returns plain serialisable values; nothing here prints or touches files.
//! Events flagged `is_bot` are left out unless a spec's `include_bots` says otherwise.
//! The exact definitions are in each module and in `docs/analytics.md`.

pub mod correlation;
mod error;
pub mod funnels;
pub mod udaf;

pub mod calendar;
pub mod cohort_retention;
mod columns;
pub mod journeys;
pub mod lifecycle;
pub mod paths;
pub mod rfm;

pub use calendar::{EventSelector, Period};
pub use cohort_retention::{
    Cohort, RetentionCell, RetentionMatrix, RetentionSpec, cohort_retention,
};
pub use error::{AnalyticsError, Result};
pub use journeys::{Journey, JourneySpec, JourneyStep, journeys};
pub use lifecycle::{Lifecycle, LifecyclePeriod, LifecycleSpec, lifecycle};
pub use paths::{
    PATH_END, PATH_OTHER, PATH_START, PathCount, PathDirection, PathLink, PathNode, PathSpec,
    Paths, paths,
};
pub use rfm::{CustomerRfm, RfmAnalysis, RfmSegment, RfmSpec, SegmentSummary, rfm};
