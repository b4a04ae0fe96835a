//! `smartfunnel funnel`.

use std::io::Write as _;
use std::path::PathBuf;

use analytics::correlation::{self, CorrelationOptions, CorrelationResult};
use analytics::funnels::{
    self, Attribution, Breakdown, CountBy, Exclusion, FunnelQuery, FunnelResult, FunnelStep,
    StepOrder, UnitLevel,
};
use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use lake::Lake;
use serde::Serialize;

use crate::Output;

#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// Steps, comma-separated event names (`view,add_to_cart,purchase`).
    #[arg(long, value_delimiter = ',', required_unless_present = "step")]
    steps: Vec<String>,
    /// One step as an event name or a SQL predicate, repeatable, after those of --steps
    /// (`--step "event_type = 'view' AND category LIKE 'electronics%'"`).
    #[arg(long)]
    step: Vec<String>,
    /// Conversion window from step 1: 30m, 12h, 7d, 2w.
    #[arg(long, default_value = "7d")]
    window: String,
    /// Step order: ordered (other events may come between steps), strict (none may),
    /// any (steps in any order).
    #[arg(long, value_enum, default_value_t = OrderArg::Ordered)]
    order: OrderArg,
    /// ClickHouse windowFunnel modes, comma-separated: strict_deduplication,
    /// strict_order, strict_increase, strict_once, allow_reentry.
    #[arg(long, value_delimiter = ',')]
    mode: Vec<String>,
    /// Leave out users who do this between two steps: `EXPR` (between the first and the
    /// last step) or `EXPR@FROM-TO` with 1-based steps (`remove_from_cart@2-3`).
    #[arg(long)]
    exclude: Vec<String>,
    /// A property that must keep one value across the steps (`item_id`), repeatable.
    #[arg(long)]
    hold: Vec<String>,
    /// A per-step window: `N=DURATION`, step N (1-based, from 2) within DURATION of the
    /// step before it. Repeatable.
    #[arg(long)]
    step_window: Vec<String>,
    /// A step (1-based) that may be skipped. Repeatable.
    #[arg(long)]
    optional: Vec<usize>,
    /// What is counted: users, sessions, or totals (every journey, re-entry allowed).
    #[arg(long, value_enum, default_value_t = CountArg::Users)]
    count: CountArg,
    /// Break the funnel down by a column or SQL expression.
    #[arg(long)]
    breakdown: Option<String>,
    /// Which step's value a unit is attributed to: first, last, or step:N.
    #[arg(long, default_value = "first")]
    attribution: String,
    /// Breakdown values shown (the rest are grouped as "(other)").
    #[arg(long, default_value_t = 10)]
    breakdown_limit: usize,
    /// Only events on or after this date (YYYY-MM-DD) or time (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Only events before this date or time.
    #[arg(long)]
    to: Option<String>,
    /// Leave out events flagged as bot traffic.
    #[arg(long)]
    exclude_bots: bool,
    /// Write each unit's level as CSV (`user_id,level`; with --count sessions
    /// `user_id,session_id,level`); every user with an event in range is listed.
    #[arg(long)]
    per_user: Option<PathBuf>,
    /// Which events and property values go with converting and with dropping off.
    #[arg(long)]
    correlation: bool,
    /// Print the SQL that reads the events.
    #[arg(long)]
    sql: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OrderArg {
    Ordered,
    Strict,
    Any,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CountArg {
    Users,
    Sessions,
    Totals,
}

/// The JSON document `--json` prints.
#[derive(Debug, Serialize)]
struct FunnelReport {
    #[serde(flatten)]
    funnel: FunnelResult,
    /// Units that reached step 1 (users, sessions or journeys).
    entered: u64,
    /// Units that reached the last step.
    converted: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation: Option<CorrelationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_user_file: Option<PathBuf>,
}

/// Builds the query from the command line.
fn query(args: &FunnelArgs) -> anyhow::Result<FunnelQuery> {
    let mut steps = Vec::new();
    for text in args.steps.iter().chain(&args.step) {
        steps.push(FunnelStep::parse(text)?);
    }
    let mut query = FunnelQuery::new(steps, funnels::parse_duration(&args.window)?);
    let step_count = query.steps.len();
    query.order = match args.order {
        OrderArg::Ordered => StepOrder::Ordered,
        OrderArg::Strict => StepOrder::Strict,
        OrderArg::Any => StepOrder::Any,
    };
    query.modes = funnel::Modes::from_options(args.mode.iter().map(|mode| mode.trim()))?;
    for text in &args.exclude {
        let (expression, from_step, to_step) = match text.rsplit_once('@') {
            Some((expression, range)) if parse_step_range(range).is_some() => {
                let (from, to) = parse_step_range(range).expect("checked");
                (expression, from, to)
            }
            _ => (text.as_str(), 1, step_count),
        };
        let step = FunnelStep::parse(expression)?;
        if from_step == 0 || to_step == 0 {
            bail!("--exclude {text:?}: steps are numbered from 1");
        }
        query.exclusions.push(Exclusion {
            label: step.label,
            predicate: step.predicate,
            from_step: from_step - 1,
            to_step: to_step - 1,
        });
    }
    query.hold = args.hold.clone();
    for text in &args.step_window {
        let Some((step, duration)) = text.split_once('=') else {
            bail!("--step-window {text:?}: write N=DURATION, e.g. 3=1h");
        };
        let step: usize = step.trim().parse().with_context(|| format!("--step-window {text:?}"))?;
        if step < 2 || step > step_count {
            bail!("--step-window {text:?}: the step must be between 2 and {step_count}");
        }
        query.steps[step - 1].within_micros = Some(funnels::parse_duration(duration)?);
    }
    for step in &args.optional {
        if *step == 0 || *step > step_count {
            bail!("--optional {step}: there are steps 1 to {step_count}");
        }
        query.steps[step - 1].optional = true;
    }
    query.count_by = match args.count {
        CountArg::Users => CountBy::Users,
        CountArg::Sessions => CountBy::Sessions,
        CountArg::Totals => CountBy::Totals,
    };
    if let Some(expression) = &args.breakdown {
        let attribution = match args.attribution.as_str() {
            "first" | "first-touch" | "first_touch" => Attribution::FirstTouch,
            "last" | "last-touch" | "last_touch" => Attribution::LastTouch,
            other => match other.strip_prefix("step:").map(str::parse::<usize>) {
                Some(Ok(step)) if step >= 1 => Attribution::Step(step - 1),
                _ => bail!("--attribution {other:?}: use first, last or step:N"),
            },
        };
        query.breakdown = Some(Breakdown {
            expression: expression.clone(),
            attribution,
            limit: args.breakdown_limit,
        });
    }
    query.from = args.from.as_deref().map(|text| parse_time("--from", text)).transpose()?;
    query.to = args.to.as_deref().map(|text| parse_time("--to", text)).transpose()?;
    query.exclude_bots = args.exclude_bots;
    query.keep_all_units = args.per_user.is_some();
    Ok(query)
}

fn parse_step_range(text: &str) -> Option<(usize, usize)> {
    let (from, to) = text.split_once('-')?;
    Some((from.trim().parse().ok()?, to.trim().parse().ok()?))
}

fn parse_time(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .with_context(|| format!("{flag} {text:?}: expected YYYY-MM-DD or an RFC 3339 time"))
}

pub async fn run(args: FunnelArgs, output: Output) -> anyhow::Result<()> {
    let mut query = query(&args)?;
    if args.correlation {
        // Correlation needs every entered user's outcome.
        query.keep_all_units = true;
    }
    if args.sql {
        eprintln!("{}", query.sql());
    }
    let lake = Lake::open(&args.lake).await?;
    let context = lake.session().await?;
    let wants_units = args.per_user.is_some() || args.correlation;
    let (result, units) = funnels::run(&context, &query, wants_units).await?;
    if let Some(path) = &args.per_user {
        write_levels(path, &units, query.count_by)?;
    }
    let correlation = if args.correlation {
        Some(
            correlation::correlate(&context, &query, &units, &CorrelationOptions::default())
                .await?,
        )
    } else {
        None
    };
    let report = FunnelReport {
        entered: result.steps.first().map_or(0, |step| step.entered),
        converted: result.steps.last().map_or(0, |step| step.entered),
        funnel: result,
        correlation,
        per_user_file: args.per_user.clone(),
    };
    if output.json {
        return output.print_json(&report);
    }
    print!("{}", render(&report));
    Ok(())
}

fn write_levels(path: &PathBuf, units: &[UnitLevel], count_by: CountBy) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let header =
        if count_by == CountBy::Sessions { "user_id,session_id,level" } else { "user_id,level" };
    writeln!(writer, "{header}")?;
    for unit in units {
        let level = unit.level.map_or(String::new(), |level| level.to_string());
        if count_by == CountBy::Sessions {
            writeln!(
                writer,
                "{},{},{level}",
                csv_field(&unit.user_id),
                csv_field(&unit.session_id)
            )?;
        } else {
            writeln!(writer, "{},{level}", csv_field(&unit.user_id))?;
        }
    }
    writer.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A duration in seconds, shortly (`42s`, `3.5m`, `2.1h`, `1.4d`).
pub fn short_duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.0}s")
    } else if seconds < 3_600.0 {
        format!("{:.1}m", seconds / 60.0)
    } else if seconds < 86_400.0 {
        format!("{:.1}h", seconds / 3_600.0)
    } else {
        format!("{:.1}d", seconds / 86_400.0)
    }
}

