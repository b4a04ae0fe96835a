//! The SASRec network (Kang & McAuley 2018): item embeddings plus learned positions, a
//! stack of causal self-attention blocks, and the item embeddings again as the output
//! layer, so every position scores every item.
//!
//! Built from plain tensor operations only. candle's fused `layer_norm` and
//! `softmax_last_dim` kernels have no backward pass, and its `dropout` draws from an
//! unseeded generator; the versions here are differentiable and seeded.

use candle_core::{CpuStorage, CustomOp2, D, DType, Device, Layout, Shape, Tensor, Var};
use candle_nn::{Embedding, Linear, Module, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::SasRecConfig;
use crate::error::Result;

/// Layer normalisation over the last dimension, with a learned scale and shift.
struct Norm {
    scale: Tensor,
    shift: Tensor,
}

impl Norm {
    fn new(width: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self { scale: vb.get(width, "scale")?, shift: vb.get(width, "shift")? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(variance + 1e-8)?.sqrt()?)?;
        Ok(normed.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)?)
    }
}

/// Seeded inverted dropout: kept values are scaled by `1 / (1 - rate)` in training, so
/// inference needs no rescaling.
pub struct Dropout {
    rate: f32,
    rng: Xoshiro256PlusPlus,
}

impl Dropout {
    pub fn new(rate: f32, seed: u64) -> Self {
        Self { rate, rng: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        if self.rate <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - self.rate);
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if self.rng.random::<f32>() < self.rate { 0.0 } else { keep })
            .collect();
        Ok((x * Tensor::from_vec(mask, x.shape(), x.device())?)?)
    }
}

/// Applies dropout in training and nothing at inference.
fn maybe_dropout(x: Tensor, dropout: &mut Option<&mut Dropout>) -> Result<Tensor> {
    match dropout {
        Some(dropout) => dropout.apply(&x),
        None => Ok(x),
    }
}

/// Pre-norm Transformer block: causal multi-head self-attention, then a point-wise
/// feed-forward layer, each added back to its input.
struct Block {
    attention_norm: Norm,
    query_key_value: Linear,
    attention_out: Linear,
    feed_forward_norm: Norm,
    feed_forward_in: Linear,
    feed_forward_out: Linear,
    heads: usize,
}

impl Block {
    fn new(config: &SasRecConfig, vb: VarBuilder) -> Result<Self> {
        let width = config.hidden;
        Ok(Self {
            attention_norm: Norm::new(width, vb.pp("attention_norm"))?,
            query_key_value: candle_nn::linear(width, 3 * width, vb.pp("query_key_value"))?,
            attention_out: candle_nn::linear(width, width, vb.pp("attention_out"))?,
            feed_forward_norm: Norm::new(width, vb.pp("feed_forward_norm"))?,
            feed_forward_in: candle_nn::linear(width, width, vb.pp("feed_forward_in"))?,
            feed_forward_out: candle_nn::linear(width, width, vb.pp("feed_forward_out"))?,
            heads: config.heads,
        })
    }

    /// `x`: `[batch, steps, width]`; `mask`: `[steps, steps]`, 0 where a step may look and
    /// a large negative number where it may not (later steps).
    fn forward(
        &self,
        x: &Tensor,
        mask: &Tensor,
        dropout: &mut Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let (batch, steps, width) = x.dims3()?;
        let head_width = width / self.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((batch, steps, self.heads, head_width))?.transpose(1, 2)?.contiguous()?)
        };
        let qkv = self.query_key_value.forward(&self.attention_norm.forward(x)?)?;
        let query = split(qkv.narrow(D::Minus1, 0, width)?)?;
        let key = split(qkv.narrow(D::Minus1, width, width)?)?;
        let value = split(qkv.narrow(D::Minus1, 2 * width, width)?)?;
        let scores = (query.matmul(&key.t()?)? / (head_width as f64).sqrt())?;
        let weights = candle_nn::ops::softmax(&scores.broadcast_add(mask)?, D::Minus1)?;
        let attended = weights.matmul(&value)?.transpose(1, 2)?.reshape((batch, steps, width))?;
        let attended = maybe_dropout(self.attention_out.forward(&attended)?, dropout)?;
        let x = (x + attended)?;
        let hidden = self.feed_forward_in.forward(&self.feed_forward_norm.forward(&x)?)?.relu()?;
        let fed = maybe_dropout(self.feed_forward_out.forward(&hidden)?, dropout)?;
        Ok((x + fed)?)
    }
}

/// The whole network; built from a [`VarBuilder`] so training and loading share it.
pub struct Network {
    items: Embedding,
    positions: Embedding,
    blocks: Vec<Block>,
    final_norm: Norm,
    width: usize,
}

impl Network {
    pub fn new(items: usize, config: &SasRecConfig, vb: VarBuilder) -> Result<Self> {
        let blocks = (0..config.blocks)
            .map(|index| Block::new(config, vb.pp(format!("block{index}"))))
            .collect::<Result<_>>()?;
        Ok(Self {
            items: candle_nn::embedding(items, config.hidden, vb.pp("items"))?,
            positions: candle_nn::embedding(config.max_len, config.hidden, vb.pp("positions"))?,
            blocks,
            final_norm: Norm::new(config.hidden, vb.pp("final_norm"))?,
            width: config.hidden,
        })
    }

