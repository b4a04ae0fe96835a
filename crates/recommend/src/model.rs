//! A trained recommender: the algorithm's state plus what every model keeps (the item and
//! user vocabularies, each user's history, item popularity), training and saving.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::HistoryItem;
use crate::als::{Als, AlsConfig, train_als};
use crate::data::{Dataset, Vocabulary};
use crate::error::{RecommendError, Result};
use crate::interactions::{Csr, TrainingData, Weights};
use crate::item_graph::{EaseConfig, ItemGraph, ItemKnnConfig, train_ease, train_item_knn};
use crate::neighbours::{NeighbourConfig, Neighbours, train_neighbours};
use crate::recommender::Recommender;
use crate::scratch::{Scratch, top_k};
use crate::storage::{ArrayReader, ArrayWriter};

/// An algorithm and its hyper-parameters; saved with the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Algorithm {
    /// The most clicked items, the same for everyone.
    Popular,
    ItemKnn(ItemKnnConfig),
    UserKnn(NeighbourConfig),
    Sknn(NeighbourConfig),
    Vsknn(NeighbourConfig),
    Ease(EaseConfig),
    Als(AlsConfig),
    /// V-SKNN and sequential item-kNN, each scaled to its best score, added up.
    Hybrid(HybridConfig),
}

/// Hyper-parameters of the hybrid of session neighbours and item neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HybridConfig {
    pub sessions: NeighbourConfig,
    pub items: ItemKnnConfig,
    /// The item-kNN part's weight; the session part weighs 1.
    pub item_weight: f32,
}

impl Default for HybridConfig {
    fn default() -> Self {
        Self {
            sessions: NeighbourConfig {
                neighbours: 200,
                position_decay: crate::neighbours::PositionDecay::Harmonic,
                match_decay: 2.0,
                before_match: 0.5,
                recency_days: 5.0,
                ..NeighbourConfig::vsknn()
            },
            items: ItemKnnConfig {
                sequential: true,
                alpha: 1.0,
                shrink: 20.0,
                history_decay: 0.5,
                ..ItemKnnConfig::default()
            },
            item_weight: 0.5,
        }
    }
}

impl Algorithm {
    /// The names `--algo` takes.
    pub const NAMES: &[&str] =
        &["popular", "item-knn", "user-knn", "sknn", "vsknn", "ease", "als", "hybrid"];

    /// The algorithm with its default hyper-parameters.
    pub fn with_defaults(name: &str) -> Option<Self> {
        Some(match name {
            "popular" => Algorithm::Popular,
            "item-knn" => Algorithm::ItemKnn(ItemKnnConfig::default()),
            "user-knn" => Algorithm::UserKnn(NeighbourConfig::user_knn()),
            "sknn" => Algorithm::Sknn(NeighbourConfig::sknn()),
            "vsknn" => Algorithm::Vsknn(NeighbourConfig::vsknn()),
            "ease" => Algorithm::Ease(EaseConfig::default()),
            "als" => Algorithm::Als(AlsConfig::default()),
            "hybrid" => Algorithm::Hybrid(HybridConfig::default()),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Popular => "popular",
            Algorithm::ItemKnn(_) => "item-knn",
            Algorithm::UserKnn(_) => "user-knn",
            Algorithm::Sknn(_) => "sknn",
            Algorithm::Vsknn(_) => "vsknn",
            Algorithm::Ease(_) => "ease",
            Algorithm::Als(_) => "als",
            Algorithm::Hybrid(_) => "hybrid",
        }
    }
}

/// Everything that decides a model besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub algorithm: Algorithm,
    pub weights: Weights,
}

/// What a model was trained on, and how long it took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Where the data came from (a file path or a lake), as the caller named it.
    pub source: String,
    pub fingerprint: String,
    pub sessions: usize,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// Wall-clock seconds of the algorithm's training (not reading or saving).
    pub train_seconds: f64,
}

/// One tried setting of a tuning run and its validation metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuningTrial {
    pub algorithm: Algorithm,
    pub recall: f64,
    pub mrr: f64,
}

