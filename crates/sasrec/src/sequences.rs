//! Click sequences: each user's items in time order, the training windows cut from
//! them, and padded batches.

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use recommend::Dataset;

use crate::error::Result;

/// Each user's clicked items in time order (ties keep file order), by user index.
pub fn user_sequences(dataset: &Dataset) -> Vec<Vec<u32>> {
    let mut clicks: Vec<Vec<(f64, u32)>> = vec![Vec::new(); dataset.users.len()];
    for session in &dataset.sessions {
        let user = &mut clicks[session.user as usize];
        user.extend(session.clicks.iter().map(|click| (click.time, click.item)));
    }
    clicks
        .into_iter()
        .map(|mut user| {
            // Stable, so sessions that tie keep the order they were read in.
            user.sort_by(|a, b| a.0.total_cmp(&b.0));
            user.into_iter().map(|(_, item)| item).collect()
        })
        .collect()
}

/// Every user's latest `max_len` items, packed: user `u`'s are
/// `items[offsets[u]..offsets[u + 1]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecentItems {
    pub offsets: Vec<u32>,
    pub items: Vec<u32>,
}

impl RecentItems {
    pub fn new(sequences: &[Vec<u32>], max_len: usize) -> Self {
        let mut recent = RecentItems { offsets: vec![0], items: Vec::new() };
        for sequence in sequences {
            recent.items.extend_from_slice(&sequence[sequence.len().saturating_sub(max_len)..]);
            recent.offsets.push(recent.items.len() as u32);
        }
        recent
    }

    pub fn of(&self, user: usize) -> &[u32] {
        &self.items[self.offsets[user] as usize..self.offsets[user + 1] as usize]
    }
}

/// One training example: `max_len` or fewer consecutive clicks as input, and the click
/// after each as its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub inputs: Vec<u32>,
    pub targets: Vec<u32>,
}

/// Cuts sequences into windows so that every click after the first is a target exactly
/// once. A sequence longer than `max_len + 1` is cut from its end backwards, so the
/// latest clicks are predicted from the longest context, as at query time.
pub fn windows(sequences: &[Vec<u32>], max_len: usize) -> Vec<Window> {
    let mut windows = Vec::new();
    for sequence in sequences {
        let mut end = sequence.len().saturating_sub(1);
        while end > 0 {
            let start = end.saturating_sub(max_len);
            windows.push(Window {
                inputs: sequence[start..end].to_vec(),
                targets: sequence[start + 1..=end].to_vec(),
            });
            end = start;
        }
    }
    windows
}

/// A padded batch: inputs `[batch, steps]` right-padded with item 0, the flat indices
/// (`row * steps + step`) of the real steps, and their targets in the same order.
pub struct Batch {
    pub inputs: Tensor,
    pub positions: Tensor,
    pub targets: Tensor,
}

impl Batch {
    pub fn new(windows: &[&Window], device: &Device) -> Result<Self> {
        let steps = windows.iter().map(|w| w.inputs.len()).max().unwrap_or(1).max(1);
        let mut inputs = vec![0u32; windows.len() * steps];
        let mut positions = Vec::new();
        let mut targets = Vec::new();
        for (row, window) in windows.iter().enumerate() {
            for (step, (&input, &target)) in window.inputs.iter().zip(&window.targets).enumerate() {
                let at = row * steps + step;
                inputs[at] = input;
                positions.push(at as u32);
                targets.push(target);
            }
        }
        let count = positions.len();
        Ok(Self {
            inputs: Tensor::from_vec(inputs, (windows.len(), steps), device)?,
            positions: Tensor::from_vec(positions, count, device)?,
            targets: Tensor::from_vec(targets, count, device)?,
        })
    }
}

/// One epoch's batches: windows shuffled, then grouped by length so a batch carries
/// little padding, and the batches shuffled again so lengths do not come in order.
pub fn epoch_batches<'a>(
    windows: &'a [Window],
    batch_size: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<Vec<&'a Window>> {
    let mut order: Vec<&Window> = windows.iter().collect();
    order.shuffle(rng);
    // Stable: windows of one length stay in their shuffled order.
    order.sort_by_key(|window| window.inputs.len());
    let mut batches: Vec<Vec<&Window>> =
        order.chunks(batch_size.max(1)).map(<[&Window]>::to_vec).collect();
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sequence: &[u32], max_len: usize, expect: &[(&[u32], &[u32])]) {
        let got = windows(&[sequence.to_vec()], max_len);
        let got: Vec<(&[u32], &[u32])> =
            got.iter().map(|w| (w.inputs.as_slice(), w.targets.as_slice())).collect();
        assert_eq!(got, expect, "{sequence:?} max_len {max_len}");
    }

    #[test]
    fn every_click_after_the_first_is_a_target_once() {
        check(&[], 3, &[]);
        check(&[1], 3, &[]);
        check(&[1, 2], 3, &[(&[1], &[2])]);
        check(&[1, 2, 3, 4], 3, &[(&[1, 2, 3], &[2, 3, 4])]);
        // Longer: the last window has the full context, the first takes the rest.
        check(&[1, 2, 3, 4, 5, 6], 3, &[(&[3, 4, 5], &[4, 5, 6]), (&[1, 2], &[2, 3])]);
        check(&[1, 2, 3, 4, 5, 6, 7], 3, &[(&[4, 5, 6], &[5, 6, 7]), (&[1, 2, 3], &[2, 3, 4])]);
    }

    #[test]
    fn recent_items_keep_the_latest_clicks() {
        let recent = RecentItems::new(&[vec![1, 2, 3], vec![], vec![4]], 2);
        assert_eq!(recent.of(0), [2, 3]);
        assert_eq!(recent.of(1), [] as [u32; 0]);
        assert_eq!(recent.of(2), [4]);
    }
}
