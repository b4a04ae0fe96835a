//! The report sections of the product analyses: cohort retention, paths,
//! lifecycle and RFM segments. The caller decides where they go in the report.

use analytics::{
    EventSelector, LifecycleSpec, PathDirection, PathSpec, Paths, Period, RetentionMatrix,
    RetentionSpec, RfmSpec,
};
use datafusion::prelude::SessionContext;
use report::{
    BarChart, Heatmap, Sankey, SankeyLink, SankeyNode, Section, Series, Table, ValueFormat,
    format_count, format_decimal, format_percent,
};

/// Retention, paths, lifecycle and RFM sections for the events in `context`
/// (bot-flagged events left out), in that order.
pub async fn analytics_sections(context: &SessionContext) -> anyhow::Result<Vec<Section>> {
    Ok(vec![
        retention_section(context).await?,
        paths_section(context).await?,
        lifecycle_section(context).await?,
        rfm_section(context).await?,
    ])
}

fn retention_heatmap(title: &str, matrix: &RetentionMatrix) -> Heatmap {
    let columns = matrix.all_cohorts.len();
    let mut rows: Vec<String> = matrix
        .cohorts
        .iter()
        .map(|cohort| format!("{} ({})", cohort.start, format_count(cohort.size as f64)))
        .collect();
    let mut values: Vec<Vec<Option<f64>>> = matrix
        .cohorts
        .iter()
        .map(|cohort| cohort.returning.iter().map(|cell| Some(cell.rate)).collect())
        .collect();
    rows.push("all cohorts".into());
    values.push(matrix.all_cohorts.iter().map(|cell| Some(cell.rate)).collect());
    let period = matrix.spec.period;
    Heatmap::new(
        title,
        rows,
        (0..columns).map(|offset| format!("{period} {offset}")),
        values,
        ValueFormat::Percent,
    )
}

async fn retention_section(context: &SessionContext) -> anyhow::Result<Section> {
    let active = RetentionSpec { period: Period::Week, max_offset: 8, ..RetentionSpec::default() };
    let buyers = RetentionSpec {
        cohort_event: EventSelector::event_type("purchase"),
        return_event: EventSelector::event_type("purchase"),
        ..active.clone()
    };
    let active = analytics::cohort_retention(context, &active).await?;
    let buyers = analytics::cohort_retention(context, &buyers).await?;
    let mut section = Section::new("Retention");
    section
        .paragraph(
            "Users are grouped by the UTC week (Monday to Sunday) of their first event; each cell is \
             the share of the cohort active again in the week that many weeks later (week 0 is the \
             cohort week itself, so it is 100%). Weeks after the last week of data are left blank. \
             The second chart does the same for buyers: cohorts by first purchase, coming back to \
             purchase again.",
        )
        .heatmap(retention_heatmap("Weekly retention: any event after the first event", &active))
        .heatmap(retention_heatmap("Weekly repeat purchase: purchase after the first purchase", &buyers));
    Ok(section)
}

fn top_paths_table(paths: &Paths, caption: &str) -> Table {
    let mut table = Table::new(["path", "sessions", "share"])
        .with_numeric_columns([1, 2])
        .with_caption(caption);
    for path in &paths.top_paths {
        table = table.row([
            path.events.join(" → "),
            format_count(path.sessions as f64),
            format_percent(path.sessions as f64 / paths.sessions.max(1) as f64),
        ]);
    }
    table
}

fn paths_sankey(paths: &Paths, title: &str) -> Sankey {
    let nodes = paths
        .nodes
        .iter()
        .map(|node| SankeyNode { column: node.depth as usize, label: node.event.clone() })
        .collect();
    let links = paths
        .links
        .iter()
        .map(|link| SankeyLink {
            source: link.source,
            target: link.target,
            value: link.sessions as f64,
        })
        .collect();
    Sankey::new(title, nodes, links)
}

async fn paths_section(context: &SessionContext) -> anyhow::Result<Section> {
    let after_view = PathSpec {
        anchor: EventSelector::event_type("view"),
        direction: PathDirection::Next,
        depth: 3,
        top_per_depth: 4,
        collapse_repeats: true,
        max_paths: 10,
        include_bots: false,
    };
    let before_purchase = PathSpec {
        anchor: EventSelector::event_type("purchase"),
        direction: PathDirection::Previous,
        ..after_view.clone()
    };
    let after_view = analytics::paths(context, &after_view).await?;
    let before_purchase = analytics::paths(context, &before_purchase).await?;
    let mut section = Section::new("Paths");
    section
        .paragraph(format!(
            "What sessions do after their first product view ({} sessions) and before their last \
             purchase ({} sessions), three steps deep, within the same session. Repeated events \
             (view, view, view) count as one step; \"(end)\" means the session ended and \"(start)\" \
             that it began there; at each step the four most common events are named and the rest \
             grouped as \"(other)\".",
            format_count(after_view.sessions as f64),
            format_count(before_purchase.sessions as f64)
        ))
        .sankey(paths_sankey(&after_view, "Sessions after their first view, step by step"))
        .table(top_paths_table(&after_view, "Most common paths after the first view"))
        .table(top_paths_table(&before_purchase, "Most common paths before the last purchase, nearest first"));
    Ok(section)
}

