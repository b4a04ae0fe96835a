//! Cohort retention on small hand-computed tables.

use analytics::{EventSelector, Period, RetentionMatrix, RetentionSpec, cohort_retention};

use crate::{assert_lines, block_on, session_with};

/// One line per cohort (`START (SIZE): USERS=RATE …`), then the pooled line.
fn render(matrix: &RetentionMatrix) -> String {
    let cells = |cells: &[analytics::RetentionCell]| {
        cells
            .iter()
            .map(|cell| format!("{}={:.0}%", cell.users, cell.rate * 100.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::new();
    for cohort in &matrix.cohorts {
        out += &format!("{} ({}): {}\n", cohort.start, cohort.size, cells(&cohort.returning));
    }
    out += &format!("all: {}\n", cells(&matrix.all_cohorts));
    out
}

#[track_caller]
fn check(events: &str, spec: RetentionSpec, expected: &str) {
    let matrix = block_on(cohort_retention(&session_with(events), &spec)).unwrap();
    assert_lines(&render(&matrix), expected);
}

fn spec(cohort: &str, returning: &str, period: Period) -> RetentionSpec {
    RetentionSpec {
        cohort_event: cohort.parse().unwrap(),
        return_event: returning.parse().unwrap(),
        period,
        ..RetentionSpec::default()
    }
}

const WEEKS: &str = "
    2024-01-01T10:00 u1 s1 view
    2024-01-08T10:00 u1 s2 view
    2024-01-22T10:00 u1 s3 view
    2024-01-07T23:59 u2 s4 view
    2024-01-08T00:00 u3 s5 view
    2024-01-15T12:00 u3 s6 purchase
    2024-01-29T12:00 u4 s7 view bot
";

#[test]
fn weekly_cohorts_start_on_monday_and_stop_at_the_last_observed_week() {
    // u2's Sunday 23:59 is still the week of Jan 1; u3's Monday 00:00 starts the
    // next one. The bot's week of Jan 29 is not observed, so nothing reaches it.
    check(
        WEEKS,
        spec("any", "any", Period::Week),
        "
        2024-01-01 (2): 2=100% 1=50% 0=0% 1=50%
        2024-01-08 (1): 1=100% 1=100% 0=0%
        all: 3=100% 2=67% 0=0% 1=50%
        ",
    );
}

#[test]
fn bots_count_only_when_asked() {
    let spec = RetentionSpec { include_bots: true, ..spec("any", "any", Period::Week) };
    check(
        WEEKS,
        spec,
        "
        2024-01-01 (2): 2=100% 1=50% 0=0% 1=50% 0=0%
        2024-01-08 (1): 1=100% 1=100% 0=0% 0=0%
        2024-01-29 (1): 1=100%
        all: 4=100% 2=67% 0=0% 1=33% 0=0%
        ",
    );
}

#[test]
fn max_offset_cuts_the_matrix() {
    let spec = RetentionSpec { max_offset: 1, ..spec("any", "any", Period::Week) };
    check(
        WEEKS,
        spec,
        "
        2024-01-01 (2): 2=100% 1=50%
        2024-01-08 (1): 1=100% 1=100%
        all: 3=100% 2=67%
        ",
    );
}

#[test]
fn monthly_purchase_cohorts_return_on_purchases_only() {
    // u1's first purchase is the last second of January; February 1st is offset 1.
    // u1's March view is not a purchase; u3 never buys and is in no cohort.
    check(
        "
        2024-01-15 u1 s1 view
        2024-01-31T23:59:59 u1 s1 purchase
        2024-02-01T00:00 u1 s2 purchase
        2024-03-10 u1 s3 view
        2024-02-20 u2 s4 purchase
        2024-02-21 u2 s5 purchase
        2024-03-05 u3 s6 view
        ",
        spec("purchase", "purchase", Period::Month),
        "
        2024-01-01 (1): 1=100% 1=100% 0=0%
        2024-02-01 (1): 1=100% 0=0%
        all: 2=100% 1=50% 0=0%
        ",
    );
}

#[test]
fn offset_zero_counts_the_return_event_in_the_cohort_period() {
    check(
        "
        2024-01-01T09:00 u1 s1 view
        2024-01-01T10:00 u1 s1 purchase
        2024-01-01T09:00 u2 s2 view
        2024-01-02T09:00 u2 s3 purchase
        ",
        spec("view", "purchase", Period::Day),
        "
        2024-01-01 (2): 1=50% 1=50%
        all: 1=50% 1=50%
        ",
    );
}

#[test]
fn a_single_user_in_a_single_period() {
    check(
        "2024-05-01T08:00 u1 s1 view",
        spec("any", "any", Period::Day),
        "2024-05-01 (1): 1=100%\nall: 1=100%",
    );
}

#[test]
fn an_empty_table_has_no_cohorts() {
    let matrix = block_on(cohort_retention(&session_with(""), &RetentionSpec::default())).unwrap();
    assert_eq!((matrix.last_period, matrix.cohorts.len(), matrix.all_cohorts.len()), (None, 0, 0));
}

#[test]
fn event_selectors_parse_canonical_names() {
    let cases = [
        ("any", EventSelector::Any),
        ("*", EventSelector::Any),
        ("purchase", EventSelector::event_type("purchase")),
        ("cart", EventSelector::event_type("add_to_cart")),
        ("Signup", EventSelector::event_type("signup")),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<EventSelector>().unwrap(), expected, "{text}");
    }
    assert!("two words".parse::<EventSelector>().is_err());
    assert!("fortnight".parse::<Period>().is_err());
}

#[test]
fn a_quote_in_an_event_name_stays_inside_the_literal() {
    let spec = RetentionSpec {
        cohort_event: EventSelector::event_type("it's"),
        ..RetentionSpec::default()
    };
    let matrix = block_on(cohort_retention(&session_with("2024-05-01 u1 s1 view"), &spec)).unwrap();
    assert!(matrix.cohorts.is_empty());
}
