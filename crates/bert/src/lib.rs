//! The forward pass of a BERT-family encoder (BERT, MiniLM, e5), turning
//! token ids into mean-pooled, L2-normalised sentence embeddings on the CPU.
//!
//! Why not candle's `BertModel`, which the text crate used before: on the
//! project's machine it encoded the 2,000 English review sentences at about
//! half of sentence-transformers' rate (docs/benchmarks.md, `text-throughput`).
//! Every batch was padded to its longest text, each operation was a separate
//! pass through candle's thread pool, and the exact GELU called a scalar `erf`
//! for each of the 1,536 values per token and layer. Here:
//!
//! - the texts of a batch are concatenated without padding: every step but
//!   attention works row by row, so each linear layer is one matrix product
//!   over the batch's real tokens, and attention runs per text over its own
//!   tokens (no mask);
//! - weights are packed once, at load, into panels of 32 outputs, and the
//!   product keeps a 12 × 32 block of sums in AVX-512 registers where the
//!   CPU has AVX-512F (`std::arch` intrinsics) and a 6 × 16 block in AVX2
//!   registers elsewhere (pulp's vector types) — see `src/kernels.rs`;
//! - query, key and value are one fused product; GELU, `exp` and layer
//!   normalisation are vectorised.
//!
//! Invariant: the crate does no I/O; the caller reads the weights (any
//! container, any precision) and hands them over as f32.

mod error;
mod kernels;

use rayon::prelude::*;

pub use error::{BertError, Result};
use kernels::{Dense, Norm, ROW_ALIGN};

/// The feed-forward activation (`hidden_act` in a Hugging Face config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The exact GELU, `x Φ(x)` (`"gelu"`).
    Gelu,
    /// GELU's tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
    Relu,
}

/// The shape of an encoder (the fields of a Hugging Face `config.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    pub activation: Activation,
}

/// A tensor as read from a weights file: its shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: outputs `[q | k | v]`.
    query_key_value: Dense,
    attention_output: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// A loaded encoder.
pub struct Bert {
    config: BertConfig,
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    /// Token type 0's embedding: sentence encoders feed one segment.
    token_type_embedding: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

impl std::fmt::Debug for Bert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bert").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Hands out named tensors and checks their shapes.
struct Loader<'a> {
    weights: &'a mut dyn FnMut(&str) -> Option<Weight>,
}

impl Loader<'_> {
    fn take(&mut self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let weight = (self.weights)(name)
            .ok_or_else(|| BertError::MissingWeight { name: name.to_owned() })?;
        if weight.shape != expected || weight.values.len() != expected.iter().product::<usize>() {
            return Err(BertError::WeightShape {
                name: name.to_owned(),
                expected: expected.to_vec(),
                found: weight.shape,
            });
        }
        Ok(weight.values)
    }

    /// `prefix.weight` (`outputs × inputs`) and `prefix.bias`.
    fn linear(
        &mut self,
        prefix: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let weight = self.take(&format!("{prefix}.weight"), &[outputs, inputs])?;
        let bias = self.take(&format!("{prefix}.bias"), &[outputs])?;
        Ok((weight, bias))
    }

    fn dense(&mut self, prefix: &str, inputs: usize, outputs: usize) -> Result<Dense> {
        let (weight, bias) = self.linear(prefix, inputs, outputs)?;
        Ok(Dense::pack(&weight, bias, inputs, outputs))
    }

    /// `prefix.weight` and `prefix.bias`, or the older `gamma` and `beta`.
    fn norm(&mut self, prefix: &str, width: usize, eps: f32) -> Result<Norm> {
        let gamma = self.take(&format!("{prefix}.weight"), &[width]);
        let (gamma, beta) = match gamma {
            Ok(gamma) => (gamma, self.take(&format!("{prefix}.bias"), &[width])?),
            Err(BertError::MissingWeight { .. }) => (
                self.take(&format!("{prefix}.gamma"), &[width])?,
                self.take(&format!("{prefix}.beta"), &[width])?,
            ),
            Err(error) => return Err(error),
        };
        Ok(Norm { gamma, beta, eps })
    }
}

