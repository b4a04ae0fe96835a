//! Interaction data: the formats we read, the vocabulary of item and user ids, and
//! sessions of clicks in time order.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{RecommendError, Result};

/// What a shopper did with an item. Other event types (searches, refunds, …) carry no
/// item preference and are left out when reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A product view or click.
    View,
    /// An add to cart.
    Cart,
    /// A purchase.
    Purchase,
}

impl EventKind {
    /// The kind of an event type name as the importers write it (and the usual
    /// aliases), or `None` for event types that say nothing about an item.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "view" | "pv" | "click" | "product_view" | "page_view" => Some(Self::View),
            "add_to_cart" | "cart" | "addtocart" | "add-to-cart" => Some(Self::Cart),
            "purchase" | "buy" | "transaction" | "order" => Some(Self::Purchase),
            _ => None,
        }
    }
}

/// The input formats `read_file` understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// YOOCHOOSE clicks: the session-rec prepared files (`SessionId\tItemId\tTime`, Time
    /// in float seconds) or the original `yoochoose-clicks.dat`
    /// (`session,ISO time,item,category`, no header).
    Yoochoose,
    /// DIGINETICA `train-item-views.csv` (`sessionId;userId;itemId;timeframe;eventdate`).
    Diginetica,
    /// CSV with a header naming `item_id`, `session_id` and/or `user_id`, a time column
    /// (`event_time`, `time` or `timestamp`: float seconds or a date-time) and optionally
    /// `event_type`. The canonical CSV of `smartfunnel generate` is one.
    Csv,
}

/// A two-way map between outside ids and dense indices `0..len`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vocabulary {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Vocabulary {
    /// The index of `name`, adding it if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&index) = self.index.get(name) {
            return index;
        }
        let index = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), index);
        index
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The outside id of an index.
    pub fn name(&self, index: u32) -> &str {
        &self.names[index as usize]
    }

    /// All ids in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether every id is a plain decimal integer, so JSON output can write ids as
    /// numbers, as the input files do.
    pub fn all_numeric(&self) -> bool {
        self.names.iter().all(|name| is_plain_integer(name))
    }
}

impl FromIterator<String> for Vocabulary {
    fn from_iter<T: IntoIterator<Item = String>>(iter: T) -> Self {
        let mut vocabulary = Self::default();
        for name in iter {
            vocabulary.intern(&name);
        }
        vocabulary
    }
}

/// A decimal integer without sign or leading zeros that fits in a `u64`.
pub fn is_plain_integer(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.parse::<u64>().is_ok()
}

/// One interaction inside a session.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Click {
    /// Index into [`Dataset::items`].
    pub item: u32,
    /// Unix seconds.
    pub time: f64,
    pub kind: EventKind,
}

/// The clicks of one session in time order (ties keep file order).
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The session id as in the input.
    pub id: String,
    /// Index into [`Dataset::users`]; for session-only formats the user is the session.
    pub user: u32,
    pub clicks: Vec<Click>,
}

impl Session {
    /// The time of the last click.
    pub fn end(&self) -> f64 {
        self.clicks.last().map_or(f64::NEG_INFINITY, |click| click.time)
    }
}

/// Interactions grouped into sessions, with their own item and user vocabularies.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub items: Vocabulary,
    pub users: Vocabulary,
    /// Sessions in order of first appearance in the input.
    pub sessions: Vec<Session>,
    /// A hash of every interaction as read, saved with models to name their data.
    pub fingerprint: String,
}

impl Dataset {
    /// The number of interactions.
    pub fn interactions(&self) -> usize {
        self.sessions.iter().map(|session| session.clicks.len()).sum()
    }

    /// The latest click time, or 0 for an empty dataset.
    pub fn last_time(&self) -> f64 {
        self.sessions.iter().map(Session::end).fold(0.0, f64::max)
    }

    /// The clicks before `time` and the clicks from `time` on, as two datasets (a
    /// session that spans `time` is cut in two). Used for the time split of user-level
    /// evaluation: train before T, test after.
    pub fn split_at(&self, time: f64) -> (Dataset, Dataset) {
        let mut before = DatasetBuilder::default();
        let mut after = DatasetBuilder::default();
        for session in &self.sessions {
            let user = self.users.name(session.user);
            for click in &session.clicks {
                let side = if click.time < time { &mut before } else { &mut after };
                side.push(&session.id, user, self.items.name(click.item), click.time, click.kind);
            }
        }
        (before.finish(), after.finish())
    }
}

/// Builds a [`Dataset`] from interactions in any order.
#[derive(Default)]
pub struct DatasetBuilder {
    items: Vocabulary,
    users: Vocabulary,
    session_index: HashMap<String, usize>,
    sessions: Vec<Session>,
    hasher: Xxh3,
}

