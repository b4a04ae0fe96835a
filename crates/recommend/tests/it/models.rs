//! Every algorithm on histories with a known answer, saving and loading, explanations.

use recommend::{
    Algorithm, AlsConfig, DatasetBuilder, EventKind, HistoryItem, Model, TrainConfig, UserFilter,
    Weights, top_k, train,
};

use crate::sessions;

fn model(algorithm: &str, data: &recommend::Dataset) -> Model {
    let algorithm = Algorithm::with_defaults(algorithm).unwrap();
    train(data, TrainConfig { algorithm, weights: Weights::default() }, "inline").unwrap()
}

/// The top `k` item ids after the session `history`.
fn next(model: &Model, history: &[&str], k: usize) -> Vec<String> {
    let history: Vec<HistoryItem> = history
        .iter()
        .map(|name| HistoryItem { item: model.items.get(name).unwrap(), weight: 1.0 })
        .collect();
    let mut scratch = model.scratch();
    model
        .recommend(&history, true, k, |_| true, &mut scratch)
        .into_iter()
        .map(|(i, _)| model.items.name(i).to_string())
        .collect()
}

/// Two groups of items that never meet: shoppers of one group should be shown that group.
fn two_groups() -> recommend::Dataset {
    sessions(
        "1: a b c\n2: a b\n3: b c\n4: a c\n5: a b c\n\
         6: x y z\n7: x y\n8: y z\n9: x z\n10: x y z\n11: x y z",
    )
}

#[test]
fn every_algorithm_stays_in_the_group_of_the_history() {
    let data = two_groups();
    for name in Algorithm::NAMES.iter().filter(|&&n| n != "popular") {
        let model = model(name, &data);
        let top: Vec<String> = next(&model, &["a", "b"], 3);
        assert!(
            top[..1].iter().all(|item| ["a", "b", "c"].contains(&item.as_str())),
            "{name}: {top:?}"
        );
        assert!(top.contains(&"c".to_string()), "{name}: {top:?}");
        let top: Vec<String> = next(&model, &["x"], 2);
        assert!(top.iter().all(|item| ["x", "y", "z"].contains(&item.as_str())), "{name}: {top:?}");
    }
}

#[test]
fn popular_ranks_by_clicks_whatever_the_history() {
    let model = model("popular", &two_groups());
    // y and z have 5 clicks each (ties go to the earlier item index: y), x 5 too… count:
    // x: 6,7,9,10,11 = 5; y: 6,7,8,10,11 = 5; z: 6,8,9,10,11 = 5; a, b, c: 4 each.
    assert_eq!(next(&model, &["a"], 3), ["x", "y", "z"]);
}

#[test]
fn sequential_item_knn_follows_click_order() {
    let data = sessions("1: a b\n2: a b\n3: a b\n4: b c\n5: c a");
    let mut config = recommend::ItemKnnConfig {
        sequential: true,
        history_decay: 0.0,
        shrink: 0.0,
        ..Default::default()
    };
    config.alpha = 1.0;
    let model = train(
        &data,
        TrainConfig { algorithm: Algorithm::ItemKnn(config), weights: Weights::default() },
        "inline",
    )
    .unwrap();
    assert_eq!(next(&model, &["a"], 1), ["b"]);
    assert_eq!(next(&model, &["b"], 1), ["c"]);
}

#[test]
fn lists_are_filled_with_popular_items() {
    let model = model("item-knn", &two_groups());
    let top = next(&model, &["a"], 6);
    assert_eq!(top.len(), 6, "{top:?}");
}

#[test]
fn saved_models_load_and_recommend_the_same() {
    let data = two_groups();
    let dir = tempfile::tempdir().unwrap();
    for name in Algorithm::NAMES {
        let trained = model(name, &data);
        let path = dir.path().join(name);
        trained.save(&path).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.config, trained.config, "{name}");
        assert_eq!(loaded.summary, trained.summary, "{name}");
        for history in [&["a"][..], &["x", "y"], &["c", "a", "b"]] {
            assert_eq!(
                next(&loaded, history, 5),
                next(&trained, history, 5),
                "{name} after {history:?}"
            );
        }
    }
}

#[test]
fn a_damaged_array_file_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    model("item-knn", &two_groups()).save(dir.path()).unwrap();
    std::fs::write(dir.path().join("arrays.bin"), b"SFREC001\x02").unwrap();
    assert!(Model::load(dir.path()).is_err());
}

