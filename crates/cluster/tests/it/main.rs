//! The one integration-test binary of the `cluster` crate: small hand-made data sets whose
//! answers are known (well-separated blobs, hand-computed silhouettes, a covariance with
//! known eigenvectors).

mod dbscan;
mod describe;
mod kmeans;
mod pca;
mod silhouette;

use cluster::Matrix;

/// `per_blob` points around each centre, on a small deterministic ring (radius ≤ 0.5).
pub fn blobs(centres: &[[f64; 2]], per_blob: usize) -> Matrix<f64> {
    let mut rows = Vec::new();
    for centre in centres {
        for i in 0..per_blob {
            let angle = i as f64 * 2.399_963; // the golden angle spreads points evenly
            let radius = 0.5 * ((i % 7) as f64 + 1.0) / 7.0;
            rows.push(vec![centre[0] + radius * angle.cos(), centre[1] + radius * angle.sin()]);
        }
    }
    Matrix::from_rows(&rows).unwrap()
}

pub const THREE_CENTRES: [[f64; 2]; 3] = [[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]];
