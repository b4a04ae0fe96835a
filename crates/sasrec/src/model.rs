//! A trained sequence recommender: the network, its settings and training record, and a
//! base recommender from the `recommend` crate that holds what every model keeps (item
//! and user vocabularies, user histories, popularity).

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use rand::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recommend::{
    Algorithm, Dataset, HistoryItem, HybridConfig, Model, NeighbourConfig, Recommendation,
    Recommender, Scratch, TrainConfig, TrainingSummary, UserFilter, Vocabulary, Weights, top_k,
};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SasRecError};
use crate::inference::Inference;
use crate::network::{self, Dropout};
use crate::sequences::{Batch, RecentItems, epoch_batches, user_sequences, windows};

/// Size and training settings; saved with the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SasRecConfig {
    /// Width of item embeddings and hidden states.
    pub hidden: usize,
    /// Transformer blocks.
    pub blocks: usize,
    /// Attention heads per block; must divide `hidden`.
    pub heads: usize,
    /// Most recent clicks a prediction looks at.
    pub max_len: usize,
    /// Dropout rate on the embeddings and after attention and the feed-forward layer.
    pub dropout: f32,
    /// Passes over the training windows at most.
    pub epochs: usize,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// With a validation set: stop after this many epochs without a better Recall@k.
    pub patience: usize,
    pub seed: u64,
    /// Share of V-SKNN in a mixture of next-item distributions: 0 is SASRec alone; `w`
    /// ranks by `(1 − w) · softmax + w · V-SKNN`, V-SKNN's scores divided by their sum.
    /// Applied at query time only, so [`tune`] tries several on one trained network.
    pub session_weight: f32,
    /// The V-SKNN that can be mixed in (trained with every model; it takes a fraction
    /// of a second).
    pub sessions: NeighbourConfig,
    /// Networks trained alike from the seeds `seed`, `seed + 1`, …; a query averages
    /// their next-item distributions. On small data one network's ranking moves with its
    /// seed; on YOOCHOOSE train_tr → train_valid three networks of hidden 64 took Recall@20
    /// from 0.6487 (one) to 0.6568.
    #[serde(default = "one_network")]
    pub members: usize,
}

fn one_network() -> usize {
    1
}

impl Default for SasRecConfig {
    fn default() -> Self {
        Self {
            hidden: 64,
            blocks: 2,
            heads: 1,
            max_len: 50,
            dropout: 0.2,
            epochs: 20,
            batch_size: 128,
            learning_rate: 2e-3,
            weight_decay: 0.0,
            patience: 3,
            seed: 42,
            session_weight: 0.0,
            sessions: HybridConfig::default().sessions,
            members: 1,
        }
    }
}

impl SasRecConfig {
    fn check(&self) -> Result<()> {
        let problem = if self.hidden == 0 || self.blocks == 0 || self.max_len == 0 {
            "hidden, blocks and max_len must be at least 1"
        } else if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            "heads must divide hidden"
        } else if !(0.0..1.0).contains(&self.dropout) {
            "dropout must be in [0, 1)"
        } else if self.batch_size == 0 || self.epochs == 0 || self.members == 0 {
            "batch_size, epochs and members must be at least 1"
        } else if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            "learning_rate must be a positive number"
        } else if !(0.0..=1.0).contains(&self.session_weight) {
            "session_weight must be in [0, 1]"
        } else {
            return Ok(());
        };
        Err(SasRecError::Config(format!("sasrec: {problem}")))
    }
}

/// The sequence algorithms, tagged by name as `recommend::Algorithm` is, so a saved
/// `model.json` names its algorithm in the same place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum SequenceAlgorithm {
    /// SASRec: a causal Transformer over the latest clicks, full-softmax cross-entropy.
    Sasrec(SasRecConfig),
}

impl SequenceAlgorithm {
    /// The names `--algo` takes.
    pub const NAMES: &[&str] = &["sasrec"];

    pub fn with_defaults(name: &str) -> Option<Self> {
        (name == "sasrec").then(|| SequenceAlgorithm::Sasrec(SasRecConfig::default()))
    }

    pub fn name(&self) -> &'static str {
        match self {
            SequenceAlgorithm::Sasrec(_) => "sasrec",
        }
    }
}

/// The validation data that picks the best epoch (and, in [`tune`], the best setting).
#[derive(Clone, Copy, Debug)]
pub struct Validation<'a> {
    pub data: &'a Dataset,
    /// As the caller names it, for the record.
    pub name: &'a str,
    /// The cut-off of the Recall@k that chooses.
    pub k: usize,
}

