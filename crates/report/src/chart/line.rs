//! Line charts: one or more series over shared x labels (typically dates).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::scale::{LinearScale, finite, nice_stride, nice_ticks};
use super::svg::{self, CHART_WIDTH, FONT_SIZE, Svg, Text, num, series_color, text_width, widest};
use super::{Series, point_tooltip, strings};
use crate::format::format_auto;

/// Lines over `x_labels`; value `i` of every series belongs to label `i`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineChart {
    pub title: String,
    pub x_labels: Vec<String>,
    /// Non-finite values leave a gap in their line.
    pub series: Vec<Series>,
    /// Title of the y axis.
    pub y_label: Option<String>,
}

impl LineChart {
    pub fn new(
        title: impl Into<String>,
        x_labels: impl IntoIterator<Item = impl Into<String>>,
        series: Vec<Series>,
    ) -> LineChart {
        LineChart { title: title.into(), x_labels: strings(x_labels), series, y_label: None }
    }

    pub fn with_y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = Some(label.into());
        self
    }
}

/// Markers (with tooltips) are drawn on each point up to this many points.
const MAX_MARKED_POINTS: usize = 60;
/// X labels are cut after this many characters.
const X_LABEL_CHARS: usize = 16;

pub(crate) fn render(chart: &LineChart) -> String {
    let label = svg::chart_label(&chart.title, "Line chart");
    let longest_series = chart.series.iter().map(|series| series.values.len()).max();
    let points = chart.x_labels.len().max(longest_series.unwrap_or(0));
    let values: Vec<Vec<Option<f64>>> = chart
        .series
        .iter()
        .map(|series| (0..points).map(|i| series.values.get(i).copied().and_then(finite)).collect())
        .collect();
    let present = values.iter().flatten().flatten().copied();
    let Some((mut lo, mut hi)) = present.fold(None, |range, v| match range {
        None => Some((v, v)),
        Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
    }) else {
        return svg::empty_figure(&chart.title, label);
    };
    // Start the axis at zero unless that would squash the lines into a
    // sliver at the top (or bottom, for negative data).
    if lo > 0.0 && lo <= hi / 2.0 {
        lo = 0.0;
    }
    if hi < 0.0 && hi >= lo / 2.0 {
        hi = 0.0;
    }
    let ticks = nice_ticks(lo, hi, 5);
    let tick_labels = ticks.labels();

    let x_labels: Vec<&str> =
        (0..points).map(|i| chart.x_labels.get(i).map_or("", String::as_str)).collect();
    let label_width = x_labels
        .iter()
        .map(|label| text_width(label).min(X_LABEL_CHARS as f64 * FONT_SIZE * 0.6))
        .fold(0.0, f64::max);
    let axis_title = chart.y_label.as_deref().filter(|title| !title.trim().is_empty());
    let left = (widest(tick_labels.iter().map(String::as_str))
        + 12.0
        + if axis_title.is_some() { 22.0 } else { 0.0 })
    .max(label_width / 2.0 + 4.0);
    let right = (label_width / 2.0 + 4.0).max(16.0);
    let top = 12.0;
    let plot_width = CHART_WIDTH - left - right;
    let plot_height = 280.0;
    let height = top + plot_height + 32.0;
    let y = LinearScale::new((ticks.lo(), ticks.hi()), (top + plot_height, top));
    let x_at = |i: usize| {
        if points == 1 {
            left + plot_width / 2.0
        } else {
            left + i as f64 / (points - 1) as f64 * plot_width
        }
    };
    // Show as many x labels as fit side by side, evenly spaced.
    let fitting = ((plot_width / (label_width + 12.0)).floor() as usize).max(1);
    let label_every = nice_stride(points.div_ceil(fitting));

    let mut svg = Svg::new(label, CHART_WIDTH, height);
    for (&value, text) in ticks.values.iter().zip(&tick_labels) {
        let py = y.map(value);
        svg.line("grid", (left, py), (left + plot_width, py));
        svg.text(Text::new(left - 6.0, py, text).class("tick").end().middle());
    }
    if let Some(title) = axis_title {
        svg.text(
            Text::new(FONT_SIZE, top + plot_height / 2.0, title)
                .class("axis-title")
                .centre()
                .rotate(-90.0),
        );
    }
    svg.line("axis", (left, top + plot_height), (left + plot_width, top + plot_height));
    for (i, text) in x_labels.iter().enumerate().step_by(label_every) {
        let px = x_at(i);
        svg.line("axis", (px, top + plot_height), (px, top + plot_height + 4.0));
        let text = Text::new(px, top + plot_height + 18.0, text).class("xtick").centre();
        svg.text(text.max_chars(X_LABEL_CHARS));
    }
    for (index, series) in values.iter().enumerate() {
        let color = series_color(index);
        let mut path = String::new();
        let mut pen_down = false;
        for (i, value) in series.iter().enumerate() {
            match value {
                Some(value) => {
                    let command = if pen_down { 'L' } else { 'M' };
                    let _ = write!(path, "{command}{} {}", num(x_at(i)), num(y.map(*value)));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        svg.raw(&format!(r#"<path class="line" d="{path}" stroke="{color}"/>"#));
        if points <= MAX_MARKED_POINTS {
            let name = &chart.series[index].name;
            for (i, value) in series.iter().enumerate() {
                if let Some(value) = value {
                    let tooltip = point_tooltip(x_labels[i], name, &format_auto(*value));
                    svg.circle("pt", (x_at(i), y.map(*value)), 3.5, color, &tooltip);
                }
            }
        }
    }
    let legend = svg::series_legend(&chart.series);
    svg::figure(&chart.title, &legend, &svg.finish())
}
