//! How well BG/NBD predicts the holdout period's purchases.

use serde::Serialize;

use crate::bgnbd::BgNbdParams;
use crate::transactions::CalibrationHoldout;

/// Mean actual and predicted holdout purchases of the customers with one calibration
/// frequency (lifetimes' `plot_calibration_purchases_vs_holdout_purchases`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyRow {
    /// Repeat purchases in the calibration period.
    pub frequency: u32,
    /// Whether the row also holds every customer with a higher frequency.
    pub and_above: bool,
    /// Customers in the row.
    pub customers: usize,
    /// Their mean purchases in the holdout period.
    pub actual_mean: f64,
    /// Their mean predicted purchases in the holdout period.
    pub predicted_mean: f64,
}

/// Predicted against actual holdout purchases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutEvaluation {
    /// Length of the holdout period in the time unit.
    pub holdout_duration: f64,
    /// Customers evaluated (all customers of the calibration period).
    pub customers: usize,
    /// Mean absolute error of the per-customer predictions.
    pub mae: f64,
    /// Total purchases in the holdout period.
    pub actual_total: f64,
    /// Total predicted purchases.
    pub predicted_total: f64,
    /// Rows for frequencies `0..last_frequency`, the last one holding all higher ones.
    pub by_frequency: Vec<FrequencyRow>,
}

/// Compares the purchases `params` predicts for the holdout period with the actual
/// ones, overall and per calibration frequency up to `last_frequency` (and above).
pub fn evaluate_holdout(
    params: &BgNbdParams,
    data: &CalibrationHoldout,
    last_frequency: u32,
) -> HoldoutEvaluation {
    let rows = last_frequency as usize + 1;
    let mut counts = vec![0usize; rows];
    let mut actual = vec![0.0; rows];
    let mut predicted = vec![0.0; rows];
    let mut absolute_error = 0.0;
    for customer in &data.customers {
        let history = &customer.calibration;
        let prediction = params.expected_purchases(
            data.holdout_duration,
            history.frequency,
            history.recency,
            history.age,
        );
        absolute_error += (prediction - customer.holdout_purchases).abs();
        let row = (history.frequency as usize).min(rows - 1);
        counts[row] += 1;
        actual[row] += customer.holdout_purchases;
        predicted[row] += prediction;
    }
    let customers = data.customers.len();
    let by_frequency = (0..rows)
        .filter(|&row| counts[row] > 0)
        .map(|row| FrequencyRow {
            frequency: row as u32,
            and_above: row == rows - 1,
            customers: counts[row],
            actual_mean: actual[row] / counts[row] as f64,
            predicted_mean: predicted[row] / counts[row] as f64,
        })
        .collect();
    HoldoutEvaluation {
        holdout_duration: data.holdout_duration,
        customers,
        mae: absolute_error / customers.max(1) as f64,
        actual_total: actual.iter().sum(),
        predicted_total: predicted.iter().sum(),
        by_frequency,
    }
}
