//! Per-query working memory and top-k selection.

/// Score buffers reused across queries by one thread, so a query allocates only its
/// result.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    pub(crate) item_scores: Vec<f32>,
    item_touched: Vec<bool>,
    pub(crate) touched_items: Vec<u32>,
    pub(crate) row_scores: Vec<f32>,
    row_touched: Vec<bool>,
    pub(crate) touched_rows: Vec<u32>,
}

impl Scratch {
    pub(crate) fn new(items: usize, rows: usize) -> Self {
        Scratch {
            item_scores: vec![0.0; items],
            item_touched: vec![false; items],
            touched_items: Vec::new(),
            row_scores: vec![0.0; rows],
            row_touched: vec![false; rows],
            touched_rows: Vec::new(),
        }
    }

    pub(crate) fn add_item(&mut self, item: u32, score: f32) {
        let at = item as usize;
        if !self.item_touched[at] {
            self.item_touched[at] = true;
            self.touched_items.push(item);
        }
        self.item_scores[at] += score;
    }

    pub(crate) fn add_row(&mut self, row: u32, score: f32) {
        let at = row as usize;
        if !self.row_touched[at] {
            self.row_touched[at] = true;
            self.touched_rows.push(row);
        }
        self.row_scores[at] += score;
    }

    /// The touched item scores divided by their maximum, and the item scores cleared.
    pub(crate) fn take_scaled(&mut self) -> Vec<(u32, f32)> {
        let most =
            self.touched_items.iter().map(|&i| self.item_scores[i as usize]).fold(0.0f32, f32::max);
        let scale = if most > 0.0 { 1.0 / most } else { 0.0 };
        let scores =
            self.touched_items.iter().map(|&i| (i, self.item_scores[i as usize] * scale)).collect();
        for &item in &self.touched_items {
            self.item_scores[item as usize] = 0.0;
            self.item_touched[item as usize] = false;
        }
        self.touched_items.clear();
        scores
    }

    /// Scales the touched item scores so the best is `weight`.
    pub(crate) fn scale(&mut self, weight: f32) {
        let most =
            self.touched_items.iter().map(|&i| self.item_scores[i as usize]).fold(0.0f32, f32::max);
        if most > 0.0 {
            for &item in &self.touched_items {
                self.item_scores[item as usize] *= weight / most;
            }
        }
    }

    /// Resets what the last query touched (not the dense item scores a dense model
    /// overwrites anyway).
    pub(crate) fn clear(&mut self) {
        for &item in &self.touched_items {
            self.item_scores[item as usize] = 0.0;
            self.item_touched[item as usize] = false;
        }
        self.touched_items.clear();
        for &row in &self.touched_rows {
            self.row_scores[row as usize] = 0.0;
            self.row_touched[row as usize] = false;
        }
        self.touched_rows.clear();
    }
}

/// The `k` best `(index, score)` pairs among `candidates` for which `keep` is true, best
/// first; NaN scores are skipped, and ties go to the lower index so results do not depend
/// on candidate order. `keep` is asked only about candidates that could still make the
/// list.
pub fn top_k(
    candidates: impl Iterator<Item = u32>,
    score: impl Fn(u32) -> f32,
    k: usize,
    keep: impl FnMut(u32) -> bool,
) -> Vec<(u32, f32)> {
    let mut best = best_k(candidates, score, k, keep);
    best.sort_unstable_by(best_first);
    best
}

/// Best first, ties to the lower index (scores are never NaN here).
fn best_first(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then(a.0.cmp(&b.0))
}

/// The pairs [`top_k`] returns, in no particular order, for callers that sort them
/// another way.
///
/// Candidates better than the current cut-off go into a buffer of `2k`; a full buffer is
/// cut back to its best `k` with a linear-time selection, which sets the next cut-off.
/// Keeping a sorted list instead cost a shift of half the list per insertion: a third of
/// item-kNN's training time on 10M interactions.
pub(crate) fn best_k(
    candidates: impl Iterator<Item = u32>,
    score: impl Fn(u32) -> f32,
    k: usize,
    mut keep: impl FnMut(u32) -> bool,
) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(2 * k);
    if k == 0 {
        return best;
    }
    let mut cut_off: Option<(u32, f32)> = None;
    for index in candidates {
        let value = score(index);
        if value.is_nan()
            || cut_off.is_some_and(|cut_off| best_first(&(index, value), &cut_off).is_ge())
        {
            continue;
        }
        if !keep(index) {
            continue;
        }
        best.push((index, value));
        if best.len() == 2 * k {
            best.select_nth_unstable_by(k - 1, best_first);
            best.truncate(k);
            cut_off = Some(best[k - 1]);
        }
    }
    if best.len() > k {
        best.select_nth_unstable_by(k - 1, best_first);
        best.truncate(k);
    }
    best
}
