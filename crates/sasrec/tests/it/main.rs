//! The one integration-test binary of the `sasrec` crate.
//!
//! Sequences with a known rule are generated inline (a tiny model must learn them in a
//! few seconds of a debug build); `tests/data/yoochoose_100k` (real clicks, with its
//! PROVENANCE.md) checks saving and the protocol on real item ids.

mod learning;
mod saving;

use recommend::{Dataset, DatasetBuilder, EventKind, Weights};
use sasrec::{SasRec, SasRecConfig, Validation};

/// A model small enough to train in seconds in a debug build.
pub fn tiny() -> SasRecConfig {
    SasRecConfig {
        hidden: 16,
        blocks: 1,
        heads: 2,
        max_len: 8,
        dropout: 0.1,
        epochs: 12,
        batch_size: 32,
        learning_rate: 0.01,
        ..SasRecConfig::default()
    }
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

/// `count` sessions of 2 to 6 clicks over items `i0..i{items-1}` in which the next item is
/// always the one after: `i3 i4 i5`, wrapping around. `salt` varies where they start.
pub fn successor_sessions(count: usize, items: usize, salt: usize) -> Dataset {
    let text: String = (0..count)
        .map(|session| {
            let start = (session * 7 + salt * 13 + session / items) % items;
            let length = 2 + (session * 3 + salt) % 5;
            let clicks: Vec<String> =
                (0..length).map(|step| format!("i{}", (start + step) % items)).collect();
            format!("s{salt}-{session}: {}\n", clicks.join(" "))
        })
        .collect();
    sessions(&text)
}

pub fn train(data: &Dataset, config: &SasRecConfig, validation: Option<&Dataset>) -> SasRec {
    let validation = validation.map(|data| Validation { data, name: "validation", k: 3 });
    sasrec::train(data, config, Weights::default(), validation, "inline").unwrap()
}
