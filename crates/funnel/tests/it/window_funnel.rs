use funnel::{Event, FunnelError, FunnelSpec, Modes, window_funnel};

/// Checks `windowFunnel(window, modes...)` with `steps` conditions over `(timestamp, mask)`
/// rows, both one-shot and through a streaming state split in two and merged.
#[track_caller]
fn check(window: u64, modes: &[&str], steps: usize, rows: &[(u64, u32)], expect: u8) {
    let modes = Modes::from_options(modes).expect("valid modes");
    let events: Vec<Event> = rows.iter().map(|&(t, m)| Event::new(t, m)).collect();
    let level = window_funnel(&events, window, steps, modes).expect("valid funnel");
    assert_eq!(level, expect, "rows {rows:?}, modes {modes:?}, window {window}");

    let spec = FunnelSpec::new(window, steps, modes).expect("valid funnel");
    let (head, tail) = events.split_at(events.len() / 2);
    let mut left = spec.state();
    let mut right = spec.state();
    head.iter().for_each(|e| left.add(e.timestamp, e.mask));
    tail.iter().for_each(|e| right.add(e.timestamp, e.mask));
    left.merge(&right);
    assert_eq!(left.finish(), expect, "streaming: rows {rows:?}, modes {modes:?}");
}

/// Rows named by a letter; step `i` is the `i`-th letter of `steps` (a letter may name
/// several steps, then the row meets all of them).
fn letters(rows: &[(u64, char)], steps: &str) -> Vec<(u64, u32)> {
    rows.iter()
        .map(|&(t, name)| {
            let mask = steps
                .chars()
                .enumerate()
                .filter(|&(_, step)| step == name)
                .fold(0, |mask, (i, _)| mask | 1 << i);
            (t, mask)
        })
        .collect()
}

/// Rows with a numeric `event` column and conditions on it.
fn numbers(rows: &[(u64, u32)], conditions: &[&dyn Fn(u32) -> bool]) -> Vec<(u64, u32)> {
    rows.iter()
        .map(|&(t, value)| {
            let mask = conditions
                .iter()
                .enumerate()
                .filter(|(_, condition)| condition(value))
                .fold(0, |mask, (i, _)| mask | 1 << i);
            (t, mask)
        })
        .collect()
}

fn eq(value: u32) -> impl Fn(u32) -> bool {
    move |event| event == value
}

// https://clickhouse.com/docs/en/sql-reference/aggregate-functions/parametric-functions#windowfunnel
// (docs/en/sql-reference/aggregate-functions/parametric-functions.md): the phone
// purchase example; 2019-01-29 10:00:00 etc. as Unix seconds. Sorted by time the events
// are 1003, 1009, 1007, 1010, which is the chain order, so the level is 4.
#[test]
fn documentation_example_phone_purchase() {
    let rows = [
        (1_548_756_000, 1003),
        (1_548_925_200, 1007),
        (1_548_835_200, 1009),
        (1_549_008_000, 1010),
    ];
    let rows = numbers(&rows, &[&eq(1003), &eq(1009), &eq(1007), &eq(1010)]);
    check(6_048_000_000_000_000, &[], 4, &rows, 4);
}

// ClickHouse tests/queries/0_stateless/00632_aggregation_window_funnel.sql, table funnel_test.
#[test]
fn clickhouse_test_consecutive_events() {
    let rows: Vec<(u64, u32)> = (0..9).map(|i| (i, 1000 + i as u32)).collect();
    check(10000, &[], 1, &numbers(&rows, &[&eq(1000)]), 1);
    check(10000, &[], 2, &numbers(&rows, &[&eq(1000), &eq(1001)]), 2);
    check(10000, &[], 3, &numbers(&rows, &[&eq(1000), &eq(1001), &eq(1002)]), 3);
    check(10000, &[], 4, &numbers(&rows, &[&eq(1000), &eq(1001), &eq(1002), &eq(1008)]), 4);
    check(1, &[], 1, &numbers(&rows, &[&eq(1000)]), 1);
    let five = [&eq(1003) as &dyn Fn(u32) -> bool, &eq(1004), &eq(1005), &eq(1006), &eq(1007)];
    check(2, &[], 5, &numbers(&rows, &five), 3);
    check(3, &[], 5, &numbers(&rows, &five), 4);
    check(4, &[], 5, &numbers(&rows, &five), 5);
}

