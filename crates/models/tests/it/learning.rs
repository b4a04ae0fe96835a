use models::{
    Calibration, ClassWeight, CsvRoles, Dataset, FamilyChoice, FamilyParams, Folds, GbdtParams,
    LogisticParams, MlpParams, ModelFamily, Penalty, TrainConfig, TrainedModel, TreeParams,
    cross_validate, train,
};

use crate::{data, synthetic};

/// Small settings that keep debug-build tests to a few seconds.
fn small_params() -> FamilyParams {
    FamilyParams {
        gbdt: GbdtParams { trees: 40, learning_rate: 0.2, ..GbdtParams::default() },
        mlp: MlpParams { epochs: 40, hidden: 8, learning_rate: 1e-2, ..MlpParams::default() },
        ..FamilyParams::default()
    }
}

fn only(family: ModelFamily) -> TrainConfig {
    TrainConfig {
        family: FamilyChoice::Only(family),
        params: small_params(),
        folds: 3,
        ..TrainConfig::default()
    }
}

fn cv_auc(data: &Dataset, config: &TrainConfig, family: ModelFamily) -> f64 {
    let folds = Folds::stratified(data.target.as_deref().unwrap(), 3, 7).unwrap();
    cross_validate(data, family, config, &config.params, &folds).unwrap().mean_roc_auc
}

#[test]
fn each_family_learns_a_known_rule() {
    // (family, rule, least CV ROC AUC): a linear rule for the linear model, an
    // axis-aligned rule with a category for the trees, a disc for the network.
    type Rule = fn(f64, f64, &str) -> bool;
    let cases: [(ModelFamily, Rule, f64); 5] = [
        (ModelFamily::Logistic, |a, b, _| 2.0 * a - b > 0.4, 0.97),
        (ModelFamily::Tree, |a, _, c| a > 0.6 && c != "blue", 0.97),
        (ModelFamily::Gbdt, |a, _, c| a > 0.6 && c != "blue", 0.97),
        (ModelFamily::Gbdt, |a, b, _| (a - 0.5).powi(2) + (b - 0.5).powi(2) < 0.1, 0.95),
        (ModelFamily::Mlp, |a, b, _| (a - 0.5).powi(2) + (b - 0.5).powi(2) < 0.1, 0.9),
    ];
    for (family, rule, floor) in cases {
        let data = synthetic(600, 3, rule);
        let auc = cv_auc(&data, &only(family), family);
        assert!(auc > floor, "{family}: CV ROC AUC {auc} ≤ {floor}");
    }
}

#[test]
fn l1_penalty_zeroes_irrelevant_coefficients() {
    let data = synthetic(600, 5, |a, _, _| a > 0.5);
    let mut config = only(ModelFamily::Logistic);
    config.params.logistic =
        LogisticParams { penalty: Penalty::L1, strength: 0.02, max_iterations: 2000 };
    let model = train(&data, &config).unwrap();
    let models::Estimator::Logistic(linear) = &model.pipeline.estimator else { panic!("logistic") };
    let names = &model.pipeline.preprocessor.feature_names;
    for (name, coefficient) in names.iter().zip(&linear.coefficients) {
        if name == "x1" {
            assert!(*coefficient > 0.5, "x1 drives the rule: {coefficient}");
        } else {
            assert_eq!(*coefficient, 0.0, "{name} is irrelevant");
        }
    }
}

#[test]
fn balanced_weights_and_calibration() {
    // 10% positives: balanced weights push raw scores up; Platt scaling
    // brings the mean score back near the positive rate.
    let data = synthetic(1000, 11, |a, b, _| a > 0.8 && b > 0.5);
    let rate = data.target.as_ref().unwrap().iter().sum::<f64>() / 1000.0;
    let mut config = only(ModelFamily::Logistic);
    config.class_weight = ClassWeight::Balanced;
    let raw = train(&data, &config).unwrap();
    config.calibration = Calibration::Platt;
    let calibrated = train(&data, &config).unwrap();
    let mean = |m: &TrainedModel| m.predict_proba(&data).unwrap().iter().sum::<f64>() / 1000.0;
    assert!(mean(&raw) > 1.5 * rate, "balanced raw mean {} vs rate {rate}", mean(&raw));
    assert!((mean(&calibrated) - rate).abs() < 0.03, "calibrated {} vs {rate}", mean(&calibrated));
}

