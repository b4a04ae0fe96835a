//! Customer lifetime value: BG/NBD purchases × Gamma-Gamma order value, discounted.

use serde::Serialize;

use crate::bgnbd::BgNbdParams;
use crate::error::{ClvError, Result};
use crate::gamma_gamma::GammaGammaParams;
use crate::transactions::{CustomerSummary, TimeUnit};

/// How far ahead to value customers, and how to discount.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClvConfig {
    /// Months ahead to count purchases (lifetimes' `time`, default 12).
    pub horizon_months: u32,
    /// Discount rate per month (lifetimes' `discount_rate`, default 0.01).
    pub monthly_discount_rate: f64,
    /// The time unit of the summaries (and of the BG/NBD parameters).
    pub unit: TimeUnit,
}

impl ClvConfig {
    /// Twelve months at 1% a month, as lifetimes' defaults.
    pub fn twelve_months(unit: TimeUnit) -> Self {
        ClvConfig { horizon_months: 12, monthly_discount_rate: 0.01, unit }
    }

    fn check(&self) -> Result<()> {
        let rate = self.monthly_discount_rate;
        if !(rate.is_finite() && rate > -1.0) {
            return Err(ClvError::InvalidParameter {
                name: "monthly discount rate",
                requirement: "finite and above -1",
                value: rate,
            });
        }
        Ok(())
    }
}

/// One customer's predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerValue {
    /// The customer's id.
    pub customer: String,
    /// Repeat purchases in the calibration period.
    pub frequency: f64,
    /// Time from first to last purchase.
    pub recency: f64,
    /// Time from first purchase to the calibration end (`T`).
    pub age: f64,
    /// Mean value of the repeat orders.
    pub monetary: f64,
    /// Probability the customer is still alive at the calibration end.
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected value of one future order (Gamma-Gamma).
    pub expected_order_value: f64,
    /// Discounted expected spend over the horizon.
    pub clv: f64,
}

/// The discounted value of a customer's expected purchases over the horizon, month by
/// month: `Σ_i order value × (E[purchases by month i] − E[by month i−1]) / (1 + d)^i`,
/// which is lifetimes' `customer_lifetime_value`.
pub fn customer_lifetime_value(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    customer: &CustomerSummary,
    config: &ClvConfig,
) -> Result<f64> {
    config.check()?;
    Ok(discounted_value(purchases, spend, customer, config))
}

fn discounted_value(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    customer: &CustomerSummary,
    config: &ClvConfig,
) -> f64 {
    let CustomerSummary { frequency, recency, age, monetary, .. } = *customer;
    let order_value = spend.expected_order_value(frequency, monetary);
    let month = config.unit.periods_per_month();
    let mut value = 0.0;
    let mut purchases_so_far = 0.0;
    for i in 1..=config.horizon_months {
        let by_month_end = purchases.expected_purchases(i as f64 * month, frequency, recency, age);
        value += order_value * (by_month_end - purchases_so_far)
            / (1.0 + config.monthly_discount_rate).powi(i as i32);
        purchases_so_far = by_month_end;
    }
    value
}

/// Predictions for every customer, in input order.
pub fn predict_customers(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    customers: &[CustomerSummary],
    config: &ClvConfig,
) -> Result<Vec<CustomerValue>> {
    config.check()?;
    let horizon = f64::from(config.horizon_months) * config.unit.periods_per_month();
    Ok(customers
        .iter()
        .map(|customer| {
            let CustomerSummary { frequency, recency, age, monetary, .. } = *customer;
            CustomerValue {
                customer: customer.customer.clone(),
                frequency,
                recency,
                age,
                monetary,
                p_alive: purchases.p_alive(frequency, recency, age),
                expected_purchases: purchases.expected_purchases(horizon, frequency, recency, age),
                expected_order_value: spend.expected_order_value(frequency, monetary),
                clv: discounted_value(purchases, spend, customer, config),
            }
        })
        .collect())
}
