//! The guard between a language model and the reader: placeholders are
//! filled by code, and a text whose numbers are not the facts' numbers is
//! rejected.
//!
//! A model is shown placeholders (`{share}`), never the numbers, so any
//! digit it writes is one it made up. The check runs on the final text
//! nonetheless, after the placeholders are filled, so it also holds for a
//! writer that did see the numbers (an endpoint given other facts, a
//! template with a bug).

use std::collections::BTreeSet;

use serde::Serialize;

use super::facts::{Facts, Unit};

/// Why a generated text was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum Rejection {
    /// Nothing usable came back: white space, or chat markup.
    Empty,
    /// The text names a placeholder the facts do not have, or has a stray brace.
    UnknownPlaceholder(String),
    /// A number in the final text is none of the facts' numbers.
    InventedNumber(String),
    /// A number word ("twice", "half", "thirty") the facts do not contain.
    NumberWord(String),
    /// The model ran out of tokens before it finished a sentence.
    Unfinished,
    /// The model or the endpoint failed; the message says how.
    Failed(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Empty => write!(f, "the generation was empty or chat markup"),
            Rejection::UnknownPlaceholder(name) => {
                write!(f, "the generation used an unknown placeholder {name}")
            }
            Rejection::InventedNumber(number) => {
                write!(
                    f,
                    "the generation contains {number}, which is not one of the facts' numbers"
                )
            }
            Rejection::NumberWord(word) => {
                write!(
                    f,
                    "the generation contains the number word {word:?}, which the facts do not"
                )
            }
            Rejection::Unfinished => write!(f, "the generation stopped before a sentence ended"),
            Rejection::Failed(message) => write!(f, "the writer failed: {message}"),
        }
    }
}

/// Words that state a quantity. A model that writes "twice as often" or
/// "half of them" makes a numeric claim no fact backs, exactly like a digit.
/// "one" is left out: it is mostly a pronoun ("no one", "the one for you").
const NUMBER_WORDS: [&str; 36] = [
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "dozen",
    "percent",
    "half",
    "twice",
    "double",
    "triple",
    "quarter",
    "majority",
];

/// The numbers written in `text`, as written: runs of digits, with a `,` or
/// `.` between two digits counted inside the number (`1,234.50`). Any other
/// numeric character (`½`, full-width digits) starts a number too, so it can
/// never slip past the check.
pub fn numbers_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut numbers = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_numeric() {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() {
            let c = chars[index];
            let joins_digits = (c == ',' || c == '.')
                && index + 1 < chars.len()
                && chars[index + 1].is_numeric()
                && index > start;
            if c.is_numeric() || joins_digits {
                index += 1;
            } else {
                break;
            }
        }
        numbers.push(chars[start..index].iter().collect());
    }
    numbers
}

/// Every number the facts contain, in the form the texts print it.
fn allowed_numbers(facts: &Facts) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    let mut add = |text: &str| allowed.extend(numbers_in(text));
    add(&facts.subject);
    for number in &facts.numbers {
        add(&number.formatted());
    }
    for word in &facts.traits {
        add(word);
    }
    for word in &facts.words {
        add(&word.value);
    }
    allowed
}

fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// The number words the facts themselves use: those a text may repeat.
fn allowed_number_words(facts: &Facts) -> BTreeSet<String> {
    let mut texts = vec![facts.subject.as_str()];
    texts.extend(facts.traits.iter().map(String::as_str));
    texts.extend(facts.words.iter().map(|w| w.value.as_str()));
    texts.into_iter().flat_map(words_of).filter(|w| NUMBER_WORDS.contains(&w.as_str())).collect()
}

/// Replaces each `{key}` with the fact's printed number. A placeholder the
/// facts do not have, or a brace that opens no placeholder, is an error.
pub fn fill_placeholders(text: &str, facts: &Facts) -> Result<String, Rejection> {
    // Small models sometimes double the braces, as in a template language.
    let text = text.replace("{{", "{").replace("}}", "}");
    let mut filled = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find(['{', '}']) {
        filled.push_str(&rest[..open]);
        if rest[open..].starts_with('}') {
            return Err(Rejection::UnknownPlaceholder("}".to_owned()));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(Rejection::UnknownPlaceholder(rest[open..].chars().take(20).collect()));
        };
        let key = &rest[open + 1..open + close];
        let Some(number) = facts.number(key.trim()) else {
            return Err(Rejection::UnknownPlaceholder(format!("{{{key}}}")));
        };
        let formatted = number.formatted();
        rest = &rest[open + close + 1..];
        // "${aov}" and "{share}%": the writer added the symbol the printed
        // number already has; keep one.
        if let Unit::Money { currency } = &number.unit
            && filled.ends_with(currency.as_str())
        {
            filled.truncate(filled.len() - currency.len());
        }
        if formatted.ends_with('%') {
            rest = rest.strip_prefix('%').unwrap_or(rest);
        }
        filled.push_str(&formatted);
    }
    filled.push_str(rest);
    Ok(filled)
}

/// Checks a final text (placeholders already filled): every number in it must
/// be one of the facts' numbers as printed, and it may use no number word the
/// facts do not use.
pub fn verify_numbers(text: &str, facts: &Facts) -> Result<(), Rejection> {
    let allowed = allowed_numbers(facts);
    if let Some(invented) = numbers_in(text).into_iter().find(|n| !allowed.contains(n)) {
        return Err(Rejection::InventedNumber(invented));
    }
    let allowed_words = allowed_number_words(facts);
    if let Some(word) =
        words_of(text).find(|w| NUMBER_WORDS.contains(&w.as_str()) && !allowed_words.contains(w))
    {
        return Err(Rejection::NumberWord(word));
    }
    Ok(())
}

/// Cuts a text that ran out of tokens back to its last finished sentence.
pub fn last_whole_sentences(text: &str) -> Option<&str> {
    let end = text.rfind(['.', '!', '?'])?;
    let cut = text[..=end].trim();
    (!cut.is_empty()).then_some(cut)
}
