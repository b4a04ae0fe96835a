//! User lifecycle per period, as PostHog and Mixpanel draw it: how the active
//! users of each period split into new, returning and resurrected users, and how
//! many of the previous period's users went dormant.
//!
//! Definition (also in `docs/analytics.md`), for UTC periods (day, week from
//! Monday, calendar month), where a user is *active* in a period when they have at
//! least one matching event in it:
//! - **new**: active now, and this is the user's first active period in the table;
//! - **returning**: active now and in the previous period;
//! - **resurrected**: active now, not in the previous period, but in some earlier one;
//! - **dormant**: active in the previous period but not now, reported as a negative
//!   count (the PostHog convention, so the bars hang below the axis).
//!
//! Every period from the first to the last active one is listed, including periods
//! with no activity. The lake cannot see activity before its first event, so in
//! the first period every active user is new. Bot-flagged events are left out
//! unless `include_bots` is set.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::calendar::{EventSelector, Period, bot_condition_sql};
use crate::columns::{collect, integers, strings, timestamps, utc_date};
use crate::{AnalyticsError, Result};

/// What to compute: which events make a user active, and the period length.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LifecycleSpec {
    /// The events that make a user active (any event by default).
    pub event: EventSelector,
    pub period: Period,
    /// Count bot-flagged events too (they are left out by default).
    pub include_bots: bool,
}

/// The lifecycle counts of one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LifecyclePeriod {
    /// First day of the period (UTC).
    pub start: NaiveDate,
    pub new: u64,
    pub returning: u64,
    pub resurrected: u64,
    /// Minus the number of users active in the previous period but not this one.
    pub dormant: i64,
}

impl LifecyclePeriod {
    /// Users active in this period: new + returning + resurrected.
    pub fn active(&self) -> u64 {
        self.new + self.returning + self.resurrected
    }

    /// (new + resurrected) / dormant users: above 1 the active base grows.
    /// `None` when nobody went dormant.
    pub fn quick_ratio(&self) -> Option<f64> {
        (self.dormant != 0)
            .then(|| (self.new + self.resurrected) as f64 / self.dormant.unsigned_abs() as f64)
    }
}

/// Lifecycle counts for every period, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lifecycle {
    pub spec: LifecycleSpec,
    pub periods: Vec<LifecyclePeriod>,
}

/// Computes the lifecycle of the users in the `events` table in `context`.
pub async fn lifecycle(context: &SessionContext, spec: &LifecycleSpec) -> Result<Lifecycle> {
    let truncate = spec.period.truncate_sql();
    let one_period = spec.period.interval_sql();
    // Each user's active periods with their neighbours; a period is "returning"
    // when the previous active period is exactly one period earlier, and the
    // user goes dormant one period after an active period not followed at once.
    let sql = format!(
        "WITH active AS ( \
           SELECT DISTINCT user_id, {truncate} AS period_start FROM events \
           WHERE {bots} AND {event}), \
         neighbours AS ( \
           SELECT period_start, \
             lag(period_start) OVER (PARTITION BY user_id ORDER BY period_start) AS previous_active, \
             lead(period_start) OVER (PARTITION BY user_id ORDER BY period_start) AS next_active \
           FROM active) \
         SELECT period_start, \
           CASE WHEN previous_active IS NULL THEN 'new' \
                WHEN previous_active = period_start - {one_period} THEN 'returning' \
                ELSE 'resurrected' END AS status, \
           count(*) AS users \
         FROM neighbours GROUP BY 1, 2 \
         UNION ALL \
         SELECT period_start + {one_period} AS period_start, 'dormant' AS status, count(*) AS users \
         FROM neighbours \
         WHERE next_active IS NULL OR next_active > period_start + {one_period} \
         GROUP BY 1",
        bots = bot_condition_sql(spec.include_bots),
        event = spec.event.condition_sql(),
    );
    let mut counts: BTreeMap<NaiveDate, LifecyclePeriod> = BTreeMap::new();
    let mut last_active = None;
    for batch in collect(context, &sql).await? {
        let (starts, statuses, users) =
            (timestamps(&batch, 0)?, strings(&batch, 1)?, integers(&batch, 2)?);
        for row in 0..batch.num_rows() {
            let start = utc_date(starts.value(row))?;
            let entry = counts
                .entry(start)
                .or_insert_with(|| LifecyclePeriod { start, ..LifecyclePeriod::default() });
            let users = users.value(row);
            let status = statuses.value(row);
            if status != "dormant" {
                last_active = last_active.max(Some(start));
            }
            match status {
                "new" => entry.new = users as u64,
                "returning" => entry.returning = users as u64,
                "resurrected" => entry.resurrected = users as u64,
                "dormant" => entry.dormant = -users,
                other => {
                    return Err(AnalyticsError::Internal(format!("unknown status {other:?}")));
                }
            }
        }
    }
    // Users go dormant after the last active period too, but that period has
    // not been observed yet (or not completely), so it is not reported.
    let periods = match (counts.keys().next().copied(), last_active) {
        (Some(first), Some(last)) => spec
            .period
            .starts_between(first, last)
            .into_iter()
            .map(|start| {
                counts
                    .remove(&start)
                    .unwrap_or(LifecyclePeriod { start, ..LifecyclePeriod::default() })
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Lifecycle { spec: spec.clone(), periods })
}
