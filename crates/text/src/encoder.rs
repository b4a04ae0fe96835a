//! Sentence embeddings with a BERT-family encoder (the `bert` crate's
//! forward pass over weights read with candle's safetensors loader).
//!
//! Texts are tokenized in parallel, sorted by length and cut into batches;
//! a batch's texts are encoded without padding, each over its own tokens.
//! The token vectors are mean-pooled and L2-normalised. An optional cache
//! keyed by a hash of the text makes re-runs over the same reviews nearly
//! free.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bert::{Activation, Bert, BertConfig, Weight};
use candle_core::{DType, Device};
use rayon::prelude::*;
use tokenizers::Tokenizer;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Result, TextError, io_error};

/// How texts are turned into embeddings.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Longest input in tokens, special tokens included; longer texts are
    /// truncated (their head is kept).
    pub max_tokens: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Text put before every input (e5 models want `query: `). `None` takes
    /// it from the model directory's `smartfunnel.json`, else no prefix.
    pub prefix: Option<String>,
    /// Directory for the embedding cache; `None` disables caching.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions { max_tokens: 128, batch_size: 16, prefix: None, cache_dir: None }
    }
}

/// Row-major embeddings, one row of `dim` values per input text.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub values: Vec<f32>,
}

impl Embeddings {
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn row(&self, index: usize) -> &[f32] {
        &self.values[index * self.dim..(index + 1) * self.dim]
    }
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.values.chunks_exact(self.dim.max(1))
    }
}

/// Texts embedded between two appends to the cache file.
const CACHE_FLUSH_TEXTS: usize = 512;

/// Settings a model directory may carry for smartfunnel (`smartfunnel.json`).
#[derive(Debug, Default, serde::Deserialize)]
struct ModelSettings {
    #[serde(default)]
    prefix: String,
}

/// The fields of a Hugging Face BERT `config.json` the encoder uses.
#[derive(Debug, serde::Deserialize)]
struct ModelConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    hidden_act: String,
    max_position_embeddings: usize,
    #[serde(default = "one_token_type")]
    type_vocab_size: usize,
    #[serde(default = "bert_layer_norm_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    position_embedding_type: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
}

fn one_token_type() -> usize {
    1
}

fn bert_layer_norm_eps() -> f64 {
    1e-12
}

impl ModelConfig {
    fn to_bert(&self, path: &Path) -> Result<BertConfig> {
        let bad = |reason: String| TextError::BadModelFile { path: path.to_owned(), reason };
        let activation = match self.hidden_act.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(bad(format!(
                    "hidden_act {other:?} is not supported (gelu, gelu_new, relu)"
                )));
            }
        };
        if let Some(kind) =
            self.position_embedding_type.as_deref().filter(|kind| *kind != "absolute")
        {
            return Err(bad(format!(
                "position_embedding_type {kind:?} is not supported (absolute)"
            )));
        }
        Ok(BertConfig {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            intermediate_size: self.intermediate_size,
            max_position_embeddings: self.max_position_embeddings,
            type_vocab_size: self.type_vocab_size,
            layer_norm_eps: self.layer_norm_eps as f32,
            activation,
        })
    }
}

/// Reads the encoder's tensors out of `model.safetensors`; the names may sit
/// under a `bert.` (or `{model_type}.`) root, as in checkpoints saved with a
/// task head.
fn load_bert(
    weights_path: &Path,
    bytes: &[u8],
    config: &ModelConfig,
    bert_config: BertConfig,
) -> Result<Bert> {
    let mut tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
    let mut roots = vec![String::new(), "bert.".to_owned()];
    roots.extend(config.model_type.as_ref().map(|kind| format!("{kind}.")));
    let root = roots
        .into_iter()
        .find(|root| tensors.contains_key(&format!("{root}embeddings.word_embeddings.weight")))
        .unwrap_or_default();
    let mut failure = None;
    let model = Bert::load(bert_config, &mut |name| {
        let tensor = tensors.remove(&format!("{root}{name}"))?;
        let shape = tensor.dims().to_vec();
        match tensor.to_dtype(DType::F32).and_then(|tensor| tensor.flatten_all()?.to_vec1::<f32>())
        {
            Ok(values) => Some(Weight { shape, values }),
            Err(error) => {
                failure.get_or_insert(error);
                None
            }
        }
    });
    if let Some(error) = failure {
        return Err(error.into());
    }
    model.map_err(|error| TextError::BadModelFile {
        path: weights_path.to_owned(),
        reason: error.to_string(),
    })
}

