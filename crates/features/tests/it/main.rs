//! The features crate on small hand-made event tables and a real sample.

mod clusters;
mod labels;
mod table;
mod tags;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, new_null_array,
};
use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDate, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use events::column;

/// A UTC time written `YYYY-MM-DD` (midnight) or `YYYY-MM-DDTHH:MM`.
fn utc(text: &str) -> DateTime<Utc> {
    let rfc3339 =
        if text.len() == 10 { format!("{text}T00:00:00Z") } else { format!("{text}:00Z") };
    rfc3339.parse().unwrap_or_else(|e| panic!("bad time {text:?}: {e}"))
}

/// The optional columns a line may set, as `key=value`, and their lake column.
const OPTIONS: [(&str, &str); 9] = [
    ("item", column::ITEM_ID),
    ("category", column::CATEGORY),
    ("brand", column::BRAND),
    ("price", column::PRICE),
    ("quantity", column::QUANTITY),
    ("order", column::ORDER_ID),
    ("rating", column::RATING),
    ("device", column::DEVICE),
    ("channel", column::CHANNEL),
];

/// A session whose `events` table (the full lake schema) holds one event per
/// non-blank line of `table`:
///
/// ```text
/// TIME USER SESSION TYPE [item=I] [category=C] [brand=B] [price=P] [quantity=Q]
///                        [order=O] [rating=R] [device=D] [channel=C] [bot]
/// ```
fn session_with(table: &str) -> SessionContext {
    let schema = events::schema();
    let lines: Vec<&str> = table.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut text: HashMap<&str, Vec<Option<String>>> = HashMap::new();
    let (mut times, mut dates, mut bots) = (vec![], vec![], vec![]);
    for (number, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(words.len() >= 4, "too few fields in {line:?}");
        let time = utc(words[0]);
        times.push(time.timestamp_micros());
        dates
            .push((time.date_naive() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
                as i32);
        let mut set = |name: &'static str, value: Option<String>| {
            let column = text.entry(name).or_insert_with(|| vec![None; lines.len()]);
            column[number] = value;
        };
        set(column::EVENT_ID, Some(format!("e{number:05}")));
        set(column::USER_ID, Some(words[1].to_string()));
        set(column::SESSION_ID, Some(words[2].to_string()));
        set(column::EVENT_TYPE, Some(words[3].to_string()));
        let mut bot = false;
        for option in &words[4..] {
            if *option == "bot" {
                bot = true;
                continue;
            }
            let (key, value) = option.split_once('=').unwrap_or_else(|| panic!("{option:?}"));
            let (_, name) = OPTIONS
                .iter()
                .find(|(k, _)| *k == key)
                .unwrap_or_else(|| panic!("unknown option {option:?} in {line:?}"));
            set(name, Some(value.to_string()));
        }
        bots.push(bot);
    }
    let rows = lines.len();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            let name = field.name().as_str();
            let values = text.get(name);
            match name {
                column::EVENT_TIME => {
                    Arc::new(TimestampMicrosecondArray::from(times.clone()).with_timezone("UTC"))
                }
                column::EVENT_DATE => Arc::new(Date32Array::from(dates.clone())),
                column::IS_BOT => Arc::new(BooleanArray::from(bots.clone())),
                _ => match (values, field.data_type()) {
                    (None, data_type) => new_null_array(data_type, rows),
                    (Some(values), DataType::Float64) => Arc::new(Float64Array::from_iter(
                        values.iter().map(|v| v.as_ref().map(|v| v.parse::<f64>().unwrap())),
                    )),
                    (Some(values), DataType::Int64) => Arc::new(Int64Array::from_iter(
                        values.iter().map(|v| v.as_ref().map(|v| v.parse::<i64>().unwrap())),
                    )),
                    (Some(values), _) => Arc::new(StringArray::from(values.clone())),
                },
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let context = SessionContext::new();
    let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
    context.register_table("events", Arc::new(table)).unwrap();
    context
}

/// Compares rendered lines with the expected ones, showing both in full.
#[track_caller]
fn assert_lines(actual: &[String], expected: &[&str]) {
    assert!(
        actual == expected,
        "expected:\n{}\n\nactual:\n{}\n",
        expected.join("\n"),
        actual.join("\n")
    );
}
