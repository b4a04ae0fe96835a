//! The feature table: one row per user, from that user's events strictly before
//! the as-of time.
//!
//! One DataFusion query computes nearly everything (each part is a `GROUP BY
//! user_id` over the filtered events, joined on the user; DataFusion runs the
//! scans in parallel and holds per-user, not per-event, state). RFM comes from
//! the `analytics` crate, so the two never disagree; the modal hour and the
//! night share are read off a 24-bin hour histogram the query returns.
//!
//! Architecture invariant: no feature reads an event at or after the as-of
//! time. The one place that filters is [`filtered_events_sql`], and every part
//! of the query reads from it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, new_null_array,
};
use arrow::datatypes::{Field, Schema};
use chrono::{DateTime, Duration, Utc};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::catalog::{CATEGORY_SHARE_PREFIX, FEATURES, FeatureKind};
use crate::columns::{floats, integers, strings, timestamps};
use crate::{FeaturesError, Result};

/// The event types that count as interacting with an item, for category and
/// brand preferences and for item prices.
const ITEM_INTERACTIONS: &str = "('view', 'add_to_cart', 'purchase')";

/// Microseconds per day, to turn time differences into days.
const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// How to build the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureOptions {
    /// Count bot-flagged events too (they are left out by default).
    pub include_bots: bool,
    /// How many of the most common top-level categories get a
    /// `category_share_<name>` column.
    pub category_share_columns: usize,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions { include_bots: false, category_share_columns: 12 }
    }
}

/// The feature table and how it was made.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// Only events strictly before this time were read.
    pub as_of: DateTime<Utc>,
    /// `user_id` (sorted), then the features: [`FEATURES`] in order, with the
    /// `category_share_*` columns after `category_entropy`.
    pub batch: RecordBatch,
    /// The top-level categories that got a share column, most common first.
    pub share_categories: Vec<String>,
}

impl FeatureTable {
    pub fn users(&self) -> usize {
        self.batch.num_rows()
    }

    /// The feature columns, `user_id` not counted.
    pub fn feature_names(&self) -> Vec<String> {
        self.batch.schema().fields().iter().skip(1).map(|f| f.name().clone()).collect()
    }

    /// The user ids, in row order.
    pub fn user_ids(&self) -> Result<Vec<String>> {
        let users = strings(&self.batch, "user_id")?;
        Ok((0..users.len()).map(|row| users.value(row).to_string()).collect())
    }

    /// A numeric feature as `f64` values, `None` for null.
    pub fn numeric(&self, name: &str) -> Result<Vec<Option<f64>>> {
        self.check_feature(name)?;
        let values = floats(&self.batch, name)?;
        Ok(values.iter().collect())
    }

    /// A categorical feature, `None` for null.
    pub fn categorical(&self, name: &str) -> Result<Vec<Option<String>>> {
        self.check_feature(name)?;
        let values = strings(&self.batch, name)?;
        Ok(values.iter().map(|value| value.map(str::to_string)).collect())
    }

    /// The names of the numeric (integer and real) features, in column order.
    pub fn numeric_feature_names(&self) -> Vec<String> {
        self.batch
            .schema()
            .fields()
            .iter()
            .skip(1)
            .filter(|field| field.data_type().is_numeric())
            .map(|field| field.name().clone())
            .collect()
    }

    /// A name that is not a column is the caller's mistake, not a bug.
    fn check_feature(&self, name: &str) -> Result<()> {
        match self.batch.column_by_name(name) {
            Some(_) => Ok(()),
            None => Err(FeaturesError::InvalidArgument(format!("no feature named {name:?}"))),
        }
    }

    /// Writes the table as one zstd-compressed Parquet file.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let write_error =
            |message: String| FeaturesError::Write { path: path.to_path_buf(), message };
        let file = std::fs::File::create(path).map_err(|e| write_error(e.to_string()))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut writer = ArrowWriter::try_new(file, self.batch.schema(), Some(properties))
            .map_err(|e| write_error(e.to_string()))?;
        writer.write(&self.batch).map_err(|e| write_error(e.to_string()))?;
        writer.close().map_err(|e| write_error(e.to_string()))?;
        Ok(())
    }
}

