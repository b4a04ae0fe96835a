//! A recurrent model over each user's recent events that predicts a binary
//! outcome: will this user buy in the next 30 days, will they churn.
//!
//! Tabular models see counts and rates; this one sees the order of events
//! and the gaps between them ("viewed, searched, carted twice in the last
//! hour"). Each step of a journey is a token (the caller decides what a
//! token is, e.g. `add_to_cart|electronics`) and the time since the step
//! before it. A token embedding plus a gap-bucket embedding feed a GRU;
//! its last state goes through a linear layer to one logit.
//!
//! Invariants:
//! - Journeys are right-padded and masked, so a user's last real step, not
//!   padding, decides the final state: scores do not depend on batch
//!   composition or on the longest journey in a batch.
//! - Only the most recent `max_len` steps are kept (the tail matters most).
//! - Everything is seeded: same data, same config, same scores.
//! - The loss is the numerically stable binary cross-entropy on logits
//!   (`max(x,0) - x·y + ln(1+e^-|x|)`), which stays finite when
//!   predictions saturate (candle's `binary_cross_entropy_with_logit` does not).

mod vocabulary;

use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::rnn::{GRU, GRUConfig, RNN};
use candle_nn::{AdamW, Embedding, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

pub use vocabulary::{PADDING, UNKNOWN, Vocabulary};

/// Everything that can go wrong training, scoring, saving or loading.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("{0}")]
    InvalidInput(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Number of time-gap buckets: bucket b holds gaps in [2^(b-1), 2^b) minutes,
/// bucket 0 the first step and gaps under a minute, the last everything longer.
pub const GAP_BUCKETS: usize = 20;

/// One event of a journey: its token id (from a [`Vocabulary`]) and the
/// seconds since the previous event (`None` for the first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub token: u32,
    pub seconds_since_previous: Option<f64>,
}

/// The gap bucket of a step: logarithmic in minutes, so "seconds apart"
/// (same visit), "hours apart" and "weeks apart" are different inputs.
pub fn gap_bucket(seconds_since_previous: Option<f64>) -> u32 {
    match seconds_since_previous {
        None => 0,
        Some(seconds) => {
            let minutes = (seconds / 60.0).max(0.0);
            if minutes < 1.0 {
                1
            } else {
                (2 + minutes.log2().floor() as usize).min(GAP_BUCKETS - 1) as u32
            }
        }
    }
}

/// Size and training settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SequenceConfig {
    /// Most recent steps kept per journey.
    pub max_len: usize,
    pub token_dim: usize,
    pub hidden_dim: usize,
    /// Passes over the training journeys, raised when needed to reach `min_updates`.
    pub epochs: usize,
    /// Optimiser steps at least: a small data set gets more passes, so that
    /// a few hundred users still train (8 passes of 3 batches would not).
    pub min_updates: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Share of the training journeys held back to pick the best epoch.
    pub validation_share: f64,
    pub seed: u64,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        Self {
            max_len: 50,
            token_dim: 16,
            hidden_dim: 32,
            epochs: 8,
            min_updates: 400,
            batch_size: 64,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            validation_share: 0.1,
            seed: 42,
        }
    }
}

/// Validation log loss after each epoch, and the epoch whose weights were kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainingHistory {
    pub validation_log_loss: Vec<f64>,
    pub best_epoch: usize,
}

/// The layers; built from a [`VarBuilder`] so training and loading share them.
struct Network {
    tokens: Embedding,
    gaps: Embedding,
    gru: GRU,
    output: Linear,
}

impl Network {
    fn new(vocabulary_size: usize, config: &SequenceConfig, vb: VarBuilder) -> Result<Self> {
        let tokens = candle_nn::embedding(vocabulary_size, config.token_dim, vb.pp("tokens"))?;
        let gaps = candle_nn::embedding(GAP_BUCKETS, config.token_dim, vb.pp("gaps"))?;
        let gru = candle_nn::rnn::gru(
            config.token_dim,
            config.hidden_dim,
            GRUConfig::default(),
            vb.pp("gru"),
        )?;
        let output = candle_nn::linear(config.hidden_dim, 1, vb.pp("output"))?;
        Ok(Self { tokens, gaps, gru, output })
    }

