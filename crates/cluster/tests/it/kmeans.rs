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
