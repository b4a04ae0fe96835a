//! Integration tests of the importers on the real samples in `tests/data`
//! and on corrupted copies of them.

mod corrupted;
mod formats;
mod properties;
mod real_samples;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch, StringArray};
use ingest::{ImportOptions, ImportSummary, Importer, Rejection};

pub fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative)
}

pub struct Outcome {
    pub summary: ImportSummary,
    pub batches: Vec<RecordBatch>,
    pub rejections: Vec<Rejection>,
}

impl Outcome {
    pub fn distinct(&self, column: &str) -> usize {
        let mut seen = BTreeSet::new();
        for batch in &self.batches {
            let values: &StringArray =
                batch.column_by_name(column).unwrap().as_any().downcast_ref().unwrap();
            for row in 0..values.len() {
                if values.is_valid(row) {
                    seen.insert(values.value(row).to_string());
                }
            }
        }
        seen.len()
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    pub fn count(&self, event_type: &str) -> u64 {
        self.summary.by_event_type.get(event_type).copied().unwrap_or(0)
    }

    pub fn reasons(&self) -> Vec<(u64, String)> {
        self.rejections.iter().map(|r| (r.line, r.reason.clone())).collect()
    }

    /// The invariant every import keeps: nothing is lost.
    pub fn assert_accounted(&self) {
        let s = &self.summary;
        assert_eq!(s.read, s.imported + s.duplicates + s.quarantined, "{s:#?}");
        assert_eq!(s.imported as usize, self.rows());
        assert_eq!(s.quarantined as usize, self.rejections.len());
    }
}

pub fn import_with(paths: &[PathBuf], configure: impl FnOnce(&mut ImportOptions)) -> Outcome {
    let spill = tempfile::tempdir().unwrap();
    let mut options = ImportOptions::new(spill.path().join("spill"));
    configure(&mut options);
    let mut importer = Importer::new(options);
    let mut rejections = Vec::new();
    for path in paths {
        importer
            .read_file(
                path,
                &mut |r| {
                    rejections.push(r.clone());
                    Ok(())
                },
                &mut |_| {},
            )
            .unwrap();
    }
    let mut cleaner = importer.into_days();
    let mut batches = Vec::new();
    while let Some((_, batch)) = cleaner.next_day(&HashSet::new()).unwrap() {
        batches.push(batch);
    }
    let outcome = Outcome { summary: cleaner.into_summary(), batches, rejections };
    outcome.assert_accounted();
    outcome
}

pub fn import(path: PathBuf) -> Outcome {
    import_with(&[path], |_| {})
}

/// Writes `content` to a temporary file and imports it.
pub fn import_text(
    name: &str,
    content: &[u8],
    configure: impl FnOnce(&mut ImportOptions),
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    import_with(&[path], configure)
}
