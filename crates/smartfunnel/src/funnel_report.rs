//! The funnel sections of the demo report: the purchase funnel with drop-off and time to
//! convert, a breakdown by channel, a strict-order and an item-held variant, funnel
//! correlation, and the same levels through the `window_funnel` SQL aggregate.

use analytics::correlation::{self, CorrelationOptions};
use analytics::funnels::{self, Attribution, Breakdown, FunnelQuery, FunnelResult, FunnelStep};
use anyhow::Context as _;
use datafusion::prelude::SessionContext;
use report::{BarChart, FunnelChart, Kpi, Report, Table, format_count, format_percent};

use crate::funnel_cmd::short_duration;

/// What the demo prints about the funnel.
#[derive(Debug, serde::Serialize)]
pub struct FunnelSummary {
    pub steps: Vec<(String, u64)>,
    /// Users whose level from the SQL aggregate differs from the engine's (must be 0).
    pub sql_engine_differences: u64,
}

const STEPS: [&str; 4] = ["view", "add_to_cart", "checkout", "purchase"];

fn purchase_funnel() -> anyhow::Result<FunnelQuery> {
    let steps = STEPS.iter().map(|step| FunnelStep::parse(step)).collect::<Result<_, _>>()?;
    let mut query = FunnelQuery::new(steps, funnels::parse_duration("7d")?);
    query.exclude_bots = true;
    Ok(query)
}

fn step_table(result: &FunnelResult) -> Table {
    let mut table = Table::new([
        "step",
        "entered",
        "of start",
        "of previous",
        "dropped",
        "median time from previous",
        "p90",
    ])
    .with_numeric_columns([1, 2, 3, 4, 5, 6]);
    for step in &result.steps {
        let time = |value: Option<f64>| value.map_or("–".to_owned(), short_duration);
        table = table.row([
            step.name.clone(),
            format_count(step.entered as f64),
            format_percent(step.conversion_from_start),
            format_percent(step.conversion_from_previous),
            format_count(step.dropped as f64),
            time(step.median_seconds_from_previous),
            time(step.p90_seconds_from_previous),
        ]);
    }
    table
}

