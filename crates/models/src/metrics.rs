//! Binary classification metrics on scores (probabilities of the positive
//! class) and 0/1 labels, and regression metrics on predicted values,
//! including the concordance index of predicted times against right-censored
//! ones.

use serde::{Deserialize, Serialize};

use crate::error::{ModelsError, Result};

/// Counts at a threshold: predicted positive when score ≥ threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub true_positives: u64,
    pub false_positives: u64,
    pub true_negatives: u64,
    pub false_negatives: u64,
}

/// One tenth of the rows, ranked by score (decile 1 = highest scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    pub decile: usize,
    pub rows: usize,
    pub positives: f64,
    /// Positive rate in this decile.
    pub rate: f64,
    /// Rate over the overall positive rate.
    pub lift: f64,
    /// Share of all positives found in deciles 1..=this one.
    pub cumulative_gain: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricReport {
    pub rows: usize,
    pub positives: f64,
    pub threshold: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    /// Average precision (the step-wise area under the precision–recall curve).
    pub pr_auc: f64,
    pub log_loss: f64,
    pub confusion: ConfusionMatrix,
    pub deciles: Vec<Decile>,
}

fn check(scores: &[f64], labels: &[f64]) -> Result<()> {
    if scores.len() != labels.len() || scores.is_empty() {
        return Err(ModelsError::InvalidData(format!(
            "metrics need as many scores as labels, and at least one ({} scores, {} labels)",
            scores.len(),
            labels.len()
        )));
    }
    Ok(())
}

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (via average ranks).
/// NaN when only one class is present.
pub fn roc_auc(scores: &[f64], labels: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|y| **y > 0.5).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        for &i in &order[start..=end] {
            if labels[i] > 0.5 {
                positive_rank_sum += average_rank;
            }
        }
        start = end + 1;
    }
    (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Rows sorted by descending score, grouped into runs of equal score:
/// (true positives so far, false positives so far) after each group.
fn descending_groups(scores: &[f64], labels: &[f64]) -> Vec<(f64, f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut groups = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] > 0.5 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_group = k + 1 == order.len() || scores[order[k + 1]] != scores[i];
        if last_of_group {
            groups.push((scores[i], tp, fp));
        }
    }
    groups
}

