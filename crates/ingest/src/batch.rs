//! Events → Arrow record batches in the lake's column layout.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, MapBuilder,
    MapFieldNames, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use events::{Event, column};

/// The lake schema with `session_id` nullable: what parsers produce before
/// sessionisation fills the missing ids in.
pub fn staging_schema() -> SchemaRef {
    let lake = events::schema();
    let fields: Vec<Field> = lake
        .fields()
        .iter()
        .map(|f| {
            if f.name() == column::SESSION_ID {
                f.as_ref().clone().with_nullable(true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Accumulates events column by column.
pub struct EventBatchBuilder {
    event_id: StringBuilder,
    event_time: TimestampMicrosecondBuilder,
    event_date: Date32Builder,
    user_id: StringBuilder,
    session_id: StringBuilder,
    event_type: StringBuilder,
    item_id: StringBuilder,
    category_id: StringBuilder,
    category: StringBuilder,
    brand: StringBuilder,
    price: Float64Builder,
    quantity: Int64Builder,
    currency: StringBuilder,
    order_id: StringBuilder,
    search_query: StringBuilder,
    review_text: StringBuilder,
    rating: Float64Builder,
    channel: StringBuilder,
    device: StringBuilder,
    country: StringBuilder,
    properties: MapBuilder<StringBuilder, StringBuilder>,
    is_bot: BooleanBuilder,
    source_file: StringBuilder,
    rows: usize,
}

impl Default for EventBatchBuilder {
    fn default() -> Self {
        let names =
            MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
        EventBatchBuilder {
            event_id: StringBuilder::new(),
            event_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            event_date: Date32Builder::new(),
            user_id: StringBuilder::new(),
            session_id: StringBuilder::new(),
            event_type: StringBuilder::new(),
            item_id: StringBuilder::new(),
            category_id: StringBuilder::new(),
            category: StringBuilder::new(),
            brand: StringBuilder::new(),
            price: Float64Builder::new(),
            quantity: Int64Builder::new(),
            currency: StringBuilder::new(),
            order_id: StringBuilder::new(),
            search_query: StringBuilder::new(),
            review_text: StringBuilder::new(),
            rating: Float64Builder::new(),
            channel: StringBuilder::new(),
            device: StringBuilder::new(),
            country: StringBuilder::new(),
            properties: MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new()),
            is_bot: BooleanBuilder::new(),
            source_file: StringBuilder::new(),
            rows: 0,
        }
    }
}

impl EventBatchBuilder {
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn push(&mut self, event: &Event, source_file: Option<&str>) {
        self.event_id.append_value(hex_id(event.content_hash()).as_str());
        self.event_time.append_value(event.event_time.timestamp_micros());
        self.event_date
            .append_value(event.event_date().num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE);
        self.user_id.append_value(&event.user_id);
        self.session_id.append_option(event.session_id.as_deref());
        self.event_type.append_value(event.event_type.as_str());
        self.item_id.append_option(event.item_id.as_deref());
        self.category_id.append_option(event.category_id.as_deref());
        self.category.append_option(event.category.as_deref());
        self.brand.append_option(event.brand.as_deref());
        self.price.append_option(event.price);
        self.quantity.append_option(event.quantity);
        self.currency.append_option(event.currency.as_deref());
        self.order_id.append_option(event.order_id.as_deref());
        self.search_query.append_option(event.search_query.as_deref());
        self.review_text.append_option(event.review_text.as_deref());
        self.rating.append_option(event.rating);
        self.channel.append_option(event.channel.as_deref());
        self.device.append_option(event.device.as_deref());
        self.country.append_option(event.country.as_deref());
        if event.properties.is_empty() {
            self.properties.append(false).expect("map builder");
        } else {
            for (key, value) in &event.properties {
                self.properties.keys().append_value(key);
                self.properties.values().append_value(value);
            }
            self.properties.append(true).expect("map builder");
        }
        self.is_bot.append_value(false);
        self.source_file.append_option(source_file);
        self.rows += 1;
    }

    /// Takes the accumulated rows as a batch in [`staging_schema`].
    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.event_time.finish()),
            Arc::new(self.event_date.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.item_id.finish()),
            Arc::new(self.category_id.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.brand.finish()),
            Arc::new(self.price.finish()),
            Arc::new(self.quantity.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.order_id.finish()),
            Arc::new(self.search_query.finish()),
            Arc::new(self.review_text.finish()),
            Arc::new(self.rating.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.country.finish()),
            Arc::new(self.properties.finish()),
            Arc::new(self.is_bot.finish()),
            Arc::new(self.source_file.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(staging_schema(), columns).expect("builders match the staging schema")
    }
}

use chrono::Datelike as _;

/// `format!("{id:032x}")` without the allocation: the hex form of a content id.
struct HexId([u8; 32]);

impl HexId {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

fn hex_id(id: u128) -> HexId {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    for (position, digit) in text.iter_mut().enumerate() {
        *digit = DIGITS[(id >> (124 - 4 * position)) as usize & 0xf];
    }
    HexId(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hex_ids_are_the_content_ids() {
        for id in [0, 1, 0xabc, u128::MAX, u128::MAX / 3, 1 << 127] {
            assert_eq!(hex_id(id).as_str(), format!("{id:032x}"));
        }
        let event = Event { user_id: "u".into(), ..Event::default() };
        assert_eq!(hex_id(event.content_hash()).as_str(), event.content_id());
    }

    #[test]
    fn batches_have_the_staging_schema_and_lake_types() {
        let mut builder = EventBatchBuilder::default();
        let mut event = Event {
            event_time: chrono::Utc.with_ymd_and_hms(2019, 10, 1, 23, 59, 59).unwrap(),
            user_id: "u".into(),
            item_id: Some("i".into()),
            ..Event::default()
        };
        builder.push(&event, Some("f.csv"));
        event.properties.insert("k".into(), "v".into());
        builder.push(&event, None);
        let batch = builder.finish();
        assert_eq!(batch.num_rows(), 2);
        let lake = events::schema();
        for (ours, theirs) in batch.schema().fields().iter().zip(lake.fields()) {
            assert_eq!(ours.name(), theirs.name());
            assert_eq!(ours.data_type(), theirs.data_type(), "{}", ours.name());
        }
        let dates = batch.column(2).as_any().downcast_ref::<arrow::array::Date32Array>().unwrap();
        assert_eq!(dates.value_as_date(0).unwrap().to_string(), "2019-10-01");
    }
}