/// One epoch of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    /// Mean cross-entropy per training target (with dropout).
    pub loss: f64,
    /// Recall@k and MRR@k on the validation data by the next-click protocol, if any.
    pub validation_recall: Option<f64>,
    pub validation_mrr: Option<f64>,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
    /// Of which the validation pass.
    pub validation_seconds: f64,
}

/// What training did: every epoch, and the one whose weights were kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingHistory {
    /// The validation data, as the caller named it; `None`: the last epoch is kept.
    pub validation: Option<String>,
    pub k: Option<usize>,
    pub epochs: Vec<Epoch>,
    /// 0-based index into `epochs`.
    pub best_epoch: usize,
}

/// One tried setting of [`tune`] and its best epoch's validation metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub algorithm: SequenceAlgorithm,
    pub recall: f64,
    pub mrr: f64,
    pub best_epoch: usize,
    pub train_seconds: f64,
}

/// How the saved setting was chosen: on a validation set, never on the test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    pub validation: String,
    pub k: usize,
    /// The metric that chose ("recall", ties by MRR).
    pub chosen_by: String,
    pub trials: Vec<Trial>,
}

/// A trained SASRec model.
pub struct SasRec {
    pub algorithm: SequenceAlgorithm,
    /// Training data and time (`train_seconds` covers the whole training, validation
    /// passes included).
    pub summary: TrainingSummary,
    /// The first network's epochs.
    pub training: TrainingHistory,
    /// The epochs of the other networks of an ensemble (`members − 1` of them).
    pub other_members: Vec<TrainingHistory>,
    pub tuning: Option<Tuning>,
    /// V-SKNN over the same data: vocabularies, histories for user filters, popularity
    /// for an empty history, and the session scores to mix in.
    base: Model,
    /// Each network's variables (what is saved), and the same weights copied out for
    /// queries; one entry per member of the ensemble.
    weights: Vec<VarMap>,
    inference: Vec<Inference>,
    recent: RecentItems,
}

impl std::fmt::Debug for SasRec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasRec")
            .field("algorithm", &self.algorithm)
            .field("items", &self.base.items.len())
            .field("training", &self.training)
            .finish()
    }
}

/// Validation Recall@k and MRR@k, compared in that order.
type Score = (f64, f64);

/// Trains SASRec on `data`: `config.members` networks, each from its own seed. With
/// `validation`, each network keeps the epoch with its best validation Recall@k (ties:
/// MRR@k) and stops `patience` epochs after it; without, all `epochs` run and the last
/// is kept.
pub fn train(
    data: &Dataset,
    config: &SasRecConfig,
    weights: Weights,
    validation: Option<Validation<'_>>,
    source: &str,
) -> Result<SasRec> {
    config.check()?;
    let mut model = train_network(data, config, weights, validation, source)?;
    model.add_members(data, config.members, validation)?;
    Ok(model)
}

