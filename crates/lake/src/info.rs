//! `smartfunnel lake info`.

use std::collections::BTreeMap;

use arrow::array::{Array, RecordBatch};
use futures::StreamExt;
use serde::Serialize;

use crate::{EVENTS_TABLE, Lake, Result};

/// One entry of the table's history.
#[derive(Debug, Clone, Serialize)]
pub struct CommitSummary {
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
    pub operation: Option<String>,
}

/// What the lake holds.
#[derive(Debug, Clone, Serialize)]
pub struct LakeInfo {
    pub path: String,
    pub version: u64,
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    pub users: u64,
    pub sessions: u64,
    pub bot_events: u64,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub by_event_type: BTreeMap<String, u64>,
    pub quarantined_rows: u64,
    /// Newest first.
    pub history: Vec<CommitSummary>,
}

pub(crate) fn single_count(batches: &[RecordBatch]) -> u64 {
    batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::UInt64).ok())
        .and_then(|a| a.as_any().downcast_ref::<arrow::array::UInt64Array>().map(|a| a.value(0)))
        .unwrap_or(0)
}

/// Query results as rows of text cells (`None` for null), for callers that
/// render or compare values rather than compute with them.
pub fn text_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<Option<String>>>> {
    let mut rows = Vec::new();
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
            .collect::<Result<Vec<_>, _>>()?;
        let columns: Vec<&arrow::array::StringArray> =
            columns.iter().map(|c| c.as_any().downcast_ref().expect("cast to Utf8")).collect();
        for row in 0..batch.num_rows() {
            rows.push(
                columns.iter().map(|c| c.is_valid(row).then(|| c.value(row).to_string())).collect(),
            );
        }
    }
    Ok(rows)
}

impl Lake {
    pub async fn info(&self) -> Result<LakeInfo> {
        let (mut files, mut bytes) = (0, 0);
        let mut views = self.table.get_active_add_actions_by_partitions(&[]);
        while let Some(view) = views.next().await {
            files += 1;
            bytes += view?.size() as u64;
        }
        let context = self.session().await?;
        let totals = context
            .sql(&format!(
                "SELECT count(*), count(DISTINCT user_id), count(DISTINCT session_id), \
                 sum(CASE WHEN is_bot THEN 1 ELSE 0 END), min(event_date), max(event_date) FROM {EVENTS_TABLE}"
            ))
            .await?
            .collect()
            .await?;
        let by_type = context
            .sql(&format!("SELECT event_type, count(*) FROM {EVENTS_TABLE} GROUP BY event_type"))
            .await?
            .collect()
            .await?;
        let by_event_type: BTreeMap<String, u64> = text_rows(&by_type)?
            .into_iter()
            .map(|row| {
                let count = row[1].as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
                (row[0].clone().unwrap_or_default(), count)
            })
            .collect();
        let totals = text_rows(&totals)?.into_iter().next().unwrap_or_default();
        let number = |index: usize| totals.get(index).cloned().flatten();
        let count = |index: usize| number(index).and_then(|n| n.parse().ok()).unwrap_or(0);
        let mut history = Vec::new();
        let current = self.version();
        let mut commits = self.table.history(None);
        let mut version = current;
        while let Some(commit) = commits.next().await {
            let commit = commit?;
            history.push(CommitSummary {
                version,
                timestamp: commit.timestamp,
                operation: commit.operation,
            });
            version = version.saturating_sub(1);
        }
        let quarantined_rows = std::fs::read(self.quarantine_path())
            .map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count() as u64)
            .unwrap_or(0);
        Ok(LakeInfo {
            path: self.root.display().to_string(),
            version: current,
            files,
            bytes,
            events: count(0),
            users: count(1),
            sessions: count(2),
            bot_events: count(3),
            first_date: number(4),
            last_date: number(5),
            by_event_type,
            quarantined_rows,
            history,
        })
    }
}