/// How the saved hyper-parameters were chosen: on a validation set, never on the test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// The validation data, as the caller named it.
    pub validation: String,
    pub k: usize,
    /// The metric that chose ("recall").
    pub chosen_by: String,
    pub trials: Vec<TuningTrial>,
}

#[derive(Clone, Debug)]
enum Scorer {
    Popular,
    Graph(ItemGraph),
    Neighbours(Neighbours),
    Als(Als),
    Hybrid(Box<Neighbours>, ItemGraph, f32),
}

/// A trained recommender.
#[derive(Clone, Debug)]
pub struct Model {
    pub config: TrainConfig,
    pub summary: TrainingSummary,
    pub tuning: Option<Tuning>,
    pub items: Vocabulary,
    pub users: Vocabulary,
    /// Per user: summed event weights per item.
    history: Csr,
    /// Per entry of `history`: bought.
    purchased: Vec<bool>,
    /// Events per item in the training data.
    popularity: Vec<f32>,
    /// The most popular items, best first, to fill lists a model leaves short.
    popular_order: Vec<u32>,
    scorer: Scorer,
}

/// One recommended item with the history item that most supports it, where the
/// algorithm can say ("because you viewed X").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendation {
    pub item: String,
    pub score: f32,
    pub because: Option<String>,
}

/// Which items a user-level list leaves out.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Leave out what the user already bought.
    pub exclude_purchased: bool,
    /// Leave out everything the user already interacted with.
    pub exclude_seen: bool,
    /// Items that cannot be sold now (out of stock, delisted), by outside id.
    pub unavailable: HashSet<String>,
}

impl UserFilter {
    /// This filter for one user as a test on item indices of `items`: true for an item
    /// the user may be shown. `history` is everything they interacted with, `bought` the
    /// items they bought.
    pub fn for_user<'a>(
        &'a self,
        items: &Vocabulary,
        history: &'a [HistoryItem],
        bought: &'a [u32],
    ) -> impl Fn(u32) -> bool + 'a {
        let unavailable: HashSet<u32> =
            self.unavailable.iter().filter_map(|name| items.get(name)).collect();
        move |item: u32| {
            !(unavailable.contains(&item)
                || (self.exclude_purchased && bought.contains(&item))
                || (self.exclude_seen && history.iter().any(|entry| entry.item == item)))
        }
    }
}

const POPULAR_FILL: usize = 1000;

fn popular_order(popularity: &[f32]) -> Vec<u32> {
    top_k(0..popularity.len() as u32, |item| popularity[item as usize], POPULAR_FILL, |_| true)
        .into_iter()
        .map(|(item, _)| item)
        .collect()
}

/// Trains a model on `dataset`.
pub fn train(dataset: &Dataset, config: TrainConfig, source: &str) -> Result<Model> {
    if dataset.sessions.is_empty() || dataset.items.is_empty() {
        return Err(RecommendError::Empty { what: source.to_string() });
    }
    let data = TrainingData::new(dataset, &config.weights);
    let started = Instant::now();
    let scorer = match &config.algorithm {
        Algorithm::Popular => Scorer::Popular,
        Algorithm::ItemKnn(knn) => Scorer::Graph(train_item_knn(&data, knn)?),
        Algorithm::Ease(ease) => Scorer::Graph(train_ease(&data, ease)?),
        Algorithm::UserKnn(neighbours)
        | Algorithm::Sknn(neighbours)
        | Algorithm::Vsknn(neighbours) => Scorer::Neighbours(train_neighbours(&data, neighbours)),
        Algorithm::Als(als) => {
            if als.factors == 0 {
                return Err(RecommendError::Config("ALS needs at least one factor".into()));
            }
            Scorer::Als(train_als(&data, als))
        }
        Algorithm::Hybrid(hybrid) => Scorer::Hybrid(
            Box::new(train_neighbours(&data, &hybrid.sessions)),
            train_item_knn(&data, &hybrid.items)?,
            hybrid.item_weight,
        ),
    };
    let train_seconds = started.elapsed().as_secs_f64();
    Ok(Model {
        summary: TrainingSummary {
            source: source.to_string(),
            fingerprint: dataset.fingerprint.clone(),
            sessions: dataset.sessions.len(),
            users: dataset.users.len(),
            items: dataset.items.len(),
            interactions: dataset.interactions(),
            train_seconds,
        },
        config,
        tuning: None,
        items: dataset.items.clone(),
        users: dataset.users.clone(),
        popular_order: popular_order(&data.popularity),
        popularity: data.popularity,
        history: data.rows,
        purchased: data.purchased,
        scorer,
    })
}

