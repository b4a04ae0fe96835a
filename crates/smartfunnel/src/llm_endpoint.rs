//! An OpenAI-compatible chat endpoint (`POST …/v1/chat/completions`), the
//! alternative to the local model for generated texts. Its answers go through
//! the same guard as the local model's.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::Value;
use text::generate::{ChatMessage, Draft, SamplingOptions};

/// The environment variable that holds the endpoint's API key, if it needs one.
pub const API_KEY_VARIABLE: &str = "SMARTFUNNEL_LLM_API_KEY";

/// An answer longer than this is not a short marketing text; reading stops there.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct EndpointClient {
    /// The full URL posted to.
    url: String,
    model: String,
    api_key: Option<String>,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    max_tokens: usize,
    temperature: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    seed: u64,
    stream: bool,
}

/// `http://host:port` → `http://host:port/v1/chat/completions`; a URL that
/// already ends in `/v1` or `/chat/completions` is completed or kept.
pub fn chat_completions_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/chat/completions") {
        base.to_owned()
    } else if base.ends_with("/v1") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

impl EndpointClient {
    /// A client for the endpoint at `base`, with the key from
    /// [`API_KEY_VARIABLE`] when it is set.
    pub fn new(base: &str, model: &str) -> anyhow::Result<EndpointClient> {
        let url = chat_completions_url(base);
        reqwest::Url::parse(&url)
            .with_context(|| format!("--llm-endpoint {base:?} is not a URL"))?;
        let api_key = std::env::var(API_KEY_VARIABLE).ok().filter(|key| !key.is_empty());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the HTTP client")?;
        Ok(EndpointClient { url, model: model.to_owned(), api_key, client })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Asks the endpoint for the assistant's answer to `messages`.
    pub async fn chat(
        &self,
        messages: &[ChatMessage],
        sampling: &SamplingOptions,
    ) -> anyhow::Result<Draft> {
        let request = ChatRequest {
            model: &self.model,
            messages,
            max_tokens: sampling.max_new_tokens,
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            seed: sampling.seed,
            stream: false,
        };
        let mut builder = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&request)?);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        let mut response =
            builder.send().await.with_context(|| format!("posting to {}", self.url))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.with_context(|| format!("reading the answer of {}", self.url))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                bail!("{} answered with more than {MAX_RESPONSE_BYTES} bytes", self.url);
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            bail!("{} answered {status}: {excerpt}", self.url);
        }
        parse_answer(&body).with_context(|| format!("reading the answer of {}", self.url))
    }
}

/// The first choice's message and whether it ended by itself.
fn parse_answer(body: &[u8]) -> anyhow::Result<Draft> {
    let answer: Value = serde_json::from_slice(body).context("the answer is not JSON")?;
    let choice = answer
        .get("choices")
        .and_then(|choices| choices.get(0))
        .context("the answer has no choices")?;
    let text = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .context("the first choice has no message content")?;
    // "length" means the token limit cut the text; anything else ended it.
    let finished = choice.get("finish_reason").and_then(Value::as_str) != Some("length");
    Ok(Draft { text: text.to_owned(), finished })
}
