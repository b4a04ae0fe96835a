use funnel::{FunnelError, RetentionState, retention};

// https://clickhouse.com/docs/en/sql-reference/aggregate-functions/parametric-functions#retention
// (docs/en/sql-reference/aggregate-functions/parametric-functions.md): uids 0-4 visit on
// 2020-01-01, 02 and 03; uids 0-9 on 02 and 03; uids 0-14 on 03. Conditions are
// date = 01, 02, 03, so bit d is "visited on day d + 1".
#[test]
fn documentation_example_site_traffic() {
    let mut sums = [0u32; 3];
    for uid in 0..15 {
        let mut rows = vec![0b100];
        if uid < 10 {
            rows.push(0b010);
        }
        if uid < 5 {
            rows.push(0b001);
        }
        let r = retention(&rows, 3).expect("3 conditions");
        let expect = if uid < 5 { vec![1, 1, 1] } else { vec![0, 0, 0] };
        assert_eq!(r, expect, "uid {uid}");
        for (sum, value) in sums.iter_mut().zip(&r) {
            *sum += u32::from(*value);
        }
    }
    assert_eq!(sums, [5, 5, 5]);
}

#[test]
fn later_conditions_count_only_with_the_first() {
    assert_eq!(retention(&[0b10], 2), Ok(vec![0, 0]));
    assert_eq!(retention(&[0b01], 2), Ok(vec![1, 0]));
    // Conditions on different rows, in any order, still combine.
    assert_eq!(retention(&[0b100, 0b001], 3), Ok(vec![1, 0, 1]));
    assert_eq!(retention(&[], 2), Ok(vec![0, 0]));
    // Bits above the condition count are ignored.
    assert_eq!(retention(&[0b101], 2), Ok(vec![1, 0]));
    assert_eq!(retention(&[u32::MAX], 32), Ok(vec![1; 32]));
}

#[test]
fn streaming_state_merges() {
    let mut left = RetentionState::new(3).expect("3 conditions");
    let mut right = RetentionState::new(3).expect("3 conditions");
    left.add(0b001);
    right.add(0b100);
    left.merge(&right);
    assert_eq!(left.finish(), vec![1, 0, 1]);
}

#[test]
fn condition_count_is_two_to_thirty_two() {
    let error =
        |conditions| Err(FunnelError::InvalidConditionCount { function: "retention", conditions });
    assert_eq!(retention(&[1], 1), error(1));
    assert_eq!(retention(&[1], 33), error(33));
}
