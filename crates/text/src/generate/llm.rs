//! A small chat model on the CPU: SmolLM2-135M-Instruct (or any llama-family
//! GGUF with a byte-level BPE tokenizer and a ChatML template) through
//! candle's quantized llama.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use serde::Serialize;
use tokenizers::Tokenizer;

use super::gguf_tokenizer;
use super::prompt::{ChatMessage, Role};
use crate::error::{Result, TextError, io_error};

/// Weight formats candle 0.11.1 multiplies without a SIMD kernel on x86 (its
/// AVX dot products cover Q4_0, Q8_0 and the K-quants only). SmolLM2 ships in
/// Q4_1; the same matrices in Q8_0 decode about 1.8× faster (docs/text.md).
const SLOW_FORMATS: [GgmlDType; 3] = [GgmlDType::Q4_1, GgmlDType::Q5_0, GgmlDType::Q5_1];

/// How to load a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmOptions {
    /// Re-quantise the matrices stored in a format without a fast CPU kernel
    /// (Q4_1, Q5_0, Q5_1) to Q8_0 while loading.
    pub requantize: bool,
}

impl Default for LlmOptions {
    fn default() -> Self {
        LlmOptions { requantize: true }
    }
}

/// How to pick each next token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplingOptions {
    /// Stop after this many new tokens (the text is then cut back to its last
    /// whole sentence by the guard).
    pub max_new_tokens: usize,
    /// 0 picks the most likely token (greedy); above 0 samples.
    pub temperature: f64,
    /// Nucleus sampling: sample among the most likely tokens whose
    /// probabilities add up to this; `None` samples among all.
    pub top_p: Option<f64>,
    /// The seed of the sampler; the same seed gives the same text.
    pub seed: u64,
    /// Divides the logits of tokens among the last `repeat_last_n` (1 = off);
    /// tiny models loop on a phrase without it.
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    /// Never pick a token that contains a digit. The writers give a model
    /// placeholders, never numbers, so a digit could only be an invented
    /// number; masking them makes the model reach for a placeholder or a word
    /// instead (the guard still checks every text).
    pub forbid_digits: bool,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            max_new_tokens: 80,
            temperature: 0.0,
            top_p: None,
            seed: 42,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            forbid_digits: true,
        }
    }
}

/// What a model wrote, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    pub text: String,
    /// True when the model ended the text itself (an end token), false when
    /// it ran out of `max_new_tokens`.
    pub finished: bool,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// The forward pass over the prompt.
    pub prefill_seconds: f64,
    /// The one-token forward passes after it, with sampling.
    pub decode_seconds: f64,
    /// One-token forward passes per second (prefill excluded).
    pub tokens_per_second: f64,
}

/// What loading did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub model: PathBuf,
    /// Matrices re-quantised to Q8_0, and the formats they had.
    pub requantized_tensors: usize,
    pub requantized_from: Vec<String>,
    /// Where the tokenizer came from: `tokenizer.json` or the GGUF metadata.
    pub tokenizer: String,
    pub seconds: f64,
}

/// The chat markup a model was trained with. Only ChatML is rendered; a
/// model with another template is refused rather than prompted wrongly.
#[derive(Debug, Clone, PartialEq)]
struct ChatMl {
    /// The system message the template adds when a chat has none.
    default_system: Option<String>,
}

impl ChatMl {
    fn from_template(template: Option<&str>, path: &Path) -> Result<ChatMl> {
        let Some(template) = template else {
            return Ok(ChatMl { default_system: None });
        };
        if !(template.contains("<|im_start|>") && template.contains("<|im_end|>")) {
            return Err(TextError::BadModelFile {
                path: path.to_owned(),
                reason: "the chat template is not ChatML (<|im_start|>role … <|im_end|>), \
                         the only one rendered"
                    .to_owned(),
            });
        }
        // SmolLM2's template writes a literal system message when the chat
        // starts without one; keep it so such chats render the same.
        let marker = "<|im_start|>system\n";
        let default_system = template.find(marker).and_then(|start| {
            let rest = &template[start + marker.len()..];
            let literal = &rest[..rest.find("<|im_end|>")?];
            (!literal.contains(['{', '}', '\'', '+'])).then(|| literal.to_owned())
        });
        Ok(ChatMl { default_system })
    }

