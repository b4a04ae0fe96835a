//! Times K-Means on a float32 `.npy` file (2-D, C order), the way `bench/run --only
//! kmeans` feeds it to `smartfunnel cluster kmeans`, without building the CLI:
//! `cargo run --release -p cluster --example kmeans_timing -- FILE.npy K THREADS [RUNS]`.

use std::time::Instant;

use cluster::{KMeans, KMeansConfig, Matrix};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, k, threads, rest @ ..] = args.as_slice() else {
        eprintln!("usage: kmeans_timing FILE.npy K THREADS [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = rest.first().map_or(3, |runs| runs.parse().expect("RUNS"));
    let bytes = std::fs::read(path).expect("reading the .npy file");
    let header_length = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_length]).expect("header");
    assert!(header.contains("'<f4'"), "float32 little-endian expected: {header}");
    let shape = &header[header.find("'shape': (").expect("shape") + 10..];
    let shape: Vec<usize> = shape[..shape.find(')').expect("shape end")]
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| part.trim().parse().expect("shape value"))
        .collect();
    let values: Vec<f32> = bytes[10 + header_length..]
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("4 bytes")))
        .collect();
    assert_eq!(values.len(), shape[0] * shape[1], "values for the shape");
    let data = Matrix::new(values, shape[1]).expect("matrix");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.parse().expect("THREADS"))
        .build()
        .expect("thread pool");
    let mut config = KMeansConfig::new(k.parse().expect("K"));
    config.max_iterations = 100;
    for run in 0..runs {
        let started = Instant::now();
        let model = pool.install(|| KMeans::fit(&data, &config)).expect("fit");
        println!(
            "run {run}: fit {:.3} s, {} iterations, inertia {:.6e}",
            started.elapsed().as_secs_f64(),
            model.iterations,
            model.inertia
        );
    }
}
