use models::MetricReport;
use models::metrics::{deciles, log_loss, pr_auc, roc_auc, roc_curve_on_grid};

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-9
}

#[test]
fn roc_auc_hand_computed_cases() {
    // (scores, labels, AUC): the last two have ties, which count one half per pair.
    let cases: [(&[f64], &[f64], f64); 5] = [
        (&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0], 0.75),
        (&[0.9, 0.8, 0.2, 0.1], &[1.0, 1.0, 0.0, 0.0], 1.0),
        (&[0.9, 0.8, 0.2, 0.1], &[0.0, 0.0, 1.0, 1.0], 0.0),
        (&[0.2, 0.6, 0.6, 0.9], &[0.0, 0.0, 1.0, 1.0], 0.875),
        (&[0.5, 0.5, 0.5, 0.5], &[0.0, 1.0, 0.0, 1.0], 0.5),
    ];
    for (scores, labels, expected) in cases {
        let auc = roc_auc(scores, labels);
        assert!(close(auc, expected), "{scores:?} {labels:?}: {auc} != {expected}");
    }
    assert!(roc_auc(&[0.1, 0.2], &[1.0, 1.0]).is_nan(), "one class has no AUC");
}

#[test]
fn pr_auc_is_average_precision_with_ties_grouped() {
    let cases: [(&[f64], &[f64], f64); 3] = [
        // scikit-learn's average_precision_score docstring example: 0.8333.
        (&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0], 5.0 / 6.0),
        // The tied pair is one threshold: recall 0.5 at precision 0.5, then 1 at 2/3.
        (&[0.6, 0.6, 0.2], &[1.0, 0.0, 1.0], 0.25 + 1.0 / 3.0),
        (&[0.9, 0.1], &[1.0, 0.0], 1.0),
    ];
    for (scores, labels, expected) in cases {
        let ap = pr_auc(scores, labels);
        assert!(close(ap, expected), "{scores:?} {labels:?}: {ap} != {expected}");
    }
}

#[test]
fn log_loss_hand_computed_and_clipped() {
    let expected = -(0.8f64.ln() + 0.7f64.ln()) / 2.0;
    assert!(close(log_loss(&[0.8, 0.3], &[1.0, 0.0]), expected));
    // A certain wrong answer costs about −ln(1e-15) ≈ 34.5, not infinity
    // (1 − 1e-15 is not exact in binary, hence the tolerance).
    assert!((log_loss(&[1.0], &[0.0]) - 34.5).abs() < 0.2);
    assert!((log_loss(&[0.0], &[1.0]) - 34.5).abs() < 0.2);
}

#[test]
fn lift_and_gain_by_decile() {
    // 20 rows ranked by score; positives at ranks 1, 2, 3 and 16 (rate 0.2).
    let scores: Vec<f64> = (0..20).map(|i| 20.0 - i as f64).collect();
    let mut labels = vec![0.0; 20];
    for i in [0, 1, 2, 15] {
        labels[i] = 1.0;
    }
    let d = deciles(&scores, &labels);
    assert_eq!(d.len(), 10);
    assert!(d.iter().all(|decile| decile.rows == 2));
    let lifts: Vec<f64> = d.iter().map(|x| x.lift).collect();
    assert_eq!(lifts, [5.0, 2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, 0.0, 0.0]);
    let gains: Vec<f64> = d.iter().map(|x| x.cumulative_gain).collect();
    assert_eq!(gains, [0.5, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0]);
}

#[test]
fn threshold_metrics_and_confusion_matrix() {
    let report = MetricReport::compute(&[0.9, 0.6, 0.4, 0.2], &[1.0, 0.0, 1.0, 0.0], 0.5).unwrap();
    let c = report.confusion;
    assert_eq!(
        (c.true_positives, c.false_positives, c.true_negatives, c.false_negatives),
        (1, 1, 1, 1)
    );
    assert_eq!((report.accuracy, report.precision, report.recall, report.f1), (0.5, 0.5, 0.5, 0.5));
    assert!(close(report.roc_auc, 0.75));
    assert!(MetricReport::compute(&[0.5], &[1.0, 0.0], 0.5).is_err(), "lengths differ");
}

#[test]
fn roc_curve_interpolates_between_corners() {
    // Corners: (0,0), (0,0.5), (0.5,0.5), (0.5,1), (1,1).
    let tpr =
        roc_curve_on_grid(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0], &[0.0, 0.25, 0.5, 1.0]);
    assert_eq!(tpr, [0.5, 0.5, 1.0, 1.0]);
}
