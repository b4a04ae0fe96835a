//! What training learns, what it records, and that it is deterministic.

use recommend::{Recommender, evaluate, predict_next};
use sasrec::{SasRecConfig, SasRecError};

use crate::{sessions, successor_sessions, tiny, train};

#[test]
fn learns_that_each_item_is_followed_by_the_next() {
    let model = train(&successor_sessions(300, 20, 0), &tiny(), None);
    // Sessions the model has never seen, following the same rule.
    let test = successor_sessions(60, 20, 1);
    let metrics = evaluate(&model, &test, 1).metrics;
    assert!(metrics.predictions > 100);
    assert!(metrics.recall > 0.9, "Recall@1 {:.3}", metrics.recall);
}

#[test]
fn every_epoch_has_a_finite_falling_loss() {
    let model = train(&successor_sessions(300, 20, 0), &tiny(), None);
    let losses: Vec<f64> = model.training.epochs.iter().map(|e| e.loss).collect();
    assert_eq!(losses.len(), tiny().epochs);
    assert!(losses.iter().all(|loss| loss.is_finite() && *loss >= 0.0), "{losses:?}");
    // ln(20) ≈ 3.0 is a uniform guess; the rule is learnt well below it.
    assert!(losses[0] > 1.0 && *losses.last().unwrap() < 0.5, "{losses:?}");
    // Without validation data nothing is recorded for it, and the last epoch is kept.
    assert!(model.training.epochs.iter().all(|e| e.validation_recall.is_none()));
    assert_eq!(model.training.best_epoch, tiny().epochs - 1);
}

#[test]
fn a_far_too_high_learning_rate_is_an_error_not_a_broken_model() {
    let config = SasRecConfig { learning_rate: 1e30, epochs: 3, ..tiny() };
    let result = sasrec::train(
        &successor_sessions(100, 20, 0),
        &config,
        recommend::Weights::default(),
        None,
        "inline",
    );
    match result {
        Err(SasRecError::Diverged { loss, .. }) => assert!(!loss.is_finite()),
        Err(other) => panic!("expected divergence, got {other}"),
        // If the steps happen to stay finite the model must still score finitely.
        Ok(model) => assert!(model.scores(&[0, 1]).iter().all(|s| s.is_finite())),
    }
}

#[test]
fn the_kept_epoch_is_the_best_on_validation_and_training_stops_after_patience() {
    let config = SasRecConfig { epochs: 30, patience: 2, ..tiny() };
    let validation = successor_sessions(40, 20, 2);
    let model = train(&successor_sessions(300, 20, 0), &config, Some(&validation));
    let history = &model.training;
    assert_eq!(history.validation.as_deref(), Some("validation"));
    let recalls: Vec<f64> = history.epochs.iter().map(|e| e.validation_recall.unwrap()).collect();
    let best = recalls[history.best_epoch];
    assert!(recalls.iter().all(|&recall| recall <= best), "{recalls:?}");
    // Stopped `patience` epochs after the best, or ran to the end.
    assert!(
        history.epochs.len() == history.best_epoch + 1 + config.patience
            || history.epochs.len() == config.epochs,
        "{} epochs, best {}",
        history.epochs.len(),
        history.best_epoch
    );
    // The kept weights are the best epoch's: evaluating again reproduces its recall.
    assert_eq!(evaluate(&model, &validation, 3).metrics.recall, best);
}

#[test]
fn the_same_seed_gives_the_same_model_and_another_seed_another() {
    let data = successor_sessions(120, 20, 0);
    let config = SasRecConfig { epochs: 3, ..tiny() };
    let first = train(&data, &config, None);
    let again = train(&data, &config, None);
    let other = train(&data, &SasRecConfig { seed: 7, ..config }, None);
    let history = [3, 4, 5];
    assert_eq!(first.scores(&history), again.scores(&history));
    assert_ne!(first.scores(&history), other.scores(&history));
}

/// Scores to probabilities, in f64.
fn softmax(scores: &[f32]) -> Vec<f64> {
    let most = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = scores.iter().map(|&s| f64::from(s - most).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

#[test]
fn an_ensemble_is_the_mean_distribution_of_networks_from_successive_seeds() {
    let data = successor_sessions(120, 20, 0);
    let config = SasRecConfig { epochs: 3, ..tiny() };
    let first = train(&data, &config, None);
    let second = train(&data, &SasRecConfig { seed: config.seed + 1, ..config.clone() }, None);
    let ensemble = train(&data, &SasRecConfig { members: 2, ..config }, None);
    assert_eq!(ensemble.config().members, 2);
    assert_eq!(ensemble.other_members.len(), 1);
    for history in [&[3u32, 4, 5][..], &[17, 18], &[9]] {
        let (a, b) = (softmax(&first.scores(history)), softmax(&second.scores(history)));
        let mean = softmax(&ensemble.scores(history));
        for ((a, b), mean) in a.iter().zip(&b).zip(&mean) {
            assert!((mean - (a + b) / 2.0).abs() < 1e-6, "{mean} vs {a} and {b}");
        }
    }
}

#[test]
fn a_prediction_sees_only_its_prefix() {
    let model = train(&successor_sessions(120, 20, 0), &SasRecConfig { epochs: 3, ..tiny() }, None);
    // The same first two clicks, different later ones.
    let test = sessions("a: i1 i2 i3 i4\nb: i1 i2 i9 i15");
    let predictions = predict_next(&model, &test, 5);
    assert_eq!(predictions.len(), 8);
    let items = |session: usize| -> Vec<&Vec<u32>> {
        predictions.iter().filter(|p| p.session == session).map(|p| &p.items).collect()
    };
    let (a, b) = (items(0), items(1));
    assert_eq!(a[..2], b[..2], "positions 1 and 2 see the same prefix");
    assert_ne!(a[2], b[2]);
    // Only the latest `max_len` clicks count: older ones change nothing.
    let long: Vec<u32> = (0..12).collect();
    let tail = &long[long.len() - tiny().max_len..];
    assert_eq!(model.scores(&long), model.scores(tail));
}

#[test]
fn user_lists_follow_the_latest_clicks_and_the_filters() {
    let data = sessions("u1: i1 i2 i3\nu2: i5 i6 i7\nu3: i2 i3 i4\nu4: i6 i7 i8\nu5: i3 i4 i5");
    let model = train(&data, &SasRecConfig { epochs: 2, ..tiny() }, None);
    let filter = recommend::UserFilter { exclude_seen: true, ..Default::default() };
    let list = model.user_items("u1", 5, &filter).unwrap();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|r| !["i1", "i2", "i3"].contains(&r.item.as_str())), "{list:?}");
    assert!(model.user_items("nobody", 5, &filter).is_none());
}

#[test]
fn bad_settings_are_refused() {
    let data = successor_sessions(20, 5, 0);
    for (config, message) in [
        (SasRecConfig { heads: 3, ..tiny() }, "heads must divide hidden"),
        (SasRecConfig { dropout: 1.0, ..tiny() }, "dropout"),
        (SasRecConfig { epochs: 0, ..tiny() }, "epochs"),
    ] {
        let error = sasrec::train(&data, &config, recommend::Weights::default(), None, "inline")
            .unwrap_err()
            .to_string();
        assert!(error.contains(message), "{error}");
    }
    // Nobody clicked twice: nothing to learn.
    let error = sasrec::train(
        &sessions("a: i1\nb: i2"),
        &tiny(),
        recommend::Weights::default(),
        None,
        "inline",
    )
    .unwrap_err();
    assert!(error.to_string().contains("no user has two clicks"), "{error}");
}
