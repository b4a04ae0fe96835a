//! Hyper-parameter search on a validation split. The test split never enters here: the
//! caller passes training and validation data, and the chosen model is trained on the
//! training data alone.

use crate::als::AlsConfig;
use crate::data::Dataset;
use crate::error::{RecommendError, Result};
use crate::evaluate::evaluate;
use crate::interactions::Weights;
use crate::item_graph::{EaseConfig, ItemKnnConfig};
use crate::model::{Algorithm, HybridConfig, Model, TrainConfig, Tuning, TuningTrial, train};
use crate::neighbours::{NeighbourConfig, PositionDecay};

/// The settings tried for an algorithm: a small grid around the literature's defaults.
pub fn grid(name: &str) -> Result<Vec<Algorithm>> {
    let mut settings = Vec::new();
    match name {
        "popular" => settings.push(Algorithm::Popular),
        "item-knn" => {
            for sequential in [false, true] {
                for alpha in [0.5, 1.0] {
                    for history_decay in [0.0, 0.5, 1.0] {
                        for shrink in [0.0, 20.0] {
                            settings.push(Algorithm::ItemKnn(ItemKnnConfig {
                                sequential,
                                alpha,
                                history_decay,
                                shrink,
                                ..ItemKnnConfig::default()
                            }));
                        }
                    }
                }
            }
        }
        "sknn" => {
            for neighbours in [50, 100, 200] {
                for sample in [500, 1000, 0] {
                    settings.push(Algorithm::Sknn(NeighbourConfig {
                        neighbours,
                        sample,
                        ..NeighbourConfig::sknn()
                    }));
                }
            }
        }
        "vsknn" => {
            for neighbours in [100, 200] {
                for position_decay in [PositionDecay::Linear, PositionDecay::Harmonic] {
                    for recency_days in [0.0, 5.0] {
                        settings.push(Algorithm::Vsknn(NeighbourConfig {
                            neighbours,
                            position_decay,
                            recency_days,
                            ..NeighbourConfig::vsknn()
                        }));
                        for match_decay in [2.0, 5.0] {
                            for before_match in [1.0, 0.5] {
                                settings.push(Algorithm::Vsknn(NeighbourConfig {
                                    neighbours,
                                    position_decay,
                                    recency_days,
                                    match_decay,
                                    before_match,
                                    ..NeighbourConfig::vsknn()
                                }));
                            }
                        }
                    }
                }
            }
        }
        "hybrid" => {
            for item_weight in [0.25, 0.5, 1.0] {
                for match_decay in [0.0, 2.0] {
                    let defaults = HybridConfig::default();
                    let sessions = NeighbourConfig { match_decay, ..defaults.sessions };
                    settings.push(Algorithm::Hybrid(HybridConfig {
                        item_weight,
                        sessions,
                        ..defaults
                    }));
                }
            }
        }
        "user-knn" => {
            for neighbours in [25, 50, 100, 200] {
                settings.push(Algorithm::UserKnn(NeighbourConfig {
                    neighbours,
                    ..NeighbourConfig::user_knn()
                }));
            }
        }
        "ease" => {
            for lambda in [100.0, 500.0, 2000.0] {
                for history_decay in [0.5, 1.0] {
                    settings.push(Algorithm::Ease(EaseConfig {
                        lambda,
                        history_decay,
                        ..EaseConfig::default()
                    }));
                }
            }
        }
        "als" => {
            for regularization in [0.01, 0.1, 1.0] {
                for alpha in [1.0, 5.0, 20.0] {
                    settings.push(Algorithm::Als(AlsConfig {
                        regularization,
                        alpha,
                        ..AlsConfig::default()
                    }));
                }
            }
        }
        other => {
            return Err(RecommendError::Config(format!(
                "unknown algorithm {other:?}; one of {}",
                Algorithm::NAMES.join(", ")
            )));
        }
    }
    Ok(settings)
}

/// Trains every setting of `settings` on `train`, evaluates each on `validation` by the
/// next-click protocol, and returns the model with the best Recall@k (ties: MRR@k),
/// its trials recorded in [`Model::tuning`].
pub fn tune(
    train_data: &Dataset,
    validation: &Dataset,
    settings: Vec<Algorithm>,
    weights: Weights,
    k: usize,
    names: (&str, &str),
) -> Result<Model> {
    let (source, validation_name) = names;
    let mut best: Option<(f64, f64, Model)> = None;
    let mut trials = Vec::new();
    for algorithm in settings {
        let model =
            train(train_data, TrainConfig { algorithm: algorithm.clone(), weights }, source)?;
        let metrics = evaluate(&model, validation, k).metrics;
        trials.push(TuningTrial { algorithm, recall: metrics.recall, mrr: metrics.mrr });
        let better = best
            .as_ref()
            .is_none_or(|(recall, mrr, _)| (metrics.recall, metrics.mrr) > (*recall, *mrr));
        if better {
            best = Some((metrics.recall, metrics.mrr, model));
        }
    }
    let (_, _, mut model) = best.ok_or_else(|| RecommendError::Config("nothing to tune".into()))?;
    model.tuning = Some(Tuning {
        validation: validation_name.to_string(),
        k,
        chosen_by: "recall".into(),
        trials,
    });
    Ok(model)
}
