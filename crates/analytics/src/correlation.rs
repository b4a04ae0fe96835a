//! Funnel correlation: which events and which property values go with converting and
//! which with dropping off, among the users who entered a funnel (as PostHog's
//! correlation analysis).
//!
//! For every candidate (an event type the user did, or a `column = value` seen on one
//! of the user's events) the 2×2 table is: converted users with it, converted users
//! without it, dropped users with it, dropped users without it. The odds ratio adds one
//! to each cell (PostHog's prior, so that empty cells stay finite); the p-value is
//! Fisher's exact test (two-sided) when the table is small and Pearson's chi-squared
//! test (one degree of freedom, no continuity correction) otherwise.

use std::sync::Arc;

use arrow::array::{AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::Result;
use crate::funnels::{FunnelQuery, UnitLevel, sql_identifier, sql_string, timestamp_literal};

/// What to correlate.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationOptions {
    /// Columns whose values are candidates (`device`, `channel`, …).
    pub properties: Vec<String>,
    /// At most this many values per property are tested (the most common ones).
    pub values_per_property: usize,
    /// Results with a larger p-value are left out.
    pub max_p_value: f64,
    /// At most this many results for conversion and this many for drop-off.
    pub limit: usize,
}

impl Default for CorrelationOptions {
    fn default() -> Self {
        Self {
            properties: ["device", "channel", "country", "brand", "category"]
                .map(str::to_owned)
                .to_vec(),
            values_per_property: 50,
            max_p_value: 0.05,
            limit: 10,
        }
    }
}

/// One candidate's contingency table and test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Correlation {
    /// `event` or `property`.
    pub kind: &'static str,
    /// The event type, or `column=value`.
    pub name: String,
    /// Converted users with the candidate.
    pub success_with: u64,
    /// Dropped users with the candidate.
    pub failure_with: u64,
    pub success_total: u64,
    pub failure_total: u64,
    pub odds_ratio: f64,
    pub p_value: f64,
    /// `success` when the odds ratio is above 1, else `failure`.
    pub direction: &'static str,
}

/// The ranked correlations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CorrelationResult {
    pub success_total: u64,
    pub failure_total: u64,
    /// Strongest first (by how far the odds ratio is from 1, on a log scale).
    pub success: Vec<Correlation>,
    pub failure: Vec<Correlation>,
    /// Candidates tested (before the p-value cut).
    pub tested: usize,
}

/// Correlates the users of a funnel run (its per-unit levels; only users who entered
/// count, converted meaning they reached the last step) with their events.
pub async fn correlate(
    context: &SessionContext,
    query: &FunnelQuery,
    units: &[UnitLevel],
    options: &CorrelationOptions,
) -> Result<CorrelationResult> {
    let steps = query.steps.len() as u8;
    // Users may have several units (sessions, journeys): a user counts as converted if
    // any of them reached the last step.
    let mut outcome: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for unit in units {
        if let Some(level) = unit.level.filter(|level| *level > 0) {
            *outcome.entry(unit.user_id.as_str()).or_default() |= level == steps;
        }
    }
    let success_total = outcome.values().filter(|value| **value).count() as u64;
    let failure_total = outcome.len() as u64 - success_total;

    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("converted", DataType::Boolean, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(outcome.keys().copied())),
            Arc::new(BooleanArray::from_iter(outcome.values().map(|value| Some(*value)))),
        ],
    )?;
    let table = "smartfunnel_correlation_outcomes";
    context.register_table(table, Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    let result =
        correlate_registered(context, query, options, table, success_total, failure_total).await;
    context.deregister_table(table)?;
    result
}

