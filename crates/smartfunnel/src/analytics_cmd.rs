//! `smartfunnel retention|paths|lifecycle|rfm`: the product analyses of the
//! `analytics` crate on a lake, as text tables or JSON.

use std::path::{Path, PathBuf};

use analytics::{
    EventSelector, LifecycleSpec, PathDirection, PathSpec, Period, RetentionSpec, RfmAnalysis,
    RfmSpec, SegmentSummary,
};
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use datafusion::prelude::SessionContext;
use lake::Lake;
use serde::Serialize;

use crate::Output;

/// The lake to analyse, and whether bot traffic counts.
#[derive(Debug, Args)]
pub struct LakeSelection {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// Count events flagged as bot traffic too (left out by default).
    #[arg(long)]
    include_bots: bool,
}

impl LakeSelection {
    async fn session(&self) -> anyhow::Result<SessionContext> {
        let lake = Lake::open(&self.lake)
            .await
            .with_context(|| format!("opening {}", self.lake.display()))?;
        Ok(lake.session().await?)
    }
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    #[command(flatten)]
    selection: LakeSelection,
    /// The event whose first occurrence puts a user in a cohort: `any` or an
    /// event type such as `purchase`.
    #[arg(long, default_value = "any")]
    cohort_event: EventSelector,
    /// The event that counts as coming back: `any` or an event type.
    #[arg(long, default_value = "any")]
    return_event: EventSelector,
    /// Cohort and return period: day, week (from Monday) or month, in UTC.
    #[arg(long, default_value = "week")]
    period: Period,
    /// The last period offset shown; offset 0 is the cohort period.
    #[arg(long, default_value_t = 8)]
    max_offset: u32,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    #[command(flatten)]
    selection: LakeSelection,
    /// The event paths start from: an event type, or `any` for each session's
    /// first (last, with `--direction previous`) event.
    #[arg(long, default_value = "view")]
    event: EventSelector,
    /// `next` for the events after it, `previous` for the events before it.
    #[arg(long, default_value = "next")]
    direction: PathDirection,
    /// Steps from the event.
    #[arg(long, default_value_t = 3)]
    depth: u32,
    /// Events named at each depth; the rest are grouped as "(other)".
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Count a run of the same event (view, view, view) as one step.
    #[arg(long)]
    collapse_repeats: bool,
    /// How many of the most common whole paths to list.
    #[arg(long, default_value_t = 10)]
    paths: usize,
}

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    #[command(flatten)]
    selection: LakeSelection,
    /// The events that make a user active: `any` or an event type.
    #[arg(long, default_value = "any")]
    event: EventSelector,
    /// day, week (from Monday) or month, in UTC.
    #[arg(long, default_value = "week")]
    period: Period,
}

#[derive(Debug, Args)]
pub struct RfmArgs {
    #[command(flatten)]
    selection: LakeSelection,
    /// Measure recency to this time and ignore later events: RFC 3339, or a
    /// date for the end of that UTC day. Default: the last event in the lake.
    #[arg(long, value_parser = parse_as_of)]
    as_of: Option<DateTime<Utc>>,
    /// Also write every customer's row (user_id, recency_days, frequency,
    /// monetary, r, f, m, segment) to this CSV file.
    #[arg(long)]
    per_customer: Option<PathBuf>,
}

fn parse_as_of(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is neither a date (2024-01-31) nor an RFC 3339 time"))?;
    let end_of_day = date.and_hms_micro_opt(23, 59, 59, 999_999).expect("a valid time of day");
    Ok(end_of_day.and_utc())
}

pub async fn run_retention(args: RetentionArgs, output: Output) -> anyhow::Result<()> {
    let spec = RetentionSpec {
        cohort_event: args.cohort_event,
        return_event: args.return_event,
        period: args.period,
        max_offset: args.max_offset,
        include_bots: args.selection.include_bots,
    };
    let matrix = analytics::cohort_retention(&args.selection.session().await?, &spec).await?;
    if output.json {
        return output.print_json(&matrix);
    }
    let offsets = matrix.all_cohorts.len();
    let mut header = vec!["cohort".to_string(), "users".to_string()];
    header.extend((0..offsets).map(|offset| format!("+{offset}")));
    let percent = |rate: f64| format!("{:.1}%", rate * 100.0);
    let mut rows: Vec<Vec<String>> = matrix
        .cohorts
        .iter()
        .map(|cohort| {
            let mut row = vec![cohort.start.to_string(), cohort.size.to_string()];
            row.extend(cohort.returning.iter().map(|cell| percent(cell.rate)));
            row
        })
        .collect();
    let total: u64 = matrix.cohorts.iter().map(|cohort| cohort.size).sum();
    let mut pooled = vec!["all".to_string(), total.to_string()];
    pooled.extend(matrix.all_cohorts.iter().map(|cell| percent(cell.rate)));
    rows.push(pooled);
    println!(
        "retention by {} cohort: first {} event, returning on {} event (UTC; +0 is the cohort {})",
        spec.period, spec.cohort_event, spec.return_event, spec.period
    );
    print_table(&header, &rows);
    Ok(())
}

