//! A self-contained HTML report for a shop's analytics.
//!
//! A [`Report`] is a title and a list of [`Section`]s; each section holds
//! paragraphs, KPI cards, tables and charts in the order they were added.
//! [`Report::to_html`] writes one HTML file with inline CSS and inline SVG
//! charts: it opens from disk with no network and no JavaScript, prints
//! cleanly, and is byte-for-byte the same for the same input (no timestamps).
//!
//! ```
//! use report::{BarChart, Kpi, Report, format_count};
//!
//! let mut report = Report::new("Weekly shop report");
//! report
//!     .section("Overview")
//!     .kpis(vec![Kpi::new("Visitors", format_count(12_345.0))])
//!     .bar_chart(BarChart::new("Orders by day", ["Mon", "Tue"], [120.0, 98.0]));
//! let html = report.to_html();
//! assert!(html.contains("<svg"));
//! ```
//!
//! Architecture invariant: every piece of caller text is escaped (only
//! [`Section::html`] is trusted), and no chart writes a non-finite number,
//! whatever data it is given.

mod chart;
mod document;
mod escape;
mod format;
mod kpi;
mod table;

pub use chart::Series;
pub use chart::bar::BarChart;
pub use chart::funnel::FunnelChart;
pub use chart::heatmap::Heatmap;
pub use chart::line::LineChart;
pub use chart::sankey::{Sankey, SankeyLink, SankeyNode};
pub use chart::scatter::Scatter;
pub use document::{Report, Section};
pub use escape::escape;
pub use format::{ValueFormat, format_count, format_decimal, format_percent};
pub use kpi::Kpi;
pub use table::Table;
