use cluster::{Dbscan, DbscanConfig, Matrix, kdistance_knee, suggest_eps};

use crate::blobs;

fn two_groups_and_an_outlier() -> Matrix<f64> {
    let groups = blobs(&[[0.0, 0.0], [5.0, 5.0]], 20);
    let mut values = groups.as_slice().to_vec();
    values.extend([20.0, -20.0]);
    Matrix::new(values, 2).unwrap()
}

#[test]
fn dbscan_labels_the_outlier_as_noise() {
    let data = two_groups_and_an_outlier();
    let model = Dbscan::fit(&data, &DbscanConfig { eps: 1.0, min_points: 4 }).unwrap();
    assert_eq!(model.clusters, 2);
    assert_eq!(model.noise, 1);
    assert_eq!(model.labels[40], None);
    assert!(model.labels[..20].iter().all(|&label| label == Some(0)));
    assert!(model.labels[20..40].iter().all(|&label| label == Some(1)));
}

#[test]
fn dbscan_border_rows_join_but_do_not_extend_a_cluster() {
    // With eps 0.5 and min_points 4, 0.2, 0.4 and 0.6 are core; 0 and 1.05 are border
    // rows (within eps of a core row, too few neighbours themselves); 1.5 is within eps of
    // the border row 1.05 only, so it stays noise.
    let data = Matrix::new(vec![0.0, 0.2, 0.4, 0.6, 1.05, 1.5], 1).unwrap();
    let model = Dbscan::fit(&data, &DbscanConfig { eps: 0.5, min_points: 4 }).unwrap();
    assert_eq!(model.labels, vec![Some(0), Some(0), Some(0), Some(0), Some(0), None]);
    assert_eq!(model.core, vec![false, true, true, true, false, false]);
}

#[test]
fn knee_of_a_flat_then_steep_curve_is_where_it_turns() {
    let curve: Vec<f64> = (0..100)
        .map(|i| if i < 90 { 0.1 + i as f64 * 0.001 } else { 0.19 + (i - 89) as f64 })
        .collect();
    assert_eq!(kdistance_knee(&curve), Some(89));
}

#[test]
fn a_straight_or_short_curve_has_no_knee() {
    assert_eq!(kdistance_knee(&[1.0, 2.0, 3.0, 4.0]), None);
    assert_eq!(kdistance_knee(&[1.0, 5.0]), None);
    assert_eq!(kdistance_knee(&[2.0, 2.0, 2.0]), None);
}

#[test]
fn suggested_eps_separates_the_groups_from_the_outlier() {
    let data = two_groups_and_an_outlier();
    let eps = suggest_eps(&data, 4).unwrap();
    let model = Dbscan::fit(&data, &DbscanConfig { eps, min_points: 4 }).unwrap();
    assert_eq!((model.clusters, model.noise), (2, 1), "eps {eps}");
}

#[test]
fn new_rows_join_the_cluster_of_their_nearest_core_row_within_eps() {
    let data = two_groups_and_an_outlier();
    let model = Dbscan::fit(&data, &DbscanConfig { eps: 1.0, min_points: 4 }).unwrap();
    // Near the first group, near the second, far from both, and near the outlier
    // (which is noise, not core, so it attracts nobody).
    let new = Matrix::new(vec![0.3, -0.2, 5.2, 4.9, 10.0, 10.0, 20.2, -20.0], 2).unwrap();
    assert_eq!(model.assign(&data, 1.0, &new).unwrap(), vec![Some(0), Some(1), None, None]);
    let wrong_width = Matrix::new(vec![0.0, 0.0, 0.0], 3).unwrap();
    assert!(model.assign(&data, 1.0, &wrong_width).is_err());
}
