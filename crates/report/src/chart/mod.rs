//! Charts drawn as inline SVG, one module per kind. Each module owns the
//! public description of its chart and a `render` function that turns it
//! into a `<figure>`.
//!
//! Every render function must accept any input without panicking and must
//! never write a non-finite number: values go through [`scale::finite`] on
//! the way in and coordinates through [`svg::num`] on the way out.

pub(crate) mod bar;
pub(crate) mod funnel;
pub(crate) mod heatmap;
pub(crate) mod line;
pub(crate) mod sankey;
pub(crate) mod scale;
pub(crate) mod scatter;
pub(crate) mod svg;

use serde::{Deserialize, Serialize};

/// A named list of values, one per category or x label.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Shown in the legend and in tooltips; may be empty for a lone series.
    pub name: String,
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: impl Into<Vec<f64>>) -> Series {
        Series { name: name.into(), values: values.into() }
    }
}

/// Collects labels given as anything string-like.
fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// The tooltip of one data point: `label: value` or `label · series: value`.
fn point_tooltip(label: &str, series: &str, value: &str) -> String {
    match (label.is_empty(), series.is_empty()) {
        (true, true) => value.to_string(),
        (false, true) => format!("{label}: {value}"),
        (true, false) => format!("{series}: {value}"),
        (false, false) => format!("{label} · {series}: {value}"),
    }
}
