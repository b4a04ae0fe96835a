//! Trains SASRec on a YOOCHOOSE training file, choosing the epoch on a validation file,
//! and prints the next-click metrics on that validation file and single-query latency
//! as JSON. An optimised build of this crate alone, without the CLI's DataFusion:
//!
//! ```sh
//! cargo run --release -p sasrec --example yoochoose -- \
//!     tests/data/yoochoose_100k/yoochoose-clicks-100k_train_tr.txt \
//!     tests/data/yoochoose_100k/yoochoose-clicks-100k_train_valid.txt hidden=64 dropout=0.2
//! ```
//!
//! Trailing `name=value` arguments override the default hyper-parameters; `tune` instead
//! tries `sasrec::grid()`.

use std::path::PathBuf;

use recommend::{Format, Weights};
use sasrec::{SasRecConfig, Validation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Each epoch's loss, validation metrics and time on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let usage = "usage: yoochoose TRAIN VALID [tune | name=value ...]";
    let train_path = PathBuf::from(args.next().ok_or(usage)?);
    let valid_path = PathBuf::from(args.next().ok_or(usage)?);
    let overrides: Vec<String> = args.collect();
    let train_data = recommend::read_file(&train_path, Format::Yoochoose)?;
    let valid = recommend::read_file(&valid_path, Format::Yoochoose)?;
    let validation = Validation { data: &valid, name: "train_valid", k: 20 };
    let model = if overrides.iter().any(|a| a == "tune") {
        let settings = sasrec::grid();
        sasrec::tune(
            &train_data,
            &settings,
            sasrec::SESSION_WEIGHTS,
            sasrec::TUNED_MEMBERS,
            Weights::default(),
            validation,
            "train_tr",
        )?
    } else {
        let mut config = serde_json::to_value(SasRecConfig::default())?;
        for entry in &overrides {
            let (name, value) = entry.split_once('=').ok_or(usage)?;
            config[name] = serde_json::from_str(value)?;
        }
        let config: SasRecConfig = serde_json::from_value(config)?;
        sasrec::train(&train_data, &config, Weights::default(), Some(validation), "train_tr")?
    };
    let mut model = model;
    let evaluation = recommend::evaluate(&model, &valid, 20);
    let latency = recommend::measure_latency(&model, &valid, 20, 2000);
    // The same network with each share of V-SKNN mixed in (a query-time setting).
    let chosen = model.config().session_weight;
    let mut blends = Vec::new();
    for &weight in sasrec::SESSION_WEIGHTS {
        model.set_session_weight(weight)?;
        let metrics = recommend::evaluate(&model, &valid, 20).metrics;
        let latency = recommend::measure_latency(&model, &valid, 20, 2000);
        blends.push(serde_json::json!({
            "session_weight": weight, "recall": metrics.recall, "mrr": metrics.mrr,
            "p50_us": latency.p50_us, "p99_us": latency.p99_us,
        }));
    }
    model.set_session_weight(chosen)?;
    let report = serde_json::json!({
        "algorithm": model.algorithm,
        "train_seconds": model.summary.train_seconds,
        "training": model.training,
        "tuning": model.tuning,
        "metrics": evaluation.metrics,
        "latency": latency,
        "blends": blends,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
