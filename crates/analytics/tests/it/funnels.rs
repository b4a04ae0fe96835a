//! Funnel questions on small event tables whose answers are worked out by hand.

use std::sync::Arc;

use analytics::funnels::{
    self, Attribution, Breakdown, CountBy, Exclusion, FunnelQuery, FunnelResult, FunnelStep,
    StepOrder, UnitLevel,
};
use arrow::array::{BooleanArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

/// `(user, session, minute, event_type, item_id)`; `is_bot` for user `bot`.
type Row = (&'static str, &'static str, i64, &'static str, &'static str);

fn events(rows: &[Row]) -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("item_id", DataType::Utf8, true),
        Field::new("is_bot", DataType::Boolean, false),
    ]));
    // Two batches in two partitions, so nothing depends on the read order.
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (index, chunk) in rows.chunks(3).enumerate() {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|row| row.0))),
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|row| row.1))),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        chunk.iter().map(|row| 1_700_000_000_000_000 + row.2 * 60_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|row| row.3))),
                Arc::new(StringArray::from_iter(
                    chunk.iter().map(|row| (!row.4.is_empty()).then_some(row.4)),
                )),
                Arc::new(BooleanArray::from_iter(chunk.iter().map(|row| Some(row.0 == "bot")))),
            ],
        )
        .unwrap();
        partitions[index % 2].push(batch);
    }
    let context = SessionContext::new();
    analytics::udaf::register(&context);
    context
        .register_table("events", Arc::new(MemTable::try_new(schema, partitions).unwrap()))
        .unwrap();
    context
}

fn query(steps: &[&str], window: &str) -> FunnelQuery {
    FunnelQuery::new(
        steps.iter().map(|step| FunnelStep::parse(step).unwrap()).collect(),
        funnels::parse_duration(window).unwrap(),
    )
}

async fn entered(rows: &[Row], query: &FunnelQuery) -> Vec<u64> {
    let (result, _) = funnels::run(&events(rows), query, false).await.unwrap();
    result.steps.iter().map(|step| step.entered).collect()
}

async fn run(rows: &[Row], query: &FunnelQuery) -> (FunnelResult, Vec<UnitLevel>) {
    funnels::run(&events(rows), query, true).await.unwrap()
}

const SHOP: &[Row] = &[
    // a: view → cart → purchase, 10 and 50 minutes apart.
    ("a", "s1", 0, "view", "i1"),
    ("a", "s1", 10, "add_to_cart", "i1"),
    ("a", "s1", 60, "purchase", "i1"),
    // b: view → cart, then gone.
    ("b", "s2", 0, "view", "i2"),
    ("b", "s2", 30, "add_to_cart", "i3"),
    // c: only views.
    ("c", "s3", 5, "view", "i1"),
    ("c", "s3", 6, "view", "i2"),
    // d: cart before view (ordered: only step 1), purchase two days later.
    ("d", "s4", 0, "add_to_cart", "i4"),
    ("d", "s4", 1, "view", "i4"),
    ("d", "s5", 2 * 24 * 60, "purchase", "i4"),
    // e: never views.
    ("e", "s6", 0, "search", ""),
];

#[tokio::test]
async fn ordered_funnel_counts_each_user_at_their_deepest_step() {
    let mut query = query(&["view", "add_to_cart", "purchase"], "1d");
    query.keep_all_units = true;
    let (result, units) = run(SHOP, &query).await;
    let entered: Vec<u64> = result.steps.iter().map(|step| step.entered).collect();
    assert_eq!(entered, [4, 2, 1]);
    assert_eq!(result.steps[1].dropped, 2);
    assert_eq!(result.steps[2].dropped, 1);
    assert!((result.steps[1].conversion_from_start - 0.5).abs() < 1e-12);
    assert!((result.steps[2].conversion_from_previous - 0.5).abs() < 1e-12);
    // View → cart: a took 10 min, b 30 min; median 20 min.
    assert_eq!(result.steps[1].median_seconds_from_previous, Some(1_200.0));
    assert_eq!(result.steps[2].median_seconds_from_previous, Some(3_000.0));
    assert!(result.clickhouse_exact);
    assert_eq!(result.units, 5, "every user is kept for per-unit output, e included");
    let levels: Vec<(String, Option<u8>)> =
        units.into_iter().map(|unit| (unit.user_id, unit.level)).collect();
    let mut levels = levels;
    levels.sort();
    assert_eq!(
        levels,
        [("a", 3), ("b", 2), ("c", 1), ("d", 1), ("e", 0)]
            .map(|(user, level)| (user.to_owned(), Some(level)))
    );
    // The conversion histogram has a's hour in the 15 min–1 h bin… and nothing else.
    let converted: u64 = result.time_to_convert.iter().map(|bin| bin.units).sum();
    assert_eq!(converted, 1);
}

