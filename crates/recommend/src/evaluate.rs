//! The next-click evaluation protocol and its metrics.
//!
//! For every test session (clicks in time order) and every position `i ≥ 1`, the model
//! sees only the first `i` clicks and ranks `k` items; the click at `i` is the target.
//! Targets on items the model never saw in training are skipped (no model can rank
//! them); history clicks on unknown items are dropped from the prefix. The model is
//! trained before evaluation starts and is only read here, so no test click can reach
//! training.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::HistoryItem;
use crate::data::{Dataset, Session};
use crate::interactions::Weights;
use crate::model::UserFilter;
use crate::recommender::Recommender;

/// Offline ranking metrics at cut-off `k`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub k: usize,
    /// Ranked lists scored.
    pub predictions: usize,
    /// Recall@k; with one target per list it is the hit rate.
    pub recall: f64,
    /// Mean reciprocal rank of the first hit within the top k (0 for a miss).
    pub mrr: f64,
    /// Normalised discounted cumulative gain with binary relevance.
    pub ndcg: f64,
    /// Share of the catalogue that appears in at least one list.
    pub coverage: f64,
    /// Mean popularity of recommended items, relative to the most popular item (0..1).
    pub popularity_bias: f64,
}

/// Sums for [`Metrics`], mergeable across threads.
#[derive(Clone, Debug)]
pub struct MetricsAccumulator {
    k: usize,
    predictions: usize,
    recall: f64,
    reciprocal_rank: f64,
    ndcg: f64,
    recommended: Vec<bool>,
    popularity: f64,
    recommended_count: usize,
}

impl MetricsAccumulator {
    /// For lists of length `k` over a catalogue of `items` items.
    pub fn new(k: usize, items: usize) -> Self {
        Self {
            k,
            predictions: 0,
            recall: 0.0,
            reciprocal_rank: 0.0,
            ndcg: 0.0,
            recommended: vec![false; items],
            popularity: 0.0,
            recommended_count: 0,
        }
    }

    /// Scores one ranked list (best first; only its first `k` count) against the
    /// relevant items. `relative_popularity[item]` is in 0..1.
    pub fn add(&mut self, list: &[u32], relevant: &[u32], relative_popularity: &[f32]) {
        let list = &list[..list.len().min(self.k)];
        self.predictions += 1;
        let mut hits = 0usize;
        let mut first_hit = None;
        let mut gain = 0.0;
        for (rank, item) in list.iter().enumerate() {
            if relevant.contains(item) {
                hits += 1;
                first_hit.get_or_insert(rank + 1);
                gain += 1.0 / ((rank + 2) as f64).log2();
            }
            self.recommended[*item as usize] = true;
            self.popularity += f64::from(relative_popularity[*item as usize]);
            self.recommended_count += 1;
        }
        if relevant.is_empty() {
            return;
        }
        let ideal: f64 =
            (0..relevant.len().min(self.k)).map(|rank| 1.0 / ((rank + 2) as f64).log2()).sum();
        self.recall += hits as f64 / relevant.len() as f64;
        self.reciprocal_rank += first_hit.map_or(0.0, |rank| 1.0 / rank as f64);
        self.ndcg += gain / ideal;
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.predictions += other.predictions;
        self.recall += other.recall;
        self.reciprocal_rank += other.reciprocal_rank;
        self.ndcg += other.ndcg;
        self.recommended.iter_mut().zip(other.recommended).for_each(|(a, b)| *a |= b);
        self.popularity += other.popularity;
        self.recommended_count += other.recommended_count;
        self
    }

    pub fn finish(&self) -> Metrics {
        let per_list =
            |sum: f64| if self.predictions == 0 { 0.0 } else { sum / self.predictions as f64 };
        let items = self.recommended.len().max(1) as f64;
        Metrics {
            k: self.k,
            predictions: self.predictions,
            recall: per_list(self.recall),
            mrr: per_list(self.reciprocal_rank),
            ndcg: per_list(self.ndcg),
            coverage: self.recommended.iter().filter(|&&seen| seen).count() as f64 / items,
            popularity_bias: if self.recommended_count == 0 {
                0.0
            } else {
                self.popularity / self.recommended_count as f64
            },
        }
    }
}

/// A model's view of one test session: its clicks mapped to the model's item indices
/// (`None` for items the model never saw), with event weights.
pub fn session_clicks(
    session: &Session,
    model_items: &[Option<u32>],
    weights: &Weights,
) -> Vec<(Option<u32>, f32)> {
    session
        .clicks
        .iter()
        .map(|click| (model_items[click.item as usize], weights.of(click.kind)))
        .collect()
}

