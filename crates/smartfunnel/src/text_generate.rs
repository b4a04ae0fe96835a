//! `smartfunnel text generate`, and the writers behind it and the demo: the
//! deterministic template, SmolLM2 on the CPU, or an OpenAI-compatible
//! endpoint. Every generated text goes through `text::generate`'s guard, and
//! the template writes whatever the guard rejects.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::Serialize;
use text::KnownModel;
use text::generate::{
    Draft, Facts, Generation, LlmOptions, LoadReport, LocalLlm, SamplingOptions, TextKind, Writer,
    WrittenText, chat_messages, from_draft, template,
};

use crate::Output;
use crate::llm_endpoint::EndpointClient;

/// The OpenAI-compatible endpoint options, shared by `text generate` and `demo`.
#[derive(Debug, Args, Clone)]
pub struct EndpointArgs {
    /// Write with a model behind an OpenAI-compatible endpoint instead of the
    /// local one: its base URL (`/v1/chat/completions` is appended). The API
    /// key, if one is needed, is read from $SMARTFUNNEL_LLM_API_KEY.
    #[arg(long, value_name = "URL")]
    pub llm_endpoint: Option<String>,
    /// The model name sent to the endpoint.
    #[arg(long, value_name = "NAME", default_value = "smollm2-135m-instruct")]
    pub llm_model: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Segment,
    Campaign,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The facts as JSON: {"subject": …, "numbers": [{"key", "label", "value", "unit"}],
    /// "traits": […], "words": [{"key", "label", "value"}]} (docs/text.md).
    #[arg(long, value_name = "FILE.json")]
    facts: PathBuf,
    /// A segment description (for a marketer) or a campaign message (to the customers).
    #[arg(long, value_enum, default_value_t = KindArg::Segment)]
    kind: KindArg,
    /// Write with the deterministic template, no model.
    #[arg(long, conflicts_with_all = ["model_dir", "llm_endpoint"])]
    template: bool,
    /// A SmolLM2-style model directory (model.gguf, optionally tokenizer.json)
    /// instead of the models root's smollm2-135m-instruct.
    #[arg(long, value_name = "DIR", conflicts_with = "llm_endpoint")]
    model_dir: Option<PathBuf>,
    /// Models root (default: $SMARTFUNNEL_MODELS or ~/.cache/smartfunnel/models).
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    #[command(flatten)]
    endpoint: EndpointArgs,
    /// Sampler seed; the same seed gives the same text.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Most new tokens the model may write.
    #[arg(long, default_value_t = 80)]
    max_tokens: usize,
    /// 0 (the default) always takes the most likely token; above 0 samples.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling threshold (with --temperature above 0).
    #[arg(long)]
    top_p: Option<f64>,
    /// Keep the weights in their shipped format (Q4_1) instead of
    /// re-quantising them to Q8_0 at load: slower, for measuring.
    #[arg(long)]
    no_requantize: bool,
}

/// Who writes: the template, a local model, or an endpoint.
pub enum TextWriter {
    /// `note` says why no model writes, when one was wanted.
    Template {
        note: Option<String>,
    },
    Local {
        model: Box<LocalLlm>,
        name: String,
    },
    Endpoint(EndpointClient),
}

impl TextWriter {
    /// The endpoint writer if one is configured.
    pub fn endpoint(args: &EndpointArgs) -> anyhow::Result<Option<TextWriter>> {
        match &args.llm_endpoint {
            Some(url) => Ok(Some(TextWriter::Endpoint(EndpointClient::new(url, &args.llm_model)?))),
            None => Ok(None),
        }
    }

