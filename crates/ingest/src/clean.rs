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

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray as _, BooleanArray, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::compute::interleave;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::Duration;
use events::column;
use foldhash::HashMap;
use rayon::prelude::*;
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

/// Cleans one day of staged events (the day's batches in staging order) into
/// a batch in the lake schema, sorted by user, time and event id.
pub fn clean_day(
    batches: &[RecordBatch],
    already_in_lake: &HashSet<String>,
    state: &mut SessionState,
    options: &CleanOptions,
) -> Result<(RecordBatch, DayCounts)> {
    let mut counts = DayCounts::default();
    // Only the columns the rules read are made contiguous; the others are
    // gathered once, in the final order, straight from the staged batches.
    let read = [
        column::EVENT_ID,
        column::USER_ID,
        column::EVENT_TYPE,
        column::SESSION_ID,
        column::EVENT_TIME,
    ]
    .par_iter()
    .map(|name| {
        let parts: Vec<&dyn Array> = batches
            .iter()
            .map(|b| b.column_by_name(name).expect("staging schema").as_ref())
            .collect();
        Ok(arrow::compute::concat(&parts)?)
    })
    .collect::<Result<Vec<ArrayRef>>>()?;
    let ids = read[0].as_string::<i32>();
    let users = read[1].as_string::<i32>();
    let kinds = read[2].as_string::<i32>();
    let source_sessions = read[3].as_string::<i32>();
    let times = read[4].as_primitive::<TimestampMicrosecondType>();

    let order = DayOrder::new(users, times, ids);
    let rows = order.len();
    let mut keep = vec![false; rows];
    for (position, kept) in keep.iter_mut().enumerate() {
        // An event id is a hash of the whole event, user and time included, so
        // equal ids sit in one run of equal (user, time) keys.
        let id = || ids.value(order.row(position));
        if position > 0
            && order.same_user_and_time(position - 1, position)
            && ids.value(order.row(position - 1)) == id()
        {
            counts.duplicates_in_import += 1;
        } else if !already_in_lake.is_empty() && already_in_lake.contains(id()) {
            counts.already_in_lake += 1;
        } else {
            *kept = true;
        }
    }

    let gap = options.session_gap.num_microseconds().unwrap_or(i64::MAX);
    let window = options.bot_window.num_microseconds().unwrap_or(i64::MAX);
    let mut sessions = StringBuilder::with_capacity(rows, rows * 16);
    let mut bot_flags = Vec::with_capacity(rows);
    let mut gather = Vec::with_capacity(rows);
    let locations = row_locations(batches);
    let mut by_event_type: HashMap<&str, u64> = HashMap::default();
    let mut kept: Vec<usize> = Vec::new();
    let mut user_start = 0;
    while user_start < rows {
        let rank = order.user_rank(user_start);
        let mut user_end = user_start + 1;
        while user_end < rows && order.user_rank(user_end) == rank {
            user_end += 1;
        }
        let user = users.value(order.row(user_start));
        kept.clear();
        kept.extend((user_start..user_end).filter(|&p| keep[p]).map(|p| order.row(p)));
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
        // The user's open derived session, looked up once per user and day.
        let mut open = state.open.get_mut(user).map(std::mem::take);
        let mut opened = false;
        for &row in &kept {
            bot_flags.push(bot);
            gather.push(locations[row]);
            *by_event_type.entry(kinds.value(row)).or_default() += 1;
            if source_sessions.is_valid(row) {
                sessions.append_value(source_sessions.value(row));
                continue;
            }
            let time = times.value(row);
            match open.as_mut().filter(|(last, _)| time - *last <= gap) {
                Some((last, id)) => {
                    *last = time;
                    sessions.append_value(&*id);
                }
                None => {
                    let id = derived_session_id(user, time);
                    sessions.append_value(&id);
                    open = Some((time, id));
                    opened = true;
                    counts.sessions_derived += 1;
                }
            }
        }
        if let Some(open) = open {
            match state.open.get_mut(user) {
                Some(slot) => *slot = open,
                None if opened => {
                    state.open.insert(user.to_string(), open);
                }
                None => {}
            }
        }
        user_start = user_end;
    }
    counts.by_event_type =
        by_event_type.into_iter().map(|(kind, n)| (kind.to_string(), n)).collect();
    counts.imported = gather.len() as u64;

    let schema = events::schema();
    let session_index = schema.index_of(column::SESSION_ID).expect("lake schema");
    let bot_index = schema.index_of(column::IS_BOT).expect("lake schema");
    // The other columns are gathered from the staged batches, one per task.
    let mut columns = (0..schema.fields().len())
        .into_par_iter()
        .map(|index| {
            if index == session_index || index == bot_index {
                return Ok(None);
            }
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(index).as_ref()).collect();
            Ok(Some(interleave(&parts, &gather)?))
        })
        .collect::<Result<Vec<Option<ArrayRef>>>>()?;
    columns[session_index] = Some(Arc::new(sessions.finish()));
    columns[bot_index] = Some(Arc::new(BooleanArray::from(bot_flags)));
    let columns: Vec<ArrayRef> =
        columns.into_iter().map(|column| column.expect("every column is built")).collect();
    Ok((RecordBatch::try_new(schema, columns)?, counts))
}

