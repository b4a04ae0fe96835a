//! The `smartfunnel` binary end to end, as a user runs it.

mod generate_text;
mod recommend;
mod segments_and_next_purchase;
mod text;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative)
}

fn smartfunnel(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_smartfunnel")).args(args).output().expect("runs")
}

/// Runs a command that must succeed and print JSON.
fn json(args: &[&str]) -> Value {
    let out = smartfunnel(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn import_query_info_and_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sample = data("rees46_multicat_sample/2019-Oct-sample.csv");
    let first = json(&["import", "--lake", path(&lake), "--json", path(&sample)]);
    assert_eq!(
        (first["read"].as_u64(), first["imported"].as_u64(), first["version"].as_u64()),
        (Some(1000), Some(1000), Some(1))
    );
    let again = json(&["import", "--lake", path(&lake), "--json", path(&sample)]);
    assert_eq!(
        (again["imported"].as_u64(), again["already_in_lake"].as_u64()),
        (Some(0), Some(1000))
    );
    assert!(again["version"].is_null());

    let rows = json(&[
        "sql",
        "--lake",
        path(&lake),
        "--json",
        "SELECT event_type, count(*) AS n FROM events GROUP BY event_type ORDER BY event_type",
    ]);
    assert_eq!(
        rows,
        serde_json::json!([{"event_type":"add_to_cart","n":3},{"event_type":"purchase","n":10},{"event_type":"view","n":987}])
    );
    let empty = json(&[
        "sql",
        "--lake",
        path(&lake),
        "--json",
        "SELECT * FROM events WHERE user_id = 'nobody'",
    ]);
    assert_eq!(empty, serde_json::json!([]));

    let info = json(&["lake", "info", "--lake", path(&lake), "--json"]);
    assert_eq!(
        (info["events"].as_u64(), info["users"].as_u64(), info["version"].as_u64()),
        (Some(1000), Some(330), Some(1))
    );

    let text = smartfunnel(&["sql", "--lake", path(&lake), "SELECT count(*) AS n FROM events"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("| 1000 |"));
}

#[test]
fn a_corrupted_file_imports_its_good_rows_and_exits_normally() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("broken.csv");
    let good = std::fs::read(data("taobao_userbehavior_sample/UserBehavior.csv")).unwrap();
    let mut broken = good[..good.len() / 2].to_vec();
    broken.extend_from_slice(b"\ngarbage line\n1,2,3,pv,yesterday\n,2,3,pv,1511544070\n1,2,3,\xff\xfe,1511544070\n1,2268318,25");
    std::fs::write(&source, &broken).unwrap();
    let lake = dir.path().join("lake");
    let report =
        json(&["import", "--lake", path(&lake), "--format", "taobao", "--json", path(&source)]);
    let reasons = &report["quarantined_by_reason"];
    // The half-cut first row ends its line early: one more wrong column count.
    assert_eq!(reasons["wrong_column_count"].as_u64(), Some(2), "{report}");
    assert_eq!(reasons["bad_timestamp"].as_u64(), Some(1));
    assert_eq!(reasons["missing_user_id"].as_u64(), Some(1));
    assert_eq!(reasons["invalid_utf8"].as_u64(), Some(1));
    assert_eq!(reasons["truncated_line"].as_u64(), Some(1));
    let read = report["read"].as_u64().unwrap();
    assert_eq!(
        read,
        report["imported"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap() + 6
    );
    let quarantine = std::fs::read_to_string(lake.join("quarantine.jsonl")).unwrap();
    assert_eq!(quarantine.lines().count(), 6);
    assert!(quarantine.contains("\"raw\":\"garbage line\""));
}

#[test]
fn unusable_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some words\n").unwrap();
    let lake = dir.path().join("lake");
    let out = smartfunnel(&["import", "--lake", path(&lake), path(&text)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("notes.txt") && stderr.contains("--format"), "{stderr}");

    let out = smartfunnel(&["import", "--lake", path(&lake), "/no/such/file.csv"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.csv is not a file"));

    let out = smartfunnel(&["sql", "--lake", path(&dir.path().join("nowhere")), "SELECT 1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a smartfunnel lake"));
}

#[test]
fn generic_csv_with_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("export.csv");
    std::fs::write(
        &source,
        "ts,visitor,action,sku,amount\n1700000000,v1,view,a,\n1700000100,v1,purchase,a,9.99\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let report = json(&[
        "import",
        "--lake",
        path(&lake),
        "--map",
        "event_time=ts,user_id=visitor,event_type=action,item_id=sku,price=amount",
        "--json",
        path(&source),
    ]);
    assert_eq!(report["imported"].as_u64(), Some(2));
    let rows = json(&[
        "sql",
        "--lake",
        path(&lake),
        "--json",
        "SELECT CAST(event_time AS VARCHAR) AS t, price FROM events WHERE event_type = 'purchase'",
    ]);
    assert_eq!(rows[0]["price"].as_f64(), Some(9.99));
    assert!(rows[0]["t"].as_str().unwrap().starts_with("2023-11-14T22:15:00"), "{rows}");
}

#[test]
fn generate_is_deterministic_and_imports_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let generated = json(&[
        "generate",
        "--users",
        "300",
        "--days",
        "7",
        "--seed",
        "7",
        "--out",
        path(&a),
        "--json",
    ]);
    json(&[
        "generate",
        "--users",
        "300",
        "--days",
        "7",
        "--seed",
        "7",
        "--out",
        path(&b),
        "--json",
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let events = generated["events"].as_u64().unwrap();
    assert!(events > 1000, "{generated}");
    let lake = dir.path().join("lake");
    let report = json(&["import", "--lake", path(&lake), "--json", path(&a)]);
    assert_eq!((report["read"].as_u64(), report["quarantined"].as_u64()), (Some(events), Some(0)));
    // The generated stream holds no exact duplicates, so everything lands.
    assert_eq!(report["imported"].as_u64(), Some(events));

    let direct = dir.path().join("direct");
    let report = json(&[
        "generate",
        "--users",
        "300",
        "--days",
        "7",
        "--seed",
        "7",
        "--lake",
        path(&direct),
        "--json",
    ]);
    assert_eq!(report["imported"].as_u64(), Some(events));
}

#[test]
fn erase_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    json(&[
        "import",
        "--lake",
        path(&lake),
        "--json",
        path(&data("rees46_multicat_sample/2019-Oct-sample.csv")),
    ]);
    let erased = json(&["lake", "erase", "--lake", path(&lake), "--user", "541312140", "--json"]);
    assert!(erased["events_deleted"].as_u64().unwrap() > 0);
    let left = json(&[
        "sql",
        "--lake",
        path(&lake),
        "--json",
        "SELECT count(*) AS n FROM events WHERE user_id = '541312140'",
    ]);
    assert_eq!(left[0]["n"].as_u64(), Some(0));
}

#[test]
fn demo_writes_a_report_with_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let summary = json(&["demo", "--out", path(&out), "--users", "300", "--days", "7", "--json"]);
    assert_eq!(summary["reimport_added"].as_u64(), Some(0));
    assert!(summary["samples_quarantined"].as_u64().unwrap() >= 6);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for section in [
        "Overview",
        "Events per day",
        "Event mix",
        "Top categories",
        "Rhythm",
        "Data quality",
        "Erasure request",
        "The lake",
        "Purchase funnel",
        "The funnel in SQL",
        "Funnel breakdowns and variants",
        "Funnel correlation",
        "Retention",
        "Paths",
        "Lifecycle",
        "RFM segments",
        "Propensity models",
        "User features and tags",
        "Segments in words",
        "Behaviour segments (K-Means)",
        "Purchase propensity",
        "Churn risk",
        "Next purchase",
        "Mean predicted and actual days by decile",
        "Customer lifetime value",
        "Lifetime value on CDNOW, against lifetimes",
        "Recommendations for shoppers",
        "Next-click recommendations (YOOCHOOSE)",
        "Reviews: sentiment",
        "Reviews: aspects",
        "Reviews: topics",
        "Searches: intent",
    ] {
        assert!(html.contains(section), "report lacks {section}");
    }
    assert!(summary["text"]["skipped"].is_null(), "text step skipped: {}", summary["text"]);
    assert!(summary["text"]["queries_classified"].as_u64().unwrap() > 0);
    assert_eq!(summary["funnel"]["sql_engine_differences"].as_u64(), Some(0));
    assert!(summary["funnel"]["steps"][0][1].as_u64().unwrap() > 0);
    assert!(!html.contains("NaN"));
    assert!(summary["model"]["cv_roc_auc"].as_f64().unwrap() > 0.85);
    let next_purchase = &summary["next_purchase"];
    assert_eq!(next_purchase["out_of_time"].as_array().map(Vec::len), Some(3), "{next_purchase}");
    assert!(next_purchase["scored_users"].as_u64().unwrap() > 0);
    let segments = &summary["features"]["clustering"];
    assert!((2..=6).contains(&segments["clusters"].as_u64().unwrap()), "{segments}");
    assert!(html.contains("Users on the first two principal components"));
    // Without --generate every segment text comes from the template.
    let texts = &summary["segment_texts"];
    assert!(texts["texts"].as_u64().unwrap() >= 2, "{texts}");
    assert_eq!((texts["generated"].as_u64(), texts["rejected"].as_u64()), (Some(0), Some(0)));
    assert!(html.contains("written by"));
    // SASRec trained on the shop and was evaluated per shopper beside item-kNN.
    let sasrec = summary["recommend"]["shop_sasrec_recall"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&sasrec), "{sasrec}");
    assert!(html.contains("<td>sasrec (2 networks)</td>"), "the shop's table lacks sasrec");
}

