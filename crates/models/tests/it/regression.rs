//! Gradient-boosted trees with the regression objectives, and the regression
//! metrics: known functions, censoring-style targets, seeds and refusals.

use models::metrics::{concordance_index, mean_absolute_error, root_mean_squared_error};
use models::{
    Dataset, FamilyParams, GbdtObjective, GbdtParams, ModelFamily, Pipeline, TrainConfig, train,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `rows` rows of uniform `x1`, `x2` in [0, 1), a categorical `shape`
/// (flat/steep) and the target `f(x1, x2, steep)` plus uniform noise in ±`noise`.
fn regression_data(
    rows: usize,
    seed: u64,
    noise: f64,
    f: impl Fn(f64, f64, bool) -> f64,
) -> Dataset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut x1, mut x2, mut shape, mut y) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        let (a, b, steep): (f64, f64, bool) = (rng.random(), rng.random(), rng.random());
        x1.push(a);
        x2.push(b);
        shape.push(Some(if steep { "steep" } else { "flat" }.to_string()));
        y.push(f(a, b, steep) + noise * (2.0 * rng.random::<f64>() - 1.0));
    }
    Dataset::new(rows)
        .with_numeric("x1", x1)
        .and_then(|d| d.with_numeric("x2", x2))
        .and_then(|d| d.with_categorical("shape", shape))
        .and_then(|d| d.with_real_target("y", y))
        .expect("columns of equal length")
}

/// 100 trees at learning rate 0.1, at least 50 rows a leaf: with the default
/// 20, the split search finds small leaves made mostly of outliers by chance,
/// and an absolute-error leaf then takes an outlier's residual as its median.
fn regressor(objective: GbdtObjective, seed: u64) -> (TrainConfig, FamilyParams) {
    let params = FamilyParams {
        gbdt: GbdtParams {
            objective,
            trees: 100,
            learning_rate: 0.1,
            min_samples_leaf: 50,
            seed,
            ..GbdtParams::default()
        },
        ..FamilyParams::default()
    };
    (TrainConfig::default(), params)
}

fn fit(data: &Dataset, objective: GbdtObjective, seed: u64) -> Pipeline {
    let (config, params) = regressor(objective, seed);
    Pipeline::fit(data, ModelFamily::Gbdt, &config, &params).unwrap()
}

fn wave(x1: f64, x2: f64, steep: bool) -> f64 {
    (6.0 * x1).sin() + if steep { 3.0 * x2 * x2 } else { 0.0 }
}

#[test]
fn squared_error_fits_a_nonlinear_function_far_better_than_the_mean() {
    let train_rows = regression_data(800, 1, 0.1, wave);
    let test_rows = regression_data(400, 2, 0.1, wave);
    let model = fit(&train_rows, GbdtObjective::SquaredError, 1);
    let actual = test_rows.target.clone().unwrap();
    let predicted = model.score(&test_rows).unwrap();
    let mean = train_rows.target.as_ref().unwrap().iter().sum::<f64>() / 800.0;
    let model_rmse = root_mean_squared_error(&predicted, &actual);
    let mean_rmse = root_mean_squared_error(&vec![mean; actual.len()], &actual);
    // The noise alone leaves an RMSE of 0.1 / √3 ≈ 0.06; the mean's is about 1.1.
    assert!(model_rmse < 0.25 * mean_rmse, "model {model_rmse}, mean {mean_rmse}");
}

#[test]
fn absolute_error_predicts_the_median_where_outliers_pull_the_mean() {
    // y = 10·x1, but a quarter of the rows are 100 whatever x1: the conditional
    // median is still 10·x1, the conditional mean 32.5 + 7.5·x1.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut data = regression_data(1000, 3, 0.0, |x1, _, _| 10.0 * x1);
    let target = data.target.as_mut().unwrap();
    for y in target.iter_mut() {
        if rng.random::<f64>() < 0.25 {
            *y = 100.0;
        }
    }
    let clean = regression_data(300, 4, 0.0, |x1, _, _| 10.0 * x1);
    let truth = clean.target.clone().unwrap();
    let median_model = fit(&data, GbdtObjective::AbsoluteError, 1).score(&clean).unwrap();
    let mean_model = fit(&data, GbdtObjective::SquaredError, 1).score(&clean).unwrap();
    let median_error = mean_absolute_error(&median_model, &truth);
    let mean_error = mean_absolute_error(&mean_model, &truth);
    assert!(median_error < 0.5, "the median model is off by {median_error}");
    assert!(mean_error > 20.0, "the mean model should be pulled up, is off by {mean_error}");
}

