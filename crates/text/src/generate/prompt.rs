//! Chat messages that ask a model for a text. The model sees each number's
//! placeholder and label, never its value.

use serde::{Deserialize, Serialize};

use super::facts::{Facts, NumberFact, TextKind, Unit, WordFact};

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat, as OpenAI-compatible endpoints take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> ChatMessage {
        ChatMessage { role, content: content.into() }
    }
}

const SYSTEM: &str = "You write short, plain marketing copy for an online shop. \
Use only the facts you are given. Never write digits or number words: where a number \
belongs, copy its placeholder in curly braces exactly as given, for example {share}.";

/// The request for one fact set.
fn request(kind: TextKind, facts: &Facts) -> String {
    let task = match kind {
        TextKind::Segment => format!(
            "Describe the customer segment \"{}\" for a marketing report in two sentences.",
            facts.subject
        ),
        TextKind::Campaign => format!(
            "Write a friendly two-sentence message to the customers in the segment \"{}\".",
            facts.subject
        ),
    };
    let mut lines = vec![task, "Facts:".to_owned()];
    for number in &facts.numbers {
        lines.push(format!("- {}: {{{}}}", number.label, number.key));
    }
    if !facts.traits.is_empty() {
        lines.push(format!("- described as: {}", facts.traits.join(", ")));
    }
    for word in &facts.words {
        lines.push(format!("- {}: {}", word.label, word.value));
    }
    lines.join("\n")
}

/// A worked example shown before the real request: small models follow an
/// example far better than an instruction. It says nothing the example's
/// facts do not, since a small model copies whatever the example does.
fn example(kind: TextKind) -> (Facts, &'static str) {
    let facts = Facts {
        subject: "Bargain Hunters".to_owned(),
        numbers: vec![
            NumberFact::new("share", "share of users", 0.1, Unit::Percent),
            NumberFact::new(
                "aov",
                "average order value",
                20.0,
                Unit::Money { currency: "$".into() },
            ),
        ],
        traits: vec!["price-sensitive".to_owned(), "frequent".to_owned()],
        words: vec![WordFact::new("action", "recommended action", "send the weekly deals")],
    };
    let answer = match kind {
        TextKind::Segment => {
            "Bargain Hunters are price-sensitive, frequent shoppers and make up {share} of users. \
             They spend {aov} per order, so the weekly deals suit them best."
        }
        TextKind::Campaign => "Hello, deal lover! Your weekly deals are ready, so take a look.",
    };
    (facts, answer)
}

/// The chat that asks for a `kind` text about `facts`.
pub fn chat_messages(kind: TextKind, facts: &Facts) -> Vec<ChatMessage> {
    let (example_facts, example_answer) = example(kind);
    vec![
        ChatMessage::new(Role::System, SYSTEM),
        ChatMessage::new(Role::User, request(kind, &example_facts)),
        ChatMessage::new(Role::Assistant, example_answer),
        ChatMessage::new(Role::User, request(kind, facts)),
    ]
}