#[tokio::test]
async fn the_window_runs_from_step_one() {
    // d's purchase comes two days after the view: in with 3d, out with 1d.
    let rows: Vec<Row> = SHOP.iter().copied().filter(|row| row.0 == "d").collect();
    let with_cart_step = ["view", "purchase"];
    assert_eq!(entered(&rows, &query(&with_cart_step, "1d")).await, [1, 0]);
    assert_eq!(entered(&rows, &query(&with_cart_step, "3d")).await, [1, 1]);
}

#[tokio::test]
async fn steps_can_be_sql_predicates() {
    let query = query(&["view", "event_type = 'add_to_cart' AND item_id = 'i1'"], "1d");
    assert_eq!(entered(SHOP, &query).await, [4, 1]);
}

#[tokio::test]
async fn strict_order_breaks_on_any_other_event() {
    let rows: &[Row] = &[
        ("a", "s", 0, "view", ""),
        ("a", "s", 1, "search", ""),
        ("a", "s", 2, "add_to_cart", ""),
        ("b", "s", 0, "view", ""),
        ("b", "s", 1, "add_to_cart", ""),
        // c breaks the first attempt and converts in the second; ClickHouse's
        // strict_order mode stops at the break.
        ("c", "s", 0, "view", ""),
        ("c", "s", 1, "search", ""),
        ("c", "s", 2, "view", ""),
        ("c", "s", 3, "add_to_cart", ""),
    ];
    let mut strict = query(&["view", "add_to_cart"], "1h");
    strict.order = StepOrder::Strict;
    assert_eq!(entered(rows, &strict).await, [3, 2]);
    let mut clickhouse_strict = query(&["view", "add_to_cart"], "1h");
    clickhouse_strict.modes.strict_order = true;
    assert_eq!(entered(rows, &clickhouse_strict).await, [3, 1]);
    assert_eq!(entered(rows, &query(&["view", "add_to_cart"], "1h")).await, [3, 3]);
}

#[tokio::test]
async fn any_order_counts_distinct_steps_within_the_window() {
    let mut any = query(&["view", "add_to_cart", "purchase"], "1d");
    any.order = StepOrder::Any;
    // d did cart, view, purchase (two days later): 2 steps within a day.
    // c did only views: 1 step; e none.
    assert_eq!(entered(SHOP, &any).await, [4, 3, 1]);
}

#[tokio::test]
async fn exclusions_leave_out_users_who_did_the_excluded_event_between_steps() {
    let rows: &[Row] = &[
        ("a", "s", 0, "view", ""),
        ("a", "s", 1, "remove_from_cart", ""),
        ("a", "s", 2, "add_to_cart", ""),
        ("b", "s", 0, "view", ""),
        ("b", "s", 1, "add_to_cart", ""),
        ("b", "s", 2, "remove_from_cart", ""),
        // c never reached cart: the exclusion counts until the window ends.
        ("c", "s", 0, "view", ""),
        ("c", "s", 5, "remove_from_cart", ""),
    ];
    let mut query = query(&["view", "add_to_cart"], "1h");
    query.exclusions.push(Exclusion {
        label: "remove_from_cart".into(),
        predicate: "event_type = 'remove_from_cart'".into(),
        from_step: 0,
        to_step: 1,
    });
    let (result, _) = run(rows, &query).await;
    assert_eq!(result.excluded, 2);
    assert_eq!(result.steps.iter().map(|step| step.entered).collect::<Vec<_>>(), [1, 1]);
    assert!(!result.clickhouse_exact);
}

