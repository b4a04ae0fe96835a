use clv::{
    CustomerSummary, TimeUnit, Transaction, calibration_and_holdout, read_cdnow, rfm_summary,
};

use crate::day;

fn transactions(rows: &[(&str, &str, f64)]) -> Vec<Transaction> {
    rows.iter()
        .map(|&(customer, date, amount)| Transaction {
            customer: customer.into(),
            date: day(date),
            amount,
        })
        .collect()
}

fn summary(
    customer: &str,
    frequency: f64,
    recency: f64,
    age: f64,
    monetary: f64,
) -> CustomerSummary {
    CustomerSummary { customer: customer.into(), frequency, recency, age, monetary }
}

/// `alice`: three purchases on two days, then one after the calibration end.
/// `bob`: one purchase only. `carol`: first purchase after the calibration end.
const HISTORY: &[(&str, &str, f64)] = &[
    ("alice", "2024-01-01", 10.0),
    ("alice", "2024-01-15", 5.0),
    ("alice", "2024-01-15", 7.0),
    ("alice", "2024-01-29", 20.0),
    ("alice", "2024-02-20", 99.0),
    ("bob", "2024-01-08", 30.0),
    ("carol", "2024-02-10", 1.0),
];

#[test]
fn summary_counts_purchase_days_and_averages_repeat_orders() {
    let got = rfm_summary(&transactions(HISTORY), day("2024-02-05"), TimeUnit::Days).unwrap();
    assert_eq!(
        got,
        // alice: repeat days 01-15 (12.0) and 01-29 (20.0); first day 01-01, last 01-29.
        vec![summary("alice", 2.0, 28.0, 35.0, 16.0), summary("bob", 0.0, 0.0, 28.0, 0.0)]
    );
}

#[test]
fn summary_in_weeks_divides_days_by_seven() {
    let got = rfm_summary(&transactions(HISTORY), day("2024-02-05"), TimeUnit::Weeks).unwrap();
    assert_eq!(got[0], summary("alice", 2.0, 4.0, 5.0, 16.0));
    assert_eq!(got[1], summary("bob", 0.0, 0.0, 4.0, 0.0));
}

#[test]
fn holdout_counts_purchase_days_after_the_calibration_end() {
    let split = calibration_and_holdout(
        &transactions(HISTORY),
        day("2024-01-15"),
        day("2024-02-19"),
        TimeUnit::Weeks,
    )
    .unwrap();
    assert_eq!(split.holdout_duration, 5.0);
    let got: Vec<(&str, f64, f64)> = split
        .customers
        .iter()
        .map(|c| (c.calibration.customer.as_str(), c.calibration.frequency, c.holdout_purchases))
        .collect();
    // alice's 02-20 purchase is past the observation end; carol starts in the holdout.
    assert_eq!(got, vec![("alice", 1.0, 1.0), ("bob", 0.0, 0.0)]);
}

#[test]
fn holdout_rejects_an_observation_end_before_the_calibration_end() {
    let error = calibration_and_holdout(
        &transactions(HISTORY),
        day("2024-02-01"),
        day("2024-01-01"),
        TimeUnit::Days,
    )
    .unwrap_err();
    assert!(error.to_string().contains("before calibration end"), "{error}");
}

#[test]
fn summary_without_customers_is_an_error() {
    assert!(rfm_summary(&transactions(HISTORY), day("2023-12-31"), TimeUnit::Days).is_err());
}

#[test]
fn cdnow_reader_skips_the_header_and_names_bad_lines() {
    let text = " customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n";
    let got = read_cdnow(text.as_bytes()).unwrap();
    assert_eq!(
        got,
        vec![Transaction { customer: "00001".into(), date: day("1997-01-01"), amount: 11.77 }]
    );
    let error =
        read_cdnow(" 00001 19970101  1   11.77\n 00002 1997013x 1 2.00\n".as_bytes()).unwrap_err();
    assert_eq!(error.to_string(), "line 2: date \"1997013x\" is not a YYYYMMDD date");
}
