//! Generated text: the guard that keeps invented numbers out, the template,
//! and a few tokens from the real SmolLM2 (fetched like the e5 weights).

use std::sync::{Mutex, OnceLock};

use text::KnownModel;
use text::generate::{
    ChatMessage, Draft, Facts, LlmOptions, LocalLlm, NumberFact, Rejection, Role, SamplingOptions,
    TextKind, Unit, WordFact, Writer, accept, chat_messages, from_draft, numbers_in, template,
};

fn champions() -> Facts {
    Facts {
        subject: "Champions".to_owned(),
        numbers: vec![
            NumberFact::new("share", "share of users", 0.123, Unit::Percent),
            NumberFact::new("users", "users", 1234.0, Unit::Count),
            NumberFact::new(
                "aov",
                "average order value",
                84.5,
                Unit::Money { currency: "$".into() },
            ),
        ],
        traits: vec!["loyal".to_owned(), "big spender".to_owned()],
        words: vec![
            WordFact::new("top_category", "top category", "electronics"),
            WordFact::new("action", "recommended action", "reward them with early access"),
        ],
    }
}

/// Runs the guard on a finished draft.
fn check(kind: TextKind, draft: &str, expected: Result<&str, Rejection>) {
    let draft = Draft { text: draft.to_owned(), finished: true };
    assert_eq!(accept(kind, &champions(), &draft).as_deref(), expected.as_deref(), "{draft:?}");
}

#[test]
fn the_guard_fills_placeholders_and_rejects_invented_numbers() {
    use Rejection::*;
    use TextKind::*;
    check(
        Segment,
        "Champions are {share} of users and spend {aov} per order.",
        Ok("Champions are 12.3% of users and spend $84.50 per order."),
    );
    // The crafted case of the issue: a number the facts do not have.
    check(Segment, "Champions are 37% of users.", Err(InventedNumber("37".into())));
    check(Campaign, "Enjoy 20% off your next order!", Err(InventedNumber("20".into())));
    // A number of the facts, but not as the texts print it.
    check(Segment, "They spend $84.5 per order.", Err(InventedNumber("84.5".into())));
    check(Segment, "{users} shoppers, {share} of all.", Ok("1,234 shoppers, 12.3% of all."));
    check(Segment, "They buy twice as often as others.", Err(NumberWord("twice".into())));
    check(Campaign, "Half price for you!", Err(NumberWord("half".into())));
    check(Segment, "They are {discount} off.", Err(UnknownPlaceholder("{discount}".into())));
    check(Segment, "They are {share of users.", Err(UnknownPlaceholder("{share of users.".into())));
    check(Campaign, "  \"\" ", Err(Empty));
    check(Campaign, "Thanks! <|im_start|>", Err(Empty));
    // A symbol the printed number already carries is not doubled.
    check(Campaign, "Spend ${aov}, be one of {share}%.", Ok("Spend $84.50, be one of 12.3%."));
    // Doubled braces, as small models sometimes write them, still count.
    check(Campaign, "You are among our {{share}} best.", Ok("You are among our 12.3% best."));
    // A description without any number gets the facts' numbers from code.
    check(
        Segment,
        "Champions love electronics.",
        Ok(
            "Champions love electronics. Share of users 12.3%, users 1,234, average order value $84.50.",
        ),
    );
    // A campaign message may leave the numbers out.
    check(Campaign, "Thank you for shopping with us!", Ok("Thank you for shopping with us!"));
}

#[test]
fn an_unfinished_draft_keeps_its_whole_sentences() {
    let facts = champions();
    let cut =
        Draft { text: "They are {share} of users. They spend a lot on".into(), finished: false };
    assert_eq!(accept(TextKind::Campaign, &facts, &cut).unwrap(), "They are 12.3% of users.");
    let nothing = Draft { text: "They spend a lot on".into(), finished: false };
    assert_eq!(accept(TextKind::Campaign, &facts, &nothing), Err(Rejection::Unfinished));
}

#[test]
fn numbers_are_found_as_written() {
    let cases: [(&str, &[&str]); 6] = [
        ("1,234.50 and 12%.", &["1,234.50", "12"]),
        ("Version 2. Then 3,", &["2", "3"]),
        ("no numbers here", &[]),
        ("½ off", &["½"]),
        ("３０ days", &["３０"]),
        ("$84.50/order", &["84.50"]),
    ];
    for (text, expected) in cases {
        assert_eq!(numbers_in(text), expected, "{text:?}");
    }
}

#[test]
fn a_rejected_generation_falls_back_to_the_template_and_says_why() {
    let facts = champions();
    let writer = Writer::LocalModel { model: "smollm2-135m-instruct".into() };
    let draft = Ok(Draft { text: "Champions are 37% of users.".into(), finished: true });
    let written = from_draft(TextKind::Segment, &facts, writer.clone(), draft);
    assert_eq!(written.writer, Writer::Template);
    assert_eq!(written.text, template(TextKind::Segment, &facts).text);
    let fallback = written.fallback.as_ref().unwrap();
    assert_eq!(fallback.rejection, Rejection::InventedNumber("37".into()));
    assert_eq!(fallback.from, writer);
    assert!(
        written.attribution().contains("not one of the facts' numbers"),
        "{}",
        written.attribution()
    );

    let failed = from_draft(TextKind::Campaign, &facts, writer, Err("timed out".into()));
    assert_eq!(failed.writer, Writer::Template);
    assert_eq!(failed.fallback.unwrap().rejection, Rejection::Failed("timed out".into()));
}

