//! `smartfunnel features` (the per-user feature table, optionally with labels)
//! and `smartfunnel segment` (tags, segments and segment profiles).

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use datafusion::prelude::SessionContext;
use features::{
    ClusterMethod, ClusterSummary, FeatureOptions, FeatureTable, KChoice, LabelSpec, LabelTask,
    Labels, PROFILE_FEATURES, SegmentProfile, UserTags,
};
use lake::Lake;
use serde::Serialize;

use crate::Output;
use crate::analytics_cmd::print_table;

/// The lake and the as-of time both commands read.
#[derive(Debug, Args)]
pub struct FeatureSelection {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// Read only events strictly before 00:00 UTC of this date (or before this
    /// RFC 3339 time). Default: the day after the last event, so all count.
    #[arg(long, value_parser = parse_as_of_start)]
    as_of: Option<DateTime<Utc>>,
    /// Count events flagged as bot traffic too (left out by default).
    #[arg(long)]
    include_bots: bool,
    /// How many of the most common top-level categories get a
    /// `category_share_<name>` column.
    #[arg(long, default_value_t = 12)]
    category_columns: usize,
}

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    selection: FeatureSelection,
    /// The Parquet file to write.
    #[arg(long)]
    out: PathBuf,
    /// Add the `label` and `censored` columns of this task, from the events in
    /// [as-of, as-of + horizon): propensity, churn or next-purchase.
    #[arg(long, requires = "horizon")]
    label: Option<LabelTask>,
    /// The label window: a whole number of weeks, days or hours (`30d`, `4w`).
    #[arg(long, value_parser = parse_horizon, requires = "label")]
    horizon: Option<Duration>,
    /// A sentiment model (`smartfunnel text train`): adds the text columns
    /// (review sentiment, negative review share, aspect complaints, search
    /// intent shares) from the reviews and searches before the as-of time.
    /// Search intents use multilingual-e5-small (`smartfunnel models fetch`).
    #[arg(long, value_name = "DIR")]
    text_model: Option<PathBuf>,
    /// Models root for the encoder (default: $SMARTFUNNEL_MODELS or
    /// ~/.cache/smartfunnel/models).
    #[arg(long, value_name = "DIR", requires = "text_model")]
    models_dir: Option<PathBuf>,
}

/// How `segment` assigns segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SegmentMethod {
    /// The RFM segment for customers; Window Shoppers, New Visitors or
    /// Browsers for the others, from their tags.
    #[default]
    Rules,
    /// K-Means on the scaled features, k chosen by silhouette (or --k).
    Kmeans,
    /// DBSCAN on the scaled features, eps from the k-distance knee (or --eps).
    Dbscan,
}

/// The settings of the clustering methods; each belongs to one method.
#[derive(Debug, Args)]
pub struct ClusterOptions {
    /// kmeans: exactly this many clusters instead of choosing k by silhouette.
    #[arg(long, value_parser = parse_k, conflicts_with = "k_range")]
    k: Option<usize>,
    /// kmeans: the range of k tried, both ends included (default 2..8); the
    /// best mean silhouette wins.
    #[arg(long, value_parser = parse_k_range)]
    k_range: Option<RangeInclusive<usize>>,
    /// kmeans: k-means++ seedings per k (default 4); the lowest inertia wins.
    #[arg(long)]
    restarts: Option<usize>,
    /// kmeans: the seed of the seedings (default 42).
    #[arg(long)]
    seed: Option<u64>,
    /// dbscan: the neighbourhood radius in standard deviations (default: the
    /// knee of the k-distance curve).
    #[arg(long, value_parser = parse_eps)]
    eps: Option<f64>,
    /// dbscan: users within eps that make a user a core user (default 10).
    #[arg(long)]
    min_points: Option<usize>,
    /// dbscan: cluster at most this many users, an even sample (default
    /// 10000); the others join the cluster of their nearest core user within
    /// eps, or are noise.
    #[arg(long)]
    dbscan_sample: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    #[command(flatten)]
    selection: FeatureSelection,
    /// The directory for users.csv and profiles.csv (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = SegmentMethod::Rules)]
    method: SegmentMethod,
    #[command(flatten)]
    cluster: ClusterOptions,
}