#[tokio::test]
async fn held_properties_must_stay_the_same_across_steps() {
    let mut query = query(&["view", "add_to_cart"], "1d");
    query.hold.push("item_id".into());
    // a: view i1 → cart i1 counts; b: view i2 → cart i3 does not.
    // d: cart i4 comes before the view of i4.
    assert_eq!(entered(SHOP, &query).await, [4, 1]);
}

#[tokio::test]
async fn optional_steps_may_be_skipped() {
    let rows: &[Row] = &[
        ("a", "s", 0, "view", ""),
        ("a", "s", 1, "add_to_cart", ""),
        ("a", "s", 2, "purchase", ""),
        ("b", "s", 0, "view", ""),
        ("b", "s", 2, "purchase", ""),
    ];
    let mut query = query(&["view", "add_to_cart", "purchase"], "1h");
    query.steps[1].optional = true;
    let (result, _) = run(rows, &query).await;
    // The optional step counts those who did it; both users converted.
    assert_eq!(result.steps.iter().map(|step| step.entered).collect::<Vec<_>>(), [2, 1, 2]);
}

#[tokio::test]
async fn per_step_windows_limit_the_gap_from_the_previous_step() {
    let rows: &[Row] = &[
        ("a", "s", 0, "view", ""),
        ("a", "s", 5, "add_to_cart", ""),
        ("b", "s", 0, "view", ""),
        ("b", "s", 50, "add_to_cart", ""),
    ];
    let mut query = query(&["view", "add_to_cart"], "1d");
    query.steps[1].within_micros = Some(funnels::parse_duration("10m").unwrap());
    assert_eq!(entered(rows, &query).await, [2, 1]);
}

#[tokio::test]
async fn sessions_and_totals_count_other_units() {
    let rows: &[Row] = &[
        ("a", "s1", 0, "view", ""),
        ("a", "s1", 1, "add_to_cart", ""),
        ("a", "s2", 100, "view", ""),
        ("a", "s2", 101, "add_to_cart", ""),
        ("a", "s3", 200, "view", ""),
        ("b", "s4", 0, "view", ""),
        ("b", "s5", 1, "add_to_cart", ""),
    ];
    let steps = ["view", "add_to_cart"];
    let mut sessions = query(&steps, "1d");
    sessions.count_by = CountBy::Sessions;
    // a's three sessions (two convert), b's view session; b's cart is in another session
    // and has no view of its own.
    assert_eq!(entered(rows, &sessions).await, [4, 2]);
    let mut totals = query(&steps, "1d");
    totals.count_by = CountBy::Totals;
    // a enters three times (converting twice), b once (converting).
    assert_eq!(entered(rows, &totals).await, [4, 3]);
}

#[tokio::test]
async fn breakdowns_attribute_each_user_to_one_value() {
    let mut query = query(&["view", "add_to_cart"], "1d");
    query.breakdown = Some(Breakdown {
        expression: "item_id".into(),
        attribution: Attribution::FirstTouch,
        limit: 10,
    });
    let (result, _) = run(SHOP, &query).await;
    let mut rows: Vec<(String, Vec<u64>)> =
        result.breakdown.into_iter().map(|row| (row.value, row.steps)).collect();
    rows.sort();
    // First touch: the view's item. a viewed i1, b i2, d i4; c viewed i1 and then i2,
    // and the earliest chain reaching c's deepest level decides: i1.
    assert_eq!(
        rows,
        [("i1", vec![2, 1]), ("i2", vec![1, 1]), ("i4", vec![1, 0])]
            .map(|(value, steps)| (value.to_owned(), steps))
    );
    query.breakdown.as_mut().unwrap().attribution = Attribution::LastTouch;
    let (result, _) = run(SHOP, &query).await;
    let b = result.breakdown.iter().find(|row| row.value == "i3").expect("b's cart item");
    assert_eq!(b.steps, [1, 1]);
}

#[tokio::test]
async fn date_range_and_bots() {
    let mut rows: Vec<Row> = SHOP.to_vec();
    rows.push(("bot", "x", 0, "view", ""));
    rows.push(("bot", "x", 0, "add_to_cart", ""));
    let mut query = query(&["view", "add_to_cart"], "1d");
    assert_eq!(entered(&rows, &query).await, [5, 3]);
    query.exclude_bots = true;
    assert_eq!(entered(&rows, &query).await, [4, 2]);
    // From minute 3 on, only c's views are step 1 (a's, b's and d's came earlier).
    query.from = Some(chrono::DateTime::from_timestamp(1_700_000_000 + 3 * 60, 0).unwrap());
    assert_eq!(entered(&rows, &query).await, [1, 0]);
}