pub async fn add_funnel_sections(
    report: &mut Report,
    context: &SessionContext,
    lake_dir: &str,
) -> anyhow::Result<FunnelSummary> {
    let mut query = purchase_funnel()?;
    query.keep_all_units = true;
    let (result, units) = funnels::run(context, &query, true).await.context("purchase funnel")?;

    let section = report.section("Purchase funnel (7-day window)");
    section.paragraph(format!(
        "Users who viewed a product, then added to cart, checked out and purchased within 7 days of the view, \
         in that order (other events may come between). Levels follow ClickHouse's windowFunnel exactly. \
         Bot traffic is left out. Command: smartfunnel funnel --lake {lake_dir} --steps {} --window 7d --exclude-bots",
        STEPS.join(",")
    ));
    let entered = result.steps.first().map_or(0, |step| step.entered);
    let converted = result.steps.last().map_or(0, |step| step.entered);
    section.kpis(vec![
        Kpi::new("Entered", format_count(entered as f64)),
        Kpi::new("Purchased", format_count(converted as f64)),
        Kpi::new(
            "Conversion",
            format_percent(if entered > 0 { converted as f64 / entered as f64 } else { 0.0 }),
        ),
    ]);
    section.funnel_chart(FunnelChart::new(
        "Users per step",
        result.steps.iter().map(|step| (step.name.clone(), step.entered as f64)),
    ));
    section.table(step_table(&result));
    if !result.time_to_convert.is_empty() {
        let labels: Vec<String> = result
            .time_to_convert
            .iter()
            .map(|bin| {
                let upper = if bin.to_seconds.is_finite() {
                    short_duration(bin.to_seconds)
                } else {
                    "+".to_owned()
                };
                format!("{}–{upper}", short_duration(bin.from_seconds))
            })
            .collect();
        let counts: Vec<f64> = result.time_to_convert.iter().map(|bin| bin.units as f64).collect();
        section.bar_chart(
            BarChart::new("Time to convert, view to purchase", labels, counts)
                .with_y_label("users"),
        );
    }

    // The same levels through SQL: the aggregate is registered in every lake session.
    let sql = "SELECT level, count(*) AS users FROM (SELECT user_id, window_funnel(INTERVAL '7 days', event_time, \
               event_type = 'view', event_type = 'add_to_cart', event_type = 'checkout', event_type = 'purchase') AS level \
               FROM events WHERE NOT is_bot GROUP BY user_id) GROUP BY level ORDER BY level";
    let rows = lake::text_rows(&context.sql(sql).await?.collect().await?)?;
    let mut engine_levels = vec![0u64; STEPS.len() + 1];
    for unit in &units {
        if let Some(level) = unit.level {
            engine_levels[usize::from(level)] += 1;
        }
    }
    let mut differences = 0u64;
    let mut sql_table = Table::new(["level", "users (SQL window_funnel)", "users (funnel engine)"])
        .with_numeric_columns([0, 1, 2]);
    for row in &rows {
        let level: usize = row[0].as_deref().unwrap_or("0").parse().unwrap_or(0);
        let users: u64 = row[1].as_deref().unwrap_or("0").parse().unwrap_or(0);
        let engine = engine_levels.get(level).copied().unwrap_or(0);
        differences += users.abs_diff(engine);
        sql_table = sql_table.row([
            level.to_string(),
            format_count(users as f64),
            format_count(engine as f64),
        ]);
    }
    report
        .section("The funnel in SQL")
        .paragraph(format!(
            "window_funnel, retention, sequence_match and sequence_count are DataFusion aggregates in every session, \
             so smartfunnel sql can use them: smartfunnel sql --lake {lake_dir} \"{sql}\". \
             Users per level from SQL and from the funnel engine (differences: {differences})."
        ))
        .table(sql_table);

    // Breakdown by the channel of the view that started the funnel (first touch).
    let mut by_channel = purchase_funnel()?;
    by_channel.breakdown = Some(Breakdown {
        expression: "channel".into(),
        attribution: Attribution::FirstTouch,
        limit: 8,
    });
    let (channel_result, _) = funnels::run(context, &by_channel, false).await?;
    let mut channel_table = Table::new(
        std::iter::once("channel (first touch)".to_owned())
            .chain(STEPS.iter().map(|step| (*step).to_owned()))
            .chain(std::iter::once("conversion".to_owned())),
    )
    .with_numeric_columns((1..=STEPS.len() + 1).collect::<Vec<_>>());
    for row in &channel_result.breakdown {
        let first = row.steps.first().copied().unwrap_or(0);
        let last = row.steps.last().copied().unwrap_or(0);
        channel_table = channel_table.row(
            std::iter::once(row.value.clone())
                .chain(row.steps.iter().map(|count| format_count(*count as f64)))
                .chain(std::iter::once(format_percent(if first > 0 {
                    last as f64 / first as f64
                } else {
                    0.0
                }))),
        );
    }

    // Variants: strict order, the same item throughout, sessions.
    let mut variants = Table::new(["variant", "entered", "purchased", "conversion"])
        .with_numeric_columns([1, 2, 3]);
    let mut strict = purchase_funnel()?;
    strict.order = funnels::StepOrder::Strict;
    let mut same_item = purchase_funnel()?;
    same_item.hold.push("item_id".into());
    let mut sessions = purchase_funnel()?;
    sessions.count_by = funnels::CountBy::Sessions;
    let mut no_removal = purchase_funnel()?;
    no_removal.exclusions.push(funnels::Exclusion {
        label: "remove_from_cart".into(),
        predicate: "event_type = 'remove_from_cart'".into(),
        from_step: 1,
        to_step: 3,
    });
    let mut variant_row = |name: &str, variant_result: &FunnelResult| {
        let first = variant_result.steps.first().map_or(0, |step| step.entered);
        let last = variant_result.steps.last().map_or(0, |step| step.entered);
        variants = std::mem::take(&mut variants).row([
            name.to_owned(),
            format_count(first as f64),
            format_count(last as f64),
            format_percent(if first > 0 { last as f64 / first as f64 } else { 0.0 }),
        ]);
    };
    // The plain funnel was run above; only the variants need a run of their own.
    variant_row("ordered (as above)", &result);
    for (name, variant) in [
        ("strict order: no other event between steps", strict),
        ("same item across all steps (--hold item_id)", same_item),
        ("counting sessions", sessions),
        ("excluding users who removed from cart between cart and purchase", no_removal),
    ] {
        let (variant_result, _) = funnels::run(context, &variant, false).await?;
        variant_row(name, &variant_result);
    }
    report
        .section("Funnel breakdowns and variants")
        .paragraph(
            "The same funnel broken down by the channel of the view that started it, and asked in other ways: \
             strict order, one item held across the steps, per session, and with an exclusion step.",
        )
        .table(channel_table)
        .table(variants);

    // Correlation.
    let correlation =
        correlation::correlate(context, &query, &units, &CorrelationOptions::default())
            .await
            .context("funnel correlation")?;
    let mut correlation_table = Table::new([
        "goes with",
        "event or property",
        "odds ratio",
        "p-value",
        "converted with",
        "dropped with",
    ])
    .with_numeric_columns([2, 3, 4, 5]);
    for item in correlation.success.iter().chain(&correlation.failure) {
        correlation_table = correlation_table.row([
            if item.direction == "success" { "converting" } else { "dropping off" }.to_owned(),
            format!("{} {}", item.kind, item.name),
            format!("{:.2}", item.odds_ratio),
            format!("{:.1e}", item.p_value),
            format_count(item.success_with as f64),
            format_count(item.failure_with as f64),
        ]);
    }
    report
        .section("Funnel correlation")
        .paragraph(format!(
            "Among the {} users who entered the funnel ({} purchased, {} did not): events and property values that go with \
             purchasing or with dropping off, by odds ratio (one added per cell) with Fisher's exact or a chi-squared test, \
             p < 0.05. Post-purchase events (reviews, refunds) naturally go with purchasing.",
            format_count((correlation.success_total + correlation.failure_total) as f64),
            format_count(correlation.success_total as f64),
            format_count(correlation.failure_total as f64),
        ))
        .table(correlation_table);

    Ok(FunnelSummary {
        steps: result.steps.iter().map(|step| (step.name.clone(), step.entered)).collect(),
        sql_engine_differences: differences,
    })
}