#[test]
fn user_recommendations_skip_purchases_and_explain() {
    let mut builder = DatasetBuilder::default();
    let events = [
        ("u1", "a", EventKind::View),
        ("u1", "b", EventKind::Purchase),
        ("u2", "a", EventKind::View),
        ("u2", "b", EventKind::View),
        ("u2", "c", EventKind::Cart),
        ("u3", "b", EventKind::View),
        ("u3", "c", EventKind::View),
        ("u4", "a", EventKind::View),
        ("u4", "c", EventKind::Purchase),
        ("u5", "x", EventKind::View),
    ];
    for (at, (user, item, kind)) in events.into_iter().enumerate() {
        builder.push(user, user, item, at as f64, kind);
    }
    let data = builder.finish();
    let model = model("item-knn", &data);
    let filter = UserFilter { exclude_purchased: true, ..UserFilter::default() };
    let list = model.recommend_for_user("u1", 2, &filter).unwrap();
    assert!(list.iter().all(|r| r.item != "b"), "b was bought: {list:?}");
    assert!(list.iter().any(|r| r.item == "c"), "{list:?}");
    let unseen = UserFilter { exclude_seen: true, ..UserFilter::default() };
    let list = model.recommend_for_user("u1", 1, &unseen).unwrap();
    assert_eq!(list[0].item, "c");
    let because = list[0].because.as_deref().unwrap();
    assert!(["a", "b"].contains(&because), "{because}");
    let unavailable = UserFilter { unavailable: ["c".to_string()].into(), ..filter };
    assert!(model.recommend_for_user("u1", 2, &unavailable).unwrap().iter().all(|r| r.item != "c"));
    assert!(model.recommend_for_user("nobody", 2, &UserFilter::default()).is_none());
}

/// ALS answers a top-k query from bfloat16 factors and rescores only what that pass cannot
/// rule out; the list must be exactly the one its full `f32` scores give, whatever `k`
/// and whichever items the caller leaves out.
#[test]
fn als_top_k_is_exactly_the_ranking_of_its_full_scores() {
    let data = crate::yoochoose("train_tr");
    let algorithm = Algorithm::Als(AlsConfig { iterations: 3, ..AlsConfig::default() });
    let model =
        train(&data, TrainConfig { algorithm, weights: Weights::default() }, "fixture").unwrap();
    let mut scratch = model.scratch();
    let mut rescored = 0;
    for user in (0..model.users.len() as u32).step_by(199) {
        let (history, _) = model.user_history(model.users.name(user)).unwrap();
        let scores: Vec<f32> = {
            let mut dense = vec![f32::NAN; model.items.len()];
            for (item, score) in model.scores(&history, false, &mut scratch) {
                dense[item as usize] = score;
            }
            dense
        };
        let seen = |item: u32| history.iter().any(|entry| entry.item == item);
        let filters: [&dyn Fn(u32) -> bool; 3] =
            [&|_| true, &|item| !seen(item), &|item| item % 3 != 0];
        for keep in filters {
            for k in [1, 20, 200] {
                let exact = top_k(0..scores.len() as u32, |item| scores[item as usize], k, keep);
                let fast = model.recommend(&history, false, k, keep, &mut scratch);
                assert_eq!(fast, exact, "user {user}, k {k}");
                rescored += 1;
            }
        }
    }
    assert!(rescored > 100, "only {rescored} lists compared");
}

/// The same data and seed give the same ALS model, whatever order the threads finish in.
#[test]
fn als_training_is_repeatable() {
    let data = crate::yoochoose("train_tr");
    let algorithm = Algorithm::Als(AlsConfig { iterations: 2, ..AlsConfig::default() });
    let config = TrainConfig { algorithm, weights: Weights::default() };
    let first = train(&data, config.clone(), "fixture").unwrap();
    let second = train(&data, config, "fixture").unwrap();
    let (mut scratch_first, mut scratch_second) = (first.scratch(), second.scratch());
    for user in (0..first.users.len() as u32).step_by(499) {
        let (history, _) = first.user_history(first.users.name(user)).unwrap();
        assert_eq!(
            first.scores(&history, false, &mut scratch_first),
            second.scores(&history, false, &mut scratch_second),
            "user {user}"
        );
    }
}

#[test]
fn ease_refuses_catalogues_beyond_its_limit() {
    let config = recommend::EaseConfig { max_items: 2, ..Default::default() };
    let result = train(
        &two_groups(),
        TrainConfig { algorithm: Algorithm::Ease(config), weights: Weights::default() },
        "inline",
    );
    assert!(matches!(result, Err(recommend::RecommendError::Config(_))));
}

