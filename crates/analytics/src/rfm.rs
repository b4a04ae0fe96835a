//! RFM: each customer's recency, frequency and monetary value, scored 1–5
//! against the other customers and named with the usual segments.
//!
//! Definition (also in `docs/analytics.md`, with the segment table):
//! - A **customer** is a user with at least one `purchase` at or before the as-of
//!   time. Only events at or before it count. The as-of time defaults to the last
//!   (non-bot) event in the table.
//! - **Recency** is the whole days (rounded down) from the customer's last
//!   purchase to the as-of time.
//! - **Frequency** is the number of distinct orders: purchases sharing an
//!   `order_id` are one order; purchases without one are grouped by session (one
//!   order per session), as sources without order ids log one line per item.
//! - **Monetary** is the net spend: Σ price × quantity (a missing quantity is 1,
//!   a missing price 0) over purchases, minus the same over refunds, never below 0.
//! - **Scores**: customers are ranked by each measure, better last (recency
//!   descending, frequency and monetary ascending). A tie group takes the rank
//!   of its first member (SQL `RANK()`), so equal values always share a score,
//!   and the score of rank r among n customers is `1 + ⌊5 (r − 1) / n⌋`: 5 is the
//!   best fifth. A single customer, or all customers tied, score 1.
//! - **Segment**: from R and FM = ⌈(F + M) / 2⌉ by [`RfmSegment::from_scores`].
//! - Bot-flagged events are left out unless `include_bots` is set.

use std::fmt;

use arrow::array::Array as _;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::calendar::bot_condition_sql;
use crate::columns::{collect, floats, integers, single_timestamp, strings, timestamps, utc_time};

/// What to compute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RfmSpec {
    /// Measure recency to this time, and ignore later events; by default the
    /// last event in the table.
    pub as_of: Option<DateTime<Utc>>,
    /// Count bot-flagged events too (they are left out by default).
    pub include_bots: bool,
}

/// The named RFM segments, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RfmSegment {
    Champions,
    Loyal,
    #[serde(rename = "Potential Loyalist")]
    PotentialLoyalist,
    New,
    Promising,
    #[serde(rename = "Need Attention")]
    NeedAttention,
    #[serde(rename = "About to Sleep")]
    AboutToSleep,
    #[serde(rename = "At Risk")]
    AtRisk,
    #[serde(rename = "Can't Lose")]
    CantLose,
    Hibernating,
    Lost,
}

impl RfmSegment {
    /// Every segment, in report order.
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalist,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLose,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RfmSegment::Champions => "Champions",
            RfmSegment::Loyal => "Loyal",
            RfmSegment::PotentialLoyalist => "Potential Loyalist",
            RfmSegment::New => "New",
            RfmSegment::Promising => "Promising",
            RfmSegment::NeedAttention => "Need Attention",
            RfmSegment::AboutToSleep => "About to Sleep",
            RfmSegment::AtRisk => "At Risk",
            RfmSegment::CantLose => "Can't Lose",
            RfmSegment::Hibernating => "Hibernating",
            RfmSegment::Lost => "Lost",
        }
    }

    /// The segment of a customer from their R, F and M scores (each 1–5).
    ///
    /// The grid is the common R × F segment map of the RFM literature, read
    /// with FM = ⌈(F + M) / 2⌉ in place of F, and with Lost split off from
    /// Hibernating at R = 1, FM = 1:
    ///
    /// | R \ FM | 1 | 2 | 3 | 4 | 5 |
    /// |---|---|---|---|---|---|
    /// | 5 | New | Potential Loyalist | Potential Loyalist | Champions | Champions |
    /// | 4 | Promising | Potential Loyalist | Potential Loyalist | Loyal | Loyal |
    /// | 3 | About to Sleep | About to Sleep | Need Attention | Loyal | Loyal |
    /// | 2 | Hibernating | Hibernating | At Risk | At Risk | Can't Lose |
    /// | 1 | Lost | Hibernating | At Risk | At Risk | Can't Lose |
    pub fn from_scores(recency: u8, frequency: u8, monetary: u8) -> RfmSegment {
        let frequency_monetary = (frequency + monetary).div_ceil(2);
        match (recency.clamp(1, 5), frequency_monetary.clamp(1, 5)) {
            (5, 4..=5) => RfmSegment::Champions,
            (3..=4, 4..=5) => RfmSegment::Loyal,
            (4..=5, 2..=3) => RfmSegment::PotentialLoyalist,
            (5, 1) => RfmSegment::New,
            (4, 1) => RfmSegment::Promising,
            (3, 3) => RfmSegment::NeedAttention,
            (3, 1..=2) => RfmSegment::AboutToSleep,
            (1..=2, 3..=4) => RfmSegment::AtRisk,
            (1..=2, 5) => RfmSegment::CantLose,
            (1, 1) => RfmSegment::Lost,
            _ => RfmSegment::Hibernating,
        }
    }
}

impl fmt::Display for RfmSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One customer's measures, scores and segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerRfm {
    pub user_id: String,
    pub recency_days: u64,
    /// Distinct orders.
    pub frequency: u64,
    /// Net spend.
    pub monetary: f64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: RfmSegment,
}

/// The customers of one segment, with their mean measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentSummary {
    pub segment: RfmSegment,
    pub customers: u64,
    /// Of all customers.
    pub share: f64,
    /// Means over the segment's customers; `None` when it has none.
    pub mean_recency_days: Option<f64>,
    pub mean_frequency: Option<f64>,
    pub mean_monetary: Option<f64>,
}

