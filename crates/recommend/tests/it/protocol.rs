//! The next-click protocol: what the model sees, what is skipped, and that test clicks
//! never reach training.

use std::sync::Mutex;

use recommend::{
    Algorithm, HistoryItem, TrainConfig, Weights, evaluate, evaluate_with, map_items, train,
};

use crate::sessions;

#[test]
fn each_next_click_is_ranked_from_its_prefix_only() {
    let train_data = sessions("t1: a b c d\nt2: b c");
    let test = sessions("s1: a b c d\ns2: c x b");
    let model_items = map_items(&test, &train_data.items);
    let seen: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());
    let evaluation = evaluate_with(
        &test,
        &model_items,
        &Weights::default(),
        &[0.0; 4],
        20,
        |history: &[HistoryItem], _| {
            seen.lock().unwrap().push(history.iter().map(|h| h.item).collect());
            Vec::new()
        },
    );
    let name = |item: u32| train_data.items.name(item).to_string();
    let mut histories: Vec<String> = seen
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|h| h.into_iter().map(name).collect::<Vec<_>>().join(" "))
        .collect();
    histories.sort();
    // s1: prefixes a | a b | a b c. s2: the target x is unknown to the model, so it is
    // skipped; the next prefix drops x from the history: c.
    assert_eq!(histories, ["a", "a b", "a b c", "c"]);
    assert_eq!(evaluation.skipped_unknown_targets, 1);
    assert_eq!(evaluation.metrics.predictions, 4);
}

#[test]
fn later_clicks_of_a_test_session_do_not_change_its_earlier_predictions() {
    let train_data = crate::yoochoose("train_tr");
    let model = train(
        &train_data,
        TrainConfig {
            algorithm: Algorithm::with_defaults("vsknn").unwrap(),
            weights: Weights::default(),
        },
        "train_tr",
    )
    .unwrap();
    let test = sessions("s: 214716935 214832672 214716935 214832672");
    let changed = sessions("s: 214716935 214832672 214826835 214716935");
    let first = recommend::predict_next(&model, &test, 20);
    let second = recommend::predict_next(&model, &changed, 20);
    assert_eq!(first[..2], second[..2], "positions 1 and 2 see the same prefix");
}

#[test]
fn evaluation_never_sees_test_clicks_during_training() {
    let train_data = crate::yoochoose("train_tr");
    let validation = crate::yoochoose("train_valid");
    let config = TrainConfig {
        algorithm: Algorithm::with_defaults("item-knn").unwrap(),
        weights: Weights::default(),
    };
    let model = train(&train_data, config.clone(), "train_tr").unwrap();
    // The model carries the training data's fingerprint, not the test's.
    assert_eq!(model.summary.fingerprint, train_data.fingerprint);
    assert_ne!(model.summary.fingerprint, validation.fingerprint);
    assert_eq!(model.summary.interactions, 53_254);
    // Evaluating does not change the model: evaluating again gives the same metrics,
    // and a model trained on the same data alone (never shown the test) agrees.
    let once = evaluate(&model, &validation, 20);
    let twice = evaluate(&model, &validation, 20);
    let fresh = evaluate(&train(&train_data, config, "train_tr").unwrap(), &validation, 20);
    assert_eq!(once, twice);
    assert_eq!(once, fresh);
    // A test made only of items that never occur in training is skipped entirely.
    let unseen = sessions("s: 1 2 3\nr: 4 5");
    let evaluation = evaluate(&model, &unseen, 20);
    assert_eq!(evaluation.metrics.predictions, 0);
    assert_eq!(evaluation.skipped_unknown_targets, 3);
}

#[test]
fn the_validation_split_shares_no_session_with_training() {
    let train_data = crate::yoochoose("train_tr");
    let validation = crate::yoochoose("train_valid");
    let train_sessions: std::collections::HashSet<&str> =
        train_data.sessions.iter().map(|s| s.id.as_str()).collect();
    assert!(validation.sessions.iter().all(|s| !train_sessions.contains(s.id.as_str())));
}
