//! The demo's recommendation sections: user-level recommendations on the demo lake
//! (time split, explanations for sample shoppers) and next-click metrics on the shipped
//! YOOCHOOSE fixture.

use std::path::Path;

use anyhow::Context as _;
use recommend::{
    Algorithm, Dataset, ItemKnnConfig, Metrics, Model, NeighbourConfig, PositionDecay, TrainConfig,
    UserFilter, Weights,
};
use report::{Section, Table, format_count, format_decimal, format_percent};
use sasrec::SasRecConfig;
use serde::Serialize;

/// The YOOCHOOSE 100k training and validation files (tests/data/yoochoose_100k).
const YOOCHOOSE_TRAIN: &[u8] =
    include_bytes!("../../../tests/data/yoochoose_100k/yoochoose-clicks-100k_train_tr.txt");
const YOOCHOOSE_VALID: &[u8] =
    include_bytes!("../../../tests/data/yoochoose_100k/yoochoose-clicks-100k_train_valid.txt");

/// What the demo prints about recommendations.
#[derive(Debug, Serialize)]
pub struct RecommendSummary {
    /// Recall@10 of the better shop model with explanations (item-kNN or popular) on the
    /// period's last quarter.
    pub shop_recall: f64,
    /// Recall@10 of the small SASRec on the same split.
    pub shop_sasrec_recall: f64,
    /// Recall@20 of V-SKNN on the YOOCHOOSE validation split.
    pub yoochoose_recall: f64,
}

fn metrics_row(name: &str, metrics: &Metrics, extra: &str) -> Vec<String> {
    vec![
        name.to_string(),
        format_decimal(metrics.recall, 3),
        format_decimal(metrics.mrr, 3),
        format_decimal(metrics.ndcg, 3),
        format_percent(metrics.coverage),
        format_decimal(metrics.popularity_bias, 3),
        format_count(metrics.predictions as f64),
        extra.to_string(),
    ]
}

fn metrics_table(k: usize, lists: &str) -> Table {
    Table::new([
        "algorithm".to_string(),
        format!("Recall@{k}"),
        format!("MRR@{k}"),
        format!("NDCG@{k}"),
        "coverage".to_string(),
        "popularity bias".to_string(),
        lists.to_string(),
        "training".to_string(),
    ])
    .with_numeric_columns([1, 2, 3, 4, 5, 6, 7])
}

fn train(data: &Dataset, algorithm: Algorithm, source: &str) -> anyhow::Result<Model> {
    Ok(recommend::train(data, TrainConfig { algorithm, weights: Weights::default() }, source)?)
}

/// Adds the recommendation sections; `work` is where the fixture files are written.
pub async fn add_recommend_sections(
    report: &mut report::Report,
    lake_dir: &Path,
    work: &Path,
) -> anyhow::Result<RecommendSummary> {
    let shop = crate::recommend_cmd::load_lake(lake_dir).await?;
    // Train on the first three quarters of the period, test on the last quarter.
    let first = shop
        .sessions
        .iter()
        .filter_map(|session| session.clicks.first())
        .map(|click| click.time)
        .fold(f64::INFINITY, f64::min);
    let test_days = 0.25 * (shop.last_time() - first) / 86_400.0;
    let (before, after) = shop.split_at(first + 0.75 * (shop.last_time() - first));
    let yoochoose = work.join("yoochoose");
    std::fs::create_dir_all(&yoochoose)?;
    let train_path = yoochoose.join("yoochoose-clicks-100k_train_tr.txt");
    let valid_path = yoochoose.join("yoochoose-clicks-100k_train_valid.txt");
    std::fs::write(&train_path, YOOCHOOSE_TRAIN)?;
    std::fs::write(&valid_path, YOOCHOOSE_VALID)?;
    let (shop_section, shop_recall, shop_sasrec_recall) =
        tokio::task::spawn_blocking(move || shop_section(&before, &after, test_days)).await??;
    let (yoochoose_section, yoochoose_recall) =
        tokio::task::spawn_blocking(move || yoochoose_section(&train_path, &valid_path)).await??;
    report.push_section(shop_section);
    report.push_section(yoochoose_section);
    Ok(RecommendSummary { shop_recall, shop_sasrec_recall, yoochoose_recall })
}

/// A SASRec small enough for the demo: an ensemble of two networks of one block, 32 wide,
/// the latest 20 clicks, two epochs (`recommend train --algo sasrec` defaults to one
/// network of two blocks, 64 wide, 50 clicks and up to 20 epochs).
fn demo_sasrec() -> SasRecConfig {
    SasRecConfig {
        hidden: 32,
        blocks: 1,
        max_len: 20,
        epochs: 2,
        members: 2,
        ..SasRecConfig::default()
    }
}