async fn lifecycle_section(context: &SessionContext) -> anyhow::Result<Section> {
    let spec = LifecycleSpec { period: Period::Week, ..LifecycleSpec::default() };
    let lifecycle = analytics::lifecycle(context, &spec).await?;
    let labels: Vec<String> = lifecycle.periods.iter().map(|p| p.start.to_string()).collect();
    let series = |name: &str, value: fn(&analytics::LifecyclePeriod) -> f64| {
        Series::new(name, lifecycle.periods.iter().map(value).collect::<Vec<f64>>())
    };
    let chart = BarChart::with_series(
        "Weekly users by lifecycle status (dormant below the axis)",
        labels,
        vec![
            series("new", |p| p.new as f64),
            series("returning", |p| p.returning as f64),
            series("resurrected", |p| p.resurrected as f64),
            series("dormant", |p| p.dormant as f64),
        ],
    )
    .stacked()
    .with_y_label("users");
    let mut table =
        Table::new(["week", "active", "new", "returning", "resurrected", "dormant", "quick ratio"])
            .with_numeric_columns([1, 2, 3, 4, 5, 6]);
    for period in &lifecycle.periods {
        table = table.row([
            period.start.to_string(),
            format_count(period.active() as f64),
            format_count(period.new as f64),
            format_count(period.returning as f64),
            format_count(period.resurrected as f64),
            format_count(period.dormant as f64),
            period.quick_ratio().map_or("-".into(), |ratio| format_decimal(ratio, 2)),
        ]);
    }
    let mut section = Section::new("Lifecycle");
    section
        .paragraph(
            "Each week's active users split into new (first week ever), returning (also active the \
             week before) and resurrected (back after at least a week away); dormant users were \
             active the week before but not this week. The quick ratio, (new + resurrected) / \
             dormant, is above 1 while the active base grows. In the first week every user is new: \
             the lake cannot see earlier activity.",
        )
        .bar_chart(chart)
        .table(table);
    Ok(section)
}

async fn rfm_section(context: &SessionContext) -> anyhow::Result<Section> {
    let analysis = analytics::rfm(context, &RfmSpec::default()).await?;
    let segments: Vec<_> = analysis.segments.iter().filter(|s| s.customers > 0).collect();
    let mut table = Table::new([
        "segment",
        "customers",
        "share",
        "mean recency (days)",
        "mean orders",
        "mean net spend",
    ])
    .with_numeric_columns([1, 2, 3, 4, 5]);
    let mean = |value: Option<f64>, decimals: usize| {
        value.map_or("-".into(), |v| format_decimal(v, decimals))
    };
    for segment in &segments {
        table = table.row([
            segment.segment.to_string(),
            format_count(segment.customers as f64),
            format_percent(segment.share),
            mean(segment.mean_recency_days, 1),
            mean(segment.mean_frequency, 2),
            mean(segment.mean_monetary, 2),
        ]);
    }
    let as_of = analysis.as_of.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    let mut section = Section::new("RFM segments");
    section
        .paragraph(format!(
            "{} customers (users with a purchase) scored 1–5 on recency (days since the last purchase, \
             as of {as_of}), frequency (distinct orders) and monetary value (purchases minus refunds) \
             by rank against each other, and named by recency and the mean of the other two scores \
             (the segment table is in docs/analytics.md).",
            format_count(analysis.customers.len() as f64)
        ))
        .bar_chart(
            BarChart::new(
                "Customers per RFM segment",
                segments.iter().map(|s| s.segment.to_string()),
                segments.iter().map(|s| s.customers as f64).collect::<Vec<_>>(),
            )
            .horizontal(),
        )
        .table(table);
    Ok(section)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ingest::ImportOptions;
    use lake::Lake;
    use report::Report;

    use super::analytics_sections;

    #[tokio::test]
    async fn every_section_renders_on_a_real_sample() {
        let dir = tempfile::tempdir().unwrap();
        let mut lake = Lake::open_or_create(dir.path().join("lake")).await.unwrap();
        // Nine days of Taobao page views, carts and purchases (no prices).
        let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/taobao_userbehavior_sample/UserBehavior.csv");
        let options = ImportOptions::new(dir.path().join("staging"));
        lake::import_files(&mut lake, &[sample], options, &mut |_| {}).await.unwrap();
        let sections = analytics_sections(&lake.session().await.unwrap()).await.unwrap();
        let titles: Vec<&str> = sections.iter().map(|s| s.title()).collect();
        assert_eq!(titles, ["Retention", "Paths", "Lifecycle", "RFM segments"]);
        let mut report = Report::new("analytics");
        for section in sections {
            report.push_section(section);
        }
        let html = report.to_html();
        assert!(!html.contains("NaN") && !html.contains("n/a"), "a number did not compute");
        assert!(html.contains("(end)") && html.contains("all cohorts"));
    }
}
