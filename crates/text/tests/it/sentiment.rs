use text::sentiment::fold_assignment;
use text::{SentimentConfig, SentimentModel, TrainingData};

#[test]
fn folds_are_stratified_round_robin_in_input_order() {
    let check = |labels: &[u8], folds: usize, expected: &[usize]| {
        let labels: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        assert_eq!(fold_assignment(&labels, folds), expected);
    };
    check(&[1, 1, 1, 0, 0, 0], 3, &[0, 1, 2, 0, 1, 2]);
    check(&[1, 0, 1, 0, 1, 0], 2, &[0, 0, 1, 1, 0, 0]);
    check(&[0, 0, 0, 0, 0], 2, &[0, 1, 0, 1, 0]);
}

fn train_on_sample(lang: &str) -> (SentimentModel, Vec<String>) {
    let rows: Vec<_> = crate::reviews_sample().into_iter().filter(|r| r.0 == lang).collect();
    let texts: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let labels: Vec<bool> = rows.iter().map(|r| r.1).collect();
    let config = SentimentConfig {
        ngrams: text::ngrams::NgramConfig { hash_bits: 18, ..Default::default() },
        ..Default::default()
    };
    let model = SentimentModel::train(
        TrainingData { texts: &texts, labels: &labels, embeddings: None },
        &config,
    )
    .unwrap();
    (model, rows.into_iter().map(|r| r.2).collect())
}

#[test]
fn ngram_sentiment_learns_chinese_and_english_reviews() {
    // 300 reviews per language are few; character n-grams alone still get
    // well above chance (0.5), which a broken trainer or feature hash does not.
    for (lang, at_least) in [("zh", 0.75), ("en", 0.70)] {
        let (model, _) = train_on_sample(lang);
        let report = model.cross_validation();
        assert_eq!(report.rows, 300);
        assert_eq!(report.positives, 150);
        assert_eq!(report.fold_accuracies.len(), 5);
        assert!(
            report.accuracy >= at_least,
            "{lang}: cross-validated accuracy {}",
            report.accuracy
        );
        assert!(report.f1 > 0.6, "{lang}: F1 {}", report.f1);
        assert!(report.brier < 0.25, "{lang}: Brier {} no better than a coin", report.brier);
    }
}

#[test]
fn saved_model_predicts_what_the_trained_one_does() {
    let (model, texts) = train_on_sample("zh");
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = SentimentModel::load(dir.path()).unwrap();
    let before = model.predict(&texts, None).unwrap();
    let after = loaded.predict(&texts, None).unwrap();
    assert_eq!(before, after);
    assert!(
        before
            .iter()
            .all(|p| p.score > 0.0 && p.score < 1.0 && p.label == u8::from(p.score >= 0.5))
    );
    let obvious = loaded.predict(&["质量很好，非常满意", "太差了，退货"], None).unwrap();
    assert!(obvious[0].score > obvious[1].score, "{obvious:?}");
}

#[test]
fn user_text_features_average_reviews_count_complaints_and_share_searches() {
    use text::Aspect::{Delivery, Packaging};
    use text::QueryIntent::{AfterSales, PriceDriven};
    use text::ScoredReview;
    let review = |user, score, complaints| ScoredReview { user, score, complaints };
    let features = text::user_text_features(
        [
            review("u1", 0.9, &[][..]),
            // A complaint named twice in one review counts once.
            review("u1", 0.2, &[Packaging, Delivery, Packaging][..]),
            review("u2", 0.7, &[Packaging][..]),
        ],
        [("u1", PriceDriven), ("u3", AfterSales), ("u3", AfterSales), ("u3", PriceDriven)],
    );
    let u1 = &features["u1"];
    assert_eq!((u1.reviews, u1.negative_reviews, u1.searches), (2, 1, 1));
    assert!((u1.mean_review_sentiment.unwrap() - 0.55).abs() < 1e-12);
    assert_eq!(u1.negative_review_share(), Some(0.5));
    assert_eq!(u1.aspect_complaints, [0, 0, 1, 0, 1, 0, 0, 0]);
    assert_eq!(u1.intent_shares, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(features["u2"].searches, 0);
    assert_eq!(features["u2"].aspect_complaints[4], 1);
    let u3 = &features["u3"];
    assert_eq!((u3.reviews, u3.mean_review_sentiment, u3.negative_review_share()), (0, None, None));
    assert!(
        (u3.intent_shares[4] - 2.0 / 3.0).abs() < 1e-12
            && (u3.intent_shares[2] - 1.0 / 3.0).abs() < 1e-12
    );
}

#[test]
fn every_text_column_is_documented_in_the_feature_docs() {
    let docs = include_str!("../../../../docs/features.md");
    for column in text::profile::TEXT_COLUMNS {
        assert!(
            docs.contains(&format!("`{}", column.name)),
            "docs/features.md lacks {}",
            column.name
        );
    }
    for aspect in text::Aspect::ALL {
        assert!(
            docs.contains(&format!("`{}`", aspect.name())),
            "docs/features.md lacks {aspect:?}"
        );
    }
}
