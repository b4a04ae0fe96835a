//! The lake end to end: real samples in, SQL out, idempotent re-imports,
//! quarantine, erasure.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use ingest::ImportOptions;
use lake::{ImportReport, Lake};

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(relative)
}

async fn import(lake: &mut Lake, files: &[PathBuf]) -> ImportReport {
    let options = ImportOptions::new(lake.root().join(".staging"));
    lake::import_files(lake, files, options, &mut |_| {}).await.unwrap()
}

fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    lake::text_rows(batches)
        .unwrap()
        .into_iter()
        .map(|row| row.into_iter().map(|cell| cell.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

async fn query(lake: &Lake, sql: &str) -> Vec<Vec<String>> {
    cells(&lake.sql(sql).await.unwrap())
}

#[tokio::test]
async fn rees46_sample_lands_with_canonical_names_and_reimport_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = Lake::open_or_create(dir.path()).await.unwrap();
    assert_eq!(lake.version(), 0);
    let file = data("rees46_multicat_sample/2019-Oct-sample.csv");
    let first = import(&mut lake, std::slice::from_ref(&file)).await;
    assert_eq!((first.summary.imported, first.version), (1000, Some(1)));
    let got = query(
        &lake,
        "SELECT event_type, count(*) FROM events GROUP BY event_type ORDER BY event_type",
    )
    .await;
    assert_eq!(got, vec![vec!["add_to_cart", "3"], vec!["purchase", "10"], vec!["view", "987"]]);

    let again = import(&mut lake, &[file]).await;
    assert_eq!(
        (again.summary.imported, again.summary.already_in_lake, again.version),
        (0, 1000, None)
    );
    assert_eq!(lake.version(), 1, "a re-import commits nothing");
    assert_eq!(query(&lake, "SELECT count(*) FROM events").await, vec![vec!["1000"]]);

    // A fresh handle sees the same table.
    let reopened = Lake::open(dir.path()).await.unwrap();
    let info = reopened.info().await.unwrap();
    assert_eq!((info.events, info.users, info.sessions), (1000, 330, 372));
    assert_eq!(info.first_date.as_deref(), Some("2019-10-01"));
    assert_eq!(info.history.len(), 2);
}

#[tokio::test]
async fn cdnow_customers_and_overlapping_imports() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = Lake::open_or_create(dir.path()).await.unwrap();
    let report = import(&mut lake, &[data("cdnow/CDNOW_master.txt")]).await;
    assert_eq!(report.summary.read, 69_659);
    assert_eq!(
        query(&lake, "SELECT count(DISTINCT user_id) FROM events").await,
        vec![vec!["23570"]]
    );
    let revenue = query(&lake, "SELECT round(sum(price * quantity), 2) FROM events").await;
    // PROVENANCE.md total 2,500,315.63 minus the 255 exact-duplicate rows.
    let revenue: f64 = revenue[0][0].parse().unwrap();
    assert!(revenue < 2_500_315.63 && revenue > 2_480_000.0, "{revenue}");
}

#[tokio::test]
async fn corrupted_rows_go_to_the_quarantine_file_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("bad.csv");
    let good = std::fs::read_to_string(data("rees46_multicat_sample/2019-Oct-sample.csv")).unwrap();
    let mut lines: Vec<&str> = good.lines().take(11).collect();
    lines.insert(5, "garbage");
    lines.insert(8, "2019-10-01 99:00:00 UTC,view,1,2,,b,1.0,5,s");
    std::fs::write(&source, lines.join("\n") + "\n").unwrap();
    let mut lake = Lake::open_or_create(dir.path().join("lake")).await.unwrap();
    let report = import(&mut lake, &[source]).await;
    assert_eq!((report.summary.imported, report.summary.quarantined), (10, 2));
    let quarantine = std::fs::read_to_string(lake.quarantine_path()).unwrap();
    let rows: Vec<serde_json::Value> =
        quarantine.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reasons: Vec<(u64, &str)> =
        rows.iter().map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap())).collect();
    assert_eq!(reasons, vec![(6, "wrong_column_count"), (9, "bad_timestamp")]);
    assert!(rows[0]["source_file"].as_str().unwrap().ends_with("bad.csv"));
    assert_eq!(rows[0]["raw"], "garbage");
}