#[test]
fn auto_keeps_the_best_cross_validated_family() {
    // Exclusive or: no line separates it, two splits do.
    let data = synthetic(600, 13, |a, b, _| (a > 0.5) != (b > 0.5));
    let config = TrainConfig {
        family: FamilyChoice::Auto,
        params: FamilyParams {
            tree: TreeParams { max_depth: 4, min_samples_leaf: 5 },
            ..small_params()
        },
        folds: 3,
        ..TrainConfig::default()
    };
    let model = train(&data, &config).unwrap();
    assert_eq!(model.cross_validation.len(), 4);
    let aucs: Vec<(ModelFamily, f64)> =
        model.cross_validation.iter().map(|cv| (cv.family, cv.mean_roc_auc)).collect();
    assert!(aucs.windows(2).all(|w| w[0].1 >= w[1].1), "best first: {aucs:?}");
    assert_eq!(model.family, aucs[0].0);
    assert!(aucs[0].1 > 0.95, "{aucs:?}");
    // A linear model cannot do better than chance here.
    assert_eq!(aucs[3].0, ModelFamily::Logistic, "{aucs:?}");
    let top: Vec<&str> = model.importance.iter().take(2).map(|i| i.column.as_str()).collect();
    assert!(top.contains(&"x1") && top.contains(&"x2"), "{top:?}");
}

#[test]
fn save_and_load_give_identical_scores() {
    let data = synthetic(400, 17, |a, b, c| a + b > 1.0 || c == "green");
    let dir = tempfile::tempdir().unwrap();
    for family in ModelFamily::ALL {
        let mut config = only(family);
        config.calibration = Calibration::Platt;
        let model = train(&data, &config).unwrap();
        let path = dir.path().join(family.name());
        model.save(&path).unwrap();
        let loaded = TrainedModel::load(&path).unwrap();
        let (before, after) =
            (model.predict_proba(&data).unwrap(), loaded.predict_proba(&data).unwrap());
        assert!(before.iter().zip(&after).all(|(a, b)| a.to_bits() == b.to_bits()), "{family}");
        assert_eq!(loaded.pipeline, model.pipeline, "{family}");
    }
    std::fs::write(dir.path().join("model.json"), "{\"format_version\": 99}").unwrap();
    let error = TrainedModel::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("not a readable model"), "{error}");
}

#[test]
fn one_class_target_is_refused() {
    let data = synthetic(50, 1, |_, _, _| false);
    let error = train(&data, &only(ModelFamily::Tree)).unwrap_err();
    assert_eq!(error.to_string(), "the target has only one class (0 positive of 50 rows)");
}

#[test]
fn online_shoppers_cross_validation_beats_a_sane_floor() {
    let roles = CsvRoles { target: Some("Revenue".into()), id: None };
    let data =
        Dataset::from_csv(&data("online_shoppers/online_shoppers_train.csv"), &roles).unwrap();
    assert_eq!((data.rows(), data.columns.len()), (8631, 17));
    // PageValues alone gives about 0.87; a depth-4 tree and 30 boosted trees must do better.
    for (family, floor) in [(ModelFamily::Tree, 0.88), (ModelFamily::Gbdt, 0.91)] {
        let mut config = only(family);
        config.params.tree.max_depth = 4;
        config.params.gbdt.trees = 30;
        let auc = cv_auc(&data, &config, family);
        assert!(auc > floor, "{family}: {auc}");
    }
}
