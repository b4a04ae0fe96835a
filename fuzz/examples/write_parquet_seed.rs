//! Writes a small event-shaped Parquet file for the `import_parquet` corpus:
//! mutating a readable file reaches the page decoders and the row parser,
//! which random bytes never get past the footer to.
//!
//! Run by `seed_corpus.sh`: `cargo run --example write_parquet_seed -- OUT`.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

fn main() {
    let path = std::env::args_os().nth(1).expect("usage: write_parquet_seed OUT.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("event_time", DataType::Int64, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("item_id", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
        Field::new("utm", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![
                1_709_287_200,
                1_709_287_260,
                1_709_290_000,
                1_709_373_600,
            ])),
            Arc::new(StringArray::from(vec![Some("u1"), Some("u1"), None, Some("u2")])),
            Arc::new(StringArray::from(vec!["view", "purchase", "view", "add_to_cart"])),
            Arc::new(StringArray::from(vec![Some("i1"), Some("i1"), Some("i2"), None])),
            Arc::new(Float64Array::from(vec![None, Some(12.5), None, Some(3.0)])),
            Arc::new(StringArray::from(vec![Some("email"), None, Some("ads"), None])),
        ],
    )
    .expect("columns match the schema");
    let file = std::fs::File::create(&path).expect("creating the seed file");
    let mut writer = ArrowWriter::try_new(file, schema, None).expect("a Parquet writer");
    writer.write(&batch).expect("writing the seed rows");
    writer.close().expect("finishing the seed file");
}
