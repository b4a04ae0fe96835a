//! The canonical smartfunnel event model.
//!
//! Every importer turns its source format into [`Event`]s; the lake stores them
//! with [`schema()`]; every analysis reads the columns named here. This crate
//! has no I/O and no async so that anything can depend on it cheaply.
//!
//! Architecture invariant: the column names and types in [`schema()`] are the
//! on-disk contract of the lake. Adding a nullable column is compatible;
//! renaming or retyping one is a migration.

mod event_type;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};

pub use event_type::EventType;
pub use validate::{Rules, ValidationError, validate, validate_with};

/// One behaviour event, as imported. Optional fields are `None` when the
/// source does not have them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// When it happened, UTC, microsecond precision.
    pub event_time: DateTime<Utc>,
    /// The shopper. Anonymous sources use a session-derived id (`anon:<session>`).
    pub user_id: String,
    /// The session id from the source, if it has one; sessionisation fills
    /// the rest in.
    pub session_id: Option<String>,
    pub event_type: EventType,
    pub item_id: Option<String>,
    /// The source's category identifier (e.g. a numeric id).
    pub category_id: Option<String>,
    /// Human-readable category path from the top level to the leaf,
    /// dot-separated (`electronics.smartphone`).
    pub category: Option<String>,
    pub brand: Option<String>,
    /// Unit price in `currency`.
    pub price: Option<f64>,
    pub quantity: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    pub order_id: Option<String>,
    pub search_query: Option<String>,
    pub review_text: Option<String>,
    /// Review rating, usually 1–5.
    pub rating: Option<f64>,
    pub channel: Option<String>,
    pub device: Option<String>,
    pub country: Option<String>,
    /// Anything else the source had, by name.
    pub properties: BTreeMap<String, String>,
}

impl Event {
    /// A deterministic id computed from the event's content, so that importing
    /// the same row twice yields the same id and the lake can drop it.
    ///
    /// Two rows that agree on every field are the same event (an exact
    /// duplicate); any differing field gives a different id.
    pub fn content_id(&self) -> String {
        format!("{:032x}", self.content_hash())
    }

