//! Review sentiment: a logistic-regression head over character n-gram
//! TF-IDF features and (optionally) sentence embeddings, with probabilities
//! calibrated by Platt scaling on cross-validated scores.
//!
//! Cross-validation folds are assigned without randomness so that the
//! scikit-learn baseline in `bench/` can use exactly the same folds: within
//! each label, the k-th row (in input order) goes to fold `k mod folds`.

use std::fs;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoder::Embeddings;
use crate::error::{Result, TextError, io_error};
use crate::ngrams::{NgramConfig, SparseRow, inverse_document_frequencies, tf_idf};

/// How the classifier is trained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentimentConfig {
    pub ngrams: NgramConfig,
    /// Passes over the training data.
    pub epochs: usize,
    /// AdaGrad step size.
    pub learning_rate: f32,
    /// L2 penalty per update on the weights a sample touches.
    pub l2: f32,
    /// Scale of the (unit-length) embedding relative to the (unit-length)
    /// n-gram vector.
    pub embedding_weight: f32,
    /// Cross-validation folds.
    pub folds: usize,
    pub seed: u64,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        SentimentConfig {
            ngrams: NgramConfig::default(),
            epochs: 12,
            learning_rate: 0.3,
            l2: 1e-6,
            embedding_weight: 1.0,
            folds: 5,
            seed: 42,
        }
    }
}

/// Which encoder produced the embeddings a model was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderInfo {
    /// Directory name of the model under the models root (a [`crate::KnownModel`] name
    /// or the last component of `--model-dir`).
    pub model: String,
    pub max_tokens: usize,
    pub dim: usize,
}

/// Cross-validated quality of a classifier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub rows: usize,
    pub positives: usize,
    pub folds: usize,
    /// Accuracy over all out-of-fold predictions.
    pub accuracy: f64,
    /// F1 of the positive class over all out-of-fold predictions.
    pub f1: f64,
    pub fold_accuracies: Vec<f64>,
    /// Brier score of the calibrated out-of-fold probabilities (lower is better).
    pub brier: f64,
    /// Expected calibration error over ten equal-width probability bins.
    pub calibration_error: f64,
}

/// `p = sigmoid(a * logit + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattScaling {
    pub a: f64,
    pub b: f64,
}

impl PlattScaling {
    pub fn probability(&self, logit: f32) -> f64 {
        sigmoid(self.a * f64::from(logit) + self.b)
    }
}

/// Everything in `sentiment.json` (the n-gram weights are in `ngram_weights.bin`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentimentFile {
    format: String,
    config: SentimentConfig,
    encoder: Option<EncoderInfo>,
    dense_weights: Vec<f32>,
    bias: f32,
    calibration: PlattScaling,
    cross_validation: CvReport,
    /// Rows and a hash of the texts and labels it was trained on.
    training_data: DataFingerprint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFingerprint {
    pub rows: usize,
    pub xxh3: String,
}

const FORMAT: &str = "smartfunnel-sentiment-1";

/// A trained sentiment classifier.
#[derive(Debug, Clone)]
pub struct SentimentModel {
    file: SentimentFile,
    idf: Vec<f32>,
    sparse_weights: Vec<f32>,
}

/// One prediction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SentimentScore {
    /// Calibrated probability that the text is positive.
    pub score: f64,
    /// 1 when `score >= 0.5`.
    pub label: u8,
}

/// Labelled training data: texts, labels (`true` = positive) and, when the
/// model uses them, the texts' embeddings in the same order.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    pub texts: &'a [&'a str],
    pub labels: &'a [bool],
    pub embeddings: Option<(&'a Embeddings, &'a EncoderInfo)>,
}

/// The fold of each row: within each label, rows in input order go round-robin.
pub fn fold_assignment(labels: &[bool], folds: usize) -> Vec<usize> {
    let mut seen = [0usize; 2];
    labels
        .iter()
        .map(|&label| {
            let counter = &mut seen[usize::from(label)];
            let fold = *counter % folds;
            *counter += 1;
            fold
        })
        .collect()
}

struct LinearModel {
    idf: Vec<f32>,
    sparse: Vec<f32>,
    dense: Vec<f32>,
    bias: f32,
}

