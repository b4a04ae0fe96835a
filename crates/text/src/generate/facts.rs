//! The structured facts a text is written from, and how each number is printed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TextError, io_error};

/// What kind of text to write from a fact set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextKind {
    /// Two or three sentences for a marketer describing a segment of users.
    Segment,
    /// A short message to the segment's customers (an e-mail or a push text).
    Campaign,
}

impl TextKind {
    pub fn name(self) -> &'static str {
        match self {
            TextKind::Segment => "segment",
            TextKind::Campaign => "campaign",
        }
    }
}

/// How a number fact is printed. The printed form is the only form of the
/// number that may appear in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "lowercase")]
pub enum Unit {
    /// A fraction printed as a percentage with one decimal: `0.123` → `12.3%`.
    Percent,
    /// An amount of money with two decimals after its currency symbol: `$84.50`.
    Money {
        #[serde(default = "default_currency")]
        currency: String,
    },
    /// A whole number with thousands separators: `1,234`.
    Count,
    /// A number of days with one decimal: `12.5 days`.
    Days,
    /// A plain number with the given decimals.
    Number {
        #[serde(default = "default_decimals")]
        decimals: usize,
    },
}

fn default_currency() -> String {
    "$".to_owned()
}

fn default_decimals() -> usize {
    2
}

/// One number of the fact set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberFact {
    /// The placeholder name a writer uses for it: `share` is written `{share}`.
    pub key: String,
    /// What the number is, in words ("share of users").
    pub label: String,
    pub value: f64,
    #[serde(flatten)]
    pub unit: Unit,
}

impl NumberFact {
    pub fn new(key: &str, label: &str, value: f64, unit: Unit) -> NumberFact {
        NumberFact { key: key.to_owned(), label: label.to_owned(), value, unit }
    }

    /// The number as every text prints it.
    pub fn formatted(&self) -> String {
        match &self.unit {
            Unit::Percent => report::format_percent(self.value),
            Unit::Money { currency } => {
                let amount = report::format_decimal(self.value.abs(), 2);
                let sign = if self.value < 0.0
                    && amount.bytes().any(|b| b.is_ascii_digit() && b != b'0')
                {
                    "-"
                } else {
                    ""
                };
                format!("{sign}{currency}{amount}")
            }
            Unit::Count => report::format_count(self.value),
            Unit::Days => format!("{} days", report::format_decimal(self.value, 1)),
            Unit::Number { decimals } => report::format_decimal(self.value, *decimals),
        }
    }
}

/// One word fact of the fact set: a category, a risk level, an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordFact {
    /// A short name ("top_category").
    pub key: String,
    /// What it is, in words ("top category").
    pub label: String,
    pub value: String,
}

impl WordFact {
    pub fn new(key: &str, label: &str, value: &str) -> WordFact {
        WordFact { key: key.to_owned(), label: label.to_owned(), value: value.to_owned() }
    }
}

/// Everything a writer may say about one segment: its name, its numbers,
/// words that describe it and word facts such as the recommended action.
/// A text is written from these facts only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facts {
    /// The segment's name ("Champions").
    pub subject: String,
    #[serde(default)]
    pub numbers: Vec<NumberFact>,
    /// Describing words ("frequent", "high-value").
    #[serde(default)]
    pub traits: Vec<String>,
    #[serde(default)]
    pub words: Vec<WordFact>,
}

impl Facts {
    /// Reads a fact set from a JSON file.
    pub fn read(path: &Path) -> Result<Facts> {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        let facts: Facts = serde_json::from_str(&text)
            .map_err(|source| TextError::Json { path: path.to_owned(), source })?;
        facts
            .validate()
            .map_err(|reason| TextError::InvalidRequest(format!("{}: {reason}", path.display())))?;
        Ok(facts)
    }

    /// Checks what a writer relies on: a subject, finite numbers, and unique
    /// placeholder names made of lowercase letters, digits and `_`.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.subject.trim().is_empty() {
            return Err("the facts have no subject".to_owned());
        }
        let mut keys = std::collections::BTreeSet::new();
        for number in &self.numbers {
            let valid_key = !number.key.is_empty()
                && number
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_key {
                return Err(format!(
                    "number key {:?} must be lowercase letters, digits and _",
                    number.key
                ));
            }
            if !keys.insert(number.key.as_str()) {
                return Err(format!("number key {:?} appears twice", number.key));
            }
            if !number.value.is_finite() {
                return Err(format!("number {:?} is not finite: {}", number.key, number.value));
            }
        }
        Ok(())
    }

    /// The number fact named `key`.
    pub fn number(&self, key: &str) -> Option<&NumberFact> {
        self.numbers.iter().find(|number| number.key == key)
    }

    /// The word fact named `key`.
    pub fn word(&self, key: &str) -> Option<&str> {
        self.words.iter().find(|word| word.key == key).map(|word| word.value.as_str())
    }
}