pub struct Encoder {
    model: Bert,
    tokenizer: Tokenizer,
    prefix: String,
    options: EncoderOptions,
    cache: Option<EmbeddingCache>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("prefix", &self.prefix).field("dim", &self.dim()).finish()
    }
}

fn required_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(TextError::MissingModel { path: dir.to_owned(), what: name.to_owned() })
    }
}

impl Encoder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path, options: EncoderOptions) -> Result<Encoder> {
        let config_path = required_file(dir, "config.json")?;
        let tokenizer_path = required_file(dir, "tokenizer.json")?;
        let weights_path = required_file(dir, "model.safetensors")?;
        let config_text = fs::read_to_string(&config_path).map_err(io_error(&config_path))?;
        let config: ModelConfig = serde_json::from_str(&config_text)
            .map_err(|source| TextError::Json { path: config_path.clone(), source })?;
        let bert_config = config.to_bert(&config_path)?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|error| {
            TextError::Tokenizer(format!("{}: {error}", tokenizer_path.display()))
        })?;
        // Texts are never padded (each is encoded over its own tokens); a
        // tokenizer.json that pads every text to a fixed length (all-MiniLM-L6-v2's
        // pads to 128) would make pads look like words. Truncation is ours too
        // (`max_tokens`, keeping the closing token).
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|error| {
            TextError::Tokenizer(format!("{}: {error}", tokenizer_path.display()))
        })?;
        let weights = fs::read(&weights_path).map_err(io_error(&weights_path))?;
        let fingerprint = xxh3_64(&weights) ^ xxh3_64(config_text.as_bytes());
        let model = load_bert(&weights_path, &weights, &config, bert_config)?;
        drop(weights);

        let prefix = match &options.prefix {
            Some(prefix) => prefix.clone(),
            None => read_settings(dir)?.prefix,
        };
        let cache = match &options.cache_dir {
            Some(cache_dir) => {
                // "p": files written since pads are masked whatever tokenizer.json says;
                // older files may hold vectors that averaged fixed padding in.
                let name = format!("{fingerprint:016x}-{}p.embcache", options.max_tokens);
                Some(EmbeddingCache::open(cache_dir.join(name), config.hidden_size)?)
            }
            None => None,
        };
        Ok(Encoder { model, tokenizer, prefix, options, cache })
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.model.config().hidden_size
    }

    /// The prefix put before every text.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Token ids the model sees for `text`: prefix added, special tokens
    /// added, truncated to `max_tokens` (the final special token is kept).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let input = format!("{}{}", self.prefix, text);
        let encoding =
            self.tokenizer.encode(input, true).map_err(|e| TextError::Tokenizer(e.to_string()))?;
        let mut ids = encoding.get_ids().to_vec();
        let max = self.options.max_tokens.max(2);
        if ids.len() > max {
            let last = ids[ids.len() - 1];
            ids.truncate(max - 1);
            ids.push(last);
        }
        Ok(ids)
    }

    /// The cache key of a text: the prefix is part of it, the model and the
    /// truncation length are part of the cache file's name.
    fn cache_key(&self, text: &str) -> u64 {
        xxh3_64(format!("{}\u{0}{text}", self.prefix).as_bytes())
    }

    /// Embeds `texts` (in order); see [`Encoder::embed_with_progress`].
    pub fn embed(&mut self, texts: &[&str]) -> Result<Embeddings> {
        self.embed_with_progress(texts, &mut |_, _| {})
    }

    /// Embeds `texts` in order. `progress(done, total)` hears about the
    /// texts that needed the model (cached ones are not counted).
    pub fn embed_with_progress(
        &mut self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Embeddings> {
        let keys: Vec<u64> = texts.iter().map(|text| self.cache_key(text)).collect();
        // Each distinct uncached text is encoded once.
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            let cached = self.cache.as_ref().is_some_and(|cache| cache.contains(*key));
            if !cached && seen.insert(*key, index).is_none() {
                missing.push(index);
            }
        }
        let tokenized: Vec<Vec<u32>> =
            missing.par_iter().map(|&index| self.token_ids(texts[index])).collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..missing.len()).collect();
        order.sort_by_key(|&i| tokenized[i].len());

        let mut fresh: HashMap<u64, Vec<f32>> = HashMap::with_capacity(missing.len());
        let mut unsaved: Vec<u64> = Vec::new();
        let mut done = 0;
        for batch in order.chunks(self.options.batch_size.max(1)) {
            let ids: Vec<&[u32]> = batch.iter().map(|&i| tokenized[i].as_slice()).collect();
            let vectors = self.model.embed(&ids)?;
            for (&i, vector) in batch.iter().zip(vectors) {
                let key = keys[missing[i]];
                fresh.insert(key, vector);
                unsaved.push(key);
            }
            done += batch.len();
            // Save as we go, so an interrupted long run keeps what it did.
            if unsaved.len() >= CACHE_FLUSH_TEXTS {
                self.save_to_cache(&fresh, &mut unsaved)?;
            }
            progress(done, missing.len());
        }
        self.save_to_cache(&fresh, &mut unsaved)?;
        let mut values = Vec::with_capacity(texts.len() * self.dim());
        for key in &keys {
            let vector = match fresh.get(key) {
                Some(vector) => vector.as_slice(),
                None => self.cache.as_ref().and_then(|cache| cache.get(*key)).ok_or_else(|| {
                    TextError::InvalidRequest("embedding cache lost an entry".to_owned())
                })?,
            };
            values.extend_from_slice(vector);
        }
        Ok(Embeddings { dim: self.dim(), values })
    }

    fn save_to_cache(
        &mut self,
        fresh: &HashMap<u64, Vec<f32>>,
        unsaved: &mut Vec<u64>,
    ) -> Result<()> {
        if let Some(cache) = &mut self.cache {
            cache.append(unsaved.iter().map(|key| (*key, &fresh[key])))?;
        }
        unsaved.clear();
        Ok(())
    }
}