/// One network from `config.seed`; the model's algorithm says one member.
fn train_network(
    data: &Dataset,
    config: &SasRecConfig,
    weights: Weights,
    validation: Option<Validation<'_>>,
    source: &str,
) -> Result<SasRec> {
    let config = &SasRecConfig { members: 1, ..config.clone() };
    let started = Instant::now();
    let algorithm = Algorithm::Vsknn(config.sessions);
    let base = recommend::train(data, TrainConfig { algorithm, weights }, source)?;
    let sequences = user_sequences(data);
    let windows = windows(&sequences, config.max_len);
    if windows.is_empty() {
        return Err(SasRecError::Config(format!(
            "{source}: no user has two clicks, so there is no next click to learn"
        )));
    }
    let (variables, network) = network::build(base.items.len(), config)?;
    network::seed_weights(&variables, config.seed)?;
    let inference = Inference::new(&variables, config)?;
    let mut model = SasRec {
        algorithm: SequenceAlgorithm::Sasrec(config.clone()),
        summary: base.summary.clone(),
        training: TrainingHistory {
            validation: validation.map(|v| v.name.to_string()),
            k: validation.map(|v| v.k),
            ..TrainingHistory::default()
        },
        other_members: Vec::new(),
        tuning: None,
        recent: RecentItems::new(&sequences, config.max_len),
        base,
        weights: vec![variables],
        inference: vec![inference],
    };
    let mut optimizer = AdamW::new(
        model.weights[0].all_vars(),
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
    let mut dropout = Dropout::new(config.dropout, rng.next_u64());
    // The best epoch's validation (Recall@k, MRR@k) and its weights.
    let mut best: Option<(Score, Vec<(String, Tensor)>)> = None;
    for epoch in 0..config.epochs {
        let epoch_started = Instant::now();
        let (mut loss_sum, mut targets) = (0.0f64, 0usize);
        for windows in epoch_batches(&windows, config.batch_size, &mut rng) {
            let batch = Batch::new(&windows, &Device::Cpu)?;
            let loss = network.loss(&batch, &mut dropout)?;
            let value = loss.to_scalar::<f32>()?;
            if !value.is_finite() {
                return Err(SasRecError::Diverged { epoch: epoch + 1, loss: value });
            }
            optimizer.backward_step(&loss)?;
            let count: usize = windows.iter().map(|w| w.targets.len()).sum();
            loss_sum += f64::from(value) * count as f64;
            targets += count;
        }
        let validation_started = Instant::now();
        let metrics = match validation {
            Some(validation) => {
                model.inference = vec![Inference::new(&model.weights[0], config)?];
                Some(recommend::evaluate(&model, validation.data, validation.k).metrics)
            }
            None => None,
        };
        let record = Epoch {
            loss: loss_sum / targets.max(1) as f64,
            validation_recall: metrics.as_ref().map(|m| m.recall),
            validation_mrr: metrics.as_ref().map(|m| m.mrr),
            seconds: epoch_started.elapsed().as_secs_f64(),
            validation_seconds: validation_started.elapsed().as_secs_f64(),
        };
        tracing::info!(
            epoch = epoch + 1,
            loss = record.loss,
            recall = record.validation_recall,
            mrr = record.validation_mrr,
            seconds = record.seconds,
            validation_seconds = record.validation_seconds,
            "sasrec epoch"
        );
        model.training.epochs.push(record);
        if let Some(metrics) = metrics {
            let score = (metrics.recall, metrics.mrr);
            if best.as_ref().is_none_or(|(best_score, _)| score > *best_score) {
                model.training.best_epoch = epoch;
                best = Some((score, network::snapshot(&model.weights[0])?));
            } else if epoch - model.training.best_epoch >= config.patience {
                break;
            }
        } else {
            model.training.best_epoch = epoch;
        }
    }
    if let Some((_, kept)) = best {
        network::restore(&model.weights[0], &kept)?;
    }
    model.inference = vec![Inference::new(&model.weights[0], config)?];
    model.summary.train_seconds = started.elapsed().as_secs_f64();
    Ok(model)
}

/// The shares of V-SKNN [`tune`] tries on each trained network.
pub const SESSION_WEIGHTS: &[f32] = &[0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8];

/// The networks [`tune`]'s chosen setting is averaged over, when the caller asks for
/// an ensemble.
pub const TUNED_MEMBERS: usize = 3;

/// Trains every setting on `data`, each choosing its best epoch on `validation`; then
/// tries each of `session_weights` on every trained network (a query-time setting, so
/// no retraining), and keeps the model and weight with the best validation Recall@k
/// (ties: MRR@k). With `members` above 1, the chosen setting is then trained from
/// `members − 1` more seeds, the session weights are tried again on the ensemble, and
/// the ensemble is kept if it scores better. Every combination is recorded in
/// [`SasRec::tuning`].
pub fn tune(
    data: &Dataset,
    settings: &[SasRecConfig],
    session_weights: &[f32],
    members: usize,
    weights: Weights,
    validation: Validation<'_>,
    source: &str,
) -> Result<SasRec> {
    let mut best: Option<(Score, SasRec)> = None;
    let mut trials = Vec::new();
    for config in settings {
        let mut model = train(data, config, weights, Some(validation), source)?;
        let Some(score) = model.choose_session_weight(session_weights, validation, &mut trials)?
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(best_score, _)| score > *best_score) {
            best = Some((score, model));
        }
    }
    let (score, mut model) =
        best.ok_or_else(|| SasRecError::Config("sasrec: no setting to tune".into()))?;
    if members > 1 {
        let single_weight = model.config().session_weight;
        model.add_members(data, members, Some(validation))?;
        let ensemble = model.choose_session_weight(session_weights, validation, &mut trials)?;
        if ensemble.is_none_or(|ensemble| ensemble <= score) {
            model.keep_first_member();
            model.set_session_weight(single_weight)?;
        }
    }
    model.tuning = Some(Tuning {
        validation: validation.name.to_string(),
        k: validation.k,
        chosen_by: "recall".into(),
        trials,
    });
    Ok(model)
}

