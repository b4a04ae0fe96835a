//! Each user's most recent events before a cut-off, as token sequences: the
//! input of sequence models (a GRU over "what did this user do lately").
//!
//! A token is the event type, joined by `:` to the top-level category for
//! events about an item (`add_to_cart:electronics`), so that "carted a phone"
//! and "carted a sock" differ without the vocabulary exploding into items.

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::calendar::bot_condition_sql;
use crate::columns::{collect, integers, strings};
use crate::funnels::timestamp_literal;
use crate::{AnalyticsError, Result};

/// Which events make up the journeys.
#[derive(Clone, Debug)]
pub struct JourneySpec {
    /// Only events strictly before this time (no leakage past a training cut-off).
    pub before: DateTime<Utc>,
    /// The most recent events kept per user.
    pub max_steps: usize,
    pub include_bots: bool,
}

/// One event of a journey.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JourneyStep {
    /// µs since the epoch, UTC.
    pub micros: i64,
    pub token: String,
}

/// A user's most recent events, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Journey {
    pub user_id: String,
    pub steps: Vec<JourneyStep>,
}

/// The journeys of every user with an event before `spec.before`, by user id.
pub async fn journeys(context: &SessionContext, spec: &JourneySpec) -> Result<Vec<Journey>> {
    if spec.max_steps == 0 {
        return Err(AnalyticsError::InvalidArgument("a journey needs at least 1 step".into()));
    }
    let bots = bot_condition_sql(spec.include_bots);
    let before = timestamp_literal(spec.before);
    let max_steps = spec.max_steps;
    // Newest first within the window so the cut keeps the latest steps;
    // event_id breaks ties so equal timestamps order the same on every run.
    let sql = format!(
        "SELECT user_id, CAST(event_time AS BIGINT) AS micros, token FROM ( \
           SELECT user_id, event_time, event_id, \
             CASE WHEN item_id IS NULL OR category IS NULL OR category = '' THEN event_type \
                  ELSE event_type || ':' || split_part(category, '.', 1) END AS token, \
             row_number() OVER (PARTITION BY user_id ORDER BY event_time DESC, event_id DESC) AS recency \
           FROM events WHERE {bots} AND event_time < {before}) \
         WHERE recency <= {max_steps} \
         ORDER BY user_id, event_time, event_id"
    );
    let mut journeys: Vec<Journey> = Vec::new();
    for batch in collect(context, &sql).await? {
        let users = strings(&batch, 0)?;
        let micros = integers(&batch, 1)?;
        let tokens = strings(&batch, 2)?;
        for row in 0..batch.num_rows() {
            let user_id = users.value(row);
            let step = JourneyStep { micros: micros.value(row), token: tokens.value(row).into() };
            match journeys.last_mut() {
                Some(journey) if journey.user_id == user_id => journey.steps.push(step),
                _ => journeys.push(Journey { user_id: user_id.into(), steps: vec![step] }),
            }
        }
    }
    Ok(journeys)
}
