//! The trained network's forward pass for one query, in plain Rust.
//!
//! A query is one short sequence, so candle's per-operation costs dominate there: its
//! CPU matrix product asks for the thread count on every call, which without
//! `RAYON_NUM_THREADS` means reading `/proc/cpuinfo`, and every operation allocates.
//! Here the weights are copied out once into flat arrays and a query costs its
//! arithmetic. The last block computes only the last step, the only one a query needs.
//! Sums run in a fixed order, so a query gives the same bits on any thread.

use candle_nn::VarMap;

use crate::SasRecConfig;
use crate::error::{Result, SasRecError};

/// A linear layer: `weight` is `[outputs, inputs]` row-major, as candle stores it.
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Dense {
    /// `out = weight · x + bias`.
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        for ((value, row), bias) in
            out.iter_mut().zip(self.weight.chunks_exact(self.inputs)).zip(&self.bias)
        {
            *value = dot(row, x) + bias;
        }
    }
}

struct Norm {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Norm {
    /// Layer normalisation of one row, as `network::Norm` computes it.
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let width = x.len() as f32;
        let mean = x.iter().sum::<f32>() / width;
        let variance = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width;
        let inverse = 1.0 / (variance + 1e-8).sqrt();
        for (((value, &input), scale), shift) in
            out.iter_mut().zip(x).zip(&self.scale).zip(&self.shift)
        {
            *value = (input - mean) * inverse * scale + shift;
        }
    }
}

struct Block {
    attention_norm: Norm,
    query_key_value: Dense,
    attention_out: Dense,
    feed_forward_norm: Norm,
    feed_forward_in: Dense,
    feed_forward_out: Dense,
}

/// The network's weights as flat arrays.
pub struct Inference {
    width: usize,
    heads: usize,
    /// `[items, width]`: input embeddings and output layer at once.
    items: Vec<f32>,
    positions: Vec<f32>,
    blocks: Vec<Block>,
    final_norm: Norm,
}

