//! Lifecycle (new, returning, resurrected, dormant) on small hand-computed tables.

use analytics::{EventSelector, Lifecycle, LifecycleSpec, Period, lifecycle};

use crate::{assert_lines, block_on, session_with};

fn render(result: &Lifecycle) -> String {
    result
        .periods
        .iter()
        .map(|p| {
            format!(
                "{} new {} returning {} resurrected {} dormant {}\n",
                p.start, p.new, p.returning, p.resurrected, p.dormant
            )
        })
        .collect()
}

#[track_caller]
fn check(events: &str, spec: LifecycleSpec, expected: &str) {
    let result = block_on(lifecycle(&session_with(events), &spec)).unwrap();
    assert_lines(&render(&result), expected);
}

fn daily() -> LifecycleSpec {
    LifecycleSpec { period: Period::Day, ..LifecycleSpec::default() }
}

const DAYS: &str = "
    2024-01-01T08:00 u1 s1 view
    2024-01-01T09:00 u2 s2 view
    2024-01-02T10:00 u1 s3 view
    2024-01-04T11:00 u2 s4 view
    2024-01-04T12:00 u3 s5 view
    2024-01-05T12:00 u1 s6 view bot
";

#[test]
fn each_status_by_day_including_a_day_without_activity() {
    // u1: Jan 1, 2; u2: Jan 1, 4; u3: Jan 4. Nobody is active on Jan 3, which is
    // still listed; going dormant after Jan 4 is not observed yet.
    check(
        DAYS,
        daily(),
        "
        2024-01-01 new 2 returning 0 resurrected 0 dormant 0
        2024-01-02 new 0 returning 1 resurrected 0 dormant -1
        2024-01-03 new 0 returning 0 resurrected 0 dormant -1
        2024-01-04 new 1 returning 0 resurrected 1 dormant 0
        ",
    );
}

#[test]
fn bot_activity_counts_only_when_asked() {
    check(
        DAYS,
        LifecycleSpec { include_bots: true, ..daily() },
        "
        2024-01-01 new 2 returning 0 resurrected 0 dormant 0
        2024-01-02 new 0 returning 1 resurrected 0 dormant -1
        2024-01-03 new 0 returning 0 resurrected 0 dormant -1
        2024-01-04 new 1 returning 0 resurrected 1 dormant 0
        2024-01-05 new 0 returning 0 resurrected 1 dormant -2
        ",
    );
}

#[test]
fn weeks_turn_at_monday_midnight() {
    check(
        "
        2024-01-07T23:59 u1 s1 view
        2024-01-08T00:00 u1 s1 view
        2024-01-29T10:00 u1 s2 view
        ",
        LifecycleSpec { period: Period::Week, ..LifecycleSpec::default() },
        "
        2024-01-01 new 1 returning 0 resurrected 0 dormant 0
        2024-01-08 new 0 returning 1 resurrected 0 dormant 0
        2024-01-15 new 0 returning 0 resurrected 0 dormant -1
        2024-01-22 new 0 returning 0 resurrected 0 dormant 0
        2024-01-29 new 0 returning 0 resurrected 1 dormant 0
        ",
    );
}

#[test]
fn months_of_purchasers() {
    // u2's February view does not make them active; their first purchase in
    // March makes them new then.
    check(
        "
        2024-01-31T23:59 u1 s1 purchase
        2024-02-01T00:00 u1 s2 purchase
        2024-02-15 u2 s3 view
        2024-03-31 u2 s4 purchase
        ",
        LifecycleSpec {
            event: EventSelector::event_type("purchase"),
            period: Period::Month,
            ..LifecycleSpec::default()
        },
        "
        2024-01-01 new 1 returning 0 resurrected 0 dormant 0
        2024-02-01 new 0 returning 1 resurrected 0 dormant 0
        2024-03-01 new 1 returning 0 resurrected 0 dormant -1
        ",
    );
}

#[test]
fn a_single_user_and_the_derived_numbers() {
    let result = block_on(lifecycle(&session_with(DAYS), &daily())).unwrap();
    let last = result.periods.last().unwrap();
    assert_eq!((last.active(), last.quick_ratio()), (2, None));
    let second = &result.periods[1];
    assert_eq!((second.active(), second.quick_ratio()), (1, Some(0.0)));

    check(
        "2024-02-29T12:00 u1 s1 view",
        daily(),
        "2024-02-29 new 1 returning 0 resurrected 0 dormant 0",
    );
}

#[test]
fn an_empty_table_has_no_periods() {
    check("", daily(), "");
}
