//! Funnel charts: one centred bar per step, shrinking with the count, with
//! the share that continues and drops off between consecutive steps.

use serde::{Deserialize, Serialize};

use super::scale::finite;
use super::svg::{self, CHART_WIDTH, PALETTE, Rect, Svg, Text, num};
use crate::format::{format_count, format_percent};

/// Ordered funnel steps with the number that reached each.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelChart {
    pub title: String,
    /// `(step name, count)`; negative or non-finite counts draw as zero.
    pub steps: Vec<(String, f64)>,
}

impl FunnelChart {
    pub fn new(
        title: impl Into<String>,
        steps: impl IntoIterator<Item = (impl Into<String>, f64)>,
    ) -> FunnelChart {
        let steps = steps.into_iter().map(|(name, count)| (name.into(), count)).collect();
        FunnelChart { title: title.into(), steps }
    }
}

const LABEL_WIDTH: f64 = 200.0;
const LABEL_CHARS: usize = 28;
const BAR_AREA: f64 = 460.0;
const ROW: f64 = 40.0;
const GAP: f64 = 30.0;

/// `part / whole` as a percentage, or `n/a` when there is no whole.
fn share(part: f64, whole: f64) -> String {
    if whole > 0.0 { format_percent(part / whole) } else { format_percent(f64::NAN) }
}

pub(crate) fn render(chart: &FunnelChart) -> String {
    let label = svg::chart_label(&chart.title, "Funnel chart");
    if chart.steps.is_empty() {
        return svg::empty_figure(&chart.title, label);
    }
    let counts: Vec<f64> =
        chart.steps.iter().map(|(_, count)| finite(*count).unwrap_or(0.0).max(0.0)).collect();
    let widest = counts.iter().copied().fold(0.0, f64::max);
    let first = counts[0];
    let steps = counts.len();
    let top = 8.0;
    let height = top * 2.0 + ROW * steps as f64 + GAP * (steps - 1) as f64;
    let centre = LABEL_WIDTH + 10.0 + BAR_AREA / 2.0;
    let half_width = |count: f64| {
        if widest > 0.0 && count > 0.0 { (BAR_AREA / 2.0 * count / widest).max(1.0) } else { 0.0 }
    };
    let row_top = |i: usize| top + i as f64 * (ROW + GAP);

    let mut svg = Svg::new(label, CHART_WIDTH, height);
    for i in 1..steps {
        // A band joining the bottom of the previous bar to the top of this
        // one, labelled with the conversion between them.
        let (above, below) = (half_width(counts[i - 1]), half_width(counts[i]));
        let (y0, y1) = (row_top(i - 1) + ROW, row_top(i));
        let points = [
            (centre - above, y0),
            (centre + above, y0),
            (centre + below, y1),
            (centre - below, y1),
        ];
        let points: Vec<String> =
            points.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect();
        svg.raw(&format!(r#"<polygon class="flow" points="{}"/>"#, points.join(" ")));
        let previous = counts[i - 1];
        let lost = (previous - counts[i]).max(0.0);
        let text = format!(
            "↓ {} continue · {} drop off ({})",
            share(counts[i], previous),
            share(lost, previous),
            format_count(lost)
        );
        svg.text(Text::new(centre, (y0 + y1) / 2.0, &text).class("conversion").centre().middle());
    }
    for (i, ((name, _), &count)) in chart.steps.iter().zip(&counts).enumerate() {
        let y = row_top(i);
        let half = half_width(count);
        let tooltip =
            format!("{name}: {} ({} of first step)", format_count(count), share(count, first));
        let rect = Rect { x: centre - half, y, width: half * 2.0, height: ROW };
        svg.rect("step", rect, PALETTE[0], &tooltip);
        let middle = y + ROW / 2.0;
        svg.text(
            Text::new(LABEL_WIDTH, middle, name)
                .class("category")
                .end()
                .middle()
                .max_chars(LABEL_CHARS),
        );
        let right = LABEL_WIDTH + 20.0 + BAR_AREA;
        let count_text = format_count(count);
        svg.text(Text::new(right, middle - 7.0, &count_text).class("count").middle());
        let of_first = format!("{} of first", share(count, first));
        svg.text(Text::new(right, middle + 9.0, &of_first).class("tick").middle());
    }
    svg::figure(&chart.title, "", &svg.finish())
}
