//! The encoder against a plain double-precision reference written from the
//! BERT paper's equations, on a small random model whose widths leave partial
//! weight panels and odd head sizes.

use std::collections::HashMap;

use bert::{Activation, Bert, BertConfig, BertError, Weight};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn config(activation: Activation) -> BertConfig {
    BertConfig {
        vocab_size: 50,
        hidden_size: 40,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 72,
        max_position_embeddings: 30,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        activation,
    }
}

/// Random weights with Hugging Face names and shapes.
fn random_weights(config: &BertConfig, seed: u64) -> HashMap<String, Weight> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut weights = HashMap::new();
    let mut add = |name: String, shape: Vec<usize>, centre: f32| {
        let values =
            (0..shape.iter().product()).map(|_| centre + rng.random_range(-0.3f32..0.3)).collect();
        weights.insert(name, Weight { shape, values });
    };
    let (h, i) = (config.hidden_size, config.intermediate_size);
    add("embeddings.word_embeddings.weight".into(), vec![config.vocab_size, h], 0.0);
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![config.max_position_embeddings, h],
        0.0,
    );
    add("embeddings.token_type_embeddings.weight".into(), vec![config.type_vocab_size, h], 0.0);
    add("embeddings.LayerNorm.weight".into(), vec![h], 1.0);
    add("embeddings.LayerNorm.bias".into(), vec![h], 0.0);
    for layer in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{layer}");
        for part in ["query", "key", "value"] {
            add(format!("{p}.attention.self.{part}.weight"), vec![h, h], 0.0);
            add(format!("{p}.attention.self.{part}.bias"), vec![h], 0.0);
        }
        add(format!("{p}.attention.output.dense.weight"), vec![h, h], 0.0);
        add(format!("{p}.attention.output.dense.bias"), vec![h], 0.0);
        add(format!("{p}.attention.output.LayerNorm.weight"), vec![h], 1.0);
        add(format!("{p}.attention.output.LayerNorm.bias"), vec![h], 0.0);
        add(format!("{p}.intermediate.dense.weight"), vec![i, h], 0.0);
        add(format!("{p}.intermediate.dense.bias"), vec![i], 0.0);
        add(format!("{p}.output.dense.weight"), vec![h, i], 0.0);
        add(format!("{p}.output.dense.bias"), vec![h], 0.0);
        add(format!("{p}.output.LayerNorm.weight"), vec![h], 1.0);
        add(format!("{p}.output.LayerNorm.bias"), vec![h], 0.0);
    }
    weights
}

fn load(config: &BertConfig, weights: &HashMap<String, Weight>) -> Result<Bert, BertError> {
    Bert::load(config.clone(), &mut |name| weights.get(name).cloned())
}

/// The reference: one text at a time, f64, straight from the equations.
struct Reference<'a> {
    config: &'a BertConfig,
    weights: &'a HashMap<String, Weight>,
}

