//! Corrupted copies: good rows land, each bad row is quarantined with its
//! reason and line, and nothing panics.

use crate::{data, import_text};

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