    fn render(&self, messages: &[ChatMessage]) -> String {
        let mut prompt = String::new();
        if let (Some(system), Some(first)) = (&self.default_system, messages.first())
            && first.role != Role::System
        {
            prompt.push_str(&format!("<|im_start|>system\n{system}<|im_end|>\n"));
        }
        for message in messages {
            prompt.push_str(&format!(
                "<|im_start|>{}\n{}<|im_end|>\n",
                message.role.name(),
                message.content
            ));
        }
        prompt.push_str("<|im_start|>assistant\n");
        prompt
    }
}

/// A loaded chat model.
pub struct LocalLlm {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    chat: ChatMl,
    bos: Option<u32>,
    stop_tokens: Vec<u32>,
    /// Every token whose text contains a numeric character.
    digit_tokens: Vec<u32>,
    /// `<|im_start|>`, where chat turns begin.
    im_start: Option<u32>,
    /// Recent shared prompt beginnings and the model state after each
    /// (`state_after_shared_part`), oldest first.
    shared_parts: Vec<(Vec<u32>, ModelWeights)>,
    context_length: usize,
    report: LoadReport,
}

impl std::fmt::Debug for LocalLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLlm").field("report", &self.report).finish_non_exhaustive()
    }
}

fn bad_file(path: &Path, reason: impl std::fmt::Display) -> TextError {
    TextError::BadModelFile { path: path.to_owned(), reason: reason.to_string() }
}

/// Reads the GGUF and, if asked, rewrites its slow matrices as Q8_0 into an
/// in-memory GGUF that the model is then built from.
fn read_weights(
    path: &Path,
    options: &LlmOptions,
) -> Result<(gguf_file::Content, Cursor<Vec<u8>>, Vec<String>)> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let mut reader = Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut reader).map_err(|e| bad_file(path, e))?;
    let slow = |dtype: GgmlDType| options.requantize && SLOW_FORMATS.contains(&dtype);
    if !content.tensor_infos.values().any(|info| slow(info.ggml_dtype)) {
        return Ok((content, reader, Vec::new()));
    }
    let device = Device::Cpu;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    let mut requantized = Vec::new();
    for name in names {
        let tensor = content.tensor(&mut reader, name, &device)?;
        let dtype = tensor.dtype();
        // Q8_0 blocks run along the last dimension; a matrix that does not
        // divide into them keeps its format.
        let fits =
            tensor.shape().dims().last().is_some_and(|d| d % GgmlDType::Q8_0.block_size() == 0);
        if slow(dtype) && fits {
            let values = tensor.dequantize(&device)?;
            tensors.push((name.as_str(), QTensor::quantize(&values, GgmlDType::Q8_0)?));
            requantized.push(format!("{dtype:?}"));
        } else {
            tensors.push((name.as_str(), tensor));
        }
    }
    let metadata: Vec<(&str, &gguf_file::Value)> =
        content.metadata.iter().map(|(key, value)| (key.as_str(), value)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut rewritten = Cursor::new(Vec::new());
    gguf_file::write(&mut rewritten, &metadata, &tensor_refs)?;
    rewritten.set_position(0);
    let content = gguf_file::Content::read(&mut rewritten).map_err(|e| bad_file(path, e))?;
    Ok((content, rewritten, requantized))
}