/// The settings `tune` tries: the model's width and dropout around the defaults (the
/// settings that matter most on small session data).
pub fn grid() -> Vec<SasRecConfig> {
    let mut settings = Vec::new();
    for hidden in [64, 128] {
        for dropout in [0.2, 0.5] {
            settings.push(SasRecConfig { hidden, dropout, ..SasRecConfig::default() });
        }
    }
    settings
}

impl SasRec {
    pub fn config(&self) -> &SasRecConfig {
        let SequenceAlgorithm::Sasrec(config) = &self.algorithm;
        config
    }

    /// Trains networks from the seeds after the last member's until there are `members`,
    /// each as [`train`] trains one, and adds them to the ensemble.
    fn add_members(
        &mut self,
        data: &Dataset,
        members: usize,
        validation: Option<Validation<'_>>,
    ) -> Result<()> {
        let config = self.config().clone();
        for member in self.weights.len()..members {
            let seeded =
                SasRecConfig { seed: config.seed.wrapping_add(member as u64), ..config.clone() };
            let other = train_network(
                data,
                &seeded,
                self.base.config.weights,
                validation,
                &self.summary.source,
            )?;
            self.weights.extend(other.weights);
            self.inference.extend(other.inference);
            self.other_members.push(other.training);
            self.summary.train_seconds += other.summary.train_seconds;
        }
        let SequenceAlgorithm::Sasrec(config) = &mut self.algorithm;
        config.members = self.weights.len();
        Ok(())
    }

    /// Drops every network but the first.
    fn keep_first_member(&mut self) {
        self.weights.truncate(1);
        self.inference.truncate(1);
        self.other_members.clear();
        let SequenceAlgorithm::Sasrec(config) = &mut self.algorithm;
        config.members = 1;
    }

    /// Tries each of `session_weights` on `validation`, recording each in `trials`, and
    /// keeps the best (Recall@k, ties MRR@k); `None` when there is none to try.
    fn choose_session_weight(
        &mut self,
        session_weights: &[f32],
        validation: Validation<'_>,
        trials: &mut Vec<Trial>,
    ) -> Result<Option<Score>> {
        let mut best: Option<(Score, f32)> = None;
        for &session_weight in session_weights {
            self.set_session_weight(session_weight)?;
            let metrics = recommend::evaluate(&*self, validation.data, validation.k).metrics;
            let score = (metrics.recall, metrics.mrr);
            trials.push(Trial {
                algorithm: self.algorithm.clone(),
                recall: score.0,
                mrr: score.1,
                best_epoch: self.training.best_epoch,
                train_seconds: self.summary.train_seconds,
            });
            if best.is_none_or(|(best_score, _)| score > best_score) {
                best = Some((score, session_weight));
            }
        }
        let Some((score, session_weight)) = best else { return Ok(None) };
        self.set_session_weight(session_weight)?;
        Ok(Some(score))
    }

    /// Sets the share of V-SKNN mixed into the ranking (see
    /// [`SasRecConfig::session_weight`]); the network is unchanged.
    pub fn set_session_weight(&mut self, weight: f32) -> Result<()> {
        let SequenceAlgorithm::Sasrec(config) = &mut self.algorithm;
        let changed = SasRecConfig { session_weight: weight, ..config.clone() };
        changed.check()?;
        *config = changed;
        Ok(())
    }

    /// The network's score (logit) of every item after `sequence` (item indices, oldest
    /// first); only the latest `max_len` clicks count. For an ensemble, the logarithm of
    /// the networks' mean next-item probability, so that a softmax of the scores is that
    /// mean. An empty sequence scores by popularity.
    pub fn scores(&self, sequence: &[u32]) -> Vec<f32> {
        let tail = &sequence[sequence.len().saturating_sub(self.config().max_len)..];
        if tail.is_empty() {
            return self.base.popularity().to_vec();
        }
        match self.inference.as_slice() {
            [network] => network.scores(tail),
            networks => {
                let mut mean = vec![0.0f32; self.base.items.len()];
                for network in networks {
                    let mut probabilities = network.scores(tail);
                    softmax_in_place(&mut probabilities);
                    mean.iter_mut().zip(&probabilities).for_each(|(sum, p)| *sum += p);
                }
                let count = networks.len() as f32;
                // Floored so that an item no network expects keeps a finite score.
                mean.iter_mut().for_each(|sum| *sum = (*sum / count).max(f32::MIN_POSITIVE).ln());
                mean
            }
        }
    }

