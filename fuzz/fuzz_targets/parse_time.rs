//! `parse_time` on any text, format and zone: never panics, only returns
//! times in 1970–2200, and what it returns reads back from its RFC 3339 form
//! to the same microsecond.
//!
//! Input: byte 0 picks the format (auto, unix s/ms/µs, or a strftime pattern
//! taken from the text up to its first newline), byte 1 the zone offset in
//! steps of 11¼ minutes, the rest is the text.
#![no_main]

use chrono::FixedOffset;
use ingest::{TimeFormat, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [kind, zone, rest @ ..] = data else { return };
    let Ok(rest) = std::str::from_utf8(rest) else { return };
    let (format, text) = match kind % 5 {
        0 => (TimeFormat::Auto, rest),
        1 => (TimeFormat::UnixSeconds, rest),
        2 => (TimeFormat::UnixMillis, rest),
        3 => (TimeFormat::UnixMicros, rest),
        _ => {
            let (pattern, text) = rest.split_once('\n').unwrap_or((rest, ""));
            (TimeFormat::Pattern(pattern.to_string()), text)
        }
    };
    // Whole steps of 675 s, within chrono's ±1 day limit.
    let zone =
        FixedOffset::east_opt((i32::from(*zone % 255) - 127) * 675).expect("offset under a day");
    let Some(time) = parse_time(text, &format, zone) else { return };
    let micros = time.timestamp_micros();
    assert!((0..7_258_118_400_000_000).contains(&micros), "{text:?} as {format:?} gave {time}");
    // Compared as the lake stores times, in microseconds: a leap second
    // (`23:59:60`) is kept by chrono as a second with 1.x s of nanoseconds,
    // which its RFC 3339 form writes as the next second.
    let written = time.to_rfc3339();
    let again = parse_time(&written, &TimeFormat::Auto, zone).map(|t| t.timestamp_micros());
    assert_eq!(again, Some(micros), "{written}");
});
