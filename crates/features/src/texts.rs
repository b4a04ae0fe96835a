//! The review texts and search queries of the users before the as-of time,
//! for the text columns the text models add to the feature table (the
//! `smartfunnel` CLI computes them; this crate stays free of the models), and
//! [`FeatureTable::put_column`] to add such columns.
//!
//! They read the same filtered events as every feature, so the text columns
//! obey the same rule: nothing at or after the as-of time.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;

use crate::columns::{integers, strings};
use crate::table::{filtered_events_sql, timestamp_parameter};
use crate::{FeatureTable, FeaturesError, Result};

/// One review with a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewText {
    pub event_id: String,
    pub user_id: String,
    pub item_id: Option<String>,
    /// Microseconds since the epoch, UTC.
    pub event_time_micros: i64,
    pub text: String,
}

/// One search with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub user_id: String,
    pub query: String,
}

async fn rows(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    include_bots: bool,
    select: &str,
) -> Result<Vec<RecordBatch>> {
    let sql = format!("WITH base AS ({}) {select}", filtered_events_sql(as_of, include_bots));
    Ok(context
        .sql(&sql)
        .await?
        .with_param_values(vec![timestamp_parameter(as_of)])?
        .collect()
        .await?)
}

/// The review events with a non-empty text strictly before `as_of`, by time
/// (then event id).
pub async fn review_texts(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    include_bots: bool,
) -> Result<Vec<ReviewText>> {
    let batches = rows(
        context,
        as_of,
        include_bots,
        "SELECT event_id, user_id, item_id, CAST(event_time AS BIGINT) AS micros, review_text \
         FROM base WHERE event_type = 'review' AND trim(review_text) <> '' \
         ORDER BY event_time, event_id",
    )
    .await?;
    let mut reviews = Vec::new();
    for batch in &batches {
        let (ids, users, items) =
            (strings(batch, "event_id")?, strings(batch, "user_id")?, strings(batch, "item_id")?);
        let (micros, texts) = (integers(batch, "micros")?, strings(batch, "review_text")?);
        for row in 0..batch.num_rows() {
            reviews.push(ReviewText {
                event_id: ids.value(row).to_owned(),
                user_id: users.value(row).to_owned(),
                item_id: (!items.is_null(row)).then(|| items.value(row).to_owned()),
                event_time_micros: micros.value(row),
                text: texts.value(row).to_owned(),
            });
        }
    }
    Ok(reviews)
}

/// The search events with a non-empty query strictly before `as_of`, by user
/// and time.
pub async fn search_queries(
    context: &SessionContext,
    as_of: DateTime<Utc>,
    include_bots: bool,
) -> Result<Vec<SearchQuery>> {
    let batches = rows(
        context,
        as_of,
        include_bots,
        "SELECT user_id, search_query FROM base \
         WHERE event_type = 'search' AND trim(search_query) <> '' \
         ORDER BY user_id, event_time, event_id",
    )
    .await?;
    let mut searches = Vec::new();
    for batch in &batches {
        let (users, queries) = (strings(batch, "user_id")?, strings(batch, "search_query")?);
        for row in 0..batch.num_rows() {
            searches.push(SearchQuery {
                user_id: users.value(row).to_owned(),
                query: queries.value(row).to_owned(),
            });
        }
    }
    Ok(searches)
}

impl FeatureTable {
    /// Puts a column into the table: it replaces the column of that name if
    /// there is one (keeping its place), else it is appended. `values` must
    /// hold one value per user, in the table's row order.
    pub fn put_column(&mut self, name: &str, values: ArrayRef) -> Result<()> {
        if values.len() != self.users() {
            return Err(FeaturesError::InvalidArgument(format!(
                "column {name} has {} values for {} users",
                values.len(),
                self.users()
            )));
        }
        let schema = self.batch.schema();
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        let mut columns = self.batch.columns().to_vec();
        let field = Arc::new(Field::new(name, values.data_type().clone(), true));
        match schema.index_of(name) {
            Ok(index) => {
                fields[index] = field;
                columns[index] = values;
            }
            Err(_) => {
                fields.push(field);
                columns.push(values);
            }
        }
        self.batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(())
    }
}
