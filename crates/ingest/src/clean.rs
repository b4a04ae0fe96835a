//! Per-day cleaning: exact duplicates, sessions and bot flags.
//!
//! Rules (documented in `docs/events.md`):
//! * **Duplicates.** Rows with the same content id are one event; repeats in
//!   the import and ids already in the lake are dropped and counted.
//! * **Sessions.** A source session id is kept. Otherwise a user's events
//!   belong to one session until a gap longer than `session_gap`; the derived
//!   id is a hash of the user and the session's first event time, so it is
//!   the same on every re-import. Sessions continue across midnight.
//! * **Bots.** A user with more than `bot_max_events` events within any
//!   `bot_window` on a day has all that day's events flagged `is_bot`. They are
//!   kept, not dropped: analyses choose whether to exclude them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::compute::{SortColumn, filter_record_batch, lexsort_to_indices, take_record_batch};
use chrono::Duration;
use events::column;
use serde::Serialize;

use crate::error::Result;

/// Settings of the cleaning rules.
#[derive(Debug, Clone, Copy)]
pub struct CleanOptions {
    pub session_gap: Duration,
    pub bot_max_events: usize,
    pub bot_window: Duration,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            session_gap: Duration::minutes(30),
            bot_max_events: 60,
            bot_window: Duration::seconds(60),
        }
    }
}

/// What cleaning carries from one day to the next: each user's open derived
/// session (last event time, session id).
#[derive(Debug, Default)]
pub struct SessionState {
    open: HashMap<String, (i64, String)>,
}

/// Counts for one day.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DayCounts {
    pub imported: u64,
    pub duplicates_in_import: u64,
    pub already_in_lake: u64,
    pub bot_events: u64,
    pub bot_users: u64,
    pub sessions_derived: u64,
    pub by_event_type: BTreeMap<String, u64>,
}

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> &'a StringArray {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref()).expect("staging schema")
}

/// Cleans one day of staged events into a batch in the lake schema, sorted by
/// user and time.
pub fn clean_day(
    batch: RecordBatch,
    already_in_lake: &HashSet<String>,
    state: &mut SessionState,
    options: &CleanOptions,
) -> Result<(RecordBatch, DayCounts)> {
    let mut counts = DayCounts::default();
    let sort_keys: Vec<SortColumn> = [column::USER_ID, column::EVENT_TIME, column::EVENT_ID]
        .into_iter()
        .map(|name| SortColumn {
            values: batch.column_by_name(name).expect("staging schema").clone(),
            options: None,
        })
        .collect();
    let order = lexsort_to_indices(&sort_keys, None)?;
    let sorted = take_record_batch(&batch, &order)?;
    drop(batch);

    let ids = strings(&sorted, column::EVENT_ID);
    let users = strings(&sorted, column::USER_ID);
    let kinds = strings(&sorted, column::EVENT_TYPE);
    let source_sessions = strings(&sorted, column::SESSION_ID);
    let times: &TimestampMicrosecondArray = sorted
        .column_by_name(column::EVENT_TIME)
        .and_then(|c| c.as_any().downcast_ref())
        .expect("staging schema");

    let rows = sorted.num_rows();
    let mut keep = vec![false; rows];
    for (row, kept) in keep.iter_mut().enumerate() {
        let id = ids.value(row);
        if row > 0 && ids.value(row - 1) == id {
            counts.duplicates_in_import += 1;
        } else if already_in_lake.contains(id) {
            counts.already_in_lake += 1;
        } else {
            *kept = true;
        }
    }

    let gap = options.session_gap.num_microseconds().unwrap_or(i64::MAX);
    let window = options.bot_window.num_microseconds().unwrap_or(i64::MAX);
    let mut sessions = StringBuilder::with_capacity(rows, rows * 16);
    let mut is_bot = vec![false; rows];
    let mut by_event_type: HashMap<&str, u64> = HashMap::new();
    let mut user_start = 0;
    while user_start < rows {
        let user = users.value(user_start);
        let mut user_end = user_start + 1;
        while user_end < rows && users.value(user_end) == user {
            user_end += 1;
        }
        let kept: Vec<usize> = (user_start..user_end).filter(|&r| keep[r]).collect();
        // Sliding window over the user's kept events, in time order.
        let mut left = 0;
        let mut busiest = 0;
        for right in 0..kept.len() {
            while times.value(kept[right]) - times.value(kept[left]) >= window {
                left += 1;
            }
            busiest = busiest.max(right - left + 1);
        }
        let bot = busiest > options.bot_max_events;
        if bot {
            counts.bot_users += 1;
            counts.bot_events += kept.len() as u64;
        }
        for &row in &kept {
            is_bot[row] = bot;
            *by_event_type.entry(kinds.value(row)).or_default() += 1;
            if source_sessions.is_valid(row) {
                sessions.append_value(source_sessions.value(row));
                continue;
            }
            let time = times.value(row);
            let open = state.open.get_mut(user).filter(|(last, _)| time - *last <= gap);
            match open {
                Some((last, id)) => {
                    *last = time;
                    sessions.append_value(&*id);
                }
                None => {
                    let id = derived_session_id(user, time);
                    sessions.append_value(&id);
                    state.open.insert(user.to_string(), (time, id));
                    counts.sessions_derived += 1;
                }
            }
        }
        user_start = user_end;
    }
    counts.by_event_type =
        by_event_type.into_iter().map(|(kind, n)| (kind.to_string(), n)).collect();
    counts.imported = keep.iter().filter(|&&k| k).count() as u64;

    let mask = BooleanArray::from(keep);
    let kept = filter_record_batch(&sorted, &mask)?;
    let bot_flags: Vec<bool> =
        is_bot.iter().zip(mask.values()).filter(|(_, k)| *k).map(|(b, _)| *b).collect();
    let schema = events::schema();
    let mut columns: Vec<ArrayRef> = kept.columns().to_vec();
    let session_index = schema.index_of(column::SESSION_ID).expect("lake schema");
    let bot_index = schema.index_of(column::IS_BOT).expect("lake schema");
    columns[session_index] = Arc::new(sessions.finish());
    columns[bot_index] = Arc::new(BooleanArray::from(bot_flags));
    Ok((RecordBatch::try_new(schema, columns)?, counts))
}

fn derived_session_id(user: &str, first_event_micros: i64) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(user.as_bytes());
    hasher.update(&first_event_micros.to_le_bytes());
    format!("s-{:016x}", hasher.digest())
}