/// A generated two-week shop in a fresh lake.
fn generated_lake(dir: &Path) -> PathBuf {
    let lake = dir.join("lake");
    json(&[
        "generate",
        "--users",
        "300",
        "--days",
        "14",
        "--seed",
        "7",
        "--lake",
        path(&lake),
        "--json",
    ]);
    lake
}

fn single_number(lake: &Path, sql: &str) -> u64 {
    json(&["sql", "--lake", path(lake), "--json", sql])[0]["n"].as_u64().unwrap()
}

#[test]
fn retention_and_lifecycle_agree_with_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    let users =
        single_number(&lake, "SELECT count(DISTINCT user_id) AS n FROM events WHERE NOT is_bot");

    let matrix = json(&["retention", "--lake", path(&lake), "--period", "day", "--json"]);
    let cohorts = matrix["cohorts"].as_array().unwrap();
    let sizes: u64 = cohorts.iter().map(|c| c["size"].as_u64().unwrap()).sum();
    assert_eq!(sizes, users, "every user is in exactly one cohort");
    for cohort in cohorts {
        assert_eq!(cohort["returning"][0]["rate"].as_f64(), Some(1.0), "{cohort}");
    }
    assert_eq!(matrix["spec"]["max_offset"].as_u64(), Some(8));

    // Whoever was active last period is either back (returning) or dormant now.
    let lifecycle = json(&["lifecycle", "--lake", path(&lake), "--period", "day", "--json"]);
    let periods = lifecycle["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 14);
    let count = |p: &Value, key: &str| p[key].as_i64().unwrap();
    let new_users: i64 = periods.iter().map(|p| count(p, "new")).sum();
    assert_eq!(new_users as u64, users);
    for pair in periods.windows(2) {
        let active_before =
            count(&pair[0], "new") + count(&pair[0], "returning") + count(&pair[0], "resurrected");
        assert_eq!(
            active_before,
            count(&pair[1], "returning") - count(&pair[1], "dormant"),
            "{pair:?}"
        );
    }

    let text = smartfunnel(&["retention", "--lake", path(&lake), "--cohort-event", "purchase"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("first purchase event") && text.contains("+0"), "{text}");
}

#[test]
fn paths_and_rfm_on_a_generated_shop() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());

    let paths =
        json(&["paths", "--lake", path(&lake), "--event", "add_to_cart", "--depth", "2", "--json"]);
    let sessions = paths["sessions"].as_u64().unwrap();
    assert!(sessions > 0);
    assert_eq!(paths["nodes"][0]["sessions"].as_u64(), Some(sessions));
    let links = paths["links"].as_array().unwrap();
    let from_anchor: u64 =
        links.iter().filter(|l| l["source"] == 0).map(|l| l["sessions"].as_u64().unwrap()).sum();
    assert_eq!(from_anchor, sessions, "every path takes one step from the anchor");
    assert!(paths["top_paths"].as_array().unwrap().len() <= 10);

    let buyers = single_number(
        &lake,
        "SELECT count(DISTINCT user_id) AS n FROM events WHERE NOT is_bot AND event_type = 'purchase'",
    );
    let csv = dir.path().join("customers.csv");
    let rfm = json(&["rfm", "--lake", path(&lake), "--per-customer", path(&csv), "--json"]);
    assert_eq!(rfm["customers"].as_u64(), Some(buyers));
    let segments = rfm["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 11);
    let in_segments: u64 = segments.iter().map(|s| s["customers"].as_u64().unwrap()).sum();
    assert_eq!(in_segments, buyers);
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows.lines().next(), Some("user_id,recency_days,frequency,monetary,r,f,m,segment"));
    assert_eq!(rows.lines().count() as u64, buyers + 1);

    let text = smartfunnel(&["rfm", "--lake", path(&lake), "--as-of", "2024-01-07"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("recency as of 2024-01-07 23:59:59 UTC")
    );
}