    /// Hidden states `[batch, steps, width]` for item sequences `[batch, steps]` (u32,
    /// oldest first, right-padded). Step `t` sees steps `0..=t` only, so padding after a
    /// sequence's end never reaches its real steps.
    pub fn hidden(&self, tokens: &Tensor, mut dropout: Option<&mut Dropout>) -> Result<Tensor> {
        let (_, steps) = tokens.dims2()?;
        let device = tokens.device();
        let positions = Tensor::arange(0u32, steps as u32, device)?;
        // Embeddings are scaled up as in the paper, so positions add a small shift to them.
        let x = (self.items.forward(tokens)? * (self.width as f64).sqrt())?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let mut x = maybe_dropout(x, &mut dropout)?;
        let mask = causal_mask(steps, device)?;
        for block in &self.blocks {
            x = block.forward(&x, &mask, &mut dropout)?;
        }
        self.final_norm.forward(&x)
    }

    /// Scores `[rows, items]` of hidden states `[rows, width]`: the dot product with each
    /// item's embedding (the input and output embeddings are shared).
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(hidden.matmul(&self.items.embeddings().t()?)?)
    }

    /// Scores of every item after one item sequence (oldest first, at most `max_len`);
    /// what `inference::Inference::scores` computes without candle.
    #[cfg(test)]
    pub fn next_scores(&self, sequence: &[u32]) -> Result<Vec<f32>> {
        use candle_core::IndexOp;
        let tokens = Tensor::from_slice(sequence, (1, sequence.len()), &Device::Cpu)?;
        let hidden = self.hidden(&tokens, None)?;
        let last = hidden.i((.., sequence.len() - 1, ..))?;
        Ok(self.logits(&last)?.squeeze(0)?.to_vec1::<f32>()?)
    }
}

fn causal_mask(steps: usize, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> = (0..steps)
        .flat_map(|row| (0..steps).map(move |column| if column > row { -1e9 } else { 0.0 }))
        .collect();
    Ok(Tensor::from_vec(values, (steps, steps), device)?)
}

/// candle's CPU initialisers draw from an unseeded generator; every weight is redrawn
/// here from a seeded one, in name order, so the same seed gives the same network.
/// Linear weights are uniform in ±1/√fan_in (PyTorch's default), embeddings uniform with
/// a standard deviation of about 0.03 (SASRec's Xavier initialisation at this size),
/// biases and shifts 0, scales 1.
pub fn seed_weights(weights: &VarMap, seed: u64) -> Result<()> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let data = weights.data().lock().expect("the weight map is never poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var: &Var = &data[name];
        let dims = var.dims().to_vec();
        let count: usize = dims.iter().product();
        let values: Vec<f32> = if name.ends_with("scale") {
            vec![1.0; count]
        } else if dims.len() == 1 {
            vec![0.0; count]
        } else if name.starts_with("items") || name.starts_with("positions") {
            (0..count).map(|_| rng.random_range(-0.05..0.05)).collect()
        } else {
            let bound = 1.0 / (*dims.last().expect("2-D") as f32).sqrt();
            (0..count).map(|_| rng.random_range(-bound..bound)).collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
    }
    Ok(())
}

/// A copy of every weight, to return to the best epoch after training.
pub fn snapshot(weights: &VarMap) -> Result<Vec<(String, Tensor)>> {
    let data = weights.data().lock().expect("the weight map is never poisoned");
    data.iter().map(|(name, var)| Ok((name.clone(), var.as_tensor().copy()?))).collect()
}

pub fn restore(weights: &VarMap, kept: &[(String, Tensor)]) -> Result<()> {
    let data = weights.data().lock().expect("the weight map is never poisoned");
    for (name, tensor) in kept {
        data[name].set(tensor)?;
    }
    Ok(())
}

/// A fresh variable map with the network's layers in it, on the CPU in f32.
pub fn build(items: usize, config: &SasRecConfig) -> Result<(VarMap, Network)> {
    let weights = VarMap::new();
    let vb = VarBuilder::from_varmap(&weights, DType::F32, &Device::Cpu);
    let network = Network::new(items, config, vb)?;
    Ok((weights, network))
}

impl Network {
    /// Mean cross-entropy of the full softmax over all items at every real step of a
    /// batch, with dropout.
    pub fn loss(&self, batch: &crate::sequences::Batch, dropout: &mut Dropout) -> Result<Tensor> {
        let hidden = self.hidden(&batch.inputs, Some(dropout))?;
        let (rows, steps, width) = hidden.dims3()?;
        let real = hidden.reshape((rows * steps, width))?.index_select(&batch.positions, 0)?;
        Ok(self.logits(&real)?.apply_op2(&batch.targets, SoftmaxCrossEntropy)?)
    }
}