fn read_settings(dir: &Path) -> Result<ModelSettings> {
    let path = dir.join("smartfunnel.json");
    if !path.is_file() {
        return Ok(ModelSettings::default());
    }
    let text = fs::read_to_string(&path).map_err(io_error(&path))?;
    serde_json::from_str(&text).map_err(|source| TextError::Json { path, source })
}

/// Append-only file of `(xxh3 of the text, dim × f32)` records, little-endian.
/// Its name carries the model's fingerprint and the truncation length, so a
/// different model or setting never reads another's vectors.
struct EmbeddingCache {
    path: PathBuf,
    dim: usize,
    vectors: HashMap<u64, Vec<f32>>,
}

impl EmbeddingCache {
    fn open(path: PathBuf, dim: usize) -> Result<EmbeddingCache> {
        let mut vectors = HashMap::new();
        if path.is_file() {
            let bytes = fs::read(&path).map_err(io_error(&path))?;
            let record = 8 + dim * 4;
            // A torn last record (an interrupted run) is ignored.
            for chunk in bytes.chunks_exact(record) {
                let key = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
                let vector = chunk[8..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                vectors.insert(key, vector);
            }
        }
        Ok(EmbeddingCache { path, dim, vectors })
    }

    fn contains(&self, key: u64) -> bool {
        self.vectors.contains_key(&key)
    }

    fn get(&self, key: u64) -> Option<&[f32]> {
        self.vectors.get(&key).map(Vec::as_slice)
    }

    /// Appends records in one write, so that two processes sharing the
    /// cache do not interleave parts of records.
    fn append<'a>(&mut self, fresh: impl Iterator<Item = (u64, &'a Vec<f32>)>) -> Result<()> {
        let mut bytes = Vec::new();
        for (key, vector) in fresh {
            debug_assert_eq!(vector.len(), self.dim);
            bytes.extend_from_slice(&key.to_le_bytes());
            for value in vector {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
            self.vectors.insert(key, vector.clone());
        }
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(parent) = self.path.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_error(&self.path))?;
        file.write_all(&bytes).map_err(io_error(&self.path))
    }
}