/// Average precision: Σ (recallₙ − recallₙ₋₁) · precisionₙ over the distinct
/// score thresholds (as scikit-learn's `average_precision_score`).
pub fn pr_auc(scores: &[f64], labels: &[f64]) -> f64 {
    let positives = labels.iter().filter(|y| **y > 0.5).count() as f64;
    if positives == 0.0 {
        return f64::NAN;
    }
    let mut previous_recall = 0.0;
    let mut area = 0.0;
    for (_, tp, fp) in descending_groups(scores, labels) {
        let recall = tp / positives;
        area += (recall - previous_recall) * tp / (tp + fp);
        previous_recall = recall;
    }
    area
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(scores: &[f64], labels: &[f64]) -> f64 {
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(p, y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if *y > 0.5 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    total / scores.len() as f64
}

/// The ROC curve's corners (false positive rate, true positive rate), from (0, 0) to (1, 1).
pub fn roc_curve(scores: &[f64], labels: &[f64]) -> Vec<(f64, f64)> {
    let positives = labels.iter().filter(|y| **y > 0.5).count().max(1) as f64;
    let negatives = (labels.len() as f64 - positives).max(1.0);
    let mut points = vec![(0.0, 0.0)];
    points.extend(
        descending_groups(scores, labels)
            .into_iter()
            .map(|(_, tp, fp)| (fp / negatives, tp / positives)),
    );
    points
}

/// The true positive rate at each of `grid`'s false positive rates: the
/// highest corner at or before it, linear towards the next corner (a
/// fixed-size curve for charts).
pub fn roc_curve_on_grid(scores: &[f64], labels: &[f64], grid: &[f64]) -> Vec<f64> {
    let curve = roc_curve(scores, labels);
    grid.iter()
        .map(|&fpr| {
            let last = curve.partition_point(|p| p.0 <= fpr).max(1) - 1;
            let (x0, y0) = curve[last];
            match curve.get(last + 1) {
                Some(&(x1, y1)) if x1 > x0 => y0 + (y1 - y0) * (fpr - x0).max(0.0) / (x1 - x0),
                _ => y0,
            }
        })
        .collect()
}

pub fn confusion_matrix(scores: &[f64], labels: &[f64], threshold: f64) -> ConfusionMatrix {
    let mut m = ConfusionMatrix {
        true_positives: 0,
        false_positives: 0,
        true_negatives: 0,
        false_negatives: 0,
    };
    for (score, y) in scores.iter().zip(labels) {
        match (*score >= threshold, *y > 0.5) {
            (true, true) => m.true_positives += 1,
            (true, false) => m.false_positives += 1,
            (false, false) => m.true_negatives += 1,
            (false, true) => m.false_negatives += 1,
        }
    }
    m
}

/// Lift and cumulative gain per decile of rows ranked by descending score;
/// decile k holds rows ⌊(k−1)n/10⌋..⌊kn/10⌋, ties kept in input order.
pub fn deciles(scores: &[f64], labels: &[f64]) -> Vec<Decile> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let total_positives: f64 = labels.iter().filter(|y| **y > 0.5).count() as f64;
    let overall_rate = total_positives / n.max(1) as f64;
    let mut found = 0.0;
    (1..=10)
        .map(|decile| {
            let rows = &order[(decile - 1) * n / 10..decile * n / 10];
            let positives = rows.iter().filter(|&&i| labels[i] > 0.5).count() as f64;
            found += positives;
            let rate = if rows.is_empty() { 0.0 } else { positives / rows.len() as f64 };
            Decile {
                decile,
                rows: rows.len(),
                positives,
                rate,
                lift: if overall_rate > 0.0 { rate / overall_rate } else { 0.0 },
                cumulative_gain: if total_positives > 0.0 { found / total_positives } else { 0.0 },
            }
        })
        .collect()
}

impl MetricReport {
    /// Every metric of `scores` against `labels`, classifying at `threshold`.
    pub fn compute(scores: &[f64], labels: &[f64], threshold: f64) -> Result<MetricReport> {
        check(scores, labels)?;
        let confusion = confusion_matrix(scores, labels, threshold);
        let tp = confusion.true_positives as f64;
        let fp = confusion.false_positives as f64;
        let fn_ = confusion.false_negatives as f64;
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Ok(MetricReport {
            rows: scores.len(),
            positives: labels.iter().filter(|y| **y > 0.5).count() as f64,
            threshold,
            accuracy: (tp + confusion.true_negatives as f64) / scores.len() as f64,
            precision,
            recall,
            f1,
            roc_auc: roc_auc(scores, labels),
            pr_auc: pr_auc(scores, labels),
            log_loss: log_loss(scores, labels),
            confusion,
            deciles: deciles(scores, labels),
        })
    }
}

/// Mean absolute error; NaN without rows.
pub fn mean_absolute_error(predicted: &[f64], actual: &[f64]) -> f64 {
    let total: f64 = predicted.iter().zip(actual).map(|(p, a)| (p - a).abs()).sum();
    total / predicted.len() as f64
}

/// Root mean squared error; NaN without rows.
pub fn root_mean_squared_error(predicted: &[f64], actual: &[f64]) -> f64 {
    let total: f64 = predicted.iter().zip(actual).map(|(p, a)| (p - a) * (p - a)).sum();
    (total / predicted.len() as f64).sqrt()
}

/// Harrell's concordance index of predicted times against observed times
/// that may be right-censored (`observed[i]` false: the event had not happened
/// by `times[i]`). A pair is comparable when the earlier time is an observed
/// event; it is concordant when that row also has the smaller predicted time,
/// and a tie in prediction counts one half. 1 ranks perfectly, 0.5 is chance;
/// NaN when no pair is comparable. O(n log n): rows are visited from the
/// latest time down while a Fenwick tree counts the predictions seen so far.
pub fn concordance_index(predicted: &[f64], times: &[f64], observed: &[bool]) -> f64 {
    let n = predicted.len();
    let mut distinct: Vec<f64> = predicted.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let rank = |value: f64| distinct.partition_point(|d| d.total_cmp(&value).is_lt());
    let mut seen = vec![0u64; distinct.len() + 1];
    let count_up_to = |seen: &[u64], rank: usize| {
        // Rows seen so far with a prediction rank below `rank`.
        let (mut count, mut i) = (0, rank);
        while i > 0 {
            count += seen[i];
            i &= i - 1;
        }
        count
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| times[b].total_cmp(&times[a]));
    let (mut concordant, mut tied, mut discordant, mut inserted) = (0u64, 0u64, 0u64, 0u64);
    let mut start = 0;
    while start < n {
        let mut end = start;
        while end < n && times[order[end]] == times[order[start]] {
            end += 1;
        }
        // Every row inserted so far has a strictly later time.
        for &row in &order[start..end] {
            if observed[row] {
                let r = rank(predicted[row]);
                let below = count_up_to(&seen, r);
                let up_to_equal = count_up_to(&seen, r + 1);
                discordant += below;
                tied += up_to_equal - below;
                concordant += inserted - up_to_equal;
            }
        }
        for &row in &order[start..end] {
            let mut i = rank(predicted[row]) + 1;
            while i < seen.len() {
                seen[i] += 1;
                i += i & i.wrapping_neg();
            }
            inserted += 1;
        }
        start = end;
    }
    let comparable = concordant + tied + discordant;
    if comparable == 0 {
        return f64::NAN;
    }
    (concordant as f64 + 0.5 * tied as f64) / comparable as f64
}