/// How segments are made: by rules or by a clustering of the users.
#[derive(Debug, Clone, PartialEq)]
pub enum Segmenter {
    Rules,
    Cluster(ClusterMethod),
}

/// The default k range of `--method kmeans`.
pub const DEFAULT_K_RANGE: RangeInclusive<usize> = 2..=8;
const DEFAULT_RESTARTS: usize = 4;
const DEFAULT_SEED: u64 = 42;
const DEFAULT_MIN_POINTS: usize = 10;
const DEFAULT_DBSCAN_SAMPLE: usize = 10_000;

impl ClusterOptions {
    /// The segmenter `method` with these options, refusing options that
    /// belong to another method (they would silently do nothing).
    fn segmenter(&self, method: SegmentMethod) -> anyhow::Result<Segmenter> {
        let kmeans_options = [
            ("--k", self.k.is_some()),
            ("--k-range", self.k_range.is_some()),
            ("--restarts", self.restarts.is_some()),
            ("--seed", self.seed.is_some()),
        ];
        let dbscan_options = [
            ("--eps", self.eps.is_some()),
            ("--min-points", self.min_points.is_some()),
            ("--dbscan-sample", self.dbscan_sample.is_some()),
        ];
        let refuse = |options: &[(&str, bool)], method: &str| -> anyhow::Result<()> {
            if let Some((name, _)) = options.iter().find(|(_, given)| *given) {
                bail!("{name} does not apply to --method {method}");
            }
            Ok(())
        };
        Ok(match method {
            SegmentMethod::Rules => {
                refuse(&kmeans_options, "rules")?;
                refuse(&dbscan_options, "rules")?;
                Segmenter::Rules
            }
            SegmentMethod::Kmeans => {
                refuse(&dbscan_options, "kmeans")?;
                let restarts = self.restarts.unwrap_or(DEFAULT_RESTARTS);
                if restarts == 0 {
                    bail!("--restarts must be at least 1");
                }
                Segmenter::Cluster(ClusterMethod::KMeans {
                    k: match (self.k, &self.k_range) {
                        (Some(k), _) => KChoice::Fixed(k),
                        (None, range) => {
                            KChoice::BySilhouette(range.clone().unwrap_or(DEFAULT_K_RANGE))
                        }
                    },
                    restarts,
                    seed: self.seed.unwrap_or(DEFAULT_SEED),
                })
            }
            SegmentMethod::Dbscan => {
                refuse(&kmeans_options, "dbscan")?;
                let min_points = self.min_points.unwrap_or(DEFAULT_MIN_POINTS);
                if min_points < 2 {
                    bail!("--min-points must be at least 2, not {min_points}");
                }
                let max_fitted_users = self.dbscan_sample.unwrap_or(DEFAULT_DBSCAN_SAMPLE);
                if max_fitted_users < 2 {
                    bail!("--dbscan-sample must be at least 2, not {max_fitted_users}");
                }
                Segmenter::Cluster(ClusterMethod::Dbscan {
                    eps: self.eps,
                    min_points,
                    max_fitted_users,
                })
            }
        })
    }
}

fn parse_k(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(k) if k >= 2 => Ok(k),
        _ => Err(format!(
            "{text:?} is not a number of clusters: expected a whole number of 2 or more"
        )),
    }
}

/// `FROM..TO`, both ends included: `2..8`.
fn parse_k_range(text: &str) -> Result<RangeInclusive<usize>, String> {
    let invalid =
        || format!("{text:?} is not a k range: expected FROM..TO with 2 ≤ FROM ≤ TO, such as 2..8");
    let (from, to) = text.trim().split_once("..").ok_or_else(invalid)?;
    let from: usize = from.trim().parse().map_err(|_| invalid())?;
    let to: usize = to.trim().trim_start_matches('=').parse().map_err(|_| invalid())?;
    if from < 2 || to < from {
        return Err(invalid());
    }
    Ok(from..=to)
}