impl Model {
    /// Working memory for one thread's queries.
    pub fn scratch(&self) -> Scratch {
        let rows = match &self.scorer {
            Scorer::Neighbours(neighbours) => neighbours.rows.rows(),
            Scorer::Hybrid(neighbours, _, _) => neighbours.rows.rows(),
            _ => 0,
        };
        Scratch::new(self.items.len(), rows)
    }

    /// Events per item in the training data, by item index.
    pub fn popularity(&self) -> &[f32] {
        &self.popularity
    }

    /// The `k` best next items after `history` (oldest first, item indices of this
    /// model), skipping items for which `keep` is false. Lists the algorithm leaves
    /// short are filled with popular items. `ordered` says the history is a click
    /// sequence (position decay applies) rather than an unordered profile.
    pub fn recommend(
        &self,
        history: &[HistoryItem],
        ordered: bool,
        k: usize,
        mut keep: impl FnMut(u32) -> bool,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let mut best = match &self.scorer {
            Scorer::Als(als) if !history.is_empty() => {
                scratch.clear();
                als.top_k(history, k, &mut keep, scratch)
            }
            _ => {
                let dense = self.score_into(history, ordered, scratch);
                let scores = &scratch.item_scores;
                let score = |item: u32| scores[item as usize];
                if dense {
                    top_k(0..self.items.len() as u32, score, k, &mut keep)
                } else {
                    top_k(scratch.touched_items.iter().copied(), score, k, &mut keep)
                }
            }
        };
        if best.len() < k {
            // Below every real score, in popularity order.
            let floor = best.last().map_or(0.0, |&(_, score)| score.min(0.0)) - 1.0;
            for (rank, &item) in self.popular_order.iter().enumerate() {
                if best.len() == k {
                    break;
                }
                if !best.iter().any(|&(chosen, _)| chosen == item) && keep(item) {
                    best.push((item, floor - rank as f32 * 1e-3));
                }
            }
        }
        best
    }

    /// The algorithm's own scores after `history`, unranked and not filled with popular
    /// items: `(item, score)` for every item it scores (all items for popularity and ALS),
    /// for blending with another model's scores.
    pub fn scores(
        &self,
        history: &[HistoryItem],
        ordered: bool,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        if self.score_into(history, ordered, scratch) {
            let scores = &scratch.item_scores;
            (0..self.items.len() as u32).map(|item| (item, scores[item as usize])).collect()
        } else {
            let scores = &scratch.item_scores;
            scratch.touched_items.iter().map(|&item| (item, scores[item as usize])).collect()
        }
    }

    /// Scores `history` into `scratch`; true when every item has a score (dense), false
    /// when only `scratch.touched_items` do.
    fn score_into(&self, history: &[HistoryItem], ordered: bool, scratch: &mut Scratch) -> bool {
        scratch.clear();
        match &self.scorer {
            Scorer::Popular => {
                scratch.item_scores.copy_from_slice(&self.popularity);
                true
            }
            Scorer::Graph(graph) => {
                graph.score(history, ordered, scratch);
                false
            }
            Scorer::Neighbours(neighbours) => {
                neighbours.score(history, ordered, scratch);
                false
            }
            Scorer::Hybrid(neighbours, graph, item_weight) => {
                neighbours.score(history, ordered, scratch);
                let sessions = scratch.take_scaled();
                graph.score(history, ordered, scratch);
                scratch.scale(*item_weight);
                for (item, score) in sessions {
                    scratch.add_item(item, score);
                }
                false
            }
            Scorer::Als(als) => {
                if history.is_empty() {
                    scratch.item_scores.copy_from_slice(&self.popularity);
                } else {
                    als.score(history, scratch);
                }
                true
            }
        }
    }

