//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchase
//! counts while alive, with a drop-out chance after each purchase.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{ClvError, Result};
use crate::optimise::minimise_positive;
use crate::special::{ln_gamma, ln_hyp2f1};
use crate::transactions::CustomerSummary;

/// BG/NBD parameters, named as in the paper: purchase rates are Gamma(`r`, `alpha`)
/// across customers, drop-out probabilities Beta(`a`, `b`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    /// Shape of the purchase-rate Gamma distribution.
    pub r: f64,
    /// Scale of the purchase-rate Gamma distribution, in the time unit of the data.
    pub alpha: f64,
    /// First shape of the drop-out Beta distribution.
    pub a: f64,
    /// Second shape of the drop-out Beta distribution.
    pub b: f64,
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgNbdFit {
    /// The maximum-likelihood parameters.
    pub params: BgNbdParams,
    /// The log-likelihood of the data at `params`, summed over customers.
    pub log_likelihood: f64,
    /// Customers the model was fitted on.
    pub customers: usize,
}

/// Checks that every named value is positive and finite.
pub(crate) fn check_positive(values: &[(&'static str, f64)]) -> Result<()> {
    for &(name, value) in values {
        if !(value.is_finite() && value > 0.0) {
            return Err(ClvError::InvalidParameter {
                name,
                requirement: "positive and finite",
                value,
            });
        }
    }
    Ok(())
}

impl BgNbdParams {
    /// Parameters from their values; each must be positive and finite.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
        Ok(BgNbdParams { r, alpha, a, b })
    }

    /// The log-likelihood of one customer's `(frequency, recency, age)` (paper eq. 6).
    pub fn log_likelihood(&self, frequency: f64, recency: f64, age: f64) -> f64 {
        self.frequency_term(frequency) + self.timing_term(frequency, recency, age)
    }

    /// The part of the log-likelihood that depends on the frequency only (the `ln Γ`
    /// terms), which a fit computes once per distinct frequency.
    fn frequency_term(&self, x: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let rate_part = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let dropout_part = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        rate_part + dropout_part
    }

    /// The rest: alive at the end of the period, or dropped out after the last purchase.
    fn timing_term(&self, x: f64, recency: f64, age: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let alive_at_end = -(r + x) * (alpha + age).ln();
        if x > 0.0 {
            let dropped_after_last = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + recency).ln();
            log_add_exp(alive_at_end, dropped_after_last)
        } else {
            alive_at_end
        }
    }

    /// The probability that a customer with this history is still alive at the end of
    /// the calibration period. Customers without repeat purchases cannot have dropped out
    /// (drop-out only happens after a purchase), so theirs is 1.
    pub fn p_alive(&self, frequency: f64, recency: f64, age: f64) -> f64 {
        if frequency <= 0.0 {
            return 1.0;
        }
        let BgNbdParams { r, alpha, a, b } = *self;
        let ln_odds_dead = a.ln() - (b + frequency - 1.0).ln()
            + (r + frequency) * ((alpha + age).ln() - (alpha + recency).ln());
        1.0 / (1.0 + ln_odds_dead.exp())
    }

    /// Expected purchases in the next `horizon` time units of a customer with this
    /// history (paper eq. 10).
    pub fn expected_purchases(&self, horizon: f64, frequency: f64, recency: f64, age: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let BgNbdParams { r, alpha, a, b } = *self;
        let x = frequency;
        let z = horizon / (alpha + age + horizon);
        let ln_hypergeometric = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let ln_survivor = (r + x) * ((alpha + age) / (alpha + age + horizon)).ln();
        // (a+b+x-1)/(a-1) and 1 - exp(...) change sign together at a = 1, so the product
        // stays positive for every a ≠ 1; `exp_m1` keeps precision for short horizons.
        let numerator = (a + b + x - 1.0) / (a - 1.0) * -(ln_hypergeometric + ln_survivor).exp_m1();
        numerator * self.p_alive(frequency, recency, age)
    }

    /// Expected purchases of a new customer in their first `horizon` time units.
    pub fn expected_purchases_new_customer(&self, horizon: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let z = horizon / (alpha + horizon);
        let ln_hypergeometric = ln_hyp2f1(r, b, a + b - 1.0, z);
        (a + b - 1.0) / (a - 1.0)
            * -(ln_hypergeometric + r * (alpha / (alpha + horizon)).ln()).exp_m1()
    }
}

