//! Generated text: a segment description or a campaign message written from
//! structured facts, by a language model or by a template.
//!
//! The facts ([`Facts`]) hold every number a text may say. A model is shown
//! the facts with a placeholder in place of each number (`{share}`), writes
//! the prose, and code fills the placeholders in ([`fill_placeholders`]).
//! The final text is then checked ([`verify_numbers`]): a number that is not
//! one of the facts' numbers as printed, or a number word the facts do not
//! use, rejects the generation, and the deterministic template
//! ([`template_with_placeholders`]) writes the text instead. The template is
//! also the default writer: generating is opt-in.
//!
//! The model is either SmolLM2-135M-Instruct on the CPU ([`LocalLlm`]) or
//! any OpenAI-compatible endpoint, which the caller talks to: this module
//! builds the chat ([`chat_messages`]) and judges the answer ([`accept`]).

mod facts;
mod gguf_tokenizer;
mod guard;
mod llm;
mod prompt;
mod template;

pub use facts::{Facts, NumberFact, TextKind, Unit, WordFact};
pub use gguf_tokenizer::{tokenizer_config_json, tokenizer_json};
pub use guard::{Rejection, fill_placeholders, last_whole_sentences, numbers_in, verify_numbers};
pub use llm::{
    Generation, LlmOptions, LoadReport, LocalLlm, SamplingOptions, write_tokenizer_files,
};
pub use prompt::{ChatMessage, Role, chat_messages};
pub use template::template_with_placeholders;

use serde::Serialize;

/// Who wrote a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Writer {
    /// The deterministic template.
    Template,
    /// A model run locally, by its directory name (`smollm2-135m-instruct`).
    LocalModel { model: String },
    /// A model behind an OpenAI-compatible endpoint.
    Endpoint { url: String, model: String },
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Writer::Template => write!(f, "template"),
            Writer::LocalModel { model } => write!(f, "{model} (local)"),
            Writer::Endpoint { model, .. } => write!(f, "{model} (endpoint)"),
        }
    }
}

/// A model's answer before the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub text: String,
    /// False when the model ran out of tokens mid-text.
    pub finished: bool,
}

/// A generation that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The writer whose text was rejected.
    pub from: Writer,
    pub rejection: Rejection,
    /// What it wrote, when it wrote anything.
    pub draft: Option<String>,
}

/// A finished text and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenText {
    pub kind: TextKind,
    pub text: String,
    pub writer: Writer,
    /// Set when a model was asked but the template wrote the text.
    pub fallback: Option<Fallback>,
}

impl WrittenText {
    /// "template", "smollm2-135m-instruct (local)", or "template (smollm2-135m-instruct
    /// (local) rejected: …)" — for a report that says who wrote each text.
    pub fn attribution(&self) -> String {
        match &self.fallback {
            None => self.writer.to_string(),
            Some(fallback) => {
                format!("{} ({} rejected: {})", self.writer, fallback.from, fallback.rejection)
            }
        }
    }
}

/// The template's text for `facts`.
pub fn template(kind: TextKind, facts: &Facts) -> WrittenText {
    let text = fill_placeholders(&template_with_placeholders(kind, facts), facts)
        // Templates only name the facts' own keys, so filling cannot fail; the
        // unfilled text would still be honest (it has no numbers at all).
        .unwrap_or_else(|_| template_with_placeholders(kind, facts));
    WrittenText { kind, text, writer: Writer::Template, fallback: None }
}

/// Turns a model's draft into the final text, or says why it cannot be used:
/// the draft is cut back to whole sentences if it ran out of tokens, its
/// placeholders are filled, a segment description without any number gets
/// the facts' numbers appended (a description must carry them), and every
/// number is checked.
pub fn accept(kind: TextKind, facts: &Facts, draft: &Draft) -> Result<String, Rejection> {
    let trimmed =
        draft.text.trim().trim_matches(|c| c == '"' || c == '\u{201c}' || c == '\u{201d}');
    let trimmed = trimmed.trim();
    if trimmed.is_empty() || trimmed.contains("<|") {
        return Err(Rejection::Empty);
    }
    let whole = if draft.finished {
        trimmed
    } else {
        last_whole_sentences(trimmed).ok_or(Rejection::Unfinished)?
    };
    let collapsed = whole.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = fill_placeholders(&collapsed, facts)?;
    if kind == TextKind::Segment
        && numbers_in(&text).is_empty()
        && let Some(numbers) = template::numbers_sentence(facts)
    {
        text.push(' ');
        text.push_str(&fill_placeholders(&numbers, facts)?);
    }
    verify_numbers(&text, facts)?;
    Ok(text)
}

/// The final text from a writer's draft (or its failure): the draft if the
/// guard accepts it, otherwise the template, with the reason kept.
pub fn from_draft(
    kind: TextKind,
    facts: &Facts,
    writer: Writer,
    draft: Result<Draft, String>,
) -> WrittenText {
    let (rejection, draft_text) = match draft {
        Ok(draft) => match accept(kind, facts, &draft) {
            Ok(text) => return WrittenText { kind, text, writer, fallback: None },
            Err(rejection) => (rejection, Some(draft.text)),
        },
        Err(message) => (Rejection::Failed(message), None),
    };
    WrittenText {
        fallback: Some(Fallback { from: writer, rejection, draft: draft_text }),
        ..template(kind, facts)
    }
}
