//! Heatmaps: a rows × columns matrix (retention cohorts, hour × weekday)
//! coloured on a sequential scale, with the value printed in each cell.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::scale::{finite, nice_stride};
use super::strings;
use super::svg::{self, CHART_WIDTH, FONT_SIZE, Rect, Svg, Text, text_width, widest};
use crate::escape::escape;
use crate::format::ValueFormat;

/// A matrix of optional values; `values[row][column]`, `None` left blank.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    pub title: String,
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    /// Rows may be ragged; missing and non-finite cells are blank.
    pub values: Vec<Vec<Option<f64>>>,
    pub value_format: ValueFormat,
}

impl Heatmap {
    pub fn new(
        title: impl Into<String>,
        row_labels: impl IntoIterator<Item = impl Into<String>>,
        column_labels: impl IntoIterator<Item = impl Into<String>>,
        values: Vec<Vec<Option<f64>>>,
        value_format: ValueFormat,
    ) -> Heatmap {
        Heatmap {
            title: title.into(),
            row_labels: strings(row_labels),
            column_labels: strings(column_labels),
            values,
            value_format,
        }
    }
}

/// ColorBrewer "Blues", light to dark: sequential, print-safe and readable
/// for colour-blind readers. The lightest stop is tinted so that the
/// smallest values still show against the page.
const RAMP: [(u8, u8, u8); 5] = [
    (0xe8, 0xf1, 0xfa),
    (0xc6, 0xdb, 0xef),
    (0x6b, 0xae, 0xd6),
    (0x21, 0x71, 0xb5),
    (0x08, 0x30, 0x6b),
];

/// The colour at `t` in `0..=1` along [`RAMP`].
fn ramp_color(t: f64) -> String {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let position = t * (RAMP.len() - 1) as f64;
    let index = (position.floor() as usize).min(RAMP.len() - 2);
    let fraction = position - index as f64;
    let (a, b) = (RAMP[index], RAMP[index + 1]);
    let mix =
        |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * fraction).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

const ROW_LABEL_CHARS: usize = 24;
const COLUMN_LABEL_CHARS: usize = 14;
const MAX_CELL_WIDTH: f64 = 90.0;
const CELL_HEIGHT: f64 = 26.0;

pub(crate) fn render(chart: &Heatmap) -> String {
    let label = svg::chart_label(&chart.title, "Heatmap");
    let rows = chart.row_labels.len().max(chart.values.len());
    let widest_row = chart.values.iter().map(Vec::len).max().unwrap_or(0);
    let columns = chart.column_labels.len().max(widest_row);
    if rows == 0 || columns == 0 {
        return svg::empty_figure(&chart.title, label);
    }
    let cell = |row: usize, column: usize| {
        chart
            .values
            .get(row)
            .and_then(|cells| cells.get(column))
            .copied()
            .flatten()
            .and_then(finite)
    };
    let present =
        (0..rows).flat_map(|row| (0..columns).filter_map(move |column| cell(row, column)));
    let range = present.fold(None, |range: Option<(f64, f64)>, v| match range {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    });
    let position = |value: f64| match range {
        Some((lo, hi)) if hi > lo => (value - lo) / (hi - lo),
        _ => 0.5,
    };

    let row_labels: Vec<&str> =
        (0..rows).map(|i| chart.row_labels.get(i).map_or("", String::as_str)).collect();
    let column_labels: Vec<&str> =
        (0..columns).map(|i| chart.column_labels.get(i).map_or("", String::as_str)).collect();
    let left = row_labels
        .iter()
        .map(|label| text_width(label).min(ROW_LABEL_CHARS as f64 * FONT_SIZE * 0.6))
        .fold(0.0, f64::max)
        + 12.0;
    let fit = |right: f64| ((CHART_WIDTH - left - right) / columns as f64).min(MAX_CELL_WIDTH);
    let rotate = widest(column_labels.iter().copied()) > fit(8.0) - 4.0;
    // Rotated labels lean up and to the right, past the last column.
    let label_chars =
        column_labels.iter().map(|label| label.chars().count().min(COLUMN_LABEL_CHARS)).max();
    let rotated_extent =
        label_chars.unwrap_or(0) as f64 * FONT_SIZE * 0.6 * std::f64::consts::FRAC_1_SQRT_2;
    let (top, right) =
        if rotate { (12.0 + rotated_extent, 8.0 + rotated_extent) } else { (24.0, 8.0) };
    let cell_width = fit(right);
    let label_every =
        if rotate { nice_stride((FONT_SIZE * 1.4 / cell_width).ceil() as usize) } else { 1 };
    let width = left + cell_width * columns as f64 + right;
    let height = top + CELL_HEIGHT * rows as f64 + 4.0;

    let mut svg = Svg::new(label, width, height);
    for (column, text) in column_labels.iter().enumerate().step_by(label_every) {
        let x = left + (column as f64 + 0.5) * cell_width;
        let text = if rotate {
            Text::new(x, top - 6.0, text).rotate(-45.0).max_chars(COLUMN_LABEL_CHARS)
        } else {
            Text::new(x, top - 8.0, text).centre()
        };
        svg.text(text.class("category"));
    }
    for (row, text) in row_labels.iter().enumerate() {
        let y = top + (row as f64 + 0.5) * CELL_HEIGHT;
        svg.text(
            Text::new(left - 8.0, y, text)
                .class("category")
                .end()
                .middle()
                .max_chars(ROW_LABEL_CHARS),
        );
        for (column, column_label) in column_labels.iter().enumerate() {
            let Some(value) = cell(row, column) else { continue };
            let t = position(value);
            let formatted = chart.value_format.format(value);
            let tooltip = format!("{text} · {column_label}: {formatted}");
            let rect = Rect {
                x: left + column as f64 * cell_width,
                y: top + row as f64 * CELL_HEIGHT,
                width: (cell_width - 1.0).max(0.5),
                height: CELL_HEIGHT - 1.0,
            };
            svg.rect("cell", rect, &ramp_color(t), &tooltip);
            if text_width(&formatted) * 0.92 <= cell_width - 4.0 {
                let class = if t > 0.5 { "cell-value on-dark" } else { "cell-value" };
                let x = rect.x + rect.width / 2.0;
                svg.text(Text::new(x, y, &formatted).class(class).centre().middle());
            }
        }
    }
    let legend = match range {
        Some((lo, hi)) => {
            color_scale_legend(&chart.value_format.format(lo), &chart.value_format.format(hi))
        }
        None => String::new(),
    };
    svg::figure(&chart.title, &legend, &svg.finish())
}

/// A CSS gradient strip from the lowest to the highest value.
fn color_scale_legend(lo: &str, hi: &str) -> String {
    let stops: Vec<String> = (0..=4).map(|i| ramp_color(f64::from(i) / 4.0)).collect();
    let mut out = String::from(r#"<div class="color-scale">"#);
    let _ = write!(
        out,
        r#"<span>{}</span><span class="ramp" style="background:linear-gradient(90deg,{})"></span><span>{}</span></div>"#,
        escape(lo),
        stops.join(","),
        escape(hi)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_light_to_dark_and_clamps() {
        assert_eq!(ramp_color(0.0), "#e8f1fa");
        assert_eq!(ramp_color(1.0), "#08306b");
        assert_eq!(ramp_color(0.5), "#6baed6");
        assert_eq!(ramp_color(-3.0), "#e8f1fa");
        assert_eq!(ramp_color(f64::NAN), "#e8f1fa");
    }
}