    /// The history item that most supports `item`, where the algorithm can tell.
    pub fn explain(&self, history: &[HistoryItem], ordered: bool, item: u32) -> Option<u32> {
        match &self.scorer {
            Scorer::Graph(graph) | Scorer::Hybrid(_, graph, _) => {
                graph.explain(history, ordered, item)
            }
            Scorer::Als(als) => als.explain(history, item),
            Scorer::Popular | Scorer::Neighbours(_) => None,
        }
    }

    /// A user's training history as a profile, and which of its items were bought.
    pub fn user_history(&self, user: &str) -> Option<(Vec<HistoryItem>, Vec<u32>)> {
        let row = self.users.get(user)? as usize;
        let (items, weights) = self.history.row(row);
        let history = items
            .iter()
            .zip(weights)
            .map(|(&item, &weight)| HistoryItem { item, weight })
            .collect();
        let bought = (self.history.offsets[row]..self.history.offsets[row + 1])
            .filter(|&at| self.purchased[at])
            .map(|at| self.history.columns[at])
            .collect();
        Some((history, bought))
    }

    /// Top-`k` items for a known user from their whole training history, ranked over all
    /// items, with explanations. `None` for a user the model has not seen.
    pub fn recommend_for_user(
        &self,
        user: &str,
        k: usize,
        filter: &UserFilter,
    ) -> Option<Vec<Recommendation>> {
        let (history, bought) = self.user_history(user)?;
        let keep = filter.for_user(&self.items, &history, &bought);
        let mut scratch = self.scratch();
        let best = self.recommend(&history, false, k, keep, &mut scratch);
        Some(
            best.into_iter()
                .map(|(item, score)| Recommendation {
                    item: self.items.name(item).to_string(),
                    score,
                    because: self
                        .explain(&history, false, item)
                        .map(|because| self.items.name(because).to_string()),
                })
                .collect(),
        )
    }

    /// Saves the model into `dir`: `model.json` (configuration, hyper-parameters, training
    /// summary, tuning), `items.txt` and `users.txt` (ids in index order), `arrays.bin`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| RecommendError::io("creating", dir, e))?;
        let header = ModelFile {
            format_version: FORMAT_VERSION,
            config: self.config.clone(),
            summary: self.summary.clone(),
            tuning: self.tuning.clone(),
        };
        let json = serde_json::to_string_pretty(&header).expect("a model header always serialises");
        write_text(&dir.join("model.json"), &json)?;
        write_text(&dir.join("items.txt"), &lines(self.items.names()))?;
        write_text(&dir.join("users.txt"), &lines(self.users.names()))?;
        let mut arrays = ArrayWriter::create(&dir.join("arrays.bin"))?;
        arrays.csr(&self.history)?;
        arrays.u32s(&self.purchased.iter().map(|&b| u32::from(b)).collect::<Vec<_>>())?;
        arrays.f32s(&self.popularity)?;
        match &self.scorer {
            Scorer::Popular => {}
            Scorer::Graph(graph) => arrays.csr(&graph.weights)?,
            Scorer::Neighbours(neighbours) => neighbours.write(&mut arrays)?,
            Scorer::Hybrid(neighbours, graph, _) => {
                neighbours.write(&mut arrays)?;
                arrays.csr(&graph.weights)?;
            }
            Scorer::Als(als) => arrays.f32s(&als.item_factors)?,
        }
        arrays.finish()
    }

    /// Loads a model saved by [`Model::save`].
    pub fn load(dir: &Path) -> Result<Model> {
        let path = dir.join("model.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| RecommendError::io("reading", &path, e))?;
        let header: ModelFile = serde_json::from_str(&text).map_err(|e| {
            RecommendError::ModelFormat { path: path.clone(), reason: e.to_string() }
        })?;
        if header.format_version != FORMAT_VERSION {
            return Err(RecommendError::ModelFormat {
                path,
                reason: format!(
                    "format version {} (this build reads {FORMAT_VERSION})",
                    header.format_version
                ),
            });
        }
        let items: Vocabulary = read_lines(&dir.join("items.txt"))?.into_iter().collect();
        let users: Vocabulary = read_lines(&dir.join("users.txt"))?.into_iter().collect();
        let (n_items, n_users) = (items.len(), users.len());
        let mut arrays = ArrayReader::open(&dir.join("arrays.bin"))?;
        let history = arrays.csr(n_users, n_items)?;
        let purchased: Vec<bool> = arrays.u32s()?.into_iter().map(|b| b != 0).collect();
        let popularity = arrays.f32s()?;
        let damaged = |reason: &str| RecommendError::ModelFormat {
            path: dir.to_path_buf(),
            reason: reason.to_string(),
        };
        if purchased.len() != history.columns.len() || popularity.len() != n_items {
            return Err(damaged("array lengths do not match items.txt and users.txt"));
        }
        let scorer = match &header.config.algorithm {
            Algorithm::Popular => Scorer::Popular,
            Algorithm::ItemKnn(ItemKnnConfig { history_decay, .. })
            | Algorithm::Ease(EaseConfig { history_decay, .. }) => Scorer::Graph(ItemGraph {
                weights: arrays.csr(n_items, n_items)?,
                history_decay: *history_decay,
            }),
            Algorithm::UserKnn(config) | Algorithm::Sknn(config) | Algorithm::Vsknn(config) => {
                Scorer::Neighbours(Neighbours::read(&mut arrays, *config, history.rows(), n_items)?)
            }
            Algorithm::Hybrid(config) => Scorer::Hybrid(
                Box::new(Neighbours::read(&mut arrays, config.sessions, history.rows(), n_items)?),
                ItemGraph {
                    weights: arrays.csr(n_items, n_items)?,
                    history_decay: config.items.history_decay,
                },
                config.item_weight,
            ),
            Algorithm::Als(config) => {
                let factors = arrays.f32s()?;
                if factors.len() != n_items * config.factors {
                    return Err(damaged("item factors do not match items × factors"));
                }
                Scorer::Als(Als::from_factors(*config, factors))
            }
        };
        Ok(Model {
            config: header.config,
            summary: header.summary,
            tuning: header.tuning,
            popular_order: popular_order(&popularity),
            items,
            users,
            history,
            purchased,
            popularity,
            scorer,
        })
    }
}

