//! Search queries and review texts.

use std::sync::OnceLock;

use rand::Rng;

use crate::rng::StreamRng;
use crate::taxonomy::LeafSpec;

const AMAZON_SENTENCES: &str = include_str!("../data/amazon_cells_labelled.txt");
const YELP_SENTENCES: &str = include_str!("../data/yelp_labelled.txt");

/// Share of review sentences taken from the Amazon (product) file; the rest
/// come from the Yelp file.
pub const AMAZON_SENTENCE_SHARE: f64 = 0.75;

/// Review sentences by sentiment and source.
struct Sentences {
    amazon_positive: Vec<&'static str>,
    amazon_negative: Vec<&'static str>,
    yelp_positive: Vec<&'static str>,
    yelp_negative: Vec<&'static str>,
}

/// `sentence<TAB>label` lines, split on the last TAB (see data/PROVENANCE.md).
fn parse_labelled(text: &'static str) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for line in text.lines() {
        let Some((sentence, label)) = line.rsplit_once('\t') else { continue };
        let sentence = sentence.trim();
        if sentence.is_empty() {
            continue;
        }
        match label.trim() {
            "1" => positive.push(sentence),
            "0" => negative.push(sentence),
            _ => {}
        }
    }
    (positive, negative)
}

fn sentences() -> &'static Sentences {
    static SENTENCES: OnceLock<Sentences> = OnceLock::new();
    SENTENCES.get_or_init(|| {
        let (amazon_positive, amazon_negative) = parse_labelled(AMAZON_SENTENCES);
        let (yelp_positive, yelp_negative) = parse_labelled(YELP_SENTENCES);
        Sentences { amazon_positive, amazon_negative, yelp_positive, yelp_negative }
    })
}

/// Whether a sentence is labelled positive in the bundled data (`None` when
/// it is not one of them). Tests use it to check that texts match ratings.
pub fn sentence_sentiment(sentence: &str) -> Option<bool> {
    let sentences = sentences();
    if sentences.amazon_positive.contains(&sentence) || sentences.yelp_positive.contains(&sentence)
    {
        Some(true)
    } else if sentences.amazon_negative.contains(&sentence)
        || sentences.yelp_negative.contains(&sentence)
    {
        Some(false)
    } else {
        None
    }
}

/// A review of one to three real sentences whose sentiment fits the rating:
/// positive for 4–5, negative for 1–2, a mix for 3.
pub(crate) fn review_text(rng: &mut StreamRng, rating: u8) -> String {
    let sentences = sentences();
    let count = match rng.random::<f64>() {
        r if r < 0.55 => 1,
        r if r < 0.88 => 2,
        _ => 3,
    };
    let mut text = String::new();
    for _ in 0..count {
        let positive = match rating {
            4.. => true,
            3 => rng.random_bool(0.5),
            _ => false,
        };
        let amazon = rng.random_bool(AMAZON_SENTENCE_SHARE);
        let pool = match (positive, amazon) {
            (true, true) => &sentences.amazon_positive,
            (true, false) => &sentences.yelp_positive,
            (false, true) => &sentences.amazon_negative,
            (false, false) => &sentences.yelp_negative,
        };
        let sentence = pool[rng.random_range(0..pool.len())];
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(sentence);
    }
    text
}

/// Round price limits shoppers type (`under 100`).
const PRICE_LIMITS: &[u32] =
    &[10, 20, 25, 30, 50, 75, 100, 150, 200, 250, 300, 500, 750, 1000, 1500];

