//! The report sections of the feature table: its size, the distributions of key
//! features, the tag counts, the rule segments and a label base rate; then the
//! K-Means segments (`segment_report`).

use anyhow::Context as _;
use chrono::Duration;
use datafusion::prelude::SessionContext;
use features::tags::percentile;
use features::{FeatureOptions, LabelSpec, LabelTask, SegmentProfile};
use report::{BarChart, Kpi, Section, Table, format_count, format_decimal, format_percent};
use serde::Serialize;

use crate::features_cmd::{LabelSummary, Segmenter, build_features, segment};

/// Features whose distribution the report shows.
const REPORTED_FEATURES: [&str; 14] = [
    "events",
    "sessions",
    "mean_session_seconds",
    "days_active",
    "recency_days",
    "orders",
    "monetary",
    "cart_abandonment_rate",
    "view_to_purchase_rate",
    "category_entropy",
    "top_brand_share",
    "price_level_viewed",
    "night_share",
    "mobile_share",
];

/// What the demo prints about the features.
#[derive(Debug, Serialize)]
pub struct FeaturesSummary {
    pub users: usize,
    pub features: usize,
    pub seconds: f64,
    pub propensity: Option<LabelSummary>,
    /// The K-Means segmentation (None when the shop is too small to cluster).
    pub clustering: Option<features::ClusterSummary>,
}

/// The "User features and tags" section and the K-Means "Behaviour segments"
/// section, for every event in `context`; with a sentiment model, the table has
/// the text columns too; and the rule segments' profiles (the demo puts them
/// into words).
pub async fn features_sections(
    context: &SessionContext,
    sentiment: Option<&text::SentimentModel>,
    output: crate::Output,
) -> anyhow::Result<(Vec<Section>, FeaturesSummary, Vec<SegmentProfile>)> {
    let mut built = build_features(context.clone(), None, &FeatureOptions::default()).await?;
    let text_columns = match sentiment {
        Some(model) => Some(
            crate::text_features::add_text_columns(
                &mut built.table,
                context,
                false,
                model,
                crate::text_features::AspectPolarity::Lexicon,
                &crate::text_cmd::EncoderArgs::default(),
                output,
            )
            .await
            .context("adding the text columns")?,
        ),
        None => None,
    };
    let table = &built.table;
    let segmentation = segment(table, &Segmenter::Rules)?;

    let mut distributions =
        Table::new(["feature", "unit", "users with a value", "mean", "10%", "median", "90%"])
            .with_numeric_columns([2, 3, 4, 5, 6]);
    let text_names: Vec<String> = text_columns
        .as_ref()
        .map(|summary| {
            // Aspect complaints are mostly 0; the sentiment and the shares say more.
            summary.columns.iter().filter(|c| !c.starts_with("aspect_")).cloned().collect()
        })
        .unwrap_or_default();
    for name in REPORTED_FEATURES.iter().copied().chain(text_names.iter().map(String::as_str)) {
        let values: Vec<f64> = table.numeric(name)?.into_iter().flatten().collect();
        let unit = features::feature_def(name).map_or("", |feature| feature.unit);
        let cell = |value: Option<f64>| value.map_or("-".into(), |v| format_decimal(v, 2));
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        distributions = distributions.row([
            name.to_string(),
            unit.to_string(),
            format_percent(values.len() as f64 / table.users().max(1) as f64),
            cell(mean),
            cell(percentile(values.iter().copied(), 0.1)),
            cell(percentile(values.iter().copied(), 0.5)),
            cell(percentile(values.iter().copied(), 0.9)),
        ]);
    }

    let counts = segmentation.tags.counts();
    let tag_chart = BarChart::new(
        "Users per tag",
        counts.iter().map(|(tag, _)| tag.to_string()),
        counts.iter().map(|(_, users)| *users as f64).collect::<Vec<_>>(),
    )
    .horizontal();
    let mut tag_rules = Table::new(["tag", "users", "rule"]).with_numeric_columns([1]);
    for (tag, users) in &counts {
        tag_rules =
            tag_rules.row([tag.to_string(), format_count(*users as f64), tag.rule().into()]);
    }
    let profiles = crate::segment_report::profiles_table(&segmentation.profiles);

    // A label base rate on a time split inside the data: features before the
    // last week, purchases within it.
    let horizon = Duration::days(7);
    let split = table.as_of - horizon;
    let propensity = if table.users() > 0 {
        let spec = LabelSpec::new(split, horizon, LabelTask::Propensity);
        let labels = features::labels(context, &spec).await?;
        let users = labels.batch.num_rows();
        Some((LabelSummary::of(&labels), users))
    } else {
        None
    };

    let mut section = Section::new("User features and tags");
    section
        .paragraph(format!(
            "`smartfunnel features` computes one row per user from that user's events before the \
             as-of time ({}), with DataFusion over the lake: activity and sessions, RFM, funnel \
             rates, category and brand preferences, price level, rhythm, device and channel, \
             reviews (every feature is defined in docs/features.md){}. No feature reads an event at \
             or after the as-of time, so models trained on it never see their labels.",
            table.as_of.format("%Y-%m-%d %H:%M UTC"),
            if text_columns.is_some() {
                ", and text columns: review sentiment from the demo's sentiment head, aspect \
                 complaints, search-intent shares"
            } else {
                ""
            }
        ))
        .kpis(vec![
            Kpi::new("Users", format_count(table.users() as f64)),
            Kpi::new("Features", table.feature_names().len().to_string()),
            Kpi::new("Built in", format!("{} s", format_decimal(built.seconds, 2))),
        ])
        .table(distributions.with_caption("Distributions over the users with a value"))
        .paragraph(
            "Tags are rules on the features; where a shop's scale matters the thresholds are \
             percentiles of the population (docs/segments.md).",
        )
        .bar_chart(tag_chart)
        .table(tag_rules)
        .paragraph(
            "Segments (`smartfunnel segment`): customers by their RFM segment, other users by \
             their tags; the profile is each segment's size and means, and the segment in words \
             from its mean on the clustering features.",
        )
        .table(profiles);
    if let Some((label, users)) = &propensity {
        section.paragraph(format!(
            "Labels on a time split (`features::labels`): of the {} users active before {}, {} \
             ({}) bought within the next 7 days — the propensity base rate a model must beat.",
            format_count(*users as f64),
            split.format("%Y-%m-%d"),
            format_count(label.positives as f64),
            format_percent(label.positives as f64 / (*users).max(1) as f64)
        ));
    }
    let (clusters, clustering) = crate::segment_report::behaviour_segments_section(table)?;
    let summary = FeaturesSummary {
        users: table.users(),
        features: table.feature_names().len(),
        seconds: built.seconds,
        propensity: propensity.map(|(label, _)| label),
        clustering,
    };
    Ok((vec![section, clusters], summary, segmentation.profiles))
}
