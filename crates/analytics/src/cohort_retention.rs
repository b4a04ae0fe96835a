//! Cohort retention: users grouped by the period of their first (cohort) event,
//! and how many of each cohort come back in each later period.
//!
//! Definition (also in `docs/analytics.md`):
//! - A user's **cohort** is the UTC period (day, week from Monday, or calendar
//!   month) of their first event matching the cohort event (any event, or e.g. the
//!   first `purchase`). Users with no such event are in no cohort. The lake only
//!   knows what it holds: a user active before its first date is cohorted at their
//!   first event in the lake.
//! - **Offset** k is the k-th period after the cohort period; offset 0 is the
//!   cohort period itself.
//! - The **returning users** at offset k are the cohort's users with at least one
//!   event matching the return event in that period. At offset 0 that includes the
//!   cohort event itself when it matches the return event, so with the defaults
//!   (any event → any event) offset 0 is the whole cohort.
//! - The **rate** is returning users / cohort size.
//! - An offset whose period starts after the period of the last event in the
//!   table cannot be observed yet and is left out (the usual triangle), rather
//!   than reported as zero.
//! - Bot-flagged events are left out unless `include_bots` is set.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::calendar::{EventSelector, Period, bot_condition_sql};
use crate::columns::{collect, integers, single_timestamp, timestamps, utc_date};

/// What to compute: who forms a cohort, what counts as coming back, and how far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionSpec {
    /// The event whose first occurrence puts a user in a cohort.
    pub cohort_event: EventSelector,
    /// The event that counts as coming back.
    pub return_event: EventSelector,
    pub period: Period,
    /// The last offset reported; offsets run 0..=`max_offset`.
    pub max_offset: u32,
    /// Count bot-flagged events too (they are left out by default).
    pub include_bots: bool,
}

impl Default for RetentionSpec {
    fn default() -> Self {
        RetentionSpec {
            cohort_event: EventSelector::Any,
            return_event: EventSelector::Any,
            period: Period::Week,
            max_offset: 8,
            include_bots: false,
        }
    }
}

/// One cohort × offset cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionCell {
    /// Periods after the cohort period (0 = the cohort period).
    pub offset: u32,
    /// Cohort users with a return event in that period.
    pub users: u64,
    /// `users` / cohort size (for [`RetentionMatrix::all_cohorts`], over the
    /// cohorts observed at this offset).
    pub rate: f64,
}

/// The users who started in one period and their returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    /// First day of the cohort period (UTC).
    pub start: NaiveDate,
    pub size: u64,
    /// Offsets 0.. up to `max_offset` or the last observable one.
    pub returning: Vec<RetentionCell>,
}

/// The retention triangle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionMatrix {
    pub spec: RetentionSpec,
    /// First day of the period holding the table's last (non-bot) event; no
    /// offset past it is reported. `None` for an empty table.
    pub last_period: Option<NaiveDate>,
    /// Oldest first; only periods in which some user started.
    pub cohorts: Vec<Cohort>,
    /// Per offset, the cohorts observed at that offset pooled: summed returning
    /// users over summed cohort sizes.
    pub all_cohorts: Vec<RetentionCell>,
}

/// Computes the retention matrix of the `events` table in `context`.
pub async fn cohort_retention(
    context: &SessionContext,
    spec: &RetentionSpec,
) -> Result<RetentionMatrix> {
    let bots = bot_condition_sql(spec.include_bots);
    let period = spec.period;
    let truncate = period.truncate_sql();
    let cohorts_sql = format!(
        "SELECT user_id, min({truncate}) AS cohort_start FROM events \
         WHERE {bots} AND {cohort} GROUP BY user_id",
        cohort = spec.cohort_event.condition_sql(),
    );
    let sizes = collect(
        context,
        &format!(
            "WITH cohorts AS ({cohorts_sql}) \
             SELECT cohort_start, count(*) FROM cohorts GROUP BY cohort_start"
        ),
    )
    .await?;
    let returns = collect(
        context,
        &format!(
            "WITH cohorts AS ({cohorts_sql}), \
             activity AS (SELECT DISTINCT user_id, {truncate} AS period_start FROM events \
                          WHERE {bots} AND {returning}) \
             SELECT c.cohort_start, a.period_start, count(*) \
             FROM cohorts c JOIN activity a ON a.user_id = c.user_id \
             WHERE a.period_start >= c.cohort_start \
             GROUP BY c.cohort_start, a.period_start",
            returning = spec.return_event.condition_sql(),
        ),
    )
    .await?;
    let last =
        collect(context, &format!("SELECT max({truncate}) FROM events WHERE {bots}")).await?;

    let last_period = single_timestamp(&last)?.map(utc_date).transpose()?;
    let mut size_by_start = BTreeMap::new();
    for batch in &sizes {
        let (starts, counts) = (timestamps(batch, 0)?, integers(batch, 1)?);
        for row in 0..batch.num_rows() {
            size_by_start.insert(utc_date(starts.value(row))?, counts.value(row) as u64);
        }
    }
    let mut returning_by_cell = BTreeMap::new();
    for batch in &returns {
        let (starts, periods, counts) =
            (timestamps(batch, 0)?, timestamps(batch, 1)?, integers(batch, 2)?);
        for row in 0..batch.num_rows() {
            let start = utc_date(starts.value(row))?;
            let offset = period.periods_between(start, utc_date(periods.value(row))?);
            returning_by_cell.insert((start, offset), counts.value(row) as u64);
        }
    }
    Ok(build_matrix(spec, last_period, &size_by_start, &returning_by_cell))
}

fn build_matrix(
    spec: &RetentionSpec,
    last_period: Option<NaiveDate>,
    size_by_start: &BTreeMap<NaiveDate, u64>,
    returning_by_cell: &BTreeMap<(NaiveDate, i64), u64>,
) -> RetentionMatrix {
    let rate = |users: u64, size: u64| if size == 0 { 0.0 } else { users as f64 / size as f64 };
    let mut pooled = vec![(0u64, 0u64); spec.max_offset as usize + 1];
    let mut cohorts = Vec::with_capacity(size_by_start.len());
    for (&start, &size) in size_by_start {
        let observable = last_period.map_or(0, |last| spec.period.periods_between(start, last));
        let last_offset = observable.clamp(0, i64::from(spec.max_offset));
        let returning = (0..=last_offset)
            .map(|offset| {
                let users = returning_by_cell.get(&(start, offset)).copied().unwrap_or(0);
                let pool = &mut pooled[offset as usize];
                pool.0 += users;
                pool.1 += size;
                RetentionCell { offset: offset as u32, users, rate: rate(users, size) }
            })
            .collect();
        cohorts.push(Cohort { start, size, returning });
    }
    let all_cohorts = pooled
        .into_iter()
        .enumerate()
        .take_while(|(_, (_, size))| *size > 0)
        .map(|(offset, (users, size))| RetentionCell {
            offset: offset as u32,
            users,
            rate: rate(users, size),
        })
        .collect();
    RetentionMatrix { spec: spec.clone(), last_period, cohorts, all_cohorts }
}