pub async fn run_paths(args: PathsArgs, output: Output) -> anyhow::Result<()> {
    let spec = PathSpec {
        anchor: args.event,
        direction: args.direction,
        depth: args.depth,
        top_per_depth: args.top,
        collapse_repeats: args.collapse_repeats,
        max_paths: args.paths,
        include_bots: args.selection.include_bots,
    };
    let paths = analytics::paths(&args.selection.session().await?, &spec).await?;
    if output.json {
        return output.print_json(&paths);
    }
    println!(
        "{} sessions with {}; {} events within the session, {} steps",
        paths.sessions, spec.anchor, spec.direction, spec.depth
    );
    let share = |sessions: u64| format!("{:.1}%", sessions as f64 * 100.0 / paths.sessions as f64);
    let node_rows: Vec<Vec<String>> = paths
        .nodes
        .iter()
        .map(|node| {
            vec![
                node.depth.to_string(),
                node.event.clone(),
                node.sessions.to_string(),
                share(node.sessions),
            ]
        })
        .collect();
    print_table(&["depth", "event", "sessions", "share"].map(String::from), &node_rows);
    println!("\nmost common paths");
    let path_rows: Vec<Vec<String>> = paths
        .top_paths
        .iter()
        .map(|path| vec![path.events.join(" > "), path.sessions.to_string(), share(path.sessions)])
        .collect();
    print_table(&["path", "sessions", "share"].map(String::from), &path_rows);
    println!("\nlinks (Sankey data; --json has them by node index)");
    let node = |index: usize| {
        let node = &paths.nodes[index];
        format!("{}:{}", node.depth, node.event)
    };
    let link_rows: Vec<Vec<String>> = paths
        .links
        .iter()
        .map(|link| vec![node(link.source), node(link.target), link.sessions.to_string()])
        .collect();
    print_table(&["from", "to", "sessions"].map(String::from), &link_rows);
    Ok(())
}

pub async fn run_lifecycle(args: LifecycleArgs, output: Output) -> anyhow::Result<()> {
    let spec = LifecycleSpec {
        event: args.event,
        period: args.period,
        include_bots: args.selection.include_bots,
    };
    let lifecycle = analytics::lifecycle(&args.selection.session().await?, &spec).await?;
    if output.json {
        return output.print_json(&lifecycle);
    }
    println!("users active on {} events per {} (UTC)", spec.event, spec.period);
    let rows: Vec<Vec<String>> = lifecycle
        .periods
        .iter()
        .map(|period| {
            vec![
                period.start.to_string(),
                period.active().to_string(),
                period.new.to_string(),
                period.returning.to_string(),
                period.resurrected.to_string(),
                period.dormant.to_string(),
                period.quick_ratio().map_or("-".into(), |ratio| format!("{ratio:.2}")),
            ]
        })
        .collect();
    let header = ["period", "active", "new", "returning", "resurrected", "dormant", "quick ratio"];
    print_table(&header.map(String::from), &rows);
    Ok(())
}

pub async fn run_rfm(args: RfmArgs, output: Output) -> anyhow::Result<()> {
    let spec = RfmSpec { as_of: args.as_of, include_bots: args.selection.include_bots };
    let analysis = analytics::rfm(&args.selection.session().await?, &spec).await?;
    if let Some(path) = &args.per_customer {
        write_customers_csv(&analysis, path)
            .with_context(|| format!("writing the per-customer rows to {}", path.display()))?;
    }
    if output.json {
        // Segments only: the per-customer rows can be millions; they go to the CSV.
        return output.print_json(&RfmSummary {
            as_of: analysis.as_of,
            customers: analysis.customers.len(),
            segments: &analysis.segments,
        });
    }
    let as_of =
        analysis.as_of.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    println!("{} customers, recency as of {as_of}", analysis.customers.len());
    let mean = |value: Option<f64>, decimals: usize| {
        value.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
    };
    let rows: Vec<Vec<String>> = analysis
        .segments
        .iter()
        .map(|segment| {
            vec![
                segment.segment.to_string(),
                segment.customers.to_string(),
                format!("{:.1}%", segment.share * 100.0),
                mean(segment.mean_recency_days, 1),
                mean(segment.mean_frequency, 2),
                mean(segment.mean_monetary, 2),
            ]
        })
        .collect();
    let header = ["segment", "customers", "share", "recency days", "orders", "monetary"];
    print_table(&header.map(String::from), &rows);
    if let Some(path) = &args.per_customer
        && !output.quiet
    {
        println!("per-customer rows: {}", path.display());
    }
    Ok(())
}

/// What `rfm --json` prints.
#[derive(Serialize)]
struct RfmSummary<'a> {
    as_of: Option<DateTime<Utc>>,
    customers: usize,
    segments: &'a [SegmentSummary],
}

fn write_customers_csv(analysis: &RfmAnalysis, path: &Path) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record([
        "user_id",
        "recency_days",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "segment",
    ])?;
    for customer in &analysis.customers {
        writer.write_record([
            customer.user_id.clone(),
            customer.recency_days.to_string(),
            customer.frequency.to_string(),
            format!("{:.2}", customer.monetary),
            customer.r.to_string(),
            customer.f.to_string(),
            customer.m.to_string(),
            customer.segment.to_string(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Prints rows under a header, each column as wide as its widest cell; columns
/// of numbers (counts, percentages, `-` for none) are right-aligned.
pub(crate) fn print_table(header: &[String], rows: &[Vec<String>]) {
    let looks_numeric =
        |cell: &str| cell == "-" || cell.trim_end_matches('%').parse::<f64>().is_ok();
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    let mut numeric = vec![true; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
            numeric[i] &= looks_numeric(cell);
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let padding = " ".repeat(width - cell.chars().count());
            let separator = if i == 0 { "" } else { "  " };
            if numeric[i] {
                text.push_str(&format!("{separator}{padding}{cell}"));
            } else {
                text.push_str(&format!("{separator}{cell}{padding}"));
            }
        }
        text.trim_end().to_string()
    };
    println!("{}", line(header));
    for row in rows {
        println!("{}", line(row));
    }
}
