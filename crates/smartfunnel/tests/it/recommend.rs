//! `smartfunnel recommend train|next|evaluate|user` end to end.

use serde_json::Value;

use crate::{data, json, path, smartfunnel};

fn yoochoose(split: &str) -> String {
    data(&format!("yoochoose_100k/yoochoose-clicks-100k_{split}.txt")).display().to_string()
}

/// `recommend train` on YOOCHOOSE train_tr with `extra` arguments, as JSON.
fn train_on_yoochoose(model: &std::path::Path, algo: &str, extra: &[&str]) -> Value {
    let train = yoochoose("train_tr");
    let mut args =
        vec!["recommend", "train", "--data", &train, "--format", "yoochoose", "--algo", algo];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", path(model), "--json"]);
    json(&args)
}

#[test]
fn train_next_and_evaluate_on_yoochoose() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let trained = train_on_yoochoose(
        &model,
        "item-knn",
        &["--param", "sequential=true", "--param", "history_decay=0.5"],
    );
    assert_eq!(trained["config"]["algorithm"]["name"], "item-knn");
    assert_eq!(trained["config"]["algorithm"]["sequential"], true);
    assert_eq!(trained["summary"]["interactions"], 53_254);
    // The hyper-parameters are saved with the model.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    assert_eq!(saved["config"]["algorithm"]["history_decay"], 0.5);

    let evaluation = json(&[
        "recommend",
        "evaluate",
        "--model",
        path(&model),
        "--test",
        &yoochoose("train_valid"),
        "--format",
        "yoochoose",
        "--k",
        "20",
        "--latency-queries",
        "50",
        "--json",
    ]);
    let metrics = &evaluation["metrics"];
    // 16,539 clicks in 4,084 sessions: 12,455 next clicks, all on items seen in training.
    assert_eq!(metrics["predictions"], 12_455);
    assert_eq!(evaluation["skipped_unknown_targets"], 0);
    let recall = metrics["recall"].as_f64().unwrap();
    assert!(recall > 0.3 && recall <= 1.0, "{recall}");
    assert!(metrics["mrr"].as_f64().unwrap() < recall);
    assert_eq!(evaluation["latency"]["queries"], 50);

    // next: one line per session and prefix, ids as numbers as in the file.
    let sessions = dir.path().join("sessions.txt");
    std::fs::write(&sessions, "SessionId\tItemId\tTime\n7\t214826835\t1.0\n7\t214826835\t2.0\n7\t999\t3.0\n9\t214716935\t1.0\n").unwrap();
    let predictions = dir.path().join("preds.jsonl");
    let summary = json(&[
        "recommend",
        "next",
        "--model",
        path(&model),
        "--sessions",
        path(&sessions),
        "--format",
        "yoochoose",
        "--k",
        "5",
        "--out",
        path(&predictions),
        "--json",
    ]);
    assert_eq!(summary["predictions"], 4);
    let lines: Vec<Value> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| (l["session_id"].as_u64().unwrap(), l["position"].as_u64().unwrap()))
        .collect();
    assert_eq!(keys, [(7, 1), (7, 2), (7, 3), (9, 1)]);
    assert!(
        lines.iter().all(|l| l["items"].as_array().unwrap().len() == 5 && l["items"][0].is_u64())
    );
}

#[test]
fn tuning_records_its_trials_on_the_validation_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    // The first 2,000 validation clicks keep this debug-mode test quick.
    let text = std::fs::read_to_string(yoochoose("train_valid")).unwrap();
    let valid = dir.path().join("valid-head.txt");
    std::fs::write(&valid, text.lines().take(2_001).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let trained = train_on_yoochoose(&model, "user-knn", &["--tune", path(&valid)]);
    let trials = trained["tuning"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    assert!(trained["tuning"]["validation"].as_str().unwrap().ends_with("valid-head.txt"));
}

/// The first `lines` clicks of a YOOCHOOSE split, written into `dir`.
fn yoochoose_head(dir: &std::path::Path, split: &str, lines: usize) -> std::path::PathBuf {
    let text = std::fs::read_to_string(yoochoose(split)).unwrap();
    let file = dir.join(format!("{split}-head.txt"));
    std::fs::write(&file, text.lines().take(lines + 1).collect::<Vec<_>>().join("\n") + "\n")
        .unwrap();
    file
}

#[test]
fn sasrec_trains_an_ensemble_with_one_network_file_and_record_each() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ensemble");
    let train = yoochoose_head(dir.path(), "train_tr", 2_000);
    let trained = json(&[
        "recommend",
        "train",
        "--data",
        path(&train),
        "--format",
        "yoochoose",
        "--algo",
        "sasrec",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--max-len",
        "5",
        "--param",
        "blocks=1",
        "--param",
        "members=2",
        "--out",
        path(&model),
        "--json",
    ]);
    assert_eq!(trained["config"]["algorithm"]["members"], 2);
    assert_eq!(trained["other_members"].as_array().unwrap().len(), 1);
    assert!(model.join("sasrec.safetensors").is_file());
    assert!(model.join("sasrec-1.safetensors").is_file());
}