    /// Logits `[batch]` for a padded batch.
    fn forward(&self, batch: &Batch) -> Result<Tensor> {
        let inputs = (self.tokens.forward(&batch.tokens)? + self.gaps.forward(&batch.gaps)?)?;
        let (batch_size, steps, _) = inputs.dims3()?;
        let mut state = self.gru.zero_state(batch_size)?;
        for step in 0..steps {
            let input = inputs.narrow(1, step, 1)?.squeeze(1)?;
            let next = self.gru.step(&input, &state)?;
            // Past a journey's end the state is carried unchanged.
            let keep = batch.mask.narrow(1, step, 1)?;
            let h = (keep.broadcast_mul(&(&next.h - &state.h)?)? + &state.h)?;
            state = candle_nn::rnn::GRUState { h };
        }
        Ok(self.output.forward(&state.h)?.squeeze(D::Minus1)?)
    }
}

/// A padded batch: token and gap ids `[batch, steps]`, mask `[batch, steps]` (1 = real step).
struct Batch {
    tokens: Tensor,
    gaps: Tensor,
    mask: Tensor,
}

impl Batch {
    fn new(journeys: &[&[Step]], max_len: usize, device: &Device) -> Result<Self> {
        let steps = journeys.iter().map(|j| j.len().min(max_len)).max().unwrap_or(0).max(1);
        let mut tokens = vec![PADDING; journeys.len() * steps];
        let mut gaps = vec![0u32; journeys.len() * steps];
        let mut mask = vec![0f32; journeys.len() * steps];
        for (row, journey) in journeys.iter().enumerate() {
            let tail = &journey[journey.len().saturating_sub(max_len)..];
            for (column, step) in tail.iter().enumerate() {
                let at = row * steps + column;
                tokens[at] = step.token;
                // The first kept step has no "previous" in the model's view.
                gaps[at] = if column == 0 { 0 } else { gap_bucket(step.seconds_since_previous) };
                mask[at] = 1.0;
            }
        }
        let shape = (journeys.len(), steps);
        Ok(Self {
            tokens: Tensor::from_vec(tokens, shape, device)?,
            gaps: Tensor::from_vec(gaps, shape, device)?,
            mask: Tensor::from_vec(mask, shape, device)?,
        })
    }
}

/// Mean binary cross-entropy on logits, in the form that cannot overflow.
fn stable_log_loss(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let softplus_of_negative_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let loss = ((logits.relu()? - (logits * labels)?)? + softplus_of_negative_abs)?;
    Ok(loss.mean_all()?)
}

/// A trained model with its vocabulary and settings.
pub struct SequenceModel {
    config: SequenceConfig,
    vocabulary: Vocabulary,
    network: Network,
    weights: VarMap,
    history: TrainingHistory,
}

impl std::fmt::Debug for SequenceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequenceModel")
            .field("config", &self.config)
            .field("vocabulary", &self.vocabulary.len())
            .field("history", &self.history)
            .finish()
    }
}

const WEIGHTS_FILE: &str = "sequence.safetensors";
const SETTINGS_FILE: &str = "sequence.json";

#[derive(Serialize, Deserialize)]
struct Settings {
    config: SequenceConfig,
    vocabulary: Vocabulary,
    history: TrainingHistory,
}

