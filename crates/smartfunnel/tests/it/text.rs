//! `text aspects`, `text topics`, `text enrich` and the feature table's text
//! columns, on the text crate's fixtures and a small hand-made shop whose
//! reviews are real review lines.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{csv_rows, json, path, text_fixture};

#[test]
fn text_aspects_writes_one_row_per_mention() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("reviews.csv");
    std::fs::write(
        &input,
        "id,review\n1,\"物流很快，但是包装破了\"\n2,no aspect here\n3,\"poor quality and service.\"\n",
    )
    .unwrap();
    let out = dir.path().join("mentions.csv");
    let summary = json(&[
        "text",
        "aspects",
        "--data",
        path(&input),
        "--text-col",
        "review",
        "--out",
        path(&out),
        "--json",
    ]);
    assert_eq!(
        (summary["rows"].as_u64(), summary["mentions"].as_u64(), summary["polarity_from"].as_str()),
        (Some(3), Some(4), Some("lexicon"))
    );
    let packaging =
        summary["aspects"].as_array().unwrap().iter().find(|a| a["aspect"] == "packaging");
    assert_eq!(packaging.unwrap()["negative_share"].as_f64(), Some(1.0));
    let rows = csv_rows(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(
        rows,
        [
            ["row", "aspect", "term", "polarity", "score", "clause"],
            ["0", "delivery", "物流", "positive", "", "物流很快"],
            ["0", "packaging", "包装", "negative", "", "但是包装破了"],
            ["2", "quality", "quality", "negative", "", "poor quality and service"],
            ["2", "service", "service", "negative", "", "poor quality and service"],
        ]
    );
}

#[test]
fn text_topics_writes_topics_and_assignments_and_compares_with_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("topics");
    let summary = json(&[
        "text",
        "topics",
        "--data",
        path(&text_fixture("topics_sample.csv")),
        "--text-col",
        "review",
        "--k",
        "3",
        "--vectors",
        "keywords",
        "--compare-col",
        "cat",
        "--out",
        path(&out),
        "--json",
    ]);
    assert_eq!((summary["rows"].as_u64(), summary["k"].as_u64()), (Some(24), Some(3)));
    let agreement = &summary["agreement"];
    for measure in ["purity", "nmi", "ari"] {
        assert!(
            agreement[measure].as_f64().is_some_and(|v| (-1.0..=1.0).contains(&v)),
            "{agreement}"
        );
    }
    let topics = csv_rows(&std::fs::read_to_string(out.join("topics.csv")).unwrap());
    assert_eq!(
        topics[0],
        [
            "topic",
            "size",
            "share",
            "keywords",
            "representative_1",
            "representative_2",
            "representative_3"
        ]
    );
    assert_eq!(topics.len(), 4);
    let sizes: Vec<u64> = topics[1..].iter().map(|t| t[1].parse().unwrap()).collect();
    assert_eq!(sizes.iter().sum::<u64>(), 24);
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest topic first: {sizes:?}");
    let assignments = csv_rows(&std::fs::read_to_string(out.join("assignments.csv")).unwrap());
    assert_eq!(assignments.len(), 25);
    assert_eq!(assignments[1][0], "0");
}

