use funnel::{
    Event, FunnelError, PatternElement, PatternErrorKind, SequencePattern, TimeComparison,
    sequence_count, sequence_match,
};

fn events(rows: &[(u64, u32)]) -> Vec<Event> {
    rows.iter().map(|&(t, m)| Event::new(t, m)).collect()
}

#[track_caller]
fn check_match(pattern: &str, conditions: usize, rows: &[(u64, u32)], expect: bool) {
    let pattern = SequencePattern::parse(pattern, conditions).expect("valid pattern");
    assert_eq!(sequence_match(&pattern, &events(rows)), Ok(expect), "{pattern:?} over {rows:?}");
}

#[track_caller]
fn check_count(pattern: &str, conditions: usize, rows: &[(u64, u32)], expect: u64) {
    let pattern = SequencePattern::parse(pattern, conditions).expect("valid pattern");
    assert_eq!(sequence_count(&pattern, &events(rows)), Ok(expect), "{pattern:?} over {rows:?}");
}

#[track_caller]
fn check_error(pattern: &str, conditions: usize, position: usize, kind: PatternErrorKind) {
    let expect = FunnelError::InvalidPattern { pattern: pattern.to_owned(), position, kind };
    assert_eq!(SequencePattern::parse(pattern, conditions), Err(expect));
}

// https://clickhouse.com/docs/en/sql-reference/aggregate-functions/parametric-functions#sequencematch
// (docs/en/sql-reference/aggregate-functions/parametric-functions.md): table t with
// (time, number) = (1, 1), (2, 3), (3, 2).
#[test]
fn documentation_examples_sequence_match() {
    // number = 1, number = 2: the row with 3 meets no condition and is skipped.
    check_match("(?1)(?2)", 2, &[(1, 0b01), (2, 0b00), (3, 0b10)], true);
    // number = 1, number = 2, number = 3: the 3 now sits between 1 and 2.
    check_match("(?1)(?2)", 3, &[(1, 0b001), (2, 0b100), (3, 0b010)], false);
    // number = 1, number = 2, number = 4: the 3 meets no condition again.
    check_match("(?1)(?2)", 3, &[(1, 0b001), (2, 0b000), (3, 0b010)], true);
}

// https://clickhouse.com/docs/en/sql-reference/aggregate-functions/parametric-functions#sequencecount
// numbers 1, 3, 2, 1, 3, 2 at times 1-6; '(?1).*(?2)' with number = 1, number = 2.
#[test]
fn documentation_example_sequence_count() {
    let rows = [(1, 0b01), (2, 0b00), (3, 0b10), (4, 0b01), (5, 0b00), (6, 0b10)];
    check_count("(?1).*(?2)", 2, &rows, 2);
}

#[test]
fn time_conditions() {
    let far = [(0, 0b01), (1801, 0b10)];
    let near = [(0, 0b01), (1000, 0b10)];
    check_match("(?1)(?t>1800)(?2)", 2, &far, true);
    check_match("(?1)(?t>1800)(?2)", 2, &near, false);
    // Boundaries: `t OP base + value`.
    check_match("(?1)(?t>=1801)(?2)", 2, &far, true);
    check_match("(?1)(?t>1801)(?2)", 2, &far, false);
    check_match("(?1)(?t<=1801)(?2)", 2, &far, true);
    check_match("(?1)(?t<1801)(?2)", 2, &far, false);
    check_match("(?1)(?t==1801)(?2)", 2, &far, true);
    check_match("(?1)(?t==1800)(?2)", 2, &far, false);
    // Any events may lie between the two sides of a time condition.
    check_match("(?1)(?t>10)(?2)", 3, &[(0, 0b01), (5, 0b100), (20, 0b10)], true);
    check_count("(?1)(?t<=5)(?2)", 2, &[(0, 0b01), (3, 0b10), (10, 0b01), (20, 0b10)], 1);
}

