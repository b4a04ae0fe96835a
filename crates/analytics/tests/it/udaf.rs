//! The SQL aggregates against ClickHouse's documented answers and against the `funnel`
//! crate they wrap, across several batches and partitions (so partial states merge).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit, UInt8Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

/// A session with the aggregates and a table `t(user_id, ts, number, time)` holding
/// `rows` as `(user, ts, number)`, `time` being `ts` seconds as a UTC timestamp; rows
/// are dealt round-robin over `partitions` partitions of batches of 2 rows.
fn table(rows: &[(&str, u64, u32)], partitions: usize) -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("ts", DataType::UInt64, false),
        Field::new("number", DataType::UInt32, false),
        Field::new("time", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
    ]));
    let mut dealt: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    for (index, chunk) in rows.chunks(2).enumerate() {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|row| row.0))),
                Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|row| row.1))),
                Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|row| row.2))),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        chunk.iter().map(|row| row.1 as i64 * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        dealt[index % partitions].push(batch);
    }
    let context = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    analytics::udaf::register(&context);
    context.register_table("t", Arc::new(MemTable::try_new(schema, dealt).unwrap())).unwrap();
    context
}

async fn query(context: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    match context.sql(sql).await {
        Ok(frame) => frame.collect().await.unwrap_or_else(|error| panic!("{sql}: {error}")),
        Err(error) => panic!("{sql}: {error}"),
    }
}

/// The single value of a one-row, one-column result, as text.
async fn scalar(context: &SessionContext, sql: &str) -> String {
    let batches = query(context, sql).await;
    let rows = lake_free_text(&batches);
    assert_eq!(rows.len(), 1, "{sql}: expected one row, got {rows:?}");
    rows.into_iter().next().unwrap()
}

fn lake_free_text(batches: &[RecordBatch]) -> Vec<String> {
    let mut values = Vec::new();
    for batch in batches {
        let column = batch.column(0);
        for row in 0..batch.num_rows() {
            values.push(arrow::util::display::array_value_to_string(column, row).unwrap());
        }
    }
    values
}