/// The as-of time as a query parameter of the lake's timestamp type.
pub(crate) fn timestamp_parameter(time: DateTime<Utc>) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(time.timestamp_micros()), Some("UTC".into()))
}

pub(crate) fn bot_condition(include_bots: bool) -> &'static str {
    if include_bots { "TRUE" } else { "NOT is_bot" }
}

/// The events every feature reads: those strictly before `$1`, the as-of
/// time. The `event_date` bound lets the lake skip later partitions.
pub(crate) fn filtered_events_sql(as_of: DateTime<Utc>, include_bots: bool) -> String {
    format!(
        "SELECT event_id, user_id, session_id, event_type, event_time, event_date, item_id, \
           category, brand, price, quantity, rating, device, channel, review_text, search_query \
         FROM events \
         WHERE event_time < $1 AND event_date <= DATE '{}' AND {}",
        as_of.date_naive(),
        bot_condition(include_bots)
    )
}

/// The default as-of time: 00:00 UTC of the day after the last event, so that
/// every event counts; `None` for an empty table.
pub async fn default_as_of(
    context: &SessionContext,
    include_bots: bool,
) -> Result<Option<DateTime<Utc>>> {
    let sql = format!(
        "SELECT max(event_time) AS last_event FROM events WHERE {}",
        bot_condition(include_bots)
    );
    let batches = context.sql(&sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|batch| batch.num_rows() > 0) else {
        return Ok(None);
    };
    let last = timestamps(batch, "last_event")?;
    if last.is_null(0) {
        return Ok(None);
    }
    let last = DateTime::from_timestamp_micros(last.value(0))
        .ok_or_else(|| FeaturesError::Internal(format!("{} is no time", last.value(0))))?;
    let next_day = last.date_naive().succ_opt().and_then(|day| day.and_hms_opt(0, 0, 0));
    Ok(next_day.map(|time| time.and_utc()))
}

/// The most common top-level categories among item interactions, most
/// common first (ties by name).
async fn top_categories(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    options: &FeatureOptions,
) -> Result<Vec<String>> {
    if options.category_share_columns == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH base AS ({}) \
         SELECT split_part(category, '.', 1) AS top, count(*) AS n FROM base \
         WHERE category IS NOT NULL AND event_type IN {ITEM_INTERACTIONS} \
         GROUP BY 1 ORDER BY n DESC, top LIMIT {}",
        filtered_events_sql(as_of, options.include_bots),
        options.category_share_columns
    );
    let batches = context
        .sql(&sql)
        .await?
        .with_param_values(vec![timestamp_parameter(as_of)])?
        .collect()
        .await?;
    let mut names = Vec::new();
    for batch in &batches {
        let tops = strings(batch, "top")?;
        names.extend(tops.iter().flatten().filter(|t| !t.is_empty()).map(str::to_string));
    }
    Ok(names)
}

