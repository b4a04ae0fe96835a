//! Topic discovery over a review corpus: cluster the review embeddings with
//! K-Means (crate `cluster`; k fixed or chosen by silhouette), then describe
//! each cluster by its class-based TF-IDF keywords and its most central
//! reviews.
//!
//! Class-based TF-IDF (Grootendorst, BERTopic, 2022) treats all reviews of a
//! topic as one document: a word's weight in topic `c` is its share of the
//! topic's words times `ln(1 + A / f)`, where `f` is the word's count over
//! all topics and `A` the mean number of words per topic. Words common
//! everywhere ("质量", "good") weigh little; words that concentrate in one
//! topic ("酒店", "battery") weigh most.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use cluster::{KCandidate, KMeans, KMeansConfig, Matrix, choose_k};
use serde::Serialize;

use crate::encoder::Embeddings;
use crate::error::{Result, TextError};
use crate::ngrams::{NgramConfig, SparseRow, inverse_document_frequencies, tf_idf};
use crate::segment::keyword_words;

/// How many topics to look for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TopicCount {
    Fixed(usize),
    /// Every k in the range is fitted; the highest mean silhouette wins.
    BySilhouette(RangeInclusive<usize>),
}

/// Settings of [`discover_topics`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicOptions {
    pub count: TopicCount,
    /// Keywords per topic.
    pub keywords: usize,
    /// Most central reviews per topic.
    pub representatives: usize,
    /// K-Means restarts (k-means++ seedings) per k.
    pub init_runs: usize,
    /// Rows the silhouette is measured on when choosing k (it is O(n²)).
    pub silhouette_sample: usize,
    /// Cluster the vectors after [`center`]. Off by default: on 2,009
    /// reviews of online_shopping_10_cats it recovered the categories slightly
    /// worse than the plain embeddings (docs/text.md).
    pub center: bool,
    pub seed: u64,
}

impl Default for TopicOptions {
    fn default() -> Self {
        TopicOptions {
            count: TopicCount::BySilhouette(4..=12),
            keywords: 8,
            representatives: 3,
            init_runs: 4,
            silhouette_sample: 1_000,
            center: false,
            seed: 42,
        }
    }
}

/// One discovered topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    /// Topics are numbered by size, largest first.
    pub id: usize,
    pub size: usize,
    /// Its share of the reviews.
    pub share: f64,
    /// The highest class-based TF-IDF words, with their weights.
    pub keywords: Vec<(String, f64)>,
    /// Rows of the reviews closest to the topic's centre (cosine), distinct
    /// texts only, closest first.
    pub representatives: Vec<usize>,
}

/// The topics of a corpus and the topic of each review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicModel {
    /// The topic id of each input row.
    pub assignments: Vec<usize>,
    pub topics: Vec<Topic>,
    /// Each k tried with its silhouette (one entry for a fixed k, silhouette
    /// not measured: NaN).
    pub candidates: Vec<KCandidate>,
}

impl TopicModel {
    /// A short label of a topic: its first three keywords.
    pub fn label(&self, topic: usize) -> String {
        self.topics[topic]
            .keywords
            .iter()
            .take(3)
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Clusters `embeddings` (one row per text) into topics and describes them.
pub fn discover_topics(
    texts: &[&str],
    embeddings: &Embeddings,
    options: &TopicOptions,
) -> Result<TopicModel> {
    if embeddings.len() != texts.len() {
        return Err(TextError::InvalidRequest(format!(
            "{} texts but {} embeddings",
            texts.len(),
            embeddings.len()
        )));
    }
    let centred;
    let embeddings = if options.center {
        centred = center(embeddings);
        &centred
    } else {
        embeddings
    };
    let data = Matrix::new(embeddings.values.clone(), embeddings.dim)?;
    let config = KMeansConfig {
        init_runs: options.init_runs.max(1),
        seed: options.seed,
        ..KMeansConfig::new(2)
    };
    let (labels, candidates, k) = match &options.count {
        TopicCount::Fixed(k) => {
            let model = KMeans::fit(&data, &KMeansConfig { k: *k, ..config })?;
            let candidate = KCandidate { k: *k, inertia: model.inertia, silhouette: f64::NAN };
            (model.labels, vec![candidate], *k)
        }
        TopicCount::BySilhouette(range) => {
            // More clusters than rows minus one has no silhouette.
            let top = (*range.end()).min(texts.len().saturating_sub(1));
            let chosen = choose_k(&data, *range.start()..=top, &config, options.silhouette_sample)?;
            (chosen.model.labels, chosen.candidates, chosen.best_k)
        }
    };
    // Renumber by size, largest first (ties by the old number), so that the
    // ids read well and do not depend on the seeding order.
    let mut sizes = vec![0usize; k];
    for &label in &labels {
        sizes[label] += 1;
    }
    let mut order: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(sizes[c]), c));
    let mut new_id = vec![0usize; k];
    for (id, &old) in order.iter().enumerate() {
        new_id[old] = id;
    }
    let assignments: Vec<usize> = labels.iter().map(|&label| new_id[label]).collect();
    let topic_count = order.len();

