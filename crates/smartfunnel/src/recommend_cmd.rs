//! `smartfunnel recommend train|next|evaluate|user`: the `recommend` crate's models on
//! interaction files or on the lake.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use clap::{Args, Subcommand, ValueEnum};
use lake::Lake;
use recommend::{
    Algorithm, Dataset, DatasetBuilder, EventKind, Model, Recommender, TrainConfig, UserFilter,
    Weights,
};
use sasrec::{SasRec, SequenceAlgorithm};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Output;
use crate::recommend_model::SavedModel;

#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(subcommand)]
    command: RecommendCommand,
}

#[derive(Debug, Subcommand)]
enum RecommendCommand {
    /// Train a model (optionally tuning it on a validation split) and save it.
    Train(TrainArgs),
    /// For every session and every prefix of it, the top-k next items, as JSON lines.
    Next(NextArgs),
    /// Next-click (or user-level) evaluation: Recall, MRR, NDCG, coverage, popularity bias.
    Evaluate(EvaluateArgs),
    /// Recommendations for one user from their history, with explanations.
    User(UserArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Yoochoose,
    Diginetica,
    Csv,
    Lake,
}

/// Where interactions come from: a file in a format, or the lake (with a time window).
#[derive(Debug, Clone, Args)]
pub struct DataSource {
    /// The input format.
    #[arg(long, value_enum)]
    format: DataFormat,
    /// The lake directory, with `--format lake`.
    #[arg(long)]
    lake: Option<PathBuf>,
    /// Only events at or after this time (`2024-01-20` or `2024-01-20T12:00:00Z`).
    #[arg(long)]
    from: Option<String>,
    /// Only events before this time.
    #[arg(long)]
    until: Option<String>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training file (not needed with `--format lake`).
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    source: DataSource,
    /// popular, item-knn, user-knn, sknn, vsknn, ease, als, hybrid or sasrec.
    #[arg(long)]
    algo: String,
    /// A hyper-parameter, `name=value` (repeat): e.g. `neighbours=200`, `history_decay=0.5`,
    /// `factors=64`. `recommend train --algo X --show-params` lists them.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Shorthand for `--param hidden=N` (sasrec's embedding and hidden width).
    #[arg(long, value_name = "N")]
    hidden: Option<usize>,
    /// Shorthand for `--param factors=N` (ALS).
    #[arg(long, value_name = "N")]
    factors: Option<usize>,
    /// Shorthand for `--param epochs=N` (sasrec; with `--tune` the most epochs, the best
    /// on the validation file is kept).
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Shorthand for `--param max_len=N` (sasrec: the latest clicks a prediction sees).
    #[arg(long, value_name = "N")]
    max_len: Option<usize>,
    /// Shorthand for `--param learning_rate=X` (sasrec).
    #[arg(long, value_name = "X")]
    lr: Option<f64>,
    /// Shorthand for `--param seed=N` (ALS, sasrec).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Print the algorithm's hyper-parameters and their defaults, and exit.
    #[arg(long)]
    show_params: bool,
    /// Tune on this validation file (same format): try a grid of settings, keep the best
    /// Recall@k. Never pass the test set here.
    #[arg(long)]
    tune: Option<PathBuf>,
    /// The cut-off used for tuning.
    #[arg(long, default_value_t = 20)]
    k: usize,
    /// Event weights, e.g. `view=1,cart=3,purchase=5`.
    #[arg(long, default_value = "view=1,cart=3,purchase=5")]
    weights: String,
    /// Events this many days older than the newest count half.
    #[arg(long)]
    half_life_days: Option<f64>,
    /// The model directory to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct NextArgs {
    #[arg(long)]
    model: PathBuf,
    /// The sessions to predict for.
    #[arg(long)]
    sessions: Option<PathBuf>,
    #[command(flatten)]
    source: DataSource,
    #[arg(long, default_value_t = 20)]
    k: usize,
    /// The JSON-lines file to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Every next click of a test session from its prefix.
    Next,
    /// One list per user from their training history against their later items.
    User,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[arg(long)]
    model: PathBuf,
    /// The test file (not needed with `--format lake`).
    #[arg(long)]
    test: Option<PathBuf>,
    #[command(flatten)]
    source: DataSource,
    #[arg(long, default_value_t = 20)]
    k: usize,
    #[arg(long, value_enum, default_value_t = Protocol::Next)]
    protocol: Protocol,
    /// Time this many queries one at a time for latency percentiles (0: none).
    #[arg(long, default_value_t = 2000)]
    latency_queries: usize,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    user: String,
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Also recommend items the user already bought.
    #[arg(long)]
    keep_purchased: bool,
    /// Leave out every item the user already interacted with.
    #[arg(long)]
    exclude_seen: bool,
    /// A file of unavailable item ids, one per line, never recommended.
    #[arg(long)]
    unavailable: Option<PathBuf>,
}

pub async fn run(args: RecommendArgs, output: Output) -> anyhow::Result<()> {
    match args.command {
        RecommendCommand::Train(args) => run_train(args, output).await,
        RecommendCommand::Next(args) => run_next(args, output).await,
        RecommendCommand::Evaluate(args) => run_evaluate(args, output).await,
        RecommendCommand::User(args) => run_user(args, output),
    }
}

fn parse_time_arg(text: &str) -> anyhow::Result<f64> {
    let full = if text.len() == 10 { format!("{text} 00:00:00") } else { text.to_string() };
    recommend::parse_time(&full).with_context(|| format!("not a time: {text:?}"))
}

/// Reads interactions from `file` or the lake, keeping those in `[from, until)`.
pub async fn load(file: Option<&Path>, source: &DataSource) -> anyhow::Result<(Dataset, String)> {
    let from = source.from.as_deref().map(parse_time_arg).transpose()?;
    let until = source.until.as_deref().map(parse_time_arg).transpose()?;
    let (mut dataset, name) = if source.format == DataFormat::Lake {
        let lake = source.lake.as_deref().context("--format lake needs --lake DIR")?;
        (load_lake(lake).await?, format!("lake {}", lake.display()))
    } else {
        let file = file.context("a data file is needed for this format")?;
        let format = match source.format {
            DataFormat::Yoochoose => recommend::Format::Yoochoose,
            DataFormat::Diginetica => recommend::Format::Diginetica,
            DataFormat::Csv | DataFormat::Lake => recommend::Format::Csv,
        };
        let path = file.to_path_buf();
        let dataset = tokio::task::spawn_blocking(move || recommend::read_file(&path, format))
            .await?
            .with_context(|| format!("reading interactions from {}", file.display()))?;
        (dataset, file.display().to_string())
    };
    if let Some(until) = until {
        dataset = dataset.split_at(until).0;
    }
    if let Some(from) = from {
        dataset = dataset.split_at(from).1;
    }
    let window = match (&source.from, &source.until) {
        (None, None) => String::new(),
        (from, until) => {
            format!(" [{} .. {})", from.as_deref().unwrap_or(""), until.as_deref().unwrap_or(""))
        }
    };
    Ok((dataset, format!("{name}{window}")))
}

/// The lake's item events (views, carts, purchases; bots left out) as sessions.
pub async fn load_lake(dir: &Path) -> anyhow::Result<Dataset> {
    let lake = Lake::open(dir).await?;
    let batches = lake
        .sql(
            "SELECT session_id, user_id, item_id, event_type, event_time FROM events \
             WHERE item_id IS NOT NULL AND NOT is_bot \
             AND event_type IN ('view', 'add_to_cart', 'purchase')",
        )
        .await
        .with_context(|| format!("reading item events from {}", dir.display()))?;
    let mut builder = DatasetBuilder::default();
    for batch in &batches {
        let session = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)?;
        let user = arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Utf8)?;
        let item = arrow::compute::cast(batch.column(2), &arrow::datatypes::DataType::Utf8)?;
        let kind = arrow::compute::cast(batch.column(3), &arrow::datatypes::DataType::Utf8)?;
        let (session, user, item, kind) = (
            session.as_string::<i32>(),
            user.as_string::<i32>(),
            item.as_string::<i32>(),
            kind.as_string::<i32>(),
        );
        let time = batch.column(4).as_primitive::<TimestampMicrosecondType>();
        for row in 0..batch.num_rows() {
            if item.is_null(row) {
                continue;
            }
            let Some(kind) = EventKind::from_name(kind.value(row)) else { continue };
            builder.push(
                session.value(row),
                user.value(row),
                item.value(row),
                time.value(row) as f64 / 1e6,
                kind,
            );
        }
    }
    Ok(builder.finish())
}

