//! Customer lifetime value from a transaction log.
//!
//! - [`rfm_summary`] and [`calibration_and_holdout`] turn transactions into the
//!   per-customer frequency / recency / age (`T`) / monetary summary of the
//!   buy-till-you-die literature (orders = purchase days, as lifetimes counts them);
//! - [`fit_bgnbd`] fits BG/NBD (purchases while alive, drop-out after a purchase) by
//!   maximum likelihood, giving [`BgNbdParams::p_alive`] and
//!   [`BgNbdParams::expected_purchases`];
//! - [`fit_gamma_gamma`] fits the Gamma-Gamma spend model, giving
//!   [`GammaGammaParams::expected_order_value`];
//! - [`customer_lifetime_value`] and [`predict_customers`] combine the two over a
//!   horizon with a monthly discount rate; [`evaluate_holdout`] checks the purchase
//!   predictions against a holdout period.
//!
//! Formulas and parameter names follow the papers and lifetimes 0.11.3, whose fits on
//! CDNOW this crate reproduces (see `docs/clv.md`). No I/O beyond [`read_cdnow`], which
//! reads from any `BufRead`.

mod bgnbd;
mod error;
mod gamma_gamma;
mod holdout;
mod optimise;
mod special;
mod transactions;
mod value;

pub use bgnbd::{BgNbdFit, BgNbdParams, bgnbd_log_likelihood, fit_bgnbd};
pub use error::{ClvError, Result};
pub use gamma_gamma::{
    GammaGammaFit, GammaGammaParams, fit_gamma_gamma, gamma_gamma_log_likelihood, repeat_customers,
};
pub use holdout::{FrequencyRow, HoldoutEvaluation, evaluate_holdout};
pub use transactions::{
    CalibrationHoldout, CustomerSummary, HoldoutCustomer, TimeUnit, Transaction,
    calibration_and_holdout, read_cdnow, rfm_summary,
};
pub use value::{ClvConfig, CustomerValue, customer_lifetime_value, predict_customers};
