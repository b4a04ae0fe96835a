//! `split_fields` on any record: never panics, loses no text when unquoted,
//! and what it splits out of a quoted record re-quotes to the same fields.
//!
//! Input: the first byte picks the dialect (bits 0–1: `,` `;` tab or
//! whitespace; bit 2: RFC 4180 quoting), the rest is the record.
#![no_main]

use std::borrow::Cow;

use ingest::{Delimiter, split_fields};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&dialect, record)) = data.split_first() else { return };
    let Ok(record) = std::str::from_utf8(record) else { return };
    let delimiter = match dialect & 3 {
        0 => Delimiter::Byte(b','),
        1 => Delimiter::Byte(b';'),
        2 => Delimiter::Byte(b'\t'),
        _ => Delimiter::Whitespace,
    };
    let quoting = dialect & 4 != 0;
    let mut fields = Vec::new();
    let split = split_fields(record, delimiter, quoting, &mut fields);

    let Delimiter::Byte(separator) = delimiter else {
        split.expect("whitespace splitting cannot fail");
        assert!(fields.iter().eq(record.split_ascii_whitespace()));
        return;
    };
    let separator = char::from(separator);
    if !quoting || !record.contains('"') {
        split.expect("unquoted splitting cannot fail");
        assert_eq!(fields.join(&separator.to_string()), record, "no text lost");
        return;
    }
    if split.is_err() {
        return;
    }
    // Quote every field the RFC 4180 way; splitting that gives the same fields.
    let requoted: Vec<String> =
        fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
    let requoted = requoted.join(&separator.to_string());
    let mut again: Vec<Cow<'_, str>> = Vec::new();
    split_fields(&requoted, delimiter, true, &mut again).expect("re-quoted record splits");
    assert_eq!(again, fields, "{requoted:?}");
});