// 00632, tables funnel_test2 (DateTime) and funnel_test_u64 (1e14 + i): same answers.
#[test]
fn clickhouse_test_datetime_and_large_timestamps() {
    for base in [1_514_768_460u64, 100_000_000_000_000] {
        let rows: Vec<(u64, u32)> = (1..=8).map(|i| (base + i, 1000 + i as u32)).collect();
        let five = [&eq(1003) as &dyn Fn(u32) -> bool, &eq(1004), &eq(1005), &eq(1006), &eq(1007)];
        check(4, &[], 5, &numbers(&rows, &five), 5);
        check(10000, &[], 2, &numbers(&rows, &[&eq(1001), &eq(1008)]), 2);
        check(10000, &[], 2, &numbers(&rows, &[&eq(1008), &eq(1001)]), 1);
        let overlapping: [&dyn Fn(u32) -> bool; 4] =
            [&|e: u32| e <= 1007, &|e: u32| e >= 1002, &|e: u32| e <= 1006, &|e: u32| e >= 1004];
        check(4, &[], 4, &numbers(&rows, &overlapping), 4);
    }
}

// 00632, table funnel_test_strict: 1005 occurs twice.
#[test]
fn clickhouse_test_strict_deduplication() {
    let rows = [
        (0, 1000),
        (10, 1001),
        (20, 1002),
        (30, 1003),
        (40, 1004),
        (50, 1005),
        (51, 1005),
        (60, 1006),
        (70, 1007),
        (80, 1008),
    ];
    let seven: Vec<Box<dyn Fn(u32) -> bool>> =
        (1000..=1006).map(|v| Box::new(eq(v)) as Box<dyn Fn(u32) -> bool>).collect();
    let seven: Vec<&dyn Fn(u32) -> bool> = seven.iter().map(|b| b.as_ref()).collect();
    let rows = numbers(&rows, &seven);
    check(10000, &["strict_deduplication"], 7, &rows, 6);
    check(10000, &[], 7, &rows, 7);
}

// 00632, table funnel_test_strict_order: users 1 to 6, steps a, b, c; 'd' meets no step.
#[test]
fn clickhouse_test_strict_order() {
    let users: [&[(u64, char)]; 6] = [
        &[(1, 'a'), (2, 'b'), (3, 'c')],
        &[(1, 'a'), (2, 'd'), (3, 'b'), (4, 'c')],
        &[(1, 'a'), (2, 'a'), (3, 'b'), (4, 'b'), (5, 'c'), (6, 'c')],
        &[(1, 'a'), (2, 'a'), (3, 'a'), (4, 'a'), (5, 'b'), (6, 'b'), (7, 'c'), (8, 'c')],
        &[(1, 'a'), (2, 'a'), (3, 'b'), (4, 'b'), (5, 'd'), (6, 'c'), (7, 'c')],
        &[(1, 'c'), (2, 'c'), (3, 'b'), (4, 'b'), (5, 'a'), (6, 'a')],
    ];
    let default = [3, 3, 3, 3, 3, 1];
    let strict_order = [3, 1, 3, 3, 2, 1];
    let strict_order_dedup = [3, 1, 2, 2, 2, 1];
    for (i, rows) in users.iter().enumerate() {
        let rows = letters(rows, "abc");
        check(86400, &[], 3, &rows, default[i]);
        check(86400, &["strict_order"], 3, &rows, strict_order[i]);
        check(86400, &["strict_deduplication", "strict_order"], 3, &rows, strict_order_dedup[i]);
    }
    // User 7: a, c, b with a 10 s window.
    check(10, &["strict_order"], 3, &letters(&[(1, 'a'), (2, 'c'), (3, 'b')], "abc"), 1);
}

// 00632, https://github.com/ClickHouse/ClickHouse/issues/27469: a b c b d.
#[test]
fn clickhouse_test_deduplication_returns_level_reached() {
    let rows = letters(&[(1, 'a'), (2, 'b'), (3, 'c'), (4, 'b'), (5, 'd')], "abcd");
    check(86400, &["strict_deduplication"], 4, &rows, 3);
}

// 00632, table funnel_test_non_null, user 4: rows (a null, b1), (a2, null), (null, b3);
// conditions `a is null`, `b = 'b3'`. The middle row meets no condition.
#[test]
fn clickhouse_test_row_meeting_no_condition() {
    let rows = [(1, 0b01), (2, 0b00), (3, 0b11)];
    check(86400, &[], 2, &rows, 2);
    check(86400, &["strict_order"], 2, &rows, 1);
    // User 3: one row meeting the only condition.
    check(86400, &[], 1, &[(1, 0b1)], 1);
}

