//! Each metric on hand-computed cases.

use recommend::MetricsAccumulator;

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9
}

/// One list against its relevant items at cut-off `k`: (recall, mrr, ndcg).
fn check(list: &[u32], relevant: &[u32], k: usize, expect: (f64, f64, f64)) {
    let mut accumulator = MetricsAccumulator::new(k, 10);
    accumulator.add(list, relevant, &[0.0; 10]);
    let metrics = accumulator.finish();
    let actual = (metrics.recall, metrics.mrr, metrics.ndcg);
    assert!(
        close(actual.0, expect.0) && close(actual.1, expect.1) && close(actual.2, expect.2),
        "list {list:?}, relevant {relevant:?}, k {k}: got {actual:?}, expected {expect:?}"
    );
}

#[test]
fn hit_at_first_rank_scores_one_everywhere() {
    check(&[4, 1, 2], &[4], 3, (1.0, 1.0, 1.0));
}

#[test]
fn hit_at_second_rank() {
    // MRR 1/2; NDCG 1/log2(3) = 0.6309297535714575.
    check(&[5, 3, 7], &[3], 3, (1.0, 0.5, 1.0 / 3f64.log2()));
}

#[test]
fn miss_scores_zero() {
    check(&[5, 3, 7], &[9], 3, (0.0, 0.0, 0.0));
}

#[test]
fn hit_below_the_cut_off_is_a_miss() {
    check(&[5, 3, 7], &[7], 2, (0.0, 0.0, 0.0));
}

#[test]
fn several_relevant_items() {
    // Hits at ranks 2 and 4 of 3 relevant: recall 2/3, MRR 1/2,
    // DCG = 1/log2(3) + 1/log2(5), ideal DCG = 1 + 1/log2(3) + 1/log2(4).
    let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
    let ideal = 1.0 + 1.0 / 3f64.log2() + 0.5;
    check(&[1, 2, 3, 4], &[2, 4, 9], 4, (2.0 / 3.0, 0.5, dcg / ideal));
}

#[test]
fn averages_over_lists_coverage_and_popularity_bias() {
    let popularity = [1.0, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let mut first = MetricsAccumulator::new(2, 10);
    first.add(&[0, 1], &[0], &popularity);
    let mut second = MetricsAccumulator::new(2, 10);
    second.add(&[1, 2], &[5], &popularity);
    let metrics = first.merge(second).finish();
    assert_eq!(metrics.predictions, 2);
    assert!(close(metrics.recall, 0.5));
    assert!(close(metrics.mrr, 0.5));
    // Items 0, 1, 2 of 10 appear in some list.
    assert!(close(metrics.coverage, 0.3));
    // (1 + 0.5 + 0.5 + 0.25) / 4 recommended items.
    assert!(close(metrics.popularity_bias, 2.25 / 4.0));
}