impl LocalLlm {
    /// Loads `dir/model.gguf` with the tokenizer in `dir/tokenizer.json`, or,
    /// when that file is missing, the one the GGUF metadata describes.
    pub fn load(dir: &Path, options: &LlmOptions) -> Result<LocalLlm> {
        let started = Instant::now();
        let path = dir.join("model.gguf");
        if !path.is_file() {
            return Err(TextError::MissingModel {
                path: dir.to_owned(),
                what: "model.gguf".into(),
            });
        }
        let (content, mut reader, requantized) = read_weights(&path, options)?;
        let tokenizer_path = dir.join("tokenizer.json");
        let (tokenizer, tokenizer_source) = if tokenizer_path.is_file() {
            let tokenizer = Tokenizer::from_file(&tokenizer_path)
                .map_err(|e| TextError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
            (tokenizer, "tokenizer.json".to_owned())
        } else {
            (tokenizer_from_gguf(&content, &path)?, "GGUF metadata".to_owned())
        };
        let string =
            |key: &str| content.metadata.get(key).and_then(|v| v.to_string().ok()).cloned();
        let id = |key: &str| content.metadata.get(key).and_then(|v| v.to_u32().ok());
        let chat = ChatMl::from_template(string("tokenizer.chat_template").as_deref(), &path)?;
        let mut stop_tokens: Vec<u32> = id("tokenizer.ggml.eos_token_id").into_iter().collect();
        for marker in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(token) = tokenizer.token_to_id(marker)
                && !stop_tokens.contains(&token)
            {
                stop_tokens.push(token);
            }
        }
        let mut digit_tokens: Vec<u32> = tokenizer
            .get_vocab(true)
            .into_iter()
            .filter(|(token, _)| token.chars().any(char::is_numeric))
            .map(|(_, id)| id)
            .collect();
        digit_tokens.sort_unstable();
        let bos = gguf_tokenizer::add_bos_token(&content)
            .then(|| id("tokenizer.ggml.bos_token_id"))
            .flatten();
        let architecture = string("general.architecture").unwrap_or_default();
        let context_length = id(&format!("{architecture}.context_length"))
            .map_or(MAX_SEQ_LEN, |n| n as usize)
            .min(MAX_SEQ_LEN);
        let weights = ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)
            .map_err(|e| bad_file(&path, e))?;
        let report = LoadReport {
            model: path,
            requantized_tensors: requantized.len(),
            requantized_from: {
                let mut formats = requantized;
                formats.sort();
                formats.dedup();
                formats
            },
            tokenizer: tokenizer_source,
            seconds: started.elapsed().as_secs_f64(),
        };
        let im_start = tokenizer.token_to_id("<|im_start|>");
        Ok(LocalLlm {
            weights,
            tokenizer,
            chat,
            bos,
            stop_tokens,
            digit_tokens,
            im_start,
            shared_parts: Vec::new(),
            context_length,
            report,
        })
    }

    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// The prompt text the model sees for `messages`.
    pub fn chat_prompt(&self, messages: &[ChatMessage]) -> String {
        self.chat.render(messages)
    }

    /// The token ids of `text` (special tokens such as `<|im_start|>` are
    /// single tokens).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding =
            self.tokenizer.encode(text, false).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of token ids, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, true).map_err(|e| TextError::Tokenizer(e.to_string()))
    }

    /// The assistant's answer to `messages`.
    pub fn chat(
        &mut self,
        messages: &[ChatMessage],
        sampling: &SamplingOptions,
    ) -> Result<Generation> {
        let prompt = self.chat_prompt(messages);
        self.complete(&prompt, sampling)
    }

    /// Continues `prompt` (already in the model's chat markup) until an end
    /// token or `max_new_tokens`.
    pub fn complete(&mut self, prompt: &str, sampling: &SamplingOptions) -> Result<Generation> {
        let mut tokens: Vec<u32> = self.bos.into_iter().collect();
        tokens.extend(self.token_ids(prompt)?);
        let prompt_tokens = tokens.len();
        if prompt_tokens == 0 || prompt_tokens + sampling.max_new_tokens > self.context_length {
            return Err(TextError::InvalidRequest(format!(
                "a prompt of {prompt_tokens} tokens plus {} new ones does not fit the context of {}",
                sampling.max_new_tokens, self.context_length
            )));
        }
        let method = if sampling.temperature <= 0.0 {
            Sampling::ArgMax
        } else {
            match sampling.top_p {
                Some(p) => Sampling::TopP { p, temperature: sampling.temperature },
                None => Sampling::All { temperature: sampling.temperature },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(sampling.seed, method);
        let started = Instant::now();
        let (mut weights, split) = self.state_after_shared_part(&tokens)?;
        let input = Tensor::new(&tokens[split..], &Device::Cpu)?.unsqueeze(0)?;
        let mut logits = weights.forward(&input, split)?.squeeze(0)?;
        let prefill_seconds = started.elapsed().as_secs_f64();
        let decode_started = Instant::now();
        let mut generated: Vec<u32> = Vec::new();
        let mut forward_passes = 0usize;
        let mut finished = false;
        while generated.len() < sampling.max_new_tokens {
            let recent = &tokens[tokens.len().saturating_sub(sampling.repeat_last_n)..];
            logits = self.adjust_logits(&logits, sampling, recent)?;
            let next = sampler.sample(&logits)?;
            if self.stop_tokens.contains(&next) {
                finished = true;
                break;
            }
            generated.push(next);
            tokens.push(next);
            if generated.len() == sampling.max_new_tokens {
                break;
            }
            let input = Tensor::new(&[next], &Device::Cpu)?.unsqueeze(0)?;
            logits = weights.forward(&input, tokens.len() - 1)?.squeeze(0)?;
            forward_passes += 1;
        }
        let decode_seconds = decode_started.elapsed().as_secs_f64();
        Ok(Generation {
            text: self.decode(&generated)?,
            finished,
            prompt_tokens,
            generated_tokens: generated.len(),
            prefill_seconds,
            decode_seconds,
            tokens_per_second: forward_passes as f64 / decode_seconds.max(1e-9),
        })
    }
}

/// How many shared prompt beginnings [`LocalLlm`] keeps (one per kind of
/// text, with room to spare).
const SHARED_PARTS_KEPT: usize = 4;

impl LocalLlm {
    /// The model with the prompt's shared part in its cache, and where that
    /// part ends. The shared part is everything before the last user turn:
    /// the system message and the worked example, the same for every text of
    /// a kind. It is read once and kept; later prompts that start with it
    /// read only their own turn.
    ///
    /// The prompt is always read in these two pieces, kept or not, so a text
    /// never depends on which texts were written before it.
    fn state_after_shared_part(&mut self, tokens: &[u32]) -> Result<(ModelWeights, usize)> {
        let starts: Vec<usize> = match self.im_start {
            Some(marker) => {
                tokens.iter().enumerate().filter(|(_, t)| **t == marker).map(|(i, _)| i).collect()
            }
            None => Vec::new(),
        };
        // The last `<|im_start|>` opens the assistant's turn, the one before
        // it the last user turn.
        let split = match starts.as_slice() {
            [.., user, _assistant] if *user > 0 => *user,
            _ => 0,
        };
        let mut weights = self.weights.clone();
        // Each chat starts from an empty cache: positions restart at 0.
        weights.clear_kv_cache();
        if split == 0 {
            return Ok((weights, 0));
        }
        let shared = &tokens[..split];
        if let Some((_, kept)) = self.shared_parts.iter().find(|(kept, _)| kept == shared) {
            return Ok((kept.clone(), split));
        }
        let input = Tensor::new(shared, &Device::Cpu)?.unsqueeze(0)?;
        weights.forward(&input, 0)?;
        if self.shared_parts.len() == SHARED_PARTS_KEPT {
            self.shared_parts.remove(0);
        }
        self.shared_parts.push((shared.to_vec(), weights.clone()));
        Ok((weights, split))
    }

    /// The repeat penalty over `recent` tokens (as llama.cpp applies it:
    /// positive logits divided, negative ones multiplied), and the digit mask.
    fn adjust_logits(
        &self,
        logits: &Tensor,
        sampling: &SamplingOptions,
        recent: &[u32],
    ) -> Result<Tensor> {
        if sampling.repeat_penalty == 1.0 && !sampling.forbid_digits {
            return Ok(logits.clone());
        }
        let mut values = logits.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
        if sampling.repeat_penalty != 1.0 {
            let mut seen = std::collections::BTreeSet::new();
            for &token in recent {
                if let Some(logit) = values.get_mut(token as usize)
                    && seen.insert(token)
                {
                    if *logit >= 0.0 {
                        *logit /= sampling.repeat_penalty;
                    } else {
                        *logit *= sampling.repeat_penalty;
                    }
                }
            }
        }
        if sampling.forbid_digits {
            for &token in &self.digit_tokens {
                if let Some(logit) = values.get_mut(token as usize) {
                    *logit = f32::NEG_INFINITY;
                }
            }
        }
        let count = values.len();
        Ok(Tensor::from_vec(values, count, logits.device())?)
    }
}

/// Builds the tokenizer a GGUF file describes (see [`gguf_tokenizer`]).
fn tokenizer_from_gguf(content: &gguf_file::Content, path: &Path) -> Result<Tokenizer> {
    let json = gguf_tokenizer::tokenizer_json(content).map_err(|reason| bad_file(path, reason))?;
    let bytes = serde_json::to_vec(&json).map_err(|e| TextError::Tokenizer(e.to_string()))?;
    Tokenizer::from_bytes(bytes)
        .map_err(|e| TextError::Tokenizer(format!("{}: {e}", path.display())))
}

/// Writes `tokenizer.json` and `tokenizer_config.json` for the GGUF at
/// `gguf` into `dir`, so the model directory is a standard one.
pub fn write_tokenizer_files(gguf: &Path, dir: &Path) -> Result<()> {
    let mut file = std::fs::File::open(gguf).map_err(io_error(gguf))?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| bad_file(gguf, e))?;
    let tokenizer = gguf_tokenizer::tokenizer_json(&content).map_err(|r| bad_file(gguf, r))?;
    let config = gguf_tokenizer::tokenizer_config_json(&content).map_err(|r| bad_file(gguf, r))?;
    for (name, value) in [("tokenizer.json", tokenizer), ("tokenizer_config.json", config)] {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&value)
            .map_err(|source| TextError::Json { path: path.clone(), source })?;
        std::fs::write(&path, text).map_err(io_error(&path))?;
    }
    Ok(())
}
