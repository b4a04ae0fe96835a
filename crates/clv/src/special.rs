//! Special functions the models need: `ln Γ` comes from `libm`; the Gauss
//! hypergeometric function is written here because no maintained pure-Rust crate
//! offers it (see docs/benchmarks.md, "hand-written").

/// `ln Γ(x)` for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The most series terms summed before giving up; the series converges geometrically in
/// `z`, so this bound is only reached for `z` within about `1e-5` of 1.
const MAX_SERIES_TERMS: usize = 1_000_000;

/// `ln ₂F₁(a, b; c; z)` for `0 ≤ z < 1`, `c > 0`, and a positive result.
///
/// Sums the Gauss series. When `c - a - b < 0` the series' terms grow like
/// `n^(a+b-c-1) zⁿ` before they shrink, so it sums Euler's transform
/// `₂F₁(a, b; c; z) = (1 - z)^(c-a-b) ₂F₁(c - a, c - b; c; z)` instead, whose terms
/// shrink from the start. (BG/NBD's conditional expectation has `c - a - b = a - 1 - r - x`,
/// negative for every customer when `a < 1 + r`.)
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if c - a - b < 0.0 {
        (c - a - b) * (-z).ln_1p() + gauss_series(c - a, c - b, c, z).ln()
    } else {
        gauss_series(a, b, c, z).ln()
    }
}

fn gauss_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..MAX_SERIES_TERMS {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= f64::EPSILON * sum.abs() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: f64, b: f64, c: f64, z: f64, expect: f64) {
        let got = ln_hyp2f1(a, b, c, z).exp();
        assert!(
            (got - expect).abs() <= 1e-12 * expect.abs(),
            "2F1({a},{b};{c};{z}) = {got}, want {expect}"
        );
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.0001, 0.3, 0.9, 0.99] {
            check(1.0, 1.0, 2.0, z, -(-z).ln_1p() / z);
        }
        // 2F1(a, b; b; z) = (1 - z)^(-a), here with c - a - b < 0 (Euler's transform).
        for z in [0.1, 0.5, 0.95] {
            check(2.5, 3.0, 3.0, z, (1.0 - z).powf(-2.5));
        }
        // A terminating series: 2F1(-2, b; c; z) = 1 - 2bz/c + b(b+1)z²/(c(c+1)).
        check(-2.0, 1.5, 2.0, 0.4, 1.0 - 2.0 * 1.5 * 0.4 / 2.0 + 1.5 * 2.5 * 0.16 / 6.0);
        check(1.0, 1.0, 2.0, 0.0, 1.0);
    }

    #[test]
    fn ln_gamma_of_integers_is_ln_factorial() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }
}
