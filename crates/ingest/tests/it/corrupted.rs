//! Corrupted copies: good rows land, each bad row is quarantined with its
//! reason and line, and nothing panics.

use crate::{data, import_text, import_with};

const HEADER: &str =
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
const GOOD: &str = "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c";

fn with_bad_line(bad: &[u8]) -> Vec<u8> {
    let mut file = format!("{HEADER}\n{GOOD}\n").into_bytes();
    file.extend_from_slice(bad);
    file.extend_from_slice(b"\n");
    file.extend_from_slice(GOOD.replace("44600062", "1").as_bytes());
    file.push(b'\n');
    file
}

fn check(bad: &[u8], reason: &str, field: Option<&str>) {
    let got =
        import_text("events.csv", &with_bad_line(bad), |o| o.format = Some(ingest::Format::Rees46));
    assert_eq!(got.summary.imported, 2, "both good rows land around {bad:?}");
    assert_eq!(got.reasons(), vec![(3, reason.to_string())], "{bad:?}");
    assert_eq!(got.rejections[0].field.as_deref(), field);
    assert_eq!(got.rejections[0].raw.as_bytes(), String::from_utf8_lossy(bad).as_bytes());
}

#[test]
fn each_kind_of_bad_row() {
    check(b"this is garbage", "wrong_column_count", None);
    check(b"2019-13-01 00:00:00 UTC,view,1,2,,b,1.0,5,s", "bad_timestamp", Some("event_time"));
    check(b"2019-10-01 00:00:00 UTC,view,1,2,,b,1.0,,s", "missing_user_id", Some("user_id"));
    check(b"2019-10-01 00:00:00 UTC,view,1,2,,b,cheap,5,s", "bad_number", Some("price"));
    check(b"2019-10-01 00:00:00 UTC,view,1,2,,b,1.0,5", "wrong_column_count", None);
    check(b"2019-10-01 00:00:00 UTC,purchase,1,2,,b,,5,s", "missing_price", Some("price"));
    check(b"2019-10-01 00:00:00 UTC,view,,2,,b,1.0,5,s", "missing_item_id", Some("item_id"));
    check(b"2019-10-01 00:00:00 UTC,view,1,2,,b,-3,5,s", "out_of_range_price", Some("price"));
    check(b"2019-10-01 00:00:00 UTC,two words,1,2,,b,1,5,s", "bad_event_type", Some("event_type"));
}

#[test]
fn invalid_utf8_keeps_the_exact_bytes() {
    let bad = b"2019-10-01 00:00:00 UTC,view,1,2,,br\xff\xfe,1.0,5,s";
    let got = import_text("events.csv", &with_bad_line(bad), |_| {});
    assert_eq!(got.reasons(), vec![(3, "invalid_utf8".to_string())]);
    let hex = got.rejections[0].raw_hex.as_deref().unwrap();
    assert!(hex.contains("fffe"), "{hex}");
}

#[test]
fn truncated_last_line() {
    let mut file = format!("{HEADER}\n{GOOD}\n").into_bytes();
    file.extend_from_slice(&GOOD.as_bytes()[..40]);
    let got = import_text("events.csv", &file, |_| {});
    assert_eq!(got.summary.imported, 1);
    assert_eq!(got.reasons(), vec![(3, "truncated_line".to_string())]);
    assert!(
        got.rejections[0].message.contains("expected 9 columns"),
        "{}",
        got.rejections[0].message
    );
}

#[test]
fn complete_last_line_without_newline_is_fine() {
    let file = format!("{HEADER}\n{GOOD}");
    let got = import_text("events.csv", file.as_bytes(), |_| {});
    assert_eq!((got.summary.imported, got.summary.quarantined), (1, 0));
}

#[test]
fn bom_crlf_and_blank_lines() {
    let file = format!("\u{feff}{HEADER}\r\n{GOOD}\r\n\r\n{}\r\n", GOOD.replace("44600062", "2"));
    let got = import_text("events.csv", file.as_bytes(), |_| {});
    assert_eq!(got.summary.files[0].format, "rees46", "the BOM does not hide the header");
    assert_eq!((got.summary.read, got.summary.imported), (2, 2));
}

