//! The one integration-test binary of the `recommend` crate.
//!
//! Fixtures: `tests/data/yoochoose_100k` (the session-rec YOOCHOOSE subset, real clicks)
//! and `tests/data/synthetic/diginetica_train_item_views.csv`, each with its PROVENANCE.md;
//! small hand-made histories are written inline where a test needs a known answer.

mod data;
mod metrics;
mod models;
mod protocol;

use std::path::PathBuf;

use recommend::{Dataset, DatasetBuilder, EventKind};

/// A file under the repository's `tests/data`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative)
}

pub fn yoochoose(split: &str) -> Dataset {
    let path = fixture(&format!("yoochoose_100k/yoochoose-clicks-100k_{split}.txt"));
    recommend::read_file(&path, recommend::Format::Yoochoose).expect("the fixture reads")
}

/// Sessions written as `"session: a b c"` lines, one click per second, all views.
pub fn sessions(text: &str) -> Dataset {
    let mut builder = DatasetBuilder::default();
    for (line_number, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let (session, items) = line.split_once(':').expect("session: items");
        for (position, item) in items.split_whitespace().enumerate() {
            let time = (line_number * 1000 + position) as f64;
            builder.push(session.trim(), session.trim(), item, time, EventKind::View);
        }
    }
    builder.finish()
}