impl Reference<'_> {
    fn values(&self, name: &str) -> Vec<f64> {
        self.weights[name].values.iter().map(|&v| v as f64).collect()
    }

    /// `x Wᵀ + b` for rows of `x`.
    fn linear(&self, x: &[Vec<f64>], prefix: &str) -> Vec<Vec<f64>> {
        let weight = self.values(&format!("{prefix}.weight"));
        let bias = self.values(&format!("{prefix}.bias"));
        let inputs = x[0].len();
        x.iter()
            .map(|row| {
                bias.iter()
                    .enumerate()
                    .map(|(o, b)| {
                        b + (0..inputs).map(|k| row[k] * weight[o * inputs + k]).sum::<f64>()
                    })
                    .collect()
            })
            .collect()
    }

    fn norm(&self, x: &mut [Vec<f64>], prefix: &str) {
        let (gamma, beta) =
            (self.values(&format!("{prefix}.weight")), self.values(&format!("{prefix}.bias")));
        for row in x {
            let n = row.len() as f64;
            let mean = row.iter().sum::<f64>() / n;
            let variance = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - mean) / (variance + self.config.layer_norm_eps as f64).sqrt() * gamma[j]
                    + beta[j];
            }
        }
    }

    fn activation(&self, x: f64) -> f64 {
        match self.config.activation {
            Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt())),
            Activation::GeluTanh => {
                0.5 * x
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
            }
            Activation::Relu => x.max(0.0),
        }
    }

    fn embed(&self, text: &[u32]) -> Vec<f64> {
        let h = self.config.hidden_size;
        let word = self.values("embeddings.word_embeddings.weight");
        let position = self.values("embeddings.position_embeddings.weight");
        let kind = self.values("embeddings.token_type_embeddings.weight");
        let mut x: Vec<Vec<f64>> = text
            .iter()
            .enumerate()
            .map(|(p, &id)| {
                (0..h).map(|j| word[id as usize * h + j] + position[p * h + j] + kind[j]).collect()
            })
            .collect();
        self.norm(&mut x, "embeddings.LayerNorm");
        let heads = self.config.num_attention_heads;
        let d = h / heads;
        for layer in 0..self.config.num_hidden_layers {
            let p = format!("encoder.layer.{layer}");
            let q = self.linear(&x, &format!("{p}.attention.self.query"));
            let k = self.linear(&x, &format!("{p}.attention.self.key"));
            let v = self.linear(&x, &format!("{p}.attention.self.value"));
            let mut context = vec![vec![0.0; h]; x.len()];
            for head in 0..heads {
                let cols = head * d..(head + 1) * d;
                for i in 0..x.len() {
                    let scores: Vec<f64> = (0..x.len())
                        .map(|j| {
                            cols.clone().map(|c| q[i][c] * k[j][c]).sum::<f64>() / (d as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                    for (j, s) in scores.iter().enumerate() {
                        for c in cols.clone() {
                            context[i][c] += (s - max).exp() / total * v[j][c];
                        }
                    }
                }
            }
            let attended = self.linear(&context, &format!("{p}.attention.output.dense"));
            x.iter_mut()
                .zip(&attended)
                .for_each(|(row, a)| row.iter_mut().zip(a).for_each(|(v, a)| *v += a));
            self.norm(&mut x, &format!("{p}.attention.output.LayerNorm"));
            let mut inner = self.linear(&x, &format!("{p}.intermediate.dense"));
            inner.iter_mut().flatten().for_each(|v| *v = self.activation(*v));
            let out = self.linear(&inner, &format!("{p}.output.dense"));
            x.iter_mut()
                .zip(&out)
                .for_each(|(row, a)| row.iter_mut().zip(a).for_each(|(v, a)| *v += a));
            self.norm(&mut x, &format!("{p}.output.LayerNorm"));
        }
        let mut mean: Vec<f64> =
            (0..h).map(|j| x.iter().map(|row| row[j]).sum::<f64>() / x.len() as f64).collect();
        let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        mean.iter_mut().for_each(|v| *v /= norm);
        mean
    }
}

fn texts() -> Vec<Vec<u32>> {
    vec![
        vec![1],
        (0..7).map(|i| (i * 7 + 3) % 50).collect(),
        (0..13).map(|i| (i * i + 5) % 50).collect(),
        (0..30).map(|i| 49 - i).collect(),
    ]
}

#[test]
fn embeddings_match_the_reference_for_every_activation() {
    for activation in [Activation::Gelu, Activation::GeluTanh, Activation::Relu] {
        let config = config(activation);
        let weights = random_weights(&config, 7);
        let model = load(&config, &weights).unwrap();
        let texts = texts();
        let refs: Vec<&[u32]> = texts.iter().map(Vec::as_slice).collect();
        let ours = model.embed(&refs).unwrap();
        let reference = Reference { config: &config, weights: &weights };
        for (text, ours) in texts.iter().zip(&ours) {
            let expected = reference.embed(text);
            let worst =
                ours.iter().zip(&expected).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(
                worst < 2e-5,
                "{activation:?}, {} tokens: largest difference {worst}",
                text.len()
            );
        }
    }
}

#[test]
fn a_text_gets_the_same_embedding_alone_and_in_a_batch() {
    let config = config(Activation::Gelu);
    let model = load(&config, &random_weights(&config, 11)).unwrap();
    let texts = texts();
    let refs: Vec<&[u32]> = texts.iter().map(Vec::as_slice).collect();
    let together = model.embed(&refs).unwrap();
    for (text, batched) in refs.iter().zip(&together) {
        let alone = model.embed(&[text]).unwrap().remove(0);
        let worst = alone.iter().zip(batched).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "{} tokens: alone and batched differ by {worst}", text.len());
    }
}

#[test]
fn hidden_states_have_one_row_per_token() {
    let config = config(Activation::Gelu);
    let model = load(&config, &random_weights(&config, 3)).unwrap();
    let states = model.hidden_states(&[&[1, 2, 3], &[4]]).unwrap();
    assert_eq!(states.len(), 4 * config.hidden_size);
    assert!(states.iter().all(|v| v.is_finite()));
    assert!(model.embed(&[]).unwrap().is_empty());
}

#[test]
fn unreadable_texts_are_named_by_their_position() {
    let config = config(Activation::Gelu);
    let model = load(&config, &random_weights(&config, 3)).unwrap();
    let long: Vec<u32> = vec![1; 31];
    for (texts, expected) in [
        (vec![&[1u32][..], &[][..]], "text 1: no tokens"),
        (vec![&long[..]], "text 0: 31 tokens, more than the model's 30 positions"),
        (
            vec![&[1, 2][..], &[3][..], &[50][..]],
            "text 2: token id 50 outside the vocabulary of 50",
        ),
    ] {
        let error = model.embed(&texts).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
}

#[test]
fn missing_and_misshapen_weights_are_named() {
    let config = config(Activation::Gelu);
    let mut weights = random_weights(&config, 3);
    weights.remove("encoder.layer.1.output.dense.bias");
    let error = load(&config, &weights).unwrap_err();
    assert_eq!(error.to_string(), "weights: no tensor encoder.layer.1.output.dense.bias");

    let mut weights = random_weights(&config, 3);
    weights.get_mut("encoder.layer.0.intermediate.dense.weight").unwrap().shape = vec![40, 72];
    let error = load(&config, &weights).unwrap_err();
    assert_eq!(
        error.to_string(),
        "weights: tensor encoder.layer.0.intermediate.dense.weight has shape [40, 72], the configuration implies [72, 40]"
    );

    // Older checkpoints name layer-norm weights gamma and beta.
    let mut weights = random_weights(&config, 3);
    for suffix in [("weight", "gamma"), ("bias", "beta")] {
        let value = weights.remove(&format!("embeddings.LayerNorm.{}", suffix.0)).unwrap();
        weights.insert(format!("embeddings.LayerNorm.{}", suffix.1), value);
    }
    load(&config, &weights).unwrap();

    let bad = BertConfig { num_attention_heads: 3, ..config };
    assert!(matches!(load(&bad, &random_weights(&bad, 3)), Err(BertError::Config(_))));
}