/// For each test item index, the model's index of the same outside id.
pub fn map_items(test: &Dataset, model: &crate::data::Vocabulary) -> Vec<Option<u32>> {
    test.items.names().iter().map(|name| model.get(name)).collect()
}

/// The known clicks of the first `position` clicks, as a model history.
fn prefix(clicks: &[(Option<u32>, f32)], position: usize) -> Vec<HistoryItem> {
    clicks[..position]
        .iter()
        .filter_map(|&(item, weight)| item.map(|item| HistoryItem { item, weight }))
        .collect()
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub metrics: Metrics,
    pub test_sessions: usize,
    /// Next clicks not scored because the model never saw their item.
    pub skipped_unknown_targets: usize,
}

/// Runs the next-click protocol with any ranking function `rank(history, k)`, so the
/// protocol itself can be tested apart from the models.
pub fn evaluate_with<F>(
    test: &Dataset,
    model_items: &[Option<u32>],
    weights: &Weights,
    relative_popularity: &[f32],
    k: usize,
    rank: F,
) -> Evaluation
where
    F: Fn(&[HistoryItem], usize) -> Vec<u32> + Sync,
{
    let items = relative_popularity.len();
    let (accumulator, skipped) =
        score_in_order(&test.sessions, k, items, relative_popularity, |session| {
            let clicks = session_clicks(session, model_items, weights);
            let mut lists = Vec::with_capacity(clicks.len().saturating_sub(1));
            let mut skipped = 0usize;
            for position in 1..clicks.len() {
                let Some(target) = clicks[position].0 else {
                    skipped += 1;
                    continue;
                };
                lists.push((rank(&prefix(&clicks, position), k), vec![target]));
            }
            (lists, skipped)
        });
    Evaluation {
        metrics: accumulator.finish(),
        test_sessions: test.sessions.len(),
        skipped_unknown_targets: skipped,
    }
}

/// Popularity of each item relative to the most popular one.
pub fn relative_popularity(popularity: &[f32]) -> Vec<f32> {
    let most = popularity.iter().copied().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE);
    popularity.iter().map(|&p| p / most).collect()
}

/// Evaluates a trained model on `test` by the next-click protocol.
pub fn evaluate<M: Recommender>(model: &M, test: &Dataset, k: usize) -> Evaluation {
    let model_items = map_items(test, model.item_vocabulary());
    let popularity = relative_popularity(model.item_popularity());
    let scratch = thread_local_scratch(model);
    evaluate_with(test, &model_items, model.event_weights(), &popularity, k, |history, k| {
        scratch.with(|scratch| {
            model.next_items(history, k, scratch).into_iter().map(|(item, _)| item).collect()
        })
    })
}

/// Per-thread scratch buffers for one model (rayon threads are reused across calls).
struct ThreadScratch<'a, M: Recommender> {
    model: &'a M,
    pool: std::sync::Mutex<Vec<M::Scratch>>,
}

fn thread_local_scratch<M: Recommender>(model: &M) -> ThreadScratch<'_, M> {
    ThreadScratch { model, pool: std::sync::Mutex::new(Vec::new()) }
}

impl<M: Recommender> ThreadScratch<'_, M> {
    fn with<R>(&self, work: impl FnOnce(&mut M::Scratch) -> R) -> R {
        let taken = self.pool.lock().map(|mut pool| pool.pop()).unwrap_or(None);
        let mut scratch = taken.unwrap_or_else(|| self.model.new_scratch());
        let result = work(&mut scratch);
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(scratch);
        }
        result
    }
}

/// One line of `recommend next`: the top items after the first `position` clicks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextPrediction {
    pub session: usize,
    pub position: usize,
    pub items: Vec<u32>,
}