/// A shop of four users around the as-of time 2024-01-10: u1 reviews and
/// searches before it and again after it, u2 has no texts, u3 reviews and
/// searches before it, u4 exists only after it. The reviews are real lines
/// of the text crate's fixtures.
fn text_shop(dir: &Path) -> PathBuf {
    let csv = dir.join("shop.csv");
    let header = "event_time,user_id,session_id,event_type,item_id,category_id,category,brand,price,quantity,currency,order_id,search_query,review_text,rating,channel,device,country,properties";
    let event = |time: &str,
                 user: &str,
                 kind: &str,
                 item: &str,
                 query: &str,
                 review: &str,
                 rating: &str| {
        format!("{time},{user},,{kind},{item},,home.kitchen,,,,,,{query},{review},{rating},,,,\n")
    };
    let mut text = format!("{header}\n");
    text += &event("2024-01-02T10:00:00Z", "u1", "view", "i1", "", "", "");
    text +=
        &event("2024-01-03T10:00:00Z", "u1", "review", "i1", "", "\"物流很快，但是包装破了\"", "3");
    text += &event("2024-01-04T10:00:00Z", "u1", "search", "", "退货", "", "");
    text += &event("2024-01-05T10:00:00Z", "u2", "view", "i2", "", "", "");
    text += &event(
        "2024-01-06T10:00:00Z",
        "u3",
        "review",
        "i3",
        "",
        "\"Great product, fast shipping!.\"",
        "5",
    );
    text += &event("2024-01-06T11:00:00Z", "u3", "search", "", "iphone vs samsung", "", "");
    text += &event("2024-01-07T11:00:00Z", "u3", "search", "", "iphone vs samsung", "", "");
    // At and after the as-of time: none of these may reach the features.
    text +=
        &event("2024-01-10T00:00:00Z", "u1", "review", "i1", "", "质量很差，一次不开心的购物", "1");
    text += &event("2024-01-12T11:00:00Z", "u1", "search", "", "cheap laptop under 500", "", "");
    text += &event(
        "2024-01-12T12:00:00Z",
        "u4",
        "review",
        "i4",
        "",
        "\"Worst Customer Service Ever.\"",
        "1",
    );
    std::fs::write(&csv, text).unwrap();
    let lake = dir.join("lake");
    json(&["import", "--lake", path(&lake), "--json", path(&csv)]);
    lake
}

/// A sentiment model on character n-grams of the text fixture (no weights).
fn ngram_sentiment(dir: &Path) -> PathBuf {
    let model = dir.join("sentiment");
    json(&[
        "text",
        "train",
        "--task",
        "sentiment",
        "--data",
        path(&text_fixture("reviews_sample.csv")),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        path(&model),
        "--no-embeddings",
        "--json",
    ]);
    model
}

fn parquet_rows(file: &Path) -> Vec<serde_json::Map<String, Value>> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader;
    let reader =
        ParquetRecordBatchReader::try_new(std::fs::File::open(file).unwrap(), 1024).unwrap();
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.finish().unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&writer.into_inner()).unwrap();
    rows.into_iter().map(|row| row.as_object().unwrap().clone()).collect()
}