fn parse_weights(text: &str, half_life_days: Option<f64>) -> anyhow::Result<Weights> {
    let mut weights = Weights { half_life_days, ..Weights::default() };
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) =
            part.split_once('=').with_context(|| format!("weight {part:?} is not name=value"))?;
        let value: f32 =
            value.trim().parse().with_context(|| format!("weight {part:?}: not a number"))?;
        match name.trim() {
            "view" => weights.view = value,
            "cart" | "add_to_cart" => weights.cart = value,
            "purchase" => weights.purchase = value,
            other => bail!("unknown event weight {other:?} (view, cart, purchase)"),
        }
    }
    Ok(weights)
}

impl TrainArgs {
    /// `--param`s and the shorthand flags, as `name=value`.
    fn all_params(&self) -> Vec<String> {
        let mut params = self.params.clone();
        let shorthands = [
            ("hidden", self.hidden.map(|n| n.to_string())),
            ("factors", self.factors.map(|n| n.to_string())),
            ("epochs", self.epochs.map(|n| n.to_string())),
            ("max_len", self.max_len.map(|n| n.to_string())),
            ("learning_rate", self.lr.map(|x| x.to_string())),
            ("seed", self.seed.map(|n| n.to_string())),
        ];
        for (name, value) in shorthands {
            if let Some(value) = value {
                params.push(format!("{name}={value}"));
            }
        }
        params
    }
}

