//! A Hugging Face `tokenizer.json` from a GGUF file's metadata.
//!
//! A GGUF file carries its tokenizer: the byte-level BPE vocabulary
//! (`tokenizer.ggml.tokens`), the merges, the token types and the name of
//! the pre-tokenizer (`tokenizer.ggml.pre`). We rebuild the same tokenizer
//! in the `tokenizers` format, so a model directory holds a standard
//! `tokenizer.json` beside `model.gguf`.

use std::collections::BTreeMap;

use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::{Value as Json, json};

/// GGUF token type of control tokens (`<|im_start|>`), which become special
/// added tokens so that the chat markup is never split into pieces.
const CONTROL: i32 = 3;
/// GGUF token type of user-defined tokens: added, but not special.
const USER_DEFINED: i32 = 4;

fn metadata<'a>(content: &'a Content, key: &str) -> Result<&'a Value, String> {
    content.metadata.get(key).ok_or_else(|| format!("the metadata has no {key}"))
}

fn strings(content: &Content, key: &str) -> Result<Vec<String>, String> {
    metadata(content, key)?
        .to_vec()
        .map_err(|e| format!("{key}: {e}"))?
        .iter()
        .map(|value| value.to_string().cloned().map_err(|e| format!("{key}: {e}")))
        .collect()
}

/// The pre-tokenizer llama.cpp applies for `tokenizer.ggml.pre`.
fn pre_tokenizer(name: &str) -> Result<Json, String> {
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    match name {
        // llama.cpp's "smollm": every digit alone, then GPT-2's split.
        "smollm" => Ok(json!({
            "type": "Sequence",
            "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]
        })),
        "gpt2" | "default" => Ok(byte_level),
        other => Err(format!("tokenizer.ggml.pre {other:?} is not supported (smollm, gpt2)")),
    }
}

/// The `tokenizer.json` of a GGUF file whose tokenizer is byte-level BPE
/// (`tokenizer.ggml.model` = `gpt2`).
pub fn tokenizer_json(content: &Content) -> Result<Json, String> {
    let model =
        metadata(content, "tokenizer.ggml.model")?.to_string().map_err(|e| e.to_string())?;
    if model != "gpt2" {
        return Err(format!("tokenizer.ggml.model {model:?} is not byte-level BPE (gpt2)"));
    }
    let pre = match content.metadata.get("tokenizer.ggml.pre") {
        Some(value) => value.to_string().map_err(|e| e.to_string())?.clone(),
        None => "default".to_owned(),
    };
    let tokens = strings(content, "tokenizer.ggml.tokens")?;
    let merges = strings(content, "tokenizer.ggml.merges")?;
    let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|v| v.to_i32().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?,
        None => vec![1; tokens.len()],
    };
    if types.len() != tokens.len() {
        return Err(format!("{} tokens but {} token types", tokens.len(), types.len()));
    }
    let vocab: BTreeMap<&str, usize> =
        tokens.iter().enumerate().map(|(id, token)| (token.as_str(), id)).collect();
    if vocab.len() != tokens.len() {
        return Err("the vocabulary has duplicate tokens".to_owned());
    }
    let added: Vec<Json> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, kind))| matches!(**kind, CONTROL | USER_DEFINED))
        .map(|(id, (token, kind))| {
            json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": *kind == CONTROL
            })
        })
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer(&pre)?,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges
        }
    }))
}

/// `tokenizer_config.json` in the Hugging Face layout: the chat template and
/// the special tokens, so other tools read the directory as it is.
pub fn tokenizer_config_json(content: &Content) -> Result<Json, String> {
    let tokens = strings(content, "tokenizer.ggml.tokens")?;
    let token = |key: &str| -> Option<String> {
        let id = content.metadata.get(key)?.to_u32().ok()? as usize;
        tokens.get(id).cloned()
    };
    let template = content
        .metadata
        .get("tokenizer.chat_template")
        .and_then(|value| value.to_string().ok())
        .cloned();
    Ok(json!({
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
        "unk_token": token("tokenizer.ggml.unknown_token_id"),
        "pad_token": token("tokenizer.ggml.padding_token_id"),
        "add_bos_token": add_bos_token(content),
        "chat_template": template,
        "tokenizer_class": "GPT2Tokenizer",
    }))
}

/// Whether the model expects its BOS token before every prompt.
pub fn add_bos_token(content: &Content) -> bool {
    content
        .metadata
        .get("tokenizer.ggml.add_bos_token")
        .and_then(|value| value.to_bool().ok())
        .unwrap_or(false)
}
