use models::{
    CategoricalEncoding, Dataset, FeatureSelection, PreprocessConfig, Preprocessor, Scaling,
    mutual_information,
};

fn config(scaling: Scaling, selection: FeatureSelection) -> PreprocessConfig {
    PreprocessConfig {
        scaling,
        categorical: CategoricalEncoding::OneHot,
        min_level_count: 1,
        selection,
    }
}

fn one_column(values: Vec<f64>) -> Dataset {
    let n = values.len();
    Dataset::new(n)
        .with_numeric("x", values)
        .and_then(|d| d.with_target("y", (0..n).map(|i| i % 2 == 0).collect()))
        .unwrap()
}

#[test]
fn scalings_on_hand_computed_columns() {
    // The median of 1, 2, 3, 100 (2.5) fills the missing value.
    let data = one_column(vec![1.0, 2.0, f64::NAN, 3.0, 100.0]);
    let cases = [
        // min 1, max 100
        (Scaling::MinMax, vec![0.0, 1.0 / 99.0, 1.5 / 99.0, 2.0 / 99.0, 1.0]),
        // median 2.5, quartiles 2 and 3
        (Scaling::Robust, vec![-1.5, -0.5, 0.0, 0.5, 97.5]),
        (Scaling::None, vec![1.0, 2.0, 2.5, 3.0, 100.0]),
    ];
    for (scaling, expected) in cases {
        let fitted =
            Preprocessor::fit(&data, &config(scaling, FeatureSelection::default())).unwrap();
        let x = fitted.transform(&data).unwrap();
        for (a, e) in x.values.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-12, "{scaling:?}: {:?} != {expected:?}", x.values);
        }
    }
    let standard =
        Preprocessor::fit(&data, &config(Scaling::Standard, FeatureSelection::default())).unwrap();
    let x = standard.transform(&data).unwrap();
    let mean = x.values.iter().sum::<f64>() / 5.0;
    let variance = x.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0;
    assert!(mean.abs() < 1e-12 && (variance - 1.0).abs() < 1e-12);
}

#[test]
fn one_hot_levels_and_unseen_levels() {
    let colours = ["red", "blue", "red", "green"].map(|c| Some(c.to_string())).to_vec();
    let data = Dataset::new(4)
        .with_categorical("colour", colours)
        .and_then(|d| d.with_target("y", vec![true, false, true, false]))
        .unwrap();
    let fitted =
        Preprocessor::fit(&data, &config(Scaling::None, FeatureSelection::default())).unwrap();
    assert_eq!(fitted.feature_names, ["colour=blue", "colour=green", "colour=red"]);
    let new = Dataset::new(2).with_categorical("colour", vec![Some("pink".into()), None]).unwrap();
    assert_eq!(fitted.transform(&new).unwrap().values, [0.0; 6], "unseen and missing: all zeros");
}

#[test]
fn selection_drops_constants_duplicates_and_uninformative_features() {
    let n = 200;
    let target: Vec<bool> = (0..n).map(|i| i % 4 == 0).collect();
    let signal: Vec<f64> = target.iter().map(|&t| if t { 1.0 } else { 0.0 }).collect();
    let noise: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
    let data = Dataset::new(n)
        .with_numeric("constant", vec![5.0; n])
        .and_then(|d| d.with_numeric("noise", noise.clone()))
        .and_then(|d| d.with_numeric("signal", signal.clone()))
        .and_then(|d| d.with_numeric("signal_copy", signal.iter().map(|v| 2.0 * v + 1.0).collect()))
        .and_then(|d| d.with_target("y", target.clone()))
        .unwrap();
    let selection = FeatureSelection {
        min_variance: 0.0,
        max_abs_correlation: Some(0.95),
        top_k_mutual_information: Some(1),
    };
    let fitted = Preprocessor::fit(&data, &config(Scaling::Standard, selection)).unwrap();
    assert_eq!(fitted.feature_names, ["signal"]);
    let y: Vec<f64> = signal.clone();
    assert!(mutual_information(&signal, &y) > mutual_information(&noise, &y));
}