impl Bert {
    /// Builds the encoder from tensors named as in a Hugging Face `BertModel`
    /// without its root prefix (`embeddings.word_embeddings.weight`,
    /// `encoder.layer.0.attention.self.query.weight`, …); `weights` returns
    /// each by name, or `None` where the file lacks it.
    pub fn load(
        config: BertConfig,
        weights: &mut dyn FnMut(&str) -> Option<Weight>,
    ) -> Result<Bert> {
        let hidden = config.hidden_size;
        if hidden == 0
            || config.num_attention_heads == 0
            || !hidden.is_multiple_of(config.num_attention_heads)
        {
            return Err(BertError::Config(format!(
                "hidden_size {hidden} is not a positive multiple of num_attention_heads {}",
                config.num_attention_heads
            )));
        }
        if config.type_vocab_size == 0 || config.max_position_embeddings == 0 {
            return Err(BertError::Config("no token types or no positions".to_owned()));
        }
        let eps = config.layer_norm_eps;
        let mut loader = Loader { weights };
        let word_embeddings =
            loader.take("embeddings.word_embeddings.weight", &[config.vocab_size, hidden])?;
        let position_embeddings = loader.take(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, hidden],
        )?;
        let mut token_type_embedding = loader
            .take("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, hidden])?;
        token_type_embedding.truncate(hidden);
        let embedding_norm = loader.norm("embeddings.LayerNorm", hidden, eps)?;
        let intermediate = config.intermediate_size;
        let layers = (0..config.num_hidden_layers)
            .map(|index| {
                let prefix = format!("encoder.layer.{index}");
                let mut fused_weight = Vec::with_capacity(3 * hidden * hidden);
                let mut fused_bias = Vec::with_capacity(3 * hidden);
                for part in ["query", "key", "value"] {
                    let (weight, bias) = loader.linear(
                        &format!("{prefix}.attention.self.{part}"),
                        hidden,
                        hidden,
                    )?;
                    fused_weight.extend(weight);
                    fused_bias.extend(bias);
                }
                Ok(Layer {
                    query_key_value: Dense::pack(&fused_weight, fused_bias, hidden, 3 * hidden),
                    attention_output: loader.dense(
                        &format!("{prefix}.attention.output.dense"),
                        hidden,
                        hidden,
                    )?,
                    attention_norm: loader.norm(
                        &format!("{prefix}.attention.output.LayerNorm"),
                        hidden,
                        eps,
                    )?,
                    intermediate: loader.dense(
                        &format!("{prefix}.intermediate.dense"),
                        hidden,
                        intermediate,
                    )?,
                    output: loader.dense(
                        &format!("{prefix}.output.dense"),
                        intermediate,
                        hidden,
                    )?,
                    output_norm: loader.norm(&format!("{prefix}.output.LayerNorm"), hidden, eps)?,
                })
            })
            .collect::<Result<Vec<Layer>>>()?;
        Ok(Bert {
            config,
            word_embeddings,
            position_embeddings,
            token_type_embedding,
            embedding_norm,
            layers,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The last layer's hidden state of every token: one row of
    /// `hidden_size` values per token, the texts' tokens one after another.
    /// Each text is encoded as if alone (no padding, no cross-text attention).
    pub fn hidden_states(&self, texts: &[&[u32]]) -> Result<Vec<f32>> {
        let hidden = self.config.hidden_size;
        for (index, text) in texts.iter().enumerate() {
            self.check_text(index, text)?;
        }
        let tokens: usize = texts.iter().map(|text| text.len()).sum();
        let rows = tokens.next_multiple_of(ROW_ALIGN);
        let mut states = vec![0.0f32; rows * hidden];
        for (row, (position, &id)) in states
            .chunks_exact_mut(hidden)
            .zip(texts.iter().flat_map(|text| text.iter().enumerate()))
        {
            let word = &self.word_embeddings[id as usize * hidden..(id as usize + 1) * hidden];
            let place = &self.position_embeddings[position * hidden..(position + 1) * hidden];
            for (((value, word), place), kind) in
                row.iter_mut().zip(word).zip(place).zip(&self.token_type_embedding)
            {
                *value = word + place + kind;
            }
        }
        kernels::add_and_normalise(&mut states, &[], &self.embedding_norm);

        let mut query_key_value = vec![0.0f32; rows * 3 * hidden];
        let mut context = vec![0.0f32; rows * hidden];
        let mut projected = vec![0.0f32; rows * hidden];
        let mut intermediate = vec![0.0f32; rows * self.config.intermediate_size];
        for layer in &self.layers {
            kernels::dense(&states, &layer.query_key_value, &mut query_key_value);
            self.attention(texts, &query_key_value, &mut context);
            kernels::dense(&context, &layer.attention_output, &mut projected);
            kernels::add_and_normalise(&mut states, &projected, &layer.attention_norm);
            kernels::dense(&states, &layer.intermediate, &mut intermediate);
            kernels::activate(&mut intermediate, self.config.activation);
            kernels::dense(&intermediate, &layer.output, &mut projected);
            kernels::add_and_normalise(&mut states, &projected, &layer.output_norm);
        }
        states.truncate(tokens * hidden);
        Ok(states)
    }

    /// Mean-pooled, L2-normalised embedding of each text (token ids with the
    /// special tokens in place).
    pub fn embed(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let hidden = self.config.hidden_size;
        let states = self.hidden_states(texts)?;
        let mut start = 0;
        let mut embeddings = Vec::with_capacity(texts.len());
        for text in texts {
            let mut mean = vec![0.0f32; hidden];
            for row in states[start * hidden..(start + text.len()) * hidden].chunks_exact(hidden) {
                for (sum, value) in mean.iter_mut().zip(row) {
                    *sum += value;
                }
            }
            start += text.len();
            let count = text.len() as f32;
            mean.iter_mut().for_each(|value| *value /= count);
            let norm = mean.iter().map(|value| value * value).sum::<f32>().sqrt().max(1e-12);
            mean.iter_mut().for_each(|value| *value /= norm);
            embeddings.push(mean);
        }
        Ok(embeddings)
    }

    fn check_text(&self, index: usize, text: &[u32]) -> Result<()> {
        let bad = |reason: String| Err(BertError::BadText { index, reason });
        if text.is_empty() {
            return bad("no tokens".to_owned());
        }
        if text.len() > self.config.max_position_embeddings {
            return bad(format!(
                "{} tokens, more than the model's {} positions",
                text.len(),
                self.config.max_position_embeddings
            ));
        }
        if let Some(&id) = text.iter().find(|&&id| id as usize >= self.config.vocab_size) {
            return bad(format!(
                "token id {id} outside the vocabulary of {}",
                self.config.vocab_size
            ));
        }
        Ok(())
    }

    /// Every text's self-attention, texts in parallel.
    fn attention(&self, texts: &[&[u32]], query_key_value: &[f32], context: &mut [f32]) {
        let hidden = self.config.hidden_size;
        let mut jobs = Vec::with_capacity(texts.len());
        let (mut rest, mut start) = (&mut context[..], 0);
        for text in texts {
            let (own, next) = rest.split_at_mut(text.len() * hidden);
            let end = start + text.len();
            jobs.push((&query_key_value[start * 3 * hidden..end * 3 * hidden], own));
            (rest, start) = (next, end);
        }
        jobs.into_par_iter().for_each(|(query_key_value, context)| {
            kernels::attend(query_key_value, context, hidden, self.config.num_attention_heads)
        });
    }
}
