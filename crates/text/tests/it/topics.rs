//! Topic discovery: class-based TF-IDF on hand-made classes, and topics on
//! real reviews of three categories (online_shopping_10_cats: hotels, fruit,
//! computers).

use text::topics::{class_tf_idf, keyword_vectors, ngram_vectors};
use text::{TopicCount, TopicOptions, discover_topics};

/// Rows of `topics_sample.csv`: (category, review).
pub fn topics_sample() -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(crate::data_path("topics_sample.csv")).unwrap();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[0].to_owned(), record[2].to_owned())
        })
        .collect()
}

/// The share of rows whose topic's most common category is their own.
pub fn purity(categories: &[String], topics: &[usize]) -> f64 {
    let mut correct = 0;
    for topic in topics.iter().copied().collect::<std::collections::BTreeSet<_>>() {
        let mut counts = std::collections::BTreeMap::new();
        for (category, _) in categories.iter().zip(topics).filter(|(_, t)| **t == topic) {
            *counts.entry(category).or_insert(0) += 1;
        }
        correct += counts.values().max().unwrap();
    }
    correct as f64 / categories.len() as f64
}

#[test]
fn class_tf_idf_prefers_words_that_concentrate_in_one_class() {
    let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let documents = [
        words("hotel room good"),
        words("hotel staff good"),
        words("battery screen good"),
        words("battery good"),
    ];
    let keywords = class_tf_idf(&documents, &[0, 0, 1, 1], 2, 2);
    // "good" is in every document: it ranks below the words of its class.
    assert_eq!(keywords[0].iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(), ["hotel", "room"]);
    assert_eq!(
        keywords[1].iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
        ["battery", "screen"]
    );
    assert!(keywords[0][0].1 > keywords[0][1].1);
}

/// The topics' categories: for each topic, its most common category and
/// how many of its reviews have it.
pub fn topic_categories(categories: &[String], topics: &[usize]) -> Vec<(String, usize, usize)> {
    let k = topics.iter().max().map_or(0, |m| m + 1);
    (0..k)
        .map(|topic| {
            let mut counts = std::collections::BTreeMap::new();
            for (category, _) in categories.iter().zip(topics).filter(|(_, t)| **t == topic) {
                *counts.entry(category.clone()).or_insert(0) += 1;
            }
            let size = counts.values().sum();
            let (category, count) = counts.into_iter().max_by_key(|(_, n)| *n).unwrap();
            (category, count, size)
        })
        .collect()
}

#[test]
fn topics_of_three_categories_from_cheap_vectors() {
    // No transformer: word TF-IDF (jieba words) and character n-grams. They
    // find the themes far less cleanly than the e5 embeddings (purity 1 in
    // e5.rs; here about 0.6), but above what random topics of these sizes give
    // (about 0.45).
    let rows = topics_sample();
    let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let categories: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let options = TopicOptions { count: TopicCount::Fixed(3), ..TopicOptions::default() };
    for (vectors, at_least) in
        [(keyword_vectors(&texts, 10), 0.55), (ngram_vectors(&texts, 12), 0.55)]
    {
        let model = discover_topics(&texts, &vectors, &options).unwrap();
        assert_eq!(model.topics.len(), 3);
        assert_eq!(model.topics.iter().map(|t| t.size).sum::<usize>(), 24);
        assert!(model.topics.windows(2).all(|w| w[0].size >= w[1].size), "largest first");
        let purity = purity(&categories, &model.assignments);
        assert!(
            purity >= at_least,
            "purity {purity}: {:?}",
            topic_categories(&categories, &model.assignments)
        );
        for topic in &model.topics {
            assert_eq!(topic.keywords.len(), 8);
            assert_eq!(topic.representatives.len(), 3);
            assert!(topic.representatives.iter().all(|&r| model.assignments[r] == topic.id));
        }
    }
}
