//! The `review_insights` table: what the text models found in each review
//! (`smartfunnel text enrich`), a Delta table at `DIR/review_insights` beside
//! `DIR/events`, queryable in SQL as `review_insights`.
//!
//! Every write replaces the whole table (a Delta overwrite: one new version,
//! the earlier versions stay readable by time travel until vacuumed). A run
//! scores all reviews with one model and one topic fit, and topic numbers of
//! two fits do not mean the same thing, so appending would mix incomparable
//! rows.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

use crate::{Lake, LakeError, Result, table_url};

/// Name of the table, in the lake directory and in SQL.
pub const REVIEW_INSIGHTS_TABLE: &str = "review_insights";

/// One scored review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewInsight {
    /// The review event's id in `events`.
    pub event_id: String,
    pub user_id: String,
    pub item_id: Option<String>,
    /// The review's `event_time`, microseconds since the epoch (UTC).
    pub event_time_micros: i64,
    /// `zh`, `en` or `other`.
    pub language: String,
    /// Calibrated probability that the review is positive; null without a model.
    pub sentiment_score: Option<f64>,
    /// `positive` or `negative`; null without a model.
    pub sentiment_label: Option<String>,
    /// The aspect mentions as a JSON array of `{aspect, term, polarity, score, clause}`.
    pub aspects: String,
    /// Aspects mentioned negatively, comma-separated, each once ('' for none).
    pub complaints: String,
    /// Aspects mentioned positively, comma-separated, each once.
    pub praises: String,
    /// The review's topic; null when topics were not computed.
    pub topic: Option<i32>,
    /// The topic's first keywords.
    pub topic_label: Option<String>,
}

/// The table's Arrow schema.
pub fn review_insights_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("event_id", false),
        text("user_id", false),
        text("item_id", true),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        text("language", false),
        Field::new("sentiment_score", DataType::Float64, true),
        text("sentiment_label", true),
        text("aspects", false),
        text("complaints", false),
        text("praises", false),
        Field::new("topic", DataType::Int32, true),
        text("topic_label", true),
    ]))
}

fn to_batch(rows: &[ReviewInsight]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&ReviewInsight) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|r| Some(r.event_id.as_str())),
        strings(&|r| Some(r.user_id.as_str())),
        strings(&|r| r.item_id.as_deref()),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.event_time_micros))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        strings(&|r| Some(r.language.as_str())),
        Arc::new(rows.iter().map(|r| r.sentiment_score).collect::<Float64Array>()),
        strings(&|r| r.sentiment_label.as_deref()),
        strings(&|r| Some(r.aspects.as_str())),
        strings(&|r| Some(r.complaints.as_str())),
        strings(&|r| Some(r.praises.as_str())),
        Arc::new(rows.iter().map(|r| r.topic).collect::<Int32Array>()),
        strings(&|r| r.topic_label.as_deref()),
    ];
    Ok(RecordBatch::try_new(review_insights_schema(), columns)?)
}

impl Lake {
    /// Where the review insights table lives.
    pub fn review_insights_path(&self) -> std::path::PathBuf {
        self.root.join(REVIEW_INSIGHTS_TABLE)
    }

    /// The review insights table, if one was written.
    pub(crate) async fn review_insights(&self) -> Result<Option<DeltaTable>> {
        let path = self.review_insights_path();
        if !path.join("_delta_log").is_dir() {
            return Ok(None);
        }
        Ok(Some(deltalake::open_table(table_url(&path)?).await?))
    }

    /// Replaces the review insights table with `rows` (creating it on first
    /// use) in one commit; returns the table's new version.
    pub async fn replace_review_insights(
        &self,
        rows: &[ReviewInsight],
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<u64> {
        let path = self.review_insights_path();
        std::fs::create_dir_all(&path)
            .map_err(|e| LakeError::Io { path: path.clone(), source: e })?;
        let table = match self.review_insights().await? {
            Some(table) => table,
            // Built without loading: there is no log yet to load.
            None => deltalake::DeltaTableBuilder::from_url(table_url(&path)?)?.build()?,
        };
        let table = table
            .write([to_batch(rows)?])
            .with_save_mode(SaveMode::Overwrite)
            // A later version of the table may have other columns.
            .with_schema_mode(SchemaMode::Overwrite)
            .with_table_name(REVIEW_INSIGHTS_TABLE)
            .with_commit_properties(CommitProperties::default().with_metadata(metadata))
            .await?;
        Ok(table.version().unwrap_or(0))
    }
}
