//! Reading query results by column name as plain Arrow arrays.
//!
//! The lake hands strings back as `Utf8View` and counts as `Int64` or `UInt64`
//! depending on the plan, so a column is cast to the wanted type before it is
//! downcast; a failed downcast after a successful cast is a bug.

use arrow::array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};

use crate::{FeaturesError, Result};

fn column_as<A: Array + Clone + 'static>(
    batch: &RecordBatch,
    name: &str,
    data_type: &DataType,
) -> Result<A> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| FeaturesError::Internal(format!("the query result has no column {name}")))?;
    let cast = arrow::compute::cast(column, data_type)?;
    cast.as_any().downcast_ref::<A>().cloned().ok_or_else(|| {
        FeaturesError::Internal(format!("column {name} did not cast to {data_type}"))
    })
}

pub(crate) fn strings(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    column_as(batch, name, &DataType::Utf8)
}

pub(crate) fn integers(batch: &RecordBatch, name: &str) -> Result<Int64Array> {
    column_as(batch, name, &DataType::Int64)
}

pub(crate) fn floats(batch: &RecordBatch, name: &str) -> Result<Float64Array> {
    column_as(batch, name, &DataType::Float64)
}

pub(crate) fn timestamps(batch: &RecordBatch, name: &str) -> Result<TimestampMicrosecondArray> {
    column_as(batch, name, &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
}
