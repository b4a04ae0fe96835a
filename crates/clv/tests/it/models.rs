use clv::{
    BgNbdParams, ClvConfig, CustomerSummary, GammaGammaParams, TimeUnit, customer_lifetime_value,
};

use crate::close;

/// lifetimes 0.11.3's CDNOW fit, rounded (tests/data/cdnow/PROVENANCE.md).
fn cdnow_bgnbd() -> BgNbdParams {
    BgNbdParams::new(0.25, 4.79, 0.72, 2.16).unwrap()
}

/// Log-likelihoods worked out from eq. 6 of Fader, Hardie & Lee (2005) with Python's
/// `math.lgamma`, one `(frequency, recency, T)` history each.
#[test]
fn bgnbd_log_likelihood_matches_the_paper_formula() {
    let check = |history: (f64, f64, f64), want: f64| {
        let got = cdnow_bgnbd().log_likelihood(history.0, history.1, history.2);
        assert!(close(got, want, 1e-12), "{history:?}: {got} != {want}");
    };
    check((0.0, 0.0, 38.86), -0.5524182177156969);
    check((2.0, 30.43, 38.86), -9.446649308524401);
    check((7.0, 29.43, 35.0), -21.390792317221052);
}

#[test]
fn p_alive_is_one_without_repeat_purchases() {
    let params = cdnow_bgnbd();
    assert_eq!(params.p_alive(0.0, 0.0, 0.0), 1.0);
    assert_eq!(params.p_alive(0.0, 0.0, 52.0), 1.0);
}

#[test]
fn p_alive_falls_with_time_since_the_last_purchase() {
    let params = cdnow_bgnbd();
    // Bought just now: only the drop-out chance after this very purchase counts.
    let just_bought = params.p_alive(2.0, 38.86, 38.86);
    assert!(close(just_bought, 1.0 / (1.0 + 0.72 / (2.16 + 1.0)), 1e-12), "{just_bought}");
    assert!(close(params.p_alive(2.0, 30.43, 38.86), 0.730320732269571, 1e-12));
    assert!(close(params.p_alive(7.0, 29.43, 35.0), 0.7915690667502558, 1e-12));
    let long_silent = params.p_alive(2.0, 1.0, 38.86);
    assert!(long_silent < 0.2, "{long_silent}");
}

/// The paper's worked example (section 5): with its CDNOW parameters, a customer with
/// x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks.
#[test]
fn conditional_expectation_reproduces_the_papers_example() {
    let paper = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let got = paper.expected_purchases(39.0, 2.0, 30.43, 38.86);
    assert!((got - 1.226).abs() < 5e-4, "{got}");
}

#[test]
fn a_customer_of_age_zero_expects_what_a_new_customer_does() {
    for params in [cdnow_bgnbd(), BgNbdParams::new(1.2, 3.0, 2.5, 4.0).unwrap()] {
        for horizon in [1.0, 13.0, 52.0] {
            let conditional = params.expected_purchases(horizon, 0.0, 0.0, 0.0);
            let new_customer = params.expected_purchases_new_customer(horizon);
            assert!(close(conditional, new_customer, 1e-10), "{conditional} != {new_customer}");
        }
    }
}

#[test]
fn gamma_gamma_log_likelihood_and_expected_order_value_match_the_formula() {
    let params = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
    assert!(close(params.log_likelihood(2.0, 25.5), -3.6529127527062, 1e-12));
    assert!(close(params.log_likelihood(1.0, 10.0), -3.921350502111963, 1e-12));
    assert!(close(params.expected_order_value(2.0, 25.5), 27.247375328083987, 1e-12));
    // Without repeat orders, the population mean p v / (q - 1), which needs q > 1.
    assert!(close(params.expected_order_value(0.0, 0.0), 6.25 * 15.44 / 2.74, 1e-12));
    let heavy_tailed = GammaGammaParams::new(6.25, 0.8, 15.44).unwrap();
    assert!(heavy_tailed.expected_order_value(0.0, 0.0).is_nan());
    assert!(heavy_tailed.expected_order_value(2.0, 25.5).is_finite());
}

#[test]
fn clv_sums_discounted_monthly_increments() {
    let purchases = cdnow_bgnbd();
    let spend = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
    let customer = CustomerSummary {
        customer: "c".into(),
        frequency: 2.0,
        recency: 30.43,
        age: 38.86,
        monetary: 25.5,
    };
    let undiscounted =
        ClvConfig { horizon_months: 3, monthly_discount_rate: 0.0, unit: TimeUnit::Weeks };
    let value = customer_lifetime_value(&purchases, &spend, &customer, &undiscounted).unwrap();
    let three_months = purchases.expected_purchases(3.0 * 4.345, 2.0, 30.43, 38.86);
    let order_value = spend.expected_order_value(2.0, 25.5);
    assert!(close(value, order_value * three_months, 1e-12), "{value}");
    let discounted = ClvConfig { monthly_discount_rate: 0.1, ..undiscounted };
    let lower = customer_lifetime_value(&purchases, &spend, &customer, &discounted).unwrap();
    assert!(lower < value && lower > value / 1.1_f64.powi(3), "{lower} vs {value}");
}

#[test]
fn parameters_must_be_positive() {
    assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
    assert!(GammaGammaParams::new(1.0, f64::NAN, 1.0).is_err());
}