#[test]
fn sasrec_trains_chooses_its_epoch_on_validation_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sasrec");
    // Small slices and a small network keep this debug-mode test to seconds.
    let train = yoochoose_head(dir.path(), "train_tr", 4_000);
    let valid = yoochoose_head(dir.path(), "train_valid", 1_000);
    let trained = json(&[
        "recommend",
        "train",
        "--data",
        path(&train),
        "--format",
        "yoochoose",
        "--algo",
        "sasrec",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--max-len",
        "10",
        "--param",
        "blocks=1",
        "--tune",
        path(&valid),
        "--out",
        path(&model),
        "--json",
    ]);
    assert_eq!(trained["config"]["algorithm"]["name"], "sasrec");
    assert_eq!(trained["config"]["algorithm"]["hidden"], 16);
    assert_eq!(trained["summary"]["interactions"], 4_000);
    let epochs = trained["training"]["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    let best = &epochs[trained["training"]["best_epoch"].as_u64().unwrap() as usize];
    // The hyper-parameters and the training record are saved with the model.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    assert_eq!(saved["config"]["algorithm"]["max_len"], 10);
    assert_eq!(saved["training"]["validation"], path(&valid));

    let evaluation = json(&[
        "recommend",
        "evaluate",
        "--model",
        path(&model),
        "--test",
        path(&valid),
        "--format",
        "yoochoose",
        "--k",
        "20",
        "--latency-queries",
        "20",
        "--json",
    ]);
    assert_eq!(evaluation["algorithm"], "sasrec");
    // The kept epoch's validation recall is what `evaluate` measures on the same file.
    assert_eq!(evaluation["metrics"]["recall"], best["validation_recall"]);
    // 1,000 clicks in 263 sessions: 737 next clicks, of which 242 are on items the first
    // 4,000 training clicks never show.
    assert_eq!(evaluation["metrics"]["predictions"], 495);
    assert_eq!(evaluation["skipped_unknown_targets"], 242);
    assert_eq!(evaluation["latency"]["queries"], 20);

    let predictions = dir.path().join("preds.jsonl");
    let summary = json(&[
        "recommend",
        "next",
        "--model",
        path(&model),
        "--sessions",
        path(&valid),
        "--format",
        "yoochoose",
        "--k",
        "3",
        "--out",
        path(&predictions),
        "--json",
    ]);
    assert_eq!(summary["predictions"], 1_000);
    let session = std::fs::read_to_string(model.join("base/users.txt")).unwrap();
    let user = session.lines().next().unwrap();
    let list = json(&["recommend", "user", "--model", path(&model), "--user", user, "--json"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 10);
}

#[test]
fn user_recommendations_from_a_lake_with_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let lake = crate::generated_lake(dir.path());
    let model = dir.path().join("model");
    json(&[
        "recommend",
        "train",
        "--format",
        "lake",
        "--lake",
        path(&lake),
        "--until",
        "2024-01-11",
        "--algo",
        "item-knn",
        "--out",
        path(&model),
        "--json",
    ]);
    let user = std::fs::read_to_string(model.join("users.txt"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let list = json(&[
        "recommend",
        "user",
        "--model",
        path(&model),
        "--user",
        &user,
        "--k",
        "5",
        "--json",
    ]);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let evaluation = json(&[
        "recommend",
        "evaluate",
        "--model",
        path(&model),
        "--format",
        "lake",
        "--lake",
        path(&lake),
        "--from",
        "2024-01-11",
        "--protocol",
        "user",
        "--k",
        "10",
        "--json",
    ]);
    assert!(evaluation["metrics"]["predictions"].as_u64().unwrap() > 0);
}

#[test]
fn recommend_input_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = smartfunnel(&[
        "recommend",
        "train",
        "--data",
        &yoochoose("train_tr"),
        "--format",
        "yoochoose",
        "--algo",
        "item-knn",
        "--param",
        "neighbors=5",
        "--out",
        path(&dir.path().join("m")),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no hyper-parameter \"neighbors\""), "{stderr}");
    // ALS's width is `factors`; SASRec's is `hidden`.
    let out = smartfunnel(&[
        "recommend",
        "train",
        "--data",
        &yoochoose("train_tr"),
        "--format",
        "yoochoose",
        "--algo",
        "sasrec",
        "--factors",
        "8",
        "--out",
        path(&dir.path().join("m")),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sasrec has no hyper-parameter \"factors\""), "{stderr}");
    // Tuning on the lake would validate on the training data itself.
    let out = smartfunnel(&[
        "recommend",
        "train",
        "--format",
        "lake",
        "--lake",
        path(dir.path()),
        "--algo",
        "item-knn",
        "--tune",
        &yoochoose("train_valid"),
        "--out",
        path(&dir.path().join("m")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tune takes a validation file"));
    let out = smartfunnel(&["recommend", "user", "--model", path(dir.path()), "--user", "u"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loading the model"));
}