/// The algorithm `name` with its defaults overridden by `name=value` parameters.
fn algorithm_with(name: &str, params: &[String]) -> anyhow::Result<Algorithm> {
    let algorithm = Algorithm::with_defaults(name).with_context(|| {
        let mut names = Algorithm::NAMES.to_vec();
        names.extend_from_slice(SequenceAlgorithm::NAMES);
        format!("unknown algorithm {name:?}; one of {}", names.join(", "))
    })?;
    with_params(algorithm, name, params)
}

/// `defaults` (an algorithm, tagged by `name`) with `name=value` parameters set: each
/// field of its JSON form is a hyper-parameter.
fn with_params<T: Serialize + DeserializeOwned>(
    defaults: T,
    name: &str,
    params: &[String],
) -> anyhow::Result<T> {
    if params.is_empty() {
        return Ok(defaults);
    }
    let mut value = serde_json::to_value(&defaults)?;
    let object = value.as_object_mut().context("algorithm settings are an object")?;
    for param in params {
        let (key, text) = param
            .split_once('=')
            .with_context(|| format!("--param {param:?} is not name=value"))?;
        let key = key.trim().replace('-', "_");
        let Some(slot) = object.get_mut(&key).filter(|_| key != "name") else {
            let known: Vec<&String> = object.keys().filter(|k| *k != "name").collect();
            bail!("{name} has no hyper-parameter {key:?}; it has {known:?}");
        };
        *slot = serde_json::from_str(text.trim())
            .unwrap_or_else(|_| serde_json::Value::String(text.trim().to_string()));
    }
    serde_json::from_value(value).with_context(|| format!("hyper-parameters {params:?} for {name}"))
}

#[derive(Debug, Serialize)]
struct TrainSummary<'a> {
    model: String,
    config: &'a TrainConfig,
    summary: &'a recommend::TrainingSummary,
    tuning: Option<&'a recommend::Tuning>,
}