/// A column-name-safe form of a category: lower-case ASCII letters, digits and `_`.
fn column_safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect()
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The whole per-user query; its columns are named as in [`FEATURES`] where
/// they are final, plus `purchase_value` and the `hour_NN` histogram.
fn feature_sql(as_of: DateTime<Utc>, include_bots: bool, shares: &[(String, String)]) -> String {
    let as_of_micros = as_of.timestamp_micros();
    let days_before_as_of =
        |time: &str| format!("({as_of_micros} - CAST({time} AS BIGINT)) / {MICROS_PER_DAY:.1}");
    let count_of = |event_type: &str, name: &str| {
        format!("count(*) FILTER (WHERE event_type = '{event_type}') AS {name}")
    };
    let hour_bins: Vec<String> =
        (0..24).map(|h| format!("count(*) FILTER (WHERE hour = {h}) AS hour_{h:02}")).collect();
    let share_columns: Vec<String> = shares
        .iter()
        .map(|(category, column)| {
            format!(
                "coalesce(sum(n) FILTER (WHERE top = {}), 0) / sum(n) AS {column}",
                sql_string(category)
            )
        })
        .collect();
    let share_selects: String = shares.iter().map(|(_, column)| format!(", c.{column}")).collect();
    format!(
        "WITH base AS ({base}),
        per_user AS (
          SELECT user_id, count(*) AS events,
            {views}, {searches}, {carts}, {removals}, {checkouts}, {purchases}, {refunds}, {reviews},
            count(DISTINCT event_date) AS days_active,
            {tenure} AS tenure_days,
            {recency} AS recency_days,
            {since_purchase} AS days_since_last_purchase,
            {since_first_purchase} AS days_since_first_purchase,
            sum(price * coalesce(quantity, 1)) FILTER (WHERE event_type = 'purchase') AS purchase_value,
            avg(rating) FILTER (WHERE event_type = 'review') AS mean_rating,
            avg(CASE WHEN weekday IN (0, 6) THEN 1.0 ELSE 0.0 END) AS weekend_share,
            avg(CASE WHEN device = 'mobile' THEN 1.0 WHEN device IS NOT NULL THEN 0.0 END) AS mobile_share,
            {hour_bins}
          FROM (SELECT *, CAST(date_part('hour', event_time) AS INT) AS hour,
                  CAST(date_part('dow', event_time) AS INT) AS weekday FROM base)
          GROUP BY user_id),
        session_rows AS (
          SELECT user_id, session_id, count(*) AS events,
            CAST(max(event_time) AS BIGINT) - CAST(min(event_time) AS BIGINT) AS duration_micros,
            bool_or(event_type = 'add_to_cart') AS carted, bool_or(event_type = 'purchase') AS bought
          FROM base WHERE event_type <> 'refund' GROUP BY user_id, session_id),
        per_session AS (
          SELECT user_id, count(*) AS sessions,
            avg(duration_micros) / 1e6 AS mean_session_seconds,
            avg(events) AS mean_events_per_session,
            sum(duration_micros) / 1e6 / nullif(sum(events) - count(*), 0) AS mean_dwell_seconds,
            count(*) FILTER (WHERE carted) AS cart_sessions,
            count(*) FILTER (WHERE carted AND NOT bought) AS abandoned_cart_sessions
          FROM session_rows GROUP BY user_id),
        leaf_counts AS (
          SELECT user_id, category, count(*) AS n FROM base
          WHERE category IS NOT NULL AND event_type IN {items} GROUP BY user_id, category),
        top_counts AS (
          SELECT user_id, split_part(category, '.', 1) AS top, CAST(sum(n) AS DOUBLE) AS n
          FROM leaf_counts GROUP BY 1, 2),
        per_category AS (
          SELECT user_id, first_value(top ORDER BY n DESC, top) AS top_category,
            max(n) / sum(n) AS top_category_share, count(*) AS categories,
            greatest(log2(sum(n)) - sum(n * log2(n)) / sum(n), 0.0) AS category_entropy
            {share_columns}
          FROM top_counts GROUP BY user_id),
        brand_counts AS (
          SELECT user_id, brand, CAST(count(*) AS DOUBLE) AS n FROM base
          WHERE brand IS NOT NULL AND event_type IN {items} GROUP BY user_id, brand),
        per_brand AS (
          SELECT user_id, count(*) AS brands, max(n) / sum(n) AS top_brand_share,
            sum(n * n) / (sum(n) * sum(n)) AS brand_hhi
          FROM brand_counts GROUP BY user_id),
        device_counts AS (
          SELECT user_id, device, count(*) AS n FROM base WHERE device IS NOT NULL GROUP BY 1, 2),
        per_device AS (
          SELECT user_id, first_value(device ORDER BY n DESC, device) AS modal_device
          FROM device_counts GROUP BY user_id),
        channel_counts AS (
          SELECT user_id, channel, count(*) AS n FROM base WHERE channel IS NOT NULL GROUP BY 1, 2),
        per_channel AS (
          SELECT user_id, first_value(channel ORDER BY n DESC, channel) AS modal_channel
          FROM channel_counts GROUP BY user_id),
        price_counts AS (
          SELECT item_id, price, max(category) AS category, count(*) AS n FROM base
          WHERE price IS NOT NULL AND item_id IS NOT NULL AND event_type IN {items}
          GROUP BY item_id, price),
        price_running AS (
          SELECT item_id, price, category,
            sum(n) OVER (PARTITION BY item_id ORDER BY price ROWS UNBOUNDED PRECEDING) AS running,
            sum(n) OVER (PARTITION BY item_id) AS total
          FROM price_counts),
        item_prices AS (
          SELECT item_id, max(category) AS category,
            min(price) FILTER (WHERE 2 * running >= total) AS median_price
          FROM price_running GROUP BY item_id),
        category_prices AS (
          SELECT category, median(median_price) AS category_price
          FROM item_prices WHERE category IS NOT NULL GROUP BY category),
        per_price AS (
          SELECT b.user_id,
            avg(b.price / nullif(c.category_price, 0)) FILTER (WHERE b.event_type = 'view') AS price_level_viewed,
            avg(b.price / nullif(c.category_price, 0)) FILTER (WHERE b.event_type = 'purchase') AS price_level_purchased,
            avg(CASE WHEN b.price < i.median_price THEN 1.0 ELSE 0.0 END)
              FILTER (WHERE b.event_type = 'purchase') AS discount_purchase_share
          FROM base b JOIN item_prices i ON b.item_id = i.item_id
            LEFT JOIN category_prices c ON i.category = c.category
          WHERE b.price IS NOT NULL AND b.event_type IN ('view', 'purchase')
          GROUP BY b.user_id)
        SELECT u.*,
          s.sessions, s.mean_session_seconds, s.mean_events_per_session, s.mean_dwell_seconds,
          s.cart_sessions, s.abandoned_cart_sessions,
          c.top_category, c.top_category_share, c.categories, c.category_entropy{share_selects},
          b.brands, b.top_brand_share, b.brand_hhi,
          d.modal_device, ch.modal_channel,
          p.price_level_viewed, p.price_level_purchased, p.discount_purchase_share
        FROM per_user u
          LEFT JOIN per_session s ON s.user_id = u.user_id
          LEFT JOIN per_category c ON c.user_id = u.user_id
          LEFT JOIN per_brand b ON b.user_id = u.user_id
          LEFT JOIN per_device d ON d.user_id = u.user_id
          LEFT JOIN per_channel ch ON ch.user_id = u.user_id
          LEFT JOIN per_price p ON p.user_id = u.user_id
        ORDER BY u.user_id",
        base = filtered_events_sql(as_of, include_bots),
        views = count_of("view", "views"),
        searches = count_of("search", "searches"),
        carts = count_of("add_to_cart", "add_to_carts"),
        removals = count_of("remove_from_cart", "cart_removals"),
        checkouts = count_of("checkout", "checkouts"),
        purchases = count_of("purchase", "purchases"),
        refunds = count_of("refund", "refunds"),
        reviews = count_of("review", "reviews"),
        tenure = days_before_as_of("min(event_time)"),
        recency = days_before_as_of("max(event_time)"),
        since_purchase =
            days_before_as_of("max(event_time) FILTER (WHERE event_type = 'purchase')"),
        since_first_purchase =
            days_before_as_of("min(event_time) FILTER (WHERE event_type = 'purchase')"),
        hour_bins = hour_bins.join(",\n            "),
        share_columns = share_columns.iter().map(|c| format!(", {c}")).collect::<String>(),
        items = ITEM_INTERACTIONS,
    )
}

