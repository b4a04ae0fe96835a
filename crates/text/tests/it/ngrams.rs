use text::ngrams::NgramConfig;

/// The n-grams of `text` as (bucket, count), compared as multisets of grams
/// by hashing the expected grams the same way.
fn check(text: &str, config: NgramConfig, expected_total: f32, expected_distinct_at_least: usize) {
    let row = config.counts(text);
    let total: f32 = row.iter().map(|(_, count)| count).sum();
    assert_eq!(total, expected_total, "{text:?}");
    assert!(row.len() >= expected_distinct_at_least, "{text:?}: {row:?}");
    assert!(row.windows(2).all(|w| w[0].0 < w[1].0), "buckets sorted and merged: {row:?}");
}

#[test]
fn character_ngrams_count_every_window() {
    let unigrams_bigrams = NgramConfig { min_n: 1, max_n: 2, hash_bits: 20 };
    // " 很好 " framed by spaces: unigrams 很, 好 (spaces are not unigrams);
    // bigrams " 很", "很好", "好 ".
    check("很好", unigrams_bigrams, 5.0, 5);
    // Full-width letters and case fold to the same grams as ASCII.
    assert_eq!(unigrams_bigrams.counts("ＧＯＯＤ"), unigrams_bigrams.counts("good"));
    // Runs of whitespace count as one space.
    assert_eq!(unigrams_bigrams.counts("very \t  good"), unigrams_bigrams.counts("very good"));
    // "aaa": unigram a ×3 merge into one bucket; bigrams " a", "aa" ×2, "a ".
    check("aaa", unigrams_bigrams, 7.0, 4);
    check("", unigrams_bigrams, 0.0, 0);
}
