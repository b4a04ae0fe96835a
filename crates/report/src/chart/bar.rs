//! Bar charts: vertical or horizontal, one or more series, grouped side by
//! side or stacked (positive values stack up, negative values down).

use serde::{Deserialize, Serialize};

use super::scale::{LinearScale, Ticks, finite, nice_stride, nice_ticks};
use super::svg::{self, CHART_WIDTH, FONT_SIZE, Rect, Svg, Text, series_color, text_width, widest};
use super::{Series, point_tooltip, strings};
use crate::format::format_auto;

/// Bars for each label, one per series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BarChart {
    pub title: String,
    /// One per category; a missing label is blank.
    pub labels: Vec<String>,
    /// Missing or non-finite values draw as zero.
    pub series: Vec<Series>,
    /// Categories down the side and bars growing to the right.
    pub horizontal: bool,
    /// Series stacked on each other instead of side by side.
    pub stacked: bool,
    /// Title of the value axis.
    pub y_label: Option<String>,
}

impl BarChart {
    /// A chart with a single unnamed series.
    pub fn new(
        title: impl Into<String>,
        labels: impl IntoIterator<Item = impl Into<String>>,
        values: impl Into<Vec<f64>>,
    ) -> BarChart {
        BarChart::with_series(title, labels, vec![Series::new("", values)])
    }

    /// A chart with several series, grouped unless [`stacked`](Self::stacked).
    pub fn with_series(
        title: impl Into<String>,
        labels: impl IntoIterator<Item = impl Into<String>>,
        series: Vec<Series>,
    ) -> BarChart {
        BarChart { title: title.into(), labels: strings(labels), series, ..BarChart::default() }
    }

    pub fn horizontal(mut self) -> Self {
        self.horizontal = true;
        self
    }

    pub fn stacked(mut self) -> Self {
        self.stacked = true;
        self
    }

    pub fn with_y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = Some(label.into());
        self
    }
}

/// One bar in data units: where it sits in its category's band (as fractions
/// of the band) and which values it spans.
struct Bar {
    category: usize,
    series: usize,
    slot_start: f64,
    slot_width: f64,
    from: f64,
    to: f64,
    value: f64,
}

/// Everything both orientations need.
struct Layout<'a> {
    chart: &'a BarChart,
    labels: Vec<&'a str>,
    bars: Vec<Bar>,
    ticks: Ticks,
    label: &'a str,
}

impl Layout<'_> {
    fn tooltip(&self, bar: &Bar) -> String {
        let series = &self.chart.series[bar.series].name;
        point_tooltip(self.labels[bar.category], series, &format_auto(bar.value))
    }

    fn axis_title(&self) -> Option<&str> {
        self.chart.y_label.as_deref().filter(|title| !title.trim().is_empty())
    }

    /// Values are printed on the bars only when there is a single series.
    fn shows_values(&self) -> bool {
        self.chart.series.len() == 1
    }
}

pub(crate) fn render(chart: &BarChart) -> String {
    let label = svg::chart_label(&chart.title, "Bar chart");
    let longest_series = chart.series.iter().map(|series| series.values.len()).max();
    let categories = chart.labels.len().max(longest_series.unwrap_or(0));
    if categories == 0 || chart.series.is_empty() {
        return svg::empty_figure(&chart.title, label);
    }
    let values: Vec<Vec<f64>> = chart
        .series
        .iter()
        .map(|series| {
            (0..categories)
                .map(|i| series.values.get(i).copied().and_then(finite).unwrap_or(0.0))
                .collect()
        })
        .collect();
    let bars = layout_bars(&values, chart.stacked);
    let (lo, hi) =
        bars.iter().fold((0.0f64, 0.0f64), |(lo, hi), bar| (lo.min(bar.to), hi.max(bar.to)));
    let layout = Layout {
        chart,
        labels: (0..categories).map(|i| chart.labels.get(i).map_or("", String::as_str)).collect(),
        bars,
        ticks: nice_ticks(lo, hi, 5),
        label,
    };
    let svg = if chart.horizontal { render_horizontal(&layout) } else { render_vertical(&layout) };
    let legend = svg::series_legend(&chart.series);
    svg::figure(&chart.title, &legend, &svg)
}

