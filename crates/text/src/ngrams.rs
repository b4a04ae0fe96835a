//! Hashed character n-gram TF-IDF features.
//!
//! Characters rather than words because Chinese has no spaces and a
//! character bigram already carries most of a word's meaning, and because
//! for English they are robust to misspellings. Every n-gram is hashed into
//! one of `2^hash_bits` buckets, so no vocabulary has to be stored.

use serde::{Deserialize, Serialize};
use unicode_normalization_alignments::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

/// Which n-grams are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NgramConfig {
    pub min_n: usize,
    pub max_n: usize,
    pub hash_bits: u32,
}

impl Default for NgramConfig {
    fn default() -> Self {
        NgramConfig { min_n: 1, max_n: 4, hash_bits: 21 }
    }
}

/// A sparse row: sorted bucket indices with their values.
pub type SparseRow = Vec<(u32, f32)>;

impl NgramConfig {
    pub fn buckets(&self) -> usize {
        1 << self.hash_bits
    }

    /// Bucket counts of the text's n-grams (sorted by bucket). The text is
    /// NFKC-normalised (full-width punctuation and letters become their
    /// ASCII forms), lowercased, its whitespace collapsed, and framed by
    /// spaces so word starts and ends form their own n-grams.
    pub fn counts(&self, text: &str) -> SparseRow {
        let mut chars = vec![' '];
        for (c, _) in text.nfkc() {
            let c = if c.is_whitespace() { ' ' } else { c };
            if c == ' ' && chars.last() == Some(&' ') {
                continue;
            }
            chars.extend(c.to_lowercase());
        }
        if chars.last() != Some(&' ') {
            chars.push(' ');
        }
        let mask = (self.buckets() - 1) as u64;
        let mut buckets: Vec<u32> = Vec::new();
        let mut gram = String::new();
        for n in self.min_n..=self.max_n {
            for window in chars.windows(n) {
                if n == 1 && window[0] == ' ' {
                    continue;
                }
                gram.clear();
                gram.extend(window);
                // The length goes into the hash so that, say, a bigram and a
                // trigram never share a bucket by construction.
                buckets.push((xxh3_64(gram.as_bytes()).wrapping_add(n as u64) & mask) as u32);
            }
        }
        buckets.sort_unstable();
        let mut row: SparseRow = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            match row.last_mut() {
                Some((last, count)) if *last == bucket => *count += 1.0,
                _ => row.push((bucket, 1.0)),
            }
        }
        row
    }
}

/// Smoothed inverse document frequencies over `rows`, as scikit-learn
/// computes them: `ln((1 + n) / (1 + df)) + 1`.
pub fn inverse_document_frequencies(rows: &[&SparseRow], buckets: usize) -> Vec<f32> {
    let mut document_frequency = vec![0u32; buckets];
    for row in rows {
        for &(bucket, _) in row.iter() {
            document_frequency[bucket as usize] += 1;
        }
    }
    let n = rows.len() as f32;
    document_frequency.into_iter().map(|df| ((1.0 + n) / (1.0 + df as f32)).ln() + 1.0).collect()
}

/// Sublinear TF × IDF, L2-normalised.
pub fn tf_idf(counts: &SparseRow, idf: &[f32]) -> SparseRow {
    let mut row: SparseRow = counts
        .iter()
        .map(|&(bucket, count)| (bucket, (1.0 + count.ln()) * idf[bucket as usize]))
        .collect();
    let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, value) in &mut row {
            *value /= norm;
        }
    }
    row
}