/// The RFM table and its segment sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmAnalysis {
    /// The time recency was measured to; `None` for an empty table.
    pub as_of: Option<DateTime<Utc>>,
    /// By user id.
    pub customers: Vec<CustomerRfm>,
    /// Every segment, in [`RfmSegment::ALL`] order, empty ones included.
    pub segments: Vec<SegmentSummary>,
}

/// Computes RFM scores and segments of the customers in the `events` table.
pub async fn rfm(context: &SessionContext, spec: &RfmSpec) -> Result<RfmAnalysis> {
    let bots = bot_condition_sql(spec.include_bots);
    let as_of = match spec.as_of {
        Some(as_of) => Some(as_of),
        None => last_event_time(context, &bots).await?,
    };
    let Some(as_of) = as_of else {
        return Ok(RfmAnalysis { as_of: None, customers: Vec::new(), segments: summarise(&[]) });
    };
    let value = "price * coalesce(quantity, 1)";
    let sql = format!(
        "SELECT user_id, \
           max(CASE WHEN event_type = 'purchase' THEN event_time END) AS last_purchase, \
           count(DISTINCT CASE WHEN event_type = 'purchase' \
                 THEN coalesce(order_id, concat('session ', session_id)) END) AS orders, \
           coalesce(sum(CASE WHEN event_type = 'purchase' THEN {value} END), 0) \
             - coalesce(sum(CASE WHEN event_type = 'refund' THEN {value} END), 0) AS net_spend \
         FROM events \
         WHERE {bots} AND event_type IN ('purchase', 'refund') AND event_time <= $1 \
         GROUP BY user_id \
         HAVING count(CASE WHEN event_type = 'purchase' THEN 1 END) > 0"
    );
    let as_of_value =
        ScalarValue::TimestampMicrosecond(Some(as_of.timestamp_micros()), Some("UTC".into()));
    let batches = context.sql(&sql).await?.with_param_values(vec![as_of_value])?.collect().await?;
    let mut measures = Vec::new();
    for batch in &batches {
        let (users, last_purchases) = (strings(batch, 0)?, timestamps(batch, 1)?);
        let (orders, net_spends) = (integers(batch, 2)?, floats(batch, 3)?);
        for row in 0..batch.num_rows() {
            let last_purchase = utc_time(last_purchases.value(row))?;
            let net_spend = if net_spends.is_valid(row) { net_spends.value(row) } else { 0.0 };
            measures.push(Measures {
                user_id: users.value(row).to_string(),
                recency_days: (as_of - last_purchase).num_days().max(0) as u64,
                frequency: orders.value(row) as u64,
                monetary: net_spend.max(0.0),
            });
        }
    }
    measures.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let customers = score(measures);
    let segments = summarise(&customers);
    Ok(RfmAnalysis { as_of: Some(as_of), customers, segments })
}

async fn last_event_time(context: &SessionContext, bots: &str) -> Result<Option<DateTime<Utc>>> {
    let batches =
        collect(context, &format!("SELECT max(event_time) FROM events WHERE {bots}")).await?;
    single_timestamp(&batches)?.map(utc_time).transpose()
}

struct Measures {
    user_id: String,
    recency_days: u64,
    frequency: u64,
    monetary: f64,
}

fn score(measures: Vec<Measures>) -> Vec<CustomerRfm> {
    // Recency is better when smaller, so it is ranked on its negation.
    let r = quintile_scores(&measures.iter().map(|c| -(c.recency_days as f64)).collect::<Vec<_>>());
    let f = quintile_scores(&measures.iter().map(|c| c.frequency as f64).collect::<Vec<_>>());
    let m = quintile_scores(&measures.iter().map(|c| c.monetary).collect::<Vec<_>>());
    measures
        .into_iter()
        .enumerate()
        .map(|(i, c)| CustomerRfm {
            user_id: c.user_id,
            recency_days: c.recency_days,
            frequency: c.frequency,
            monetary: c.monetary,
            r: r[i],
            f: f[i],
            m: m[i],
            segment: RfmSegment::from_scores(r[i], f[i], m[i]),
        })
        .collect()
}

/// Scores 1–5 by rank, higher values higher: the rank of a value is that of the
/// first of its ties in ascending order (SQL `RANK()`), and rank r of n scores
/// `1 + ⌊5 (r − 1) / n⌋`. Equal values therefore always get equal scores, and the
/// result does not depend on the order of `values`.
pub fn quintile_scores(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    let mut rank = 0;
    for (position, &index) in order.iter().enumerate() {
        if position == 0 || values[index].total_cmp(&values[order[position - 1]]).is_ne() {
            rank = position;
        }
        scores[index] = 1 + (5 * rank / n) as u8;
    }
    scores
}

fn summarise(customers: &[CustomerRfm]) -> Vec<SegmentSummary> {
    let total = customers.len();
    RfmSegment::ALL
        .iter()
        .map(|&segment| {
            let members: Vec<&CustomerRfm> =
                customers.iter().filter(|c| c.segment == segment).collect();
            let count = members.len();
            let mean = |measure: fn(&CustomerRfm) -> f64| {
                (count > 0).then(|| members.iter().map(|c| measure(c)).sum::<f64>() / count as f64)
            };
            SegmentSummary {
                segment,
                customers: count as u64,
                share: if total == 0 { 0.0 } else { count as f64 / total as f64 },
                mean_recency_days: mean(|c| c.recency_days as f64),
                mean_frequency: mean(|c| c.frequency as f64),
                mean_monetary: mean(|c| c.monetary),
            }
        })
        .collect()
}