#[test]
fn any_event_and_any_events() {
    check_match("(?1).(?2)", 2, &[(1, 0b01), (2, 0b01), (3, 0b10)], true);
    check_match("(?1).(?2)", 2, &[(1, 0b01), (3, 0b10)], false);
    check_match("(?1).*(?2)", 2, &[(1, 0b01), (2, 0b01), (3, 0b10)], true);
    check_match("(?2).*(?1)", 2, &[(1, 0b01), (3, 0b10)], false);
}

#[test]
fn unsorted_input_is_sorted_by_time() {
    check_match("(?1)(?2)", 2, &[(3, 0b10), (1, 0b01)], true);
    check_count("(?1)(?2)", 2, &[(4, 0b10), (3, 0b01), (2, 0b10), (1, 0b01)], 2);
}

#[test]
fn equal_timestamps_keep_arrival_order() {
    // ClickHouse leaves their order unspecified; this port keeps arrival order.
    check_match("(?1)(?2)", 2, &[(5, 0b01), (5, 0b10)], true);
    check_match("(?1)(?2)", 2, &[(5, 0b10), (5, 0b01)], false);
}

#[test]
fn missing_condition_never_matches() {
    check_match("(?1).*(?2)", 2, &[(1, 0b01), (2, 0b01)], false);
    check_count("(?1).*(?2)", 2, &[(1, 0b01), (2, 0b01)], 0);
    check_match("(?1)(?2)", 2, &[], false);
}

#[test]
fn count_is_non_overlapping() {
    check_count("(?1)(?2)", 2, &[(1, 0b01), (2, 0b10), (3, 0b01), (4, 0b10)], 2);
    check_count("(?1).*(?2)", 2, &[(1, 0b01), (2, 0b01), (3, 0b10), (4, 0b10)], 1);
    // One row meeting both conditions cannot be both ends of one match.
    check_count("(?1)(?2)", 2, &[(1, 0b11), (2, 0b11), (3, 0b11)], 1);
}

#[test]
fn thirty_two_conditions() {
    let rows: Vec<(u64, u32)> = (0u32..32).map(|i| (u64::from(i), 1u32 << i)).collect();
    let pattern: String = (1..=32).map(|n| format!("(?{n})")).collect();
    check_match(&pattern, 32, &rows, true);
    check_count(&pattern, 32, &rows, 1);
}

#[test]
fn parsed_elements() {
    let pattern = SequencePattern::parse("(?1).*(?t<=30)(?2).", 2).expect("valid pattern");
    assert_eq!(
        pattern.elements(),
        &[
            PatternElement::Condition(1),
            PatternElement::AnyEvents,
            PatternElement::Time(TimeComparison::LessOrEqual, 30),
            PatternElement::Condition(2),
            PatternElement::AnyEvent,
        ]
    );
    assert!(pattern.has_time_condition());
    // A time condition may start the pattern (it follows the implicit leading `.*`).
    assert!(SequencePattern::parse("(?t>5)(?1)", 2).is_ok());
    assert!(SequencePattern::parse("", 2).is_ok());
}

#[test]
fn parse_errors() {
    check_error("(?0)", 2, 2, PatternErrorKind::ConditionOutOfRange { number: 0, conditions: 2 });
    check_error("(?3)", 2, 2, PatternErrorKind::ConditionOutOfRange { number: 3, conditions: 2 });
    check_error("(?1", 2, 3, PatternErrorKind::ExpectedClosingParenthesis);
    check_error("(?x)", 2, 2, PatternErrorKind::ExpectedNumber);
    check_error("(?t~5)", 2, 3, PatternErrorKind::UnknownTimeCondition);
    check_error("(?t>)", 2, 4, PatternErrorKind::ExpectedNumber);
    check_error("(?1) (?2)", 2, 4, PatternErrorKind::UnexpectedSymbol);
    check_error("(?1)(?t>1)(?t<5)(?2)", 2, 14, PatternErrorKind::TimeConditionNotAfterEvent);
    check_error("(?99999999999999999999)", 2, 2, PatternErrorKind::ExpectedNumber);
    assert_eq!(
        SequencePattern::parse("(?1)", 1),
        Err(FunnelError::InvalidConditionCount { function: "sequenceMatch", conditions: 1 })
    );
}