impl LinearModel {
    fn logit(&self, row: &SparseRow, dense: Option<&[f32]>, embedding_weight: f32) -> f32 {
        linear_logit(&self.sparse, &self.dense, self.bias, row, dense, embedding_weight)
    }
}

/// `bias + sparse·row + embedding_weight · dense_weights·embedding`.
fn linear_logit(
    sparse_weights: &[f32],
    dense_weights: &[f32],
    bias: f32,
    row: &SparseRow,
    embedding: Option<&[f32]>,
    embedding_weight: f32,
) -> f32 {
    let mut z = bias;
    for &(bucket, value) in row {
        z += sparse_weights[bucket as usize] * value;
    }
    if let Some(embedding) = embedding {
        for (w, x) in dense_weights.iter().zip(embedding) {
            z += w * x * embedding_weight;
        }
    }
    z
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 { 1.0 / (1.0 + (-z).exp()) } else { z.exp() / (1.0 + z.exp()) }
}

/// A small deterministic generator for shuffling (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Trains logistic regression with AdaGrad on the rows in `train`. The
/// gradient of the log loss, `sigmoid(z) - y`, is bounded, so saturated
/// predictions never produce NaN.
fn train_linear(
    counts: &[SparseRow],
    dense: Option<&Embeddings>,
    labels: &[bool],
    train: &[usize],
    config: &SentimentConfig,
) -> LinearModel {
    let buckets = config.ngrams.buckets();
    let train_counts: Vec<&SparseRow> = train.iter().map(|&i| &counts[i]).collect();
    let idf = inverse_document_frequencies(&train_counts, buckets);
    let rows: Vec<SparseRow> = train_counts.iter().map(|row| tf_idf(row, &idf)).collect();
    let dim = dense.map_or(0, |d| d.dim);
    let mut model =
        LinearModel { idf, sparse: vec![0.0; buckets], dense: vec![0.0; dim], bias: 0.0 };
    let mut sparse_g2 = vec![0f32; buckets];
    let mut dense_g2 = vec![0f32; dim];
    let mut bias_g2 = 0f32;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = SplitMix(config.seed);
    let rate = config.learning_rate;
    const EPS: f32 = 1e-8;
    for _ in 0..config.epochs {
        rng.shuffle(&mut order);
        for &k in &order {
            let index = train[k];
            let embedding = dense.map(|d| d.row(index));
            let z = model.logit(&rows[k], embedding, config.embedding_weight);
            let y = if labels[index] { 1.0 } else { 0.0 };
            let g = (sigmoid(f64::from(z)) - y) as f32;
            for &(bucket, x) in &rows[k] {
                let b = bucket as usize;
                let grad = g * x + config.l2 * model.sparse[b];
                sparse_g2[b] += grad * grad;
                model.sparse[b] -= rate * grad / (sparse_g2[b].sqrt() + EPS);
            }
            if let Some(embedding) = embedding {
                for ((w, g2), x) in model.dense.iter_mut().zip(&mut dense_g2).zip(embedding) {
                    let grad = g * x * config.embedding_weight + config.l2 * *w;
                    *g2 += grad * grad;
                    *w -= rate * grad / (g2.sqrt() + EPS);
                }
            }
            bias_g2 += g * g;
            model.bias -= rate * g / (bias_g2.sqrt() + EPS);
        }
    }
    model
}

/// Fits Platt scaling to out-of-fold logits by Newton's method on the log loss.
fn fit_platt(logits: &[f32], labels: &[bool]) -> PlattScaling {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&z, &y) in logits.iter().zip(labels) {
            let z = f64::from(z);
            let p = sigmoid(a * z + b);
            let r = p - if y { 1.0 } else { 0.0 };
            let w = (p * (1.0 - p)).max(1e-12);
            ga += r * z;
            gb += r;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        // A tiny ridge keeps the 2×2 system solvable on separable data.
        haa += 1e-9;
        hbb += 1e-9;
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    PlattScaling { a, b }
}

