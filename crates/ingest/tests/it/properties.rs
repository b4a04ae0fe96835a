//! Property tests of the record splitter and the parsers.

use ingest::{Delimiter, TimeFormat, parse_time, split_fields};
use proptest::prelude::*;

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n']) || field.starts_with('"') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

proptest! {
    #[test]
    fn csv_fields_round_trip(fields in prop::collection::vec("[a-z0-9 ,\"]{0,8}", 1..8)) {
        let record = fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(",");
        let mut split = Vec::new();
        split_fields(&record, Delimiter::Byte(b','), true, &mut split).unwrap();
        let split: Vec<String> = split.iter().map(|f| f.to_string()).collect();
        prop_assert_eq!(split, fields);
    }

    #[test]
    fn time_parsing_never_panics(text in "\\PC{0,40}") {
        let _ = parse_time(&text, &TimeFormat::Auto, chrono::FixedOffset::east_opt(0).unwrap());
    }

    #[test]
    fn unix_seconds_round_trip(seconds in 0i64..4_000_000_000) {
        let got = parse_time(&seconds.to_string(), &TimeFormat::Auto, chrono::FixedOffset::east_opt(0).unwrap());
        prop_assert_eq!(got.map(|t| t.timestamp()), Some(seconds));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_accounted_for(body in prop::collection::vec(any::<u8>(), 0..2000)) {
        let mut file = b"event_time,user_id,event_type,item_id\n".to_vec();
        file.extend_from_slice(&body);
        // import_text asserts read = imported + duplicates + quarantined.
        let _ = crate::import_text("fuzz.csv", &file, |_| {});
    }
}