fn shop_section(
    before: &Dataset,
    after: &Dataset,
    test_days: f64,
) -> anyhow::Result<(Section, f64, f64)> {
    let k = 10;
    let filter = UserFilter { exclude_purchased: true, ..UserFilter::default() };
    let mut table = metrics_table(k, "users");
    let mut best: Option<(f64, Model)> = None;
    for algorithm in [Algorithm::Popular, Algorithm::ItemKnn(ItemKnnConfig::default())] {
        let model = train(before, algorithm, "demo lake, first three quarters")?;
        let metrics = recommend::evaluate_users(&model, after, k, &filter);
        let seconds = format!("{} s", format_decimal(model.summary.train_seconds, 2));
        table = table.row(metrics_row(model.config.algorithm.name(), &metrics, &seconds));
        if best.as_ref().is_none_or(|(recall, _)| metrics.recall > *recall) {
            best = Some((metrics.recall, model));
        }
    }
    let sequence = sasrec::train(
        before,
        &demo_sasrec(),
        Weights::default(),
        None,
        "demo lake, first three quarters",
    )?;
    let sasrec_metrics = recommend::evaluate_users(&sequence, after, k, &filter);
    let seconds = format!("{} s", format_decimal(sequence.summary.train_seconds, 2));
    let label = format!("sasrec ({} networks)", sequence.config().members);
    table = table.row(metrics_row(&label, &sasrec_metrics, &seconds));
    let (recall, model) = best.context("no model trained")?;
    let mut samples = Table::new(["shopper", "recommended", "score", "because they viewed"]);
    // The three shoppers with the longest training histories: their lists have the most to explain.
    let mut users: Vec<(usize, &str)> = model
        .users
        .names()
        .iter()
        .filter_map(|user| {
            model.user_history(user).map(|(history, _)| (history.len(), user.as_str()))
        })
        .collect();
    users.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    for &(_, user) in users.iter().take(3) {
        for recommendation in model.recommend_for_user(user, 3, &filter).unwrap_or_default() {
            samples = samples.row([
                user.to_string(),
                recommendation.item.clone(),
                format_decimal(f64::from(recommendation.score), 3),
                recommendation.because.clone().unwrap_or_else(|| "(popular)".into()),
            ]);
        }
    }
    let mut section = Section::new("Recommendations for shoppers");
    section
        .paragraph(format!(
            "Trained on the lake's views, carts and purchases (weights 1, 3, 5) in the first three quarters of the period \
             ({} interactions, {} shoppers, {} items), each shopper who came back in the last {} days gets one list of {k} items \
             from their history, purchases left out, ranked over the whole catalogue; the items they touched then are the relevant ones. \
             `smartfunnel recommend train --format lake --lake DIR --until T --algo item-knn --out MODEL` and \
             `smartfunnel recommend user --model MODEL --user U` do the same from the command line. \
             sasrec is a small causal Transformer over each shopper's latest {} clicks in order ({} block, {} wide, {} epochs; \
             `--algo sasrec`); it gives no reasons, so the samples come from the better of the other two.",
            format_count(before.interactions() as f64),
            format_count(before.users.len() as f64),
            format_count(before.items.len() as f64),
            format_decimal(test_days, 1),
            demo_sasrec().max_len,
            demo_sasrec().blocks,
            demo_sasrec().hidden,
            demo_sasrec().epochs,
        ))
        .table(table.with_caption("User-level evaluation on the last quarter of the period"))
        .paragraph(format!("Sample lists from {} with the history item behind each recommendation:", model.config.algorithm.name()))
        .table(samples);
    Ok((section, recall, sasrec_metrics.recall))
}

fn yoochoose_section(train_path: &Path, valid_path: &Path) -> anyhow::Result<(Section, f64)> {
    let k = 20;
    let train_data = recommend::read_file(train_path, recommend::Format::Yoochoose)?;
    let valid = recommend::read_file(valid_path, recommend::Format::Yoochoose)?;
    // The settings `recommend train --tune` chose on this validation split (docs/recommend.md).
    let sequential = ItemKnnConfig {
        sequential: true,
        alpha: 1.0,
        shrink: 20.0,
        history_decay: 0.5,
        ..ItemKnnConfig::default()
    };
    let vsknn = NeighbourConfig {
        neighbours: 200,
        sample: 500,
        position_decay: PositionDecay::Harmonic,
        idf: true,
        match_decay: 2.0,
        before_match: 0.5,
        recency_days: 5.0,
        ..NeighbourConfig::vsknn()
    };
    let mut table = metrics_table(k, "next clicks");
    let mut vsknn_recall = 0.0;
    for algorithm in [Algorithm::Popular, Algorithm::ItemKnn(sequential), Algorithm::Vsknn(vsknn)] {
        let model = train(&train_data, algorithm, "yoochoose train_tr")?;
        let evaluation = recommend::evaluate(&model, &valid, k);
        if matches!(model.config.algorithm, Algorithm::Vsknn(_)) {
            vsknn_recall = evaluation.metrics.recall;
        }
        let seconds = format!("{} s", format_decimal(model.summary.train_seconds, 2));
        table =
            table.row(metrics_row(model.config.algorithm.name(), &evaluation.metrics, &seconds));
    }
    let mut section = Section::new("Next-click recommendations (YOOCHOOSE)");
    section
        .paragraph(format!(
            "The shipped YOOCHOOSE sample (RecSys Challenge 2015 clicks, session-rec's 100k split): trained on train_tr \
             ({} clicks in {} sessions), every next click of the {} validation sessions predicted from the clicks before it. \
             ALS, EASE, user-kNN and SKNN, and the implicit package's ALS, BPR and ItemKNN on the same protocol, are in \
             docs/benchmarks.md (`bench/run --only recommend-quality`).",
            format_count(train_data.interactions() as f64),
            format_count(train_data.sessions.len() as f64),
            format_count(valid.sessions.len() as f64),
        ))
        .table(table.with_caption("Next-click evaluation on train_valid"));
    Ok((section, vsknn_recall))
}
