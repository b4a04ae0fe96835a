use cluster::{FeatureStats, FeatureWords, Matrix, describe_cluster};

fn words() -> Vec<FeatureWords> {
    vec![
        FeatureWords::new("orders", "occasional", "frequent"),
        FeatureWords::new("spend", "low-value", "high-value"),
        FeatureWords::new("electronics_share", "few electronics", "mostly electronics buyers"),
    ]
}

fn population() -> FeatureStats {
    FeatureStats { means: vec![5.0, 100.0, 0.2], std_devs: vec![2.0, 50.0, 0.1] }
}

#[test]
fn describes_the_most_distinctive_features_first() {
    let check = |centroid: [f64; 3], share: f64, want: &str| {
        let got = describe_cluster(&centroid, &population(), &words(), share).unwrap();
        assert_eq!(got.text, want);
    };
    // z = 2, 0.2 (not distinctive), 1.5
    check([9.0, 110.0, 0.35], 0.12, "frequent, mostly electronics buyers; 12% of users");
    // z = −1, 3, −0.6
    check([3.0, 250.0, 0.14], 0.31, "high-value, occasional, few electronics; 31% of users");
    check([5.2, 90.0, 0.21], 0.004, "typical on every feature; 0.4% of users");
}

#[test]
fn z_scores_come_from_the_population() {
    let data = Matrix::from_rows(&[vec![1.0, 10.0], vec![3.0, 10.0]]).unwrap();
    let stats = FeatureStats::of(&data);
    assert_eq!(stats.means, vec![2.0, 10.0]);
    assert_eq!(stats.std_devs, vec![1.0, 0.0]);
    assert_eq!(stats.z_score(0, 4.0), 2.0);
    assert_eq!(stats.z_score(1, 99.0), 0.0);
    let standard = stats.standardize(&data);
    assert_eq!(standard.as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
    assert_eq!(stats.unstandardize_row(&[1.0, 0.0]), vec![3.0, 10.0]);
}

#[test]
fn describe_rejects_mismatched_lengths() {
    assert!(describe_cluster(&[1.0, 2.0], &population(), &words(), 0.5).is_err());
}
