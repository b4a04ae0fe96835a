//! Reading input files into the staging area, in parallel chunks.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use crate::batch::EventBatchBuilder;
use crate::clean::{CleanOptions, DayCounts, SessionState, clean_day};
use crate::error::{IngestError, Result};
use crate::format::{Format, detect, first_line_is_header};
use crate::parse::{ParseOptions, RowParser, Strings};
use crate::records::{Chunk, ChunkReader, Delimiter, next_record, split_fields};
use crate::reject::{Rejection, RowError};
use crate::staging::Staging;

/// Everything that shapes an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None`: detect per file from its first line.
    pub format: Option<Format>,
    pub parse: ParseOptions,
    pub clean: CleanOptions,
    /// Bytes per parallel parse unit.
    pub chunk_bytes: usize,
    /// Resident bytes of staged events before days spill to disk.
    pub memory_budget: usize,
    /// Where spilled days go; removed when the import ends.
    pub spill_dir: PathBuf,
}

impl ImportOptions {
    pub fn new(spill_dir: PathBuf) -> Self {
        ImportOptions {
            format: None,
            parse: ParseOptions::default(),
            clean: CleanOptions::default(),
            chunk_bytes: 4 << 20,
            memory_budget: 512 << 20,
            spill_dir,
        }
    }
}

/// Per-file counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    pub path: String,
    pub format: String,
    pub bytes: u64,
    /// Data rows read (header and blank lines not counted).
    pub read: u64,
    /// Rows that parsed and validated.
    pub parsed: u64,
    pub quarantined: u64,
}

/// The import's outcome: `read = imported + duplicates + quarantined`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub files: Vec<FileSummary>,
    pub read: u64,
    pub imported: u64,
    /// `duplicates_in_import + already_in_lake`.
    pub duplicates: u64,
    pub duplicates_in_import: u64,
    pub already_in_lake: u64,
    pub quarantined: u64,
    pub quarantined_by_reason: BTreeMap<String, u64>,
    pub bot_events: u64,
    pub bot_user_days: u64,
    pub sessions_derived: u64,
    pub by_event_type: BTreeMap<String, u64>,
    /// First and last UTC dates imported, `YYYY-MM-DD`.
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub spilled_bytes: u64,
}

impl ImportSummary {
    fn add_day(&mut self, date: NaiveDate, counts: &DayCounts) {
        self.imported += counts.imported;
        self.duplicates_in_import += counts.duplicates_in_import;
        self.already_in_lake += counts.already_in_lake;
        self.duplicates = self.duplicates_in_import + self.already_in_lake;
        self.bot_events += counts.bot_events;
        self.bot_user_days += counts.bot_users;
        self.sessions_derived += counts.sessions_derived;
        for (kind, n) in &counts.by_event_type {
            *self.by_event_type.entry(kind.clone()).or_default() += n;
        }
        if counts.imported > 0 {
            // Days are cleaned in date order.
            let date = date.to_string();
            self.first_date.get_or_insert_with(|| date.clone());
            self.last_date = Some(date);
        }
    }
}

/// One parsed chunk.
struct Parsed {
    batch: RecordBatch,
    rejections: Vec<Rejection>,
    read: u64,
}

/// Parses the records of a chunk, skipping the first `skip` records.
fn parse_chunk(
    chunk: &Chunk,
    skip: usize,
    parser: &RowParser,
    dialect: (Delimiter, bool),
    options: &ParseOptions,
    source: &str,
) -> Parsed {
    let (delimiter, quoting) = dialect;
    let whole_line = matches!(parser, RowParser::Jsonl(_));
    let mut builder = EventBatchBuilder::default();
    let mut rejections = Vec::new();
    let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(16);
    let mut strings = Strings::default();
    let mut read = 0;
    let mut line = chunk.first_line;
    let mut position = 0;
    let mut index = 0;
    while position < chunk.data.len() {
        let span = next_record(&chunk.data, position, quoting, chunk.last)
            .expect("chunks hold whole records");
        let raw = &chunk.data[span.start..span.end];
        let this_line = line;
        line += span.lines;
        position = span.next;
        index += 1;
        if index <= skip || raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        read += 1;
        let outcome = if span.unterminated_quote {
            Err(RowError::new(
                "unterminated_quote",
                None,
                "a quoted field is not closed on this line",
            ))
        } else {
            match std::str::from_utf8(raw) {
                Err(e) => Err(RowError::new(
                    "invalid_utf8",
                    None,
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                )),
                Ok(text) => {
                    let split = if whole_line {
                        fields.clear();
                        fields.push(Cow::Borrowed(text));
                        Ok(())
                    } else {
                        split_fields(text, delimiter, quoting, &mut fields)
                    };
                    split.and_then(|()| parser.parse(&fields, options, &mut strings))
                }
            }
        };
        match outcome {
            Ok(event) => {
                builder.push(&event, Some(source));
                strings.recycle(event);
            }
            Err(mut error) => {
                if span.at_eof_without_newline {
                    error.message =
                        format!("last line has no line end (truncated file?): {}", error.message);
                    error.code = "truncated_line".into();
                }
                rejections.push(Rejection::new(source, this_line, raw, error));
            }
        }
    }
    Parsed { batch: builder.finish(), rejections, read }
}