#[tokio::test]
async fn invalid_questions_are_refused_with_a_reason() {
    let context = events(SHOP);
    let mut bad = query(&["view", "purchase"], "1d");
    bad.steps[0].optional = true;
    let error = funnels::run(&context, &bad, false).await.unwrap_err().to_string();
    assert!(error.contains("step 1 cannot be optional"), "{error}");
    let mut bad = query(&["view", "purchase"], "1d");
    bad.modes.strict_once = true;
    bad.hold.push("item_id".into());
    let error = funnels::run(&context, &bad, false).await.unwrap_err().to_string();
    assert!(error.contains("ClickHouse modes"), "{error}");
    let error = funnels::parse_duration("7 fortnights").unwrap_err().to_string();
    assert!(error.contains("unit"), "{error}");
    let bad = query(&["view", "no_such_column = 1"], "1d");
    let error = funnels::run(&context, &bad, false).await.unwrap_err().to_string();
    assert!(error.contains("no_such_column"), "{error}");
}

/// A deterministic pseudo-random stream.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test]
async fn the_chain_evaluator_agrees_with_clickhouse_on_plain_funnels() {
    // Default-mode funnels are evaluated by the chain evaluator; the `funnel` crate's
    // port of ClickHouse must give every user the same level, with a per-step window
    // (which changes nothing here) or without.
    const USERS: [&str; 30] = [
        "u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11", "u12", "u13",
        "u14", "u15", "u16", "u17", "u18", "u19", "u20", "u21", "u22", "u23", "u24", "u25", "u26",
        "u27", "u28", "u29",
    ];
    const TYPES: [&str; 5] = ["view", "add_to_cart", "checkout", "purchase", "search"];
    let mut seed = 0x2545_F491_4F6C_DD1D;
    let rows: Vec<Row> = (0..1_500)
        .map(|_| {
            let user = USERS[(next(&mut seed) % 30) as usize];
            let minute = (next(&mut seed) % 600) as i64;
            let event_type = TYPES[(next(&mut seed) % 5) as usize];
            (user, "s", minute, event_type, "")
        })
        .collect();
    for window in ["30m", "2h"] {
        let plain = query(&["view", "add_to_cart", "checkout", "purchase"], window);
        let mut chained = plain.clone();
        chained.steps[1].within_micros = Some(plain.window_micros);
        let spec = funnel::FunnelSpec::new(plain.window_micros as u64, 4, funnel::Modes::default())
            .unwrap();
        for variant in [plain, chained] {
            let (result, levels) = run(&rows, &variant).await;
            assert!(result.steps[3].entered > 0, "the data should reach the last step");
            assert_eq!(levels.len(), 30);
            for unit in levels {
                let events: Vec<funnel::Event> = rows
                    .iter()
                    .filter(|row| row.0 == unit.user_id)
                    .map(|row| {
                        let step = TYPES[..4].iter().position(|name| *name == row.3);
                        let mask = step.map_or(0, |step| 1 << step);
                        funnel::Event::new(row.2 as u64 * 60_000_000, mask)
                    })
                    .collect();
                assert_eq!(unit.level, Some(spec.level(&events)), "{} at {window}", unit.user_id);
            }
        }
    }
}

#[test]
fn correlation_statistics_match_reference_values() {
    use analytics::correlation::{odds_ratio, p_value};
    // R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.4857143.
    assert!((p_value(3, 1, 1, 3) - 0.485_714_3).abs() < 1e-6);
    // R: fisher.test(matrix(c(10, 2, 3, 15), 2))$p.value = 0.0005367241 (a=10,b=3,c=2,d=15).
    assert!((p_value(10, 3, 2, 15) - 0.000_536_724_1).abs() < 1e-8);
    // Large tables use chi-squared: 6000/4000 vs 4000/6000 is overwhelmingly significant,
    // an even split is not.
    assert!(p_value(6_000, 4_000, 4_000, 6_000) < 1e-100_f64.max(1e-300));
    assert!((p_value(5_000, 5_000, 5_000, 5_000) - 1.0).abs() < 1e-6);
    // Odds ratio with one added per cell: (9+1)/(1+1) / ((1+1)/(9+1)) = 25.
    assert!((odds_ratio(9, 1, 10, 10) - 25.0).abs() < 1e-12);
}

