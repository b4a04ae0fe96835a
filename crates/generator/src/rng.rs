//! Counter-based random streams and the few samplers the model needs.
//!
//! Every random decision draws from a stream keyed by `(seed, domain, a, b)`
//! (for example `(seed, DAY, user index, day)`), so a user's day never depends
//! on which thread simulated it or on what other users did: the output is the
//! same for any thread count.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere.
pub(crate) type StreamRng = Xoshiro256PlusPlus;

/// Stream domains, so that e.g. user 3's profile and day 3's catalogue never
/// share a stream.
pub(crate) mod domain {
    pub const CATALOG: u64 = 0x6361_7461_6c6f_6701;
    pub const PROFILE: u64 = 0x7072_6f66_696c_6502;
    pub const DAY: u64 = 0x6461_7920_2020_2003;
    pub const BOTS: u64 = 0x626f_7473_2020_2004;
    pub const SESSION_ID: u64 = 0x7365_7373_696f_6e05;
    pub const ORDER_ID: u64 = 0x6f72_6465_7220_2006;
}

/// The SplitMix64 finaliser. It is a bijection on `u64`, which is what makes
/// the session and order ids built from it unique.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A key for `(seed, domain, a, b)`; each step is a SplitMix round.
#[inline]
pub(crate) fn stream_key(seed: u64, domain: u64, a: u64, b: u64) -> u64 {
    let mut key = mix64(seed ^ domain);
    key = mix64(key.wrapping_add(GOLDEN_GAMMA).wrapping_add(a));
    mix64(key.wrapping_add(GOLDEN_GAMMA).wrapping_add(b))
}

/// A Xoshiro256++ stream, seeded through SplitMix64 from the key.
#[inline]
pub(crate) fn stream(seed: u64, domain: u64, a: u64, b: u64) -> StreamRng {
    StreamRng::seed_from_u64(stream_key(seed, domain, a, b))
}

/// `exp(mu + sigma·Z)`: log-normal with median `exp(mu)`.
#[inline]
pub(crate) fn log_normal(rng: &mut StreamRng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

/// Poisson by inversion; fine for the small means (< 30) used here.
pub(crate) fn poisson(rng: &mut StreamRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let mut p = (-mean).exp();
    let mut cumulative = p;
    let u: f64 = rng.random();
    let mut k = 0u32;
    while u > cumulative && k < 1000 {
        k += 1;
        p *= mean / f64::from(k);
        cumulative += p;
    }
    k
}

/// Picks an index with probability proportional to `weights[i]` (a short
/// table, scanned linearly).
pub(crate) fn weighted_index(rng: &mut StreamRng, weights: &[f64]) -> usize {
    weighted_pick(rng, weights, |weight| *weight)
}

/// Picks an index of `table` with probability proportional to `weight(row)`.
pub(crate) fn weighted_pick<T>(
    rng: &mut StreamRng,
    table: &[T],
    weight: impl Fn(&T) -> f64,
) -> usize {
    let total: f64 = table.iter().map(&weight).sum();
    let mut target = rng.random::<f64>() * total;
    for (index, row) in table.iter().enumerate() {
        let weight = weight(row);
        if target < weight {
            return index;
        }
        target -= weight;
    }
    table.len() - 1
}

/// Cumulative weights for binary-searched picks from longer tables.
#[derive(Debug, Clone)]
pub(crate) struct CumulativeWeights {
    cumulative: Vec<f64>,
}

impl CumulativeWeights {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|weight| {
                total += weight;
                total
            })
            .collect();
        CumulativeWeights { cumulative }
    }

    pub(crate) fn sample(&self, rng: &mut StreamRng) -> usize {
        let total = *self.cumulative.last().expect("at least one weight");
        let target = rng.random::<f64>() * total;
        self.cumulative.partition_point(|&c| c <= target).min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_every_coordinate() {
        let base = stream_key(1, domain::DAY, 2, 3);
        assert_eq!(base, stream_key(1, domain::DAY, 2, 3));
        assert_ne!(base, stream_key(2, domain::DAY, 2, 3));
        assert_ne!(base, stream_key(1, domain::PROFILE, 2, 3));
        assert_ne!(base, stream_key(1, domain::DAY, 3, 2));
        assert_ne!(base, stream_key(1, domain::DAY, 2, 4));
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = stream(7, domain::DAY, 0, 0);
        for mean in [0.05, 0.7, 3.0] {
            let n = 40_000;
            let total: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, mean))).sum();
            let got = total as f64 / f64::from(n);
            assert!((got - mean).abs() < 0.05 * mean.max(0.5), "mean {mean}: got {got}");
        }
    }

    #[test]
    fn cumulative_weights_follow_the_weights() {
        let mut rng = stream(7, domain::DAY, 1, 0);
        let table = CumulativeWeights::new([1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[table.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "{counts:?}");
    }
}
