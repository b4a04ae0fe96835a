//! What the fuzz targets share: importing a byte string as a file of one
//! format, end to end, and checking that every row read is accounted for.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use arrow::array::{Array, StringArray};
use ingest::{Format, ImportOptions, Importer};

/// One scratch directory per fuzzing process, reused by every input: making
/// and removing a directory per run would cost more than a small import.
/// libFuzzer ends the process with `exit`, so the directory (holding the last
/// input only) outlives it; it goes under `fuzz/target/scratch/`, where
/// `cargo clean` removes it, rather than piling up in the system temp dir.
fn scratch_dir() -> &'static Path {
    static SCRATCH: OnceLock<tempfile::TempDir> = OnceLock::new();
    SCRATCH
        .get_or_init(|| {
            let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scratch");
            let parent = if std::fs::create_dir_all(&parent).is_ok() {
                parent
            } else {
                std::env::temp_dir()
            };
            tempfile::Builder::new()
                .prefix("smartfunnel-fuzz-")
                .tempdir_in(parent)
                .expect("a scratch directory for fuzz inputs")
        })
        .path()
}

/// Writes `data` to a file and imports it with `format` forced, as
/// `smartfunnel import --format <format>` does, then cleans every day.
///
/// Panics (which libFuzzer reports as a crash) when the import panics or when
/// the summary loses rows: `read == imported + duplicates + quarantined`,
/// every quarantined row reached the quarantine callback, the cleaned
/// batches hold exactly `imported` rows in the lake schema, and no event id
/// is imported twice.
///
/// An error from `read_file` (an unreadable header, a broken Parquet footer)
/// is a valid outcome: the import stops there, as the CLI's does.
pub fn import_bytes(format: Format, data: &[u8]) {
    if format == Format::Parquet {
        static HOOK: OnceLock<()> = OnceLock::new();
        HOOK.get_or_init(let_ingest_catch_parquet_panics);
    }
    let scratch = scratch_dir();
    let mut options = ImportOptions::new(scratch.join("spill"));
    options.format = Some(format);
    // A file under 64 KiB is one chunk whatever `chunk_bytes` says (the
    // reader reads at least that much at once); the default 4 MiB would only
    // make every run allocate and zero a buffer of that size.
    options.chunk_bytes = 64 << 10;
    // Two inputs in four (chosen by length, so that a crash replays the same
    // way) also fuzz paths that small files never reach.
    let repeated;
    let contents = match data.len() % 4 {
        // Chunk boundaries: the input repeated past the reader's first 64 KiB
        // read and cut into 4 KiB chunks, the first of them before the
        // format's quoting rules apply. (Each chunk is split by day, so
        // smaller chunks cost much more per run.)
        1 if format != Format::Parquet => {
            options.chunk_bytes = 4 << 10;
            repeated = data.repeat((65 << 10) / data.len() + 1);
            &repeated[..]
        }
        // Spilling: every staged batch goes to disk and is read back.
        3 => {
            options.memory_budget = 0;
            data
        }
        _ => data,
    };
    let extension = if format == Format::Parquet { "parquet" } else { "txt" };
    let path = scratch.join(format!("input.{extension}"));
    std::fs::write(&path, contents).expect("writing the fuzz input");

    let mut importer = Importer::new(options);
    let mut quarantined = 0u64;
    let read = importer.read_file(
        &path,
        &mut |_rejection| {
            quarantined += 1;
            Ok(())
        },
        &mut |_bytes| {},
    );
    if read.is_err() {
        return;
    }

    let mut cleaner = importer.into_days();
    let mut rows = 0u64;
    let mut event_ids = HashSet::new();
    let mut previous_date = None;
    while let Some((date, batch)) =
        cleaner.next_day(&HashSet::new()).expect("cleaning a staged day")
    {
        assert!(previous_date < Some(date), "days come in order: {previous_date:?} then {date}");
        previous_date = Some(date);
        assert_eq!(batch.schema(), events::schema(), "cleaned batches have the lake schema");
        rows += batch.num_rows() as u64;
        let ids = batch
            .column_by_name(events::column::EVENT_ID)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .expect("event_id is a string column");
        assert_eq!(ids.null_count(), 0, "every event has an id");
        for id in ids.iter().flatten() {
            assert!(event_ids.insert(id.to_string()), "event {id} imported twice");
        }
    }
    let summary = cleaner.into_summary();
    assert_eq!(
        summary.read,
        summary.imported + summary.duplicates + summary.quarantined,
        "rows lost: {summary:#?}"
    );
    assert_eq!(summary.quarantined, quarantined, "every rejection is reported: {summary:#?}");
    assert_eq!(summary.imported, rows, "imported rows are in the batches: {summary:#?}");
}

/// libfuzzer-sys aborts on every panic, even one that is caught. `ingest`
/// catches panics of the Parquet reader on corrupt files (upstream bugs, see
/// apache/arrow-rs#9742) and refuses the file; let those unwind to it, so
/// that fuzzing goes on past them. Any other panic still aborts at once.
fn let_ingest_catch_parquet_panics() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_arrow_or_parquet = info.location().is_some_and(|location| {
            let file = location.file();
            file.contains("/.cargo/registry/")
                && (file.contains("/parquet-") || file.contains("/arrow-"))
        });
        if in_arrow_or_parquet {
            // If `ingest` does not catch it after all, libfuzzer-sys aborts
            // when it reaches the fuzz target, and this line says why.
            eprintln!("panic in arrow or parquet, for ingest to catch: {info}");
        } else {
            abort(info);
        }
    }));
}