/// Where each row of a day (numbered across its batches) is: (batch, row).
fn row_locations(batches: &[RecordBatch]) -> Vec<(usize, usize)> {
    batches
        .iter()
        .enumerate()
        .flat_map(|(batch, b)| (0..b.num_rows()).map(move |row| (batch, row)))
        .collect()
}

/// A day's rows in cleaning order: by user id, then event time, then event
/// id, then staging position (so exact duplicates keep their input order).
///
/// The sort compares fixed-width keys, not strings: the day's distinct user
/// ids are sorted once and replaced by their rank, and each key packs
/// (user rank, time, row) into a `u128`. Event ids are compared only between
/// rows of one user at one microsecond, which are rare.
struct DayOrder {
    keys: Vec<u128>,
}

impl DayOrder {
    fn new(users: &StringArray, times: &TimestampMicrosecondArray, ids: &StringArray) -> DayOrder {
        let rows = users.len();
        assert!(u32::try_from(rows).is_ok(), "a day holds fewer than 2^32 events");
        let mut distinct: HashMap<&str, u32> = HashMap::default();
        let user_of_row: Vec<u32> = (0..rows)
            .map(|row| {
                let next = distinct.len() as u32;
                *distinct.entry(users.value(row)).or_insert(next)
            })
            .collect();
        let mut by_name: Vec<(&str, u32)> = distinct.into_iter().collect();
        by_name.sort_unstable();
        let mut rank = vec![0u32; by_name.len()];
        for (position, (_, first_seen)) in by_name.iter().enumerate() {
            rank[*first_seen as usize] = position as u32;
        }
        let mut keys: Vec<u128> = (0..rows)
            .map(|row| {
                let time = (times.value(row) as u64) ^ (1 << 63);
                (u128::from(rank[user_of_row[row] as usize]) << 96)
                    | (u128::from(time) << 32)
                    | row as u128
            })
            .collect();
        keys.par_sort_unstable();
        // Rows of one user at one time: order by event id, then row.
        let mut start = 0;
        while start < keys.len() {
            let mut end = start + 1;
            while end < keys.len() && keys[end] >> 32 == keys[start] >> 32 {
                end += 1;
            }
            if end - start > 1 {
                keys[start..end].sort_by(|a, b| {
                    let (a, b) = (*a as u32 as usize, *b as u32 as usize);
                    ids.value(a).cmp(ids.value(b)).then(a.cmp(&b))
                });
            }
            start = end;
        }
        DayOrder { keys }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    /// The row (in staging order) at `position`.
    fn row(&self, position: usize) -> usize {
        self.keys[position] as u32 as usize
    }

    /// Whether the rows at two positions have the same user and event time.
    fn same_user_and_time(&self, a: usize, b: usize) -> bool {
        self.keys[a] >> 32 == self.keys[b] >> 32
    }

    /// The rank of the user at `position`: equal ranks are equal user ids.
    fn user_rank(&self, position: usize) -> u32 {
        (self.keys[position] >> 96) as u32
    }
}

fn derived_session_id(user: &str, first_event_micros: i64) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(user.as_bytes());
    hasher.update(&first_event_micros.to_le_bytes());
    format!("s-{:016x}", hasher.digest())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::compute::{SortColumn, lexsort_to_indices};
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    /// Rows of (user, time µs, event id) as the three sort columns.
    fn columns(
        rows: &[(String, i64, String)],
    ) -> (StringArray, TimestampMicrosecondArray, StringArray) {
        let users = StringArray::from_iter_values(rows.iter().map(|r| &r.0));
        let times = TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.1));
        let ids = StringArray::from_iter_values(rows.iter().map(|r| &r.2));
        (users, times, ids)
    }

    fn day_order_rows(rows: &[(String, i64, String)]) -> Vec<usize> {
        let (users, times, ids) = columns(rows);
        let order = DayOrder::new(&users, &times, &ids);
        (0..order.len()).map(|p| order.row(p)).collect()
    }

    #[test]
    fn day_order_breaks_ties_by_event_id_then_row() {
        let row = |user: &str, time: i64, id: &str| (user.to_string(), time, id.to_string());
        let rows = [
            row("b", 5, "z"),
            row("a", 7, "y"),
            row("b", 5, "a"),
            row("a", -3, "x"),
            row("b", 5, "a"),
            row("ab", 0, "q"),
            row("a", 7, "b"),
        ];
        assert_eq!(day_order_rows(&rows), [3, 6, 1, 5, 2, 4, 0]);
    }

    proptest! {
        /// The fixed-width sort gives the order of the string sort it replaced
        /// (`lexsort` by user, time, id), with exact ties in input order.
        #[test]
        fn day_order_equals_the_lexicographic_sort(
            rows in prop::collection::vec(("[a-c]{0,3}", -3i64..3, "[x-z]{1,2}"), 0..60)
        ) {
            let ours = day_order_rows(&rows);
            let mut stable: Vec<usize> = (0..rows.len()).collect();
            stable.sort_by(|&a, &b| rows[a].cmp(&rows[b]));
            prop_assert_eq!(&ours, &stable);
            let (users, times, ids) = columns(&rows);
            let keys = [Arc::new(users) as ArrayRef, Arc::new(times), Arc::new(ids)]
                .into_iter()
                .map(|values| SortColumn { values, options: None })
                .collect::<Vec<_>>();
            let lexsorted = lexsort_to_indices(&keys, None).unwrap();
            let key = |row: usize| &rows[row];
            let theirs: Vec<_> = lexsorted.values().iter().map(|&r| key(r as usize)).collect();
            let ours: Vec<_> = ours.iter().map(|&r| key(r)).collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn a_day_cleans_the_same_whether_staged_in_one_batch_or_many() {
        let mut builder = crate::EventBatchBuilder::default();
        let start = chrono::Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        for i in 0..200i64 {
            let event = events::Event {
                event_time: start + Duration::seconds((i * 37) % 500),
                user_id: format!("u{}", i % 7),
                session_id: (i % 3 == 0).then(|| format!("s{}", i % 5)),
                item_id: Some(format!("i{}", i % 11)),
                ..events::Event::default()
            };
            builder.push(&event, Some("f.csv"));
            if i % 13 == 0 {
                builder.push(&event, Some("g.csv"));
            }
        }
        let whole = builder.finish();
        let parts: Vec<RecordBatch> = [(0, 50), (50, 1), (51, 100), (151, whole.num_rows() - 151)]
            .into_iter()
            .map(|(offset, length)| whole.slice(offset, length))
            .collect();
        let options = CleanOptions { bot_max_events: 3, ..CleanOptions::default() };
        let clean = |batches: &[RecordBatch]| {
            let mut state = SessionState::default();
            clean_day(batches, &HashSet::new(), &mut state, &options).unwrap()
        };
        let (one, one_counts) = clean(std::slice::from_ref(&whole));
        let (many, many_counts) = clean(&parts);
        assert_eq!(one, many);
        assert_eq!(format!("{one_counts:?}"), format!("{many_counts:?}"));
        assert_eq!(one_counts.duplicates_in_import, 16);
        assert_eq!(one.num_rows(), 200);
        assert!(one_counts.bot_users > 0 && one_counts.sessions_derived > 0);
    }
}