    /// Loads a local model directory.
    pub fn local(dir: &Path, options: &LlmOptions) -> anyhow::Result<TextWriter> {
        let model = LocalLlm::load(dir, options)
            .with_context(|| format!("loading the language model from {}", dir.display()))?;
        let name = dir.file_name().map_or_else(
            || KnownModel::SmolLm2.name().to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(TextWriter::Local { model: Box::new(model), name })
    }

    /// Why the template writes although a model was wanted.
    pub fn note(&self) -> Option<&str> {
        match self {
            TextWriter::Template { note } => note.as_deref(),
            _ => None,
        }
    }

    pub fn load_report(&self) -> Option<&LoadReport> {
        match self {
            TextWriter::Local { model, .. } => Some(model.load_report()),
            _ => None,
        }
    }

    /// Writes one text; a model's text is checked and replaced by the
    /// template's if the guard rejects it.
    pub async fn write(
        &mut self,
        kind: TextKind,
        facts: &Facts,
        sampling: &SamplingOptions,
    ) -> (WrittenText, Option<Generation>) {
        match self {
            TextWriter::Template { .. } => (template(kind, facts), None),
            TextWriter::Local { model, name } => {
                let messages = chat_messages(kind, facts);
                // Generation is seconds of CPU work; let the runtime move its
                // other tasks off this thread meanwhile.
                let result = tokio::task::block_in_place(|| model.chat(&messages, sampling));
                let generation = result.as_ref().ok().cloned();
                let draft = result
                    .map(|g| Draft { text: g.text, finished: g.finished })
                    .map_err(|error| error.to_string());
                let writer = Writer::LocalModel { model: name.clone() };
                (from_draft(kind, facts, writer, draft), generation)
            }
            TextWriter::Endpoint(client) => {
                let messages = chat_messages(kind, facts);
                let draft =
                    client.chat(&messages, sampling).await.map_err(|error| format!("{error:#}"));
                let writer = Writer::Endpoint {
                    url: client.url().to_owned(),
                    model: client.model().to_owned(),
                };
                (from_draft(kind, facts, writer, draft), None)
            }
        }
    }
}

/// The command that installs SmolLM2, for messages about missing weights.
pub fn fetch_command() -> String {
    format!("smartfunnel models fetch --model {}", KnownModel::SmolLm2.name())
}

#[derive(Debug, Serialize)]
struct GenerateSummary<'a> {
    #[serde(flatten)]
    written: &'a WrittenText,
    /// Why the template wrote although a model was wanted (weights missing).
    note: Option<&'a str>,
    load: Option<&'a LoadReport>,
    generation: Option<&'a Generation>,
}

pub async fn run(args: GenerateArgs, output: Output) -> anyhow::Result<()> {
    let facts = Facts::read(&args.facts)?;
    let kind = match args.kind {
        KindArg::Segment => TextKind::Segment,
        KindArg::Campaign => TextKind::Campaign,
    };
    let options = LlmOptions { requantize: !args.no_requantize };
    let mut writer = if args.template {
        TextWriter::Template { note: None }
    } else if let Some(writer) = TextWriter::endpoint(&args.endpoint)? {
        writer
    } else if let Some(dir) = &args.model_dir {
        // A directory the user named must work: missing weights are an error.
        TextWriter::local(dir, &options)?
    } else {
        let root = args.models_dir.clone().unwrap_or_else(text::default_models_root);
        let model = KnownModel::SmolLm2;
        if model.is_installed(&root) {
            TextWriter::local(&model.dir(&root), &options)?
        } else {
            TextWriter::Template {
                note: Some(format!(
                    "{} is not installed under {}; `{}` fetches it (or pass --model-dir or --llm-endpoint)",
                    model.name(),
                    root.display(),
                    fetch_command()
                )),
            }
        }
    };
    let sampling = SamplingOptions {
        max_new_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        ..SamplingOptions::default()
    };
    let (written, generation) = writer.write(kind, &facts, &sampling).await;
    if output.json {
        return output.print_json(&GenerateSummary {
            written: &written,
            note: writer.note(),
            load: writer.load_report(),
            generation: generation.as_ref(),
        });
    }
    println!("{}", written.text);
    if !output.quiet {
        if let Some(note) = writer.note() {
            eprintln!("note: {note}");
        }
        eprintln!("written by {}", written.attribution());
        if let Some(generation) = &generation {
            eprintln!(
                "{} prompt tokens, {} new tokens, {:.1} tokens/s",
                generation.prompt_tokens, generation.generated_tokens, generation.tokens_per_second
            );
        }
    }
    Ok(())
}
