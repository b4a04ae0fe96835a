use cluster::{Matrix, silhouette_samples, silhouette_score, silhouette_score_sampled};

use crate::{THREE_CENTRES, blobs};

fn line(points: &[f64]) -> Matrix<f64> {
    Matrix::new(points.to_vec(), 1).unwrap()
}

/// Points 0, 1 | 4, 6 on a line. By hand: a(0) = 1, b(0) = (4 + 6) / 2 = 5 → 0.8;
/// a(1) = 1, b(1) = (3 + 5) / 2 → 0.75; a(4) = 2, b(4) = (4 + 3) / 2 → 1.5 / 3.5;
/// a(6) = 2, b(6) = (6 + 5) / 2 → 3.5 / 5.5.
#[test]
fn silhouette_matches_a_hand_computed_case() {
    let data = line(&[0.0, 1.0, 4.0, 6.0]);
    let labels = [0, 0, 1, 1];
    let want = [0.8, 0.75, 1.5 / 3.5, 3.5 / 5.5];
    let got = silhouette_samples(&data, &labels).unwrap();
    for (got, want) in got.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{got} != {want}");
    }
    let mean = silhouette_score(&data, &labels).unwrap();
    assert!((mean - want.iter().sum::<f64>() / 4.0).abs() < 1e-12);
}

#[test]
fn a_row_alone_in_its_cluster_scores_zero() {
    let got = silhouette_samples(&line(&[0.0, 1.0, 9.0]), &[0, 0, 1]).unwrap();
    assert_eq!(got[2], 0.0);
}

#[test]
fn silhouette_needs_two_to_n_minus_one_clusters() {
    assert!(silhouette_score(&line(&[0.0, 1.0, 2.0]), &[0, 0, 0]).is_err());
    assert!(silhouette_score(&line(&[0.0, 1.0, 2.0]), &[0, 1, 2]).is_err());
}

#[test]
fn sampled_silhouette_is_close_to_the_exact_one() {
    let data = blobs(&THREE_CENTRES, 100);
    let labels: Vec<usize> = (0..300).map(|row| row / 100).collect();
    let exact = silhouette_score(&data, &labels).unwrap();
    let sampled = silhouette_score_sampled(&data, &labels, 120, 1).unwrap();
    assert!(exact > 0.9 && (exact - sampled).abs() < 0.02, "{exact} vs {sampled}");
    assert_eq!(silhouette_score_sampled(&data, &labels, 1_000, 1).unwrap(), exact);
}
