//! The canonical CSV form of generated events.

use std::fmt::Write as _;
use std::io;

use chrono::{DateTime, Datelike, Timelike, Utc};
use events::Event;
use rayon::prelude::*;

/// The header of the canonical CSV: [`events::MAPPABLE_COLUMNS`] in order,
/// then `properties` (a JSON object, empty when there are none).
pub const CSV_HEADER: &[&str] = events::CSV_COLUMNS;

/// Writes events as canonical CSV: `event_time` in RFC 3339 with six
/// fractional digits and `Z` (`2024-01-01T08:15:02.123456Z`), numbers in
/// their shortest round-tripping form, empty fields for `None`, quoting by
/// the `csv` crate.
///
/// Rows are encoded into an internal buffer and handed to the inner writer
/// in large pieces; [`CsvEventWriter::write_all`] encodes big slices on all
/// cores (rayon) and writes the pieces in order, so the bytes are the same as
/// writing the events one by one.
pub struct CsvEventWriter<W: io::Write> {
    inner: W,
    /// Encoded rows not yet handed to `inner`.
    pending: Vec<u8>,
    scratch: String,
}

/// `pending` is handed to the inner writer once it holds this many bytes.
const FLUSH_AT_BYTES: usize = 256 * 1024;
/// Rows one parallel task encodes.
const ROWS_PER_TASK: usize = 2_048;
/// Rows encoded before their bytes are written out, bounding the memory.
const ROWS_PER_BATCH: usize = 64 * 1024;