#[tokio::test]
async fn erasure_removes_a_users_events_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = Lake::open_or_create(dir.path()).await.unwrap();
    import(&mut lake, &[data("taobao_userbehavior_sample/UserBehavior.csv")]).await;
    let before =
        query(&lake, "SELECT count(*) FROM events WHERE user_id = '1'").await[0][0].clone();
    assert_ne!(before, "0");
    let report = lake.erase_user("1").await.unwrap();
    assert_eq!(report.events_deleted.to_string(), before);
    assert!(report.files_vacuumed > 0, "old files are physically gone: {report:?}");
    assert_eq!(
        query(&lake, "SELECT count(*) FROM events WHERE user_id = '1'").await,
        vec![vec!["0"]]
    );
    assert_eq!(
        query(&lake, "SELECT count(*) FROM events").await[0][0],
        (4321 - before.parse::<u64>().unwrap()).to_string()
    );
    let nobody = lake.erase_user("no such user").await.unwrap();
    assert_eq!(nobody.events_deleted, 0);
}

#[tokio::test]
async fn opening_a_directory_without_a_lake_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let error = Lake::open(dir.path()).await.unwrap_err().to_string();
    assert!(error.contains("is not a smartfunnel lake"), "{error}");
}

#[tokio::test]
async fn sql_errors_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open_or_create(dir.path()).await.unwrap();
    let error = lake.sql("SELECT nope FROM events").await.unwrap_err();
    assert!(matches!(error, lake::LakeError::Query(_)), "{error}");
}

#[tokio::test]
async fn the_log_is_plain_delta_that_other_readers_accept() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = Lake::open_or_create(dir.path()).await.unwrap();
    import(&mut lake, &[data("rees46_multicat_sample/2019-Oct-sample.csv")]).await;
    let log =
        std::fs::read_to_string(dir.path().join("events/_delta_log/00000000000000000000.json"))
            .unwrap();
    let protocol = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|v| v.get("protocol").cloned())
        .unwrap();
    assert_eq!(protocol["minReaderVersion"], 1);
    assert!(protocol["minWriterVersion"].as_u64().unwrap() <= 2, "{protocol}");
    // Partition directories as Spark lays them out.
    assert!(dir.path().join("events/event_date=2019-10-01").is_dir());
}

#[tokio::test]
async fn generated_events_round_trip_through_csv_and_the_lake_field_by_field() {
    use generator::{CsvEventWriter, Generator, GeneratorConfig};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("shop.csv");
    let mut writer = CsvEventWriter::new(std::fs::File::create(&csv).unwrap()).unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for day in Generator::new(GeneratorConfig::new(200, 3, 11)).unwrap() {
        writer.write_all(&day).unwrap();
        for event in day {
            expected.insert(event.content_id(), event);
        }
    }
    writer.finish().unwrap();
    let mut lake = Lake::open_or_create(dir.path().join("lake")).await.unwrap();
    let report = import(&mut lake, &[csv]).await;
    assert_eq!(report.summary.imported as usize, expected.len());
    let rows = query(
        &lake,
        "SELECT event_id, CAST(event_time AS VARCHAR), user_id, event_type, item_id, category, brand, \
                CAST(price AS VARCHAR), CAST(quantity AS VARCHAR), order_id, search_query, review_text, \
                CAST(rating AS VARCHAR), device, country, session_id FROM events",
    )
    .await;
    assert_eq!(rows.len(), expected.len());
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    let number = |v: Option<f64>| v.map_or("NULL".to_string(), |n| n.to_string());
    for row in rows {
        let event =
            expected.get(&row[0]).unwrap_or_else(|| panic!("id {} was not generated", row[0]));
        let time = event.event_time.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        assert!(
            row[1].starts_with(time.trim_end_matches('0').trim_end_matches('.')),
            "{} vs {time}",
            row[1]
        );
        let got = &row[2..];
        let want = [
            event.user_id.clone(),
            event.event_type.to_string(),
            text(&event.item_id),
            text(&event.category),
            text(&event.brand),
            number(event.price),
            event.quantity.map_or("NULL".into(), |q| q.to_string()),
            text(&event.order_id),
            text(&event.search_query),
            text(&event.review_text),
            number(event.rating),
            text(&event.device),
            text(&event.country),
        ];
        assert_eq!(&got[..13], &want[..], "event {}", row[0]);
        if let Some(session) = &event.session_id {
            assert_eq!(&got[13], session);
        }
    }
}

