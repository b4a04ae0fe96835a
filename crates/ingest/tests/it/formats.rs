//! Generic CSV, JSON Lines and Parquet with column mappings.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use ingest::{Format, ParseOptions, TimeFormat, parse_mapping};

use crate::{import_text, import_with};

#[test]
fn csv_with_a_mapping_and_a_time_format() {
    let file = "ts,visitor,what,sku,amount,utm\n\
                30/10/2023 16:17,v1,view,i1,,email\n\
                30/10/2023 16:20,v1,purchase,i1,12.5,email\n\
                31/10/2023 09:00,v2,search,,,\n";
    let got = import_text("shop.csv", file.as_bytes(), |o| {
        o.parse = ParseOptions {
            mapping: parse_mapping(
                "event_time=ts,user_id=visitor,event_type=what,item_id=sku,price=amount",
            )
            .unwrap(),
            time_format: "%d/%m/%Y %H:%M".parse::<TimeFormat>().unwrap(),
            ..ParseOptions::default()
        };
    });
    assert_eq!(got.summary.files[0].format, "csv");
    assert_eq!(got.summary.imported, 2);
    assert_eq!(got.reasons(), vec![(4, "missing_search_query".to_string())]);
    assert_eq!(got.count("purchase"), 1);
    // Unmapped columns are kept as properties.
    let batch = &got.batches[0];
    assert_eq!(batch.column_by_name("properties").unwrap().null_count(), 0);
}

#[test]
fn csv_without_a_required_column_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "ts,visitor,what\n1,2,3\n").unwrap();
    let mut importer = ingest::Importer::new(ingest::ImportOptions::new(dir.path().join("spill")));
    let error = importer.read_file(&path, &mut |_| Ok(()), &mut |_| {}).err().unwrap().to_string();
    assert!(error.contains("no column for event_time") && error.contains("x.csv"), "{error}");
}

#[test]
fn bad_mapping_is_a_clear_error() {
    let error = parse_mapping("event_tim=ts").unwrap_err();
    assert!(error.contains("event_tim") && error.contains("event_time"), "{error}");
}

#[test]
fn json_lines() {
    let file = br#"{"event_time":"2024-03-01T10:00:00Z","user_id":"u1","event_type":"search","search_query":"red shoes","properties":{"ab":"B"}}
{"event_time":1709287300,"user_id":42,"event_type":"view","item_id":"i9","price":19.9,"coupon":null}
{"event_time":"2024-03-01T10:05:00Z","user_id":"u1"
{"when":"2024-03-01T10:06:00Z","user_id":"u1","event_type":"view","item_id":"i1"}
"#;
    let got = import_text("events.jsonl", file, |o| o.format = Some(Format::Jsonl));
    assert_eq!(got.summary.imported, 2);
    assert_eq!(
        got.reasons(),
        vec![(3, "bad_json".to_string()), (4, "missing_event_time".to_string())]
    );
    let mapped = import_text("events.jsonl", file, |o| {
        o.parse.mapping = parse_mapping("event_time=when").unwrap();
    });
    assert_eq!(mapped.summary.imported, 3);
}

#[test]
fn parquet_input() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("item_id", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1_700_000_000, 1_700_000_100, 1_700_000_200])),
            Arc::new(StringArray::from(vec![Some("u1"), None, Some("u2")])),
            Arc::new(StringArray::from(vec!["view", "view", "purchase"])),
            Arc::new(StringArray::from(vec![Some("i1"), Some("i2"), Some("i3")])),
            Arc::new(Float64Array::from(vec![None, None, Some(9.5)])),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let got = import_with(&[path], |o| o.parse.mapping = parse_mapping("event_time=ts").unwrap());
    assert_eq!(got.summary.files[0].format, "parquet");
    assert_eq!(got.summary.imported, 2);
    assert_eq!(got.reasons(), vec![(2, "missing_user_id".to_string())]);
}

#[test]
fn sessions_split_on_inactivity_and_continue_over_midnight() {
    let file = "event_time,user_id,event_type,item_id\n\
                2024-01-01T23:50:00Z,u,view,a\n\
                2024-01-02T00:10:00Z,u,view,b\n\
                2024-01-02T01:00:00Z,u,view,c\n";
    let got = import_text("s.csv", file.as_bytes(), |_| {});
    assert_eq!(got.summary.sessions_derived, 2);
    assert_eq!(got.distinct("session_id"), 2);
    let shorter = import_text("s.csv", file.as_bytes(), |o| {
        o.clean.session_gap = chrono::Duration::minutes(10)
    });
    assert_eq!(shorter.distinct("session_id"), 3);
}

#[test]
fn bots_are_flagged_not_dropped() {
    let mut file = String::from("event_time,user_id,event_type,item_id\n");
    for i in 0..100 {
        file.push_str(&format!(
            "2024-01-01T10:00:{:02}.{:03}Z,bot,view,i{i}\n",
            i / 2,
            (i % 2) * 500
        ));
    }
    for i in 0..30 {
        file.push_str(&format!("2024-01-01T10:{i:02}:00Z,human,view,i{i}\n"));
    }
    let got = import_text("b.csv", file.as_bytes(), |_| {});
    assert_eq!(got.summary.imported, 130);
    assert_eq!((got.summary.bot_events, got.summary.bot_user_days), (100, 1));
}

#[test]
fn reading_in_many_rounds_of_small_chunks_gives_the_same_result() {
    // Rounds overlap: one is parsed while the one before is staged and the
    // next is read. Order, line numbers and rejections must not depend on it.
    let mut file = String::from("event_time,user_id,event_type,item_id\n");
    for i in 0..400 {
        if i % 37 == 5 {
            file.push_str(&format!("not a time,u{i},view,i{i}\n"));
        } else {
            let (day, minute) = (1 + i % 3, i % 60);
            file.push_str(&format!("2024-01-0{day}T10:{minute:02}:00Z,u{},view,i{i}\n", i % 9));
        }
    }
    let whole = import_text("rounds.csv", file.as_bytes(), |_| {});
    let rounds = import_text("rounds.csv", file.as_bytes(), |o| o.chunk_bytes = 256);
    // The two files lie in different temporary directories: compare all but the path.
    let without_source = |outcome: &crate::Outcome| {
        let batches = outcome.batches.iter().cloned();
        batches
            .map(|mut batch| {
                let source = batch.schema().index_of("source_file").unwrap();
                batch.remove_column(source);
                batch
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(without_source(&whole), without_source(&rounds));
    assert_eq!(whole.reasons(), rounds.reasons());
    assert_eq!(whole.summary.quarantined, 11);
}

#[test]
fn spilling_to_disk_gives_the_same_result() {
    let path = crate::data("taobao_userbehavior_sample/UserBehavior.csv");
    let in_memory = import_with(std::slice::from_ref(&path), |_| {});
    let spilled = import_with(&[path], |o| {
        o.memory_budget = 16 * 1024;
        o.chunk_bytes = 8 * 1024;
    });
    assert!(spilled.summary.spilled_bytes > 0);
    assert_eq!(in_memory.batches, spilled.batches);
}