/// A search query for a category, and the index of the brand it names if any
/// (the shopper then mostly views that brand's items).
///
/// Query shapes and their shares: noun 33%, brand + noun 24%, noun +
/// modifier 12%, brand + noun + modifier 8%, `cheap` + noun 6%, noun +
/// `under N` 5%, `best` + noun 3%, brand alone 5%, noun + `sale`/`deals` 4%;
/// 3% of queries carry a typo (two letters swapped).
pub(crate) fn search_query(rng: &mut StreamRng, leaf: &LeafSpec) -> (String, Option<u8>) {
    // The first noun and brand are the common ones.
    let pick = |rng: &mut StreamRng, words: &'static [&'static str]| -> usize {
        if rng.random_bool(0.5) { 0 } else { rng.random_range(0..words.len()) }
    };
    let noun = leaf.nouns[pick(rng, leaf.nouns)];
    let brand_index = pick(rng, leaf.brands);
    let brand = leaf.brands[brand_index];
    let named = Some(brand_index as u8);
    let modifier =
        if leaf.modifiers.is_empty() { "" } else { leaf.modifiers[pick(rng, leaf.modifiers)] };
    let shape: f64 = rng.random();
    let (mut query, named_brand) = if shape < 0.33 {
        (noun.to_string(), None)
    } else if shape < 0.57 {
        (format!("{brand} {noun}"), named)
    } else if shape < 0.69 && !modifier.is_empty() {
        (format!("{noun} {modifier}"), None)
    } else if shape < 0.77 && !modifier.is_empty() {
        (format!("{brand} {noun} {modifier}"), named)
    } else if shape < 0.83 {
        (format!("cheap {noun}"), None)
    } else if shape < 0.88 {
        let target = leaf.median_price * rng.random_range(0.6..1.3);
        let limit = PRICE_LIMITS.iter().copied().find(|&limit| f64::from(limit) >= target);
        (format!("{noun} under {}", limit.unwrap_or(2000)), None)
    } else if shape < 0.91 {
        (format!("best {noun}"), None)
    } else if shape < 0.96 {
        (brand.to_string(), named)
    } else {
        let suffix = if rng.random_bool(0.5) { "sale" } else { "deals" };
        (format!("{noun} {suffix}"), None)
    };
    if rng.random_bool(0.03) {
        add_typo(rng, &mut query);
    }
    (query, named_brand)
}

/// Swaps two adjacent ASCII letters.
fn add_typo(rng: &mut StreamRng, query: &mut String) {
    let bytes = query.as_bytes();
    if bytes.len() < 4 {
        return;
    }
    let at = rng.random_range(1..bytes.len() - 1);
    if bytes[at].is_ascii_alphabetic() && bytes[at + 1].is_ascii_alphabetic() {
        let mut swapped = bytes.to_vec();
        swapped.swap(at, at + 1);
        *query = String::from_utf8(swapped).expect("swapping ASCII letters keeps UTF-8");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{domain, stream};
    use crate::taxonomy::LEAVES;

    #[test]
    fn bundled_sentences_parse_to_500_per_label() {
        let sentences = sentences();
        assert_eq!(sentences.amazon_positive.len(), 500);
        assert_eq!(sentences.amazon_negative.len(), 500);
        assert_eq!(sentences.yelp_positive.len(), 500);
        assert_eq!(sentences.yelp_negative.len(), 500);
        assert!(sentences.amazon_positive.iter().all(|s| !s.contains('\t')));
    }

    #[test]
    fn review_sentiment_follows_rating() {
        let mut rng = stream(1, domain::DAY, 0, 0);
        for _ in 0..200 {
            let text = review_text(&mut rng, 5);
            assert!(!text.is_empty());
            let text = review_text(&mut rng, 1);
            assert!(!text.is_empty());
        }
        // A one-sentence review is exactly one labelled sentence.
        let mut one_sentence = 0;
        for _ in 0..500 {
            let text = review_text(&mut rng, 5);
            if let Some(sentiment) = sentence_sentiment(&text) {
                assert!(sentiment, "{text}");
                one_sentence += 1;
            }
        }
        assert!(one_sentence > 150);
    }

    #[test]
    fn queries_are_built_from_category_words() {
        let mut rng = stream(2, domain::DAY, 0, 0);
        let leaf = &LEAVES[0];
        for _ in 0..500 {
            let (query, brand) = search_query(&mut rng, leaf);
            assert!(!query.trim().is_empty());
            if let Some(brand) = brand {
                assert!(usize::from(brand) < leaf.brands.len());
            }
        }
    }
}