fn report(labels: &[bool], probabilities: &[f64], folds: &[usize], fold_count: usize) -> CvReport {
    let (mut tp, mut fp, mut fn_, mut correct) = (0usize, 0usize, 0usize, 0usize);
    let mut fold_correct = vec![0usize; fold_count];
    let mut fold_rows = vec![0usize; fold_count];
    let mut brier = 0.0;
    let mut bins = [(0usize, 0.0f64, 0.0f64); 10];
    for ((&y, &p), &fold) in labels.iter().zip(probabilities).zip(folds) {
        let predicted = p >= 0.5;
        fold_rows[fold] += 1;
        if predicted == y {
            correct += 1;
            fold_correct[fold] += 1;
        }
        match (predicted, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
        let target = if y { 1.0 } else { 0.0 };
        brier += (p - target).powi(2);
        let bin = &mut bins[((p * 10.0) as usize).min(9)];
        bin.0 += 1;
        bin.1 += p;
        bin.2 += target;
    }
    let n = labels.len().max(1) as f64;
    let f1 = if tp == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64 };
    let calibration_error = bins
        .iter()
        .filter(|bin| bin.0 > 0)
        .map(|&(_, probability_sum, positive_sum)| (probability_sum - positive_sum).abs())
        .sum::<f64>()
        / n;
    CvReport {
        rows: labels.len(),
        positives: labels.iter().filter(|&&y| y).count(),
        folds: fold_count,
        accuracy: correct as f64 / n,
        f1,
        fold_accuracies: fold_correct
            .iter()
            .zip(&fold_rows)
            .map(|(&c, &r)| c as f64 / r.max(1) as f64)
            .collect(),
        brier: brier / n,
        calibration_error,
    }
}

fn fingerprint(data: &TrainingData) -> DataFingerprint {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for (text, label) in data.texts.iter().zip(data.labels) {
        hasher.update(text.as_bytes());
        hasher.update(&[0, u8::from(*label)]);
    }
    DataFingerprint { rows: data.texts.len(), xxh3: format!("{:016x}", hasher.digest()) }
}

impl SentimentModel {
    /// Cross-validates on `data` (folds from [`fold_assignment`]), fits the
    /// calibration on the out-of-fold scores, and trains the final model on
    /// all rows.
    pub fn train(data: TrainingData, config: &SentimentConfig) -> Result<SentimentModel> {
        let rows = data.texts.len();
        if data.labels.len() != rows {
            return Err(TextError::InvalidRequest(format!(
                "{rows} texts but {} labels",
                data.labels.len()
            )));
        }
        if let Some((embeddings, _)) = data.embeddings
            && embeddings.len() != rows
        {
            return Err(TextError::InvalidRequest(format!(
                "{rows} texts but {} embeddings",
                embeddings.len()
            )));
        }
        let positives = data.labels.iter().filter(|&&y| y).count();
        if config.folds < 2 || positives < config.folds || rows - positives < config.folds {
            return Err(TextError::InvalidRequest(format!(
                "{config_folds}-fold cross-validation needs at least {config_folds} rows of each label ({positives} positive, {negatives} negative)",
                config_folds = config.folds,
                negatives = rows - positives
            )));
        }
        let counts: Vec<SparseRow> =
            data.texts.par_iter().map(|text| config.ngrams.counts(text)).collect();
        let dense = data.embeddings.map(|(embeddings, _)| embeddings);
        let folds = fold_assignment(data.labels, config.folds);
        let fold_logits: Vec<Vec<(usize, f32)>> = (0..config.folds)
            .into_par_iter()
            .map(|fold| {
                let train: Vec<usize> = (0..rows).filter(|&i| folds[i] != fold).collect();
                let model = train_linear(&counts, dense, data.labels, &train, config);
                (0..rows)
                    .filter(|&i| folds[i] == fold)
                    .map(|i| {
                        let row = tf_idf(&counts[i], &model.idf);
                        (i, model.logit(&row, dense.map(|d| d.row(i)), config.embedding_weight))
                    })
                    .collect()
            })
            .collect();
        let mut logits = vec![0f32; rows];
        for (i, logit) in fold_logits.into_iter().flatten() {
            logits[i] = logit;
        }
        let calibration = fit_platt(&logits, data.labels);
        let probabilities: Vec<f64> = logits.iter().map(|&z| calibration.probability(z)).collect();
        let cross_validation = report(data.labels, &probabilities, &folds, config.folds);

        let all: Vec<usize> = (0..rows).collect();
        let model = train_linear(&counts, dense, data.labels, &all, config);
        Ok(SentimentModel {
            file: SentimentFile {
                format: FORMAT.to_owned(),
                config: config.clone(),
                encoder: data.embeddings.map(|(_, info)| info.clone()),
                dense_weights: model.dense,
                bias: model.bias,
                calibration,
                cross_validation,
                training_data: fingerprint(&data),
            },
            idf: model.idf,
            sparse_weights: model.sparse,
        })
    }

