//! Turning one record's fields into an [`Event`], per format.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, FixedOffset};
use events::{Event, EventType, column};

use crate::catalog::ItemCategories;
use crate::format::Format;
use crate::reject::RowError;
use crate::time::{TimeFormat, parse_time};

/// Settings that shape how values are read.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// For generic formats and `--time-format`.
    pub time_format: TimeFormat,
    /// Zone of times written without an offset.
    pub zone: FixedOffset,
    /// Generic formats: canonical column → source column (`--map`).
    pub mapping: Vec<(String, String)>,
    /// Item → category, e.g. from RetailRocket's item properties and category tree.
    pub item_categories: Option<Arc<ItemCategories>>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            time_format: TimeFormat::Auto,
            zone: FixedOffset::east_opt(0).expect("zero offset"),
            mapping: Vec::new(),
            item_categories: None,
        }
    }
}

/// Parses `canonical=source,…` as given to `--map`.
pub fn parse_mapping(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut mapping = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (canonical, source) = pair
            .split_once('=')
            .ok_or_else(|| format!("--map entry {pair:?} is not canonical=source"))?;
        let canonical = canonical.trim();
        if Field::from_name(canonical).is_none() && !canonical.starts_with("properties.") {
            return Err(format!(
                "--map: {canonical:?} is not a canonical column; use one of {} or properties.<key>",
                events::MAPPABLE_COLUMNS.join(", ")
            ));
        }
        mapping.push((canonical.to_string(), source.trim().to_string()));
    }
    Ok(mapping)
}

/// A canonical field that a generic column can fill.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    EventTime,
    UserId,
    SessionId,
    EventType,
    ItemId,
    CategoryId,
    Category,
    Brand,
    Price,
    Quantity,
    Currency,
    OrderId,
    SearchQuery,
    ReviewText,
    Rating,
    Channel,
    Device,
    Country,
    /// The whole properties map, as a JSON object.
    Properties,
    Property(String),
}

impl Field {
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        use column::*;
        Some(match name {
            EVENT_TIME => Field::EventTime,
            USER_ID => Field::UserId,
            SESSION_ID => Field::SessionId,
            EVENT_TYPE => Field::EventType,
            ITEM_ID => Field::ItemId,
            CATEGORY_ID => Field::CategoryId,
            CATEGORY => Field::Category,
            BRAND => Field::Brand,
            PRICE => Field::Price,
            QUANTITY => Field::Quantity,
            CURRENCY => Field::Currency,
            ORDER_ID => Field::OrderId,
            SEARCH_QUERY => Field::SearchQuery,
            REVIEW_TEXT => Field::ReviewText,
            RATING => Field::Rating,
            CHANNEL => Field::Channel,
            DEVICE => Field::Device,
            COUNTRY => Field::Country,
            PROPERTIES => Field::Properties,
            _ => return name.strip_prefix("properties.").map(|k| Field::Property(k.to_string())),
        })
    }

    fn name(&self) -> &str {
        use column::*;
        match self {
            Field::EventTime => EVENT_TIME,
            Field::UserId => USER_ID,
            Field::SessionId => SESSION_ID,
            Field::EventType => EVENT_TYPE,
            Field::ItemId => ITEM_ID,
            Field::CategoryId => CATEGORY_ID,
            Field::Category => CATEGORY,
            Field::Brand => BRAND,
            Field::Price => PRICE,
            Field::Quantity => QUANTITY,
            Field::Currency => CURRENCY,
            Field::OrderId => ORDER_ID,
            Field::SearchQuery => SEARCH_QUERY,
            Field::ReviewText => REVIEW_TEXT,
            Field::Rating => RATING,
            Field::Channel => CHANNEL,
            Field::Device => DEVICE,
            Field::Country => COUNTRY,
            Field::Properties => PROPERTIES,
            Field::Property(key) => key,
        }
    }

    /// Sets this field of `event` from text. Empty text leaves it unset.
    pub(crate) fn set(
        &self,
        event: &mut Event,
        value: &str,
        options: &ParseOptions,
        seen_time: &mut bool,
        strings: &mut Strings,
    ) -> Result<(), RowError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        let mut text = || Some(strings.copy(value));
        match self {
            Field::EventTime => {
                event.event_time = parse_time(value, &options.time_format, options.zone)
                    .ok_or_else(|| RowError::bad_timestamp(self.name(), value))?;
                *seen_time = true;
            }
            Field::UserId => event.user_id = strings.copy(value),
            Field::SessionId => event.session_id = text(),
            Field::EventType => {
                event.event_type = value.parse().map_err(|_| {
                    RowError::new(
                        "bad_event_type",
                        Some("event_type"),
                        format!("invalid event type {value:?}"),
                    )
                })?
            }
            Field::ItemId => event.item_id = text(),
            Field::CategoryId => event.category_id = text(),
            Field::Category => event.category = text(),
            Field::Brand => event.brand = text(),
            Field::Price => event.price = Some(number(self.name(), value)?),
            Field::Quantity => event.quantity = Some(integer(self.name(), value)?),
            Field::Currency => event.currency = Some(value.to_ascii_uppercase()),
            Field::OrderId => event.order_id = text(),
            Field::SearchQuery => event.search_query = text(),
            Field::ReviewText => event.review_text = text(),
            Field::Rating => event.rating = Some(number(self.name(), value)?),
            Field::Channel => event.channel = text(),
            Field::Device => event.device = text(),
            Field::Country => event.country = text(),
            Field::Properties => {
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(value).map_err(|e| {
                        RowError::new(
                            "bad_json",
                            Some("properties"),
                            format!("properties is not a JSON object: {e}"),
                        )
                    })?;
                for (key, value) in object {
                    event.properties.insert(key, json_text(&value));
                }
            }
            Field::Property(key) => {
                event.properties.insert(key.clone(), value.to_string());
            }
        }
        Ok(())
    }
}