#[test]
fn tuning_keeps_the_best_validation_setting_and_records_every_trial() {
    let train_data = two_groups();
    let validation = sessions("v1: a b c\nv2: x y z");
    let settings = recommend::grid("sknn").unwrap();
    let tried = settings.len();
    let model = recommend::tune(
        &train_data,
        &validation,
        settings,
        Weights::default(),
        2,
        ("train", "valid"),
    )
    .unwrap();
    let tuning = model.tuning.as_ref().unwrap();
    assert_eq!(tuning.trials.len(), tried);
    let best = tuning.trials.iter().map(|t| t.recall).fold(0.0, f64::max);
    let chosen = tuning.trials.iter().find(|t| t.algorithm == model.config.algorithm).unwrap();
    assert_eq!(chosen.recall, best);
}

#[test]
fn top_k_is_the_head_of_a_full_sort_whatever_the_candidate_order() {
    // Scores from a small set, so there are many ties, and some NaN; every third
    // candidate filtered out.
    let mut state = 7u64;
    let scores: Vec<f32> = (0..2_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            match state >> 60 {
                0 => f32::NAN,
                high => (high % 9) as f32 * 0.5 - 1.0,
            }
        })
        .collect();
    let keep = |index: u32| !index.is_multiple_of(3);
    let mut expected: Vec<(u32, f32)> = (0..scores.len() as u32)
        .filter(|&index| !scores[index as usize].is_nan() && keep(index))
        .map(|index| (index, scores[index as usize]))
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let reversed: Vec<u32> = (0..scores.len() as u32).rev().collect();
    for k in [0, 1, 3, 20, 100, 700, 5_000] {
        let head = &expected[..k.min(expected.len())];
        let forward = top_k(0..scores.len() as u32, |i| scores[i as usize], k, keep);
        assert_eq!(forward, head, "k = {k}");
        let backward = top_k(reversed.iter().copied(), |i| scores[i as usize], k, keep);
        assert_eq!(backward, head, "k = {k}, candidates in reverse");
    }
}

/// The V-SKNN settings the two tests below vary.
fn vsknn(match_decay: f32, before_match: f32, recency_days: f32) -> Algorithm {
    Algorithm::Vsknn(recommend::NeighbourConfig {
        match_decay,
        before_match,
        recency_days,
        ..recommend::NeighbourConfig::vsknn()
    })
}

/// The next items after `history` other than the history's own.
fn next_new(model: &Model, history: &[&str], k: usize) -> Vec<String> {
    next(model, history, k + history.len())
        .into_iter()
        .filter(|item| !history.contains(&item.as_str()))
        .take(k)
        .collect()
}

#[test]
fn recency_lets_recent_neighbour_sessions_outweigh_more_but_older_ones() {
    // Three sessions went a → x ten days before the end of the data, two recent ones
    // a → y; one unrelated session keeps a's IDF above zero.
    let day = 86_400.0;
    let mut builder = DatasetBuilder::default();
    let mut push = |session: &str, items: &[&str], start: f64| {
        for (offset, item) in items.iter().enumerate() {
            builder.push(session, session, item, start + offset as f64, EventKind::View);
        }
    };
    for (session, items, start) in [
        ("old1", ["a", "x"], 0.0),
        ("old2", ["a", "x"], 1.0),
        ("old3", ["a", "x"], 2.0),
        ("new1", ["a", "y"], 10.0 * day),
        ("new2", ["a", "y"], 10.0 * day + 1.0),
        ("other", ["z", "w"], 10.0 * day + 2.0),
    ] {
        push(session, &items, start);
    }
    let data = builder.finish();
    let train = |algorithm| {
        recommend::train(&data, TrainConfig { algorithm, weights: Weights::default() }, "inline")
            .unwrap()
    };
    assert_eq!(next_new(&train(vsknn(0.0, 1.0, 0.0)), &["a"], 1), ["x"]);
    assert_eq!(next_new(&train(vsknn(0.0, 1.0, 1.0)), &["a"], 1), ["y"]);
}

#[test]
fn before_match_weighs_down_what_neighbours_clicked_before_the_shared_item() {
    // p comes before a in three sessions, q after it in two.
    let data = sessions("1: p a q\n2: p a q\n3: p a\n4: z w");
    let train = |algorithm| {
        recommend::train(&data, TrainConfig { algorithm, weights: Weights::default() }, "inline")
            .unwrap()
    };
    assert_eq!(next_new(&train(vsknn(2.0, 1.0, 0.0)), &["a"], 2), ["p", "q"]);
    assert_eq!(next_new(&train(vsknn(2.0, 0.25, 0.0)), &["a"], 2), ["q", "p"]);
}