async fn run_train(args: TrainArgs, output: Output) -> anyhow::Result<()> {
    let params = args.all_params();
    if let Some(algorithm) = SequenceAlgorithm::with_defaults(&args.algo) {
        let algorithm = with_params(algorithm, &args.algo, &params)?;
        return run_train_sequence(args, algorithm, !params.is_empty(), output).await;
    }
    let algorithm = algorithm_with(&args.algo, &params)?;
    if args.show_params {
        return output.print_json(&algorithm);
    }
    let (weights, (train_data, source), validation) = train_inputs(&args).await?;
    let (algo, params, k) = (args.algo.clone(), !params.is_empty(), args.k);
    let model = tokio::task::spawn_blocking(move || -> anyhow::Result<Model> {
        let config = TrainConfig { algorithm: algorithm.clone(), weights };
        match validation {
            Some((validation, validation_name)) => {
                // Explicit parameters narrow the grid to themselves.
                let settings = if params { vec![algorithm] } else { recommend::grid(&algo)? };
                Ok(recommend::tune(
                    &train_data,
                    &validation,
                    settings,
                    weights,
                    k,
                    (&source, &validation_name),
                )?)
            }
            None => Ok(recommend::train(&train_data, config, &source)?),
        }
    })
    .await??;
    model.save(&args.out).with_context(|| format!("saving the model to {}", args.out.display()))?;
    let summary = TrainSummary {
        model: args.out.display().to_string(),
        config: &model.config,
        summary: &model.summary,
        tuning: model.tuning.as_ref(),
    };
    if output.json {
        return output.print_json(&summary);
    }
    print_training_summary(&summary.model, model.config.algorithm.name(), &model.summary);
    println!("settings     {}", serde_json::to_string(&model.config.algorithm)?);
    if let Some(tuning) = &model.tuning {
        let best = tuning.trials.iter().find(|t| t.algorithm == model.config.algorithm);
        println!(
            "tuned on     {} ({} settings; best Recall@{} {:.4}, MRR@{} {:.4})",
            tuning.validation,
            tuning.trials.len(),
            tuning.k,
            best.map_or(0.0, |t| t.recall),
            tuning.k,
            best.map_or(0.0, |t| t.mrr)
        );
    }
    Ok(())
}

/// The event weights, the training data and its name, and the validation data and its
/// name if `--tune` names a file.
async fn train_inputs(
    args: &TrainArgs,
) -> anyhow::Result<(Weights, (Dataset, String), Option<(Dataset, String)>)> {
    if args.tune.is_some() && args.source.format == DataFormat::Lake {
        // The validation data would be read from the same lake as the training data.
        bail!(
            "--tune takes a validation file; with --format lake, train with --until and evaluate with --from"
        );
    }
    let weights = parse_weights(&args.weights, args.half_life_days)?;
    let train_data = load(args.data.as_deref(), &args.source).await?;
    let validation = match &args.tune {
        Some(file) => Some(
            load(Some(file), &DataSource { from: None, until: None, ..args.source.clone() })
                .await?,
        ),
        None => None,
    };
    Ok((weights, train_data, validation))
}

#[derive(Debug, Serialize)]
struct SequenceTrainSummary<'a> {
    model: String,
    config: serde_json::Value,
    summary: &'a recommend::TrainingSummary,
    training: &'a sasrec::TrainingHistory,
    /// The epochs of an ensemble's other networks.
    other_members: &'a [sasrec::TrainingHistory],
    tuning: Option<&'a sasrec::Tuning>,
}

