//! The text columns of the feature table (`features --text-model DIR`, and
//! the demo): review sentiment, negative review share, aspect complaints and
//! search-intent shares per user, from the reviews and searches before the
//! as-of time. The `features` crate reads the texts and takes the columns;
//! the models run here, so that crate stays free of candle.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::prelude::SessionContext;
use features::FeatureTable;
use serde::Serialize;
use text::aspects::aspects_with;
use text::intent::{IntentClassifier, QueryIntent, default_examples};
use text::profile::{
    ASPECT_COMPLAINTS_PREFIX, NEGATIVE_REVIEW_SHARE_COLUMN, REVIEW_SENTIMENT_COLUMN,
    SEARCH_INTENT_PREFIX,
};
use text::{Aspect, Polarity, ScoredReview, SentimentModel, UserTextFeatures};

use crate::Output;
use crate::text_cmd::{EncoderArgs, mentions_of, score_texts};

/// What the text columns were made from.
#[derive(Debug, Default, Serialize)]
pub struct TextColumnsSummary {
    pub reviews: usize,
    pub searches: usize,
    pub distinct_queries: usize,
    pub users_with_reviews: usize,
    pub columns: Vec<String>,
}

/// The intent of each distinct query, by similarity to the built-in examples
/// (multilingual-e5-small, or the encoder `encoder` names).
pub fn classify_queries(
    queries: &[&str],
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<Vec<QueryIntent>> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let examples = default_examples();
    let example_texts: Vec<&str> = examples.iter().map(|(_, text)| *text).collect();
    let (example_embeddings, _) = encoder.embed(encoder.encoder_name(), &example_texts, output)?;
    let classifier = IntentClassifier::new(
        examples.iter().map(|(intent, _)| *intent).collect(),
        example_embeddings,
    );
    let (query_embeddings, _) = encoder.embed(encoder.encoder_name(), queries, output)?;
    Ok(classifier.classify(&query_embeddings).into_iter().map(|p| p.intent).collect())
}

/// Where the aspect complaints get their polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectPolarity {
    /// The sentiment model applied to each clause (each clause is embedded
    /// when the model uses embeddings).
    Model,
    /// The opinion lexicon: no model run, for the demo.
    Lexicon,
}

/// Scores the users' reviews and searches before the table's as-of time and
/// puts the text columns into the table (`review_sentiment` filled in place).
pub async fn add_text_columns(
    table: &mut FeatureTable,
    context: &SessionContext,
    include_bots: bool,
    sentiment: &SentimentModel,
    polarity: AspectPolarity,
    encoder: &EncoderArgs,
    output: Output,
) -> anyhow::Result<TextColumnsSummary> {
    let reviews = features::texts::review_texts(context, table.as_of, include_bots).await?;
    let searches = features::texts::search_queries(context, table.as_of, include_bots).await?;
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let scores = score_texts(sentiment, &texts, encoder, output)?;
    let clause_model = (polarity == AspectPolarity::Model).then_some(sentiment);
    let mentions = mentions_of(&texts, clause_model, encoder, output)?;
    let complaints: Vec<Vec<Aspect>> =
        mentions.iter().map(|m| aspects_with(m, Polarity::Negative)).collect();

    let mut distinct: Vec<&str> = searches.iter().map(|s| s.query.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let intents = classify_queries(&distinct, encoder, output)?;
    let intent_of: HashMap<&str, QueryIntent> = distinct.iter().copied().zip(intents).collect();

    let by_user = text::user_text_features(
        reviews.iter().zip(&scores).zip(&complaints).map(|((review, score), complaints)| {
            ScoredReview { user: &review.user_id, score: score.score, complaints }
        }),
        searches.iter().map(|s| (s.user_id.as_str(), intent_of[s.query.as_str()])),
    );
    let columns = put_columns(table, &by_user)?;
    Ok(TextColumnsSummary {
        reviews: reviews.len(),
        searches: searches.len(),
        distinct_queries: distinct.len(),
        users_with_reviews: by_user.values().filter(|f| f.reviews > 0).count(),
        columns,
    })
}

/// Puts the columns of `by_user` into the table in its user order; users
/// without texts get null means and shares and zero counts. Returns the
/// column names.
fn put_columns(
    table: &mut FeatureTable,
    by_user: &BTreeMap<String, UserTextFeatures>,
) -> anyhow::Result<Vec<String>> {
    let users = table.user_ids()?;
    let of_user: Vec<Option<&UserTextFeatures>> = users.iter().map(|u| by_user.get(u)).collect();
    let reals = |value: &dyn Fn(&UserTextFeatures) -> Option<f64>| -> ArrayRef {
        Arc::new(of_user.iter().map(|f| f.and_then(value)).collect::<Float64Array>())
    };
    let mut columns: Vec<(String, ArrayRef)> = vec![
        (REVIEW_SENTIMENT_COLUMN.to_owned(), reals(&|f| f.mean_review_sentiment)),
        (NEGATIVE_REVIEW_SHARE_COLUMN.to_owned(), reals(&|f| f.negative_review_share())),
    ];
    for (slot, aspect) in Aspect::ALL.iter().enumerate() {
        let counts: Int64Array = of_user
            .iter()
            .map(|f| Some(f.map_or(0, |f| i64::from(f.aspect_complaints[slot]))))
            .collect();
        columns.push((format!("{ASPECT_COMPLAINTS_PREFIX}{}", aspect.name()), Arc::new(counts)));
    }
    for (slot, intent) in QueryIntent::ALL.iter().enumerate() {
        columns.push((
            format!("{SEARCH_INTENT_PREFIX}{}", intent.name()),
            reals(&|f| (f.searches > 0).then_some(f.intent_shares[slot])),
        ));
    }
    let mut names = Vec::new();
    for (name, values) in columns {
        table.put_column(&name, values)?;
        names.push(name);
    }
    Ok(names)
}