fn layout_bars(values: &[Vec<f64>], stacked: bool) -> Vec<Bar> {
    let series_count = values.len();
    let categories = values.first().map_or(0, Vec::len);
    let mut bars = Vec::with_capacity(series_count * categories);
    for category in 0..categories {
        let (mut up, mut down) = (0.0, 0.0);
        for (series, row) in values.iter().enumerate() {
            let value = row[category];
            let bar = if stacked || series_count == 1 {
                let base: &mut f64 = if value >= 0.0 { &mut up } else { &mut down };
                let from = *base;
                *base += value;
                Bar { category, series, slot_start: 0.15, slot_width: 0.7, from, to: *base, value }
            } else {
                let slot_width = 0.8 / series_count as f64;
                let slot_start = 0.1 + slot_width * series as f64;
                Bar { category, series, slot_start, slot_width, from: 0.0, to: value, value }
            };
            bars.push(bar);
        }
    }
    bars
}

/// Category labels longer than this are rotated and cut.
const ROTATED_LABEL_CHARS: usize = 20;
/// Category labels beside horizontal bars are cut after this many characters.
const SIDE_LABEL_CHARS: usize = 28;

fn render_vertical(layout: &Layout<'_>) -> String {
    let ticks = &layout.ticks;
    let tick_labels = ticks.labels();
    let axis_title = layout.axis_title();
    let left = widest(tick_labels.iter().map(String::as_str))
        + 12.0
        + if axis_title.is_some() { 22.0 } else { 0.0 };
    let plot_width = CHART_WIDTH - left - 12.0;
    let categories = layout.labels.len();
    let band = plot_width / categories as f64;

    // Labels that do not fit their band are cut to fit it while it is wide
    // enough to read a few words, and rotated when it is not; when even
    // rotated labels would overlap, only every n-th is shown.
    let fits = widest(layout.labels.iter().copied()) <= band - 6.0;
    let rotate = !fits && band < 60.0;
    let level_chars = (((band - 6.0) / (FONT_SIZE * 0.6)).floor() as usize).max(3);
    let label_every =
        if rotate { nice_stride((FONT_SIZE * 1.4 / band).ceil() as usize) } else { 1 };
    let bottom = if rotate {
        let chars = layout
            .labels
            .iter()
            .map(|label| label.chars().count().min(ROTATED_LABEL_CHARS))
            .max()
            .unwrap_or(0);
        24.0 + chars as f64 * FONT_SIZE * 0.6 * std::f64::consts::FRAC_1_SQRT_2
    } else {
        28.0
    };
    let top = 20.0;
    let plot_height = 280.0;
    let height = top + plot_height + bottom;
    let y = LinearScale::new((ticks.lo(), ticks.hi()), (top + plot_height, top));

    let mut svg = Svg::new(layout.label, CHART_WIDTH, height);
    for (&value, text) in ticks.values.iter().zip(&tick_labels) {
        let py = y.map(value);
        svg.line("grid", (left, py), (left + plot_width, py));
        svg.text(Text::new(left - 6.0, py, text).class("tick").end().middle());
    }
    if let Some(title) = axis_title {
        let x = FONT_SIZE;
        svg.text(
            Text::new(x, top + plot_height / 2.0, title).class("axis-title").centre().rotate(-90.0),
        );
    }
    for bar in &layout.bars {
        let (y0, y1) = (y.map(bar.from), y.map(bar.to));
        let rect = Rect {
            x: left + (bar.category as f64 + bar.slot_start) * band,
            y: y0.min(y1),
            width: bar.slot_width * band,
            height: (y0 - y1).abs(),
        };
        svg.rect("bar", rect, series_color(bar.series), &layout.tooltip(bar));
    }
    svg.line("axis", (left, y.map(0.0)), (left + plot_width, y.map(0.0)));
    // Values are printed on all bars or on none: a few missing would read
    // as data missing.
    let value_texts: Vec<String> = layout.bars.iter().map(|bar| format_auto(bar.value)).collect();
    if layout.shows_values() && widest(value_texts.iter().map(String::as_str)) <= band {
        for (bar, text) in layout.bars.iter().zip(&value_texts) {
            let x = left + (bar.category as f64 + 0.5) * band;
            let py = if bar.value >= 0.0 {
                y.map(bar.to) - 5.0
            } else {
                y.map(bar.to) + FONT_SIZE + 2.0
            };
            svg.text(Text::new(x, py, text).class("value").centre());
        }
    }
    let label_y = top + plot_height + 18.0;
    for (i, label) in layout.labels.iter().enumerate().step_by(label_every) {
        let x = left + (i as f64 + 0.5) * band;
        let text = if rotate {
            Text::new(x, label_y - 6.0, label).end().rotate(-45.0).max_chars(ROTATED_LABEL_CHARS)
        } else {
            Text::new(x, label_y, label).centre().max_chars(level_chars)
        };
        svg.text(text.class("category"));
    }
    svg.finish()
}