/// `recommend train --algo sasrec`: with `--tune`, the validation file picks the epoch
/// (and, without explicit hyper-parameters, the setting of `sasrec::grid`, then tries an
/// ensemble of `sasrec::TUNED_MEMBERS` networks of that setting).
async fn run_train_sequence(
    args: TrainArgs,
    algorithm: SequenceAlgorithm,
    explicit_params: bool,
    output: Output,
) -> anyhow::Result<()> {
    if args.show_params {
        return output.print_json(&algorithm);
    }
    let SequenceAlgorithm::Sasrec(config) = algorithm;
    let (weights, (train_data, source), validation) = train_inputs(&args).await?;
    let k = args.k;
    let model = tokio::task::spawn_blocking(move || -> anyhow::Result<SasRec> {
        Ok(match &validation {
            Some((data, name)) => {
                let validation = sasrec::Validation { data, name, k };
                if explicit_params {
                    sasrec::train(&train_data, &config, weights, Some(validation), &source)?
                } else {
                    let settings = sasrec::grid();
                    let session_weights = sasrec::SESSION_WEIGHTS;
                    sasrec::tune(
                        &train_data,
                        &settings,
                        session_weights,
                        sasrec::TUNED_MEMBERS,
                        weights,
                        validation,
                        &source,
                    )?
                }
            }
            None => sasrec::train(&train_data, &config, weights, None, &source)?,
        })
    })
    .await??;
    model.save(&args.out).with_context(|| format!("saving the model to {}", args.out.display()))?;
    let summary = SequenceTrainSummary {
        model: args.out.display().to_string(),
        config: serde_json::json!({ "algorithm": model.algorithm, "weights": weights }),
        summary: &model.summary,
        training: &model.training,
        other_members: &model.other_members,
        tuning: model.tuning.as_ref(),
    };
    if output.json {
        return output.print_json(&summary);
    }
    print_training_summary(&summary.model, model.algorithm.name(), &model.summary);
    println!("settings     {}", serde_json::to_string(&model.algorithm)?);
    let best = &model.training.epochs[model.training.best_epoch];
    match (&model.training.validation, best.validation_recall, best.validation_mrr) {
        (Some(validation), Some(recall), Some(mrr)) => println!(
            "epochs       {} run, epoch {} kept: Recall@{k} {recall:.4}, MRR@{k} {mrr:.4} on {validation}",
            model.training.epochs.len(),
            model.training.best_epoch + 1,
        ),
        _ => println!(
            "epochs       {} run, the last kept (loss {:.4})",
            model.training.epochs.len(),
            best.loss
        ),
    }
    if !model.other_members.is_empty() {
        let kept: Vec<String> = std::iter::once(&model.training)
            .chain(&model.other_members)
            .map(|training| (training.best_epoch + 1).to_string())
            .collect();
        let config = model.config();
        println!(
            "networks     {} (seeds {} to {}), epochs kept {}",
            config.members,
            config.seed,
            config.seed.wrapping_add(config.members as u64 - 1),
            kept.join(", ")
        );
    }
    if let Some(tuning) = &model.tuning {
        println!("tuned on     {} ({} settings)", tuning.validation, tuning.trials.len());
    }
    Ok(())
}

fn print_training_summary(model: &str, algorithm: &str, summary: &recommend::TrainingSummary) {
    println!("model        {model} ({algorithm})");
    println!("trained on   {} ({})", summary.source, summary.fingerprint);
    println!(
        "data         {} interactions, {} sessions, {} users, {} items",
        summary.interactions, summary.sessions, summary.users, summary.items
    );
    println!("training     {:.2} s", summary.train_seconds);
}

fn load_model(dir: &Path) -> anyhow::Result<SavedModel> {
    SavedModel::load(dir)
}

/// An id as JSON: a number where every id of its kind is a plain integer, as in the input.
fn id_value(id: &str, numeric: bool) -> serde_json::Value {
    match id.parse::<u64>() {
        Ok(number) if numeric => serde_json::Value::from(number),
        _ => serde_json::Value::from(id),
    }
}

