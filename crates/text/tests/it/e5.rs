//! The converted multilingual-e5-small against the reference engine's output.

use std::sync::{Mutex, OnceLock};

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
