//! The sections of `report.html` that describe the lake: volume, mix,
//! categories, rhythm, and data quality. Later capabilities add their own.

use anyhow::Context as _;
use lake::{ImportReport, Lake, LakeInfo};
use report::{
    BarChart, FunnelChart, Kpi, LineChart, Report, Series, Table, format_count, format_percent,
};

/// Query results as text cells, so sections need not know Arrow types.
type Rows = Vec<Vec<Option<String>>>;

async fn query(lake: &Lake, sql: &str) -> anyhow::Result<Rows> {
    Ok(lake::text_rows(&lake.sql(sql).await.with_context(|| format!("report query {sql}"))?)?)
}

fn number(cell: &Option<String>) -> f64 {
    cell.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn text(cell: &Option<String>) -> String {
    cell.clone().unwrap_or_else(|| "(none)".into())
}

/// Overview, volume, mix, categories and rhythm of the events in `lake`
/// (bot-flagged events excluded).
pub async fn add_lake_sections(
    report: &mut Report,
    lake: &Lake,
    info: &LakeInfo,
) -> anyhow::Result<()> {
    let totals = query(
        lake,
        "SELECT count(*), count(DISTINCT user_id), count(DISTINCT session_id), \
                count(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END), \
                sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) END), \
                count(DISTINCT CASE WHEN event_type = 'purchase' THEN order_id END) \
         FROM events WHERE NOT is_bot",
    )
    .await?;
    let t = &totals[0];
    let (events, users, sessions, buyers, revenue, orders) =
        (number(&t[0]), number(&t[1]), number(&t[2]), number(&t[3]), number(&t[4]), number(&t[5]));
    let overview = report.section("Overview");
    overview
        .paragraph(format!(
            "Events from {} to {} in the Delta Lake table at {}/events (version {}). Events that the import flagged \
             as bot traffic ({} events) are left out of every chart below.",
            info.first_date.as_deref().unwrap_or("-"),
            info.last_date.as_deref().unwrap_or("-"),
            info.path,
            info.version,
            format_count(info.bot_events as f64)
        ))
        .kpis(vec![
            Kpi::new("Events", format_count(events)),
            Kpi::new("Users", format_count(users)),
            Kpi::new("Sessions", format_count(sessions))
                .with_detail(format!("{:.1} events per session", events / sessions.max(1.0))),
            Kpi::new("Buyers", format_count(buyers)).with_detail(format!("{} of users", format_percent(buyers / users.max(1.0)))),
            Kpi::new("Orders", format_count(orders)),
            Kpi::new("Revenue", format_count(revenue.round())).with_detail(format!("{:.2} per order", revenue / orders.max(1.0))),
        ]);

    let per_user = query(
        lake,
        "SELECT count(DISTINCT user_id), \
                count(DISTINCT CASE WHEN event_type = 'add_to_cart' THEN user_id END), \
                count(DISTINCT CASE WHEN event_type = 'checkout' THEN user_id END), \
                count(DISTINCT CASE WHEN event_type = 'purchase' THEN user_id END) \
         FROM events WHERE NOT is_bot AND event_type IN ('view', 'add_to_cart', 'checkout', 'purchase')",
    )
    .await?;
    let p = &per_user[0];
    overview.funnel_chart(FunnelChart::new(
        "Users with at least one view, add to cart, checkout, purchase (any order, any time)",
        [
            ("view", number(&p[0])),
            ("add_to_cart", number(&p[1])),
            ("checkout", number(&p[2])),
            ("purchase", number(&p[3])),
        ],
    ));

    let daily = query(
        lake,
        "SELECT CAST(event_date AS VARCHAR) AS day, \
                count(*), count(DISTINCT user_id), \
                sum(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END), \
                sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) \
         FROM events WHERE NOT is_bot GROUP BY day ORDER BY day",
    )
    .await?;
    let labels: Vec<String> = daily.iter().map(|r| text(&r[0])).collect();
    let column = |i: usize| daily.iter().map(|r| number(&r[i])).collect::<Vec<f64>>();
    report
        .section("Events per day")
        .line_chart(LineChart::new(
            "Events and active users per day",
            labels.clone(),
            vec![Series::new("events", column(1)), Series::new("active users", column(2))],
        ))
        .line_chart(LineChart::new(
            "Add-to-carts and purchases per day",
            labels,
            vec![Series::new("add_to_cart", column(3)), Series::new("purchase", column(4))],
        ));

    let mix = query(lake, "SELECT event_type, count(*) AS n FROM events WHERE NOT is_bot GROUP BY event_type ORDER BY n DESC").await?;
    let mut table = Table::new(["event type", "events", "share"]).with_numeric_columns([1, 2]);
    for row in &mix {
        table = table.row([
            text(&row[0]),
            format_count(number(&row[1])),
            format_percent(number(&row[1]) / events.max(1.0)),
        ]);
    }
    report
        .section("Event mix")
        .bar_chart(BarChart::new(
            "Events by type",
            mix.iter().map(|r| text(&r[0])),
            mix.iter().map(|r| number(&r[1])).collect::<Vec<_>>(),
        ))
        .table(table);

    let categories = query(
        lake,
        "SELECT split_part(category, '.', 1) AS top, \
                sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views, \
                sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS purchases, \
                sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) ELSE 0 END) AS revenue \
         FROM events WHERE NOT is_bot AND category IS NOT NULL GROUP BY top ORDER BY views DESC LIMIT 12",
    )
    .await?;
    let mut table = Table::new(["category", "views", "purchases", "views per purchase", "revenue"])
        .with_numeric_columns([1, 2, 3, 4]);
    for row in &categories {
        let (views, purchases) = (number(&row[1]), number(&row[2]));
        table = table.row([
            text(&row[0]),
            format_count(views),
            format_count(purchases),
            if purchases > 0.0 { format!("{:.0}", views / purchases) } else { "-".into() },
            format_count(number(&row[3]).round()),
        ]);
    }
    report
        .section("Top categories")
        .bar_chart(
            BarChart::with_series(
                "Views and purchases by top-level category",
                categories.iter().map(|r| text(&r[0])),
                vec![
                    Series::new(
                        "views",
                        categories.iter().map(|r| number(&r[1])).collect::<Vec<_>>(),
                    ),
                    Series::new(
                        "purchases × 10",
                        categories.iter().map(|r| number(&r[2]) * 10.0).collect::<Vec<_>>(),
                    ),
                ],
            )
            .horizontal(),
        )
        .table(table);

    let hours = query(
        lake,
        "SELECT date_part('hour', event_time) AS h, count(*) FROM events WHERE NOT is_bot GROUP BY h ORDER BY h",
    )
    .await?;
    let weekdays = query(
        lake,
        "SELECT date_part('dow', event_time) AS d, count(*) FROM events WHERE NOT is_bot GROUP BY d ORDER BY d",
    )
    .await?;
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    report
        .section("Rhythm")
        .bar_chart(BarChart::new(
            "Events by hour of day (UTC)",
            hours.iter().map(|r| format!("{:02}", number(&r[0]) as u32)),
            hours.iter().map(|r| number(&r[1])).collect::<Vec<_>>(),
        ))
        .bar_chart(BarChart::new(
            "Events by weekday",
            weekdays
                .iter()
                .map(|r| DAYS.get(number(&r[0]) as usize).copied().unwrap_or("?").to_string()),
            weekdays.iter().map(|r| number(&r[1])).collect::<Vec<_>>(),
        ));
    Ok(())
}

/// The data-quality section for one import, with sample quarantined rows.
pub fn add_import_section(
    report: &mut Report,
    title: &str,
    import: &ImportReport,
    quarantine_sample: &[String],
) {
    let s = &import.summary;
    let section = report.section(title);
    section.kpis(vec![
        Kpi::new("Rows read", format_count(s.read as f64)),
        Kpi::new("Imported", format_count(s.imported as f64)),
        Kpi::new("Duplicates", format_count(s.duplicates as f64)).with_detail(format!(
            "{} in the files, {} already in the lake",
            s.duplicates_in_import, s.already_in_lake
        )),
        Kpi::new("Quarantined", format_count(s.quarantined as f64)),
        Kpi::new("Bot events flagged", format_count(s.bot_events as f64))
            .with_detail(format!("{} user-days", s.bot_user_days)),
        Kpi::new("Seconds", format!("{:.1}", import.seconds)),
    ]);
    let mut files =
        Table::new(["file", "format", "rows read", "quarantined"]).with_numeric_columns([2, 3]);
    for file in &s.files {
        let name = std::path::Path::new(&file.path)
            .file_name()
            .map_or(file.path.clone(), |n| n.to_string_lossy().into_owned());
        files = files.row([
            name,
            file.format.clone(),
            format_count(file.read as f64),
            format_count(file.quarantined as f64),
        ]);
    }
    section.table(files);
    if !s.quarantined_by_reason.is_empty() {
        let mut reasons = Table::new(["reason", "rows"]).with_numeric_columns([1]);
        for (reason, count) in &s.quarantined_by_reason {
            reasons = reasons.row([reason.clone(), format_count(*count as f64)]);
        }
        section.table(reasons.with_caption("Quarantined rows by reason"));
    }
    if !quarantine_sample.is_empty() {
        let mut sample = Table::new(["line", "reason", "message", "raw"]).with_caption(format!(
            "First quarantined rows, from {}",
            import.quarantine_file.as_deref().unwrap_or("the quarantine file")
        ));
        for line in quarantine_sample {
            let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let field = |k: &str| {
                value
                    .get(k)
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .unwrap_or_default()
            };
            let raw: String = field("raw").chars().take(90).collect();
            sample = sample.row([field("line"), field("reason"), field("message"), raw]);
        }
        section.table(sample);
    }
}

/// The lake's version history and storage.
pub fn add_lake_history(report: &mut Report, info: &LakeInfo) {
    let mut history =
        Table::new(["version", "committed (UTC)", "operation"]).with_numeric_columns([0]);
    for commit in &info.history {
        let when = commit
            .timestamp
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        history = history.row([
            commit.version.to_string(),
            when,
            commit.operation.clone().unwrap_or_default(),
        ]);
    }
    report
        .section("The lake")
        .kpis(vec![
            Kpi::new("Version", info.version.to_string()),
            Kpi::new("Parquet files", format_count(info.files as f64)),
            Kpi::new("Size", format!("{:.1} MiB", info.bytes as f64 / 1_048_576.0)),
            Kpi::new("Quarantine file rows", format_count(info.quarantined_rows as f64)),
        ])
        .table(history.with_caption("Delta Lake history, newest first"));
}
