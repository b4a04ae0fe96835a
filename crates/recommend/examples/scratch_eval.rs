use std::path::Path;
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new("../../tests/data/yoochoose_100k");
    let train = recommend::read_file(
        &dir.join("yoochoose-clicks-100k_train_tr.txt"),
        recommend::Format::Yoochoose,
    )
    .unwrap();
    let valid = recommend::read_file(
        &dir.join("yoochoose-clicks-100k_train_valid.txt"),
        recommend::Format::Yoochoose,
    )
    .unwrap();
    for name in &args[1..] {
        let t = Instant::now();
        let settings = recommend::grid(name).unwrap();
        let model = recommend::tune(
            &train,
            &valid,
            settings,
            recommend::Weights::default(),
            20,
            ("tr", "valid"),
        )
        .unwrap();
        let e = recommend::evaluate(&model, &valid, 20);
        let lat = recommend::measure_latency(&model, &valid, 20, 2000);
        println!(
            "{name}: recall {:.4} mrr {:.4} ndcg {:.4} cov {:.3} pop {:.3} n {} skipped {} | train {:.2}s total {:.1}s p50 {:.0}us p99 {:.0}us",
            e.metrics.recall,
            e.metrics.mrr,
            e.metrics.ndcg,
            e.metrics.coverage,
            e.metrics.popularity_bias,
            e.metrics.predictions,
            e.skipped_unknown_targets,
            model.summary.train_seconds,
            t.elapsed().as_secs_f64(),
            lat.p50_us,
            lat.p99_us
        );
        println!("   best {:?}", model.config.algorithm);
    }
}
