//! The one integration-test binary of the `sequence_model` crate.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use sequence_model::{SequenceConfig, SequenceModel, Step, Vocabulary};

const TOKENS: [&str; 4] = ["view", "search", "add_to_cart", "checkout"];

/// Journeys whose label depends on ORDER, not on counts: positive when an
/// `add_to_cart` comes after the last `search`, within the last few steps.
/// A bag-of-events model cannot see that; a recurrent one can.
fn order_dependent_journeys(n: usize, seed: u64) -> (Vec<Vec<String>>, Vec<bool>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut journeys = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..n {
        let len = rng.random_range(3..9);
        let mut journey: Vec<String> =
            (0..len).map(|_| TOKENS[rng.random_range(0..2)].to_string()).collect();
        // Both kinds get one search and one cart; only the order differs.
        let positive = rng.random_bool(0.5);
        let (first, second) =
            if positive { ("search", "add_to_cart") } else { ("add_to_cart", "search") };
        journey.push(first.to_string());
        journey.push(second.to_string());
        journeys.push(journey);
        labels.push(positive);
    }
    (journeys, labels)
}

fn encode(journeys: &[Vec<String>], vocabulary: &Vocabulary) -> Vec<Vec<Step>> {
    journeys
        .iter()
        .map(|j| {
            j.iter()
                .enumerate()
                .map(|(i, t)| Step {
                    token: vocabulary.id(t),
                    seconds_since_previous: (i > 0).then_some(90.0),
                })
                .collect()
        })
        .collect()
}

/// Share of (positive, negative) pairs ranked the right way round.
fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let (mut right, mut pairs) = (0.0, 0.0);
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if labels[i] && !labels[j] {
                pairs += 1.0;
                right += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    right / pairs
}

fn small_config() -> SequenceConfig {
    SequenceConfig {
        epochs: 25,
        batch_size: 32,
        hidden_dim: 16,
        token_dim: 8,
        ..Default::default()
    }
}

#[test]
fn learns_an_order_dependent_rule_and_reloads_identically() {
    let (train_tokens, train_labels) = order_dependent_journeys(400, 1);
    let (test_tokens, test_labels) = order_dependent_journeys(200, 2);
    let vocabulary = Vocabulary::fit(train_tokens.iter().flatten().map(String::as_str), 1, 100);
    let train = encode(&train_tokens, &vocabulary);
    let test = encode(&test_tokens, &vocabulary);

    let model =
        SequenceModel::train(&train, &train_labels, vocabulary.clone(), &small_config()).unwrap();
    let scores = model.predict(&test).unwrap();
    let test_auc = auc(&scores, &test_labels);
    assert!(test_auc > 0.9, "held-out AUC {test_auc}, history {:?}", model.history());
    assert!(scores.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s)));

    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = SequenceModel::load(dir.path()).unwrap();
    assert_eq!(loaded.vocabulary(), &vocabulary);
    assert_eq!(loaded.predict(&test).unwrap(), scores);
}

#[test]
fn training_is_reproducible_with_a_seed() {
    let (tokens, labels) = order_dependent_journeys(60, 3);
    let vocabulary = Vocabulary::fit(tokens.iter().flatten().map(String::as_str), 1, 100);
    let journeys = encode(&tokens, &vocabulary);
    let config = SequenceConfig { epochs: 2, ..small_config() };
    let first = SequenceModel::train(&journeys, &labels, vocabulary.clone(), &config).unwrap();
    let second = SequenceModel::train(&journeys, &labels, vocabulary, &config).unwrap();
    assert_eq!(first.predict(&journeys).unwrap(), second.predict(&journeys).unwrap());
}

#[test]
fn scores_do_not_depend_on_batch_padding() {
    let (tokens, labels) = order_dependent_journeys(40, 4);
    let vocabulary = Vocabulary::fit(tokens.iter().flatten().map(String::as_str), 1, 100);
    let journeys = encode(&tokens, &vocabulary);
    let config = SequenceConfig { epochs: 1, ..small_config() };
    let model = SequenceModel::train(&journeys, &labels, vocabulary, &config).unwrap();
    let together = model.predict(&journeys).unwrap();
    for (journey, expected) in journeys.iter().zip(&together) {
        let alone = model.predict(std::slice::from_ref(journey)).unwrap()[0];
        assert!((alone - expected).abs() < 1e-5, "alone {alone} vs in a batch {expected}");
    }
}

#[test]
fn unknown_tokens_map_to_the_shared_unknown_id() {
    let vocabulary = Vocabulary::fit(["view", "view", "search"], 2, 10);
    assert_eq!(vocabulary.len(), 3);
    assert_eq!(vocabulary.id("view"), 2);
    assert_eq!(vocabulary.id("search"), sequence_model::UNKNOWN);
    assert_eq!(vocabulary.id("never seen"), sequence_model::UNKNOWN);
}

#[test]
fn mismatched_labels_are_an_error() {
    let vocabulary = Vocabulary::fit(["view"], 1, 10);
    let journeys = vec![vec![Step { token: 2, seconds_since_previous: None }]; 5];
    let error = SequenceModel::train(&journeys, &[true], vocabulary, &small_config()).unwrap_err();
    assert!(error.to_string().contains("5 journeys but 1 labels"), "{error}");
}