impl Inference {
    /// Copies the weights out of the variables `network::Network` was built from.
    pub fn new(weights: &VarMap, config: &SasRecConfig) -> Result<Self> {
        let data = weights.data().lock().expect("the weight map is never poisoned");
        let get = |name: &str| -> Result<Vec<f32>> {
            let var = data.get(name).ok_or_else(|| {
                SasRecError::Config(format!("sasrec: the network has no weight {name}"))
            })?;
            Ok(var.as_tensor().flatten_all()?.to_vec1::<f32>()?)
        };
        let norm = |prefix: &str| -> Result<Norm> {
            Ok(Norm {
                scale: get(&format!("{prefix}.scale"))?,
                shift: get(&format!("{prefix}.shift"))?,
            })
        };
        let dense = |prefix: &str| -> Result<Dense> {
            Ok(Dense {
                weight: get(&format!("{prefix}.weight"))?,
                bias: get(&format!("{prefix}.bias"))?,
                inputs: config.hidden,
            })
        };
        let blocks = (0..config.blocks)
            .map(|index| {
                let at = |part: &str| format!("block{index}.{part}");
                Ok(Block {
                    attention_norm: norm(&at("attention_norm"))?,
                    query_key_value: dense(&at("query_key_value"))?,
                    attention_out: dense(&at("attention_out"))?,
                    feed_forward_norm: norm(&at("feed_forward_norm"))?,
                    feed_forward_in: dense(&at("feed_forward_in"))?,
                    feed_forward_out: dense(&at("feed_forward_out"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            width: config.hidden,
            heads: config.heads,
            items: get("items.weight")?,
            positions: get("positions.weight")?,
            blocks,
            final_norm: norm("final_norm")?,
        })
    }

    /// Every item's score after `sequence` (item indices, oldest first, 1 to `max_len`
    /// of them).
    pub fn scores(&self, sequence: &[u32]) -> Vec<f32> {
        let width = self.width;
        let steps = sequence.len();
        let embedding_scale = (width as f32).sqrt();
        let mut x = vec![0.0f32; steps * width];
        for (step, (row, &item)) in x.chunks_exact_mut(width).zip(sequence).enumerate() {
            let embedding = &self.items[item as usize * width..][..width];
            let position = &self.positions[step * width..][..width];
            for ((value, e), p) in row.iter_mut().zip(embedding).zip(position) {
                *value = e * embedding_scale + p;
            }
        }
        for (index, block) in self.blocks.iter().enumerate() {
            // Later blocks and the output read only the last step, so the last block
            // computes no other.
            let first = if index + 1 == self.blocks.len() { steps - 1 } else { 0 };
            x = self.block(block, &x, steps, first);
        }
        let mut last = vec![0.0f32; width];
        self.final_norm.apply(&x[x.len() - width..], &mut last);
        self.items.chunks_exact(width).map(|embedding| dot(embedding, &last)).collect()
    }

    /// One block over `x` (`steps` rows); returns rows `first..steps` of its output.
    fn block(&self, block: &Block, x: &[f32], steps: usize, first: usize) -> Vec<f32> {
        let width = self.width;
        let head_width = width / self.heads;
        let mut normed = vec![0.0f32; width];
        let mut qkv = vec![0.0f32; steps * 3 * width];
        for (row, out) in x.chunks_exact(width).zip(qkv.chunks_exact_mut(3 * width)) {
            block.attention_norm.apply(row, &mut normed);
            block.query_key_value.apply(&normed, out);
        }
        let rows = steps - first;
        let mut out = x[first * width..].to_vec();
        let mut attended = vec![0.0f32; width];
        let mut projected = vec![0.0f32; width];
        let mut hidden = vec![0.0f32; width];
        let mut weights = vec![0.0f32; steps];
        let scale = 1.0 / (head_width as f32).sqrt();
        for row in 0..rows {
            let step = first + row;
            for head in 0..self.heads {
                let part = head * head_width..(head + 1) * head_width;
                let query = &qkv[step * 3 * width..][part.clone()];
                // Causal: step `step` attends to steps 0..=step only.
                let seen = &mut weights[..=step];
                for (earlier, weight) in seen.iter_mut().enumerate() {
                    let key = &qkv[earlier * 3 * width + width..][part.clone()];
                    *weight = dot(query, key) * scale;
                }
                softmax(seen);
                let target = &mut attended[part.clone()];
                target.fill(0.0);
                for (earlier, &weight) in seen.iter().enumerate() {
                    let value = &qkv[earlier * 3 * width + 2 * width..][part.clone()];
                    for (t, v) in target.iter_mut().zip(value) {
                        *t += weight * v;
                    }
                }
            }
            let residual = &mut out[row * width..][..width];
            block.attention_out.apply(&attended, &mut projected);
            residual.iter_mut().zip(&projected).for_each(|(r, p)| *r += p);
            block.feed_forward_norm.apply(residual, &mut normed);
            block.feed_forward_in.apply(&normed, &mut hidden);
            hidden.iter_mut().for_each(|h| *h = h.max(0.0));
            block.feed_forward_out.apply(&hidden, &mut projected);
            residual.iter_mut().zip(&projected).for_each(|(r, p)| *r += p);
        }
        out
    }
}

/// A dot product in eight independent lanes, which the compiler turns into vector
/// instructions (one running sum would force a serial order); still a fixed order.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn softmax(values: &mut [f32]) {
    let most = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for value in values.iter_mut() {
        *value = (*value - most).exp();
        total += *value;
    }
    values.iter_mut().for_each(|value| *value /= total);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    #[test]
    fn the_plain_forward_pass_agrees_with_the_training_network() {
        for config in [
            SasRecConfig { hidden: 16, blocks: 2, heads: 2, max_len: 6, ..SasRecConfig::default() },
            SasRecConfig { hidden: 24, blocks: 1, heads: 1, max_len: 6, ..SasRecConfig::default() },
        ] {
            let (weights, network) = network::build(11, &config).unwrap();
            network::seed_weights(&weights, 3).unwrap();
            let inference = Inference::new(&weights, &config).unwrap();
            for sequence in [&[4u32][..], &[1, 2, 3], &[10, 0, 10, 5, 7, 7]] {
                let expected = network.next_scores(sequence).unwrap();
                let got = inference.scores(sequence);
                assert_eq!(got.len(), 11);
                for (g, e) in got.iter().zip(&expected) {
                    assert!((g - e).abs() < 1e-4, "{sequence:?}: {got:?} vs {expected:?}");
                }
            }
        }
    }

    #[test]
    fn dot_products_cover_the_tail() {
        let a: Vec<f32> = (1..=11).map(|v| v as f32).collect();
        assert_eq!(dot(&a, &[1.0; 11]), 66.0);
        assert_eq!(dot(&a[..3], &a[..3]), 14.0);
    }
}
