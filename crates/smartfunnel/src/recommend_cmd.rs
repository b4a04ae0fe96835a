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
    Algorithm, Dataset, DatasetBuilder, EventKind, Model, TrainConfig, UserFilter, Weights,
};
use serde::Serialize;

use crate::Output;

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
    /// popular, item-knn, user-knn, sknn, vsknn, ease or als.
    #[arg(long)]
    algo: String,
    /// A hyper-parameter, `name=value` (repeat): e.g. `neighbours=200`, `history_decay=0.5`,
    /// `factors=64`. `recommend train --algo X --show-params` lists them.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
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

/// The algorithm `name` with its defaults overridden by `name=value` parameters.
fn algorithm_with(name: &str, params: &[String]) -> anyhow::Result<Algorithm> {
    let algorithm = Algorithm::with_defaults(name).with_context(|| {
        format!("unknown algorithm {name:?}; one of {}", Algorithm::NAMES.join(", "))
    })?;
    if params.is_empty() {
        return Ok(algorithm);
    }
    let mut value = serde_json::to_value(&algorithm)?;
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
    let algorithm = algorithm_with(&args.algo, &args.params)?;
    if args.show_params {
        return output.print_json(&algorithm);
    }
    if args.tune.is_some() && args.source.format == DataFormat::Lake {
        // The validation data would be read from the same lake as the training data.
        bail!(
            "--tune takes a validation file; with --format lake, train with --until and evaluate with --from"
        );
    }
    let weights = parse_weights(&args.weights, args.half_life_days)?;
    let (train_data, source) = load(args.data.as_deref(), &args.source).await?;
    let validation = match &args.tune {
        Some(file) => Some(
            load(Some(file), &DataSource { from: None, until: None, ..args.source.clone() })
                .await?,
        ),
        None => None,
    };
    let (algo, params, k) = (args.algo.clone(), !args.params.is_empty(), args.k);
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
    println!("model        {} ({})", summary.model, model.config.algorithm.name());
    println!("trained on   {} ({})", model.summary.source, model.summary.fingerprint);
    println!(
        "data         {} interactions, {} sessions, {} users, {} items",
        model.summary.interactions,
        model.summary.sessions,
        model.summary.users,
        model.summary.items
    );
    println!("training     {:.2} s", model.summary.train_seconds);
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

fn load_model(dir: &Path) -> anyhow::Result<Model> {
    Model::load(dir).with_context(|| format!("loading the model from {}", dir.display()))
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
    let numeric_items = model.items.all_numeric();
    let numeric_sessions = sessions.sessions.iter().all(|s| recommend::is_plain_integer(&s.id));
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for prediction in &predictions {
        let line = serde_json::json!({
            "session_id": id_value(&sessions.sessions[prediction.session].id, numeric_sessions),
            "position": prediction.position,
            "items": prediction.items.iter().map(|&i| id_value(model.items.name(i), numeric_items)).collect::<Vec<_>>(),
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
            algorithm: model.config.algorithm.name().to_string(),
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
        .recommend_for_user(&args.user, args.k, &filter)
        .with_context(|| format!("user {:?} is not in the model's training data", args.user))?;
    if output.json {
        return output.print_json(&serde_json::json!({ "user": args.user, "items": list }));
    }
    println!("top {} for user {} ({})", args.k, args.user, model.config.algorithm.name());
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