fn insight(
    event_id: &str,
    user_id: &str,
    complaints: &str,
    topic: Option<i32>,
) -> lake::ReviewInsight {
    lake::ReviewInsight {
        event_id: event_id.into(),
        user_id: user_id.into(),
        item_id: Some("i1".into()),
        event_time_micros: 1_700_000_000_000_000,
        language: "zh".into(),
        sentiment_score: Some(0.25),
        sentiment_label: Some("negative".into()),
        aspects: r#"[{"aspect":"packaging","term":"包装","polarity":"negative","score":null,"clause":"包装破了"}]"#
            .into(),
        complaints: complaints.into(),
        praises: String::new(),
        topic,
        topic_label: topic.map(|_| "包装 物流".into()),
    }
}

#[tokio::test]
async fn review_insights_round_trip_are_replaced_whole_and_erased_with_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let mut lake = Lake::open_or_create(dir.path()).await.unwrap();
    import(&mut lake, &[data("taobao_userbehavior_sample/UserBehavior.csv")]).await;
    let no_table = lake.sql("SELECT count(*) FROM review_insights").await;
    assert!(no_table.is_err(), "no review_insights table before the first write");

    let first = [insight("e1", "1", "packaging", Some(0)), insight("e2", "2", "", None)];
    assert_eq!(lake.replace_review_insights(&first, Default::default()).await.unwrap(), 0);
    assert_eq!(
        query(
            &lake,
            "SELECT event_id, user_id, item_id, CAST(event_time AS VARCHAR), language, sentiment_score, \
             sentiment_label, aspects, complaints, praises, topic, topic_label FROM review_insights ORDER BY event_id"
        )
        .await,
        vec![
            vec![
                "e1", "1", "i1", "2023-11-14T22:13:20Z", "zh", "0.25", "negative",
                r#"[{"aspect":"packaging","term":"包装","polarity":"negative","score":null,"clause":"包装破了"}]"#,
                "packaging", "", "0", "包装 物流"
            ],
            vec![
                "e2", "2", "i1", "2023-11-14T22:13:20Z", "zh", "0.25", "negative",
                r#"[{"aspect":"packaging","term":"包装","polarity":"negative","score":null,"clause":"包装破了"}]"#,
                "", "", "NULL", "NULL"
            ],
        ]
    );
    // A second run replaces the table: no row of the first is left.
    let second = [insight("e3", "1", "delivery", Some(1))];
    assert_eq!(lake.replace_review_insights(&second, Default::default()).await.unwrap(), 1);
    assert_eq!(
        query(&lake, "SELECT event_id, complaints FROM review_insights").await,
        vec![vec!["e3", "delivery"]]
    );
    // Joined with the events in one session.
    assert_eq!(
        query(
            &lake,
            "SELECT count(*) FROM review_insights r JOIN events e ON e.user_id = r.user_id WHERE r.user_id = '1'"
        )
        .await,
        query(&lake, "SELECT count(*) FROM events WHERE user_id = '1'").await
    );
    let log = std::fs::read_to_string(
        dir.path().join("review_insights/_delta_log/00000000000000000000.json"),
    )
    .unwrap();
    assert!(log.contains(r#""minReaderVersion":1"#), "plain Delta: {log}");

    let report = lake.erase_user("1").await.unwrap();
    assert_eq!(report.insights_deleted, 1);
    assert_eq!(query(&lake, "SELECT count(*) FROM review_insights").await, vec![vec!["0"]]);
}
