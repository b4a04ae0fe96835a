use std::fmt::Write as _;

use serde::Serialize;

/// Why a row could not be imported. `code` is a short stable identifier used
/// in summaries (`bad_timestamp`, `missing_user_id`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub code: String,
    /// The field the problem is in, when it is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A sentence for people, naming the offending value.
    pub message: String,
}

impl RowError {
    pub fn new(code: impl Into<String>, field: Option<&str>, message: impl Into<String>) -> Self {
        RowError { code: code.into(), field: field.map(str::to_string), message: message.into() }
    }

    pub fn bad_timestamp(field: &str, value: &str) -> Self {
        RowError::new("bad_timestamp", Some(field), format!("cannot parse {value:?} as a time"))
    }

    pub fn bad_number(field: &str, value: &str) -> Self {
        RowError::new("bad_number", Some(field), format!("cannot parse {value:?} as a number"))
    }

    pub fn missing(field: &str) -> Self {
        RowError::new(format!("missing_{field}"), Some(field), format!("{field} is empty"))
    }

    pub fn column_count(expected: usize, found: usize) -> Self {
        RowError::new(
            "wrong_column_count",
            None,
            format!("expected {expected} columns, found {found}"),
        )
    }
}

/// A row that did not make it into the lake, with everything needed to find,
/// understand and replay it. One JSON line of the quarantine file each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    pub source_file: String,
    /// 1-based physical line number (for Parquet inputs: the row number).
    pub line: u64,
    /// The raw line, lossily decoded when it is not valid UTF-8.
    pub raw: String,
    /// The exact bytes in hex, only when `raw` had to be decoded lossily.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_hex: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn new(source_file: &str, line: u64, raw: &[u8], error: RowError) -> Self {
        let (raw, raw_hex) = match std::str::from_utf8(raw) {
            Ok(text) => (text.to_string(), None),
            Err(_) => {
                let mut hex = String::with_capacity(raw.len() * 2);
                for byte in raw {
                    let _ = write!(hex, "{byte:02x}");
                }
                (String::from_utf8_lossy(raw).into_owned(), Some(hex))
            }
        };
        Rejection {
            source_file: source_file.to_string(),
            line,
            raw,
            raw_hex,
            reason: error.code,
            field: error.field,
            message: error.message,
        }
    }
}