fn log_add_exp(x: f64, y: f64) -> f64 {
    let max = x.max(y);
    max + ((x - max).exp() + (y - max).exp()).ln()
}

/// Customers grouped by frequency, and within a frequency by distinct `(recency, age)`
/// with how many customers share it: the `ln Γ` terms are computed once per frequency,
/// and there are far fewer distinct histories than customers.
struct HistoriesByFrequency {
    groups: Vec<(f64, Vec<SharedTiming>)>,
}

/// `(recency, age, customers with exactly this history)`.
type SharedTiming = (f64, f64, f64);

impl HistoriesByFrequency {
    fn new(customers: &[CustomerSummary], time_scale: f64) -> Self {
        let mut counts: HashMap<[u64; 3], f64> = HashMap::new();
        for customer in customers {
            let key = [customer.frequency, customer.recency, customer.age].map(f64::to_bits);
            *counts.entry(key).or_default() += 1.0;
        }
        let mut histories: Vec<([f64; 3], f64)> =
            counts.into_iter().map(|(key, count)| (key.map(f64::from_bits), count)).collect();
        // Summation order fixes the last bits of the likelihood; sort for reproducible fits.
        histories.sort_by(|left, right| left.0.partial_cmp(&right.0).expect("finite histories"));
        let mut groups: Vec<(f64, Vec<SharedTiming>)> = Vec::new();
        for ([frequency, recency, age], count) in histories {
            let timing = (recency * time_scale, age * time_scale, count);
            match groups.last_mut() {
                Some((last, members)) if *last == frequency => members.push(timing),
                _ => groups.push((frequency, vec![timing])),
            }
        }
        HistoriesByFrequency { groups }
    }

    fn log_likelihood(&self, params: &BgNbdParams) -> f64 {
        self.groups
            .iter()
            .map(|(frequency, members)| {
                let shared = params.frequency_term(*frequency);
                members
                    .iter()
                    .map(|&(recency, age, count)| {
                        count * (shared + params.timing_term(*frequency, recency, age))
                    })
                    .sum::<f64>()
            })
            .sum()
    }
}

fn check_histories(customers: &[CustomerSummary]) -> Result<()> {
    for customer in customers {
        let CustomerSummary { frequency, recency, age, .. } = *customer;
        let valid = frequency.is_finite()
            && frequency >= 0.0
            && recency.is_finite()
            && recency >= 0.0
            && age.is_finite()
            && recency <= age;
        if !valid {
            return Err(ClvError::InvalidParameter {
                name: "customer history (frequency, recency ≤ age)",
                requirement: "finite and non-negative",
                value: if recency > age { recency } else { frequency },
            });
        }
    }
    Ok(())
}

/// The BG/NBD log-likelihood of `customers` at `params`, summed.
pub fn bgnbd_log_likelihood(params: &BgNbdParams, customers: &[CustomerSummary]) -> f64 {
    customers
        .iter()
        .map(|customer| params.log_likelihood(customer.frequency, customer.recency, customer.age))
        .sum()
}

/// Fits BG/NBD by maximum likelihood.
///
/// Like lifetimes, it rescales time so that the oldest customer's age is 10 before
/// optimising (rates near 1 keep Nelder-Mead's simplex well-shaped), and scales `alpha`
/// back afterwards; the maximum itself does not depend on the time scale.
pub fn fit_bgnbd(customers: &[CustomerSummary]) -> Result<BgNbdFit> {
    check_histories(customers)?;
    let oldest = customers.iter().map(|customer| customer.age).fold(0.0, f64::max);
    if oldest <= 0.0 {
        return Err(ClvError::InvalidParameter {
            name: "oldest customer's age",
            requirement: "positive (someone must have bought before the calibration end)",
            value: oldest,
        });
    }
    let scale = 10.0 / oldest;
    let histories = HistoriesByFrequency::new(customers, scale);
    let total = customers.len() as f64;
    let negative_mean_log_likelihood = |p: &[f64]| {
        -histories.log_likelihood(&BgNbdParams { r: p[0], alpha: p[1], a: p[2], b: p[3] }) / total
    };
    let (found, _) = minimise_positive(4, &negative_mean_log_likelihood)?;
    let params = BgNbdParams::new(found[0], found[1] / scale, found[2], found[3])?;
    Ok(BgNbdFit {
        params,
        log_likelihood: bgnbd_log_likelihood(&params, customers),
        customers: customers.len(),
    })
}
