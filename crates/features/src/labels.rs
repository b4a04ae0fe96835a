//! Prediction labels on a time split: features come from the events before the
//! as-of time T, labels from the events in [T, T + H).
//!
//! The population is every user with a (non-bot) event before T, the same users
//! as the feature table, in the same order (by user id), so the two line up row
//! by row.
//!
//! - `propensity`: 1 when the user has a `purchase` in [T, T + H), else 0.
//! - `churn`: 1 when the user has no event at all in [T, T + H), else 0.
//! - `next-purchase`: days from T to the user's first `purchase` in [T, T + H);
//!   without one the value is H in days and `censored` is true (the purchase,
//!   if any, comes later than the window shows).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::columns::{strings, timestamps};
use crate::table::{bot_condition, timestamp_parameter};
use crate::{FeaturesError, Result};

/// Which behaviour to label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelTask {
    /// Buys within the horizon (1) or not (0).
    Propensity,
    /// No activity within the horizon (1) or some (0).
    Churn,
    /// Days until the next purchase, censored at the horizon.
    NextPurchase,
}

impl LabelTask {
    pub const ALL: [LabelTask; 3] =
        [LabelTask::Propensity, LabelTask::Churn, LabelTask::NextPurchase];

    pub fn as_str(self) -> &'static str {
        match self {
            LabelTask::Propensity => "propensity",
            LabelTask::Churn => "churn",
            LabelTask::NextPurchase => "next-purchase",
        }
    }

    /// Classification tasks label 0/1; next-purchase is a (censored) regression.
    pub fn is_classification(self) -> bool {
        !matches!(self, LabelTask::NextPurchase)
    }
}

impl fmt::Display for LabelTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LabelTask {
    type Err = FeaturesError;

    fn from_str(text: &str) -> Result<Self> {
        LabelTask::ALL
            .into_iter()
            .find(|task| task.as_str() == text.trim().to_ascii_lowercase().replace('_', "-"))
            .ok_or_else(|| {
                FeaturesError::InvalidArgument(format!(
                    "unknown task {text:?}: expected propensity, churn or next-purchase"
                ))
            })
    }
}

/// A horizon written as a whole number of weeks, days or hours: `4w`, `30d`, `12h`.
pub fn parse_horizon(text: &str) -> Result<Duration> {
    let text = text.trim();
    let invalid = || {
        FeaturesError::InvalidArgument(format!(
            "bad horizon {text:?}: expected a positive whole number of weeks, days or hours such as 30d, 4w or 12h"
        ))
    };
    let split = text.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    if number <= 0 {
        return Err(invalid());
    }
    match unit {
        "w" => Ok(Duration::weeks(number)),
        "d" => Ok(Duration::days(number)),
        "h" => Ok(Duration::hours(number)),
        _ => Err(invalid()),
    }
}

/// What to label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelSpec {
    /// T: the population is the users active before it; labels look at [T, T + H).
    pub as_of: DateTime<Utc>,
    /// H.
    pub horizon: Duration,
    pub task: LabelTask,
    /// Count bot-flagged events too (left out by default, as in the features).
    pub include_bots: bool,
}

impl LabelSpec {
    pub fn new(as_of: DateTime<Utc>, horizon: Duration, task: LabelTask) -> LabelSpec {
        LabelSpec { as_of, horizon, task, include_bots: false }
    }
}

/// The labels of every user active before T.
#[derive(Debug, Clone)]
pub struct Labels {
    pub spec: LabelSpec,
    /// `user_id` (sorted), `label` (Float64: 0/1, or days for next-purchase)
    /// and `censored` (Boolean: next-purchase without a purchase in the window;
    /// always false for the other tasks).
    pub batch: RecordBatch,
    /// Users labelled 1 (classification) or with an observed purchase
    /// (next-purchase).
    pub positives: usize,
    /// The last event in the lake (any time), to tell whether the window is
    /// complete.
    pub data_end: Option<DateTime<Utc>>,
}

impl Labels {
    /// Whether the lake has events up to the end of the window. When it does
    /// not, churn is overstated and propensity understated for the missing part.
    pub fn horizon_covered(&self) -> bool {
        self.data_end.is_some_and(|end| end >= self.spec.as_of + self.spec.horizon)
    }

    /// The label values, in row order.
    pub fn values(&self) -> Vec<f64> {
        let labels = self.batch.column(1).as_any().downcast_ref::<Float64Array>();
        labels.map(|labels| labels.values().to_vec()).unwrap_or_default()
    }
}

/// Labels every user with an event before `spec.as_of` for `spec.task`.
pub async fn labels(context: &SessionContext, spec: &LabelSpec) -> Result<Labels> {
    if spec.horizon <= Duration::zero() {
        return Err(FeaturesError::InvalidArgument(format!(
            "the horizon must be positive, not {}",
            spec.horizon
        )));
    }
    let bots = bot_condition(spec.include_bots);
    let sql = format!(
        "WITH population AS (
           SELECT DISTINCT user_id FROM events WHERE event_time < $1 AND {bots}),
         window_events AS (
           SELECT user_id, min(event_time) AS first_event,
             min(event_time) FILTER (WHERE event_type = 'purchase') AS first_purchase
           FROM events WHERE event_time >= $1 AND event_time < $2 AND {bots}
           GROUP BY user_id)
         SELECT p.user_id, w.first_event, w.first_purchase,
           (SELECT max(event_time) FROM events WHERE {bots}) AS data_end
         FROM population p LEFT JOIN window_events w ON w.user_id = p.user_id
         ORDER BY p.user_id"
    );
    let window_end = spec.as_of + spec.horizon;
    let batches = context
        .sql(&sql)
        .await?
        .with_param_values(vec![timestamp_parameter(spec.as_of), timestamp_parameter(window_end)])?
        .collect()
        .await?;
    let horizon_days = spec.horizon.num_microseconds().unwrap_or(i64::MAX) as f64 / 86_400e6;
    let as_of_micros = spec.as_of.timestamp_micros();
    let (mut users, mut values, mut censored) = (Vec::new(), Vec::new(), Vec::new());
    let mut data_end = None;
    for batch in &batches {
        let ids = strings(batch, "user_id")?;
        let first_events = timestamps(batch, "first_event")?;
        let first_purchases = timestamps(batch, "first_purchase")?;
        let ends = timestamps(batch, "data_end")?;
        for row in 0..batch.num_rows() {
            if data_end.is_none() && ends.is_valid(row) {
                data_end = DateTime::from_timestamp_micros(ends.value(row));
            }
            users.push(ids.value(row).to_string());
            let bought = first_purchases.is_valid(row);
            let (value, is_censored) = match spec.task {
                LabelTask::Propensity => (f64::from(u8::from(bought)), false),
                LabelTask::Churn => (f64::from(u8::from(first_events.is_null(row))), false),
                LabelTask::NextPurchase if bought => {
                    ((first_purchases.value(row) - as_of_micros) as f64 / 86_400e6, false)
                }
                LabelTask::NextPurchase => (horizon_days, true),
            };
            values.push(value);
            censored.push(is_censored);
        }
    }
    let positives = match spec.task {
        LabelTask::NextPurchase => censored.iter().filter(|&&c| !c).count(),
        _ => values.iter().filter(|&&v| v == 1.0).count(),
    };
    let schema = Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("censored", DataType::Boolean, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(users)),
            Arc::new(Float64Array::from(values)),
            Arc::new(BooleanArray::from(censored)),
        ],
    )?;
    Ok(Labels { spec: spec.clone(), batch, positives, data_end })
}