    let words: Vec<Vec<String>> = texts.iter().map(|text| keyword_words(text)).collect();
    let keywords = class_tf_idf(&words, &assignments, topic_count, options.keywords);
    let topics = (0..topic_count)
        .map(|id| {
            let members: Vec<usize> = (0..texts.len()).filter(|&i| assignments[i] == id).collect();
            Topic {
                id,
                size: members.len(),
                share: members.len() as f64 / texts.len().max(1) as f64,
                keywords: keywords[id].clone(),
                representatives: central_rows(texts, embeddings, &members, options.representatives),
            }
        })
        .collect();
    Ok(TopicModel { assignments, topics, candidates })
}

/// The `count` members closest (by cosine) to the members' mean, with
/// repeated texts taken once.
fn central_rows(
    texts: &[&str],
    embeddings: &Embeddings,
    members: &[usize],
    count: usize,
) -> Vec<usize> {
    let mut centre = vec![0f64; embeddings.dim];
    for &row in members {
        for (sum, value) in centre.iter_mut().zip(embeddings.row(row)) {
            *sum += f64::from(*value);
        }
    }
    let centre_norm = centre.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    let cosine = |row: usize| {
        let values = embeddings.row(row);
        let dot: f64 = values.iter().zip(&centre).map(|(v, c)| f64::from(*v) * c).sum();
        let norm = values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt().max(1e-12);
        dot / (norm * centre_norm)
    };
    let mut ranked: Vec<(f64, usize)> = members.iter().map(|&row| (cosine(row), row)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = Vec::new();
    for (_, row) in ranked {
        if chosen.len() == count {
            break;
        }
        if !chosen.iter().any(|&c| texts[c].trim() == texts[row].trim()) {
            chosen.push(row);
        }
    }
    chosen
}

/// The `top` words of each class by class-based TF-IDF: the word's share of
/// the class's words times `ln(1 + A / f)`, `f` the word's count over all
/// classes and `A` the mean number of words per class. Ties go to the word
/// first in alphabetical order, so the output is deterministic.
pub fn class_tf_idf(
    documents: &[Vec<String>],
    classes: &[usize],
    class_count: usize,
    top: usize,
) -> Vec<Vec<(String, f64)>> {
    let mut counts: Vec<HashMap<&str, f64>> = vec![HashMap::new(); class_count];
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for (words, &class) in documents.iter().zip(classes) {
        for word in words {
            *counts[class].entry(word.as_str()).or_default() += 1.0;
            *totals.entry(word.as_str()).or_default() += 1.0;
        }
    }
    let all_words: f64 = totals.values().sum();
    let mean_words = all_words / class_count.max(1) as f64;
    counts
        .iter()
        .map(|class_counts| {
            let class_words: f64 = class_counts.values().sum();
            let mut weights: Vec<(String, f64)> = class_counts
                .iter()
                .map(|(word, count)| {
                    let idf = (1.0 + mean_words / totals[word]).ln();
                    (word.to_string(), count / class_words.max(1.0) * idf)
                })
                .collect();
            weights.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            weights.truncate(top);
            weights
        })
        .collect()
}

/// Dense word TF-IDF vectors over [`keyword_words`] (jieba words for
/// Chinese, English words without stop words), hashed into 2^`hash_bits`
/// columns, L2-normalised: the words topics are described by, as vectors.
pub fn keyword_vectors(texts: &[&str], hash_bits: u32) -> Embeddings {
    let dim = 1usize << hash_bits;
    let counts: Vec<SparseRow> = texts
        .iter()
        .map(|text| {
            let mut buckets: Vec<u32> = keyword_words(text)
                .iter()
                .map(|word| {
                    (xxhash_rust::xxh3::xxh3_64(word.as_bytes()) as usize & (dim - 1)) as u32
                })
                .collect();
            buckets.sort_unstable();
            let mut row: SparseRow = Vec::new();
            for bucket in buckets {
                match row.last_mut() {
                    Some((last, count)) if *last == bucket => *count += 1.0,
                    _ => row.push((bucket, 1.0)),
                }
            }
            row
        })
        .collect();
    dense_tf_idf(&counts, dim)
}

fn dense_tf_idf(counts: &[SparseRow], dim: usize) -> Embeddings {
    let refs: Vec<&SparseRow> = counts.iter().collect();
    let idf = inverse_document_frequencies(&refs, dim);
    let mut values = vec![0f32; counts.len() * dim];
    for (row, counts) in counts.iter().enumerate() {
        for (bucket, value) in tf_idf(counts, &idf) {
            values[row * dim + bucket as usize] = value;
        }
    }
    Embeddings { dim, values }
}

/// Subtracts the mean row and scales every row to unit length again.
/// Sentence embeddings share a large common direction (the cosines of
/// unrelated reviews are still ~0.8), which K-Means would otherwise spend its
/// distances on.
pub fn center(embeddings: &Embeddings) -> Embeddings {
    let rows = embeddings.len().max(1) as f64;
    let mut mean = vec![0f64; embeddings.dim];
    for row in embeddings.rows() {
        for (sum, value) in mean.iter_mut().zip(row) {
            *sum += f64::from(*value);
        }
    }
    let mut values = Vec::with_capacity(embeddings.values.len());
    for row in embeddings.rows() {
        let centred: Vec<f64> =
            row.iter().zip(&mean).map(|(v, m)| f64::from(*v) - m / rows).collect();
        let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        values.extend(centred.iter().map(|v| (v / norm) as f32));
    }
    Embeddings { dim: embeddings.dim, values }
}

/// Dense character n-gram TF-IDF vectors, L2-normalised: a cheap stand-in
/// for transformer embeddings (no weights, no model run) when only coarse
/// themes matter, or in tests. `hash_bits` sets the width (2^bits).
pub fn ngram_vectors(texts: &[&str], hash_bits: u32) -> Embeddings {
    let config = NgramConfig { min_n: 1, max_n: 3, hash_bits };
    let counts: Vec<SparseRow> = texts.iter().map(|text| config.counts(text)).collect();
    dense_tf_idf(&counts, config.buckets())
}

/// How well topics recover known classes (a category column, say).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Share of rows whose topic's most common class is their own.
    pub purity: f64,
    /// Normalised mutual information (arithmetic mean of the entropies, as
    /// scikit-learn's default).
    pub nmi: f64,
    /// Adjusted Rand index: 0 for chance, 1 for the same partition.
    pub ari: f64,
}

