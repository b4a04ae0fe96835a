//! Timestamps as shop exports write them.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// How to read a time field. `Auto` accepts every form listed in
/// `docs/events.md`; the others are for exports whose times are ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// RFC 3339, `YYYY-MM-DD[ T]HH:MM:SS[.f][ UTC|Z|±HH:MM]`, `YYYY-MM-DD`,
    /// `YYYYMMDD`, or a Unix time in seconds, milliseconds or microseconds
    /// (told apart by magnitude).
    #[default]
    Auto,
    UnixSeconds,
    UnixMillis,
    UnixMicros,
    /// A chrono `strftime` pattern; without an offset in it, the time is read
    /// in the import's time zone.
    Pattern(String),
}

impl FromStr for TimeFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "auto" => TimeFormat::Auto,
            "unix" | "unix_s" | "epoch" => TimeFormat::UnixSeconds,
            "unix_ms" | "epoch_ms" => TimeFormat::UnixMillis,
            "unix_us" | "epoch_us" => TimeFormat::UnixMicros,
            pattern if pattern.contains('%') => TimeFormat::Pattern(pattern.to_string()),
            other => {
                return Err(format!(
                    "unknown time format {other:?}: use auto, unix, unix_ms, unix_us or a strftime pattern such as %d/%m/%Y %H:%M"
                ));
            }
        })
    }
}

/// Parses `text` into a UTC time, reading times without an offset in `zone`.
pub fn parse_time(text: &str, format: &TimeFormat, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let time = match format {
        TimeFormat::Auto => parse_auto(text, zone),
        TimeFormat::UnixSeconds => from_unix_seconds(text.parse().ok()?),
        TimeFormat::UnixMillis => from_unix_micros(text.parse::<f64>().ok()? * 1e3),
        TimeFormat::UnixMicros => from_unix_micros(text.parse().ok()?),
        TimeFormat::Pattern(pattern) => DateTime::parse_from_str(text, pattern)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                let naive = NaiveDateTime::parse_from_str(text, pattern).ok().or_else(|| {
                    NaiveDate::parse_from_str(text, pattern).ok()?.and_hms_opt(0, 0, 0)
                })?;
                in_zone(naive, zone)
            }),
    }?;
    Some(time).filter(in_shop_era)
}

/// Times before 1970 or after 2200 are corrupt values, not shop events.
fn in_shop_era(time: &DateTime<Utc>) -> bool {
    (0..7_258_118_400_000_000).contains(&time.timestamp_micros())
}

fn parse_auto(text: &str, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let numeric = bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.');
    let eight_digits = bytes.len() == 8 && !text.contains('.');
    if numeric && !eight_digits {
        let value: f64 = text.parse().ok()?;
        // Seconds until 5138 fit below 1e11; milliseconds below 1e14.
        return if value < 1e11 {
            from_unix_seconds(value)
        } else if value < 1e14 {
            from_unix_micros(value * 1e3)
        } else {
            from_unix_micros(value)
        };
    }
    if numeric {
        // `YYYYMMDD` (CDNOW) wins over 8-digit Unix seconds (1970–1973) when
        // both read as a shop-era time: `17820101` is 1970-07-26, not 1782.
        let date = NaiveDate::parse_from_str(text, "%Y%m%d").ok();
        let date = date.and_then(|date| in_zone(date.and_hms_opt(0, 0, 0)?, zone));
        return date.filter(in_shop_era).or_else(|| from_unix_seconds(text.parse().ok()?));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Some(rest) = text.strip_suffix(" UTC").or_else(|| text.strip_suffix('Z')) {
        return parse_naive(rest).map(|naive| naive.and_utc());
    }
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f %z"))
    {
        return Some(time.with_timezone(&Utc));
    }
    in_zone(parse_naive(text)?, zone)
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    for pattern in
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S"]
    {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(time);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)
}

fn in_zone(naive: NaiveDateTime, zone: FixedOffset) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc))
}

fn from_unix_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    from_unix_micros(seconds * 1e6)
}

fn from_unix_micros(micros: f64) -> Option<DateTime<Utc>> {
    if !micros.is_finite() {
        return None;
    }
    DateTime::from_timestamp_micros(micros.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, format: TimeFormat, expect: Option<&str>) {
        let got = parse_time(text, &format, FixedOffset::east_opt(0).unwrap())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        assert_eq!(got.as_deref(), expect, "{text:?} as {format:?}");
    }

    #[test]
    fn auto_accepts_the_formats_of_real_exports() {
        use TimeFormat::Auto;
        check("2019-10-01 00:00:00 UTC", Auto, Some("2019-10-01T00:00:00.000000Z"));
        check("1511544070", Auto, Some("2017-11-24T17:21:10.000000Z"));
        check("1396437466.94", Auto, Some("2014-04-02T11:17:46.940000Z"));
        check("1433221332117", Auto, Some("2015-06-02T05:02:12.117000Z"));
        check("19970101", Auto, Some("1997-01-01T00:00:00.000000Z"));
        check("10000000", Auto, Some("1970-04-26T17:46:40.000000Z"));
        check("2011-10-30 16:17:00", Auto, Some("2011-10-30T16:17:00.000000Z"));
        check("2024-01-01T08:15:02.123456Z", Auto, Some("2024-01-01T08:15:02.123456Z"));
        check("2024-01-01T10:15:02+02:00", Auto, Some("2024-01-01T08:15:02.000000Z"));
        check("2016-05-09", Auto, Some("2016-05-09T00:00:00.000000Z"));
        check("", Auto, None);
        check("yesterday", Auto, None);
        check("2019-13-45 00:00:00", Auto, None);
        check("-5", Auto, None);
        check("99999999999999999999999", Auto, None);
    }

    #[test]
    fn eight_digit_unix_seconds_that_read_as_a_date_before_1970() {
        // Found by the `unix_seconds_round_trip` property test: these were
        // read as the date 1782-01-01, then rejected as out of range.
        check("17820101", TimeFormat::Auto, Some("1970-07-26T06:01:41.000000Z"));
        check("19970101", TimeFormat::Auto, Some("1997-01-01T00:00:00.000000Z"));
    }

    #[test]
    fn explicit_formats() {
        check("1511544070000", TimeFormat::UnixMillis, Some("2017-11-24T17:21:10.000000Z"));
        check(
            "30/10/2011 16:17",
            TimeFormat::Pattern("%d/%m/%Y %H:%M".into()),
            Some("2011-10-30T16:17:00.000000Z"),
        );
        check("nope", TimeFormat::UnixSeconds, None);
    }

    #[test]
    fn naive_times_use_the_import_zone() {
        let china = FixedOffset::east_opt(8 * 3600).unwrap();
        let got = parse_time("2017-11-25 00:00:00", &TimeFormat::Auto, china).unwrap();
        assert_eq!(got.to_rfc3339(), "2017-11-24T16:00:00+00:00");
    }
}
