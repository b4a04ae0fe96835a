//! Integration tests of the text crate. Tests that need the real
//! multilingual-e5-small or SmolLM2 weights fetch them first (`text::fetch`, the code
//! behind `smartfunnel models fetch`) into `$SMARTFUNNEL_MODELS` or
//! `~/.cache/smartfunnel/models`.

mod aspects;
mod e5;
mod generate;
mod ngrams;
mod sentiment;
mod topics;

use std::path::{Path, PathBuf};

pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join(name)
}

/// Rows of `reviews_sample.csv`: (lang, label, text).
pub fn reviews_sample() -> Vec<(String, bool, String)> {
    let mut reader = csv::Reader::from_path(data_path("reviews_sample.csv")).unwrap();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[0].to_owned(), &record[1] == "1", record[2].to_owned())
        })
        .collect()
}