    /// The 128-bit hash behind [`Event::content_id`], which is its hex form.
    pub fn content_hash(&self) -> u128 {
        thread_local! {
            /// The hashed bytes, gathered so that they are hashed in one call
            /// (the same digest as feeding them field by field, but faster).
            static CONTENT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        CONTENT.with_borrow_mut(|content| {
            content.clear();
            let mut field = |bytes: &[u8]| {
                // Length-prefix each field so ("ab","c") and ("a","bc") differ.
                content.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                content.extend_from_slice(bytes);
            };
            field(&self.event_time.timestamp_micros().to_le_bytes());
            field(self.user_id.as_bytes());
            field(self.event_type.as_str().as_bytes());
            for text in [
                &self.session_id,
                &self.item_id,
                &self.category_id,
                &self.category,
                &self.brand,
                &self.currency,
                &self.order_id,
                &self.search_query,
                &self.review_text,
                &self.channel,
                &self.device,
                &self.country,
            ] {
                field(text.as_deref().unwrap_or("\u{0}").as_bytes());
            }
            for number in [self.price, self.rating] {
                field(&number.map_or(u64::MAX, f64::to_bits).to_le_bytes());
            }
            field(&self.quantity.unwrap_or(i64::MIN).to_le_bytes());
            for (key, value) in &self.properties {
                field(key.as_bytes());
                field(value.as_bytes());
            }
            xxhash_rust::xxh3::xxh3_128(content)
        })
    }

    /// The UTC calendar date, which is the lake's partition.
    pub fn event_date(&self) -> NaiveDate {
        self.event_time.date_naive()
    }
}

/// Column names of the lake's `events` table, in schema order.
pub mod column {
    pub const EVENT_ID: &str = "event_id";
    pub const EVENT_TIME: &str = "event_time";
    pub const EVENT_DATE: &str = "event_date";
    pub const USER_ID: &str = "user_id";
    pub const SESSION_ID: &str = "session_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const ITEM_ID: &str = "item_id";
    pub const CATEGORY_ID: &str = "category_id";
    pub const CATEGORY: &str = "category";
    pub const BRAND: &str = "brand";
    pub const PRICE: &str = "price";
    pub const QUANTITY: &str = "quantity";
    pub const CURRENCY: &str = "currency";
    pub const ORDER_ID: &str = "order_id";
    pub const SEARCH_QUERY: &str = "search_query";
    pub const REVIEW_TEXT: &str = "review_text";
    pub const RATING: &str = "rating";
    pub const CHANNEL: &str = "channel";
    pub const DEVICE: &str = "device";
    pub const COUNTRY: &str = "country";
    pub const PROPERTIES: &str = "properties";
    pub const IS_BOT: &str = "is_bot";
    pub const SOURCE_FILE: &str = "source_file";
}

/// The columns a generic CSV / JSON Lines / Parquet file may map onto with
/// `--map canonical=source`, i.e. every [`Event`] field plus `properties.<key>`.
pub const MAPPABLE_COLUMNS: &[&str] = CSV_COLUMNS.split_at(CSV_COLUMNS.len() - 1).0;

/// The header of canonical CSV, which `generate` writes and `import` reads
/// without a mapping: the mappable columns, then `properties` as a JSON object.
pub const CSV_COLUMNS: &[&str] = &[
    column::EVENT_TIME,
    column::USER_ID,
    column::SESSION_ID,
    column::EVENT_TYPE,
    column::ITEM_ID,
    column::CATEGORY_ID,
    column::CATEGORY,
    column::BRAND,
    column::PRICE,
    column::QUANTITY,
    column::CURRENCY,
    column::ORDER_ID,
    column::SEARCH_QUERY,
    column::REVIEW_TEXT,
    column::RATING,
    column::CHANNEL,
    column::DEVICE,
    column::COUNTRY,
    column::PROPERTIES,
];

/// The Arrow schema of the lake's `events` table.
///
/// `event_date` is the partition column (the UTC date of `event_time`).
/// `session_id` is never null in the lake: sessionisation fills it in.
pub fn schema() -> SchemaRef {
    use column::*;
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let properties = DataType::Map(
        Arc::new(Field::new(
            "key_value",
            DataType::Struct(
                vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    );
    Arc::new(Schema::new(vec![
        text(EVENT_ID, false),
        Field::new(
            EVENT_TIME,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new(EVENT_DATE, DataType::Date32, false),
        text(USER_ID, false),
        text(SESSION_ID, false),
        text(EVENT_TYPE, false),
        text(ITEM_ID, true),
        text(CATEGORY_ID, true),
        text(CATEGORY, true),
        text(BRAND, true),
        Field::new(PRICE, DataType::Float64, true),
        Field::new(QUANTITY, DataType::Int64, true),
        text(CURRENCY, true),
        text(ORDER_ID, true),
        text(SEARCH_QUERY, true),
        text(REVIEW_TEXT, true),
        Field::new(RATING, DataType::Float64, true),
        text(CHANNEL, true),
        text(DEVICE, true),
        text(COUNTRY, true),
        Field::new(PROPERTIES, properties, true),
        Field::new(IS_BOT, DataType::Boolean, false),
        text(SOURCE_FILE, true),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn purchase() -> Event {
        Event {
            event_time: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
            user_id: "u1".into(),
            event_type: EventType::Purchase,
            item_id: Some("i9".into()),
            price: Some(19.99),
            quantity: Some(1),
            ..Event::default()
        }
    }

    #[test]
    fn content_id_is_stable_and_sensitive_to_every_field() {
        let base = purchase();
        // Lakes hold these ids: how they are computed must not change them.
        assert_eq!(base.content_id(), "034724a1b640044e8942d053f651668b");
        let mut with_properties = purchase();
        with_properties.properties.insert("k".into(), "v".into());
        with_properties.session_id = Some("s".into());
        assert_eq!(with_properties.content_id(), "a59e75f6d7a02ec42a197735687aa216");
        assert_eq!(base.content_id(), purchase().content_id());
        assert_eq!(base.content_id().len(), 32);
        let mut other = purchase();
        other.price = Some(19.98);
        assert_ne!(base.content_id(), other.content_id());
        let mut other = purchase();
        other.properties.insert("k".into(), "v".into());
        assert_ne!(base.content_id(), other.content_id());
        let mut other = purchase();
        other.session_id = Some(String::new());
        assert_ne!(base.content_id(), other.content_id(), "empty differs from missing");
    }

    #[test]
    fn schema_names_every_mappable_column() {
        let schema = schema();
        for name in MAPPABLE_COLUMNS {
            assert!(schema.field_with_name(name).is_ok(), "{name}");
        }
    }
}
