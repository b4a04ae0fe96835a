//! Key figures shown as a row of big-number cards.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::escape::escape;

/// One big-number card: a label, the value as it should read, and an
/// optional line of context under it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    pub label: String,
    /// Already formatted, e.g. with [`format_count`](crate::format_count).
    pub value: String,
    pub detail: Option<String>,
}

impl Kpi {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Kpi {
        Kpi { label: label.into(), value: value.into(), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Kpi {
        self.detail = Some(detail.into());
        self
    }
}

pub(crate) fn render(kpis: &[Kpi]) -> String {
    let mut out = String::from("<div class=\"kpis\">");
    for kpi in kpis {
        let _ = write!(
            out,
            r#"<div class="kpi"><div class="kpi-label">{}</div><div class="kpi-value">{}</div>"#,
            escape(&kpi.label),
            escape(&kpi.value)
        );
        if let Some(detail) = &kpi.detail {
            let _ = write!(out, r#"<div class="kpi-detail">{}</div>"#, escape(detail));
        }
        out.push_str("</div>");
    }
    out.push_str("</div>\n");
    out
}
