//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
//! curves"): each customer's order values are Gamma(`p`, ν) with ν ~ Gamma(`q`, `v`).

use serde::{Deserialize, Serialize};

use crate::bgnbd::check_positive;
use crate::error::{ClvError, Result};
use crate::optimise::minimise_positive;
use crate::special::ln_gamma;
use crate::transactions::CustomerSummary;

/// Gamma-Gamma parameters, named as in the literature (`v` is the paper's γ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    /// Shape of the per-order value distribution.
    pub p: f64,
    /// Shape of the distribution of the per-customer scale across customers.
    pub q: f64,
    /// Scale of the distribution of the per-customer scale across customers.
    pub v: f64,
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaFit {
    /// The maximum-likelihood parameters.
    pub params: GammaGammaParams,
    /// The log-likelihood of the data at `params`, summed over the customers used.
    pub log_likelihood: f64,
    /// Customers the model was fitted on: those with repeat orders of positive mean value.
    pub customers: usize,
}

/// The fewest usable customers a fit accepts: three parameters need more than three points.
const MIN_REPEAT_CUSTOMERS: usize = 4;

impl GammaGammaParams {
    /// Parameters from their values; each must be positive and finite.
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self> {
        check_positive(&[("p", p), ("q", q), ("v", v)])?;
        Ok(GammaGammaParams { p, q, v })
    }

    /// The log-likelihood of one customer's mean order value `monetary` over `frequency`
    /// repeat orders (both positive).
    pub fn log_likelihood(&self, frequency: f64, monetary: f64) -> f64 {
        self.frequency_term(frequency) + self.spend_term(frequency, monetary)
    }

    /// The `ln Γ` part, which depends on the frequency only.
    fn frequency_term(&self, x: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * v.ln() + p * x * x.ln()
    }

    fn spend_term(&self, x: f64, m: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        (p * x - 1.0) * m.ln() - (p * x + q) * (x * m + v).ln()
    }

    /// The expected value of this customer's future orders: a weighted mean of the
    /// population mean `p v / (q - 1)` and the customer's own mean (paper eq. 5). A
    /// customer without repeat orders gets the population mean, which exists only for
    /// `q > 1`: otherwise the answer is NaN (the model has no finite mean to give).
    pub fn expected_order_value(&self, frequency: f64, monetary: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        let (x, m) = if frequency > 0.0 { (frequency, monetary) } else { (0.0, 0.0) };
        let weight = p * x + q - 1.0;
        if weight <= 0.0 {
            return f64::NAN;
        }
        p * (v + x * m) / weight
    }
}

/// The customers Gamma-Gamma can use: repeat buyers whose repeat orders have positive
/// mean value.
pub fn repeat_customers(customers: &[CustomerSummary]) -> impl Iterator<Item = &CustomerSummary> {
    customers.iter().filter(|customer| customer.frequency > 0.0 && customer.monetary > 0.0)
}

/// The Gamma-Gamma log-likelihood of the usable customers at `params`, summed.
pub fn gamma_gamma_log_likelihood(params: &GammaGammaParams, customers: &[CustomerSummary]) -> f64 {
    repeat_customers(customers)
        .map(|customer| params.log_likelihood(customer.frequency, customer.monetary))
        .sum()
}

/// Fits Gamma-Gamma by maximum likelihood on the repeat customers with positive spend
/// (others carry no information about order values and are skipped).
pub fn fit_gamma_gamma(customers: &[CustomerSummary]) -> Result<GammaGammaFit> {
    let usable: Vec<(f64, f64)> = repeat_customers(customers)
        .map(|customer| (customer.frequency, customer.monetary))
        .collect();
    if usable.len() < MIN_REPEAT_CUSTOMERS {
        return Err(ClvError::TooFewRepeatCustomers {
            needed: MIN_REPEAT_CUSTOMERS,
            got: usable.len(),
        });
    }
    if let Some(&(_, monetary)) = usable.iter().find(|(_, monetary)| !monetary.is_finite()) {
        return Err(ClvError::InvalidParameter {
            name: "monetary",
            requirement: "finite",
            value: monetary,
        });
    }
    // Grouped by frequency, so that the `ln Γ` terms are computed once per frequency.
    let mut by_frequency: Vec<(f64, Vec<f64>)> = Vec::new();
    let mut sorted = usable.clone();
    sorted.sort_by(|left, right| left.partial_cmp(right).expect("finite summaries"));
    for (frequency, monetary) in sorted {
        match by_frequency.last_mut() {
            Some((last, values)) if *last == frequency => values.push(monetary),
            _ => by_frequency.push((frequency, vec![monetary])),
        }
    }
    let total = usable.len() as f64;
    let negative_mean_log_likelihood = |p: &[f64]| {
        let params = GammaGammaParams { p: p[0], q: p[1], v: p[2] };
        let sum: f64 = by_frequency
            .iter()
            .map(|(x, values)| {
                values.len() as f64 * params.frequency_term(*x)
                    + values.iter().map(|&m| params.spend_term(*x, m)).sum::<f64>()
            })
            .sum();
        -sum / total
    };
    let (found, _) = minimise_positive(3, &negative_mean_log_likelihood)?;
    let params = GammaGammaParams::new(found[0], found[1], found[2])?;
    Ok(GammaGammaFit {
        params,
        log_likelihood: gamma_gamma_log_likelihood(&params, customers),
        customers: usable.len(),
    })
}