fn render(report: &FunnelReport) -> String {
    use std::fmt::Write as _;
    let funnel = &report.funnel;
    let mut text = String::new();
    let unit = match funnel.count_by {
        CountBy::Users => "users",
        CountBy::Sessions => "sessions",
        CountBy::Totals => "journeys",
    };
    let order = match funnel.order {
        StepOrder::Ordered => "ordered",
        StepOrder::Strict => "strict",
        StepOrder::Any => "any",
    };
    let _ = writeln!(
        text,
        "{} steps, {} window, {order} order, counting {unit}{}",
        funnel.steps.len(),
        short_duration(funnel.window_seconds),
        if funnel.clickhouse_exact { " (ClickHouse windowFunnel levels)" } else { "" }
    );
    let width = funnel.steps.iter().map(|step| step.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        text,
        "{:>2}  {:<width$}  {:>10}  {:>9}  {:>9}  {:>10}  {:>8}  {:>8}",
        "#", "step", "entered", "of start", "of prev", "dropped", "median", "p90"
    );
    for (index, step) in funnel.steps.iter().enumerate() {
        let time = |value: Option<f64>| value.map_or("-".to_owned(), short_duration);
        let _ = writeln!(
            text,
            "{:>2}  {:<width$}  {:>10}  {:>8.1}%  {:>8.1}%  {:>10}  {:>8}  {:>8}",
            index + 1,
            format!("{}{}", step.name, if step.optional { " (optional)" } else { "" }),
            step.entered,
            step.conversion_from_start * 100.0,
            step.conversion_from_previous * 100.0,
            step.dropped,
            time(step.median_seconds_from_previous),
            time(step.p90_seconds_from_previous),
        );
    }
    if funnel.excluded > 0 {
        let _ = writeln!(
            text,
            "excluded: {} {unit} did an excluded event between steps",
            funnel.excluded
        );
    }
    if !funnel.time_to_convert.is_empty() {
        let _ = writeln!(text, "\ntime to convert (step 1 to the last step)");
        for bin in &funnel.time_to_convert {
            let upper = if bin.to_seconds.is_finite() {
                short_duration(bin.to_seconds)
            } else {
                "+".into()
            };
            let _ = writeln!(
                text,
                "  {:>6} – {:<6} {:>10}",
                short_duration(bin.from_seconds),
                upper,
                bin.units
            );
        }
    }
    if !funnel.breakdown.is_empty() {
        let _ = writeln!(text, "\nbreakdown (entered per step)");
        for row in &funnel.breakdown {
            let counts: Vec<String> = row.steps.iter().map(u64::to_string).collect();
            let _ = writeln!(text, "  {:<30} {}", row.value, counts.join("  "));
        }
    }
    if let Some(correlation) = &report.correlation {
        let _ = writeln!(
            text,
            "\ncorrelation ({} converted, {} dropped, {} candidates tested)",
            correlation.success_total, correlation.failure_total, correlation.tested
        );
        for (title, list) in
            [("with converting", &correlation.success), ("with dropping off", &correlation.failure)]
        {
            let _ = writeln!(text, "  {title}:");
            for item in list {
                let _ = writeln!(
                    text,
                    "    {:<40} odds ×{:<8.2} p={:.2e}  ({} converted, {} dropped)",
                    format!("{} {}", item.kind, item.name),
                    item.odds_ratio,
                    item.p_value,
                    item.success_with,
                    item.failure_with
                );
            }
        }
    }
    if let Some(path) = &report.per_user_file {
        let _ = writeln!(
            text,
            "\nper-{} levels written to {}",
            unit.trim_end_matches('s'),
            path.display()
        );
    }
    text
}
