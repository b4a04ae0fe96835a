//! The converted multilingual-e5-small against the reference engine's output.

use std::sync::{Mutex, OnceLock};

use text::intent::{IntentClassifier, QueryIntent, default_examples, nearest_categories};
use text::{Encoder, EncoderOptions, KnownModel};

#[derive(serde::Deserialize)]
struct ReferenceLine {
    text: String,
    ids: Vec<u32>,
    #[serde(default)]
    embedding: Option<Vec<f32>>,
}

fn reference_lines() -> Vec<ReferenceLine> {
    std::fs::read_to_string(crate::data_path("e5_reference.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// One encoder shared by the tests (loading it takes a few seconds).
fn encoder() -> &'static Mutex<Encoder> {
    static ENCODER: OnceLock<Mutex<Encoder>> = OnceLock::new();
    ENCODER.get_or_init(|| {
        let root = text::default_models_root();
        let model = KnownModel::MultilingualE5Small;
        text::fetch(model, &root, &mut |line| eprintln!("{line}")).unwrap();
        let options = EncoderOptions { max_tokens: 512, ..EncoderOptions::default() };
        Mutex::new(Encoder::load(&model.dir(&root), options).unwrap())
    })
}

#[test]
fn tokenisation_matches_the_reference_engine_on_mixed_lines() {
    let encoder = encoder().lock().unwrap();
    assert_eq!(encoder.prefix(), "query: ");
    let mut mismatches = Vec::new();
    let lines = reference_lines();
    for line in &lines {
        let ids = encoder.token_ids(&line.text).unwrap();
        if ids != line.ids {
            mismatches.push(format!("{:?}\n  ours: {ids:?}\n  ref:  {:?}", line.text, line.ids));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} lines differ:\n{}",
        mismatches.len(),
        lines.len(),
        mismatches.join("\n")
    );
}

#[test]
fn converted_model_reproduces_the_reference_embeddings() {
    let mut encoder = encoder().lock().unwrap();
    let lines: Vec<ReferenceLine> =
        reference_lines().into_iter().filter(|l| l.embedding.is_some()).collect();
    assert_eq!(lines.len(), 8);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let embeddings = encoder.embed(&texts).unwrap();
    assert_eq!(embeddings.dim, 384);
    for (line, ours) in lines.iter().zip(embeddings.rows()) {
        let reference = line.embedding.as_ref().unwrap();
        let cosine: f32 = ours.iter().zip(reference).map(|(a, b)| a * b).sum();
        let norm: f32 = ours.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{:?}: norm {norm}", line.text);
        assert!(cosine > 0.999, "{:?}: cosine {cosine} with the reference", line.text);
    }
    // Batching and padding must not change a text's embedding: the same
    // text alone gives the same vector as inside the padded batch.
    let alone = encoder.embed(&texts[..1]).unwrap();
    let difference: f32 =
        alone.row(0).iter().zip(embeddings.row(0)).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(difference < 1e-4, "batched and single embeddings differ by {difference}");
}

#[test]
fn query_intents_and_categories_from_a_few_examples() {
    use QueryIntent::*;
    let mut encoder = encoder().lock().unwrap();
    let examples = default_examples();
    let example_texts: Vec<&str> = examples.iter().map(|(_, text)| *text).collect();
    let classifier = IntentClassifier::new(
        examples.iter().map(|(intent, _)| *intent).collect(),
        encoder.embed(&example_texts).unwrap(),
    );
    // Queries that are not among the examples.
    let cases: &[(&str, QueryIntent)] = &[
        ("hiking boots", CategoryBrowse),
        ("女士手提包", CategoryBrowse),
        ("canon eos r6 mark ii", SpecificProduct),
        ("iPad Air 5 64g 紫色", SpecificProduct),
        ("cheapest gaming mouse", PriceDriven),
        ("50元以下的数据线", PriceDriven),
        ("ps5 vs xbox series x", Comparison),
        ("格力和美的空调哪个好", Comparison),
        ("package lost in delivery", AfterSales),
        ("收到的商品坏了怎么办", AfterSales),
        ("sign in", Navigational),
        ("收货地址管理", Navigational),
    ];
    let texts: Vec<&str> = cases.iter().map(|(text, _)| *text).collect();
    let predictions = classifier.classify(&encoder.embed(&texts).unwrap());
    let wrong: Vec<String> = cases
        .iter()
        .zip(&predictions)
        .filter(|((_, expected), got)| got.intent != *expected)
        .map(|((text, expected), got)| {
            format!("{text:?}: expected {expected:?}, got {:?}", got.intent)
        })
        .collect();
    // Few-shot similarity is not perfect; at most two of twelve may miss.
    assert!(wrong.len() <= 2, "{} of {} wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));

    let categories = ["shoes", "phones", "kitchen", "toys"];
    let category_embeddings = encoder.embed(&categories).unwrap();
    let queries = ["跑步鞋 男", "android smartphone 128gb", "不粘锅", "lego set for kids"];
    let nearest = nearest_categories(&encoder.embed(&queries).unwrap(), &category_embeddings);
    let names: Vec<&str> = nearest.iter().map(|n| categories[n.unwrap().0]).collect();
    assert_eq!(names, categories);
}

#[test]
fn topics_of_real_reviews_follow_their_categories() {
    use text::{TopicCount, TopicOptions, discover_topics};
    let rows = crate::topics::topics_sample();
    let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let categories: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let embeddings = encoder().lock().unwrap().embed(&texts).unwrap();
    let options = TopicOptions { count: TopicCount::Fixed(3), ..TopicOptions::default() };
    let model = discover_topics(&texts, &embeddings, &options).unwrap();
    // Centred e5 embeddings put each category in a topic of its own, and the
    // keywords name the theme (hand-checked).
    let found = crate::topics::topic_categories(&categories, &model.assignments);
    let mut pure: Vec<(String, usize, usize)> = found.clone();
    pure.sort();
    assert_eq!(
        pure,
        [("水果".into(), 8, 8), ("计算机".into(), 8, 8), ("酒店".into(), 8, 8)],
        "{found:?}"
    );
    for (topic, (category, _, _)) in model.topics.iter().zip(&found) {
        let theme = match category.as_str() {
            "酒店" => "房间",
            "水果" => "苹果",
            _ => "系统",
        };
        assert_eq!(topic.keywords[0].0, theme, "{category}: {:?}", topic.keywords);
    }
}

#[test]
fn a_tokenizer_that_pads_to_a_fixed_length_gives_the_same_embeddings() {
    // all-MiniLM-L6-v2's tokenizer.json pads every text to 128 tokens. The encoder
    // pads batches itself and masks the pads, so such a file must change nothing.
    let root = text::default_models_root();
    let model = KnownModel::MultilingualE5Small;
    text::fetch(model, &root, &mut |line| eprintln!("{line}")).unwrap();
    let original = model.dir(&root);
    let padded = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&original).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "tokenizer.json" {
            std::os::unix::fs::symlink(entry.path(), padded.path().join(entry.file_name()))
                .unwrap();
        }
    }
    let mut tokenizer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(original.join("tokenizer.json")).unwrap())
            .unwrap();
    tokenizer["padding"] = serde_json::json!({
        "strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": null,
        "pad_id": 1, "pad_type_id": 0, "pad_token": "<pad>"
    });
    tokenizer["truncation"] = serde_json::json!({"max_length": 128, "strategy": "LongestFirst", "stride": 0, "direction": "Right"});
    std::fs::write(padded.path().join("tokenizer.json"), tokenizer.to_string()).unwrap();

    let texts = ["fast delivery", "物流很快，但是包装破了", "the strap broke after a week of use"];
    let mut fixed = Encoder::load(padded.path(), EncoderOptions::default()).unwrap();
    let ours = encoder().lock().unwrap().embed(&texts).unwrap();
    assert_eq!(
        fixed.token_ids(texts[0]).unwrap(),
        encoder().lock().unwrap().token_ids(texts[0]).unwrap()
    );
    let theirs = fixed.embed(&texts).unwrap();
    for (a, b) in ours.rows().zip(theirs.rows()) {
        let difference = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(difference < 1e-4, "embeddings differ by {difference}");
    }
}