impl SequenceModel {
    /// Trains on journeys with 0/1 labels; keeps the epoch with the lowest
    /// validation log loss.
    pub fn train(
        journeys: &[Vec<Step>],
        labels: &[bool],
        vocabulary: Vocabulary,
        config: &SequenceConfig,
    ) -> Result<Self> {
        if journeys.len() != labels.len() {
            return Err(Error::InvalidInput(format!(
                "{} journeys but {} labels",
                journeys.len(),
                labels.len()
            )));
        }
        if journeys.len() < 4 {
            return Err(Error::InvalidInput("need at least 4 journeys to train".into()));
        }
        if let Some(step) = journeys.iter().flatten().find(|s| s.token as usize >= vocabulary.len())
        {
            return Err(Error::InvalidInput(format!(
                "token {} is outside the vocabulary of {}",
                step.token,
                vocabulary.len()
            )));
        }
        let device = Device::Cpu;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let weights = VarMap::new();
        let vb = VarBuilder::from_varmap(&weights, DType::F32, &device);
        let network = Network::new(vocabulary.len(), config, vb)?;
        seed_weights(&weights, &mut rng)?;

        let mut order: Vec<usize> = (0..journeys.len()).collect();
        order.shuffle(&mut rng);
        let validation_len = ((journeys.len() as f64 * config.validation_share).round() as usize)
            .clamp(1, journeys.len() - 1);
        let (validation, training) = order.split_at(validation_len);
        let mut training = training.to_vec();

        let mut optimizer = AdamW::new(
            weights.all_vars(),
            ParamsAdamW {
                lr: config.learning_rate,
                weight_decay: config.weight_decay,
                ..Default::default()
            },
        )?;
        let mut model = Self {
            config: config.clone(),
            vocabulary,
            network,
            weights,
            history: TrainingHistory { validation_log_loss: Vec::new(), best_epoch: 0 },
        };
        let mut best: Option<(f64, Vec<(String, Tensor)>)> = None;
        let batches_per_epoch = training.len().div_ceil(config.batch_size.max(1));
        let epochs = config.epochs.max(config.min_updates.div_ceil(batches_per_epoch));
        for epoch in 0..epochs {
            training.shuffle(&mut rng);
            for chunk in training.chunks(config.batch_size.max(1)) {
                let batch_journeys: Vec<&[Step]> =
                    chunk.iter().map(|&i| journeys[i].as_slice()).collect();
                let batch = Batch::new(&batch_journeys, config.max_len, &device)?;
                let targets = label_tensor(chunk.iter().map(|&i| labels[i]), &device)?;
                let loss = stable_log_loss(&model.network.forward(&batch)?, &targets)?;
                optimizer.backward_step(&loss)?;
            }
            let validation_journeys: Vec<&[Step]> =
                validation.iter().map(|&i| journeys[i].as_slice()).collect();
            let scores = model.score_refs(&validation_journeys)?;
            let loss = log_loss(&scores, validation.iter().map(|&i| labels[i]));
            model.history.validation_log_loss.push(loss);
            if best.as_ref().is_none_or(|(best_loss, _)| loss < *best_loss) {
                model.history.best_epoch = epoch;
                best = Some((loss, snapshot(&model.weights)?));
            }
        }
        if let Some((_, kept)) = best {
            restore(&model.weights, &kept)?;
        }
        Ok(model)
    }

    /// Probability of the positive outcome for each journey, in input order.
    pub fn predict(&self, journeys: &[Vec<Step>]) -> Result<Vec<f64>> {
        let refs: Vec<&[Step]> = journeys.iter().map(Vec::as_slice).collect();
        self.score_refs(&refs)
    }

    fn score_refs(&self, journeys: &[&[Step]]) -> Result<Vec<f64>> {
        let device = Device::Cpu;
        let mut scores = Vec::with_capacity(journeys.len());
        for chunk in journeys.chunks(self.config.batch_size.max(1) * 4) {
            let batch = Batch::new(chunk, self.config.max_len, &device)?;
            let logits = self.network.forward(&batch)?;
            let probabilities = candle_nn::ops::sigmoid(&logits)?.to_vec1::<f32>()?;
            scores.extend(probabilities.into_iter().map(f64::from));
        }
        Ok(scores)
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    pub fn config(&self) -> &SequenceConfig {
        &self.config
    }

    pub fn history(&self) -> &TrainingHistory {
        &self.history
    }

    /// Writes `sequence.safetensors` and `sequence.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        self.weights.save(dir.join(WEIGHTS_FILE))?;
        let settings = Settings {
            config: self.config.clone(),
            vocabulary: self.vocabulary.clone(),
            history: self.history.clone(),
        };
        let path = dir.join(SETTINGS_FILE);
        let text = serde_json::to_string_pretty(&settings)
            .map_err(|source| Error::Json { path: path.display().to_string(), source })?;
        std::fs::write(&path, text).map_err(|source| io_error(&path, source))
    }

