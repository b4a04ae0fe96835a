//! `smartfunnel predict`: purchase propensity, churn or the days until the
//! next purchase for every current user, trained and checked on time splits of
//! the lake (next-purchase in [`crate::next_purchase`]).
//!
//! With S the scoring time and H the horizon, three cut-offs are used:
//!
//! ```text
//!   T0 = S − 2H        T1 = S − H          S
//!   |— features —|— labels —|
//!                 |— features —————|— labels —|
//!                                  |— features ——————|→ scores for [S, S + H)
//! ```
//!
//! The model is trained on features before T0 with labels from [T0, T1) and
//! judged out of time on features before T1 with labels from [T1, S), beside
//! two rules that need no training (recency, RFM score) and, on request, the
//! GRU over each user's latest events. The model that scores users at S is
//! then refitted on the T1 split, the latest fully labelled one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use datafusion::prelude::SessionContext;
use features::{FeatureOptions, FeatureTable, LabelSpec, LabelTask};
use lake::Lake;
use models::metrics::{MetricReport, roc_curve_on_grid};
use models::{Dataset, FamilyChoice, ModelFamily, TrainConfig, TrainedModel};
use serde::Serialize;

use crate::Output;
use crate::features_cmd::{parse_as_of_start, parse_horizon};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// propensity (buys within the horizon), churn (no activity within it) or
    /// next-purchase (days until the next order, capped at the horizon).
    #[arg(long)]
    task: LabelTask,
    /// A whole number of weeks, days or hours: `30d`, `4w`.
    #[arg(long, value_parser = parse_horizon, default_value = "30d")]
    horizon: Duration,
    /// Score users as of 00:00 UTC of this date (or this RFC 3339 time).
    /// Default: the day after the last event.
    #[arg(long, value_parser = parse_as_of_start)]
    as_of: Option<DateTime<Utc>>,
    /// auto (best cross-validated ROC AUC), logistic, tree, gbdt or mlp;
    /// next-purchase always uses gbdt.
    #[arg(long, default_value = "auto")]
    model: String,
    /// Also train the GRU over each user's latest events and compare it.
    #[arg(long)]
    sequence: bool,
    /// Users the GRU trains on at most (a deterministic sample).
    #[arg(long, default_value_t = 20_000)]
    sequence_users: usize,
    /// Write `user_id,score` for every user active before the scoring time
    /// (next-purchase: `user_id,predicted_days,buy_probability`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Count events flagged as bot traffic too.
    #[arg(long)]
    include_bots: bool,
}

/// What to predict and how.
#[derive(Debug, Clone)]
pub struct PredictSpec {
    pub task: LabelTask,
    pub horizon: Duration,
    pub score_time: Option<DateTime<Utc>>,
    pub family: FamilyChoice,
    pub folds: usize,
    pub sequence: Option<SequenceSpec>,
    pub include_bots: bool,
}

/// The GRU's part of a prediction run.
#[derive(Debug, Clone)]
pub struct SequenceSpec {
    pub max_users: usize,
    pub config: sequence_model::SequenceConfig,
}

/// One way of scoring, judged on the out-of-time split.
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    pub method: String,
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub top_decile_lift: f64,
    /// True positive rate at [`ROC_GRID`]'s false positive rates, for charts.
    #[serde(skip)]
    pub roc: Vec<f64>,
    /// Lift per score decile.
    #[serde(skip)]
    pub decile_lift: Vec<f64>,
}

/// The false positive rates the ROC curves are sampled at.
pub const ROC_GRID: [f64; 21] = [
    0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
    0.85, 0.9, 0.95, 1.0,
];