async fn error(context: &SessionContext, sql: &str) -> String {
    match context.sql(sql).await {
        Ok(frame) => match frame.collect().await {
            Ok(batches) => panic!("{sql}: expected an error, got {batches:?}"),
            Err(error) => error.to_string(),
        },
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn window_funnel_documentation_example() {
    // ClickHouse docs, windowFunnel: the phone purchase funnel reaches level 4.
    let rows = [
        ("1", 1_548_756_000, 1003),
        ("1", 1_548_925_200, 1007),
        ("1", 1_548_835_200, 1009),
        ("1", 1_549_008_000, 1010),
    ];
    for partitions in [1, 3] {
        let context = table(&rows, partitions);
        let sql = "SELECT window_funnel(6048000000000000, ts, number = 1003, number = 1009, number = 1007, number = 1010) FROM t";
        assert_eq!(scalar(&context, sql).await, "4");
    }
}

#[tokio::test]
async fn window_funnel_modes_and_groups() {
    // Three rows at the same second meeting steps 1, 2 and 3: ClickHouse counts them in
    // the default mode, not with strict_increase.
    let rows = [("a", 10, 1), ("a", 10, 2), ("a", 10, 3), ("b", 1, 1), ("b", 5, 3), ("b", 9, 2)];
    let context = table(&rows, 2);
    let levels = |modes: &str| {
        format!(
            "SELECT user_id, window_funnel(100, ts, number = 1, number = 2, number = 3{modes}) AS level FROM t GROUP BY user_id ORDER BY user_id"
        )
    };
    let check = |batches: Vec<RecordBatch>, expect: [u8; 2]| {
        let levels: Vec<u8> = batches
            .iter()
            .flat_map(|batch| batch.column(1).as_primitive::<UInt8Type>().values().to_vec())
            .collect();
        assert_eq!(levels, expect);
    };
    check(query(&context, &levels("")).await, [3, 2]);
    check(query(&context, &levels(", 'strict_increase'")).await, [1, 2]);
    // b: step 3 before step 2 breaks strict order right after step 1.
    check(query(&context, &levels(", 'strict_order'")).await, [3, 1]);
    check(query(&context, &levels(", 'strict_order,allow_reentry'")).await, [3, 2]);
    check(query(&context, &levels(", 'strict_order', 'allow_reentry'")).await, [3, 2]);
}

#[tokio::test]
async fn window_funnel_timestamp_windows_are_seconds_or_intervals() {
    // Steps 100 s apart: a 150 s window reaches 2, a 250 s window reaches 3.
    let rows = [("a", 1_000, 1), ("a", 1_100, 2), ("a", 1_200, 3)];
    let context = table(&rows, 1);
    let sql = |window: &str| {
        format!("SELECT window_funnel({window}, time, number = 1, number = 2, number = 3) FROM t")
    };
    assert_eq!(scalar(&context, &sql("150")).await, "2");
    assert_eq!(scalar(&context, &sql("200")).await, "3");
    assert_eq!(scalar(&context, &sql("INTERVAL '199 seconds'")).await, "2");
    assert_eq!(scalar(&context, &sql("INTERVAL '1 day'")).await, "3");
    // The same data as integers uses the integers' own units.
    assert_eq!(
        scalar(
            &context,
            "SELECT window_funnel(199, ts, number = 1, number = 2, number = 3) FROM t"
        )
        .await,
        "2"
    );
}

#[tokio::test]
async fn window_funnel_argument_errors_are_plan_errors() {
    let context = table(&[("a", 1, 1)], 1);
    let reentry =
        error(&context, "SELECT window_funnel(10, ts, number = 1, 'allow_reentry') FROM t").await;
    assert!(reentry.contains("allow_reentry"), "{reentry}");
    let unknown =
        error(&context, "SELECT window_funnel(10, ts, number = 1, 'strict') FROM t").await;
    assert!(unknown.contains("strict_deduplication"), "{unknown}");
    let column_window = error(&context, "SELECT window_funnel(ts, ts, number = 1) FROM t").await;
    assert!(column_window.contains("literal"), "{column_window}");
    let not_boolean = error(&context, "SELECT window_funnel(10, ts, number) FROM t").await;
    assert!(not_boolean.contains("boolean"), "{not_boolean}");
    let months =
        error(&context, "SELECT window_funnel(INTERVAL '1 month', time, number = 1) FROM t").await;
    assert!(months.contains("months"), "{months}");
}

#[tokio::test]
async fn retention_per_user() {
    // a: day 1, 2 and 4; b: only days 2 and 3 (no day 1, so all zeros); c: day 1 only.
    let rows = [("a", 1, 1), ("a", 2, 2), ("a", 4, 4), ("b", 2, 2), ("b", 3, 3), ("c", 1, 1)];
    let context = table(&rows, 2);
    let batches = query(
        &context,
        "SELECT user_id, retention(number = 1, number = 2, number = 3) AS r FROM t GROUP BY user_id ORDER BY user_id",
    )
    .await;
    let mut got = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            got.push(arrow::util::display::array_value_to_string(batch.column(1), row).unwrap());
        }
    }
    assert_eq!(got, ["[1, 1, 0]", "[0, 0, 0]", "[1, 0, 0]"]);
}

#[tokio::test]
async fn sequence_documentation_examples() {
    // ClickHouse docs, sequenceMatch: t(time, number) = (1, 1), (2, 3), (3, 2).
    let rows = [("u", 1, 1), ("u", 2, 3), ("u", 3, 2)];
    let context = table(&rows, 2);
    let sql =
        |conditions: &str| format!("SELECT sequence_match('(?1)(?2)', ts, {conditions}) FROM t");
    assert_eq!(scalar(&context, &sql("number = 1, number = 2")).await, "true");
    assert_eq!(scalar(&context, &sql("number = 1, number = 2, number = 3")).await, "false");
    assert_eq!(scalar(&context, &sql("number = 1, number = 2, number = 4")).await, "true");

    // ClickHouse docs, sequenceCount: (1,1) (2,3) (3,2) (4,1) (5,3) (6,2).
    let rows = [("u", 1, 1), ("u", 2, 3), ("u", 3, 2), ("u", 4, 1), ("u", 5, 3), ("u", 6, 2)];
    let context = table(&rows, 3);
    assert_eq!(
        scalar(&context, "SELECT sequence_count('(?1).*(?2)', ts, number = 1, number = 2) FROM t")
            .await,
        "2"
    );
}

