use cluster::{Matrix, pca_2d};

/// Points spread ±5 along (1, 1)/√2 and ±0.1 along (1, −1)/√2, plus a constant third
/// feature: the covariance has eigenvectors (1, 1, 0)/√2 with eigenvalue
/// 2·Σt²/(n − 1) = 220/21 and (1, −1, 0)/√2 with 22·0.01/21, and 0.
#[test]
fn pca_finds_the_axes_of_a_known_covariance() {
    let half = std::f64::consts::FRAC_1_SQRT_2;
    let mut rows = Vec::new();
    for t in -5..=5 {
        for s in [-0.1, 0.1] {
            let t = t as f64;
            rows.push(vec![(t + s) * half + 3.0, (t - s) * half - 1.0, 7.0]);
        }
    }
    let projection = pca_2d(&Matrix::from_rows(&rows).unwrap()).unwrap();
    let close = |got: f64, want: f64| (got - want).abs() < 1e-9;
    let [first, second] = &projection.components;
    assert!(close(first[0], half) && close(first[1], half) && close(first[2], 0.0), "{first:?}");
    assert!(close(second[0].abs(), half) && close(second[0], -second[1]), "{second:?}");
    assert!(close(projection.explained_variance[0], 220.0 / 21.0));
    assert!(close(projection.explained_variance[1], 22.0 * 0.01 / 21.0));
    assert!(close(
        projection.explained_variance_ratio[0] + projection.explained_variance_ratio[1],
        1.0
    ));
    // The first point, t = −5, s = −0.1, lands at (−5, ±0.1).
    let [x, y] = projection.points[0];
    assert!(close(x, -5.0) && close(y.abs(), 0.1), "{:?}", projection.points[0]);
    assert_eq!(projection.points.len(), 22);
}
