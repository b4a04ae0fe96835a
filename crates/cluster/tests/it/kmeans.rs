use cluster::{KMeans, KMeansConfig, Matrix, choose_k};

use crate::{THREE_CENTRES, blobs};

#[test]
fn kmeans_recovers_well_separated_blobs() {
    let data = blobs(&THREE_CENTRES, 40);
    let model = KMeans::fit(&data, &KMeansConfig { init_runs: 3, ..KMeansConfig::new(3) }).unwrap();
    for (blob, centre) in THREE_CENTRES.iter().enumerate() {
        let labels = &model.labels[blob * 40..(blob + 1) * 40];
        assert!(labels.iter().all(|&label| label == labels[0]), "blob {blob} split: {labels:?}");
        let centroid = model.centroids.row(labels[0]);
        assert!((centroid[0] - centre[0]).abs() < 0.1 && (centroid[1] - centre[1]).abs() < 0.1);
    }
    let distinct: std::collections::BTreeSet<usize> = model.labels.iter().copied().collect();
    assert_eq!(distinct.len(), 3);
    assert_eq!(model.predict(&data).unwrap(), model.labels);
    assert!(model.inertia < 120.0 * 0.25, "inertia {}", model.inertia);
}

#[test]
fn kmeans_with_one_seed_gives_one_answer() {
    let data = blobs(&[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0], [1.5, 1.5]], 30);
    let config = KMeansConfig { seed: 7, ..KMeansConfig::new(4) };
    let first = KMeans::fit(&data, &config).unwrap();
    let second = KMeans::fit(&data, &config).unwrap();
    assert_eq!(first, second);
}

#[test]
fn kmeans_runs_on_f32() {
    let data = blobs(&THREE_CENTRES, 20);
    let narrow: Vec<f32> = data.as_slice().iter().map(|&value| value as f32).collect();
    let narrow = Matrix::new(narrow, 2).unwrap();
    let wide = KMeans::fit(&data, &KMeansConfig::new(3)).unwrap();
    let narrow = KMeans::fit(&narrow, &KMeansConfig::new(3)).unwrap();
    assert_eq!(wide.labels, narrow.labels);
}

#[test]
fn kmeans_stops_at_max_iterations() {
    let data = blobs(&[[0.0, 0.0], [1.0, 0.0], [0.5, 0.8]], 50);
    let model =
        KMeans::fit(&data, &KMeansConfig { max_iterations: 1, ..KMeansConfig::new(3) }).unwrap();
    assert_eq!(model.iterations, 1);
    assert_eq!(model.labels, model.predict(&data).unwrap());
}

#[test]
fn kmeans_rejects_more_clusters_than_rows() {
    let data = Matrix::from_rows(&[vec![0.0, 1.0], vec![1.0, 0.0]]).unwrap();
    let error = KMeans::fit(&data, &KMeansConfig::new(3)).unwrap_err();
    assert_eq!(error.to_string(), "k must be between 1 and the 2 rows, got 3");
}

#[test]
fn choose_k_picks_the_number_of_blobs() {
    let data = blobs(&THREE_CENTRES, 25);
    let chosen = choose_k(&data, 2..=5, &KMeansConfig::new(2), 1_000).unwrap();
    assert_eq!(chosen.best_k, 3, "{:?}", chosen.candidates);
    assert_eq!(chosen.candidates.len(), 4);
    assert_eq!(chosen.model.centroids.rows(), 3);
}

/// `rows` points around `k` overlapping centres in `columns` dimensions, from a fixed
/// linear congruential generator: clusters that Lloyd needs a dozen or more passes for.
fn overlapping(rows: usize, columns: usize, k: usize) -> Matrix<f64> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut uniform = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let centres: Vec<Vec<f64>> =
        (0..k).map(|_| (0..columns).map(|_| 4.0 * uniform() - 2.0).collect()).collect();
    let values = (0..rows)
        .flat_map(|row| {
            let centre = &centres[row % k];
            centre.iter().map(|&value| value + 2.0 * uniform() - 1.0).collect::<Vec<_>>()
        })
        .collect();
    Matrix::new(values, columns).unwrap()
}

fn squared_distance(left: &[f64], right: &[f64]) -> f64 {
    left.iter().zip(right).map(|(l, r)| (l - r) * (l - r)).sum()
}

/// A converged fit must be a fixed point of Lloyd's algorithm, checked here in `f64`
/// from the definitions: every row is labelled with its nearest centroid, and every
/// centroid is the mean of its rows. 1,003 rows are not a whole number of the 8-row
/// panels the passes work on, and 7 clusters are not a whole block of centroids.
fn assert_fixed_point(data: &Matrix<f64>, centroids: &Matrix<f64>, labels: &[usize], slack: f64) {
    let columns = data.columns();
    let mut sums = vec![0.0; centroids.rows() * columns];
    let mut counts = vec![0usize; centroids.rows()];
    for (row, &label) in data.iter_rows().zip(labels) {
        let distances: Vec<f64> =
            centroids.iter_rows().map(|centroid| squared_distance(row, centroid)).collect();
        let nearest = distances.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(distances[label] <= nearest * (1.0 + slack) + slack, "{distances:?} {label}");
        for (sum, value) in sums[label * columns..].iter_mut().zip(row) {
            *sum += value;
        }
        counts[label] += 1;
    }
    for (cluster, centroid) in centroids.iter_rows().enumerate() {
        assert!(counts[cluster] > 0, "cluster {cluster} is empty");
        for (column, &value) in centroid.iter().enumerate() {
            let mean = sums[cluster * columns + column] / counts[cluster] as f64;
            assert!((value - mean).abs() <= slack, "cluster {cluster}: {value} vs {mean}");
        }
    }
}

#[test]
fn a_converged_fit_labels_rows_by_the_nearest_centroid_and_centroids_are_means() {
    let data = overlapping(1_003, 5, 7);
    let model = KMeans::fit(&data, &KMeansConfig { seed: 3, ..KMeansConfig::new(7) }).unwrap();
    assert!(model.iterations > 5 && model.iterations < 300, "{} iterations", model.iterations);
    assert_fixed_point(&data, &model.centroids, &model.labels, 1e-9);

    let narrow: Vec<f32> = data.as_slice().iter().map(|&value| value as f32).collect();
    let narrow_data = Matrix::new(narrow, 5).unwrap();
    let narrow =
        KMeans::fit(&narrow_data, &KMeansConfig { seed: 3, ..KMeansConfig::new(7) }).unwrap();
    assert!(narrow.iterations < 300);
    assert_fixed_point(&narrow_data.to_f64(), &narrow.centroids.to_f64(), &narrow.labels, 1e-4);
}

#[test]
fn kmeans_gives_the_same_model_on_any_thread_count() {
    let data = overlapping(6_000, 3, 5);
    let config = KMeansConfig { seed: 11, init_runs: 2, ..KMeansConfig::new(5) };
    let fit_on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| KMeans::fit(&data, &config)).unwrap()
    };
    let one = fit_on(1);
    assert_eq!(one, fit_on(3));
    assert_eq!(one.predict(&data).unwrap(), one.labels);
}
