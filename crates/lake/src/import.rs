//! `smartfunnel import`: files → quarantine + one atomic append.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use ingest::{ImportOptions, ImportSummary, Importer, Rejection};
use serde::Serialize;

use crate::{Lake, LakeError, Result};

/// The import summary plus where it landed.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// The table version the import committed; `None` when it added nothing.
    pub version: Option<u64>,
    pub lake: String,
    /// Set when rows were quarantined by this import.
    pub quarantine_file: Option<String>,
    pub seconds: f64,
}

/// Progress of a running import, for progress bars.
#[derive(Debug, Clone)]
pub enum ImportProgress {
    /// Bytes of `file` read so far, of `total`.
    Reading { file: PathBuf, bytes: u64, total: u64 },
    /// Cleaning and writing day `done` of `days`.
    Writing { done: usize, days: usize },
}

/// Imports `files` into the lake as one commit. Rows that cannot be imported
/// are appended to the lake's quarantine file; the import goes on.
pub async fn import_files(
    lake: &mut Lake,
    files: &[PathBuf],
    options: ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    import_with(lake, options, progress, &mut |importer, quarantine, progress| {
        for file in files {
            let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            importer.read_file(file, quarantine, &mut |bytes| {
                progress(ImportProgress::Reading { file: file.clone(), bytes, total })
            })?;
        }
        Ok(())
    })
    .await
}

/// What feeds an import: reads files or pushes events into the importer.
pub type Feed<'a> = dyn FnMut(
        &mut Importer,
        &mut dyn FnMut(&Rejection) -> std::io::Result<()>,
        &mut dyn FnMut(ImportProgress),
    ) -> ingest::Result<()>
    + 'a;

/// Imports whatever `feed` stages, as one commit.
pub async fn import_with(
    lake: &mut Lake,
    mut options: ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
    feed: &mut Feed<'_>,
) -> Result<ImportReport> {
    let started = Instant::now();
    options.spill_dir = lake.root().join(format!(
        ".staging-{}-{}",
        std::process::id(),
        started.elapsed().as_nanos()
    ));
    let quarantine_path = lake.quarantine_path();
    let mut quarantine: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut write_rejection = |rejection: &Rejection| -> std::io::Result<()> {
        if quarantine.is_none() {
            let file =
                std::fs::OpenOptions::new().create(true).append(true).open(&quarantine_path)?;
            quarantine = Some(std::io::BufWriter::new(file));
        }
        let out = quarantine.as_mut().expect("opened above");
        serde_json::to_writer(&mut *out, rejection)?;
        out.write_all(b"\n")
    };

    let mut importer = Importer::new(options);
    feed(&mut importer, &mut write_rejection, progress)?;
    let read_seconds = started.elapsed().as_secs_f64();
    if let Some(mut out) = quarantine.take() {
        out.flush().map_err(|e| LakeError::Io { path: quarantine_path.clone(), source: e })?;
    }

    let mut cleaner = importer.into_days();
    let existing_dates = lake.dates().await?;
    let context = if existing_dates.is_empty() { None } else { Some(lake.session().await?) };
    let days = cleaner.dates();
    let mut appender = lake.appender()?;
    let mut done = 0;
    let (mut clean_seconds, mut write_wait_seconds) = (0.0, 0.0);
    while let Some(date) = cleaner.dates().first().copied() {
        let already_in_lake = match (&context, existing_dates.contains(&date)) {
            (Some(context), true) => appender.lake.ids_on(context, date).await?,
            _ => Default::default(),
        };
        let cleaning = Instant::now();
        let cleaned = cleaner.next_day(&already_in_lake)?;
        clean_seconds += cleaning.elapsed().as_secs_f64();
        if let Some((_, batch)) = cleaned
            && batch.num_rows() > 0
        {
            // Writes in the background while the next day is cleaned.
            let waiting = Instant::now();
            appender.write(batch).await?;
            write_wait_seconds += waiting.elapsed().as_secs_f64();
        }
        done += 1;
        progress(ImportProgress::Writing { done, days: days.len() });
    }
    let summary = cleaner.into_summary();
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "smartfunnel.import".into(),
        serde_json::json!({
            "files": summary.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
            "read": summary.read,
            "imported": summary.imported,
            "duplicates": summary.duplicates,
            "quarantined": summary.quarantined,
        }),
    );
    let committing = Instant::now();
    let version = appender.commit(metadata).await?;
    tracing::debug!(
        read_seconds,
        clean_seconds,
        write_wait_seconds,
        last_write_and_commit_seconds = committing.elapsed().as_secs_f64(),
        spilled_bytes = summary.spilled_bytes,
        "import phases"
    );
    Ok(ImportReport {
        quarantine_file: (summary.quarantined > 0).then(|| quarantine_path.display().to_string()),
        summary,
        version,
        lake: lake.root().display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