/// Which users a run learned from and was judged on, for every task.
#[derive(Debug, Clone, Serialize)]
pub struct SplitSummary {
    pub task: String,
    pub horizon_days: f64,
    pub train_cutoff: DateTime<Utc>,
    pub evaluation_cutoff: DateTime<Utc>,
    pub score_time: DateTime<Utc>,
    pub training_users: usize,
    /// Share of the training users labelled 1 (next-purchase: who bought
    /// within the horizon).
    pub training_positive_rate: f64,
    pub evaluation_users: usize,
    pub evaluation_positive_rate: f64,
}

impl SplitSummary {
    /// The split of `splits` for `spec`, with each labelled split's positives.
    pub fn new(
        spec: &PredictSpec,
        splits: &Splits,
        training_positives: &[bool],
        evaluation_positives: &[bool],
    ) -> SplitSummary {
        let rate = |flags: &[bool]| {
            flags.iter().filter(|&&b| b).count() as f64 / flags.len().max(1) as f64
        };
        SplitSummary {
            task: spec.task.to_string(),
            horizon_days: spec.horizon.num_seconds() as f64 / 86_400.0,
            train_cutoff: splits.train_cutoff,
            evaluation_cutoff: splits.evaluation_cutoff,
            score_time: splits.score_time,
            training_users: training_positives.len(),
            training_positive_rate: rate(training_positives),
            evaluation_users: evaluation_positives.len(),
            evaluation_positive_rate: rate(evaluation_positives),
        }
    }

