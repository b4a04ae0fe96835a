//! Labels on a time split, on a hand-made table with T = 2024-01-10.

use chrono::Duration;
use features::{LabelSpec, LabelTask, Labels, labels, parse_horizon};

use crate::{assert_lines, session_with, utc};

/// a, b and c are active before T; d only after it; e is a bot. a buys half a
/// day after T, b only views, c buys exactly at T + 7 days.
const SHOP: &str = "
    2024-01-01 a s1 view
    2024-01-02 a s1 purchase price=10 order=o1
    2024-01-03 b s2 view
    2024-01-05 c s3 view
    2024-01-09 e s8 view bot
    2024-01-10T12:00 a s4 purchase price=5 order=o2
    2024-01-11 d s7 purchase price=5 order=o3
    2024-01-12 b s5 view
    2024-01-17 c s6 purchase price=5 order=o4
";

async fn labelled(task: LabelTask, horizon: &str) -> Labels {
    let spec = LabelSpec::new(utc("2024-01-10"), parse_horizon(horizon).unwrap(), task);
    labels(&session_with(SHOP), &spec).await.unwrap()
}

/// `USER LABEL [censored]` per row, then the positives and whether the lake
/// covers the window.
fn render(labels: &Labels) -> Vec<String> {
    let users =
        labels.batch.column(0).as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
    let censored =
        labels.batch.column(2).as_any().downcast_ref::<arrow::array::BooleanArray>().unwrap();
    let mut lines = Vec::new();
    for (row, value) in labels.values().iter().enumerate() {
        let mark = if censored.value(row) { " censored" } else { "" };
        lines.push(format!("{} {value}{mark}", users.value(row)));
    }
    lines.push(format!("positives {} covered {}", labels.positives, labels.horizon_covered()));
    lines
}

async fn check(task: LabelTask, horizon: &str, expected: &[&str]) {
    assert_lines(&render(&labelled(task, horizon).await), expected);
}

#[tokio::test]
async fn propensity_counts_purchases_inside_the_window_only() {
    // c's purchase lies exactly at T + 7 days: outside [T, T + 7 days).
    check(LabelTask::Propensity, "7d", &["a 1", "b 0", "c 0", "positives 1 covered true"]).await;
    check(LabelTask::Propensity, "8d", &["a 1", "b 0", "c 1", "positives 2 covered false"]).await;
}

#[tokio::test]
async fn churn_is_no_event_at_all_in_the_window() {
    check(LabelTask::Churn, "7d", &["a 0", "b 0", "c 1", "positives 1 covered true"]).await;
    check(LabelTask::Churn, "1d", &["a 0", "b 1", "c 1", "positives 2 covered true"]).await;
}

#[tokio::test]
async fn next_purchase_is_censored_at_the_horizon() {
    check(
        LabelTask::NextPurchase,
        "1w",
        &["a 0.5", "b 7 censored", "c 7 censored", "positives 1 covered true"],
    )
    .await;
}

#[test]
fn tasks_and_horizons_parse() {
    assert_eq!("next-purchase".parse::<LabelTask>().unwrap(), LabelTask::NextPurchase);
    assert_eq!("Churn".parse::<LabelTask>().unwrap(), LabelTask::Churn);
    assert!("conversion".parse::<LabelTask>().is_err());
    assert_eq!(parse_horizon("30d").unwrap(), Duration::days(30));
    assert_eq!(parse_horizon("12h").unwrap(), Duration::hours(12));
    for bad in ["", "d", "0d", "-3d", "3y", "1.5d"] {
        assert!(parse_horizon(bad).is_err(), "{bad:?} parsed");
    }
}