#[test]
fn absolute_error_beats_the_global_median_on_a_capped_target() {
    // Like days to the next purchase capped at a 30-day horizon: x1 is how
    // keen a user is; keen users come back within days, the others mostly
    // never (30, the cap). The global median is 30.
    let capped =
        |x1: f64, x2: f64, _| if x1 > 0.6 { (30.0 * x2 * (1.0 - x1)).min(30.0) } else { 30.0 };
    let train_rows = regression_data(1000, 5, 0.0, capped);
    let test_rows = regression_data(500, 6, 0.0, capped);
    let actual = test_rows.target.clone().unwrap();
    let predicted = fit(&train_rows, GbdtObjective::AbsoluteError, 1).score(&test_rows).unwrap();
    let model_mae = mean_absolute_error(&predicted, &actual);
    let median_mae = mean_absolute_error(&vec![30.0; actual.len()], &actual);
    assert!(model_mae < 0.5 * median_mae, "model {model_mae}, global median {median_mae}");
}

#[test]
fn a_seed_fixes_the_model_and_another_seed_changes_it() {
    let data = regression_data(400, 7, 0.3, wave);
    for objective in [GbdtObjective::SquaredError, GbdtObjective::AbsoluteError] {
        let first = fit(&data, objective, 11).score(&data).unwrap();
        let again = fit(&data, objective, 11).score(&data).unwrap();
        let other = fit(&data, objective, 12).score(&data).unwrap();
        assert!(first.iter().zip(&again).all(|(a, b)| a.to_bits() == b.to_bits()), "{objective:?}");
        assert_ne!(first, other, "{objective:?}: the seed drives row and column sampling");
    }
}

#[test]
fn regression_and_classification_are_kept_apart() {
    let data = regression_data(100, 8, 0.0, wave);
    // Cross-validated training judges by ROC AUC: it needs classes.
    let (mut config, params) = regressor(GbdtObjective::SquaredError, 1);
    config.params = params;
    let error = train(&data, &config).unwrap_err().to_string();
    assert!(error.contains("Pipeline::fit"), "{error}");
    // A classifier refuses a real-valued target.
    let (config, params) = regressor(GbdtObjective::LogLoss, 1);
    let error = Pipeline::fit(&data, ModelFamily::Gbdt, &config, &params).unwrap_err().to_string();
    assert!(error.contains("0/1 target"), "{error}");
    let not_finite = Dataset::new(2).with_real_target("y", vec![1.0, f64::NAN]).unwrap_err();
    assert_eq!(not_finite.to_string(), "target \"y\" is not finite in row 1 (NaN)");
}

#[test]
fn mean_absolute_and_root_mean_squared_errors_by_hand() {
    let (predicted, actual) = ([1.0, 2.0, 4.0, 4.0], [1.0, 3.0, 2.0, 4.0]);
    assert_eq!(mean_absolute_error(&predicted, &actual), 0.75);
    assert_eq!(root_mean_squared_error(&predicted, &actual), (5.0f64 / 4.0).sqrt());
}

/// The concordance index by its definition, over every pair.
fn concordance_by_pairs(predicted: &[f64], times: &[f64], observed: &[bool]) -> f64 {
    let (mut agree, mut pairs) = (0.0, 0.0);
    for i in 0..times.len() {
        for j in 0..times.len() {
            if observed[i] && times[i] < times[j] {
                pairs += 1.0;
                if predicted[i] < predicted[j] {
                    agree += 1.0;
                } else if predicted[i] == predicted[j] {
                    agree += 0.5;
                }
            }
        }
    }
    agree / pairs
}

#[test]
fn concordance_index_by_hand_and_against_every_pair() {
    // (predicted, times, observed, C). Censored rows (false) only count as the
    // later member of a pair; ties in prediction count one half.
    type Case<'a> = (&'a [f64], &'a [f64], &'a [bool], f64);
    let cases: [Case; 5] = [
        (&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[true, true, true], 1.0),
        (&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0], &[true, true, true], 0.0),
        (&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], &[true, true, false], 0.5),
        // Pairs (0,1), (0,2): the first agrees, the second does not; row 1 is censored.
        (&[2.0, 3.0, 1.0], &[1.0, 2.0, 3.0], &[true, false, false], 0.5),
        // Equal times are not comparable: only (0,2) and (1,2) count, one agrees, one ties.
        (&[1.0, 5.0, 5.0], &[1.0, 1.0, 2.0], &[true, true, true], 0.75),
    ];
    for (predicted, times, observed, expected) in cases {
        let c = concordance_index(predicted, times, observed);
        assert_eq!(c, expected, "{predicted:?} {times:?} {observed:?}");
    }
    assert!(concordance_index(&[1.0, 2.0], &[1.0, 2.0], &[false, false]).is_nan());

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let rows = 300;
    // Coarse values so that both times and predictions tie often.
    let times: Vec<f64> = (0..rows).map(|_| rng.random_range(0..20) as f64).collect();
    let observed: Vec<bool> = (0..rows).map(|_| rng.random::<f64>() < 0.6).collect();
    let predicted: Vec<f64> =
        times.iter().map(|t| (t + rng.random_range(-8..8) as f64).max(0.0)).collect();
    let fast = concordance_index(&predicted, &times, &observed);
    let slow = concordance_by_pairs(&predicted, &times, &observed);
    assert!((fast - slow).abs() < 1e-12, "{fast} vs {slow}");
}