fn parse_eps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(eps) if eps.is_finite() && eps > 0.0 => Ok(eps),
        _ => Err(format!("{text:?} is not a radius: expected a positive number such as 1.5")),
    }
}

/// A date means its 00:00 UTC; an RFC 3339 time is taken as given.
pub(crate) fn parse_as_of_start(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is neither a date (2024-01-31) nor an RFC 3339 time"))?;
    Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

pub(crate) fn parse_horizon(text: &str) -> Result<Duration, String> {
    features::parse_horizon(text).map_err(|e| e.to_string())
}

/// A feature table built from a lake, and how long it took.
pub struct BuiltFeatures {
    pub context: SessionContext,
    pub table: FeatureTable,
    pub seconds: f64,
}

impl FeatureSelection {
    fn options(&self) -> FeatureOptions {
        FeatureOptions {
            include_bots: self.include_bots,
            category_share_columns: self.category_columns,
        }
    }

    async fn build(&self) -> anyhow::Result<BuiltFeatures> {
        let lake = Lake::open(&self.lake)
            .await
            .with_context(|| format!("opening {}", self.lake.display()))?;
        let context = lake.session().await?;
        build_features(context, self.as_of, &self.options()).await
    }
}

/// Builds the feature table as of `as_of`, or as of the day after the last
/// event by default.
pub async fn build_features(
    context: SessionContext,
    as_of: Option<DateTime<Utc>>,
    options: &FeatureOptions,
) -> anyhow::Result<BuiltFeatures> {
    let started = Instant::now();
    let as_of = match as_of {
        Some(as_of) => as_of,
        None => features::default_as_of(&context, options.include_bots)
            .await?
            .context("the lake has no events")?,
    };
    let table = features::build(&context, as_of, options).await.context("building features")?;
    Ok(BuiltFeatures { context, table, seconds: started.elapsed().as_secs_f64() })
}

/// What `features --json` prints.
#[derive(Debug, Serialize)]
struct FeaturesSummary {
    out: String,
    as_of: DateTime<Utc>,
    users: usize,
    features: usize,
    seconds: f64,
    label: Option<LabelSummary>,
    text: Option<crate::text_features::TextColumnsSummary>,
}

#[derive(Debug, Serialize)]
pub struct LabelSummary {
    pub task: LabelTask,
    pub horizon_days: f64,
    /// Users labelled 1 (next-purchase: with a purchase in the window).
    pub positives: usize,
    pub horizon_covered: bool,
}

impl LabelSummary {
    pub fn of(labels: &Labels) -> LabelSummary {
        LabelSummary {
            task: labels.spec.task,
            horizon_days: labels.spec.horizon.num_seconds() as f64 / 86_400.0,
            positives: labels.positives,
            horizon_covered: labels.horizon_covered(),
        }
    }
}

pub async fn run_features(args: FeaturesArgs, output: Output) -> anyhow::Result<()> {
    let built = args.selection.build().await?;
    let mut table = built.table;
    let mut text_summary = None;
    if let Some(dir) = &args.text_model {
        let model = crate::text_cmd::load_sentiment(dir)?;
        let encoder = crate::text_cmd::EncoderArgs::under(args.models_dir.clone());
        let summary = crate::text_features::add_text_columns(
            &mut table,
            &built.context,
            args.selection.include_bots,
            &model,
            crate::text_features::AspectPolarity::Model,
            &encoder,
            output,
        )
        .await
        .context("adding the text columns")?;
        text_summary = Some(summary);
    }
    // Counted before label columns are appended: those are targets, not features.
    let feature_count = table.feature_names().len();
    let mut label_summary = None;
    if let (Some(task), Some(horizon)) = (args.label, args.horizon) {
        let mut spec = LabelSpec::new(table.as_of, horizon, task);
        spec.include_bots = args.selection.include_bots;
        let labels = features::labels(&built.context, &spec).await.context("labelling users")?;
        table.batch = with_labels(&table.batch, &labels)?;
        label_summary = Some(LabelSummary::of(&labels));
    }
    table.write_parquet(&args.out)?;
    let summary = FeaturesSummary {
        out: args.out.display().to_string(),
        as_of: table.as_of,
        users: table.users(),
        features: feature_count,
        seconds: built.seconds,
        label: label_summary,
        text: text_summary,
    };
    if output.json {
        return output.print_json(&summary);
    }
    println!(
        "{} users × {} features from events before {} in {:.1} s → {}",
        summary.users,
        summary.features,
        summary.as_of.format("%Y-%m-%d %H:%M UTC"),
        summary.seconds,
        summary.out
    );
    if let Some(text) = &summary.text {
        println!(
            "text columns from {} reviews ({} users) and {} searches ({} distinct queries)",
            text.reviews, text.users_with_reviews, text.searches, text.distinct_queries
        );
    }
    if let Some(label) = &summary.label {
        println!(
            "label {} over {} days: {} positive of {}",
            label.task, label.horizon_days, label.positives, summary.users
        );
        if !label.horizon_covered {
            println!(
                "warning: the lake ends before the label window does, so late behaviour is missing"
            );
        }
    }
    Ok(())
}

/// The feature batch with the label columns appended; both are sorted by user
/// over the same users, which is checked.
fn with_labels(features: &RecordBatch, labels: &Labels) -> anyhow::Result<RecordBatch> {
    anyhow::ensure!(
        features.column(0) == labels.batch.column(0),
        "the labelled users differ from the feature table's"
    );
    let mut fields: Vec<_> = features.schema().fields().iter().cloned().collect();
    let mut columns = features.columns().to_vec();
    for index in 1..labels.batch.num_columns() {
        fields.push(labels.batch.schema().fields()[index].clone());
        columns.push(labels.batch.column(index).clone());
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Tags, segments and profiles of a feature table.
pub struct Segmentation {
    pub tags: UserTags,
    pub segments: Vec<String>,
    pub profiles: Vec<SegmentProfile>,
    /// What the clustering found (None for rules).
    pub clustering: Option<ClusterSummary>,
}

pub fn segment(table: &FeatureTable, segmenter: &Segmenter) -> anyhow::Result<Segmentation> {
    let tags = features::tag_users(table)?;
    let (segments, clustering) = match segmenter {
        Segmenter::Rules => (features::rule_segments(table, &tags)?, None),
        Segmenter::Cluster(method) => {
            if table.users() < 3 {
                bail!("clustering needs at least 3 users; the table has {}", table.users());
            }
            let space = features::ClusterSpace::of(table)?;
            let clustering = features::cluster_users(&space, method)?;
            (clustering.labels, Some(clustering.summary))
        }
    };
    let profiles = features::segment_profiles(table, &segments, &tags, &PROFILE_FEATURES)?;
    Ok(Segmentation { tags, segments, profiles, clustering })
}

/// What `segment --json` prints.
#[derive(Serialize)]
struct SegmentSummary<'a> {
    as_of: DateTime<Utc>,
    users: usize,
    users_csv: String,
    profiles_csv: String,
    tags: Vec<(features::Tag, usize)>,
    thresholds: &'a features::TagThresholds,
    /// K-Means or DBSCAN: the k tried, silhouette, eps, noise (absent for rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    clustering: Option<&'a ClusterSummary>,
    profiles: &'a [SegmentProfile],
}

pub async fn run_segment(args: SegmentArgs, output: Output) -> anyhow::Result<()> {
    let segmenter = args.cluster.segmenter(args.method)?;
    let built = args.selection.build().await?;
    let table = &built.table;
    let segmentation = segment(table, &segmenter)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let users_csv = args.out.join("users.csv");
    let profiles_csv = args.out.join("profiles.csv");
    write_users_csv(&users_csv, table, &segmentation)
        .with_context(|| format!("writing {}", users_csv.display()))?;
    write_profiles_csv(&profiles_csv, &segmentation.profiles)
        .with_context(|| format!("writing {}", profiles_csv.display()))?;
    let summary = SegmentSummary {
        as_of: table.as_of,
        users: table.users(),
        users_csv: users_csv.display().to_string(),
        profiles_csv: profiles_csv.display().to_string(),
        tags: segmentation.tags.counts(),
        thresholds: &segmentation.tags.thresholds,
        clustering: segmentation.clustering.as_ref(),
        profiles: &segmentation.profiles,
    };
    if output.json {
        return output.print_json(&summary);
    }
    println!(
        "{} users, events before {}",
        summary.users,
        summary.as_of.format("%Y-%m-%d %H:%M UTC")
    );
    let mut header: Vec<String> = ["segment", "users", "share"].map(String::from).to_vec();
    header.extend(PROFILE_FEATURES.iter().take(6).map(|name| name.to_string()));
    let rows: Vec<Vec<String>> = segmentation
        .profiles
        .iter()
        .map(|profile| {
            let mut row = vec![
                profile.segment.clone(),
                profile.users.to_string(),
                format!("{:.1}%", profile.share * 100.0),
            ];
            row.extend(
                profile
                    .means
                    .iter()
                    .take(6)
                    .map(|(_, mean)| mean.map_or("-".to_string(), |m| format!("{m:.2}"))),
            );
            row
        })
        .collect();
    print_table(&header, &rows);
    if let Some(clustering) = &segmentation.clustering {
        print_clustering(clustering);
    }
    for profile in &segmentation.profiles {
        println!("{}: {}", profile.segment, profile.description);
    }
    let tags: Vec<String> =
        summary.tags.iter().map(|(tag, users)| format!("{tag} {users}")).collect();
    println!("tags: {}", tags.join(", "));
    println!("wrote {} and {}", summary.users_csv, summary.profiles_csv);
    Ok(())
}

fn print_clustering(clustering: &ClusterSummary) {
    let silhouette = clustering.silhouette.map_or("-".to_string(), |s| format!("{s:.3}"));
    match clustering.method.as_str() {
        "kmeans" => {
            let tried: Vec<String> = clustering
                .candidates
                .iter()
                .map(|c| format!("k={} {:.3}", c.k, c.silhouette))
                .collect();
            println!(
                "kmeans on {} scaled features: {} clusters, silhouette {silhouette}{}",
                clustering.features.len(),
                clustering.clusters,
                if tried.is_empty() {
                    String::new()
                } else {
                    format!(" (tried {})", tried.join(", "))
                }
            );
        }
        _ => println!(
            "dbscan on {} scaled features: eps {:.3}{}, min points {}: {} clusters, {} noise users, silhouette {silhouette}",
            clustering.features.len(),
            clustering.eps.unwrap_or(f64::NAN),
            if clustering.eps_from_knee { " (k-distance knee)" } else { "" },
            clustering.min_points.unwrap_or(0),
            clustering.clusters,
            clustering.noise
        ),
    }
}

fn write_users_csv(
    path: &Path,
    table: &FeatureTable,
    segmentation: &Segmentation,
) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(["user_id", "segment", "tags"])?;
    for (row, user) in table.user_ids()?.iter().enumerate() {
        writer.write_record([
            user.as_str(),
            segmentation.segments[row].as_str(),
            segmentation.tags.joined(row).as_str(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

fn write_profiles_csv(path: &Path, profiles: &[SegmentProfile]) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    let mut header: Vec<String> = ["segment", "users", "share"].map(String::from).to_vec();
    header.extend(PROFILE_FEATURES.iter().map(|name| format!("mean_{name}")));
    header.push("top_tags".into());
    header.push("description".into());
    writer.write_record(&header)?;
    for profile in profiles {
        let mut row = vec![
            profile.segment.clone(),
            profile.users.to_string(),
            format!("{:.4}", profile.share),
        ];
        row.extend(
            profile.means.iter().map(|(_, mean)| mean.map_or(String::new(), |m| format!("{m:.4}"))),
        );
        let tags: Vec<String> = profile
            .top_tags
            .iter()
            .map(|(tag, share)| format!("{tag} {:.0}%", share * 100.0))
            .collect();
        row.push(tags.join(";"));
        row.push(profile.description.clone());
        writer.write_record(&row)?;
    }
    writer.flush()?;
    Ok(())
}