pub(crate) fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn number(field: &str, value: &str) -> Result<f64, RowError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| RowError::bad_number(field, value))
}

fn integer(field: &str, value: &str) -> Result<i64, RowError> {
    // Spreadsheet exports write integers as `3.0`.
    value
        .parse::<i64>()
        .ok()
        .or_else(|| {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && v.abs() < 9e15)
                .map(|v| v as i64)
        })
        .ok_or_else(|| RowError::bad_number(field, value))
}

/// Strings of the events parsed before, kept to hold the next rows' text, so
/// that a parser allocates nothing per row once it has warmed up.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    spare: Vec<String>,
}

impl Strings {
    /// `value` in a recycled string.
    fn copy(&mut self, value: &str) -> String {
        let mut text = self.spare.pop().unwrap_or_default();
        text.push_str(value);
        text
    }

    /// Trimmed `value`, or `None` when that is empty.
    fn id(&mut self, value: &str) -> Option<String> {
        let value = value.trim();
        (!value.is_empty()).then(|| self.copy(value))
    }

    /// Takes back the strings of an event that is done with.
    pub(crate) fn recycle(&mut self, event: Event) {
        let optional = [
            event.session_id,
            event.item_id,
            event.category_id,
            event.category,
            event.brand,
            event.currency,
            event.order_id,
            event.search_query,
            event.review_text,
            event.channel,
            event.device,
            event.country,
        ];
        for mut text in std::iter::once(event.user_id).chain(optional.into_iter().flatten()) {
            // Strings that grew unusually long are not kept, to bound the pool.
            if self.spare.len() < 64 && text.capacity() <= 256 {
                text.clear();
                self.spare.push(text);
            }
        }
    }
}

/// Generic columns: which canonical field each source column fills.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub(crate) fields: Vec<Field>,
}

impl ColumnMap {
    /// Maps a header: `--map` entries first, then columns named like a
    /// canonical column, and every other column into `properties`.
    pub(crate) fn from_header(
        header: &[String],
        mapping: &[(String, String)],
    ) -> Result<Self, String> {
        let mut fields = Vec::with_capacity(header.len());
        for name in header {
            let name = name.trim();
            let mapped = mapping.iter().find(|(_, source)| source == name).map(|(c, _)| c.as_str());
            let field = match mapped {
                Some(canonical) => Field::from_name(canonical).expect("checked by parse_mapping"),
                None if mapping.iter().any(|(canonical, _)| canonical == name) => {
                    // Another column was mapped onto this name; keep this one as a property.
                    Field::Property(name.to_string())
                }
                None => Field::from_name(name).unwrap_or_else(|| Field::Property(name.to_string())),
            };
            fields.push(field);
        }
        for (canonical, source) in mapping {
            if !header.iter().any(|h| h.trim() == source) {
                return Err(format!(
                    "--map {canonical}={source}: the input has no column {source:?}"
                ));
            }
        }
        for required in [Field::EventTime, Field::UserId, Field::EventType] {
            if !fields.contains(&required) {
                return Err(format!(
                    "no column for {}; name one with --map {}=<column>",
                    required.name(),
                    required.name()
                ));
            }
        }
        Ok(ColumnMap { fields })
    }
}