/// Builds the feature table of every user with an event before `as_of`, from
/// those events only.
pub async fn build(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    options: &FeatureOptions,
) -> Result<FeatureTable> {
    let share_categories = top_categories(context, as_of, options).await?;
    let mut shares: Vec<(String, String)> = Vec::new();
    for category in &share_categories {
        let column = format!("{CATEGORY_SHARE_PREFIX}{}", column_safe(category));
        // Two names can clean up to the same column; the more common one keeps it.
        if !shares.iter().any(|(_, existing)| *existing == column) {
            shares.push((category.clone(), column));
        }
    }
    let sql = feature_sql(as_of, options.include_bots, &shares);
    let frame = context.sql(&sql).await?.with_param_values(vec![timestamp_parameter(as_of)])?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    let raw = arrow::compute::concat_batches(&schema, &batches)?;
    let rfm = rfm_by_user(context, as_of, options.include_bots).await?;
    let batch = assemble(&raw, &rfm, &shares)?;
    Ok(FeatureTable {
        as_of,
        batch,
        share_categories: shares.into_iter().map(|(category, _)| category).collect(),
    })
}

/// RFM of every customer from the `analytics` crate, keyed by user. Its as-of
/// time is inclusive, so it is given the last microsecond before ours.
async fn rfm_by_user(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    include_bots: bool,
) -> Result<HashMap<String, analytics::CustomerRfm>> {
    let spec = analytics::RfmSpec { as_of: Some(as_of - Duration::microseconds(1)), include_bots };
    let analysis = analytics::rfm(context, &spec).await?;
    Ok(analysis.customers.into_iter().map(|c| (c.user_id.clone(), c)).collect())
}

