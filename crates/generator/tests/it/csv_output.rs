use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use events::{Event, EventType};
use generator::{CSV_HEADER, CsvEventWriter};

use crate::sample;

fn write_csv<'e>(events: impl IntoIterator<Item = &'e Event>) -> String {
    let mut writer = CsvEventWriter::new(Vec::new()).unwrap();
    for event in events {
        writer.write(event).unwrap();
    }
    String::from_utf8(writer.finish().unwrap()).unwrap()
}

/// Parses a canonical CSV back into events (only what the generator writes:
/// properties are a flat JSON object of strings without escapes).
fn read_csv(text: &str) -> Vec<Event> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, CSV_HEADER);
    let optional = |value: &str| (!value.is_empty()).then(|| value.to_string());
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let field = |name: &str| &record[CSV_HEADER.iter().position(|c| *c == name).unwrap()];
            Event {
                event_time: DateTime::parse_from_rfc3339(field("event_time")).unwrap().to_utc(),
                user_id: field("user_id").to_string(),
                session_id: optional(field("session_id")),
                event_type: field("event_type").parse().unwrap(),
                item_id: optional(field("item_id")),
                category_id: optional(field("category_id")),
                category: optional(field("category")),
                brand: optional(field("brand")),
                price: optional(field("price")).map(|v| v.parse().unwrap()),
                quantity: optional(field("quantity")).map(|v| v.parse().unwrap()),
                currency: optional(field("currency")),
                order_id: optional(field("order_id")),
                search_query: optional(field("search_query")),
                review_text: optional(field("review_text")),
                rating: optional(field("rating")).map(|v| v.parse().unwrap()),
                channel: optional(field("channel")),
                device: optional(field("device")),
                country: optional(field("country")),
                properties: parse_flat_json(field("properties")),
            }
        })
        .collect()
}

fn parse_flat_json(text: &str) -> BTreeMap<String, String> {
    if text.is_empty() {
        return BTreeMap::new();
    }
    let inner = text.strip_prefix('{').unwrap().strip_suffix('}').unwrap();
    inner
        .split(',')
        .map(|pair| {
            let (key, value) = pair.split_once(':').unwrap();
            (key.trim_matches('"').to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn header_line_is_canonical() {
    let text = write_csv([]);
    assert_eq!(
        text,
        "event_time,user_id,session_id,event_type,item_id,category_id,category,brand,price,\
         quantity,currency,order_id,search_query,review_text,rating,channel,device,country,\
         properties\n"
    );
}

#[test]
fn generated_days_round_trip() {
    let sample = sample();
    // One ordinary day, plus every review, refund and checkout of the run
    // (quotes in review texts, properties, missing sessions).
    let special: Vec<&Event> = sample
        .events()
        .filter(|event| {
            matches!(event.event_type, EventType::Review | EventType::Refund | EventType::Checkout)
        })
        .collect();
    let events: Vec<&Event> = sample.days[3].iter().chain(special).collect();
    let text = write_csv(events.iter().copied());
    let parsed = read_csv(&text);
    assert_eq!(parsed.len(), events.len());
    for (parsed, original) in parsed.iter().zip(events) {
        assert_eq!(parsed, original);
    }
    assert!(text.contains("\"\""), "some review text has a quote that needed escaping");
}

#[test]
fn fields_are_written_in_canonical_form() {
    let event = Event {
        event_time: Utc.with_ymd_and_hms(2024, 1, 1, 8, 15, 2).unwrap()
            + chrono::Duration::microseconds(123_456),
        user_id: "u1".into(),
        session_id: None,
        event_type: EventType::Checkout,
        price: Some(449.99),
        quantity: Some(2),
        review_text: Some("Great, \"really\"\ngreat".into()),
        rating: Some(5.0),
        properties: BTreeMap::from([("cart_value".into(), "1.50".into())]),
        ..Event::default()
    };
    let text = write_csv([&event]);
    let line = text.lines().nth(1).unwrap();
    assert!(line.starts_with("2024-01-01T08:15:02.123456Z,u1,,checkout,,,,,449.99,2,"), "{line}");
    assert!(text.contains("\"Great, \"\"really\"\"\ngreat\",5,"), "{text}");
    assert!(text.ends_with(",\"{\"\"cart_value\"\":\"\"1.50\"\"}\"\n"), "{text}");
}

#[test]
fn bulk_writes_equal_one_by_one_writes() {
    let events: Vec<Event> = sample().events().cloned().collect();
    assert!(events.len() > 20_000, "enough rows for the parallel path");
    let one_by_one = write_csv(&events);
    let mut writer = CsvEventWriter::new(Vec::new()).unwrap();
    writer.write_all(&events[..10]).unwrap();
    writer.write_all(&events[10..]).unwrap();
    let bulk = String::from_utf8(writer.finish().unwrap()).unwrap();
    assert!(bulk == one_by_one, "bulk and single writes differ");
}

#[test]
fn writes_to_a_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("events.csv");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut writer = CsvEventWriter::new(file).unwrap();
    writer.write_all(&sample().days[0]).unwrap();
    drop(writer.finish().unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), sample().days[0].len() + 1);
}
