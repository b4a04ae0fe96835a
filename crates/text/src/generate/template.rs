//! The deterministic writer: the same facts always give the same text. It is
//! the default, and the fallback whenever a generated text is rejected.
//!
//! Templates are written with placeholders and filled by the same code that
//! fills a model's placeholders, so both writers print numbers one way.

use super::facts::{Facts, TextKind};

/// The template's text for `facts`, placeholders not yet filled.
pub fn template_with_placeholders(kind: TextKind, facts: &Facts) -> String {
    let mut sentences = Vec::new();
    match kind {
        TextKind::Segment => {
            let traits = join_words(&facts.traits);
            sentences.push(if traits.is_empty() {
                format!("{}.", facts.subject)
            } else {
                format!("{}: {traits}.", facts.subject)
            });
            if let Some(numbers) = numbers_sentence(facts) {
                sentences.push(numbers);
            }
            for word in &facts.words {
                sentences.push(format!("{}: {}.", capitalised(&word.label), word.value));
            }
        }
        TextKind::Campaign => {
            match facts.word("action") {
                Some(action) => sentences.push(format!("{}.", capitalised(action))),
                None => sentences.push(format!("A message for our {}.", facts.subject)),
            }
            for number in &facts.numbers {
                sentences.push(format!("{}: {{{}}}.", capitalised(&number.label), number.key));
            }
            for word in facts.words.iter().filter(|word| word.key != "action") {
                sentences.push(format!("{}: {}.", capitalised(&word.label), word.value));
            }
        }
    }
    sentences.join(" ")
}

/// "Share of users {share}, average order value {aov}." — every number fact,
/// for a segment description that must carry them.
pub(crate) fn numbers_sentence(facts: &Facts) -> Option<String> {
    let parts: Vec<String> =
        facts.numbers.iter().map(|n| format!("{} {{{}}}", n.label, n.key)).collect();
    (!parts.is_empty()).then(|| format!("{}.", capitalised(&parts.join(", "))))
}

/// "a, b and c".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
