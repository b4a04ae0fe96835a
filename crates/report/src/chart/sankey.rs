//! Sankey diagrams: nodes in columns (steps of a path), and bands between
//! them as wide as the flow they carry.

use serde::{Deserialize, Serialize};

use super::scale::finite;
use super::svg::{self, CHART_WIDTH, FONT_SIZE, Rect, Svg, Text, num, series_color};
use crate::escape::escape;
use crate::format::format_count;

/// A node: a label in a column. Its size is the larger of its incoming and
/// outgoing flows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SankeyNode {
    /// 0 is the leftmost column.
    pub column: usize,
    pub label: String,
}

/// A flow from one node to a node in a later column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SankeyLink {
    /// Index into [`Sankey::nodes`].
    pub source: usize,
    /// Index into [`Sankey::nodes`].
    pub target: usize,
    /// Negative, non-finite or zero values, and links that do not go from a
    /// column to a later one, are not drawn.
    pub value: f64,
}

/// Nodes drawn top to bottom in their order within each column; the same label
/// has the same colour in every column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sankey {
    pub title: String,
    pub nodes: Vec<SankeyNode>,
    pub links: Vec<SankeyLink>,
}

impl Sankey {
    pub fn new(title: impl Into<String>, nodes: Vec<SankeyNode>, links: Vec<SankeyLink>) -> Sankey {
        Sankey { title: title.into(), nodes, links }
    }
}

const NODE_WIDTH: f64 = 12.0;
const NODE_GAP: f64 = 10.0;
const PLOT_HEIGHT: f64 = 320.0;
const LABEL_CHARS: usize = 22;
/// Room right of the last column for its labels (every label is right of its node).
const LABEL_SPACE: f64 = LABEL_CHARS as f64 * FONT_SIZE * 0.6 + 8.0;

pub(crate) fn render(chart: &Sankey) -> String {
    let label = svg::chart_label(&chart.title, "Sankey diagram");
    let links: Vec<(usize, usize, f64)> = chart
        .links
        .iter()
        .filter_map(|link| {
            let (source, target) = (chart.nodes.get(link.source)?, chart.nodes.get(link.target)?);
            let value = finite(link.value).filter(|v| *v > 0.0)?;
            (source.column < target.column).then_some((link.source, link.target, value))
        })
        .collect();
    let mut outgoing = vec![0.0; chart.nodes.len()];
    let mut incoming = vec![0.0; chart.nodes.len()];
    for &(source, target, value) in &links {
        outgoing[source] += value;
        incoming[target] += value;
    }
    let sizes: Vec<f64> =
        (0..chart.nodes.len()).map(|i| f64::max(outgoing[i], incoming[i])).collect();
    let columns = chart.nodes.iter().map(|node| node.column + 1).max().unwrap_or(0);
    if links.is_empty() || columns < 2 {
        return svg::empty_figure(&chart.title, label);
    }

    // One scale for every column, so that equal flows are equally wide: the
    // one that fits the fullest column, gaps included.
    let drawn = |i: usize| sizes[i] > 0.0;
    let mut column_nodes: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, node) in chart.nodes.iter().enumerate().filter(|(i, _)| drawn(*i)) {
        column_nodes[node.column].push(i);
    }
    let scale = column_nodes
        .iter()
        .filter(|nodes| !nodes.is_empty())
        .map(|nodes| {
            let total: f64 = nodes.iter().map(|&i| sizes[i]).sum();
            (PLOT_HEIGHT - NODE_GAP * (nodes.len() - 1) as f64).max(PLOT_HEIGHT / 4.0) / total
        })
        .fold(f64::INFINITY, f64::min);
    let top = 8.0;
    let step = (CHART_WIDTH - NODE_WIDTH - LABEL_SPACE - 8.0) / (columns - 1) as f64;
    let x = |column: usize| 8.0 + column as f64 * step;
    let mut node_top = vec![0.0; chart.nodes.len()];
    let mut bottom: f64 = top;
    for nodes in &column_nodes {
        let mut y = top;
        for &i in nodes {
            node_top[i] = y;
            y += sizes[i] * scale + NODE_GAP;
        }
        bottom = bottom.max(y - NODE_GAP);
    }

    // Colours follow the label, in order of first appearance.
    let mut labels: Vec<&str> = Vec::new();
    let mut node_colors = Vec::with_capacity(chart.nodes.len());
    for node in &chart.nodes {
        let index = match labels.iter().position(|label| *label == node.label) {
            Some(index) => index,
            None => {
                labels.push(&node.label);
                labels.len() - 1
            }
        };
        node_colors.push(series_color(index));
    }

    let mut svg = Svg::new(label, CHART_WIDTH, bottom + 8.0);
    let (mut out_used, mut in_used) = (vec![0.0; chart.nodes.len()], vec![0.0; chart.nodes.len()]);
    for &(source, target, value) in &links {
        let width = value * scale;
        let (x0, x1) = (x(chart.nodes[source].column) + NODE_WIDTH, x(chart.nodes[target].column));
        let y0 = node_top[source] + out_used[source];
        let y1 = node_top[target] + in_used[target];
        out_used[source] += width;
        in_used[target] += width;
        let middle = (x0 + x1) / 2.0;
        let tooltip = format!(
            "{} → {}: {}",
            chart.nodes[source].label,
            chart.nodes[target].label,
            format_count(value)
        );
        svg.raw(&format!(
            r#"<path class="link" d="M{},{} C{},{} {},{} {},{} L{},{} C{},{} {},{} {},{} Z" fill="{}" fill-opacity="0.35"><title>{}</title></path>"#,
            num(x0), num(y0), num(middle), num(y0), num(middle), num(y1), num(x1), num(y1),
            num(x1), num(y1 + width), num(middle), num(y1 + width), num(middle), num(y0 + width), num(x0), num(y0 + width),
            node_colors[source],
            escape(&tooltip),
        ));
    }
    for nodes in &column_nodes {
        for &i in nodes {
            let node = &chart.nodes[i];
            let height = (sizes[i] * scale).max(1.0);
            let rect = Rect { x: x(node.column), y: node_top[i], width: NODE_WIDTH, height };
            let text = format!("{} ({})", node.label, format_count(sizes[i]));
            svg.rect("node", rect, node_colors[i], &text);
            let y = node_top[i] + height / 2.0;
            svg.text(
                Text::new(rect.x + NODE_WIDTH + 4.0, y, &text)
                    .class("category")
                    .middle()
                    .max_chars(LABEL_CHARS),
            );
        }
    }
    svg::figure(&chart.title, "", &svg.finish())
}
