//! Transactions, the per-customer summary the models are fitted on, and the CDNOW log.

use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{ClvError, Result};

/// One purchase: who, on which day, for how much.
///
/// Several transactions of one customer on one day count as one order (their amounts
/// are added), as lifetimes' `summary_data_from_transaction_data` does with `freq='D'`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The customer's id.
    pub customer: String,
    /// The day of the purchase (UTC).
    pub date: NaiveDate,
    /// The amount spent.
    pub amount: f64,
}

/// The unit in which recency, age and horizons are measured.
///
/// Orders are always days; the unit only scales the durations (lifetimes' `freq='D'`
/// with `freq_multiplier=7` for weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// One period is one day.
    Days,
    /// One period is seven days.
    Weeks,
}

impl TimeUnit {
    /// Days in one period.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// Periods in one month, as lifetimes' `customer_lifetime_value` counts them
    /// (30 days, 4.345 weeks).
    pub fn periods_per_month(self) -> f64 {
        match self {
            TimeUnit::Days => 30.0,
            TimeUnit::Weeks => 4.345,
        }
    }

    /// The length of the span from `from` to `to` in this unit.
    pub fn between(self, from: NaiveDate, to: NaiveDate) -> f64 {
        (to - from).num_days() as f64 / self.days()
    }
}

/// A customer's purchase history in the calibration period, in the models' terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSummary {
    /// The customer's id.
    pub customer: String,
    /// Repeat purchases: order days after the first one.
    pub frequency: f64,
    /// Time from the first to the last order day (0 without repeats).
    pub recency: f64,
    /// Time from the first order day to the calibration end (the customer's age, `T`).
    pub age: f64,
    /// Mean value of the repeat orders (0 without repeats).
    pub monetary: f64,
}

/// A customer of the calibration period with what they did in the holdout period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutCustomer {
    /// The calibration-period summary.
    pub calibration: CustomerSummary,
    /// Order days after the calibration end, up to and including the observation end.
    pub holdout_purchases: f64,
}

/// Customers of the calibration period, their holdout purchases, and the holdout length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationHoldout {
    /// One row per customer whose first order is on or before the calibration end.
    pub customers: Vec<HoldoutCustomer>,
    /// Length of the holdout period in the time unit.
    pub holdout_duration: f64,
}

/// Order days with their summed amounts, per customer, both in ascending order.
fn orders_by_customer(transactions: &[Transaction]) -> BTreeMap<&str, BTreeMap<NaiveDate, f64>> {
    let mut orders: BTreeMap<&str, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for transaction in transactions {
        *orders
            .entry(transaction.customer.as_str())
            .or_default()
            .entry(transaction.date)
            .or_default() += transaction.amount;
    }
    orders
}

/// Summarises one customer's orders up to `calibration_end`; `None` if the first order
/// comes later.
fn summarise(
    customer: &str,
    orders: &BTreeMap<NaiveDate, f64>,
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Option<CustomerSummary> {
    let mut calibration_orders = orders.range(..=calibration_end);
    let (&first_day, _) = calibration_orders.next()?;
    let mut last_day = first_day;
    let mut repeats = 0usize;
    let mut repeat_spend = 0.0;
    for (&day, &amount) in calibration_orders {
        last_day = day;
        repeats += 1;
        repeat_spend += amount;
    }
    Some(CustomerSummary {
        customer: customer.to_string(),
        frequency: repeats as f64,
        recency: unit.between(first_day, last_day),
        age: unit.between(first_day, calibration_end),
        monetary: if repeats == 0 { 0.0 } else { repeat_spend / repeats as f64 },
    })
}

/// The frequency/recency/age/monetary summary of every customer whose first order is on
/// or before `calibration_end`, sorted by customer id. Later transactions are ignored.
pub fn rfm_summary(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    unit: TimeUnit,
) -> Result<Vec<CustomerSummary>> {
    let summaries: Vec<CustomerSummary> = orders_by_customer(transactions)
        .iter()
        .filter_map(|(customer, orders)| summarise(customer, orders, calibration_end, unit))
        .collect();
    if summaries.is_empty() {
        return Err(ClvError::NoCustomers { calibration_end });
    }
    Ok(summaries)
}

/// Splits the history at `calibration_end`: the calibration summary of each customer
/// seen by then, and the order days each had in `(calibration_end, observation_end]`
/// (lifetimes' `calibration_and_holdout_data`).
pub fn calibration_and_holdout(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    observation_end: NaiveDate,
    unit: TimeUnit,
) -> Result<CalibrationHoldout> {
    if observation_end < calibration_end {
        return Err(ClvError::DatesOutOfOrder { calibration_end, observation_end });
    }
    let holdout_start = calibration_end.succ_opt().unwrap_or(calibration_end);
    let customers: Vec<HoldoutCustomer> = orders_by_customer(transactions)
        .iter()
        .filter_map(|(customer, orders)| {
            let calibration = summarise(customer, orders, calibration_end, unit)?;
            let holdout_purchases = if observation_end > calibration_end {
                orders.range(holdout_start..=observation_end).count() as f64
            } else {
                0.0
            };
            Some(HoldoutCustomer { calibration, holdout_purchases })
        })
        .collect();
    if customers.is_empty() {
        return Err(ClvError::NoCustomers { calibration_end });
    }
    Ok(CalibrationHoldout {
        customers,
        holdout_duration: unit.between(calibration_end, observation_end),
    })
}

/// Reads the CDNOW transaction log of the buy-till-you-die literature: whitespace
/// separated `customer_id date(YYYYMMDD) number_of_cds dollar_value`, with or without the
/// header line. The amount is `dollar_value`, the order total.
pub fn read_cdnow(reader: impl BufRead) -> Result<Vec<Transaction>> {
    let mut transactions = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line_number = index + 1;
        let line = line.map_err(|error| ClvError::BadRow {
            line: line_number,
            field: "line",
            value: error.to_string(),
            reason: "cannot be read",
        })?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || (index == 0 && fields[0] == "customer_id") {
            continue;
        }
        let bad = |field: &'static str, value: &str, reason: &'static str| ClvError::BadRow {
            line: line_number,
            field,
            value: value.to_string(),
            reason,
        };
        if fields.len() != 4 {
            return Err(bad("line", &line, "does not have 4 whitespace-separated fields"));
        }
        let date = NaiveDate::parse_from_str(fields[1], "%Y%m%d")
            .map_err(|_| bad("date", fields[1], "is not a YYYYMMDD date"))?;
        let amount: f64 = fields[3]
            .parse()
            .ok()
            .filter(|value: &f64| value.is_finite())
            .ok_or_else(|| bad("dollar_value", fields[3], "is not a number"))?;
        transactions.push(Transaction { customer: fields[0].to_string(), date, amount });
    }
    Ok(transactions)
}