#[test]
fn the_template_is_deterministic_and_passes_its_own_guard() {
    let facts = champions();
    let segment = template(TextKind::Segment, &facts);
    assert_eq!(
        segment.text,
        "Champions: loyal and big spender. Share of users 12.3%, users 1,234, average order value \
         $84.50. Top category: electronics. Recommended action: reward them with early access."
    );
    let campaign = template(TextKind::Campaign, &facts);
    assert_eq!(
        campaign.text,
        "Reward them with early access. Share of users: 12.3%. Users: 1,234. Average order value: \
         $84.50. Top category: electronics."
    );
    for written in [segment, campaign] {
        let draft = Draft { text: written.text.clone(), finished: true };
        assert_eq!(accept(written.kind, &facts, &draft).as_deref(), Ok(written.text.as_str()));
        assert_eq!(written.writer, Writer::Template);
    }
}

#[test]
fn facts_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facts.json");
    std::fs::write(&path, r#"{"subject": "Loyal", "numbers": [{"key": "Share!", "label": "share", "value": 0.1, "unit": "percent"}]}"#).unwrap();
    let error = Facts::read(&path).unwrap_err().to_string();
    assert!(error.contains("facts.json") && error.contains("Share!"), "{error}");
    std::fs::write(&path, r#"{"subject": "Loyal", "numbers": [{"key": "aov", "label": "average order value", "value": 12, "unit": "money", "currency": "€"}]}"#).unwrap();
    let facts = Facts::read(&path).unwrap();
    assert_eq!(facts.numbers[0].formatted(), "€12.00");
}

#[test]
fn the_prompt_never_shows_a_number() {
    let facts = champions();
    for kind in [TextKind::Segment, TextKind::Campaign] {
        let messages = chat_messages(kind, &facts);
        assert_eq!(messages.first().map(|m| m.role), Some(Role::System));
        let request = &messages.last().unwrap().content;
        assert!(request.contains("{share}") && request.contains("Champions"), "{request}");
        for message in &messages {
            assert!(numbers_in(&message.content).is_empty(), "{:?}", message.content);
        }
    }
}

/// SmolLM2 loaded once for the tests below (fetched first if missing).
fn smollm2() -> &'static Mutex<LocalLlm> {
    static MODEL: OnceLock<Mutex<LocalLlm>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let root = text::default_models_root();
        let model = KnownModel::SmolLm2;
        text::fetch(model, &root, &mut |line| eprintln!("{line}")).unwrap();
        Mutex::new(LocalLlm::load(&model.dir(&root), &LlmOptions::default()).unwrap())
    })
}

#[test]
fn smollm2_loads_requantised_with_its_gguf_tokenizer() {
    let model = smollm2().lock().unwrap();
    let report = model.load_report();
    // 30 blocks × 7 matrices ship as Q4_1; the embedding is Q8_0 already.
    assert_eq!(
        (report.requantized_tensors, report.requantized_from.clone()),
        (210, vec!["Q4_1".to_owned()])
    );
    let chat = model.chat_prompt(&[ChatMessage::new(Role::User, "Hi")]);
    assert!(
        chat.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"),
        "{chat}"
    );
    let ids = model.token_ids("<|im_start|>user\nHello world 2024<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&1), "<|im_start|> is one special token");
    assert_eq!(ids.last(), Some(&2), "<|im_end|> is one special token");
    // The smollm pre-tokenizer splits every digit.
    let digits = model.token_ids("2024").unwrap();
    assert_eq!(digits.len(), 4, "{digits:?}");
    for text in ["Hello, world!", "Café prices: $84.50 — 12.3% off", "  two  spaces\nand a line"]
    {
        let ids = model.token_ids(text).unwrap();
        assert_eq!(model.decode(&ids).unwrap(), text);
    }
}

#[test]
fn smollm2_writes_the_same_few_tokens_for_the_same_seed() {
    let mut model = smollm2().lock().unwrap();
    // A short chat and a few tokens only: the tests run unoptimised, where
    // the prefill of a long prompt alone takes seconds.
    let messages = [ChatMessage::new(Role::User, "Write a greeting for our best customers.")];
    let greedy = SamplingOptions { max_new_tokens: 4, ..SamplingOptions::default() };
    let first = model.chat(&messages, &greedy).unwrap();
    let again = model.chat(&messages, &greedy).unwrap();
    assert_eq!(first.generated_tokens, 4);
    assert!(!first.text.trim().is_empty());
    assert_eq!(first.text, again.text);
    let sampled = SamplingOptions { temperature: 0.8, top_p: Some(0.9), seed: 7, ..greedy };
    let one = model.chat(&messages, &sampled).unwrap();
    let two = model.chat(&messages, &sampled).unwrap();
    assert_eq!(one.text, two.text);
}
