//! The input formats and how each is recognised from its first line.

use std::fmt;
use std::str::FromStr;

use crate::records::Delimiter;

/// An input format. The shop-specific ones have fixed columns; `Csv`, `Jsonl`
/// and `Parquet` are generic and map columns by name (see `docs/events.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// REES46 Open CDP: `event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session`.
    Rees46,
    /// Taobao UserBehavior, headerless: `user,item,category,behavior,timestamp`.
    Taobao,
    /// RetailRocket `events.csv`: `timestamp,visitorid,event,itemid,transactionid`.
    RetailRocket,
    /// Diginetica `train-item-views.csv`: `sessionId;userId;itemId;timeframe;eventdate`.
    Diginetica,
    /// YOOCHOOSE clicks as prepared by session-rec: `SessionId<TAB>ItemId<TAB>Time`.
    Yoochoose,
    /// UCI Online Retail invoice lines (I and II).
    OnlineRetail,
    /// CDNOW transactions: `customer_id date number_of_cds dollar_value`, whitespace separated.
    Cdnow,
    /// Generic CSV with a header, columns mapped by name.
    Csv,
    /// JSON Lines, one object per line, keys mapped by name.
    Jsonl,
    /// Apache Parquet, columns mapped by name.
    Parquet,
}

impl Format {
    pub const NAMES: [&'static str; 10] = [
        "rees46",
        "taobao",
        "retailrocket",
        "diginetica",
        "yoochoose",
        "online-retail",
        "cdnow",
        "csv",
        "jsonl",
        "parquet",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Rees46 => "rees46",
            Format::Taobao => "taobao",
            Format::RetailRocket => "retailrocket",
            Format::Diginetica => "diginetica",
            Format::Yoochoose => "yoochoose",
            Format::OnlineRetail => "online-retail",
            Format::Cdnow => "cdnow",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// Whether the source publishes prices. Purchases from those that do not
    /// (Taobao, RetailRocket) are imported without one instead of rejected.
    pub fn has_prices(self) -> bool {
        !matches!(
            self,
            Format::Taobao | Format::RetailRocket | Format::Diginetica | Format::Yoochoose
        )
    }

    /// Whether the first record is a header. CDNOW and Taobao are decided per
    /// file by [`first_line_is_header`].
    pub(crate) fn dialect(self) -> (Delimiter, bool) {
        match self {
            Format::Diginetica => (Delimiter::Byte(b';'), false),
            Format::Yoochoose => (Delimiter::Byte(b'\t'), false),
            Format::Cdnow => (Delimiter::Whitespace, false),
            Format::OnlineRetail | Format::Csv => (Delimiter::Byte(b','), true),
            Format::Jsonl | Format::Parquet => (Delimiter::Byte(b'\n'), false),
            Format::Rees46 | Format::Taobao | Format::RetailRocket => {
                (Delimiter::Byte(b','), false)
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let format = match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "rees46" => Format::Rees46,
            "taobao" => Format::Taobao,
            "retailrocket" | "retail-rocket" => Format::RetailRocket,
            "diginetica" => Format::Diginetica,
            "yoochoose" => Format::Yoochoose,
            "online-retail" | "onlineretail" => Format::OnlineRetail,
            "cdnow" => Format::Cdnow,
            "csv" => Format::Csv,
            "jsonl" | "json" | "ndjson" => Format::Jsonl,
            "parquet" => Format::Parquet,
            _ => {
                return Err(format!(
                    "unknown format {name:?}; known: {}",
                    Format::NAMES.join(", ")
                ));
            }
        };
        Ok(format)
    }
}

/// Recognises the format from the file's first bytes (BOM already removed).
pub fn detect(start: &[u8]) -> Option<Format> {
    if start.starts_with(b"PAR1") {
        return Some(Format::Parquet);
    }
    let first_line = start.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(first_line);
    let line = line.trim_end_matches('\r');
    let lower = line.trim().to_ascii_lowercase();
    if lower.starts_with('{') {
        return Some(Format::Jsonl);
    }
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if compact
        == "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    {
        return Some(Format::Rees46);
    }
    if compact == "timestamp,visitorid,event,itemid,transactionid" {
        return Some(Format::RetailRocket);
    }
    if compact.starts_with("sessionid;userid;itemid;timeframe;eventdate") {
        return Some(Format::Diginetica);
    }
    if lower.split('\t').map(str::trim).eq(["sessionid", "itemid", "time"]) {
        return Some(Format::Yoochoose);
    }
    if (compact.starts_with("invoiceno,stockcode,") || compact.starts_with("invoice,stockcode,"))
        && compact.contains("quantity")
    {
        return Some(Format::OnlineRetail);
    }
    if compact.starts_with("customer_iddatenumber_of_cdsdollar_value") || looks_like_cdnow_row(line)
    {
        return Some(Format::Cdnow);
    }
    if looks_like_taobao_row(line) {
        return Some(Format::Taobao);
    }
    if line.contains(',') && !line.trim().is_empty() {
        return Some(Format::Csv);
    }
    None
}

/// Whether a CDNOW or Taobao file starts with a header (the published files differ).
pub(crate) fn first_line_is_header(format: Format, line: &str) -> bool {
    match format {
        Format::Cdnow => !looks_like_cdnow_row(line),
        Format::Taobao => !looks_like_taobao_row(line),
        Format::Jsonl | Format::Parquet => false,
        _ => true,
    }
}

fn looks_like_cdnow_row(line: &str) -> bool {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    fields.len() == 4
        && fields[1].len() == 8
        && fields[..3].iter().all(|f| f.bytes().all(|b| b.is_ascii_digit()))
        && fields[3].parse::<f64>().is_ok()
}

fn looks_like_taobao_row(line: &str) -> bool {
    let fields: Vec<&str> = line.trim().split(',').collect();
    fields.len() == 5
        && matches!(fields[3], "pv" | "buy" | "cart" | "fav")
        && fields[4].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_real_header() {
        let check = |start: &str, expect: Option<Format>| {
            assert_eq!(detect(start.as_bytes()), expect, "{start:?}");
        };
        check(
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n",
            Some(Format::Rees46),
        );
        check("1,2268318,2520377,pv,1511544070\n", Some(Format::Taobao));
        check("timestamp,visitorid,event,itemid,transactionid\r\n", Some(Format::RetailRocket));
        check("sessionId;userId;itemId;timeframe;eventdate\n", Some(Format::Diginetica));
        check("SessionId\tItemId\tTime\n", Some(Format::Yoochoose));
        check(
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n",
            Some(Format::OnlineRetail),
        );
        check(" customer_id  date number_of_cds  dollar_value\r\n", Some(Format::Cdnow));
        check(" 00001 19970101  1   11.77\r\n", Some(Format::Cdnow));
        check("{\"user_id\":\"u\"}\n", Some(Format::Jsonl));
        check("PAR1....", Some(Format::Parquet));
        check("ts,visitor,what\n", Some(Format::Csv));
        check("just some text\n", None);
    }

    #[test]
    fn names_round_trip() {
        for name in Format::NAMES {
            assert_eq!(name.parse::<Format>().unwrap().name(), name);
        }
    }
}
