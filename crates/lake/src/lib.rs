//! The embedded event lake: a Delta Lake table at `DIR/events`, partitioned by
//! `event_date`, with the quarantine file `DIR/quarantine.jsonl` beside it,
//! and the derived table `DIR/review_insights` once `smartfunnel text enrich`
//! has written it (see [`ReviewInsight`]).
//!
//! Architecture invariants:
//! * Every import is one Delta commit: readers see all of it or none of it.
//!   Files written before a failed commit are unreferenced and invisible.
//! * `event_id` is unique in the table: appends drop ids already present.
//! * The table is plain Delta (protocol 1/2, no table features), so Spark and
//!   the Python `deltalake` package read it.

mod error;
mod import;
mod info;
mod insights;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use datafusion::prelude::{SessionConfig, SessionContext, col, lit};
use delta_kernel::expressions::Scalar;
use delta_kernel::table_properties::DataSkippingNumIndexedCols;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow as _, TryIntoKernel as _};
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add, StructType};
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore};
use events::column;
use futures::StreamExt;
use indexmap::IndexMap;

pub use error::{LakeError, Result};
pub use import::{Feed, ImportProgress, ImportReport, import_files, import_with};
pub use info::{CommitSummary, LakeInfo, text_rows};
pub use insights::{REVIEW_INSIGHTS_TABLE, ReviewInsight, review_insights_schema};

/// Name of the events table, in the lake directory and in SQL.
pub const EVENTS_TABLE: &str = "events";

/// An opened lake.
pub struct Lake {
    root: PathBuf,
    table: DeltaTable,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("root", &self.root)
            .field("version", &self.table.version())
            .finish()
    }
}

fn table_url(path: &Path) -> Result<url::Url> {
    let absolute = std::path::absolute(path)
        .map_err(|e| LakeError::Io { path: path.to_path_buf(), source: e })?;
    url::Url::from_directory_path(&absolute)
        .map_err(|()| LakeError::Internal(format!("cannot make a URL of {}", absolute.display())))
}

impl Lake {
    /// Opens an existing lake.
    pub async fn open(root: impl AsRef<Path>) -> Result<Lake> {
        let root = root.as_ref().to_path_buf();
        let events = root.join(EVENTS_TABLE);
        if !events.join("_delta_log").is_dir() {
            return Err(LakeError::NotALake { path: root });
        }
        let table = deltalake::open_table(table_url(&events)?).await?;
        Ok(Lake { root, table })
    }

    /// Opens the lake, creating an empty one first if `root` has none.
    pub async fn open_or_create(root: impl AsRef<Path>) -> Result<Lake> {
        let root = root.as_ref().to_path_buf();
        let events = root.join(EVENTS_TABLE);
        if events.join("_delta_log").is_dir() {
            return Self::open(&root).await;
        }
        std::fs::create_dir_all(&events)
            .map_err(|e| LakeError::Io { path: events.clone(), source: e })?;
        let schema: StructType =
            events::schema().as_ref().try_into_kernel().map_err(DeltaTableError::from)?;
        // Built without loading: there is no log yet to load.
        let table = deltalake::DeltaTableBuilder::from_url(table_url(&events)?)?
            .build()?
            .create()
            .with_table_name(EVENTS_TABLE)
            .with_comment("smartfunnel behaviour events; schema in docs/events.md")
            .with_columns(schema.fields().cloned())
            .with_partition_columns([column::EVENT_DATE])
            .with_save_mode(SaveMode::ErrorIfExists)
            .await?;
        Ok(Lake { root, table })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where rejected rows of every import are appended, one JSON object per line.
    pub fn quarantine_path(&self) -> PathBuf {
        self.root.join("quarantine.jsonl")
    }

    /// The table's current version (0 right after creation).
    pub fn version(&self) -> u64 {
        self.table.version().unwrap_or(0)
    }

    /// Re-reads the Delta log, for changes made by other processes.
    pub async fn refresh(&mut self) -> Result<()> {
        self.table.update_state().await?;
        Ok(())
    }

    /// The dates (partitions) that hold data, from the Delta log alone.
    pub async fn dates(&self) -> Result<BTreeSet<NaiveDate>> {
        let mut dates = BTreeSet::new();
        let mut files = self.table.get_active_add_actions_by_partitions(&[]);
        while let Some(file) = files.next().await {
            let file = file?;
            if let Some(Some(value)) = file.partition_values_map().get(column::EVENT_DATE)
                && let Ok(date) = value.parse()
            {
                dates.insert(date);
            }
        }
        Ok(dates)
    }

    /// A DataFusion session with the `events` table registered, and
    /// `review_insights` when the lake has one. DataFusion's settings may be given as
    /// `DATAFUSION_*` environment variables (`DATAFUSION_EXECUTION_BATCH_SIZE=32768`);
    /// the query uses every core unless `DATAFUSION_EXECUTION_TARGET_PARTITIONS` says.
    pub async fn session(&self) -> Result<SessionContext> {
        let mut config = SessionConfig::from_env()?.with_information_schema(true);
        if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
            config = config.with_target_partitions(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            );
        }
        let context = SessionContext::new_with_config(config);
        analytics::udaf::register(&context);
        self.register(&context).await?;
        Ok(context)
    }