impl std::fmt::Debug for DatasetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetBuilder").field("sessions", &self.sessions.len()).finish()
    }
}

impl DatasetBuilder {
    /// Adds one interaction. `user` may equal `session` for session-only data.
    pub fn push(&mut self, session: &str, user: &str, item: &str, time: f64, kind: EventKind) {
        for part in [session, user, item] {
            self.hasher.update(part.as_bytes());
            self.hasher.update(&[0]);
        }
        self.hasher.update(&time.to_le_bytes());
        self.hasher.update(&[kind as u8]);
        let item = self.items.intern(item);
        let position = match self.session_index.get(session) {
            Some(&position) => position,
            None => {
                let user = self.users.intern(user);
                self.sessions.push(Session { id: session.to_string(), user, clicks: Vec::new() });
                self.session_index.insert(session.to_string(), self.sessions.len() - 1);
                self.sessions.len() - 1
            }
        };
        self.sessions[position].clicks.push(Click { item, time, kind });
    }

    /// Sorts each session's clicks by time (stable, so ties keep input order).
    pub fn finish(mut self) -> Dataset {
        for session in &mut self.sessions {
            session.clicks.sort_by(|a, b| a.time.total_cmp(&b.time));
        }
        Dataset {
            items: self.items,
            users: self.users,
            sessions: self.sessions,
            fingerprint: format!("xxh3:{:016x}", self.hasher.digest()),
        }
    }
}

/// Reads a file of interactions in `format`.
pub fn read_file(path: &Path, format: Format) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| RecommendError::io("reading", path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut reader, &mut first)
        .map_err(|e| RecommendError::io("reading", path, e))?;
    let file = std::fs::File::open(path).map_err(|e| RecommendError::io("reading", path, e))?;
    let mut builder = DatasetBuilder::default();
    match format {
        Format::Yoochoose if first.contains('\t') => read_session_rec(path, file, &mut builder)?,
        Format::Yoochoose => read_yoochoose_dat(path, file, &mut builder)?,
        Format::Diginetica => read_diginetica(path, file, &mut builder)?,
        Format::Csv => read_csv(path, file, &mut builder)?,
    }
    let dataset = builder.finish();
    if dataset.sessions.is_empty() {
        return Err(RecommendError::Empty { what: path.display().to_string() });
    }
    Ok(dataset)
}

fn csv_reader(file: std::fs::File, delimiter: u8, has_headers: bool) -> csv::Reader<std::fs::File> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file)
}

/// A file's header line, to find columns by name.
struct Header<'a> {
    path: &'a Path,
    names: csv::ByteRecord,
}

impl<'a> Header<'a> {
    fn read(path: &'a Path, reader: &mut csv::Reader<std::fs::File>) -> Result<Self> {
        let names =
            reader.byte_headers().map_err(|e| RecommendError::io("reading", path, e.into()))?;
        Ok(Header { path, names: names.clone() })
    }

    /// The position of the first column named like one of `names` (case-insensitive).
    fn find(&self, names: &[&str]) -> Option<usize> {
        self.names.iter().position(|header| {
            let header = String::from_utf8_lossy(header);
            names.iter().any(|name| header.trim().eq_ignore_ascii_case(name))
        })
    }

    fn require(&self, name: &'static str) -> Result<usize> {
        self.find(&[name]).ok_or_else(|| self.missing(name))
    }

    fn missing(&self, column: &'static str) -> RecommendError {
        RecommendError::MissingColumn { path: self.path.to_path_buf(), column }
    }
}

struct Row<'a> {
    path: &'a Path,
    record: &'a csv::ByteRecord,
}

impl Row<'_> {
    fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    fn text(&self, index: usize, field: &'static str) -> Result<&str> {
        let bytes = self.record.get(index).ok_or_else(|| self.bad(field, "", "missing field"))?;
        std::str::from_utf8(bytes)
            .map(str::trim)
            .map_err(|_| self.bad(field, &String::from_utf8_lossy(bytes), "not UTF-8"))
    }

    fn bad(&self, field: &'static str, value: &str, reason: &'static str) -> RecommendError {
        RecommendError::BadRow {
            path: self.path.to_path_buf(),
            line: self.line(),
            field,
            value: value.to_string(),
            reason,
        }
    }

    fn non_empty(&self, index: usize, field: &'static str) -> Result<&str> {
        let text = self.text(index, field)?;
        if text.is_empty() {
            return Err(self.bad(field, text, "empty"));
        }
        Ok(text)
    }
}

fn records(
    path: &Path,
    reader: &mut csv::Reader<std::fs::File>,
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => each(&Row { path, record: &record })?,
            Ok(false) => return Ok(()),
            Err(error) => {
                return Err(RecommendError::io("reading", path, std::io::Error::other(error)));
            }
        }
    }
}