async fn run_next(args: NextArgs, output: Output) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let (sessions, name) = load(args.sessions.as_deref(), &args.source).await?;
    let k = args.k;
    let (model, sessions, predictions) = tokio::task::spawn_blocking(move || {
        let predictions = recommend::predict_next(&model, &sessions, k);
        (model, sessions, predictions)
    })
    .await?;
    let numeric_items = model.item_vocabulary().all_numeric();
    let numeric_sessions = sessions.sessions.iter().all(|s| recommend::is_plain_integer(&s.id));
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for prediction in &predictions {
        let line = serde_json::json!({
            "session_id": id_value(&sessions.sessions[prediction.session].id, numeric_sessions),
            "position": prediction.position,
            "items": prediction.items.iter().map(|&i| id_value(model.item_vocabulary().name(i), numeric_items)).collect::<Vec<_>>(),
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("writing {}", args.out.display()))?;
    let summary = serde_json::json!({
        "out": args.out.display().to_string(),
        "sessions": sessions.sessions.len(),
        "predictions": predictions.len(),
        "source": name,
    });
    if output.json {
        return output.print_json(&summary);
    }
    println!(
        "wrote {} predictions for {} sessions to {}",
        predictions.len(),
        sessions.sessions.len(),
        args.out.display()
    );
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct EvaluateSummary {
    pub model: String,
    pub algorithm: String,
    pub test: String,
    pub protocol: String,
    pub metrics: recommend::Metrics,
    pub test_sessions: usize,
    pub skipped_unknown_targets: usize,
    pub latency: Option<recommend::Latency>,
}

async fn run_evaluate(args: EvaluateArgs, output: Output) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let (test, name) = load(args.test.as_deref(), &args.source).await?;
    let (k, protocol, latency_queries) = (args.k, args.protocol, args.latency_queries);
    let summary = tokio::task::spawn_blocking(move || {
        let filter = UserFilter { exclude_purchased: true, ..UserFilter::default() };
        let (metrics, skipped) = match protocol {
            Protocol::Next => {
                let evaluation = recommend::evaluate(&model, &test, k);
                (evaluation.metrics, evaluation.skipped_unknown_targets)
            }
            Protocol::User => (recommend::evaluate_users(&model, &test, k, &filter), 0),
        };
        let latency = (latency_queries > 0).then(|| match protocol {
            Protocol::Next => recommend::measure_latency(&model, &test, k, latency_queries),
            Protocol::User => {
                recommend::measure_user_latency(&model, &test, k, &filter, latency_queries)
            }
        });
        EvaluateSummary {
            model: String::new(),
            algorithm: model.algorithm_name().to_string(),
            test: name,
            protocol: format!("{protocol:?}").to_lowercase(),
            metrics,
            test_sessions: test.sessions.len(),
            skipped_unknown_targets: skipped,
            latency,
        }
    })
    .await?;
    let summary = EvaluateSummary { model: args.model.display().to_string(), ..summary };
    if output.json {
        return output.print_json(&summary);
    }
    let m = &summary.metrics;
    println!("model        {} ({})", summary.model, summary.algorithm);
    println!(
        "test         {} ({} sessions, protocol {})",
        summary.test, summary.test_sessions, summary.protocol
    );
    println!(
        "predictions  {} ({} next clicks on unknown items skipped)",
        m.predictions, summary.skipped_unknown_targets
    );
    println!("Recall@{}    {:.4}", m.k, m.recall);
    println!("MRR@{}       {:.4}", m.k, m.mrr);
    println!("NDCG@{}      {:.4}", m.k, m.ndcg);
    println!("coverage     {:.3} of the catalogue", m.coverage);
    println!(
        "popularity   {:.3} (mean relative popularity of recommended items)",
        m.popularity_bias
    );
    if let Some(latency) = &summary.latency {
        println!(
            "latency      p50 {:.0} µs, p99 {:.0} µs over {} single-thread queries",
            latency.p50_us, latency.p99_us, latency.queries
        );
    }
    Ok(())
}

fn run_user(args: UserArgs, output: Output) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let unavailable: HashSet<String> = match &args.unavailable {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        None => HashSet::new(),
    };
    let filter = UserFilter {
        exclude_purchased: !args.keep_purchased,
        exclude_seen: args.exclude_seen,
        unavailable,
    };
    let list = model
        .user_items(&args.user, args.k, &filter)
        .with_context(|| format!("user {:?} is not in the model's training data", args.user))?;
    if output.json {
        return output.print_json(&serde_json::json!({ "user": args.user, "items": list }));
    }
    println!("top {} for user {} ({})", args.k, args.user, model.algorithm_name());
    for (rank, recommendation) in list.iter().enumerate() {
        let because = recommendation
            .because
            .as_deref()
            .map(|b| format!("  because you viewed {b}"))
            .unwrap_or_default();
        println!(
            "{:>3}. {:<24} {:>10.4}{because}",
            rank + 1,
            recommendation.item,
            recommendation.score
        );
    }
    Ok(())
}