#[test]
fn features_text_columns_read_only_texts_before_the_as_of_time() {
    let dir = tempfile::tempdir().unwrap();
    let lake = text_shop(dir.path());
    let model = ngram_sentiment(dir.path());
    let parquet = dir.path().join("features.parquet");
    let summary = json(&[
        "features",
        "--lake",
        path(&lake),
        "--as-of",
        "2024-01-10",
        "--out",
        path(&parquet),
        "--text-model",
        path(&model),
        "--json",
    ]);
    let text = &summary["text"];
    assert_eq!(
        (text["reviews"].as_u64(), text["searches"].as_u64(), text["distinct_queries"].as_u64()),
        (Some(2), Some(3), Some(2)),
        "{summary}"
    );
    assert_eq!(
        summary["features"].as_u64(),
        Some(features::FEATURES.len() as u64 + 1 + 15),
        "one category share, the new text columns: {summary}"
    );
    let rows = parquet_rows(&parquet);
    let users: Vec<&str> = rows.iter().map(|r| r["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, ["u1", "u2", "u3"], "u4 has no event before the as-of time");

    // u1's sentiment is the score of its one review before the as-of time.
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "review\n\"物流很快，但是包装破了\"\n").unwrap();
    let scored = dir.path().join("scored.csv");
    json(&[
        "text",
        "predict",
        "--model",
        path(&model),
        "--data",
        path(&one),
        "--text-col",
        "review",
        "--out",
        path(&scored),
        "--json",
    ]);
    let score: f64 = csv_rows(&std::fs::read_to_string(&scored).unwrap())[1][1].parse().unwrap();
    let u1 = &rows[0];
    assert!((u1["review_sentiment"].as_f64().unwrap() - score).abs() < 1e-6, "{u1:?}");
    let negative = if score < 0.5 { 1.0 } else { 0.0 };
    assert_eq!(u1["negative_review_share"].as_f64(), Some(negative));
    // The review of 01-10 complains about quality; it is not before the as-of time.
    assert_eq!(u1["aspect_complaints_quality"].as_i64(), Some(0));
    // One search before the as-of time, and "退货" is an after-sales example.
    assert_eq!(u1["search_intent_after_sales"].as_f64(), Some(1.0), "{u1:?}");
    assert_eq!(u1["search_intent_price_driven"].as_f64(), Some(0.0));

    let u2 = &rows[1];
    for column in ["review_sentiment", "negative_review_share", "search_intent_comparison"] {
        assert!(u2.get(column).is_none_or(Value::is_null), "u2 {column}: {u2:?}");
    }
    for aspect in text::Aspect::ALL {
        assert_eq!(u2[&format!("aspect_complaints_{}", aspect.name())].as_i64(), Some(0));
    }
    let u3 = &rows[2];
    assert_eq!(u3["search_intent_comparison"].as_f64(), Some(1.0), "{u3:?}");
    assert!(u3["review_sentiment"].as_f64().is_some());

    let plain = dir.path().join("plain.parquet");
    json(&[
        "features",
        "--lake",
        path(&lake),
        "--as-of",
        "2024-01-10",
        "--out",
        path(&plain),
        "--json",
    ]);
    let plain_rows = parquet_rows(&plain);
    assert!(plain_rows.iter().all(|r| r.get("review_sentiment").is_none_or(Value::is_null)));
    assert!(plain_rows[0].get("negative_review_share").is_none());
}

fn sql(lake: &Path, query: &str) -> Vec<Value> {
    json(&["sql", "--lake", path(lake), "--json", query]).as_array().unwrap().clone()
}

#[test]
fn text_enrich_writes_review_insights_that_sql_reads_and_a_rerun_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let lake = text_shop(dir.path());
    let first = json(&["text", "enrich", "--lake", path(&lake), "--k", "2", "--json"]);
    assert_eq!(
        (first["reviews"].as_u64(), first["version"].as_u64(), first["topics"].as_u64()),
        (Some(4), Some(0), Some(2)),
        "{first}"
    );
    let rows = sql(
        &lake,
        "SELECT r.user_id, r.language, r.sentiment_score, r.complaints, r.praises, r.topic IS NOT NULL AS has_topic, \
         r.event_time = e.event_time AS same_time FROM review_insights r JOIN events e ON e.event_id = r.event_id \
         ORDER BY r.event_time",
    );
    let brief: Vec<(String, String, String, String, bool, bool)> = rows
        .iter()
        .map(|r| {
            assert!(r.get("sentiment_score").is_none_or(Value::is_null), "no model, no score: {r}");
            (
                r["user_id"].as_str().unwrap().to_owned(),
                r["language"].as_str().unwrap().to_owned(),
                r["complaints"].as_str().unwrap().to_owned(),
                r["praises"].as_str().unwrap().to_owned(),
                r["has_topic"].as_bool().unwrap(),
                r["same_time"].as_bool().unwrap(),
            )
        })
        .collect();
    let row = |user: &str, language: &str, complaints: &str, praises: &str| {
        (
            user.to_owned(),
            language.to_owned(),
            complaints.to_owned(),
            praises.to_owned(),
            true,
            true,
        )
    };
    assert_eq!(
        brief,
        [
            row("u1", "zh", "packaging", "delivery"),
            row("u3", "en", "", "delivery"),
            row("u1", "zh", "quality", ""),
            row("u4", "en", "service", ""),
        ]
    );

    let model = ngram_sentiment(dir.path());
    let second = json(&[
        "text",
        "enrich",
        "--lake",
        path(&lake),
        "--model",
        path(&model),
        "--no-topics",
        "--json",
    ]);
    assert_eq!((second["reviews"].as_u64(), second["version"].as_u64()), (Some(4), Some(1)));
    let rows = sql(
        &lake,
        "SELECT count(*) AS n, count(sentiment_score) AS scored, count(topic) AS topics FROM review_insights",
    );
    assert_eq!(rows, [serde_json::json!({"n": 4, "scored": 4, "topics": 0})]);
}