/// Mean cross-entropy of the softmax of logits `[rows, items]` against target indices
/// `[rows]` (u32), as one operation with its own gradient.
///
/// The logits are by far the largest tensor of a step (every target times every item).
/// candle's composed loss makes about a dozen passes over them, forward and back, each
/// large enough to go to its spinning thread pool, which on a shared machine spins more
/// than it works; this makes two plain passes each way.
struct SoftmaxCrossEntropy;

/// The contiguous f32 logits and u32 targets of the loss's inputs.
fn loss_inputs<'a>(
    logits: &'a CpuStorage,
    logits_layout: &Layout,
    targets: &'a CpuStorage,
    targets_layout: &Layout,
) -> candle_core::Result<(&'a [f32], &'a [u32], usize)> {
    let (rows, items) = logits_layout.shape().dims2()?;
    let (CpuStorage::F32(logits), CpuStorage::U32(targets)) = (logits, targets) else {
        candle_core::bail!("softmax cross-entropy takes f32 logits and u32 targets");
    };
    let (Some((logits_start, logits_end)), Some((targets_start, targets_end))) =
        (logits_layout.contiguous_offsets(), targets_layout.contiguous_offsets())
    else {
        candle_core::bail!("softmax cross-entropy takes contiguous inputs");
    };
    let targets = &targets[targets_start..targets_end];
    if targets.len() != rows || targets.iter().any(|&t| t as usize >= items) {
        candle_core::bail!("softmax cross-entropy: targets do not match the logits");
    }
    Ok((&logits[logits_start..logits_end], targets, items))
}

/// The largest logit and log Σ exp(logit − largest) of a row.
fn log_sum_exp(row: &[f32]) -> (f32, f32) {
    let most = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (most, row.iter().map(|&logit| (logit - most).exp()).sum::<f32>().ln())
}

impl CustomOp2 for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        logits: &CpuStorage,
        logits_layout: &Layout,
        targets: &CpuStorage,
        targets_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (logits, targets, items) = loss_inputs(logits, logits_layout, targets, targets_layout)?;
        let mut total = 0.0f64;
        for (row, &target) in logits.chunks_exact(items).zip(targets) {
            let (most, log_sum) = log_sum_exp(row);
            total += f64::from(most + log_sum - row[target as usize]);
        }
        let mean = (total / targets.len().max(1) as f64) as f32;
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _loss: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let scale = grad.to_scalar::<f32>()?;
        let logits_grad = logits.apply_op2_no_bwd(targets, &SoftmaxCrossEntropyGrad { scale })?;
        Ok((Some(logits_grad), None))
    }
}

/// The loss's gradient with respect to the logits: `(softmax − one-hot) · scale / rows`.
struct SoftmaxCrossEntropyGrad {
    scale: f32,
}

impl CustomOp2 for SoftmaxCrossEntropyGrad {
    fn name(&self) -> &'static str {
        "softmax-cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        logits: &CpuStorage,
        logits_layout: &Layout,
        targets: &CpuStorage,
        targets_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (logits, targets, items) = loss_inputs(logits, logits_layout, targets, targets_layout)?;
        let per_row = self.scale / targets.len().max(1) as f32;
        let mut grad = vec![0.0f32; logits.len()];
        for ((row, out), &target) in
            logits.chunks_exact(items).zip(grad.chunks_exact_mut(items)).zip(targets)
        {
            let (most, log_sum) = log_sum_exp(row);
            for (g, &logit) in out.iter_mut().zip(row) {
                *g = (logit - most - log_sum).exp() * per_row;
            }
            out[target as usize] -= per_row;
        }
        Ok((CpuStorage::F32(grad), logits_layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_loss_and_its_gradient_match_candles_composed_ones() {
        let values: Vec<f32> = (0..4 * 7).map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.0).collect();
        let logits = Var::from_vec(values, (4, 7), &Device::Cpu).unwrap();
        let targets = Tensor::new(&[0u32, 6, 3, 3], &Device::Cpu).unwrap();
        let fused = logits.apply_op2(&targets, SoftmaxCrossEntropy).unwrap();
        let composed = candle_nn::loss::cross_entropy(&logits, &targets).unwrap();
        let close = |a: &Tensor, b: &Tensor| {
            let (a, b) = (a.flatten_all().unwrap(), b.flatten_all().unwrap());
            let (a, b) = (a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
            assert_eq!(a.len(), b.len());
            assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5), "{a:?} vs {b:?}");
        };
        close(&fused, &composed);
        // Scaled, as when the loss is part of a larger expression.
        let fused_grad = (fused * 3.0).unwrap().backward().unwrap();
        let composed_grad = (composed * 3.0).unwrap().backward().unwrap();
        close(fused_grad.get(&logits).unwrap(), composed_grad.get(&logits).unwrap());
    }

    #[test]
    fn the_fused_loss_stays_finite_for_huge_logits() {
        let logits = Tensor::new(&[[1e30f32, -1e30, 0.0], [0.0, 0.0, 1e30]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[1u32, 2], &Device::Cpu).unwrap();
        let loss = logits.apply_op2(&targets, SoftmaxCrossEntropy).unwrap();
        // Row 1 misses by 2e30, row 2 is certain: mean 1e30, finite.
        assert!(loss.to_scalar::<f32>().unwrap().is_finite());
    }
}
