mod funnels;
mod udaf;

mod cohort_retention;
mod journeys;
mod lifecycle;
mod paths;
mod rfm;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use events::column;

/// The lake columns the analyses read; the table is the lake schema cut down to these.
const TABLE_COLUMNS: [&str; 12] = [
    column::EVENT_ID,
    column::EVENT_TIME,
    column::EVENT_DATE,
    column::USER_ID,
    column::SESSION_ID,
    column::EVENT_TYPE,
    column::ITEM_ID,
    column::CATEGORY,
    column::PRICE,
    column::QUANTITY,
    column::ORDER_ID,
    column::IS_BOT,
];

/// A UTC time written `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
fn utc(text: &str) -> DateTime<Utc> {
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap())
        })
        .unwrap_or_else(|e| panic!("bad time {text:?}: {e}"));
    time.and_utc()
}

/// A session whose `events` table holds one event per non-blank line of `table`:
///
/// ```text
/// TIME USER SESSION TYPE [item=I] [category=C] [price=P] [quantity=Q] [order=O] [bot]
/// ```
///
/// Event ids follow the line order, so events at the same time keep it.
fn session_with(table: &str) -> SessionContext {
    let schema = events::schema();
    let indexes: Vec<usize> =
        TABLE_COLUMNS.iter().map(|name| schema.index_of(name).unwrap()).collect();
    let schema = Arc::new(schema.project(&indexes).unwrap());
    let (mut ids, mut times, mut dates, mut users, mut sessions, mut kinds) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut items, mut categories) = (vec![], vec![]);
    let (mut prices, mut quantities, mut orders, mut bots) = (vec![], vec![], vec![], vec![]);
    for (line_number, line) in table.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(words.len() >= 4, "too few fields in {line:?}");
        let time = utc(words[0]);
        ids.push(format!("e{line_number:05}"));
        times.push(time.timestamp_micros());
        dates
            .push((time.date_naive() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
                as i32);
        users.push(words[1].to_string());
        sessions.push(words[2].to_string());
        kinds.push(words[3].to_string());
        let (mut item, mut category) = (None, None);
        let (mut price, mut quantity, mut order, mut bot) = (None, None, None, false);
        for option in &words[4..] {
            match option.split_once('=') {
                Some(("item", value)) => item = Some(value.to_string()),
                Some(("category", value)) => category = Some(value.to_string()),
                Some(("price", value)) => price = Some(value.parse::<f64>().unwrap()),
                Some(("quantity", value)) => quantity = Some(value.parse::<i64>().unwrap()),
                Some(("order", value)) => order = Some(value.to_string()),
                None if *option == "bot" => bot = true,
                _ => panic!("unknown option {option:?} in {line:?}"),
            }
        }
        items.push(item);
        categories.push(category);
        prices.push(price);
        quantities.push(quantity);
        orders.push(order);
        bots.push(bot);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
        Arc::new(Date32Array::from(dates)),
        Arc::new(StringArray::from(users)),
        Arc::new(StringArray::from(sessions)),
        Arc::new(StringArray::from(kinds)),
        Arc::new(StringArray::from(items)),
        Arc::new(StringArray::from(categories)),
        Arc::new(Float64Array::from(prices)),
        Arc::new(Int64Array::from(quantities)),
        Arc::new(StringArray::from(orders)),
        Arc::new(BooleanArray::from(bots)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let context = SessionContext::new();
    let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
    context.register_table("events", Arc::new(table)).unwrap();
    context
}

/// Runs an async analysis to completion on a fresh runtime.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Compares rendered output with the expectation, ignoring indentation and
/// blank lines so that expectations can be written inline.
#[track_caller]
fn assert_lines(actual: &str, expected: &str) {
    let normalise = |text: &str| {
        text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
    };
    let (actual, expected) = (normalise(actual), normalise(expected));
    assert!(actual == expected, "expected:\n{expected}\n\nactual:\n{actual}\n");
}