#[test]
fn runaway_quote_in_a_quoting_format_loses_only_its_line() {
    let mut file = String::from(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n",
    );
    file.push_str("536365,85123A,\"WHITE HANGING HEART, T-LIGHT,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n");
    for i in 0..200 {
        file.push_str(&format!("5364{i:02},22752,\"SET 7 BABUSHKA, DOLLS\",2,2010-12-01 08:34:00,7.65,13047,United Kingdom\n"));
    }
    let got = import_text("retail.csv", file.as_bytes(), |_| {});
    assert_eq!(got.summary.imported, 200);
    assert_eq!(got.reasons(), vec![(2, "unterminated_quote".to_string())]);
}

#[test]
fn shredded_real_file_never_panics_and_accounts_for_every_row() {
    // Every 7th line of the real REES46 sample is cut short, every 11th gets garbage bytes.
    let text = std::fs::read(data("rees46_multicat_sample/2019-Oct-sample.csv")).unwrap();
    let mut shredded = Vec::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        match number {
            0 => shredded.extend_from_slice(line),
            n if n % 7 == 0 => shredded.extend_from_slice(&line[..line.len() / 2]),
            n if n % 11 == 0 => shredded.extend_from_slice(b"\x00\xff,\",,,"),
            _ => shredded.extend_from_slice(line),
        }
        shredded.push(b'\n');
    }
    let got = import_text("shredded.csv", &shredded, |o| o.format = Some(ingest::Format::Rees46));
    assert_eq!(got.summary.read, 1000);
    assert!(got.summary.quarantined >= 1000 / 7 + 1000 / 11 - 1000 / 77 - 2, "{:?}", got.summary);
    assert!(got.summary.imported > 700);
}

#[test]
fn quoted_line_break_across_the_first_chunk_boundary() {
    // Every row has a two-line quoted note. The first chunk is cut before the
    // format is known, so without quoting: here it ends inside row 20. The
    // later chunks must still start and end on record boundaries (this
    // panicked with "chunks hold whole records"; with the default 4 MiB
    // chunks, from files of about 8 MiB).
    let mut file = String::from("event_time,user_id,event_type,item_id,note\n");
    for i in 0..4000 {
        let minute = i % 60;
        file.push_str(&format!(
            "2024-03-01 10:{minute:02}:00,u{i},view,i1,\"line one\nline two\"\n"
        ));
    }
    assert!(file.len() > 128 << 10, "longer than the reader's first reads");
    let middle_of_row_20 = file.match_indices('\n').nth(2 * 20 + 1).unwrap().0;
    let got = import_text("notes.csv", file.as_bytes(), |o| {
        o.format = Some(ingest::Format::Csv);
        o.chunk_bytes = middle_of_row_20 + 1;
    });
    assert_eq!((got.summary.imported, got.summary.quarantined), (4000, 0), "{:?}", got.reasons());
}

#[test]
fn online_retail_header_with_more_than_eight_columns() {
    // Found by fuzzing: columns are found by name, so a wider header put
    // `Country` at index 12 while rows were only checked to have 8 fields, and
    // indexing past them panicked. Rows are now held to the header's width.
    let header =
        "InvoiceNo,StockCode,Extra,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
    let file = format!(
        "{header}\n\
         536365,85123A,x,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n\
         536366,22633,x,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850\n"
    );
    let got = import_text("retail.csv", file.as_bytes(), |o| {
        o.format = Some(ingest::Format::OnlineRetail);
    });
    assert_eq!(got.summary.imported, 1);
    assert_eq!(got.reasons(), vec![(3, "wrong_column_count".to_string())]);
}