/// Puts the query's columns, the RFM columns and the hour-derived columns in
/// catalogue order, each cast to its catalogue type.
fn assemble(
    raw: &RecordBatch,
    rfm: &HashMap<String, analytics::CustomerRfm>,
    shares: &[(String, String)],
) -> Result<RecordBatch> {
    let rows = raw.num_rows();
    let column = |name: &str| -> Result<ArrayRef> {
        raw.column_by_name(name).cloned().ok_or_else(|| {
            FeaturesError::Internal(format!("the feature query has no column {name}"))
        })
    };
    let users = strings(raw, "user_id")?;
    let customers: Vec<Option<&analytics::CustomerRfm>> =
        (0..rows).map(|row| rfm.get(users.value(row))).collect();
    let (modal_hours, night_shares) = hour_features(raw)?;

    let purchase_value = floats(raw, "purchase_value")?;
    let views = integers(raw, "views")?;
    let purchases = integers(raw, "purchases")?;
    let refunds = integers(raw, "refunds")?;
    let searches = integers(raw, "searches")?;
    let sessions = integers(raw, "sessions")?;
    let cart_sessions = integers(raw, "cart_sessions")?;
    let abandoned = integers(raw, "abandoned_cart_sessions")?;
    let ratio = |numerator: f64, denominator: i64| {
        (denominator > 0).then(|| numerator / denominator as f64)
    };
    let count =
        |array: &Int64Array, row: usize| if array.is_valid(row) { array.value(row) } else { 0 };

    let mut fields = vec![Field::new("user_id", arrow::datatypes::DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(users.clone())];
    for feature in FEATURES {
        let name = feature.name;
        let values: ArrayRef = match name {
            "orders" => Arc::new(Int64Array::from_iter_values(
                customers.iter().map(|c| c.map_or(0, |c| c.frequency as i64)),
            )),
            "monetary" => Arc::new(Float64Array::from_iter_values(
                customers.iter().map(|c| c.map_or(0.0, |c| c.monetary)),
            )),
            "average_order_value" => Arc::new(Float64Array::from_iter((0..rows).map(|row| {
                let orders = customers[row].map_or(0, |c| c.frequency as i64);
                let value =
                    if purchase_value.is_valid(row) { purchase_value.value(row) } else { 0.0 };
                ratio(value, orders)
            }))),
            // Orders come from RFM (distinct orders), the purchase span from the query.
            "mean_days_between_orders" => {
                let first = floats(raw, "days_since_first_purchase")?;
                let last = floats(raw, "days_since_last_purchase")?;
                Arc::new(Float64Array::from_iter((0..rows).map(|row| {
                    let orders = customers[row].map_or(0, |c| c.frequency as i64);
                    (orders >= 2 && first.is_valid(row) && last.is_valid(row))
                        .then(|| (first.value(row) - last.value(row)) / (orders - 1) as f64)
                })))
            }
            "rfm_r" => {
                Arc::new(Int64Array::from_iter(customers.iter().map(|c| c.map(|c| i64::from(c.r)))))
            }
            "rfm_f" => {
                Arc::new(Int64Array::from_iter(customers.iter().map(|c| c.map(|c| i64::from(c.f)))))
            }
            "rfm_m" => {
                Arc::new(Int64Array::from_iter(customers.iter().map(|c| c.map(|c| i64::from(c.m)))))
            }
            "rfm_segment" => Arc::new(StringArray::from_iter(
                customers.iter().map(|c| c.map(|c| c.segment.name())),
            )),
            "cart_sessions" => Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|row| count(&cart_sessions, row)),
            )),
            "cart_abandonment_rate" => Arc::new(Float64Array::from_iter(
                (0..rows)
                    .map(|row| ratio(count(&abandoned, row) as f64, count(&cart_sessions, row))),
            )),
            "view_to_purchase_rate" => Arc::new(Float64Array::from_iter(
                (0..rows).map(|row| ratio(count(&purchases, row) as f64, count(&views, row))),
            )),
            "refund_rate" => Arc::new(Float64Array::from_iter(
                (0..rows).map(|row| ratio(count(&refunds, row) as f64, count(&purchases, row))),
            )),
            "searches_per_session" => Arc::new(Float64Array::from_iter(
                (0..rows).map(|row| ratio(count(&searches, row) as f64, count(&sessions, row))),
            )),
            "modal_hour" => Arc::new(Int64Array::from(modal_hours.clone())),
            "night_share" => Arc::new(Float64Array::from(night_shares.clone())),
            "review_sentiment" => new_null_array(&feature.kind.data_type(), rows),
            // Users without a session, a category or a brand have no row in
            // that part of the query; their counts are 0, not null.
            "sessions" | "categories" | "brands" => {
                let values = integers(raw, name)?;
                Arc::new(Int64Array::from_iter_values((0..rows).map(|row| count(&values, row))))
            }
            _ => arrow::compute::cast(&column(name)?, &feature.kind.data_type())?,
        };
        fields.push(Field::new(name, feature.kind.data_type(), true));
        columns.push(values);
        if name == "category_entropy" {
            for (_, share_column) in shares {
                fields.push(Field::new(share_column, FeatureKind::Real.data_type(), true));
                columns.push(arrow::compute::cast(
                    &column(share_column)?,
                    &FeatureKind::Real.data_type(),
                )?);
            }
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// The modal hour (ties to the earliest) and the share of events in hours
/// 0–5, from the query's `hour_00` … `hour_23` counts.
fn hour_features(raw: &RecordBatch) -> Result<(Vec<i64>, Vec<f64>)> {
    let bins: Vec<Int64Array> =
        (0..24).map(|hour| integers(raw, &format!("hour_{hour:02}"))).collect::<Result<_>>()?;
    let mut modal_hours = Vec::with_capacity(raw.num_rows());
    let mut night_shares = Vec::with_capacity(raw.num_rows());
    for row in 0..raw.num_rows() {
        let counts: Vec<i64> = bins.iter().map(|bin| bin.value(row)).collect();
        let total: i64 = counts.iter().sum();
        let mut modal = 0;
        for (hour, &count) in counts.iter().enumerate() {
            if count > counts[modal] {
                modal = hour;
            }
        }
        modal_hours.push(modal as i64);
        let night: i64 = counts[..6].iter().sum();
        night_shares.push(if total > 0 { night as f64 / total as f64 } else { 0.0 });
    }
    Ok((modal_hours, night_shares))
}