// 00632, table funnel_test_strict_increase: three events share timestamp 1.
#[test]
fn clickhouse_test_strict_increase_and_strict_once() {
    let rows = [(0, 1000), (1, 1001), (1, 1002), (1, 1003), (2, 1004)];
    let five = [&eq(1000) as &dyn Fn(u32) -> bool, &eq(1001), &eq(1002), &eq(1003), &eq(1004)];
    check(10000, &[], 5, &numbers(&rows, &five), 5);
    check(10000, &["strict_increase"], 5, &numbers(&rows, &five), 2);
    // One row meeting all three conditions climbs three steps, unless each row may
    // count once or timestamps must increase.
    let same = [&eq(1004) as &dyn Fn(u32) -> bool, &eq(1004), &eq(1004)];
    check(10000, &[], 3, &numbers(&rows, &same), 3);
    check(10000, &["strict_once"], 3, &numbers(&rows, &same), 1);
    check(10000, &["strict_increase"], 3, &numbers(&rows, &same), 1);
}

// 00632, second funnel_test2: failure, failure, success within 200 s, per uid.
#[test]
fn clickhouse_test_strict_once_per_user() {
    let users: [&[(u64, char)]; 3] = [
        &[(180, 'f'), (220, 'f'), (250, 's')],
        &[(100, 'f'), (250, 'f')],
        &[(200, 's'), (210, 'f'), (230, 's')],
    ];
    let expect = [3, 2, 1];
    for (rows, expect) in users.iter().zip(expect) {
        let rows = letters(rows, "ffs");
        check(200, &["strict_once", "strict_increase"], 3, &rows, expect);
        check(200, &["strict_once"], 3, &rows, expect);
        check(200, &["strict_once", "strict_deduplication"], 3, &rows, expect);
    }
}

// allow_reentry as in AggregateFunctionWindowFunnel.cpp (commit 0215c755): with
// strict_order, a step that comes before its previous step was reached is skipped
// instead of ending the search. NOTE: the 00632 `.reference` stored at commit 0882b32b
// expects different values for its allow_reentry tables (it treats a return to step 1 as
// a strict_order violation that allow_reentry permits); see docs/funnels.md.
#[test]
fn allow_reentry_skips_steps_that_come_too_early() {
    let rows = letters(&[(1, 'a'), (2, 'c'), (3, 'b')], "abc");
    check(86400, &["strict_order"], 3, &rows, 1);
    check(86400, &["strict_order", "allow_reentry"], 3, &rows, 2);
    let rows = letters(&[(1, 'a'), (2, 'c'), (3, 'b'), (4, 'c')], "abc");
    check(86400, &["strict_order", "allow_reentry"], 3, &rows, 3);
    // A row meeting no condition still ends the search.
    let rows = letters(&[(1, 'a'), (2, 'x'), (3, 'b')], "abc");
    check(86400, &["strict_order", "allow_reentry"], 3, &rows, 1);
    // Both versions agree on these rows of the 00632 allow_reentry table (users 3 and 5).
    let rows = letters(&[(1, 'a'), (2, 'b'), (3, 'c'), (4, 'b'), (5, 'd')], "abcd");
    check(86400, &["strict_order"], 4, &rows, 4);
    check(86400, &["strict_order", "allow_reentry"], 4, &rows, 4);
}

#[test]
fn window_boundary_is_inclusive() {
    // `timestamp <= first_timestamp + window`.
    check(10, &[], 2, &[(100, 0b01), (110, 0b10)], 2);
    check(10, &[], 2, &[(100, 0b01), (111, 0b10)], 1);
    check(0, &[], 2, &[(100, 0b01), (100, 0b10)], 2);
}

#[test]
fn window_is_anchored_at_step_one() {
    // Step 3 is 5 after step 2 but 10 after step 1.
    check(8, &[], 3, &[(0, 0b001), (5, 0b010), (10, 0b100)], 2);
    check(10, &[], 3, &[(0, 0b001), (5, 0b010), (10, 0b100)], 3);
}

#[test]
fn later_step_one_restarts_the_chain() {
    check(10, &[], 2, &[(0, 0b01), (100, 0b01), (105, 0b10)], 2);
    // Step 2 keeps the anchor of the chain that reached it: a later step 1 does not
    // refresh it, so step 3 at 105 is out of the window of the chain started at 0.
    check(10, &[], 3, &[(0, 0b001), (5, 0b010), (100, 0b001), (105, 0b100)], 2);
    check(10, &[], 3, &[(0, 0b001), (5, 0b010), (100, 0b001), (103, 0b010), (105, 0b100)], 3);
}