/// Online Retail columns by name, since its two published versions differ.
#[derive(Debug, Clone)]
pub struct OnlineRetailColumns {
    invoice: usize,
    stock_code: usize,
    description: usize,
    quantity: usize,
    date: usize,
    price: usize,
    customer: usize,
    country: usize,
    /// Columns in the header; the names above may be found past the eighth.
    width: usize,
}

impl OnlineRetailColumns {
    fn from_header(header: &[String]) -> Result<Self, String> {
        let find = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
                .ok_or_else(|| names[0].to_string())
        };
        Ok(OnlineRetailColumns {
            invoice: find(&["InvoiceNo", "Invoice"])?,
            stock_code: find(&["StockCode"])?,
            description: find(&["Description"])?,
            quantity: find(&["Quantity"])?,
            date: find(&["InvoiceDate"])?,
            price: find(&["UnitPrice", "Price"])?,
            customer: find(&["CustomerID", "Customer ID"])?,
            country: find(&["Country"])?,
            width: header.len(),
        })
    }
}

/// Parses records of one file. Built from the format and, where the format
/// has one, the header.
#[derive(Debug, Clone)]
pub enum RowParser {
    Rees46,
    Taobao,
    RetailRocket,
    Diginetica,
    Yoochoose,
    OnlineRetail(OnlineRetailColumns),
    Cdnow,
    /// CSV and Parquet: columns in header order.
    Columns(ColumnMap),
    /// JSON Lines: keys by name, through the `--map` entries.
    Jsonl(HashMap<String, Field>),
}

impl RowParser {
    pub(crate) fn new(
        format: Format,
        header: Option<&[String]>,
        options: &ParseOptions,
    ) -> Result<Self, String> {
        let header = header.unwrap_or_default();
        Ok(match format {
            Format::Rees46 => RowParser::Rees46,
            Format::Taobao => RowParser::Taobao,
            Format::RetailRocket => RowParser::RetailRocket,
            Format::Diginetica => RowParser::Diginetica,
            Format::Yoochoose => RowParser::Yoochoose,
            Format::Cdnow => RowParser::Cdnow,
            Format::OnlineRetail => RowParser::OnlineRetail(
                OnlineRetailColumns::from_header(header)
                    .map_err(|c| format!("Online Retail header has no column {c:?}"))?,
            ),
            Format::Csv | Format::Parquet => {
                RowParser::Columns(ColumnMap::from_header(header, &options.mapping)?)
            }
            Format::Jsonl => RowParser::Jsonl(
                options
                    .mapping
                    .iter()
                    .map(|(canonical, source)| {
                        (
                            source.clone(),
                            Field::from_name(canonical).expect("checked by parse_mapping"),
                        )
                    })
                    .collect(),
            ),
        })
    }

    fn format(&self) -> Format {
        match self {
            RowParser::Rees46 => Format::Rees46,
            RowParser::Taobao => Format::Taobao,
            RowParser::RetailRocket => Format::RetailRocket,
            RowParser::Diginetica => Format::Diginetica,
            RowParser::Yoochoose => Format::Yoochoose,
            RowParser::OnlineRetail(_) => Format::OnlineRetail,
            RowParser::Cdnow => Format::Cdnow,
            RowParser::Columns(_) => Format::Csv,
            RowParser::Jsonl(_) => Format::Jsonl,
        }
    }

