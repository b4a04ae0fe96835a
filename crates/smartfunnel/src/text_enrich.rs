//! `smartfunnel text enrich`: what the text models find in each review of the
//! lake (language, sentiment, aspects, topic), written to the lake's
//! `review_insights` table, which replaces what an earlier run wrote.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lake::{Lake, ReviewInsight};
use serde::Serialize;
use text::aspects::aspects_with;
use text::{AspectMention, Polarity, SentimentScore, TopicCount, TopicModel, TopicOptions};

use crate::Output;
use crate::text_cmd::{EncoderArgs, load_sentiment, mentions_of, parse_k_range, score_texts};

#[derive(Debug, Args)]
pub struct EnrichArgs {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// A sentiment model (`smartfunnel text train`). Without one the sentiment
    /// columns stay null and aspect polarity comes from the opinion lexicon.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Leave the topic columns null (no embeddings are computed, unless the
    /// sentiment model needs them).
    #[arg(long)]
    no_topics: bool,
    /// This many topics.
    #[arg(long, conflicts_with = "k_range")]
    k: Option<usize>,
    /// Try every k from A to B (both included) and keep the best silhouette.
    #[arg(long, value_name = "A..B", default_value = "4..12", value_parser = parse_k_range)]
    k_range: std::ops::RangeInclusive<usize>,
    /// Enrich the reviews of bot-flagged events too.
    #[arg(long)]
    include_bots: bool,
    #[command(flatten)]
    encoder: EncoderArgs,
}

/// One row per review of `reviews`, with what was found in it. `scores`,
/// `mentions` and the topic assignments are in the same order as `reviews`.
pub fn insight_rows(
    reviews: &[features::texts::ReviewText],
    scores: Option<&[SentimentScore]>,
    mentions: &[Vec<AspectMention>],
    topics: Option<&TopicModel>,
) -> anyhow::Result<Vec<ReviewInsight>> {
    let names = |aspects: Vec<text::Aspect>| -> String {
        aspects.iter().map(|a| a.name()).collect::<Vec<_>>().join(",")
    };
    reviews
        .iter()
        .enumerate()
        .map(|(row, review)| {
            let score = scores.map(|scores| scores[row]);
            let topic = topics.map(|model| model.assignments[row]);
            Ok::<_, anyhow::Error>(ReviewInsight {
                event_id: review.event_id.clone(),
                user_id: review.user_id.clone(),
                item_id: review.item_id.clone(),
                event_time_micros: review.event_time_micros,
                language: text::segment::language(&review.text).code().to_owned(),
                sentiment_score: score.map(|s| s.score),
                sentiment_label: score
                    .map(|s| if s.label == 1 { "positive" } else { "negative" }.to_owned()),
                aspects: serde_json::to_string(&mentions[row])?,
                complaints: names(aspects_with(&mentions[row], Polarity::Negative)),
                praises: names(aspects_with(&mentions[row], Polarity::Positive)),
                topic: topic.map(|t| t as i32),
                topic_label: topics.zip(topic).map(|(model, t)| model.label(t)),
            })
        })
        .collect()
}

/// Topics of the texts, or `None` when there are too few texts for the
/// smallest k asked for.
pub fn topics_of(
    texts: &[&str],
    count: TopicCount,
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<Option<TopicModel>> {
    let smallest = match &count {
        TopicCount::Fixed(k) => *k,
        TopicCount::BySilhouette(range) => *range.start(),
    };
    if texts.len() <= smallest {
        return Ok(None);
    }
    let (embeddings, _) = encoder.embed(encoder.encoder_name(), texts, output)?;
    let options = TopicOptions { count, ..TopicOptions::default() };
    Ok(Some(text::discover_topics(texts, &embeddings, &options)?))
}

#[derive(Debug, Serialize)]
struct EnrichSummary {
    table: String,
    version: u64,
    reviews: usize,
    scored: bool,
    reviews_with_complaints: usize,
    topics: Option<usize>,
    seconds: f64,
}

pub async fn run(args: EnrichArgs, output: Output) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let lake =
        Lake::open(&args.lake).await.with_context(|| format!("opening {}", args.lake.display()))?;
    let context = lake.session().await?;
    let as_of = features::default_as_of(&context, args.include_bots)
        .await?
        .context("the lake has no events")?;
    let reviews = features::texts::review_texts(&context, as_of, args.include_bots).await?;
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let model = args.model.as_deref().map(load_sentiment).transpose()?;
    let scores = match &model {
        Some(model) => Some(score_texts(model, &texts, &args.encoder, output)?),
        None => None,
    };
    let mentions = mentions_of(&texts, model.as_ref(), &args.encoder, output)?;
    let topics = if args.no_topics {
        None
    } else {
        let count = match args.k {
            Some(k) => TopicCount::Fixed(k),
            None => TopicCount::BySilhouette(args.k_range.clone()),
        };
        topics_of(&texts, count, &args.encoder, output)?
    };
    let rows = insight_rows(&reviews, scores.as_deref(), &mentions, topics.as_ref())?;
    let mut metadata = serde_json::Map::new();
    metadata.insert("smartfunnel".into(), "text enrich".into());
    metadata.insert(
        "model".into(),
        args.model.as_ref().map_or(serde_json::Value::Null, |m| m.display().to_string().into()),
    );
    let version = lake.replace_review_insights(&rows, metadata).await?;
    let summary = EnrichSummary {
        table: lake.review_insights_path().display().to_string(),
        version,
        reviews: rows.len(),
        scored: scores.is_some(),
        reviews_with_complaints: rows.iter().filter(|r| !r.complaints.is_empty()).count(),
        topics: topics.as_ref().map(|t| t.topics.len()),
        seconds: started.elapsed().as_secs_f64(),
    };
    if output.json {
        return output.print_json(&summary);
    }
    if !output.quiet {
        println!(
            "{} reviews enriched ({}; {} with complaints; {}) in {:.1} s",
            summary.reviews,
            if summary.scored { "sentiment scored" } else { "no sentiment model" },
            summary.reviews_with_complaints,
            summary.topics.map_or("no topics".to_owned(), |k| format!("{k} topics")),
            summary.seconds
        );
        println!("→ {} (version {})", summary.table, summary.version);
        println!(
            "query it: smartfunnel sql --lake {} \"SELECT complaints, count(*) FROM review_insights GROUP BY 1\"",
            args.lake.display()
        );
    }
    Ok(())
}