    pub fn cross_validation(&self) -> &CvReport {
        &self.file.cross_validation
    }

    /// The encoder whose embeddings [`SentimentModel::predict`] needs, if any.
    pub fn encoder(&self) -> Option<&EncoderInfo> {
        self.file.encoder.as_ref()
    }

    pub fn calibration(&self) -> PlattScaling {
        self.file.calibration
    }

    /// Scores `texts`; `embeddings` must come from [`SentimentModel::encoder`]
    /// when the model has one.
    pub fn predict(
        &self,
        texts: &[&str],
        embeddings: Option<&Embeddings>,
    ) -> Result<Vec<SentimentScore>> {
        match (&self.file.encoder, embeddings) {
            (Some(info), Some(e)) if e.dim == info.dim && e.len() == texts.len() => {}
            (Some(info), _) => {
                return Err(TextError::InvalidRequest(format!(
                    "this sentiment model needs {}-dimensional embeddings from {} for each of the {} texts",
                    info.dim,
                    info.model,
                    texts.len()
                )));
            }
            (None, _) => {}
        }
        let dense = self.file.encoder.as_ref().and(embeddings);
        let file = &self.file;
        Ok(texts
            .par_iter()
            .enumerate()
            .map(|(i, text)| {
                let row = tf_idf(&file.config.ngrams.counts(text), &self.idf);
                let embedding = dense.map(|d| d.row(i));
                let z = linear_logit(
                    &self.sparse_weights,
                    &file.dense_weights,
                    file.bias,
                    &row,
                    embedding,
                    file.config.embedding_weight,
                );
                let score = file.calibration.probability(z);
                SentimentScore { score, label: u8::from(score >= 0.5) }
            })
            .collect())
    }

    /// Writes `sentiment.json` and `ngram_weights.bin` into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let json_path = dir.join("sentiment.json");
        let json = serde_json::to_string_pretty(&self.file)
            .map_err(|source| TextError::Json { path: json_path.clone(), source })?;
        fs::write(&json_path, json).map_err(io_error(&json_path))?;
        let weights_path = dir.join("ngram_weights.bin");
        let mut bytes = Vec::with_capacity((self.idf.len() + self.sparse_weights.len()) * 4);
        for value in self.idf.iter().chain(&self.sparse_weights) {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        fs::write(&weights_path, bytes).map_err(io_error(&weights_path))
    }

    /// Reads a model written by [`SentimentModel::save`].
    pub fn load(dir: &Path) -> Result<SentimentModel> {
        let json_path = dir.join("sentiment.json");
        let text = fs::read_to_string(&json_path).map_err(io_error(&json_path))?;
        let file: SentimentFile = serde_json::from_str(&text)
            .map_err(|source| TextError::Json { path: json_path.clone(), source })?;
        if file.format != FORMAT {
            return Err(TextError::BadModelFile {
                path: json_path,
                reason: format!("format {:?}, expected {FORMAT:?}", file.format),
            });
        }
        let weights_path = dir.join("ngram_weights.bin");
        let bytes = fs::read(&weights_path).map_err(io_error(&weights_path))?;
        let buckets = file.config.ngrams.buckets();
        if bytes.len() != buckets * 8 {
            return Err(TextError::BadModelFile {
                path: weights_path,
                reason: format!("{} bytes, expected {}", bytes.len(), buckets * 8),
            });
        }
        let values: Vec<f32> =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let (idf, sparse) = values.split_at(buckets);
        Ok(SentimentModel { file, idf: idf.to_vec(), sparse_weights: sparse.to_vec() })
    }
}