async fn correlate_registered(
    context: &SessionContext,
    query: &FunnelQuery,
    options: &CorrelationOptions,
    table: &str,
    success_total: u64,
    failure_total: u64,
) -> Result<CorrelationResult> {
    let mut filters = vec!["TRUE".to_owned()];
    if query.exclude_bots {
        filters.push("NOT e.is_bot".into());
    }
    if let Some(from) = query.from {
        filters.push(format!("e.event_time >= {}", timestamp_literal(from)));
    }
    if let Some(to) = query.to {
        filters.push(format!("e.event_time < {}", timestamp_literal(to)));
    }
    // The steps' own event types say nothing new about conversion.
    let step_names: Vec<String> =
        query.steps.iter().filter_map(|step| step.event_name()).map(sql_string).collect();
    let mut event_filters = filters.clone();
    if !step_names.is_empty() {
        event_filters.push(format!("e.event_type NOT IN ({})", step_names.join(", ")));
    }
    let counts = |value: &str, where_clause: &str, limit: Option<usize>| {
        let limit = limit.map_or(String::new(), |limit| {
            format!(" ORDER BY success + failure DESC, value LIMIT {limit}")
        });
        format!(
            "SELECT {value} AS value, \
             COUNT(DISTINCT CASE WHEN o.converted THEN e.user_id END) AS success, \
             COUNT(DISTINCT CASE WHEN NOT o.converted THEN e.user_id END) AS failure \
             FROM events e JOIN {table} o ON e.user_id = o.user_id \
             WHERE {where_clause} AND {value} IS NOT NULL GROUP BY {value}{limit}"
        )
    };
    let mut candidates = Vec::new();
    let sql = counts("e.event_type", &event_filters.join(" AND "), None);
    for (name, success, failure) in count_rows(context, &sql).await? {
        candidates.push(("event", name, success, failure));
    }
    let columns: Vec<String> = context
        .table("events")
        .await?
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    for property in &options.properties {
        if !columns.contains(property) {
            continue;
        }
        let value = format!("CAST(e.{} AS VARCHAR)", sql_identifier(property));
        let sql = counts(&value, &filters.join(" AND "), Some(options.values_per_property));
        for (name, success, failure) in count_rows(context, &sql).await? {
            candidates.push(("property", format!("{property}={name}"), success, failure));
        }
    }
    let tested = candidates.len();
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for (kind, name, success_with, failure_with) in candidates {
        let odds_ratio = odds_ratio(success_with, failure_with, success_total, failure_total);
        let p_value = p_value(
            success_with,
            failure_with,
            success_total - success_with.min(success_total),
            failure_total - failure_with.min(failure_total),
        );
        if p_value > options.max_p_value {
            continue;
        }
        let correlation = Correlation {
            kind,
            name,
            success_with,
            failure_with,
            success_total,
            failure_total,
            odds_ratio,
            p_value,
            direction: if odds_ratio > 1.0 { "success" } else { "failure" },
        };
        if odds_ratio > 1.0 { success.push(correlation) } else { failure.push(correlation) }
    }
    for list in [&mut success, &mut failure] {
        list.sort_by(|a, b| {
            b.odds_ratio
                .ln()
                .abs()
                .total_cmp(&a.odds_ratio.ln().abs())
                .then_with(|| a.name.cmp(&b.name))
        });
        list.truncate(options.limit);
    }
    Ok(CorrelationResult { success_total, failure_total, success, failure, tested })
}

async fn count_rows(context: &SessionContext, sql: &str) -> Result<Vec<(String, u64, u64)>> {
    let batches = context.sql(sql).await?.collect().await?;
    let mut rows = Vec::new();
    for batch in batches {
        let names = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let success = arrow::compute::cast(batch.column(1), &DataType::Int64)?;
        let failure = arrow::compute::cast(batch.column(2), &DataType::Int64)?;
        let (success, failure) =
            (success.as_primitive::<Int64Type>(), failure.as_primitive::<Int64Type>());
        for row in 0..batch.num_rows() {
            rows.push((
                names.value(row).to_owned(),
                success.value(row) as u64,
                failure.value(row) as u64,
            ));
        }
    }
    Ok(rows)
}

/// The odds of converting with the candidate over the odds without it, with one added
/// to every cell.
pub fn odds_ratio(
    success_with: u64,
    failure_with: u64,
    success_total: u64,
    failure_total: u64,
) -> f64 {
    let success_without = success_total.saturating_sub(success_with) as f64;
    let failure_without = failure_total.saturating_sub(failure_with) as f64;
    ((success_with as f64 + 1.0) / (failure_with as f64 + 1.0))
        / ((success_without + 1.0) / (failure_without + 1.0))
}

/// Two-sided p-value for the 2×2 table `[[a, b], [c, d]]`: Fisher's exact test up to
/// 10,000 users, Pearson's chi-squared above (where the two agree closely and Fisher's
/// sum gets long).
pub fn p_value(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let n = a + b + c + d;
    if n == 0 {
        return 1.0;
    }
    if n <= 10_000 { fisher_exact(a, b, c, d) } else { chi_squared(a, b, c, d) }
}

fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let row1 = a + b;
    let col1 = a + c;
    let n = a + b + c + d;
    let log_probability = |x: u64| -> f64 {
        // Hypergeometric: C(row1, x) C(n - row1, col1 - x) / C(n, col1).
        ln_choose(row1, x) + ln_choose(n - row1, col1 - x) - ln_choose(n, col1)
    };
    let observed = log_probability(a);
    let low = col1.saturating_sub(n - row1);
    let high = row1.min(col1);
    let mut total = 0.0;
    for x in low..=high {
        let value = log_probability(x);
        // The relative tolerance is R's, so that ties in probability count as extreme.
        if value <= observed + 1e-7 {
            total += value.exp();
        }
    }
    total.min(1.0)
}

fn chi_squared(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let n = a + b + c + d;
    let denominator = (a + b) * (c + d) * (a + c) * (b + d);
    if denominator == 0.0 {
        return 1.0;
    }
    let statistic = n * (a * d - b * c).powi(2) / denominator;
    erfc((statistic / 2.0).sqrt())
}

fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

fn ln_factorial(n: u64) -> f64 {
    ln_gamma(n as f64 + 1.0)
}

/// Lanczos approximation (g = 7, 9 terms), accurate to about 15 digits.
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (index, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2e-7), enough for p-values.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let polynomial = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * polynomial.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}