#[tokio::test]
async fn sequence_time_conditions_scale_with_timestamp_units() {
    // Events 1 and 2 are 60 s apart: `(?t<=59)` fails, `(?t<=60)` matches, both on the
    // integer seconds column and on the microsecond timestamp column.
    let rows = [("u", 100, 1), ("u", 160, 2)];
    let context = table(&rows, 1);
    for column in ["ts", "time"] {
        for (limit, expect) in [(59, "false"), (60, "true")] {
            let sql = format!(
                "SELECT sequence_match('(?1)(?t<={limit})(?2)', {column}, number = 1, number = 2) FROM t"
            );
            assert_eq!(scalar(&context, &sql).await, expect, "{sql}");
        }
    }
}

/// A small deterministic generator, so the comparison below is reproducible.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::test]
async fn window_funnel_matches_the_funnel_crate_on_random_groups() {
    let mode_sets: [&[&str]; 6] = [
        &[],
        &["strict_deduplication"],
        &["strict_order"],
        &["strict_increase"],
        &["strict_once"],
        &["strict_order", "allow_reentry"],
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    let users: Vec<String> = (0..40).map(|user| format!("u{user}")).collect();
    let mut rows = Vec::new();
    for _ in 0..600 {
        let user = &users[(next(&mut seed) % 40) as usize];
        rows.push((user.as_str(), next(&mut seed) % 50, (next(&mut seed) % 5) as u32));
    }
    let context = table(&rows, 3);
    for modes in mode_sets {
        let mode_args: String = modes.iter().map(|mode| format!(", '{mode}'")).collect();
        let sql = format!(
            "SELECT user_id, window_funnel(7, ts, number = 1, number = 2, number = 3, number = 4{mode_args}) FROM t GROUP BY user_id"
        );
        let spec =
            funnel::FunnelSpec::new(7, 4, funnel::Modes::from_options(modes.iter()).unwrap())
                .unwrap();
        for batch in query(&context, &sql).await {
            let user_ids = batch.column(0).as_string::<i32>();
            let levels = batch.column(1).as_primitive::<UInt8Type>();
            for row in 0..batch.num_rows() {
                let user = user_ids.value(row);
                let events: Vec<funnel::Event> = rows
                    .iter()
                    .filter(|(id, _, _)| *id == user)
                    .map(|(_, ts, number)| {
                        funnel::Event::new(
                            *ts,
                            if (1..=4).contains(number) { 1 << (number - 1) } else { 0 },
                        )
                    })
                    .collect();
                // strict_once breaks ties by arrival order, which partitioning changes;
                // every other mode is order-free and must agree exactly.
                if modes == ["strict_once"] {
                    assert!(levels.value(row) <= 4);
                    continue;
                }
                assert_eq!(levels.value(row), spec.level(&events), "user {user}, modes {modes:?}");
            }
        }
    }
}

#[tokio::test]
async fn null_timestamps_are_skipped_and_null_conditions_are_false() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("ts", DataType::Int64, true),
        Field::new("number", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)])) as ArrayRef,
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(2)])),
        ],
    )
    .unwrap();
    let context = SessionContext::new();
    analytics::udaf::register(&context);
    context
        .register_table("n", Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()))
        .unwrap();
    let level =
        scalar(&context, "SELECT window_funnel(10, ts, number = 1, number = 2) FROM n").await;
    assert_eq!(level, "2");
    let batches =
        query(&context, "SELECT window_funnel(10, ts, number = 1) FROM n WHERE ts > 100").await;
    let values = lake_free_text(&batches);
    assert_eq!(values, ["0"], "an empty input reaches level 0, as in ClickHouse");
    assert!(batches[0].column(0).null_count() == 0);
}
