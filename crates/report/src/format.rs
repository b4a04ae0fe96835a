//! Number formatting: thousands separators, percentages and the formats a
//! heatmap can ask for. Non-finite numbers print as `n/a` so that `NaN` and
//! `inf` never reach the page.

use serde::{Deserialize, Serialize};

/// How a [`Heatmap`](crate::Heatmap) prints the value inside each cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueFormat {
    /// Rounded to a whole number with thousands separators: `1,235`.
    #[default]
    Integer,
    /// A fraction shown as a percentage with one decimal: `0.123` → `12.3%`.
    Percent,
    /// A fixed number of decimals with thousands separators.
    Decimal(usize),
}

impl ValueFormat {
    /// Formats `value` the way this format says.
    pub fn format(self, value: f64) -> String {
        match self {
            ValueFormat::Integer => format_count(value),
            ValueFormat::Percent => format_percent(value),
            ValueFormat::Decimal(decimals) => format_decimal(value, decimals),
        }
    }
}

/// Formats a count rounded to a whole number with thousands separators:
/// `1234567.0` → `"1,234,567"`.
pub fn format_count(n: f64) -> String {
    format_decimal(n, 0)
}

/// Formats a fraction as a percentage with one decimal: `0.123` → `"12.3%"`.
pub fn format_percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return NOT_A_NUMBER.to_string();
    }
    format!("{}%", format_decimal(fraction * 100.0, 1))
}

/// Formats `n` with `decimals` decimals and thousands separators:
/// `(-1234.5, 2)` → `"-1,234.50"`.
pub fn format_decimal(n: f64, decimals: usize) -> String {
    if !n.is_finite() {
        return NOT_A_NUMBER.to_string();
    }
    // More decimals than this is noise in f64 and would only make labels long.
    let decimals = decimals.min(12);
    let digits = rounded_digits(n.abs(), decimals);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits.as_str(), None),
    };
    // A value that rounds to zero prints without a minus sign.
    let negative = n < 0.0 && digits.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// `value` (non-negative) with `decimals` decimals, rounding halves away
/// from zero as people do (`2.5` → `3`); Rust's own formatting rounds them
/// to even.
fn rounded_digits(value: f64, decimals: usize) -> String {
    let scaled = (value * 10f64.powi(decimals as i32)).round();
    if !scaled.is_finite() {
        return format!("{value:.decimals$}");
    }
    let mut digits = format!("{scaled:.0}");
    if decimals == 0 {
        return digits;
    }
    if digits.len() <= decimals {
        digits.insert_str(0, &"0".repeat(decimals + 1 - digits.len()));
    }
    digits.insert(digits.len() - decimals, '.');
    digits
}

/// Formats a value of unknown scale with about three significant digits, for
/// tooltips and bar labels: `1234.5` → `"1,235"`, `12.34` → `"12.3"`,
/// `0.1234` → `"0.123"`.
pub(crate) fn format_auto(n: f64) -> String {
    if !n.is_finite() {
        return NOT_A_NUMBER.to_string();
    }
    if n == n.round() || n.abs() >= 100.0 {
        return format_count(n);
    }
    let magnitude = n.abs().log10().floor();
    let decimals = (2.0 - magnitude).clamp(0.0, 6.0) as usize;
    let text = format_decimal(n, decimals);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

const NOT_A_NUMBER: &str = "n/a";

#[cfg(test)]
mod tests {
    use super::*;

    fn check(actual: String, expected: &str) {
        assert_eq!(actual, expected);
    }

    #[test]
    fn counts_have_thousands_separators() {
        check(format_count(0.0), "0");
        check(format_count(7.0), "7");
        check(format_count(999.0), "999");
        check(format_count(1000.0), "1,000");
        check(format_count(1_234_567.0), "1,234,567");
        check(format_count(-1_234_567.4), "-1,234,567");
        check(format_count(999_999.6), "1,000,000");
        check(format_count(-0.4), "0");
        check(format_count(f64::NAN), "n/a");
        check(format_count(f64::INFINITY), "n/a");
    }

    #[test]
    fn percentages_have_one_decimal() {
        check(format_percent(0.123), "12.3%");
        check(format_percent(1.0), "100.0%");
        check(format_percent(0.0), "0.0%");
        check(format_percent(-0.05), "-5.0%");
        check(format_percent(12.5), "1,250.0%");
        check(format_percent(f64::NAN), "n/a");
    }

    #[test]
    fn decimals_keep_separators() {
        check(format_decimal(-1234.5, 2), "-1,234.50");
        check(format_decimal(0.5, 0), "1");
        check(format_decimal(2.5, 0), "3");
        check(format_decimal(-2.5, 0), "-3");
        check(format_decimal(0.25, 1), "0.3");
        check(format_decimal(0.05, 2), "0.05");
        check(format_decimal(7.0, 3), "7.000");
        let huge = format_decimal(1e300, 12);
        assert!(huge.starts_with("1,000,000,") && huge.ends_with(".000000000000"), "{huge}");
        check(ValueFormat::Decimal(3).format(1234.56789), "1,234.568");
        check(ValueFormat::Integer.format(41.6), "42");
        check(ValueFormat::Percent.format(0.4567), "45.7%");
    }

    #[test]
    fn auto_format_keeps_three_significant_digits() {
        check(format_auto(1234.5), "1,235");
        check(format_auto(12.34), "12.3");
        check(format_auto(0.1234), "0.123");
        check(format_auto(0.5), "0.5");
        check(format_auto(-3.0), "-3");
        check(format_auto(f64::NEG_INFINITY), "n/a");
    }
}
