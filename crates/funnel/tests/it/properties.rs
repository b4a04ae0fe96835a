use funnel::{
    Event, FunnelSpec, Modes, SequencePattern, retention, sequence_count, sequence_match,
};
use proptest::prelude::*;

fn modes() -> impl Strategy<Value = Modes> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(strict_deduplication, strict_order, strict_increase, strict_once, allow_reentry)| Modes {
            strict_deduplication,
            strict_order,
            strict_increase,
            strict_once,
            allow_reentry: allow_reentry && strict_order,
        },
    )
}

fn rows(max_steps: u32) -> impl Strategy<Value = Vec<Event>> {
    let mask = (0u32..(1 << max_steps)).boxed();
    prop::collection::vec((0u64..50, mask).prop_map(|(t, m)| Event::new(t, m)), 0..24)
}

proptest! {
    #[test]
    fn level_never_exceeds_steps(steps in 1usize..=5, window in 0u64..60, modes in modes(), rows in rows(6)) {
        let spec = FunnelSpec::new(window, steps, modes).expect("valid");
        prop_assert!(usize::from(spec.level(&rows)) <= steps);
    }

    #[test]
    fn default_level_is_monotone_in_window(steps in 1usize..=5, small in 0u64..60, extra in 0u64..60, rows in rows(5)) {
        let narrow = FunnelSpec::new(small, steps, Modes::default()).expect("valid");
        let wide = FunnelSpec::new(small + extra, steps, Modes::default()).expect("valid");
        prop_assert!(narrow.level(&rows) <= wide.level(&rows));
    }

    #[test]
    fn permutation_with_distinct_timestamps_keeps_level(
        steps in 1usize..=5, window in 0u64..60, modes in modes(), rows in rows(5), seed in any::<u64>(),
    ) {
        // Make timestamps distinct, then shuffle deterministically.
        let rows: Vec<Event> = rows.iter().enumerate().map(|(i, e)| Event::new(e.timestamp * 100 + i as u64, e.mask)).collect();
        let mut shuffled = rows.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let spec = FunnelSpec::new(window, steps, modes).expect("valid");
        prop_assert_eq!(spec.level(&rows), spec.level(&shuffled));
    }

    #[test]
    fn without_strict_once_order_never_matters(steps in 1usize..=5, window in 0u64..60, modes in modes(), rows in rows(5)) {
        let modes = Modes { strict_once: false, ..modes };
        let spec = FunnelSpec::new(window, steps, modes).expect("valid");
        let reversed: Vec<Event> = rows.iter().rev().copied().collect();
        prop_assert_eq!(spec.level(&rows), spec.level(&reversed));
    }

    #[test]
    fn streaming_merge_equals_one_shot(steps in 1usize..=5, window in 0u64..60, modes in modes(), rows in rows(5), split in 0usize..24) {
        let spec = FunnelSpec::new(window, steps, modes).expect("valid");
        let split = split.min(rows.len());
        let mut left = spec.state();
        let mut right = spec.state();
        rows[..split].iter().for_each(|e| left.add(e.timestamp, e.mask));
        rows[split..].iter().for_each(|e| right.add(e.timestamp, e.mask));
        left.merge(&right);
        prop_assert_eq!(left.finish(), spec.level(&rows));
    }

    #[test]
    fn retention_is_order_free(masks in prop::collection::vec(any::<u32>(), 0..10), conditions in 2usize..=32) {
        let reversed: Vec<u32> = masks.iter().rev().copied().collect();
        let a = retention(&masks, conditions).expect("valid");
        prop_assert_eq!(a.len(), conditions);
        prop_assert_eq!(a, retention(&reversed, conditions).expect("valid"));
    }

    #[test]
    fn pattern_parser_never_panics(pattern in "[(?t<>=.*)0-9]{0,16}") {
        let _ = SequencePattern::parse(&pattern, 3);
    }

    #[test]
    fn match_iff_count_positive_without_time(
        pattern in prop::collection::vec(prop_oneof![Just("(?1)"), Just("(?2)"), Just("."), Just(".*")], 0..5),
        rows in rows(2),
    ) {
        // With no row meeting a condition, an empty pattern (or `.*`) matches, but `sequenceCount` never
        // enters its loop and returns 0, in ClickHouse too.
        prop_assume!(rows.iter().any(|row| row.mask & 0b11 != 0));
        let pattern = SequencePattern::parse(&pattern.concat(), 2).expect("valid");
        let matched = sequence_match(&pattern, &rows).expect("not too complex");
        let count = sequence_count(&pattern, &rows).expect("not too complex");
        prop_assert_eq!(matched, count > 0, "{:?}", pattern);
    }
}