    /// The `k` best items after `history`, mixing in V-SKNN's scores when configured.
    fn ranked(
        &self,
        history: &[HistoryItem],
        sequence: &[u32],
        ordered: bool,
        k: usize,
        keep: impl FnMut(u32) -> bool,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let mut scores = self.scores(sequence);
        let weight = self.config().session_weight;
        if weight > 0.0 && !sequence.is_empty() {
            softmax_in_place(&mut scores);
            let sessions = self.base.scores(history, ordered, scratch);
            let total: f32 = sessions.iter().map(|&(_, score)| score.max(0.0)).sum();
            let own = 1.0 - weight;
            scores.iter_mut().for_each(|score| *score *= own);
            if total > 0.0 {
                for (item, score) in sessions {
                    scores[item as usize] += weight * score.max(0.0) / total;
                }
            }
        }
        top_k(0..scores.len() as u32, |item| scores[item as usize], k, keep)
    }
}

/// Scores to probabilities, in a fixed order so the same scores give the same bits.
fn softmax_in_place(scores: &mut [f32]) {
    let most = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0f32;
    for score in scores.iter_mut() {
        *score = (*score - most).exp();
        total += *score;
    }
    scores.iter_mut().for_each(|score| *score /= total);
}

impl Recommender for SasRec {
    /// The base model's, for the V-SKNN scores mixed in.
    type Scratch = Scratch;

    fn algorithm_name(&self) -> &'static str {
        self.algorithm.name()
    }

    fn item_vocabulary(&self) -> &Vocabulary {
        &self.base.items
    }

    fn user_vocabulary(&self) -> &Vocabulary {
        &self.base.users
    }

    fn event_weights(&self) -> &Weights {
        &self.base.config.weights
    }

    fn item_popularity(&self) -> &[f32] {
        self.base.popularity()
    }

    fn new_scratch(&self) -> Scratch {
        self.base.scratch()
    }

    fn next_items(
        &self,
        history: &[HistoryItem],
        k: usize,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let sequence: Vec<u32> = history.iter().map(|entry| entry.item).collect();
        self.ranked(history, &sequence, true, k, |_| true, scratch)
    }

    fn user_items(&self, user: &str, k: usize, filter: &UserFilter) -> Option<Vec<Recommendation>> {
        let index = self.base.users.get(user)? as usize;
        let (history, bought) = self.base.user_history(user)?;
        let keep = filter.for_user(&self.base.items, &history, &bought);
        let mut scratch = self.base.scratch();
        let ranked = self.ranked(&history, self.recent.of(index), false, k, keep, &mut scratch);
        Some(
            ranked
                .into_iter()
                .map(|(item, score)| Recommendation {
                    item: self.base.items.name(item).to_string(),
                    score,
                    because: None,
                })
                .collect(),
        )
    }
}

const FORMAT_VERSION: u32 = 2;
const HEADER_FILE: &str = "model.json";
/// The first network's weights; member `i` of an ensemble is in `sasrec-{i}.safetensors`.
const WEIGHTS_FILE: &str = "sasrec.safetensors";
const RECENT_FILE: &str = "recent_items.safetensors";
const BASE_DIR: &str = "base";

/// What `model.json` holds; `config.algorithm.name` is where `recommend` models keep
/// theirs, so `recommend::saved_algorithm` tells the two apart.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    format_version: u32,
    config: SavedConfig,
    summary: TrainingSummary,
    training: TrainingHistory,
    #[serde(default)]
    other_members: Vec<TrainingHistory>,
    tuning: Option<Tuning>,
}

/// Where network `member` of an ensemble is saved.
fn weights_file(member: usize) -> String {
    if member == 0 { WEIGHTS_FILE.to_string() } else { format!("sasrec-{member}.safetensors") }
}

#[derive(Serialize, Deserialize)]
struct SavedConfig {
    algorithm: SequenceAlgorithm,
    weights: Weights,
}