#[tokio::test]
async fn correlation_finds_the_event_that_goes_with_converting() {
    use analytics::correlation::{CorrelationOptions, correlate};
    // 12 users view; the 6 who searched bought, of the 6 who did not, one bought.
    let users: [&'static str; 12] =
        ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11"];
    let mut rows: Vec<Row> = Vec::new();
    for (index, user) in users.iter().enumerate() {
        rows.push((user, "s", 0, "view", ""));
        if index < 6 {
            rows.push((user, "s", 1, "search", ""));
        }
        if index < 6 || index == 11 {
            rows.push((user, "s", 2, "purchase", ""));
        }
        if index >= 6 {
            rows.push((user, "s", 1, "remove_from_cart", ""));
        }
    }
    let context = events(&rows);
    let query = query(&["view", "purchase"], "1d");
    let (_, units) = funnels::run(&context, &query, true).await.unwrap();
    let options = CorrelationOptions { properties: vec!["item_id".into()], ..Default::default() };
    let result = correlate(&context, &query, &units, &options).await.unwrap();
    assert_eq!((result.success_total, result.failure_total), (7, 5));
    assert_eq!(result.success.first().map(|c| c.name.as_str()), Some("search"));
    assert_eq!(result.failure.first().map(|c| c.name.as_str()), Some("remove_from_cart"));
    let search = &result.success[0];
    assert_eq!((search.success_with, search.failure_with), (6, 0));
    // Step event types are not candidates.
    assert!(result.success.iter().chain(&result.failure).all(|c| c.name != "purchase"));
}

#[tokio::test]
async fn user_ids_read_as_string_views_long_or_short() {
    // Parquet strings arrive as views; long ids live in a buffer, short ones inline. Two
    // users whose long ids share a 12-byte prefix must stay apart.
    use arrow::array::StringViewArray;
    let users = [
        "customer-0000000000000001",
        "customer-0000000000000001",
        "customer-0000000000000002",
        "customer-0000000000000002",
        "short",
        "short",
    ];
    let types = ["view", "purchase", "view", "search", "view", "purchase"];
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8View, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("event_type", DataType::Utf8View, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringViewArray::from_iter_values(users)),
            Arc::new(StringArray::from_iter_values(users.map(|_| "s"))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..6).map(|minute| minute * 60_000_000),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringViewArray::from_iter_values(types)),
        ],
    )
    .unwrap();
    let context = SessionContext::new();
    context
        .register_table("events", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()))
        .unwrap();
    let mut query = query(&["view", "purchase"], "1h");
    query.keep_all_units = true;
    let (result, mut levels) = funnels::run(&context, &query, true).await.unwrap();
    levels.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let levels: Vec<(&str, Option<u8>)> =
        levels.iter().map(|unit| (unit.user_id.as_str(), unit.level)).collect();
    assert_eq!(
        levels,
        [
            ("customer-0000000000000001", Some(2)),
            ("customer-0000000000000002", Some(1)),
            ("short", Some(2))
        ]
    );
    assert_eq!(result.units, 3);
}