    /// Loads what [`SequenceModel::save`] wrote.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(SETTINGS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| io_error(&path, source))?;
        let settings: Settings = serde_json::from_str(&text)
            .map_err(|source| Error::Json { path: path.display().to_string(), source })?;
        let mut weights = VarMap::new();
        let vb = VarBuilder::from_varmap(&weights, DType::F32, &Device::Cpu);
        let network = Network::new(settings.vocabulary.len(), &settings.config, vb)?;
        weights.load(dir.join(WEIGHTS_FILE))?;
        Ok(Self {
            config: settings.config,
            vocabulary: settings.vocabulary,
            network,
            weights,
            history: settings.history,
        })
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), source }
}

fn label_tensor(labels: impl Iterator<Item = bool>, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> = labels.map(|l| if l { 1.0 } else { 0.0 }).collect();
    let len = values.len();
    Ok(Tensor::from_vec(values, len, device)?)
}

/// Mean log loss of probabilities, clipped away from 0 and 1.
fn log_loss(scores: &[f64], labels: impl Iterator<Item = bool>) -> f64 {
    let (sum, n) = scores.iter().zip(labels).fold((0.0, 0usize), |(sum, n), (&p, y)| {
        let p = p.clamp(1e-7, 1.0 - 1e-7);
        (sum - if y { p.ln() } else { (1.0 - p).ln() }, n + 1)
    });
    sum / n.max(1) as f64
}

/// Candle's CPU initialisers draw from an unseeded generator; redrawing
/// every weight from a seeded one makes training reproducible. Uniform in
/// ±1/√fan_in, as PyTorch initialises linear and recurrent layers; biases 0.
fn seed_weights(weights: &VarMap, rng: &mut Xoshiro256PlusPlus) -> Result<()> {
    let data = weights.data().lock().expect("the weight map is never poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var: &Var = &data[name];
        let dims = var.dims().to_vec();
        let count: usize = dims.iter().product();
        let values: Vec<f32> = if dims.len() == 1 {
            vec![0.0; count]
        } else if name.starts_with("tokens") || name.starts_with("gaps") {
            (0..count).map(|_| rng.random_range(-0.1..0.1)).collect()
        } else {
            let bound = 1.0 / (*dims.last().expect("2-D") as f32).sqrt();
            (0..count).map(|_| rng.random_range(-bound..bound)).collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
    }
    Ok(())
}

fn snapshot(weights: &VarMap) -> Result<Vec<(String, Tensor)>> {
    let data = weights.data().lock().expect("the weight map is never poisoned");
    data.iter().map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?))).collect()
}

fn restore(weights: &VarMap, kept: &[(String, Tensor)]) -> Result<()> {
    let data = weights.data().lock().expect("the weight map is never poisoned");
    for (name, tensor) in kept {
        data[name].set(tensor)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_buckets_are_logarithmic_in_minutes() {
        assert_eq!(gap_bucket(None), 0);
        assert_eq!(gap_bucket(Some(30.0)), 1);
        assert_eq!(gap_bucket(Some(60.0)), 2);
        assert_eq!(gap_bucket(Some(119.0)), 2);
        assert_eq!(gap_bucket(Some(120.0)), 3);
        assert_eq!(gap_bucket(Some(86_400.0 * 365.0)), GAP_BUCKETS as u32 - 1);
    }

    #[test]
    fn stable_loss_stays_finite_when_saturated() {
        let logits = Tensor::new(&[500f32, -500.0, 0.0], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0f32, 1.0, 1.0], &Device::Cpu).unwrap();
        let loss = stable_log_loss(&logits, &labels).unwrap().to_scalar::<f32>().unwrap();
        assert!((loss - (500.0 + 500.0 + std::f32::consts::LN_2) / 3.0).abs() < 1e-3, "{loss}");
    }
}