impl SasRec {
    /// Saves into `dir`: `model.json` (algorithm and hyper-parameters, event weights,
    /// training summary and epochs, tuning), `sasrec.safetensors` (the network),
    /// `recent_items.safetensors` (each user's latest clicks, for user lists) and `base/`
    /// (the popularity model with the vocabularies and histories).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.base.save(&dir.join(BASE_DIR))?;
        let header = ModelFile {
            format_version: FORMAT_VERSION,
            config: SavedConfig {
                algorithm: self.algorithm.clone(),
                weights: self.base.config.weights,
            },
            summary: self.summary.clone(),
            training: self.training.clone(),
            other_members: self.other_members.clone(),
            tuning: self.tuning.clone(),
        };
        let path = dir.join(HEADER_FILE);
        let json = serde_json::to_string_pretty(&header).expect("a model header always serialises");
        std::fs::write(&path, json).map_err(|source| SasRecError::Io {
            action: "writing",
            path,
            source,
        })?;
        for (member, weights) in self.weights.iter().enumerate() {
            weights.save(dir.join(weights_file(member)))?;
        }
        let recent = [
            ("offsets", Tensor::new(self.recent.offsets.as_slice(), &Device::Cpu)?),
            ("items", Tensor::new(self.recent.items.as_slice(), &Device::Cpu)?),
        ];
        candle_core::safetensors::save(
            &recent.into_iter().map(|(name, t)| (name.to_string(), t)).collect(),
            dir.join(RECENT_FILE),
        )?;
        Ok(())
    }

    /// Loads what [`SasRec::save`] wrote, checking the network and the recent items
    /// against the vocabularies.
    pub fn load(dir: &Path) -> Result<SasRec> {
        let path = dir.join(HEADER_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| SasRecError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        let damaged =
            |path: &Path, reason: String| SasRecError::ModelFormat { path: path.into(), reason };
        let header: ModelFile =
            serde_json::from_str(&text).map_err(|e| damaged(&path, e.to_string()))?;
        if header.format_version != FORMAT_VERSION {
            return Err(damaged(
                &path,
                format!(
                    "format version {} (this build reads {FORMAT_VERSION})",
                    header.format_version
                ),
            ));
        }
        let base = Model::load(&dir.join(BASE_DIR))?;
        let SequenceAlgorithm::Sasrec(config) = &header.config.algorithm;
        config.check()?;
        if header.other_members.len() + 1 != config.members {
            return Err(damaged(
                &path,
                format!(
                    "{} networks, but training records for {}",
                    config.members,
                    header.other_members.len() + 1
                ),
            ));
        }
        let mut weights = Vec::with_capacity(config.members);
        let mut inference = Vec::with_capacity(config.members);
        for member in 0..config.members {
            let (mut network, _) = network::build(base.items.len(), config)?;
            let weights_path = dir.join(weights_file(member));
            network.load(&weights_path).map_err(|e| damaged(&weights_path, e.to_string()))?;
            inference.push(Inference::new(&network, config)?);
            weights.push(network);
        }
        let recent_path = dir.join(RECENT_FILE);
        let recent = read_recent(&recent_path, base.users.len(), base.items.len(), config.max_len)
            .map_err(|reason| damaged(&recent_path, reason))?;
        Ok(SasRec {
            algorithm: header.config.algorithm,
            summary: header.summary,
            training: header.training,
            other_members: header.other_members,
            tuning: header.tuning,
            base,
            weights,
            inference,
            recent,
        })
    }
}

fn read_recent(
    path: &Path,
    users: usize,
    items: usize,
    max_len: usize,
) -> Result<RecentItems, String> {
    let mut tensors =
        candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| e.to_string())?;
    let mut take = |name: &str| -> Result<Vec<u32>, String> {
        let tensor = tensors.remove(name).ok_or_else(|| format!("no tensor {name:?}"))?;
        tensor.to_vec1::<u32>().map_err(|e| format!("{name}: {e}"))
    };
    let recent = RecentItems { offsets: take("offsets")?, items: take("items")? };
    let offsets_fit = recent.offsets.len() == users + 1
        && recent.offsets.first() == Some(&0)
        && recent.offsets.last().map(|&end| end as usize) == Some(recent.items.len())
        && recent.offsets.windows(2).all(|w| w[0] <= w[1] && (w[1] - w[0]) as usize <= max_len);
    if !offsets_fit || recent.items.iter().any(|&item| item as usize >= items) {
        return Err("recent items do not match the base model's users and items".into());
    }
    Ok(recent)
}