/// `(user, microseconds, event_type)`.
type GeneratedEvent = (String, i64, &'static str);

/// Events of `users` users over `days` days from a fixed-seed generator: ids short (inline
/// in a string view), of 13–15 bytes (in a buffer, yet a key of their own) and long
/// (hashed keys), event types from the steps and others, and equal timestamps.
fn generated_events(users: usize, days: i64) -> Vec<GeneratedEvent> {
    const TYPES: [&str; 5] = ["view", "view", "add_to_cart", "purchase", "search"];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let mut rows = Vec::new();
    for user in 0..users {
        let id = match user % 3 {
            0 => format!("u{user}"),
            1 => format!("customer-{user:05}"),
            _ => format!("customer-with-a-long-id-{user:05}"),
        };
        for day in 0..days {
            if next(3) == 0 {
                continue;
            }
            for _ in 0..next(6) {
                // Minutes within the day, coarse enough that some events share one.
                let minute = day * 1440 + next(40) as i64 * 30;
                rows.push((id.clone(), minute * 60_000_000, TYPES[next(5) as usize]));
            }
        }
    }
    rows
}

/// A context over `rows` with string views (as Parquet is read) or plain strings, each
/// partition a list of batches of `(user, time, event type)` rows.
fn context_of(partitions: Vec<Vec<Vec<GeneratedEvent>>>, views: bool) -> SessionContext {
    use arrow::array::{ArrayRef, StringViewArray};
    let string_type = if views { DataType::Utf8View } else { DataType::Utf8 };
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", string_type.clone(), false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("event_type", string_type, false),
        Field::new("is_bot", DataType::Boolean, false),
    ]));
    let strings = |values: Vec<&str>| -> ArrayRef {
        if views {
            Arc::new(StringViewArray::from_iter_values(values))
        } else {
            Arc::new(StringArray::from_iter_values(values))
        }
    };
    let partitions = partitions
        .into_iter()
        .map(|batches| {
            batches
                .into_iter()
                .map(|rows| {
                    RecordBatch::try_new(
                        schema.clone(),
                        vec![
                            strings(rows.iter().map(|row| row.0.as_str()).collect()),
                            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "s"))),
                            Arc::new(
                                TimestampMicrosecondArray::from_iter_values(
                                    rows.iter().map(|row| 1_700_000_000_000_000 + row.1),
                                )
                                .with_timezone("UTC"),
                            ),
                            strings(rows.iter().map(|row| row.2).collect()),
                            Arc::new(BooleanArray::from_iter(rows.iter().map(|_| Some(false)))),
                        ],
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect();
    let context = SessionContext::new();
    context
        .register_table("events", Arc::new(MemTable::try_new(schema, partitions).unwrap()))
        .unwrap();
    context
}

#[tokio::test]
async fn daily_files_sorted_by_user_give_the_answer_of_shuffled_input() {
    // The lake's layout (one file a day, sorted by user, read as string views) takes the
    // fast reading path and merges sorted groups; the same events shuffled, as plain
    // strings in small batches, take the general path and leave users' rows out of time
    // order. Both must give the same funnel, unit by unit.
    let rows = generated_events(300, 6);
    let mut days: Vec<Vec<GeneratedEvent>> = vec![Vec::new(); 6];
    for row in &rows {
        days[(row.1 / 86_400_000_000) as usize].push(row.clone());
    }
    let mut lake_like = vec![Vec::new(), Vec::new()];
    for (day, mut events) in days.into_iter().enumerate() {
        events.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        // Batches cut inside a user's run, as a reader's batches are.
        lake_like[day % 2].extend(events.chunks(97).map(<[_]>::to_vec));
    }
    let mut shuffled = rows.clone();
    let mut state = 7u64;
    for index in (1..shuffled.len()).rev() {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        shuffled.swap(index, (state >> 33) as usize % (index + 1));
    }
    let shuffled =
        vec![shuffled.chunks(13).map(<[_]>::to_vec).collect::<Vec<_>>(), Vec::new(), Vec::new()];
    let (lake_like, shuffled) = (context_of(lake_like, true), context_of(shuffled, false));
    let mut plain = query(&["view", "add_to_cart", "purchase"], "1d");
    plain.keep_all_units = true;
    let mut excluding = query(&["view", "add_to_cart", "purchase"], "2d");
    excluding.exclusions.push(Exclusion {
        label: "search".into(),
        predicate: "event_type = 'search'".into(),
        from_step: 0,
        to_step: 1,
    });
    for query in [plain, excluding] {
        let (fast, fast_units) = funnels::run(&lake_like, &query, true).await.unwrap();
        let (general, general_units) = funnels::run(&shuffled, &query, true).await.unwrap();
        assert!(fast.units > 150, "{}", fast.units);
        assert!(fast.steps[2].entered > 10, "{:?}", fast.steps);
        assert_eq!(fast, FunnelResult { sql: fast.sql.clone(), ..general });
        assert_eq!(fast_units, general_units);
        assert!(fast_units.windows(2).all(|pair| pair[0].user_id < pair[1].user_id));
    }
}