fn render_horizontal(layout: &Layout<'_>) -> String {
    let ticks = &layout.ticks;
    let tick_labels = ticks.labels();
    let series_count = layout.chart.series.len();
    let row = if layout.chart.stacked || series_count == 1 {
        28.0
    } else {
        8.0 + 14.0 * series_count as f64
    };
    let categories = layout.labels.len();
    let left = layout
        .labels
        .iter()
        .map(|label| text_width(label).min(SIDE_LABEL_CHARS as f64 * FONT_SIZE * 0.6))
        .fold(20.0, f64::max)
        + 12.0;
    let value_texts: Vec<String> = if layout.shows_values() {
        layout.bars.iter().map(|bar| format_auto(bar.value)).collect()
    } else {
        Vec::new()
    };
    let last_tick = tick_labels.last().map_or(0.0, |text| text_width(text) / 2.0);
    let right = 12.0 + last_tick.max(widest(value_texts.iter().map(String::as_str)) + 6.0);
    let axis_title = layout.axis_title();
    let top = 8.0;
    let plot_width = CHART_WIDTH - left - right;
    let plot_height = row * categories as f64;
    let height = top + plot_height + 26.0 + if axis_title.is_some() { 20.0 } else { 0.0 };
    let x = LinearScale::new((ticks.lo(), ticks.hi()), (left, left + plot_width));

    let mut svg = Svg::new(layout.label, CHART_WIDTH, height);
    for (&value, text) in ticks.values.iter().zip(&tick_labels) {
        let px = x.map(value);
        svg.line("grid", (px, top), (px, top + plot_height));
        svg.text(Text::new(px, top + plot_height + 18.0, text).class("tick").centre());
    }
    if let Some(title) = axis_title {
        let y = top + plot_height + 40.0;
        svg.text(Text::new(left + plot_width / 2.0, y, title).class("axis-title").centre());
    }
    for bar in &layout.bars {
        let (x0, x1) = (x.map(bar.from), x.map(bar.to));
        let rect = Rect {
            x: x0.min(x1),
            y: top + (bar.category as f64 + bar.slot_start) * row,
            width: (x0 - x1).abs(),
            height: bar.slot_width * row,
        };
        svg.rect("bar", rect, series_color(bar.series), &layout.tooltip(bar));
    }
    svg.line("axis", (x.map(0.0), top), (x.map(0.0), top + plot_height));
    for (bar, text) in layout.bars.iter().zip(&value_texts) {
        let y = top + (bar.category as f64 + 0.5) * row;
        let end = x.map(bar.to);
        let text = if bar.value >= 0.0 {
            Text::new(end + 4.0, y, text)
        } else {
            Text::new(end - 4.0, y, text).end()
        };
        svg.text(text.class("value").middle());
    }
    for (i, label) in layout.labels.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * row;
        svg.text(
            Text::new(left - 8.0, y, label)
                .class("category")
                .end()
                .middle()
                .max_chars(SIDE_LABEL_CHARS),
        );
    }
    svg.finish()
}
