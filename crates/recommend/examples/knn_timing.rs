//! Times item-kNN training on a CSV of interactions, the way `bench/run --only
//! recommend-training` trains it through `smartfunnel recommend train` (views weigh 1,
//! cosine, 100 neighbours, no shrink), without building the CLI:
//! `cargo run --release -p recommend --example knn_timing -- TRAIN.csv THREADS [RUNS [OUT]]`
//! (with OUT, the last model is saved there, to compare two builds' models).

use std::path::Path;

use recommend::{Algorithm, Format, ItemKnnConfig, TrainConfig, Weights};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, threads, rest @ ..] = args.as_slice() else {
        eprintln!("usage: knn_timing TRAIN.csv THREADS [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = rest.first().map_or(3, |runs| runs.parse().expect("RUNS"));
    let out = rest.get(1);
    let dataset = recommend::read_file(Path::new(path), Format::Csv).expect("reading the CSV");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.parse().expect("THREADS"))
        .build()
        .expect("thread pool");
    let config = TrainConfig {
        algorithm: Algorithm::ItemKnn(ItemKnnConfig { shrink: 0.0, ..ItemKnnConfig::default() }),
        weights: Weights { view: 1.0, ..Weights::default() },
    };
    for run in 0..runs {
        let model =
            pool.install(|| recommend::train(&dataset, config.clone(), path)).expect("train");
        println!("run {run}: train {:.3} s", model.summary.train_seconds);
        if let (Some(out), true) = (out, run + 1 == runs) {
            model.save(Path::new(out)).expect("saving the model");
        }
    }
}
