//! Scatter plots: points coloured by group, with a legend (for example a
//! two-dimensional projection of users coloured by segment).

use serde::{Deserialize, Serialize};

use super::scale::{LinearScale, finite, nice_ticks};
use super::strings;
use super::svg::{self, CHART_WIDTH, OTHER_COLOR, Svg, Text, series_color, widest};
use crate::format::{format_auto, format_count};

/// Points `(x, y, group)`; `group` indexes `groups`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scatter {
    pub title: String,
    /// Points with a non-finite coordinate are skipped; a group index past
    /// the end of `groups` is drawn grey as "Other".
    pub points: Vec<(f64, f64, usize)>,
    pub groups: Vec<String>,
}

impl Scatter {
    pub fn new(
        title: impl Into<String>,
        points: Vec<(f64, f64, usize)>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Scatter {
        Scatter { title: title.into(), points, groups: strings(groups) }
    }
}

/// Each point gets a tooltip up to this many points; beyond, they would
/// mostly add bytes.
const MAX_TOOLTIPS: usize = 2000;

pub(crate) fn render(chart: &Scatter) -> String {
    let label = svg::chart_label(&chart.title, "Scatter plot");
    let points: Vec<(f64, f64, usize)> = chart
        .points
        .iter()
        .filter_map(|&(x, y, group)| Some((finite(x)?, finite(y)?, group)))
        .collect();
    let Some(&(x0, y0, _)) = points.first() else {
        return svg::empty_figure(&chart.title, label);
    };
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (x0, x0, y0, y0);
    for &(x, y, _) in &points {
        (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y));
    }
    let x_ticks = nice_ticks(x_lo, x_hi, 8);
    let y_ticks = nice_ticks(y_lo, y_hi, 6);
    let x_tick_labels = x_ticks.labels();
    let y_tick_labels = y_ticks.labels();
    let left = widest(y_tick_labels.iter().map(String::as_str)) + 12.0;
    let right = widest(x_tick_labels.last().map(String::as_str)) / 2.0 + 12.0;
    let top = 10.0;
    let plot_width = CHART_WIDTH - left - right;
    let plot_height = 400.0;
    let height = top + plot_height + 30.0;
    let x = LinearScale::new((x_ticks.lo(), x_ticks.hi()), (left, left + plot_width));
    let y = LinearScale::new((y_ticks.lo(), y_ticks.hi()), (top + plot_height, top));

    let mut svg = Svg::new(label, CHART_WIDTH, height);
    for (&value, text) in y_ticks.values.iter().zip(&y_tick_labels) {
        let py = y.map(value);
        svg.line("grid", (left, py), (left + plot_width, py));
        svg.text(Text::new(left - 6.0, py, text).class("tick").end().middle());
    }
    for (&value, text) in x_ticks.values.iter().zip(&x_tick_labels) {
        let px = x.map(value);
        svg.line("grid", (px, top), (px, top + plot_height));
        svg.text(Text::new(px, top + plot_height + 18.0, text).class("tick").centre());
    }
    let radius = match points.len() {
        0..=300 => 4.0,
        301..=3000 => 3.0,
        _ => 2.0,
    };
    let with_tooltips = points.len() <= MAX_TOOLTIPS;
    let mut counts = vec![0usize; chart.groups.len() + 1];
    for &(px, py, group) in &points {
        let known = group < chart.groups.len();
        counts[if known { group } else { chart.groups.len() }] += 1;
        let color = if known { series_color(group) } else { OTHER_COLOR };
        let tooltip = if with_tooltips {
            let name = chart.groups.get(group).map_or("Other", String::as_str);
            format!("{name} ({}, {})", format_auto(px), format_auto(py))
        } else {
            String::new()
        };
        svg.circle("pt", (x.map(px), y.map(py)), radius, color, &tooltip);
    }
    let mut legend_items: Vec<(String, &str)> = chart
        .groups
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("{name} ({})", format_count(counts[i] as f64)), series_color(i)))
        .collect();
    let others = counts[chart.groups.len()];
    if others > 0 {
        legend_items.push((format!("Other ({})", format_count(others as f64)), OTHER_COLOR));
    }
    let legend = svg::legend(legend_items.iter().map(|(name, color)| (name.as_str(), *color)));
    svg::figure(&chart.title, &legend, &svg.finish())
}
