use recommend::*;
use std::path::Path;
fn main() {
    let dir = Path::new("../../tests/data/yoochoose_100k");
    let train =
        read_file(&dir.join("yoochoose-clicks-100k_train_tr.txt"), Format::Yoochoose).unwrap();
    let valid =
        read_file(&dir.join("yoochoose-clicks-100k_train_valid.txt"), Format::Yoochoose).unwrap();
    let mut settings = vec![];
    for neighbours in [200, 500, 1000] {
        for sample in [500, 2000] {
            for match_decay in [1.0, 2.0, 3.0] {
                settings.push(Algorithm::Vsknn(NeighbourConfig {
                    neighbours,
                    sample,
                    match_decay,
                    position_decay: PositionDecay::Harmonic,
                    ..NeighbourConfig::vsknn()
                }));
            }
        }
    }
    let model = tune(&train, &valid, settings, Weights::default(), 20, ("a", "b")).unwrap();
    for t in &model.tuning.as_ref().unwrap().trials {
        if let Algorithm::Vsknn(c) = &t.algorithm {
            println!(
                "{} {} {} {:.4} {:.4}",
                c.neighbours, c.sample, c.match_decay, t.recall, t.mrr
            );
        }
    }
}