    /// Registers the `events` table, and `review_insights` when the lake has
    /// one, in an existing session.
    pub async fn register(&self, context: &SessionContext) -> Result<()> {
        self.table.update_datafusion_session(&context.state())?;
        let provider = self.table.table_provider().await?;
        context.register_table(EVENTS_TABLE, provider)?;
        if let Some(insights) = self.review_insights().await? {
            insights.update_datafusion_session(&context.state())?;
            context.register_table(REVIEW_INSIGHTS_TABLE, insights.table_provider().await?)?;
        }
        Ok(())
    }

    /// Renders batches as a text table.
    pub fn pretty(batches: &[RecordBatch]) -> Result<String> {
        Ok(datafusion::arrow::util::pretty::pretty_format_batches(batches)?.to_string())
    }

    /// Runs one SQL statement and collects its result.
    pub async fn sql(&self, query: &str) -> Result<Vec<RecordBatch>> {
        let context = self.session().await?;
        Ok(context.sql(query).await?.collect().await?)
    }

    /// The event ids stored for one date.
    pub async fn ids_on(
        &self,
        context: &SessionContext,
        date: NaiveDate,
    ) -> Result<HashSet<String>> {
        let frame = context
            .table(EVENTS_TABLE)
            .await?
            .filter(
                col(column::EVENT_DATE).eq(lit(datafusion::scalar::ScalarValue::Date32(Some(
                    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32,
                )))),
            )?
            .select_columns(&[column::EVENT_ID])?;
        let mut ids = HashSet::new();
        for batch in frame.collect().await? {
            let values = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)?;
            let values = values.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
            ids.extend((0..values.len()).map(|i| values.value(i).to_string()));
        }
        Ok(ids)
    }

    /// Starts an append; nothing is visible until [`Appender::commit`].
    pub fn appender(&mut self) -> Result<Appender<'_>> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(256 * 1024))
            // Every event id is distinct: a dictionary would only cost time
            // until the writer gives up on it.
            .set_column_dictionary_enabled(ColumnPath::from(column::EVENT_ID), false)
            .build();
        // What `RecordBatchWriter::for_table` reads from the table, without its
        // per-batch partition split (a copy of every batch; ours hold one day).
        let metadata = self.table.snapshot()?.metadata().clone();
        let table_schema: arrow::datatypes::Schema = metadata
            .parse_schema()
            .map_err(DeltaTableError::from)
            .and_then(|schema| Ok((&schema).try_into_arrow()?))?;
        let configuration = metadata.configuration();
        let num_indexed_cols = configuration
            .get("delta.dataSkippingNumIndexedCols")
            .and_then(|v| v.parse::<u64>().ok())
            .map(DataSkippingNumIndexedCols::NumColumns)
            .unwrap_or_default();
        let stats_columns = configuration
            .get("delta.dataSkippingStatsColumns")
            .map(|v| v.split(',').map(str::to_string).collect());
        let config = WriterConfig::new(
            std::sync::Arc::new(table_schema),
            metadata.partition_columns().to_vec(),
            Some(properties),
            None,
            None,
            num_indexed_cols,
            stats_columns,
        );
        Ok(Appender {
            store: self.table.object_store(),
            config,
            lake: self,
            in_flight: Vec::new(),
            adds: Vec::new(),
            rows: 0,
        })
    }

    /// Deletes every event of one user, then vacuums so the old files that
    /// still held them are physically removed (time travel to before the
    /// erasure is lost, as an erasure request requires). The user's rows in
    /// `review_insights` are deleted and vacuumed the same way, and rejected
    /// rows naming the user are removed from the quarantine file too.
    pub async fn erase_user(&mut self, user_id: &str) -> Result<EraseReport> {
        let count_query = format!(
            "SELECT count(*) FROM {EVENTS_TABLE} WHERE {} = '{}'",
            column::USER_ID,
            user_id.replace('\'', "''")
        );
        let before = info::single_count(&self.sql(&count_query).await?);
        let mut report = EraseReport {
            user_id: user_id.to_string(),
            events_deleted: before,
            ..EraseReport::default()
        };
        if before > 0 {
            let (table, metrics) = self
                .table
                .clone()
                .delete()
                .with_predicate(col(column::USER_ID).eq(lit(user_id)))
                .await?;
            report.files_rewritten = metrics.num_removed_files as u64;
            let (table, vacuum) = table
                .vacuum()
                .with_retention_period(chrono::Duration::zero())
                .with_enforce_retention_duration(false)
                .with_dry_run(false)
                .await?;
            report.files_vacuumed = vacuum.files_deleted.len() as u64;
            self.table = table;
        }
        if let Some(insights) = self.review_insights().await? {
            let count_query = format!(
                "SELECT count(*) FROM {REVIEW_INSIGHTS_TABLE} WHERE user_id = '{}'",
                user_id.replace('\'', "''")
            );
            report.insights_deleted = info::single_count(&self.sql(&count_query).await?);
            if report.insights_deleted > 0 {
                let (insights, _) =
                    insights.delete().with_predicate(col("user_id").eq(lit(user_id))).await?;
                insights
                    .vacuum()
                    .with_retention_period(chrono::Duration::zero())
                    .with_enforce_retention_duration(false)
                    .with_dry_run(false)
                    .await?;
            }
        }
        report.quarantine_lines_removed = self.scrub_quarantine(user_id)?;
        report.version = self.version();
        Ok(report)
    }

    fn scrub_quarantine(&self, user_id: &str) -> Result<u64> {
        let path = self.quarantine_path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(0);
        };
        let mentions = |line: &str| {
            let raw = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("raw").and_then(|r| r.as_str()).map(str::to_string))
                .unwrap_or_default();
            raw.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == ':'))
                .any(|token| token == user_id)
        };
        let (removed, kept): (Vec<&str>, Vec<&str>) = text.lines().partition(|line| mentions(line));
        if !removed.is_empty() {
            let mut rewritten = kept.join("\n");
            if !rewritten.is_empty() {
                rewritten.push('\n');
            }
            let temporary = path.with_extension("jsonl.tmp");
            std::fs::write(&temporary, rewritten)
                .map_err(|e| LakeError::Io { path: temporary.clone(), source: e })?;
            std::fs::rename(&temporary, &path)
                .map_err(|e| LakeError::Io { path: path.clone(), source: e })?;
        }
        Ok(removed.len() as u64)
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EraseReport {
    pub user_id: String,
    pub events_deleted: u64,
    pub files_rewritten: u64,
    pub files_vacuumed: u64,
    /// Rows of the user in `review_insights`.
    pub insights_deleted: u64,
    pub quarantine_lines_removed: u64,
    pub version: u64,
}