/// Writes one view event as Parquet, all columns text.
fn write_one_event_parquet(
    path: &std::path::Path,
    options: parquet::arrow::arrow_writer::ArrowWriterOptions,
) {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    let names = ["event_time", "user_id", "event_type", "item_id"];
    let schema =
        Arc::new(Schema::new(names.map(|name| Field::new(name, DataType::Utf8, false)).to_vec()));
    let values = ["2024-03-01T10:00:00Z", "u1", "view", "i1"];
    let columns = values.map(|value| Arc::new(StringArray::from(vec![value])) as ArrayRef);
    let batch = RecordBatch::try_new(schema.clone(), columns.to_vec()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new_with_options(file, schema, options).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_column_chunk_at_a_negative_offset() {
    // Found by fuzzing: parquet asserts (panics) on a column chunk whose
    // offset or length is negative (apache/arrow-rs#6255); it must be an error.
    // The panic message still goes to stderr.
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    write_one_event_parquet(&path, Default::default());

    // Keep the pages, replace the footer by one whose first column chunk
    // starts at byte -1.
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(&path).unwrap())
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let end = bytes.len();
    let footer = u32::from_le_bytes(bytes[end - 8..end - 4].try_into().unwrap()) as usize;
    bytes.truncate(end - 8 - footer);
    let mut builder = metadata.into_builder();
    let mut row_groups = builder.take_row_groups();
    let mut chunks = row_groups[0].columns().to_vec();
    chunks[0] = chunks[0]
        .clone()
        .into_builder()
        .set_dictionary_page_offset(None)
        .set_data_page_offset(-1)
        .build()
        .unwrap();
    row_groups[0] =
        row_groups[0].clone().into_builder().set_column_metadata(chunks).build().unwrap();
    let metadata = builder.set_row_groups(row_groups).build();
    ParquetMetaDataWriter::new(&mut bytes, &metadata).finish().unwrap();
    std::fs::write(&path, &bytes).unwrap();

    let mut importer = ingest::Importer::new(ingest::ImportOptions::new(dir.path().join("spill")));
    let error = importer.read_file(&path, &mut |_| Ok(()), &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("events.parquet") && error.contains("corrupt file"), "{error}");
}

#[test]
fn parquet_with_a_corrupt_embedded_arrow_schema() {
    // Found by fuzzing: the Arrow schema that writers embed as `ARROW:schema`
    // metadata, with one byte changed (the precision of a float column, 2 → 34),
    // made arrow-ipc panic while opening the file. Values are read through
    // their text form, so that schema is not needed and no longer read.
    const CORRUPT_ARROW_SCHEMA: &str = "/////4wBAAAQAAAAAAAKAAwACgAJAAQACgAAABAAAAAAAQQACAAIAAAABAAIAAAABAAAAAYAAAAgAQAA4AAAAKAAAAB0AAAAPAAAAAQAAABE////FAAAAAwAAAAAAAEFDAAAAAAAAAA0////AwAAAHV0bQAQABYAEAAOAA8ABAAAAAgAEAAAABgAAAAcAAAAAAABAxgAAAAAAAYACAAGAAYAAAAAACIAAAAAAAUAAABwcmljZQAAAKz///8UAAAADAAAAAAAAQUMAAAAAAAAAJz///8HAAAAaXRlbV9pZACY////FAAAAAwAAAAAAAAFDAAAAAAAAADE////CgAAAGV2ZW50X3R5cGUAABAAFAAQAA4ADwAEAAAACAAQAAAAGAAAAAwAAAAAAAEFEAAAAAAAAAAEAAQABAAAAAcAAAB1c2VyX2lkABAAFAAQAAAADwAEAAAACAAQAAAAGAAAACAAAAAAAAACHAAAAAgADAAEAAsACAAAAEAAAAAAAAABAAAAAAoAAABldmVudF90aW1lAAA=";
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let metadata = KeyValue::new("ARROW:schema".to_string(), CORRUPT_ARROW_SCHEMA.to_string());
    let properties =
        WriterProperties::builder().set_key_value_metadata(Some(vec![metadata])).build();
    let options = parquet::arrow::arrow_writer::ArrowWriterOptions::new()
        .with_properties(properties)
        .with_skip_arrow_metadata(true);
    write_one_event_parquet(&path, options);
    let got = import_with(&[path], |_| {});
    assert_eq!((got.summary.imported, got.summary.quarantined), (1, 0));
}
