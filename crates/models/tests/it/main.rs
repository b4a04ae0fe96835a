//! The one integration-test binary of the `models` crate: hand-computed
//! metric cases, CSV type detection, preprocessing, models learning known
//! synthetic rules, regression objectives on known functions, TreeSHAP
//! against brute-force Shapley values, save/load, and cross-validation on the
//! UCI online shoppers fixture.

mod dataset;
mod learning;
mod metrics;
mod preprocess;
mod regression;
mod shap;

use std::path::{Path, PathBuf};

use models::Dataset;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

pub fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative)
}

/// `rows` rows of two uniform features `x1`, `x2` in [0, 1), a categorical
/// `colour` (red/green/blue) and the target `rule(x1, x2, colour)`.
pub fn synthetic(rows: usize, seed: u64, rule: impl Fn(f64, f64, &str) -> bool) -> Dataset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let colours = ["red", "green", "blue"];
    let (mut x1, mut x2, mut colour, mut target) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        let (a, b): (f64, f64) = (rng.random(), rng.random());
        let c = colours[rng.random_range(0..3)];
        x1.push(a);
        x2.push(b);
        target.push(rule(a, b, c));
        colour.push(Some(c.to_string()));
    }
    Dataset::new(rows)
        .with_numeric("x1", x1)
        .and_then(|d| d.with_numeric("x2", x2))
        .and_then(|d| d.with_categorical("colour", colour))
        .and_then(|d| d.with_target("y", target))
        .expect("columns of equal length")
}