    fn expect_columns(fields: &[Cow<'_, str>], expected: usize) -> Result<(), RowError> {
        if fields.len() != expected {
            return Err(RowError::column_count(expected, fields.len()));
        }
        Ok(())
    }

    /// Parses one record's fields. For JSON Lines `fields` holds the one line.
    pub(crate) fn parse(
        &self,
        fields: &[Cow<'_, str>],
        options: &ParseOptions,
        strings: &mut Strings,
    ) -> Result<Event, RowError> {
        let time = |field: &str, value: &str| {
            parse_time(value, &TimeFormat::Auto, options.zone)
                .ok_or_else(|| RowError::bad_timestamp(field, value))
        };
        let mut event = Event::default();
        match self {
            RowParser::Rees46 => {
                Self::expect_columns(fields, 9)?;
                event.event_time = time("event_time", &fields[0])?;
                event.event_type = event_type(&fields[1])?;
                event.item_id = strings.id(&fields[2]);
                event.category_id = strings.id(&fields[3]);
                event.category = strings.id(&fields[4]);
                event.brand = strings.id(&fields[5]);
                if !fields[6].trim().is_empty() {
                    event.price = Some(number("price", fields[6].trim())?);
                }
                event.user_id = strings.copy(fields[7].trim());
                event.session_id = strings.id(&fields[8]);
                event.quantity = matches!(event.event_type, EventType::Purchase).then_some(1);
            }
            RowParser::Taobao => {
                Self::expect_columns(fields, 5)?;
                event.user_id = fields[0].trim().to_string();
                event.item_id = strings.id(&fields[1]);
                event.category_id = strings.id(&fields[2]);
                event.event_type = match fields[3].trim() {
                    "fav" => EventType::Custom("favorite".into()),
                    other => event_type(other)?,
                };
                event.event_time =
                    parse_time(&fields[4], &TimeFormat::UnixSeconds, options.zone)
                        .ok_or_else(|| RowError::bad_timestamp("timestamp", &fields[4]))?;
            }
            RowParser::RetailRocket => {
                Self::expect_columns(fields, 5)?;
                event.event_time = parse_time(&fields[0], &TimeFormat::UnixMillis, options.zone)
                    .ok_or_else(|| RowError::bad_timestamp("timestamp", &fields[0]))?;
                event.user_id = fields[1].trim().to_string();
                event.event_type = event_type(&fields[2])?;
                event.item_id = strings.id(&fields[3]);
                event.order_id = strings.id(&fields[4]);
                if event.event_type == EventType::Purchase {
                    // One transaction row is one item bought; prices are not published.
                    event.quantity = Some(1);
                }
            }
            RowParser::Diginetica => {
                Self::expect_columns(fields, 5)?;
                let session = fields[0].trim();
                if session.is_empty() {
                    return Err(RowError::missing("session_id"));
                }
                event.session_id = Some(session.to_string());
                event.user_id = match fields[1].trim() {
                    "" | "NA" => format!("anon:{session}"),
                    user => user.to_string(),
                };
                event.item_id = strings.id(&fields[2]);
                let offset: i64 = fields[3]
                    .trim()
                    .parse()
                    .map_err(|_| RowError::bad_number("timeframe", &fields[3]))?;
                let day = time("eventdate", &fields[4])?;
                event.event_time = day + Duration::milliseconds(offset);
                event.event_type = EventType::View;
                event.properties.insert("timeframe".into(), offset.to_string());
            }
            RowParser::Yoochoose => {
                Self::expect_columns(fields, 3)?;
                let session = fields[0].trim();
                if session.is_empty() {
                    return Err(RowError::missing("session_id"));
                }
                event.session_id = Some(session.to_string());
                event.user_id = format!("anon:{session}");
                event.item_id = strings.id(&fields[1]);
                event.event_time = parse_time(&fields[2], &TimeFormat::UnixSeconds, options.zone)
                    .ok_or_else(|| RowError::bad_timestamp("Time", &fields[2]))?;
                event.event_type = EventType::View;
            }
            RowParser::OnlineRetail(columns) => {
                Self::expect_columns(fields, columns.width)?;
                let invoice = fields[columns.invoice].trim();
                event.order_id = strings.id(invoice);
                event.item_id = strings.id(&fields[columns.stock_code]);
                if let Some(description) = strings.id(&fields[columns.description]) {
                    event.properties.insert("description".into(), description);
                }
                let quantity = integer("Quantity", fields[columns.quantity].trim())?;
                event.event_time = time("InvoiceDate", &fields[columns.date])?;
                event.price = Some(number("UnitPrice", fields[columns.price].trim())?);
                event.user_id = fields[columns.customer].trim().trim_end_matches(".0").to_string();
                event.country = strings.id(&fields[columns.country]);
                event.currency = Some("GBP".into());
                // Cancellation invoices (`C…`) carry negative quantities: refunds.
                if invoice.starts_with(['C', 'c']) {
                    event.event_type = EventType::Refund;
                    event.quantity = Some(quantity.saturating_abs());
                } else {
                    event.event_type = EventType::Purchase;
                    event.quantity = Some(quantity);
                }
            }
            RowParser::Cdnow => {
                Self::expect_columns(fields, 4)?;
                event.user_id = fields[0].to_string();
                event.event_time =
                    parse_time(&fields[1], &TimeFormat::Pattern("%Y%m%d".into()), options.zone)
                        .ok_or_else(|| RowError::bad_timestamp("date", &fields[1]))?;
                let count = integer("number_of_cds", &fields[2])?;
                let value = number("dollar_value", &fields[3])?;
                event.event_type = EventType::Purchase;
                event.quantity = Some(count);
                event.item_id = Some("cd".into());
                event.currency = Some("USD".into());
                // The log records the order total; the model holds unit prices.
                event.price = Some(if count > 0 { value / count as f64 } else { value });
                event.properties.insert("order_value".into(), fields[3].to_string());
            }
            RowParser::Columns(map) => {
                if fields.len() != map.fields.len() {
                    return Err(RowError::column_count(map.fields.len(), fields.len()));
                }
                let mut seen_time = false;
                for (field, value) in map.fields.iter().zip(fields) {
                    field.set(&mut event, value, options, &mut seen_time, strings)?;
                }
                if !seen_time {
                    return Err(RowError::missing("event_time"));
                }
            }
            RowParser::Jsonl(mapping) => {
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&fields[0]).map_err(|e| {
                        RowError::new("bad_json", None, format!("not a JSON object: {e}"))
                    })?;
                let mut seen_time = false;
                for (key, value) in &object {
                    let field = mapping
                        .get(key)
                        .cloned()
                        .or_else(|| Field::from_name(key))
                        .unwrap_or_else(|| Field::Property(key.clone()));
                    match (&field, value) {
                        (_, serde_json::Value::Null) => {}
                        (Field::Properties, serde_json::Value::Object(inner)) => {
                            for (k, v) in inner {
                                event.properties.insert(k.clone(), json_text(v));
                            }
                        }
                        _ => field.set(
                            &mut event,
                            &json_text(value),
                            options,
                            &mut seen_time,
                            strings,
                        )?,
                    }
                }
                if !seen_time {
                    return Err(RowError::missing("event_time"));
                }
            }
        }
        if event.user_id.is_empty() {
            return Err(RowError::missing("user_id"));
        }
        if let (Some(categories), Some(item)) = (&options.item_categories, &event.item_id)
            && event.category.is_none()
            && let Some((category_id, path)) = categories.lookup(item, event.event_time)
        {
            event.category_id.get_or_insert_with(|| category_id.to_string());
            event.category = Some(path.to_string());
        }
        let rules = events::Rules { purchase_needs_price: self.format().has_prices() };
        events::validate_with(&event, &rules)
            .map_err(|e| RowError::new(e.reason_code(), Some(e.field()), e.to_string()))?;
        Ok(event)
    }
}

fn event_type(text: &str) -> Result<EventType, RowError> {
    text.parse().map_err(|_| {
        RowError::new("bad_event_type", Some("event_type"), format!("invalid event type {text:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_csv(parser: &RowParser, row: &str, strings: &mut Strings) -> Event {
        let fields: Vec<Cow<'_, str>> = row.split(',').map(Cow::Borrowed).collect();
        parser.parse(&fields, &ParseOptions::default(), strings).unwrap()
    }

    #[test]
    fn recycled_strings_carry_nothing_into_the_next_row() {
        let header: Vec<String> =
            ["event_time", "user_id", "event_type", "item_id", "brand", "channel", "other"]
                .map(String::from)
                .to_vec();
        let parser = RowParser::new(Format::Csv, Some(&header), &ParseOptions::default()).unwrap();
        let rows = [
            "2024-01-01T00:00:00Z,a-long-user-name,view,item-number-one,some brand,organic,x",
            "2024-01-01T00:00:01Z,u2,add_to_cart,i2,,,",
            "2024-01-01T00:00:02Z,u,view,i,,email,y",
        ];
        let mut warm = Strings::default();
        for row in rows {
            let event = parse_csv(&parser, row, &mut warm);
            assert_eq!(event, parse_csv(&parser, row, &mut Strings::default()), "{row}");
            warm.recycle(event);
        }
        assert!(!warm.spare.is_empty());
    }
}
