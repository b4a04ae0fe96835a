//! Axis scales: "nice" ticks (multiples of 1, 2 or 5 times a power of ten
//! that cover the data) and the linear map from data to pixels.

use crate::format::format_decimal;

/// Round tick values covering a data range, first to last, at least two.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ticks {
    pub(crate) values: Vec<f64>,
    /// Decimals needed to print every tick exactly.
    pub(crate) decimals: usize,
}

impl Ticks {
    pub(crate) fn lo(&self) -> f64 {
        self.values[0]
    }

    pub(crate) fn hi(&self) -> f64 {
        self.values[self.values.len() - 1]
    }

    pub(crate) fn label(&self, value: f64) -> String {
        format_decimal(value, self.decimals)
    }

    pub(crate) fn labels(&self) -> Vec<String> {
        self.values.iter().map(|&value| self.label(value)).collect()
    }
}

/// Values beyond this are clamped so that spans and stacked sums stay finite.
pub(crate) const MAGNITUDE_LIMIT: f64 = 1e300;

/// Keeps finite values, clamped to a magnitude that cannot overflow when
/// charts add or subtract them.
pub(crate) fn finite(value: f64) -> Option<f64> {
    value.is_finite().then(|| value.clamp(-MAGNITUDE_LIMIT, MAGNITUDE_LIMIT))
}

/// Ticks covering `lo..=hi` with about `target` intervals. An empty or
/// non-finite range gets a sensible default instead of a panic.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let (mut lo, mut hi) = match (finite(lo), finite(hi)) {
        (Some(a), Some(b)) => (a.min(b), a.max(b)),
        _ => (0.0, 1.0),
    };
    if lo == hi {
        if lo == 0.0 {
            hi = 1.0;
        } else {
            let pad = (lo.abs() * 0.1).max(f64::MIN_POSITIVE);
            lo -= pad;
            hi += pad;
        }
    }
    let step = nice_step((hi - lo) / target.max(1) as f64);
    let decimals = decimals_for(step);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let mut values: Vec<f64> = Vec::new();
    // Bounded by a count rather than by `k <= last` alone: near the limits
    // of f64 precision `k + 1.0 == k` and the loop would never end.
    for i in 0..64 {
        let k = first + f64::from(i);
        if k > last {
            break;
        }
        let value = round_to(k * step, decimals);
        if values.last() != Some(&value) {
            values.push(value);
        }
    }
    if values.len() < 2 {
        values = vec![lo, hi];
    }
    Ticks { values, decimals }
}

fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 + 1e-9 {
        1.0
    } else if fraction <= 2.0 + 1e-9 {
        2.0
    } else if fraction <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    let step = nice * magnitude;
    if step > 0.0 && step.is_finite() { step } else { 1.0 }
}

fn decimals_for(step: f64) -> usize {
    (0..=15)
        .find(|&decimals| {
            let scaled = step * 10f64.powi(decimals);
            (scaled - scaled.round()).abs() < 1e-9 * scaled.max(1.0)
        })
        .map_or(15, |decimals| decimals as usize)
}

fn round_to(value: f64, decimals: usize) -> f64 {
    let factor = 10f64.powi(decimals as i32);
    let scaled = value * factor;
    if !scaled.is_finite() {
        return value;
    }
    // Adding zero turns -0.0 into 0.0, so a tick never prints as "-0".
    (scaled.round() / factor) + 0.0
}

/// The smallest of 1, 2, 5, 10, 20, 50, … that is at least `at_least`: how
/// many labels to step over so that the shown ones fall on round positions.
pub(crate) fn nice_stride(at_least: usize) -> usize {
    let mut magnitude: usize = 1;
    loop {
        for factor in [1, 2, 5] {
            let stride = magnitude.saturating_mul(factor);
            if stride >= at_least || stride == usize::MAX {
                return stride;
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Maps a data interval onto a pixel interval. A zero-width domain maps
/// everything to the middle of the range instead of dividing by zero.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinearScale {
    domain: (f64, f64),
    range: (f64, f64),
}

impl LinearScale {
    pub(crate) fn new(domain: (f64, f64), range: (f64, f64)) -> LinearScale {
        LinearScale { domain, range }
    }

    pub(crate) fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        let position = r0 + (value - d0) / (d1 - d0) * (r1 - r0);
        if position.is_finite() { position } else { (r0 + r1) / 2.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lo: f64, hi: f64, target: usize, expected: &[f64]) {
        assert_eq!(nice_ticks(lo, hi, target).values, expected, "ticks for {lo}..{hi}");
    }

    #[test]
    fn nice_ticks_cover_the_range_with_round_steps() {
        check(0.0, 97.0, 5, &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        check(0.0, 100.0, 5, &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        check(0.0, 1.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        check(0.0, 0.3, 3, &[0.0, 0.1, 0.2, 0.3]);
        check(-12.0, 47.0, 5, &[-20.0, 0.0, 20.0, 40.0, 60.0]);
        check(3.0, 7.0, 4, &[3.0, 4.0, 5.0, 6.0, 7.0]);
        check(0.0, 1234567.0, 5, &[0.0, 500000.0, 1000000.0, 1500000.0]);
        check(-5.0, -1.0, 4, &[-5.0, -4.0, -3.0, -2.0, -1.0]);
    }

    #[test]
    fn nice_ticks_survive_degenerate_ranges() {
        check(0.0, 0.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        check(f64::NAN, 3.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        check(5.0, 5.0, 5, &[4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]);
        check(97.0, 0.0, 5, &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        for (lo, hi) in [(-f64::MAX, f64::MAX), (1e15, 1e15 + 0.1), (0.0, 1e-310), (1e-320, 1e-320)]
        {
            let ticks = nice_ticks(lo, hi, 5);
            assert!(ticks.values.len() >= 2, "{lo}..{hi}: {ticks:?}");
            assert!(ticks.values.iter().all(|v| v.is_finite()), "{lo}..{hi}: {ticks:?}");
        }
    }

    #[test]
    fn tick_labels_use_just_enough_decimals() {
        assert_eq!(nice_ticks(0.0, 1.0, 5).labels(), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(nice_ticks(0.0, 0.1, 2).labels(), ["0.00", "0.05", "0.10"]);
        assert_eq!(nice_ticks(0.0, 12000.0, 3).labels(), ["0", "5,000", "10,000", "15,000"]);
    }

    #[test]
    fn strides_are_round() {
        let strides: Vec<usize> = [0, 1, 2, 3, 6, 11, 295, usize::MAX].map(nice_stride).to_vec();
        assert_eq!(strides, [1, 1, 2, 5, 10, 20, 500, usize::MAX]);
    }

    #[test]
    fn scale_maps_linearly_and_tolerates_empty_domains() {
        let scale = LinearScale::new((0.0, 100.0), (300.0, 0.0));
        assert_eq!(scale.map(0.0), 300.0);
        assert_eq!(scale.map(50.0), 150.0);
        assert_eq!(LinearScale::new((5.0, 5.0), (0.0, 10.0)).map(5.0), 5.0);
    }

    #[test]
    fn finite_clamps_and_drops() {
        assert_eq!(finite(f64::NAN), None);
        assert_eq!(finite(f64::INFINITY), None);
        assert_eq!(finite(f64::MAX), Some(MAGNITUDE_LIMIT));
        assert_eq!(finite(-2.5), Some(-2.5));
    }
}