/// Runs a call into the Parquet reader, turning a panic into an error:
/// parquet and arrow still panic on some corrupt files (apache/arrow-rs#6255,
/// #9742), and a corrupt input must be refused, not crash the import.
fn decoding_parquet<T>(call: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|reason| reason.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("corrupt file: the Parquet reader failed ({reason})")
    })
}

/// Reads files into a staging area; then [`Importer::into_days`] cleans them
/// day by day.
pub struct Importer {
    options: ImportOptions,
    staging: Staging,
    summary: ImportSummary,
}

impl Importer {
    pub fn new(options: ImportOptions) -> Self {
        let staging = Staging::new(options.spill_dir.clone(), options.memory_budget);
        Importer { options, staging, summary: ImportSummary::default() }
    }

    /// Reads one file. Bad rows go to `quarantine`; only I/O failures and
    /// unusable headers are errors.
    pub fn read_file(
        &mut self,
        path: &Path,
        quarantine: &mut dyn FnMut(&Rejection) -> std::io::Result<()>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileSummary> {
        let mut file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        let mut magic = [0u8; 4];
        let is_parquet =
            file.read(&mut magic).map_err(|e| IngestError::io(path, e))? == 4 && &magic == b"PAR1";
        drop(file);
        if is_parquet || self.options.format == Some(Format::Parquet) {
            return self.read_parquet(path, quarantine, progress);
        }
        let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        let source = path.display().to_string();
        let mut reader = ChunkReader::new(file, false, self.options.chunk_bytes);
        let Some(mut first) = reader.next_chunk().map_err(|e| IngestError::io(path, e))? else {
            let summary =
                FileSummary { path: source, format: "empty".into(), ..FileSummary::default() };
            self.summary.files.push(summary.clone());
            return Ok(summary);
        };
        if first.data.starts_with(b"\xEF\xBB\xBF") {
            first.data.drain(..3);
        }
        let format = match self.options.format {
            Some(format) => format,
            None => detect(&first.data).ok_or_else(|| IngestError::UnknownFormat {
                path: path.to_path_buf(),
                header: String::from_utf8_lossy(
                    first.data.split(|&b| b == b'\n').next().unwrap_or_default(),
                )
                .chars()
                .take(120)
                .collect(),
            })?,
        };
        let dialect = format.dialect();
        // The first chunk was cut without quoting; re-cut with the format's rules.
        if dialect.1 {
            reader.set_quoting(true);
            let mut cut = 0;
            while let Some(span) = next_record(&first.data, cut, true, first.last) {
                cut = span.next;
                if cut >= first.data.len() {
                    break;
                }
            }
            if cut < first.data.len() {
                // The tail is the start of a record that the unquoted cut split. Give it
                // back to the reader rather than prepend it to the reader's next chunk:
                // that chunk was cut as if it started a record, so it may end inside one.
                reader.unread(first.data.split_off(cut));
            }
        }
        self.read_rest(path, format, dialect, first, reader, quarantine, progress)
    }

    #[allow(clippy::too_many_arguments)]
    fn read_rest(
        &mut self,
        path: &Path,
        format: Format,
        dialect: (Delimiter, bool),
        first: Chunk,
        mut reader: ChunkReader<std::fs::File>,
        quarantine: &mut dyn FnMut(&Rejection) -> std::io::Result<()>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileSummary> {
        let source = path.display().to_string();
        let header_span = next_record(&first.data, 0, dialect.1, first.last);
        let first_text = header_span
            .map(|s| String::from_utf8_lossy(&first.data[s.start..s.end]).into_owned())
            .unwrap_or_default();
        let has_header = first_line_is_header(format, &first_text);
        let header: Option<Vec<String>> = has_header.then(|| {
            let mut fields = Vec::new();
            let _ = split_fields(&first_text, dialect.0, dialect.1, &mut fields);
            fields.iter().map(|f| f.trim().to_string()).collect()
        });
        let parser =
            RowParser::new(format, header.as_deref(), &self.options.parse).map_err(|message| {
                IngestError::MissingColumn {
                    path: path.to_path_buf(),
                    line: 1,
                    column: message,
                    available: header.clone().unwrap_or_default().join(", "),
                }
            })?;
        let mut summary = FileSummary {
            path: source.clone(),
            format: format.name().into(),
            ..FileSummary::default()
        };
        let parallel = rayon::current_num_threads().max(1) * 2;
        let mut pending = vec![(first, usize::from(has_header))];
        let mut next_line =
            pending[0].0.first_line + memchr::memchr_iter(b'\n', &pending[0].0.data).count() as u64;
        let mut finished = pending[0].0.last;
        let mut read_round = |reader: &mut ChunkReader<std::fs::File>,
                              pending: &mut Vec<(Chunk, usize)>,
                              finished: &mut bool|
         -> Result<()> {
            while pending.len() < parallel && !*finished {
                match reader.next_chunk().map_err(|e| IngestError::io(path, e))? {
                    Some(mut chunk) => {
                        chunk.first_line = next_line;
                        next_line += memchr::memchr_iter(b'\n', &chunk.data).count() as u64;
                        *finished = chunk.last;
                        pending.push((chunk, 0));
                    }
                    None => *finished = true,
                }
            }
            Ok(())
        };
        read_round(&mut reader, &mut pending, &mut finished)?;
        // Each round parses its chunks while the previous round's batches are
        // staged (and perhaps spilled) and the next round's chunks are read,
        // so the parse workers do not wait for that serial part.
        let mut parsed_before: Vec<RecordBatch> = Vec::new();
        let parse_options = &self.options.parse;
        while !pending.is_empty() {
            let round = std::mem::take(&mut pending);
            let staging = &mut self.staging;
            let (parsed, staged_and_read) = rayon::join(
                || {
                    round
                        .par_iter()
                        .map(|(chunk, skip)| {
                            parse_chunk(chunk, *skip, &parser, dialect, parse_options, &source)
                        })
                        .collect::<Vec<Parsed>>()
                },
                || -> Result<()> {
                    for batch in parsed_before.drain(..) {
                        staging.push(batch)?;
                    }
                    read_round(&mut reader, &mut pending, &mut finished)
                },
            );
            staged_and_read?;
            for part in parsed {
                summary.read += part.read;
                summary.parsed += part.batch.num_rows() as u64;
                summary.quarantined += part.rejections.len() as u64;
                for rejection in &part.rejections {
                    *self
                        .summary
                        .quarantined_by_reason
                        .entry(rejection.reason.clone())
                        .or_default() += 1;
                    quarantine(rejection).map_err(|e| IngestError::io("quarantine", e))?;
                }
                parsed_before.push(part.batch);
            }
            progress(reader.bytes_read);
        }
        for batch in parsed_before {
            self.staging.push(batch)?;
        }
        summary.bytes = reader.bytes_read;
        self.summary.read += summary.read;
        self.summary.quarantined += summary.quarantined;
        self.summary.files.push(summary.clone());
        Ok(summary)
    }

    fn read_parquet(
        &mut self,
        path: &Path,
        quarantine: &mut dyn FnMut(&Rejection) -> std::io::Result<()>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileSummary> {
        use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
        let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let parquet_error = |e: &dyn std::fmt::Display| IngestError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        // Values are read through their text form, so the Arrow schema that
        // writers embed (`ARROW:schema`) adds nothing, and arrow-ipc panics
        // on a corrupt one: derive the schema from the Parquet types alone.
        let reader_options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let builder = decoding_parquet(|| {
            ParquetRecordBatchReaderBuilder::try_new_with_options(file, reader_options)
        })
        .map_err(|e| parquet_error(&e))?
        .map_err(|e| parquet_error(&e))?;
        let header: Vec<String> =
            builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let parser = RowParser::new(Format::Parquet, Some(&header), &self.options.parse).map_err(
            |message| IngestError::MissingColumn {
                path: path.to_path_buf(),
                line: 0,
                column: message,
                available: header.join(", "),
            },
        )?;
        let mut reader = decoding_parquet(|| builder.with_batch_size(64 * 1024).build())
            .map_err(|e| parquet_error(&e))?
            .map_err(|e| parquet_error(&e))?;
        let source = path.display().to_string();
        let mut summary = FileSummary {
            path: source.clone(),
            format: "parquet".into(),
            bytes,
            ..FileSummary::default()
        };
        let mut row_number = 0u64;
        while let Some(batch) = decoding_parquet(|| reader.next()).map_err(|e| parquet_error(&e))? {
            let batch = batch.map_err(|e| parquet_error(&e))?;
            let mut columns: Vec<StringArray> = Vec::with_capacity(batch.num_columns());
            for (index, column) in batch.columns().iter().enumerate() {
                let text = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)
                    .map_err(|e| {
                        parquet_error(&format!(
                            "column {:?} ({}) cannot be read as text: {e}",
                            header[index],
                            column.data_type()
                        ))
                    })?;
                columns.push(
                    text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone(),
                );
            }
            let mut builder = EventBatchBuilder::default();
            let mut strings = Strings::default();
            for row in 0..batch.num_rows() {
                row_number += 1;
                let fields: Vec<Cow<'_, str>> = columns
                    .iter()
                    .map(|c| Cow::Borrowed(if c.is_valid(row) { c.value(row) } else { "" }))
                    .collect();
                summary.read += 1;
                match parser.parse(&fields, &self.options.parse, &mut strings) {
                    Ok(event) => {
                        builder.push(&event, Some(&source));
                        strings.recycle(event);
                    }
                    Err(error) => {
                        let raw = serde_json::to_string(
                            &header.iter().zip(&fields).collect::<BTreeMap<_, _>>(),
                        )
                        .unwrap_or_default();
                        let rejection = Rejection::new(&source, row_number, raw.as_bytes(), error);
                        *self
                            .summary
                            .quarantined_by_reason
                            .entry(rejection.reason.clone())
                            .or_default() += 1;
                        summary.quarantined += 1;
                        quarantine(&rejection).map_err(|e| IngestError::io("quarantine", e))?;
                    }
                }
            }
            summary.parsed += builder.len() as u64;
            self.staging.push(builder.finish())?;
            progress(bytes * row_number / row_number.max(1));
        }
        self.summary.read += summary.read;
        self.summary.quarantined += summary.quarantined;
        self.summary.files.push(summary.clone());
        Ok(summary)
    }

    /// Stages events made in memory (e.g. by the generator) as if read from
    /// `source`. Invalid events are rejected like bad rows, with their index.
    pub fn push_events(
        &mut self,
        events: &[events::Event],
        source: &str,
        quarantine: &mut dyn FnMut(&Rejection) -> std::io::Result<()>,
    ) -> Result<()> {
        let mut builder = EventBatchBuilder::default();
        for (index, event) in events.iter().enumerate() {
            self.summary.read += 1;
            match events::validate(event) {
                Ok(()) => builder.push(event, Some(source)),
                Err(error) => {
                    let error =
                        RowError::new(error.reason_code(), Some(error.field()), error.to_string());
                    let rejection = Rejection::new(
                        source,
                        index as u64 + 1,
                        format!("{event:?}").as_bytes(),
                        error,
                    );
                    *self
                        .summary
                        .quarantined_by_reason
                        .entry(rejection.reason.clone())
                        .or_default() += 1;
                    self.summary.quarantined += 1;
                    quarantine(&rejection).map_err(|e| IngestError::io("quarantine", e))?;
                }
            }
        }
        self.staging.push(builder.finish())
    }

    /// Ends reading; the days can now be cleaned in date order.
    pub fn into_days(self) -> DayCleaner {
        let mut summary = self.summary;
        summary.spilled_bytes = self.staging.spilled_bytes;
        DayCleaner {
            staging: self.staging,
            state: SessionState::default(),
            options: self.options.clean,
            summary,
        }
    }
}

/// Cleans staged days one at a time, in date order (sessions carry over midnight).
pub struct DayCleaner {
    staging: Staging,
    state: SessionState,
    options: CleanOptions,
    summary: ImportSummary,
}

impl DayCleaner {
    /// The days still to clean.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.staging.dates()
    }

    /// Cleans the next day, dropping ids in `already_in_lake`.
    pub fn next_day(
        &mut self,
        already_in_lake: &HashSet<String>,
    ) -> Result<Option<(NaiveDate, RecordBatch)>> {
        let Some((date, staged)) = self.staging.pop_first_day()? else {
            return Ok(None);
        };
        // Making room for cleaning may have spilled more.
        self.summary.spilled_bytes = self.staging.spilled_bytes;
        let (batch, counts) = clean_day(&staged, already_in_lake, &mut self.state, &self.options)?;
        self.summary.add_day(date, &counts);
        Ok(Some((date, batch)))
    }

    pub fn summary(&self) -> &ImportSummary {
        &self.summary
    }

    pub fn into_summary(self) -> ImportSummary {
        self.summary
    }
}