fn read_session_rec(path: &Path, file: std::fs::File, builder: &mut DatasetBuilder) -> Result<()> {
    let mut reader = csv_reader(file, b'\t', true);
    let header = Header::read(path, &mut reader)?;
    let session = header.require("SessionId")?;
    let item = header.require("ItemId")?;
    let time = header.require("Time")?;
    records(path, &mut reader, |row| {
        let session = row.non_empty(session, "SessionId")?;
        let item = row.non_empty(item, "ItemId")?;
        let time_text = row.text(time, "Time")?;
        let time =
            time_text.parse::<f64>().map_err(|_| row.bad("Time", time_text, "not a number"))?;
        builder.push(session, session, item, time, EventKind::View);
        Ok(())
    })
}

fn read_yoochoose_dat(
    path: &Path,
    file: std::fs::File,
    builder: &mut DatasetBuilder,
) -> Result<()> {
    let mut reader = csv_reader(file, b',', false);
    records(path, &mut reader, |row| {
        let session = row.non_empty(0, "session")?;
        let time_text = row.text(1, "timestamp")?;
        let time =
            parse_time(time_text).ok_or_else(|| row.bad("timestamp", time_text, "not a time"))?;
        let item = row.non_empty(2, "item")?;
        builder.push(session, session, item, time, EventKind::View);
        Ok(())
    })
}

fn read_diginetica(path: &Path, file: std::fs::File, builder: &mut DatasetBuilder) -> Result<()> {
    let mut reader = csv_reader(file, b';', true);
    let header = Header::read(path, &mut reader)?;
    let session = header.require("sessionId")?;
    let user = header.require("userId")?;
    let item = header.require("itemId")?;
    let timeframe = header.require("timeframe")?;
    let date = header.require("eventdate")?;
    records(path, &mut reader, |row| {
        let session = row.non_empty(session, "sessionId")?;
        let user = match row.text(user, "userId")? {
            "" | "NA" => session,
            user => user,
        };
        let item = row.non_empty(item, "itemId")?;
        let date_text = row.text(date, "eventdate")?;
        let day = chrono::NaiveDate::parse_from_str(date_text, "%Y-%m-%d")
            .map_err(|_| row.bad("eventdate", date_text, "not a YYYY-MM-DD date"))?;
        let frame_text = row.text(timeframe, "timeframe")?;
        let frame = frame_text
            .parse::<f64>()
            .map_err(|_| row.bad("timeframe", frame_text, "not a number"))?;
        // As session-rec does: the day's midnight plus the milliseconds since the session began.
        let midnight = day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp());
        builder.push(session, user, item, midnight as f64 + frame / 1000.0, EventKind::View);
        Ok(())
    })
}

fn read_csv(path: &Path, file: std::fs::File, builder: &mut DatasetBuilder) -> Result<()> {
    let mut reader = csv_reader(file, b',', true);
    let header = Header::read(path, &mut reader)?;
    let item = header.find(&["item_id", "item"]).ok_or_else(|| header.missing("item_id"))?;
    let session = header.find(&["session_id", "session"]);
    let user = header.find(&["user_id", "user"]);
    let (session, user) = match (session, user) {
        (Some(session), user) => (session, user.unwrap_or(session)),
        (None, Some(user)) => (user, user),
        (None, None) => return Err(header.missing("session_id|user_id")),
    };
    let time = header
        .find(&["event_time", "time", "timestamp"])
        .ok_or_else(|| header.missing("event_time|time|timestamp"))?;
    let event_type = header.find(&["event_type"]);
    records(path, &mut reader, |row| {
        let kind = match event_type {
            Some(index) => match EventKind::from_name(row.text(index, "event_type")?) {
                Some(kind) => kind,
                None => return Ok(()),
            },
            None => EventKind::View,
        };
        let item = row.text(item, "item_id")?;
        if item.is_empty() {
            // Events without an item (a search, say) say nothing about item preference.
            return Ok(());
        }
        let session = row.non_empty(session, "session_id")?;
        let user = row.non_empty(user, "user_id")?;
        let time_text = row.text(time, "event_time")?;
        let time =
            parse_time(time_text).ok_or_else(|| row.bad("event_time", time_text, "not a time"))?;
        builder.push(session, user, item, time, kind);
        Ok(())
    })
}

/// Unix seconds from float seconds, RFC 3339, or `YYYY-MM-DD HH:MM:SS[.f][ UTC]`.
pub fn parse_time(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros() as f64 / 1e6);
    }
    let naive = text.strip_suffix(" UTC").unwrap_or(text);
    let naive = naive.strip_suffix('Z').unwrap_or(naive);
    chrono::NaiveDateTime::parse_from_str(naive.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(naive.trim(), "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .map(|time| time.and_utc().timestamp_micros() as f64 / 1e6)
}