#[test]
fn features_with_labels_and_segments_on_a_generated_shop() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    let before = "event_time < TIMESTAMP '2024-01-10T00:00:00Z' AND NOT is_bot";
    let users = single_number(
        &lake,
        &format!("SELECT count(DISTINCT user_id) AS n FROM events WHERE {before}"),
    );
    let buyers_in_window = single_number(
        &lake,
        &format!(
            "SELECT count(DISTINCT user_id) AS n FROM events WHERE NOT is_bot \
             AND event_type = 'purchase' AND event_time >= TIMESTAMP '2024-01-10T00:00:00Z' \
             AND event_time < TIMESTAMP '2024-01-17T00:00:00Z' \
             AND user_id IN (SELECT user_id FROM events WHERE {before})"
        ),
    );
    let parquet = dir.path().join("train.parquet");
    let summary = json(&[
        "features",
        "--lake",
        path(&lake),
        "--as-of",
        "2024-01-10",
        "--out",
        path(&parquet),
        "--label",
        "propensity",
        "--horizon",
        "7d",
        "--json",
    ]);
    assert_eq!(summary["users"].as_u64(), Some(users));
    assert_eq!(summary["as_of"].as_str(), Some("2024-01-10T00:00:00Z"));
    // The fixed features plus a share for each top-level category (at most 12).
    let categories = single_number(
        &lake,
        &format!(
            "SELECT count(DISTINCT split_part(category, '.', 1)) AS n FROM events WHERE {before} \
             AND event_type IN ('view', 'add_to_cart', 'purchase')"
        ),
    );
    let expected_features = features::FEATURES.len() as u64 + categories.min(12);
    assert_eq!(summary["features"].as_u64(), Some(expected_features), "{summary}");
    assert_eq!(summary["label"]["positives"].as_u64(), Some(buyers_in_window));
    // The shop ends on 2024-01-14, before the window [01-10, 01-17) does.
    assert_eq!(summary["label"]["horizon_covered"].as_bool(), Some(false));
    assert!(std::fs::metadata(&parquet).unwrap().len() > 0);

    let out = dir.path().join("segments");
    let segments = json(&[
        "segment",
        "--lake",
        path(&lake),
        "--as-of",
        "2024-01-10",
        "--out",
        path(&out),
        "--json",
    ]);
    assert_eq!(segments["users"].as_u64(), Some(users));
    let profiles = segments["profiles"].as_array().unwrap();
    let in_profiles: u64 = profiles.iter().map(|p| p["users"].as_u64().unwrap()).sum();
    assert_eq!(in_profiles, users);
    let rows = std::fs::read_to_string(out.join("users.csv")).unwrap();
    assert_eq!(rows.lines().next(), Some("user_id,segment,tags"));
    assert_eq!(rows.lines().count() as u64, users + 1);
    let profile_rows = std::fs::read_to_string(out.join("profiles.csv")).unwrap();
    assert_eq!(profile_rows.lines().count(), profiles.len() + 1);

    let text = smartfunnel(&[
        "features",
        "--lake",
        path(&lake),
        "--out",
        path(&parquet),
        "--label",
        "churn",
    ]);
    assert!(!text.status.success(), "--label without --horizon must be refused");
}