    /// "trained on 918 users before 2024-01-29 (11.9% positive); judged on …",
    /// with `positive` naming the positive label.
    pub fn trained_and_judged(&self, positive: &str) -> String {
        format!(
            "trained on {} users before {} ({:.1}% {positive}); judged on {} users before {} ({:.1}% {positive})",
            self.training_users,
            self.train_cutoff.format("%Y-%m-%d"),
            100.0 * self.training_positive_rate,
            self.evaluation_users,
            self.evaluation_cutoff.format("%Y-%m-%d"),
            100.0 * self.evaluation_positive_rate
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PredictionSummary {
    #[serde(flatten)]
    pub split: SplitSummary,
    pub model_family: String,
    pub cross_validated_roc_auc: f64,
    /// The model, the GRU (when asked) and the two rules, best ROC AUC first.
    pub out_of_time: Vec<MethodResult>,
    /// Permutation importance of the scoring model: ROC AUC lost when a column is shuffled.
    pub top_drivers: Vec<(String, f64)>,
    pub scored_users: usize,
    pub mean_score: f64,
    pub seconds: f64,
}

/// A run's summary and every scored user, highest score first.
#[derive(Debug)]
pub struct Prediction {
    pub summary: PredictionSummary,
    pub scores: Vec<(String, f64)>,
}

fn family_choice(text: &str) -> anyhow::Result<FamilyChoice> {
    Ok(match text {
        "auto" => FamilyChoice::Auto,
        family => FamilyChoice::Only(family.parse::<ModelFamily>()?),
    })
}

pub async fn run(args: PredictArgs, output: Output) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake)
        .await
        .with_context(|| format!("opening the lake {}", args.lake.display()))?;
    let context = lake.session().await?;
    let spec = PredictSpec {
        task: args.task,
        horizon: args.horizon,
        score_time: args.as_of,
        family: family_choice(&args.model)?,
        folds: 5,
        sequence: args.sequence.then(|| SequenceSpec {
            max_users: args.sequence_users,
            config: sequence_model::SequenceConfig::default(),
        }),
        include_bots: args.include_bots,
    };
    if spec.task == LabelTask::NextPurchase {
        if args.sequence {
            bail!("--sequence works with propensity and churn, not next-purchase");
        }
        if let FamilyChoice::Only(family) = spec.family
            && family != ModelFamily::Gbdt
        {
            bail!(
                "next-purchase is a regression with gradient-boosted trees; --model {family} \
                 works with propensity and churn"
            );
        }
        return crate::next_purchase::run(&context, &spec, args.out.as_deref(), output).await;
    }
    let prediction = predict(&context, &spec).await?;
    if let Some(path) = &args.out {
        write_scores(path, &prediction.scores)?;
    }
    if output.json {
        return output.print_json(&prediction.summary);
    }
    let s = &prediction.summary;
    println!(
        "{} within {} days of {}: model {} (cross-validated ROC AUC {:.3})",
        s.split.task,
        s.split.horizon_days,
        s.split.score_time.format("%Y-%m-%d"),
        s.model_family,
        s.cross_validated_roc_auc
    );
    println!("{}", s.split.trained_and_judged("positive"));
    println!("\n{:<22} {:>8} {:>8} {:>16}", "method", "ROC AUC", "PR AUC", "top-decile lift");
    for m in &s.out_of_time {
        println!(
            "{:<22} {:>8.3} {:>8.3} {:>16.2}",
            m.method, m.roc_auc, m.pr_auc, m.top_decile_lift
        );
    }
    println!("\ntop drivers (ROC AUC lost when shuffled):");
    for (name, drop) in s.top_drivers.iter().take(8) {
        println!("  {name:<28} {drop:.4}");
    }
    println!("\nscored {} users, mean score {:.3}", s.scored_users, s.mean_score);
    if let Some(path) = &args.out {
        println!("scores written to {}", path.display());
    }
    Ok(())
}

fn write_scores(path: &std::path::Path, scores: &[(String, f64)]) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    writer.write_record(["user_id", "score"])?;
    for (user, score) in scores {
        writer.write_record([user.as_str(), &format!("{score:.6}")])?;
    }
    writer.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The feature tables at the three cut-offs of a horizon. Tasks with the same
/// horizon share them, so the demo's propensity and churn build them once.
#[derive(Debug)]
pub struct Splits {
    pub score_time: DateTime<Utc>,
    pub evaluation_cutoff: DateTime<Utc>,
    pub train_cutoff: DateTime<Utc>,
    pub(crate) train_table: FeatureTable,
    pub(crate) evaluation_table: FeatureTable,
    pub(crate) score_table: FeatureTable,
    /// Which categories get a share column depends on the cut-off; a model can
    /// only use the columns every split has.
    pub(crate) columns: Vec<String>,
}

impl Splits {
    /// Builds the tables for `spec`'s horizon, score time and bot setting.
    pub async fn build(context: &SessionContext, spec: &PredictSpec) -> anyhow::Result<Splits> {
        let score_time = match spec.score_time {
            Some(time) => time,
            None => features::default_as_of(context, spec.include_bots)
                .await?
                .context("the lake has no events to predict from")?,
        };
        let evaluation_cutoff = score_time - spec.horizon;
        let train_cutoff = evaluation_cutoff - spec.horizon;
        let options =
            FeatureOptions { include_bots: spec.include_bots, ..FeatureOptions::default() };
        let train_table = features::build(context, train_cutoff, &options).await?;
        let evaluation_table = features::build(context, evaluation_cutoff, &options).await?;
        let score_table = features::build(context, score_time, &options).await?;
        let columns = shared_columns(&[&train_table, &evaluation_table, &score_table]);
        Ok(Splits {
            score_time,
            evaluation_cutoff,
            train_cutoff,
            train_table,
            evaluation_table,
            score_table,
            columns,
        })
    }
}

/// Trains, judges and scores as the module documentation describes.
pub async fn predict(context: &SessionContext, spec: &PredictSpec) -> anyhow::Result<Prediction> {
    let started = Instant::now();
    let splits = Splits::build(context, spec).await?;
    let mut prediction = predict_on(context, spec, &splits).await?;
    prediction.summary.seconds = started.elapsed().as_secs_f64();
    Ok(prediction)
}

/// [`predict`] on feature tables already built for `spec`'s horizon and score time.
pub async fn predict_on(
    context: &SessionContext,
    spec: &PredictSpec,
    splits: &Splits,
) -> anyhow::Result<Prediction> {
    let started = Instant::now();
    if !spec.task.is_classification() {
        bail!("{} is not a yes/no outcome; see next_purchase::predict_next_purchase", spec.task);
    }
    let Splits {
        evaluation_cutoff,
        train_cutoff,
        train_table,
        evaluation_table,
        score_table,
        columns,
        ..
    } = splits;
    let (evaluation_cutoff, train_cutoff) = (*evaluation_cutoff, *train_cutoff);

    let train_labels = labels_by_user(context, spec, train_cutoff).await?;
    let evaluation_labels = labels_by_user(context, spec, evaluation_cutoff).await?;
    let classes = |labels: &HashMap<String, f64>, table: &FeatureTable| {
        Ok::<_, anyhow::Error>(
            labels_in_row_order(table, labels)?.into_iter().map(|v| v > 0.5).collect::<Vec<_>>(),
        )
    };
    let train_data = feature_dataset(train_table, columns)?
        .with_target("label", classes(&train_labels, train_table)?)?;
    let evaluation_data = feature_dataset(evaluation_table, columns)?
        .with_target("label", classes(&evaluation_labels, evaluation_table)?)?;
    let evaluation_target = evaluation_data.target_or_error()?.to_vec();
    ensure_enough_history(splits, spec.horizon)?;

    let config = TrainConfig { family: spec.family, folds: spec.folds, ..TrainConfig::default() };
    let judged = models::train(&train_data, &config)
        .with_context(|| format!("training on the split before {}", train_cutoff))?;
    let mut out_of_time = vec![method_result(
        &format!("model ({})", judged.family),
        &judged.predict_proba(&evaluation_data)?,
        &evaluation_target,
    )?];
    let sign = if spec.task == LabelTask::Churn { 1.0 } else { -1.0 };
    let recency: Vec<f64> = numeric_or(evaluation_table, "recency_days", f64::MAX)?
        .into_iter()
        .map(|days| sign * days)
        .collect();
    out_of_time.push(method_result("recency rule", &recency, &evaluation_target)?);
    out_of_time.push(method_result(
        "RFM score",
        &rfm_score(evaluation_table)?.into_iter().map(|s| -sign * s).collect::<Vec<_>>(),
        &evaluation_target,
    )?);
    if let Some(sequence) = &spec.sequence {
        out_of_time.push(
            sequence_result(
                context,
                spec,
                sequence,
                (train_cutoff, &train_labels),
                (evaluation_cutoff, &evaluation_labels),
            )
            .await?,
        );
    }
    out_of_time.sort_by(|a, b| b.roc_auc.total_cmp(&a.roc_auc));

    let scoring_model = models::train(&evaluation_data, &config)
        .with_context(|| format!("training on the split before {}", evaluation_cutoff))?;
    let score_data = feature_dataset(score_table, columns)?;
    let users = score_table.user_ids()?;
    let mut scores: Vec<(String, f64)> =
        users.into_iter().zip(scoring_model.predict_proba(&score_data)?).collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mean_score = scores.iter().map(|s| s.1).sum::<f64>() / scores.len().max(1) as f64;

    let positives = |target: &[f64]| target.iter().map(|&y| y > 0.5).collect::<Vec<_>>();
    let summary = PredictionSummary {
        split: SplitSummary::new(
            spec,
            splits,
            &positives(train_data.target_or_error()?),
            &positives(&evaluation_target),
        ),
        model_family: scoring_model.family.to_string(),
        cross_validated_roc_auc: scoring_model.chosen_cv().mean_roc_auc,
        out_of_time,
        top_drivers: top_drivers(&scoring_model),
        scored_users: scores.len(),
        mean_score,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Prediction { summary, scores })
}

fn top_drivers(model: &TrainedModel) -> Vec<(String, f64)> {
    model.importance.iter().take(10).map(|i| (i.column.clone(), i.roc_auc_drop)).collect()
}

/// The feature columns every table has, in the first table's order.
fn shared_columns(tables: &[&FeatureTable]) -> Vec<String> {
    let (first, rest) = tables.split_first().expect("at least one table");
    first
        .feature_names()
        .into_iter()
        .filter(|name| rest.iter().all(|t| t.feature_names().contains(name)))
        .collect()
}

/// Both labelled splits need some users to learn from and to judge on.
pub(crate) fn ensure_enough_history(splits: &Splits, horizon: Duration) -> anyhow::Result<()> {
    let (train_users, evaluation_users) =
        (splits.train_table.users(), splits.evaluation_table.users());
    if train_users < 20 || evaluation_users < 20 {
        bail!(
            "too little history for a {}-day horizon: {} users before {} and {} before {}; \
             use a shorter --horizon or a later --as-of",
            horizon.num_days(),
            train_users,
            splits.train_cutoff.format("%Y-%m-%d"),
            evaluation_users,
            splits.evaluation_cutoff.format("%Y-%m-%d")
        );
    }
    Ok(())
}

/// Each user's label value for `spec.task` at `cutoff` (0/1, or days for next-purchase).
pub(crate) async fn labels_by_user(
    context: &SessionContext,
    spec: &PredictSpec,
    cutoff: DateTime<Utc>,
) -> anyhow::Result<HashMap<String, f64>> {
    let label_spec = LabelSpec {
        include_bots: spec.include_bots,
        ..LabelSpec::new(cutoff, spec.horizon, spec.task)
    };
    let labels = features::labels(context, &label_spec).await?;
    // The lake may hand strings back as views: cast before reading.
    let users = arrow::compute::cast(labels.batch.column(0), &arrow::datatypes::DataType::Utf8)?;
    let users = users
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .context("user ids did not cast to strings")?;
    let values = labels.values();
    Ok((0..labels.batch.num_rows())
        .map(|row| (users.value(row).to_string(), values[row]))
        .collect())
}

/// The label of each of the table's users, in row order.
pub(crate) fn labels_in_row_order(
    table: &FeatureTable,
    labels: &HashMap<String, f64>,
) -> anyhow::Result<Vec<f64>> {
    table
        .user_ids()?
        .iter()
        .map(|user| labels.get(user).copied().with_context(|| format!("user {user} has no label")))
        .collect()
}

/// The table's `columns` as a model dataset with user ids, without a target.
pub(crate) fn feature_dataset(table: &FeatureTable, columns: &[String]) -> anyhow::Result<Dataset> {
    let users = table.user_ids()?;
    let numeric: Vec<String> = table.numeric_feature_names();
    let mut data = Dataset::new(users.len());
    for name in columns {
        if numeric.contains(name) {
            let values = table.numeric(name)?;
            if values.iter().all(Option::is_none) {
                continue; // e.g. review sentiment before any text model ran
            }
            data = data
                .with_numeric(name, values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())?;
        } else {
            data = data.with_categorical(name, table.categorical(name)?)?;
        }
    }
    Ok(data.with_ids("user_id", users)?)
}

pub(crate) fn numeric_or(
    table: &FeatureTable,
    name: &str,
    missing: f64,
) -> anyhow::Result<Vec<f64>> {
    Ok(table.numeric(name)?.into_iter().map(|v| v.unwrap_or(missing)).collect())
}

/// R + F + M scores (3–15) for customers, 0 for users who never bought.
fn rfm_score(table: &FeatureTable) -> anyhow::Result<Vec<f64>> {
    let r = numeric_or(table, "rfm_r", 0.0)?;
    let f = numeric_or(table, "rfm_f", 0.0)?;
    let m = numeric_or(table, "rfm_m", 0.0)?;
    Ok(r.iter().zip(&f).zip(&m).map(|((r, f), m)| r + f + m).collect())
}

fn method_result(method: &str, scores: &[f64], target: &[f64]) -> anyhow::Result<MethodResult> {
    let report = MetricReport::compute(scores, target, 0.5)?;
    Ok(MethodResult {
        method: method.to_string(),
        roc_auc: report.roc_auc,
        pr_auc: report.pr_auc,
        top_decile_lift: report.deciles.first().map_or(f64::NAN, |d| d.lift),
        roc: roc_curve_on_grid(scores, target, &ROC_GRID),
        decile_lift: report.deciles.iter().map(|d| d.lift).collect(),
    })
}

/// Trains the GRU on the journeys before the first cut-off and judges it on
/// those before the second, like the tabular model.
async fn sequence_result(
    context: &SessionContext,
    spec: &PredictSpec,
    sequence: &SequenceSpec,
    (train_cutoff, train_labels): (DateTime<Utc>, &HashMap<String, f64>),
    (evaluation_cutoff, evaluation_labels): (DateTime<Utc>, &HashMap<String, f64>),
) -> anyhow::Result<MethodResult> {
    let journeys_before = |before| analytics::JourneySpec {
        before,
        max_steps: sequence.config.max_len,
        include_bots: spec.include_bots,
    };
    let mut train = analytics::journeys(context, &journeys_before(train_cutoff)).await?;
    let evaluation = analytics::journeys(context, &journeys_before(evaluation_cutoff)).await?;
    // An even spread over user ids, the same on every run.
    if train.len() > sequence.max_users {
        let stride = train.len().div_ceil(sequence.max_users);
        train = train.into_iter().step_by(stride).collect();
    }
    let vocabulary = sequence_model::Vocabulary::fit(
        train.iter().flat_map(|j| j.steps.iter().map(|s| s.token.as_str()).chain([CUTOFF_TOKEN])),
        5,
        1000,
    );
    let encode =
        |journeys: &[analytics::Journey], labels: &HashMap<String, f64>, cutoff: DateTime<Utc>| {
            let mut steps = Vec::with_capacity(journeys.len());
            let mut targets = Vec::with_capacity(journeys.len());
            for journey in journeys {
                let Some(&label) = labels.get(&journey.user_id) else { continue };
                steps.push(encode_journey(journey, &vocabulary, cutoff));
                targets.push(label > 0.5);
            }
            (steps, targets)
        };
    let (train_steps, train_targets) = encode(&train, train_labels, train_cutoff);
    let (evaluation_steps, evaluation_targets) =
        encode(&evaluation, evaluation_labels, evaluation_cutoff);
    let model = sequence_model::SequenceModel::train(
        &train_steps,
        &train_targets,
        vocabulary.clone(),
        &sequence.config,
    )?;
    let scores = model.predict(&evaluation_steps)?;
    let target: Vec<f64> = evaluation_targets.iter().map(|&y| if y { 1.0 } else { 0.0 }).collect();
    method_result("GRU over journeys", &scores, &target)
}

/// The last step of every journey: the cut-off itself, whose gap is the time
/// since the user's last event. Without it the GRU could not tell a user
/// active an hour ago from one gone for weeks, the strongest signal there is.
const CUTOFF_TOKEN: &str = "(cut-off)";

fn encode_journey(
    journey: &analytics::Journey,
    vocabulary: &sequence_model::Vocabulary,
    cutoff: DateTime<Utc>,
) -> Vec<sequence_model::Step> {
    let mut previous: Option<i64> = None;
    let mut step_at = |micros: i64, token: &str| {
        let gap = previous.map(|p| (micros - p) as f64 / 1e6);
        previous = Some(micros);
        sequence_model::Step { token: vocabulary.id(token), seconds_since_previous: gap }
    };
    let mut steps: Vec<sequence_model::Step> =
        journey.steps.iter().map(|step| step_at(step.micros, &step.token)).collect();
    steps.push(step_at(cutoff.timestamp_micros(), CUTOFF_TOKEN));
    steps
}