impl Recommender for Model {
    type Scratch = Scratch;

    fn algorithm_name(&self) -> &'static str {
        self.config.algorithm.name()
    }

    fn item_vocabulary(&self) -> &Vocabulary {
        &self.items
    }

    fn user_vocabulary(&self) -> &Vocabulary {
        &self.users
    }

    fn event_weights(&self) -> &Weights {
        &self.config.weights
    }

    fn item_popularity(&self) -> &[f32] {
        &self.popularity
    }

    fn new_scratch(&self) -> Scratch {
        self.scratch()
    }

    fn next_items(
        &self,
        history: &[HistoryItem],
        k: usize,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        self.recommend(history, true, k, |_| true, scratch)
    }

    fn user_items(&self, user: &str, k: usize, filter: &UserFilter) -> Option<Vec<Recommendation>> {
        self.recommend_for_user(user, k, filter)
    }
}

/// The algorithm a saved model directory holds (`config.algorithm.name` of its
/// `model.json`), so a caller can choose the loader before loading: models outside this
/// crate (`crates/sasrec`) write the same header.
pub fn saved_algorithm(dir: &Path) -> Result<String> {
    let path = dir.join("model.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| RecommendError::io("reading", &path, e))?;
    let header: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| RecommendError::ModelFormat { path: path.clone(), reason: e.to_string() })?;
    header["config"]["algorithm"]["name"].as_str().map(str::to_string).ok_or_else(|| {
        RecommendError::ModelFormat { path, reason: "no config.algorithm.name".into() }
    })
}

const FORMAT_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format_version: u32,
    config: TrainConfig,
    summary: TrainingSummary,
    tuning: Option<Tuning>,
}

fn lines(names: &[String]) -> String {
    let mut text = names.join("\n");
    text.push('\n');
    text
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| RecommendError::io("writing", path, e))
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| RecommendError::io("reading", path, e))?;
    Ok(text.lines().map(str::to_string).collect())
}