/// Compares two labelings of the same rows.
pub fn agreement(topics: &[usize], classes: &[usize]) -> Agreement {
    let n = topics.len().min(classes.len());
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let mut topic_sizes: HashMap<usize, f64> = HashMap::new();
    let mut class_sizes: HashMap<usize, f64> = HashMap::new();
    for (&t, &c) in topics.iter().zip(classes).take(n) {
        *table.entry((t, c)).or_default() += 1.0;
        *topic_sizes.entry(t).or_default() += 1.0;
        *class_sizes.entry(c).or_default() += 1.0;
    }
    let total = n as f64;
    if n == 0 {
        return Agreement { purity: 0.0, nmi: 0.0, ari: 0.0 };
    }
    // Sums in a fixed order, so that the result does not depend on hashing.
    let mut cells: Vec<((usize, usize), f64)> = table.into_iter().collect();
    cells.sort_by_key(|(key, _)| *key);
    let sorted_sizes = |sizes: HashMap<usize, f64>| {
        let mut sizes: Vec<(usize, f64)> = sizes.into_iter().collect();
        sizes.sort_by_key(|(key, _)| *key);
        sizes
    };
    let topic_sizes = sorted_sizes(topic_sizes);
    let class_sizes = sorted_sizes(class_sizes);
    let mut best_per_topic: HashMap<usize, f64> = HashMap::new();
    for &((t, _), count) in &cells {
        let best = best_per_topic.entry(t).or_default();
        *best = best.max(count);
    }
    let purity = topic_sizes.iter().map(|(t, _)| best_per_topic[t]).sum::<f64>() / total;

    let entropy = |sizes: &[(usize, f64)]| -> f64 {
        sizes.iter().map(|(_, s)| s / total).filter(|p| *p > 0.0).map(|p| -p * p.ln()).sum()
    };
    let topic_of: HashMap<usize, f64> = topic_sizes.iter().copied().collect();
    let class_of: HashMap<usize, f64> = class_sizes.iter().copied().collect();
    let mutual: f64 = cells
        .iter()
        .map(|&((t, c), count)| {
            let p = count / total;
            p * (count * total / (topic_of[&t] * class_of[&c])).ln()
        })
        .sum();
    let mean_entropy = (entropy(&topic_sizes) + entropy(&class_sizes)) / 2.0;
    let nmi = if mean_entropy > 0.0 { (mutual / mean_entropy).clamp(0.0, 1.0) } else { 1.0 };

    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let index: f64 = cells.iter().map(|(_, count)| pairs(*count)).sum();
    let topic_pairs: f64 = topic_sizes.iter().map(|(_, s)| pairs(*s)).sum();
    let class_pairs: f64 = class_sizes.iter().map(|(_, s)| pairs(*s)).sum();
    let expected = topic_pairs * class_pairs / pairs(total).max(1.0);
    let maximum = (topic_pairs + class_pairs) / 2.0;
    let ari = if (maximum - expected).abs() > 0.0 {
        (index - expected) / (maximum - expected)
    } else {
        1.0
    };
    Agreement { purity, nmi, ari }
}