#[test]
fn analysis_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let lake = generated_lake(dir.path());
    for (args, message) in [
        (vec!["retention", "--period", "fortnight"], "unknown period \"fortnight\""),
        (vec!["paths", "--depth", "0"], "path depth must be at least 1"),
        (vec!["paths", "--direction", "sideways"], "expected next or previous"),
        (vec!["rfm", "--as-of", "yesterday"], "neither a date"),
    ] {
        let mut args = args;
        args.extend(["--lake", path(&lake)]);
        let out = smartfunnel(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn funnel_on_the_rees46_sample_agrees_with_sql_window_funnel() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sample = data("rees46_multicat_sample/2019-Oct-sample.csv");
    json(&["import", "--lake", path(&lake), "--json", path(&sample)]);
    let levels = dir.path().join("levels.csv");
    let funnel = json(&[
        "funnel",
        "--lake",
        path(&lake),
        "--steps",
        "view,purchase",
        "--window",
        "1d",
        "--per-user",
        path(&levels),
        "--json",
    ]);
    let entered: Vec<u64> = funnel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["entered"].as_u64().unwrap())
        .collect();
    let by_sql = json(&[
        "sql",
        "--lake",
        path(&lake),
        "--json",
        "SELECT sum(CASE WHEN l >= 1 THEN 1 ELSE 0 END) AS one, sum(CASE WHEN l >= 2 THEN 1 ELSE 0 END) AS two, count(*) AS users \
         FROM (SELECT user_id, window_funnel(86400, event_time, event_type = 'view', event_type = 'purchase') AS l FROM events GROUP BY user_id)",
    ]);
    assert_eq!(entered, [by_sql[0]["one"].as_u64().unwrap(), by_sql[0]["two"].as_u64().unwrap()]);
    assert!(entered[1] > 0 && entered[1] <= 10, "the sample has 10 purchases: {entered:?}");
    // Every user of the sample is in the per-user file (330 users).
    let text = std::fs::read_to_string(&levels).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "user_id,level");
    assert_eq!(lines.len() as u64 - 1, by_sql[0]["users"].as_u64().unwrap());
    assert_eq!(lines.len() - 1, 330);
    let converted = lines[1..].iter().filter(|line| line.ends_with(",2")).count() as u64;
    assert_eq!(converted, entered[1]);

    // A step that is not valid SQL is refused with the reason, and nothing is written.
    let out = smartfunnel(&["funnel", "--lake", path(&lake), "--step", "no_such_column > 1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_column"), "{stderr}");
    let out =
        smartfunnel(&["funnel", "--lake", path(&lake), "--steps", "view", "--window", "7 parsecs"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unit"));
}

#[test]
fn a_closed_stdout_stops_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sample = data("rees46_multicat_sample/2019-Oct-sample.csv");
    assert!(smartfunnel(&["import", "--lake", path(&lake), "-q", path(&sample)]).status.success());
    // Like `smartfunnel sql … | head -0`: the reader is gone before anything is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smartfunnel"))
        .args(["sql", "--lake", path(&lake), "SELECT * FROM events"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// The first `rows` sessions of the online shoppers fixture, with an id column added.
fn shoppers_sample(dir: &Path, rows: usize, with_target: bool) -> PathBuf {
    let text = std::fs::read_to_string(data("online_shoppers/online_shoppers_train.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().take(rows + 1).enumerate() {
        let line = if with_target { line } else { line.rsplit_once(',').unwrap().0 };
        let id = if i == 0 { "session".to_string() } else { format!("s{i}") };
        out.push_str(&format!("{id},{line}\n"));
    }
    let file = dir.join(if with_target { "train.csv" } else { "score.csv" });
    std::fs::write(&file, out).unwrap();
    file
}

#[test]
fn model_train_predict_explain() {
    let dir = tempfile::tempdir().unwrap();
    let train = shoppers_sample(dir.path(), 1500, true);
    let model = dir.path().join("model");
    let summary = json(&[
        "model",
        "train",
        "--data",
        path(&train),
        "--target",
        "Revenue",
        "--id",
        "session",
        "--model",
        "tree",
        "--folds",
        "3",
        "--out",
        path(&model),
        "--json",
    ]);
    assert_eq!(summary["family"], "tree");
    assert_eq!(summary["families"][0]["fold_roc_auc"].as_array().unwrap().len(), 3);
    assert!(summary["metrics"]["roc_auc"].as_f64().unwrap() > 0.8, "{summary}");
    assert_eq!(summary["metrics"]["deciles"].as_array().unwrap().len(), 10);
    assert_eq!(summary["importance"][0]["column"], "PageValues");

    // Scoring needs no target; ids come back in input order.
    let score = shoppers_sample(dir.path(), 20, false);
    let scores = dir.path().join("scores.csv");
    let predicted = json(&[
        "model",
        "predict",
        "--model",
        path(&model),
        "--data",
        path(&score),
        "--out",
        path(&scores),
        "--json",
    ]);
    assert_eq!(predicted["rows"].as_u64(), Some(20));
    let written = std::fs::read_to_string(&scores).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 21);
    assert_eq!(lines[0], "session,score");
    assert!(lines[1].starts_with("s1,") && lines[20].starts_with("s20,"));

    let explained = json(&[
        "model",
        "explain",
        "--model",
        path(&model),
        "--data",
        path(&score),
        "--row",
        "3",
        "--json",
    ]);
    let row = &explained["row"];
    assert_eq!(row["method"], "tree_shap");
    let total: f64 = row["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    assert!((row["base"].as_f64().unwrap() + total - row["output"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn model_bad_input_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    std::fs::write(&train, "x,label\n1,1\n2,0\n3,yes\n").unwrap();
    let out = smartfunnel(&[
        "model",
        "train",
        "--data",
        path(&train),
        "--target",
        "label",
        "--out",
        path(dir.path()),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train.csv, line 4, column \"label\""), "{stderr}");

    let out = smartfunnel(&[
        "model",
        "predict",
        "--model",
        path(&dir.path().join("missing")),
        "--data",
        path(&train),
        "--out",
        path(&dir.path().join("p.csv")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.json"));
}

#[test]
fn clv_on_cdnow_matches_lifetimes_and_writes_every_customer() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("customers.csv");
    let cdnow = data("cdnow/CDNOW_master.txt");
    let result = json(&[
        "clv",
        "--format",
        "cdnow",
        "--data",
        path(&cdnow),
        "--calibration-end",
        "1997-09-30",
        "--observation-end",
        "1998-06-30",
        "--top",
        "3",
        "--out",
        path(&out),
        "--json",
    ]);
    // lifetimes 0.11.3 on the same log (bench/clv_peers.py), to four decimals.
    for (model, name, want) in [
        ("bgnbd", "r", 0.2516),
        ("bgnbd", "alpha", 4.7889),
        ("bgnbd", "a", 0.7234),
        ("bgnbd", "b", 2.1611),
        ("gamma_gamma", "p", 6.2754),
        ("gamma_gamma", "q", 3.6245),
        ("gamma_gamma", "v", 14.9837),
    ] {
        let got = result[model]["params"][name].as_f64().unwrap();
        assert!((got - want).abs() <= 0.01 * want, "{model} {name}: {got} vs {want}");
    }
    assert_eq!(result["customers"].as_u64(), Some(23_570));
    assert_eq!(result["top_customers"].as_array().unwrap().len(), 3);
    let holdout = &result["holdout"];
    assert_eq!(holdout["actual_total"].as_f64(), Some(19_684.0));
    assert!(holdout["mae"].as_f64().unwrap() < 0.8188);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.starts_with("customer,frequency,recency,T,monetary,p_alive,expected_purchases"));
    assert_eq!(csv.lines().count(), 23_571);
}

#[test]
fn clv_names_a_bad_line_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    std::fs::write(&log, " 00001 19970101  1   11.77\n 00002 1997x101  1   1.00\n").unwrap();
    let out = smartfunnel(&[
        "clv",
        "--format",
        "cdnow",
        "--data",
        path(&log),
        "--calibration-end",
        "1997-09-30",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: date \"1997x101\""), "{stderr}");
}

#[test]
fn cluster_kmeans_finds_three_groups_in_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("points.csv");
    let mut text = String::from("x,y\n");
    for (cx, cy) in [(0.0, 0.0), (10.0, 10.0), (-10.0, 10.0)] {
        for i in 0..20 {
            let offset = (i as f64 - 10.0) / 40.0;
            text.push_str(&format!("{},{}\n", cx + offset, cy - offset));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let result = json(&["cluster", "kmeans", "--data", path(&csv), "--k", "3", "--json"]);
    let mut sizes: Vec<u64> =
        result["cluster_sizes"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![20, 20, 20]);
    assert_eq!(result["rows"].as_u64(), Some(60));
    assert!(result["silhouette"].as_f64().unwrap() > 0.9);
}

fn text_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../text/tests/data").join(name)
}

#[test]
fn text_train_and_predict_keep_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let reviews = text_fixture("reviews_sample.csv");
    let model = dir.path().join("sentiment");
    // Character n-grams only: no transformer weights needed.
    let trained = json(&[
        "text",
        "train",
        "--task",
        "sentiment",
        "--data",
        path(&reviews),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        path(&model),
        "--no-embeddings",
        "--json",
    ]);
    let cv = &trained["cross_validation"];
    assert_eq!((cv["rows"].as_u64(), cv["folds"].as_u64()), (Some(600), Some(5)));
    assert!(cv["accuracy"].as_f64().unwrap() > 0.7, "{cv}");
    assert!(trained["encoder"].is_null());

    let preds = dir.path().join("preds.csv");
    let predicted = json(&[
        "text",
        "predict",
        "--model",
        path(&model),
        "--data",
        path(&reviews),
        "--text-col",
        "text",
        "--out",
        path(&preds),
        "--json",
    ]);
    assert_eq!(predicted["rows"].as_u64(), Some(600));
    let input = std::fs::read_to_string(&reviews).unwrap();
    let output = std::fs::read_to_string(&preds).unwrap();
    let mut reader = csv_rows(&output);
    assert_eq!(reader.remove(0), ["lang", "label", "text", "score", "label"]);
    let originals = csv_rows(&input);
    assert_eq!(reader.len(), originals.len() - 1);
    for (row, original) in reader.iter().zip(&originals[1..]) {
        assert_eq!(&row[..3], &original[..], "input columns kept, in input order");
        let score: f64 = row[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert_eq!(row[4], if score >= 0.5 { "1" } else { "0" });
    }
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

#[test]
fn text_commands_name_the_fetch_command_when_weights_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let reviews = text_fixture("reviews_sample.csv");
    let out = smartfunnel(&[
        "text",
        "embed",
        "--data",
        path(&reviews),
        "--text-col",
        "text",
        "--out",
        path(&dir.path().join("e.npy")),
        "--models-dir",
        path(dir.path()),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("smartfunnel models fetch"), "{stderr}");

    let bad_label = dir.path().join("bad.csv");
    std::fs::write(&bad_label, "text,label\ngood,1\nbad,maybe\n").unwrap();
    let out = smartfunnel(&[
        "text",
        "train",
        "--task",
        "sentiment",
        "--data",
        path(&bad_label),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        path(&dir.path().join("m")),
        "--no-embeddings",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("bad.csv:3") && stderr.contains("maybe"),
        "{stderr}"
    );
}
