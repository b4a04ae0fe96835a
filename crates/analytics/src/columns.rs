//! Running a query and reading its columns as plain Rust values.
//!
//! The lake may hand strings back as `Utf8View` and counts as `Int64` or
//! `UInt64` depending on the plan, so every reader casts to one type first and
//! only then downcasts; a failed downcast after a successful cast is a bug.

use arrow::array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::prelude::SessionContext;

use crate::{AnalyticsError, Result};

/// Runs one SQL statement and collects every batch.
pub(crate) async fn collect(context: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(context.sql(sql).await?.collect().await?)
}

fn cast_column<A: Array + Clone + 'static>(
    batch: &RecordBatch,
    index: usize,
    data_type: &DataType,
) -> Result<A> {
    let column = batch
        .columns()
        .get(index)
        .ok_or_else(|| AnalyticsError::Internal(format!("the query has no column {index}")))?;
    let cast = arrow::compute::cast(column, data_type)?;
    cast.as_any().downcast_ref::<A>().cloned().ok_or_else(|| {
        AnalyticsError::Internal(format!("column {index} did not cast to {data_type}"))
    })
}

pub(crate) fn strings(batch: &RecordBatch, index: usize) -> Result<StringArray> {
    cast_column(batch, index, &DataType::Utf8)
}

pub(crate) fn integers(batch: &RecordBatch, index: usize) -> Result<Int64Array> {
    cast_column(batch, index, &DataType::Int64)
}

pub(crate) fn floats(batch: &RecordBatch, index: usize) -> Result<Float64Array> {
    cast_column(batch, index, &DataType::Float64)
}

pub(crate) fn timestamps(batch: &RecordBatch, index: usize) -> Result<TimestampMicrosecondArray> {
    cast_column(batch, index, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
}

/// The value of a one-row, one-column timestamp query such as `max(event_time)`;
/// `None` when it is null (an aggregate over no rows) or there is no row.
pub(crate) fn single_timestamp(batches: &[RecordBatch]) -> Result<Option<i64>> {
    let Some(batch) = batches.iter().find(|batch| batch.num_rows() > 0) else {
        return Ok(None);
    };
    let column = timestamps(batch, 0)?;
    Ok(column.is_valid(0).then(|| column.value(0)))
}

/// A lake timestamp (µs since the epoch, UTC) as a time.
pub(crate) fn utc_time(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| AnalyticsError::Internal(format!("timestamp {micros} µs is out of range")))
}

/// A lake timestamp as its UTC calendar date.
pub(crate) fn utc_date(micros: i64) -> Result<NaiveDate> {
    Ok(utc_time(micros)?.date_naive())
}