impl<W: io::Write> CsvEventWriter<W> {
    /// Wraps `writer` and writes the header line.
    pub fn new(writer: W) -> io::Result<Self> {
        let mut this = CsvEventWriter {
            inner: writer,
            pending: Vec::with_capacity(FLUSH_AT_BYTES + 64 * 1024),
            scratch: String::with_capacity(64),
        };
        let mut encoder = row_encoder(&mut this.pending, 1024);
        encoder.write_record(CSV_HEADER)?;
        encoder.flush()?;
        drop(encoder);
        this.flush_if_full()?;
        Ok(this)
    }

    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        let mut encoder = row_encoder(&mut self.pending, 512);
        encode_row(&mut encoder, &mut self.scratch, event)?;
        encoder.flush()?;
        drop(encoder);
        self.flush_if_full()
    }

    /// Writes every event of `events`, in order.
    pub fn write_all(&mut self, events: &[Event]) -> io::Result<()> {
        if events.len() < 2 * ROWS_PER_TASK {
            let mut encoder = row_encoder(&mut self.pending, 64 * 1024);
            for event in events {
                encode_row(&mut encoder, &mut self.scratch, event)?;
            }
            encoder.flush()?;
            drop(encoder);
            return self.flush_if_full();
        }
        self.inner.write_all(&self.pending)?;
        self.pending.clear();
        for batch in events.chunks(ROWS_PER_BATCH) {
            let pieces: Vec<io::Result<Vec<u8>>> = batch
                .par_chunks(ROWS_PER_TASK)
                .map(|rows| {
                    let mut bytes = Vec::with_capacity(rows.len() * 256);
                    let mut encoder = row_encoder(&mut bytes, 64 * 1024);
                    let mut scratch = String::with_capacity(64);
                    for event in rows {
                        encode_row(&mut encoder, &mut scratch, event)?;
                    }
                    encoder.flush()?;
                    drop(encoder);
                    Ok(bytes)
                })
                .collect();
            for piece in pieces {
                self.inner.write_all(&piece?)?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered, flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(&self.pending)?;
        self.pending.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.pending.len() >= FLUSH_AT_BYTES {
            self.inner.write_all(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// A `csv` writer appending to `out`.
fn row_encoder(out: &mut Vec<u8>, buffer_bytes: usize) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new().buffer_capacity(buffer_bytes).from_writer(out)
}

/// One event as one CSV record.
fn encode_row<W: io::Write>(
    writer: &mut csv::Writer<W>,
    scratch: &mut String,
    event: &Event,
) -> csv::Result<()> {
    scratch.clear();
    format_event_time(scratch, &event.event_time);
    writer.write_field(scratch.as_bytes())?;
    writer.write_field(&event.user_id)?;
    write_optional(writer, &event.session_id)?;
    writer.write_field(event.event_type.as_str())?;
    write_optional(writer, &event.item_id)?;
    write_optional(writer, &event.category_id)?;
    write_optional(writer, &event.category)?;
    write_optional(writer, &event.brand)?;
    write_number(writer, scratch, event.price)?;
    scratch.clear();
    if let Some(quantity) = event.quantity {
        write!(scratch, "{quantity}").expect("writing to a String");
    }
    writer.write_field(scratch.as_bytes())?;
    write_optional(writer, &event.currency)?;
    write_optional(writer, &event.order_id)?;
    write_optional(writer, &event.search_query)?;
    write_optional(writer, &event.review_text)?;
    write_number(writer, scratch, event.rating)?;
    write_optional(writer, &event.channel)?;
    write_optional(writer, &event.device)?;
    write_optional(writer, &event.country)?;
    scratch.clear();
    if !event.properties.is_empty() {
        scratch.push('{');
        for (index, (key, value)) in event.properties.iter().enumerate() {
            if index > 0 {
                scratch.push(',');
            }
            push_json_string(scratch, key);
            scratch.push(':');
            push_json_string(scratch, value);
        }
        scratch.push('}');
    }
    writer.write_field(scratch.as_bytes())?;
    writer.write_record(None::<&[u8]>)
}

fn write_optional<W: io::Write>(
    writer: &mut csv::Writer<W>,
    value: &Option<String>,
) -> csv::Result<()> {
    writer.write_field(value.as_deref().unwrap_or(""))
}

fn write_number<W: io::Write>(
    writer: &mut csv::Writer<W>,
    scratch: &mut String,
    value: Option<f64>,
) -> csv::Result<()> {
    scratch.clear();
    if let Some(value) = value {
        // `Display` for f64 prints the shortest text that parses back to the
        // same value.
        write!(scratch, "{value}").expect("writing to a String");
    }
    writer.write_field(scratch.as_bytes())
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, written by hand because chrono's
/// formatter dominated the writer's profile.
pub(crate) fn format_event_time(out: &mut String, time: &DateTime<Utc>) {
    let year = time.year();
    if !(0..=9999).contains(&year) {
        write!(out, "{}", time.format("%Y-%m-%dT%H:%M:%S%.6fZ")).expect("writing to a String");
        return;
    }
    let micros = time.timestamp_subsec_micros().min(999_999);
    push_digits(out, year as u32, 4);
    out.push('-');
    push_digits(out, time.month(), 2);
    out.push('-');
    push_digits(out, time.day(), 2);
    out.push('T');
    push_digits(out, time.hour(), 2);
    out.push(':');
    push_digits(out, time.minute(), 2);
    out.push(':');
    push_digits(out, time.second(), 2);
    out.push('.');
    push_digits(out, micros, 6);
    out.push('Z');
}

fn push_digits(out: &mut String, value: u32, width: usize) {
    let mut buffer = [b'0'; 10];
    let mut rest = value;
    for slot in buffer[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.push_str(std::str::from_utf8(&buffer[..width]).expect("ASCII digits"));
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                write!(out, "\\u{:04x}", u32::from(c)).expect("writing to a String")
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn header_is_the_mappable_columns_then_properties() {
        assert_eq!(&CSV_HEADER[..CSV_HEADER.len() - 1], events::MAPPABLE_COLUMNS);
        assert_eq!(CSV_HEADER.last(), Some(&"properties"));
    }

    #[test]
    fn event_time_has_microseconds_and_z() {
        let check = |time: DateTime<Utc>, expect: &str| {
            let mut out = String::new();
            format_event_time(&mut out, &time);
            assert_eq!(out, expect);
            assert_eq!(out, time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        };
        let base = Utc.with_ymd_and_hms(2024, 1, 1, 8, 15, 2).unwrap();
        check(base + chrono::Duration::microseconds(123_456), "2024-01-01T08:15:02.123456Z");
        check(base, "2024-01-01T08:15:02.000000Z");
        check(
            Utc.with_ymd_and_hms(2031, 12, 31, 23, 59, 59).unwrap(),
            "2031-12-31T23:59:59.000000Z",
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        let check = |value: &str, expect: &str| {
            let mut out = String::new();
            push_json_string(&mut out, value);
            assert_eq!(out, expect);
        };
        check("plain", r#""plain""#);
        check("say \"hi\"\\", r#""say \"hi\"\\""#);
        check("a\nb\u{1}", r#""a\nb\u0001""#);
        check("é", "\"é\"");
    }
}