#[test]
fn equal_timestamps_are_ordered_by_step() {
    // Rows at the same timestamp are processed lowest step first, whatever their
    // arrival order (ClickHouse sorts (timestamp, step) pairs).
    check(10, &[], 2, &[(5, 0b10), (5, 0b01)], 2);
    check(10, &[], 3, &[(5, 0b100), (5, 0b010), (5, 0b001)], 3);
    check(10, &["strict_increase"], 2, &[(5, 0b10), (5, 0b01)], 1);
    // One row meeting steps 1 and 2.
    check(10, &[], 2, &[(5, 0b11)], 2);
    check(10, &["strict_once"], 2, &[(5, 0b11)], 1);
    check(10, &["strict_once"], 2, &[(5, 0b11), (5, 0b10)], 2);
    // In strict_order a row meeting no condition sorts before the steps at its timestamp.
    check(10, &["strict_order"], 2, &[(0, 0b01), (5, 0b10), (5, 0b00)], 1);
    check(10, &["strict_order"], 2, &[(5, 0b00), (5, 0b01), (6, 0b10)], 2);
}

#[test]
fn repeated_steps() {
    let rows = [(1, 0b001), (2, 0b010), (3, 0b010), (4, 0b100)];
    check(10, &[], 3, &rows, 3);
    check(10, &["strict_order"], 3, &rows, 3);
    check(10, &["strict_deduplication"], 3, &rows, 2);
    // Step 1 repeating is never a duplicate: it restarts the chain.
    check(10, &["strict_deduplication"], 2, &[(1, 0b01), (2, 0b01), (3, 0b10)], 2);
}

#[test]
fn users_who_never_reach_step_one() {
    check(10, &[], 3, &[], 0);
    check(10, &[], 3, &[(1, 0b010), (2, 0b100)], 0);
    check(10, &["strict_order"], 3, &[(1, 0b000), (2, 0b010)], 0);
    check(10, &["strict_once"], 3, &[(1, 0b110)], 0);
    // With one step, any row meeting it is level 1 (ClickHouse's shortcut).
    check(0, &[], 1, &[(1, 0b1)], 1);
    check(0, &[], 1, &[(1, 0b10)], 0);
}

#[test]
fn unsorted_input() {
    check(10, &[], 3, &[(3, 0b100), (1, 0b001), (2, 0b010)], 3);
    check(10, &["strict_order"], 3, &[(3, 0b100), (2, 0b000), (1, 0b001)], 1);
    check(10, &["strict_once", "strict_increase"], 3, &[(3, 0b100), (2, 0b010), (1, 0b001)], 3);
}

#[test]
fn thirty_two_steps() {
    let rows: Vec<(u64, u32)> = (0..32).rev().map(|i| (i, 1u32 << i)).collect();
    check(31, &[], 32, &rows, 32);
    check(30, &[], 32, &rows, 31);
    check(31, &["strict_order", "strict_increase", "strict_deduplication"], 32, &rows, 32);
    check(31, &["strict_once"], 32, &rows, 32);
    // One row meeting all 32 steps.
    check(0, &[], 32, &[(7, u32::MAX)], 32);
    check(0, &["strict_once"], 32, &[(7, u32::MAX)], 1);
}

#[test]
fn mask_bits_above_the_step_count_are_ignored() {
    check(10, &["strict_order"], 2, &[(1, 0b01), (2, 0b100), (3, 0b10)], 1);
    check(10, &[], 2, &[(1, 0b101), (3, 0b10)], 2);
}

#[test]
fn window_overflow_wraps_like_clickhouse() {
    // ClickHouse computes `first_timestamp + window` in UInt64, which wraps: 10 + MAX = 9.
    check(u64::MAX, &[], 2, &[(10, 0b01), (20, 0b10)], 1);
    check(u64::MAX - 10, &[], 2, &[(10, 0b01), (20, 0b10)], 2);
}

#[test]
fn invalid_parameters() {
    let modes = Modes::default();
    assert_eq!(FunnelSpec::new(1, 0, modes), Err(FunnelError::InvalidStepCount { steps: 0 }));
    assert_eq!(FunnelSpec::new(1, 33, modes), Err(FunnelError::InvalidStepCount { steps: 33 }));
    let reentry = Modes { allow_reentry: true, ..Modes::default() };
    assert_eq!(FunnelSpec::new(1, 2, reentry), Err(FunnelError::ReentryWithoutStrictOrder));
    assert_eq!(Modes::from_options(["strict"]), Err(FunnelError::StrictModeRenamed));
    assert_eq!(
        Modes::from_options(["strict_order", "sloppy"]),
        Err(FunnelError::UnknownMode { mode: "sloppy".to_owned() })
    );
    let all = Modes::from_options([
        "strict_deduplication",
        "strict_order",
        "strict_increase",
        "strict_once",
        "allow_reentry",
    ]);
    assert_eq!(
        all,
        Ok(Modes {
            strict_deduplication: true,
            strict_order: true,
            strict_increase: true,
            strict_once: true,
            allow_reentry: true
        })
    );
}