/// For every session of `sessions` and every position `i` in `1..=len`, the model's top
/// `k` items after the first `i` clicks, in session and position order.
pub fn predict_next<M: Recommender>(
    model: &M,
    sessions: &Dataset,
    k: usize,
) -> Vec<NextPrediction> {
    let model_items = map_items(sessions, model.item_vocabulary());
    let scratch = thread_local_scratch(model);
    sessions
        .sessions
        .par_iter()
        .enumerate()
        .flat_map_iter(|(index, session)| {
            let clicks = session_clicks(session, &model_items, model.event_weights());
            (1..=clicks.len())
                .map(|position| {
                    let history = prefix(&clicks, position);
                    let items = scratch.with(|scratch| {
                        model
                            .next_items(&history, k, scratch)
                            .into_iter()
                            .map(|(item, _)| item)
                            .collect()
                    });
                    NextPrediction { session: index, position, items }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Latency of queries issued one at a time from one thread (a query may use several
/// cores inside: ALS splits a large catalogue scan), in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub queries: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// Times up to `queries` next-click queries of `test`, one at a time on this thread.
pub fn measure_latency<M: Recommender>(
    model: &M,
    test: &Dataset,
    k: usize,
    queries: usize,
) -> Latency {
    let model_items = map_items(test, model.item_vocabulary());
    let mut scratch = model.new_scratch();
    let mut times = Vec::with_capacity(queries);
    'sessions: for session in &test.sessions {
        let clicks = session_clicks(session, &model_items, model.event_weights());
        for position in 1..clicks.len() {
            if times.len() == queries {
                break 'sessions;
            }
            let history = prefix(&clicks, position);
            let started = Instant::now();
            let list = model.next_items(&history, k, &mut scratch);
            times.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(list);
        }
    }
    Latency::from_times(times)
}

impl Latency {
    fn from_times(mut times: Vec<f64>) -> Self {
        times.sort_by(f64::total_cmp);
        let at = |quantile: f64| {
            if times.is_empty() {
                0.0
            } else {
                times[((times.len() - 1) as f64 * quantile).round() as usize]
            }
        };
        Latency { queries: times.len(), p50_us: at(0.5), p99_us: at(0.99), max_us: at(1.0) }
    }
}

/// Times user-level queries (a whole list from the user's history, with filters and
/// explanations) for up to `queries` distinct users of `test` the model knows.
pub fn measure_user_latency<M: Recommender>(
    model: &M,
    test: &Dataset,
    k: usize,
    filter: &UserFilter,
    queries: usize,
) -> Latency {
    let mut times = Vec::with_capacity(queries);
    let mut seen = std::collections::HashSet::new();
    for session in &test.sessions {
        if times.len() == queries {
            break;
        }
        let user = test.users.name(session.user);
        if !seen.insert(session.user) || model.user_vocabulary().get(user).is_none() {
            continue;
        }
        let started = Instant::now();
        let list = model.user_items(user, k, filter);
        times.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(list);
    }
    Latency::from_times(times)
}

/// User-level evaluation on a time split: each test user the model knows gets one list
/// from their training history (filtered as in serving); relevant are the items they
/// interacted with in the test period.
pub fn evaluate_users<M: Recommender>(
    model: &M,
    test: &Dataset,
    k: usize,
    filter: &UserFilter,
) -> Metrics {
    let model_items = map_items(test, model.item_vocabulary());
    let popularity = relative_popularity(model.item_popularity());
    let mut relevant: Vec<Vec<u32>> = vec![Vec::new(); test.users.len()];
    for session in &test.sessions {
        for click in &session.clicks {
            if let Some(item) = model_items[click.item as usize] {
                relevant[session.user as usize].push(item);
            }
        }
    }
    let users: Vec<(usize, Vec<u32>)> = relevant
        .into_iter()
        .enumerate()
        .filter(|(_, items)| !items.is_empty())
        .map(|(user, mut items)| {
            items.sort_unstable();
            items.dedup();
            (user, items)
        })
        .collect();
    let (accumulator, _) =
        score_in_order(&users, k, popularity.len(), &popularity, |(user, items)| {
            let list = model.user_items(test.users.name(*user as u32), k, filter);
            let lists = list.map(|list| {
                let list: Vec<u32> =
                    list.iter().filter_map(|r| model.item_vocabulary().get(&r.item)).collect();
                (list, items.clone())
            });
            (lists.into_iter().collect(), 0)
        });
    accumulator.finish()
}

/// Ranked lists scored per input: `(list, relevant items)` pairs and a count of
/// skipped targets.
type Scored = (Vec<(Vec<u32>, Vec<u32>)>, usize);

/// Ranks the inputs in parallel but adds their lists up in input order, so the
/// floating-point sums, and with them the metrics, are the same bits on every run
/// whatever the thread count or work stealing did.
fn score_in_order<T, F>(
    inputs: &[T],
    k: usize,
    items: usize,
    relative_popularity: &[f32],
    rank: F,
) -> (MetricsAccumulator, usize)
where
    T: Sync,
    F: Fn(&T) -> Scored + Sync,
{
    // Chunks bound the memory held by ranked lists waiting to be added.
    const CHUNK: usize = 4096;
    let mut accumulator = MetricsAccumulator::new(k, items);
    let mut skipped = 0;
    for chunk in inputs.chunks(CHUNK) {
        let scored: Vec<Scored> = chunk.par_iter().map(&rank).collect();
        for (lists, chunk_skipped) in scored {
            skipped += chunk_skipped;
            for (list, relevant) in lists {
                accumulator.add(&list, &relevant, relative_popularity);
            }
        }
    }
    (accumulator, skipped)
}