/// Rows from which a day is written as two files, encoded at once: Parquet
/// encoding is the import's largest serial step. Below this a second file
/// gains little.
const TWO_FILES_FROM_ROWS: usize = 128 * 1024;

/// An open append: each batch is written to Parquet files of its own while
/// the caller prepares the next one, and one commit makes them all visible at
/// once.
pub struct Appender<'a> {
    lake: &'a mut Lake,
    store: std::sync::Arc<dyn ObjectStore>,
    config: WriterConfig,
    /// The files of the batch in flight, each being written on the blocking pool.
    in_flight: Vec<tokio::task::JoinHandle<Result<Vec<Add>>>>,
    adds: Vec<Add>,
    rows: u64,
}

impl Appender<'_> {
    /// Starts writing a batch in the lake schema, in the background, as files
    /// of its own (one per date, two for a large one, split between users),
    /// and returns once the previous batch is written: at most one batch is
    /// in flight, which bounds memory while encoding overlaps with whatever
    /// the caller does next. Each file keeps the batch's row order.
    ///
    /// Encoding Parquet is CPU work, so it runs on the blocking pool, not on
    /// the runtime's workers.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        self.flush().await?;
        self.rows += batch.num_rows() as u64;
        let runtime = tokio::runtime::Handle::current();
        for (date, day) in split_by_date(&batch)? {
            let partition_values =
                IndexMap::from([(column::EVENT_DATE.to_string(), Scalar::Date(date))]);
            for part in split_between_users(&day) {
                let (store, config) = (self.store.clone(), self.config.clone());
                let partition_values = partition_values.clone();
                let runtime = runtime.clone();
                self.in_flight.push(tokio::task::spawn_blocking(move || {
                    runtime.block_on(async move {
                        let mut writer = DeltaWriter::new(store, config);
                        writer.write_partition(part, &partition_values).await?;
                        Ok(writer.close().await?)
                    })
                }));
            }
        }
        Ok(())
    }

    /// Waits for the write in flight to finish its files (not yet visible).
    pub async fn flush(&mut self) -> Result<()> {
        for in_flight in std::mem::take(&mut self.in_flight) {
            let adds = in_flight
                .await
                .map_err(|e| LakeError::Internal(format!("the Parquet writer failed: {e}")))??;
            self.adds.extend(adds);
        }
        Ok(())
    }

    /// Commits everything written as one table version. Returns the new
    /// version, or `None` when nothing was written.
    pub async fn commit(
        mut self,
        metadata: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<u64>> {
        self.flush().await?;
        if self.adds.is_empty() {
            return Ok(None);
        }
        let actions: Vec<Action> = self.adds.drain(..).map(Action::Add).collect();
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: Some(vec![column::EVENT_DATE.to_string()]),
            predicate: None,
        };
        let table = &mut self.lake.table;
        let committed = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(metadata.into_iter().collect())
            .build(Some(table.snapshot()?), table.log_store(), operation)
            .await?;
        let version = committed.version();
        table.update_state().await?;
        Ok(Some(version))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// The batch's rows by `event_date` (days since the Unix epoch), in date order;
/// a batch of one date, the usual case, is returned whole.
fn split_by_date(batch: &RecordBatch) -> Result<Vec<(i32, RecordBatch)>> {
    let dates = batch
        .column_by_name(column::EVENT_DATE)
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::Date32Array>())
        .ok_or_else(|| LakeError::Internal("a batch to append has no Date32 event_date".into()))?;
    if dates.null_count() > 0 {
        return Err(LakeError::Internal("a batch to append has rows without event_date".into()));
    }
    let distinct: BTreeSet<i32> = dates.values().iter().copied().collect();
    if distinct.len() <= 1 {
        return Ok(distinct.into_iter().map(|date| (date, batch.clone())).collect());
    }
    distinct
        .into_iter()
        .map(|date| {
            let rows = arrow::array::BooleanArray::from_iter(
                dates.values().iter().map(|&d| Some(d == date)),
            );
            Ok((date, arrow::compute::filter_record_batch(batch, &rows)?))
        })
        .collect()
}

/// One day's rows as one part, or two from [`TWO_FILES_FROM_ROWS`] rows on,
/// cut where the user changes near the middle, so that each user's events of
/// the day stay in one file.
fn split_between_users(day: &RecordBatch) -> Vec<RecordBatch> {
    let rows = day.num_rows();
    let users =
        day.column_by_name(column::USER_ID).and_then(|c| c.as_any().downcast_ref::<StringArray>());
    let Some(users) = users.filter(|_| rows >= TWO_FILES_FROM_ROWS) else {
        return vec![day.clone()];
    };
    let mut cut = rows / 2;
    while cut < rows && users.value(cut) == users.value(cut - 1) {
        cut += 1;
    }
    if cut == rows {
        return vec![day.clone()];
    }
    vec![day.slice(0, cut), day.slice(cut, rows - cut)]
}
