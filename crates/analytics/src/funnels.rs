//! Conversion funnels as a growth team asks for them: steps as event names or SQL
//! predicates, a conversion window, step order, exclusions, held properties, per-step
//! windows, optional steps, users / sessions / total journeys, breakdowns with
//! attribution, and time to convert.
//!
//! One query reads the needed columns of `events` (every step predicate becomes a boolean
//! column, evaluated by DataFusion); the rest runs here, per counting unit, over its
//! events sorted by time. Two evaluators exist, and [`FunnelQuery::is_clickhouse_exact`]
//! says which one decides the level:
//!
//! - the **ClickHouse-exact** one (`funnel::FunnelSpec`, the same code as the
//!   `window_funnel` SQL aggregate) for plain ordered or strict funnels with any of
//!   ClickHouse's modes — its levels equal `windowFunnel`'s;
//! - the **chain** evaluator for everything ClickHouse has no word for (exclusions, held
//!   properties, per-step windows, optional steps, any order). It follows the same
//!   greedy rule as ClickHouse — for every step, keep the chain that started last — and
//!   for plain ordered funnels it reaches the same level (a test checks this); it also
//!   remembers which row made each step, which gives times to convert and attribution.
//!
//! The rules are in `docs/funnels.md`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use funnel::{FunnelSpec, Modes};
use serde::Serialize;

use crate::{AnalyticsError, Result};

/// One step of a funnel.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelStep {
    /// What reports call the step (the event name, or the predicate as written).
    pub label: String,
    /// A SQL boolean expression over the `events` columns.
    pub predicate: String,
    /// The step may be skipped: later steps can follow the step before it.
    pub optional: bool,
    /// This step must follow the previous step within this many microseconds (on top of
    /// the funnel's window, which runs from step 1).
    pub within_micros: Option<i64>,
}

impl FunnelStep {
    /// A step from the command line's words: a bare identifier (`add_to_cart`) means
    /// `event_type = 'add_to_cart'`; anything else is taken as a SQL predicate.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AnalyticsError::InvalidArgument("a funnel step is empty".into()));
        }
        let predicate = if is_event_name(text) {
            format!("event_type = {}", sql_string(text))
        } else {
            format!("({text})")
        };
        Ok(Self { label: text.to_owned(), predicate, optional: false, within_micros: None })
    }
}

impl FunnelStep {
    /// The event type this step matches, when it is a bare event name.
    pub fn event_name(&self) -> Option<&str> {
        bare_event_name(&self.label, &self.predicate)
    }
}

impl Exclusion {
    /// The event type this exclusion matches, when it is a bare event name.
    pub fn event_name(&self) -> Option<&str> {
        bare_event_name(&self.label, &self.predicate)
    }
}

/// `label` when `predicate` is what [`FunnelStep::parse`] makes of a bare event name.
fn bare_event_name<'a>(label: &'a str, predicate: &str) -> Option<&'a str> {
    (predicate == format!("event_type = {}", sql_string(label))).then_some(label)
}

fn is_event_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// A SQL string literal.
pub(crate) fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A SQL identifier, quoted when it needs to be.
pub(crate) fn sql_identifier(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// In which order the steps must happen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOrder {
    /// Each step after the previous one; other events may happen in between.
    #[default]
    Ordered,
    /// Each step immediately after the previous one: any other event of the unit in
    /// between breaks the chain, and a later step 1 may start a new one (as PostHog's
    /// strict funnels; ClickHouse's `strict_order` mode instead stops at the first
    /// break).
    Strict,
    /// The steps in any order within the window; level `k` means `k` different steps.
    Any,
}

/// What one funnel entry is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountBy {
    /// Each user once, at the deepest level any of their journeys reached.
    #[default]
    Users,
    /// Each session once: a journey must stay inside one session.
    Sessions,
    /// Every journey: after one ends the user may enter again (see `docs/funnels.md`).
    Totals,
}

/// Which step's property value a converting or dropping unit is attributed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "step")]
pub enum Attribution {
    /// The value on the step 1 event.
    FirstTouch,
    /// The value on the last step the unit reached.
    LastTouch,
    /// The value on this step (0-based), or on the last step reached before it.
    Step(usize),
}

/// A breakdown of the funnel by a property.
#[derive(Clone, Debug, PartialEq)]
pub struct Breakdown {
    /// A column of `events` or a SQL expression.
    pub expression: String,
    pub attribution: Attribution,
    /// Only the most frequent values (by step-1 entries) get their own row; the rest are
    /// reported as `(other)`.
    pub limit: usize,
}

/// Units that do an excluded event between two steps are left out of the funnel.
#[derive(Clone, Debug, PartialEq)]
pub struct Exclusion {
    pub label: String,
    pub predicate: String,
    /// 0-based step after which the exclusion applies.
    pub from_step: usize,
    /// 0-based step before which it applies.
    pub to_step: usize,
}

/// A funnel question.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelQuery {
    pub steps: Vec<FunnelStep>,
    /// The conversion window, from step 1, in microseconds.
    pub window_micros: i64,
    pub order: StepOrder,
    /// ClickHouse `windowFunnel` modes; only with ordered or strict funnels without
    /// exclusions, held properties, per-step windows or optional steps.
    pub modes: Modes,
    pub exclusions: Vec<Exclusion>,
    /// Columns that must keep one value across the steps (`item_id`, …).
    pub hold: Vec<String>,
    pub count_by: CountBy,
    pub breakdown: Option<Breakdown>,
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub to: Option<DateTime<Utc>>,
    /// Leave out events flagged as bot traffic.
    pub exclude_bots: bool,
    /// Keep every unit in the result (also those that never reached step 1), for
    /// per-unit output.
    pub keep_all_units: bool,
}

impl FunnelQuery {
    /// A plain ordered funnel over `steps` with `window_micros`.
    pub fn new(steps: Vec<FunnelStep>, window_micros: i64) -> Self {
        Self {
            steps,
            window_micros,
            order: StepOrder::Ordered,
            modes: Modes::default(),
            exclusions: Vec::new(),
            hold: Vec::new(),
            count_by: CountBy::Users,
            breakdown: None,
            from: None,
            to: None,
            exclude_bots: false,
            keep_all_units: false,
        }
    }

    /// Whether levels come from the ClickHouse-exact `windowFunnel` code.
    pub fn is_clickhouse_exact(&self) -> bool {
        self.order == StepOrder::Ordered && !self.has_extras() && self.count_by != CountBy::Totals
    }

    fn has_extras(&self) -> bool {
        !self.exclusions.is_empty()
            || !self.hold.is_empty()
            || self.steps.iter().any(|step| step.optional || step.within_micros.is_some())
    }

    fn has_modes(&self) -> bool {
        self.modes != Modes::default()
    }

    fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(AnalyticsError::InvalidArgument(message));
        let steps = self.steps.len();
        if steps == 0 {
            return invalid("a funnel needs at least one step".into());
        }
        if steps > funnel::MAX_CONDITIONS {
            return invalid(format!(
                "a funnel takes at most {} steps, got {steps}",
                funnel::MAX_CONDITIONS
            ));
        }
        if self.window_micros <= 0 {
            return invalid("the conversion window must be positive".into());
        }
        if self.steps[0].optional {
            return invalid("step 1 cannot be optional: it is where the funnel starts".into());
        }
        if self.steps.last().is_some_and(|step| step.optional) {
            return invalid("the last step cannot be optional: it is what converting means".into());
        }
        if self.has_modes() && !self.is_clickhouse_exact() {
            return invalid(
                "ClickHouse modes apply to plain ordered funnels counting users or sessions; they cannot be combined with strict or any order, total counting, exclusions, held properties, per-step windows or optional steps".into(),
            );
        }
        if self.order == StepOrder::Any
            && (!self.exclusions.is_empty()
                || self.steps.iter().any(|step| step.optional || step.within_micros.is_some()))
        {
            return invalid(
                "exclusions, optional steps and per-step windows need an ordered or strict funnel"
                    .into(),
            );
        }
        for exclusion in &self.exclusions {
            if exclusion.from_step >= exclusion.to_step || exclusion.to_step >= steps {
                return invalid(format!(
                    "exclusion {:?} must lie between two steps (got steps {} to {} of {steps})",
                    exclusion.label,
                    exclusion.from_step + 1,
                    exclusion.to_step + 1
                ));
            }
        }
        if let Some(Breakdown { attribution: Attribution::Step(step), .. }) = &self.breakdown
            && *step >= steps
        {
            return invalid(format!("attribution step {} is beyond the last step", step + 1));
        }
        // Checked here so that a bad mode combination is refused before any query runs.
        if self.is_clickhouse_exact() {
            FunnelSpec::new(1, steps, self.modes)?;
        }
        Ok(())
    }

    /// Strict funnels need every event (an unrelated one breaks a chain), and per-unit
    /// output every unit; otherwise only rows meeting a step or an exclusion matter.
    fn needs_every_row(&self) -> bool {
        self.order == StepOrder::Strict || self.modes.strict_order || self.keep_all_units
    }

    /// For every distinct event name among the steps and exclusions, the steps and the
    /// exclusions it meets, when every step and exclusion is a bare event name.
    fn event_names(&self) -> Option<Vec<(String, u32, u32)>> {
        let mut names: Vec<(String, u32, u32)> = Vec::new();
        let mut add = |name: &str, step_bit: u32, exclusion_bit: u32| match names
            .iter_mut()
            .find(|(known, _, _)| known == name)
        {
            Some((_, steps, exclusions)) => {
                *steps |= step_bit;
                *exclusions |= exclusion_bit;
            }
            None => names.push((name.to_owned(), step_bit, exclusion_bit)),
        };
        for (index, step) in self.steps.iter().enumerate() {
            add(step.event_name()?, 1 << index, 0);
        }
        for (index, exclusion) in self.exclusions.iter().enumerate() {
            add(exclusion.event_name()?, 0, 1 << index);
        }
        Some(names)
    }

    /// The query that reads the rows the funnel needs.
    pub fn sql(&self) -> String {
        let mut columns = vec![
            "user_id".to_owned(),
            match self.count_by {
                CountBy::Sessions => "session_id".to_owned(),
                CountBy::Users | CountBy::Totals => "'' AS session_id".to_owned(),
            },
            "CAST(event_time AS BIGINT) AS ts".to_owned(),
        ];
        let by_event_name = self.event_names().is_some();
        if by_event_name {
            // Steps that are all event names are matched while reading `event_type`,
            // which is cheaper than a boolean column per step.
            columns.push("event_type".to_owned());
        } else {
            for (index, step) in self.steps.iter().enumerate() {
                columns.push(format!("COALESCE({}, false) AS step_{}", step.predicate, index + 1));
            }
            for (index, exclusion) in self.exclusions.iter().enumerate() {
                columns.push(format!(
                    "COALESCE({}, false) AS exclusion_{}",
                    exclusion.predicate,
                    index + 1
                ));
            }
        }
        for (index, column) in self.hold.iter().enumerate() {
            columns.push(format!(
                "CAST({} AS VARCHAR) AS hold_{}",
                sql_identifier(column),
                index + 1
            ));
        }
        if let Some(breakdown) = &self.breakdown {
            columns.push(format!("CAST({} AS VARCHAR) AS breakdown", breakdown.expression));
        }
        let mut filters = Vec::new();
        if self.exclude_bots {
            filters.push("NOT is_bot".to_owned());
        }
        if let Some(from) = self.from {
            filters.push(format!("event_time >= {}", timestamp_literal(from)));
        }
        if let Some(to) = self.to {
            filters.push(format!("event_time < {}", timestamp_literal(to)));
        }
        // Strict funnels need every event (an unrelated one breaks a chain); per-unit
        // output needs every unit. Otherwise only rows meeting a step or an exclusion matter.
        if !self.needs_every_row() && !by_event_name {
            let any: Vec<String> = self
                .steps
                .iter()
                .map(|step| step.predicate.clone())
                .chain(self.exclusions.iter().map(|exclusion| exclusion.predicate.clone()))
                .collect();
            filters.push(format!("({})", any.join(" OR ")));
        }
        let mut sql = format!("SELECT {} FROM events", columns.join(", "));
        if !filters.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&filters.join(" AND "));
        }
        sql
    }
}

/// A SQL timestamp literal, UTC, microsecond precision.
pub(crate) fn timestamp_literal(time: DateTime<Utc>) -> String {
    format!("TIMESTAMP '{}'", time.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// The answer for one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepResult {
    /// The step's label.
    pub name: String,
    pub optional: bool,
    /// Units that reached this step.
    pub entered: u64,
    /// `entered / entered(step 1)`.
    pub conversion_from_start: f64,
    /// `entered / entered(previous step)` (1 for step 1).
    pub conversion_from_previous: f64,
    /// Units that reached the previous step but not this one.
    pub dropped: u64,
    /// Seconds from the previous step, over the units that reached this one.
    pub median_seconds_from_previous: Option<f64>,
    pub p90_seconds_from_previous: Option<f64>,
    pub mean_seconds_from_previous: Option<f64>,
}

/// One bin of the time-to-convert histogram (step 1 to the last step).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistogramBin {
    /// Inclusive lower bound, seconds.
    pub from_seconds: f64,
    /// Exclusive upper bound, seconds.
    pub to_seconds: f64,
    pub units: u64,
}

/// The funnel for one breakdown value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakdownResult {
    pub value: String,
    pub steps: Vec<u64>,
}

/// The answer to a [`FunnelQuery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FunnelResult {
    pub steps: Vec<StepResult>,
    pub count_by: CountBy,
    pub order: StepOrder,
    pub window_seconds: f64,
    /// Whether the levels are ClickHouse's `windowFunnel` levels.
    pub clickhouse_exact: bool,
    /// Users (or sessions) seen in the rows read.
    pub units: u64,
    /// Units left out because they did an excluded event between two steps.
    pub excluded: u64,
    pub time_to_convert: Vec<HistogramBin>,
    pub breakdown: Vec<BreakdownResult>,
    /// The query that read the rows.
    pub sql: String,
}

/// The level each unit reached.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitLevel {
    pub user_id: String,
    /// Empty unless counting sessions.
    pub session_id: String,
    /// 0 (never reached step 1) to the number of steps; `None` when excluded.
    pub level: Option<u8>,
}

/// Runs a funnel; with `per_unit`, also returns every unit's level.
pub async fn run(
    context: &SessionContext,
    query: &FunnelQuery,
    per_unit: bool,
) -> Result<(FunnelResult, Vec<UnitLevel>)> {
    query.validate()?;
    let started = std::time::Instant::now();
    let sql = query.sql();
    // Each partition is read on its own task (parsing, matching steps and interning
    // users in parallel); the partial columns are then merged.
    let frame = context.sql(&sql).await?;
    let task_context = frame.task_ctx();
    let plan = frame.create_physical_plan().await?;
    let statistics = datafusion::physical_plan::statistics::StatisticsContext::new();
    let expected_rows: Vec<usize> = (0
        ..datafusion::physical_plan::ExecutionPlanProperties::output_partitioning(&plan)
            .partition_count())
        .map(|partition| {
            let args = datafusion::physical_plan::statistics::StatisticsArgs::new()
                .with_partition(Some(partition));
            statistics
                .compute(plan.as_ref(), &args)
                .ok()
                .and_then(|statistics| statistics.num_rows.get_value().copied())
                .unwrap_or(0)
                .min(1 << 31)
        })
        .collect();
    let streams =
        datafusion::physical_plan::execute_stream_partitioned(plan, Arc::new(task_context))?;
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(partition, stream)| {
            let query = query.clone();
            // Reserving what the files' statistics promise saves growing the columns by
            // doubling, each step a fresh (kernel-zeroed) allocation and a copy. The first
            // partition's columns take the others' at the merge, so they are reserved
            // for every row (pages are only touched once filled).
            let expected_rows = if partition == 0 {
                expected_rows.iter().sum()
            } else {
                expected_rows.get(partition).copied().unwrap_or(0)
            };
            tokio::spawn(async move { Rows::read(&query, stream, expected_rows).await })
        })
        .collect();
    let mut parts = Vec::with_capacity(tasks.len());
    for task in tasks {
        let part = task.await.map_err(|error| AnalyticsError::Internal(error.to_string()))?;
        parts.push(part?);
    }
    let read = started.elapsed();
    let rows = Rows::merge(parts);
    let merged = started.elapsed();
    let outcomes = evaluate(query, &rows);
    let evaluated = started.elapsed();
    let result = summarise(query, &rows, &outcomes, sql);
    tracing::debug!(
        rows = rows.len(),
        units = outcomes.len(),
        ?read,
        merge = ?(merged - read),
        evaluate = ?(evaluated - merged),
        summarise = ?(started.elapsed() - evaluated),
        "funnel phases"
    );
    let units = if per_unit {
        let mut units: Vec<UnitLevel> = outcomes
            .iter()
            .map(|outcome| UnitLevel {
                user_id: rows.users.name(outcome.user),
                session_id: rows.session_names[outcome.session as usize].clone(),
                level: (!outcome.excluded).then_some(outcome.level),
            })
            .collect();
        // Users come ordered by their key, which is their id's order only for short ids;
        // stable, so a user's journeys keep their time order.
        units.sort_by(|a, b| (&a.user_id, &a.session_id).cmp(&(&b.user_id, &b.session_id)));
        units
    } else {
        Vec::new()
    };
    Ok((result, units))
}

/// The rows read, column by column, with strings interned.
#[derive(Default)]
struct Rows {
    /// Once merged, user `u`'s rows are the ranges `groups[user_groups[u]..user_groups[u + 1]]`
    /// of the columns; empty before (a partition's users are its [`Groups`]).
    user_groups: Vec<usize>,
    /// Ranges of rows of one user each, as read; a user's are in time order unless they
    /// overlap in time.
    groups: Vec<(u32, u32)>,
    session: Vec<u32>,
    ts: Vec<i64>,
    steps: Vec<u32>,
    exclusions: Vec<u32>,
    hold: Vec<u64>,
    breakdown: Vec<u32>,
    users: UserKeys,
    session_names: Vec<String>,
    breakdown_names: Vec<String>,
}

/// A user id as a 128-bit key that groups rows without a hash table.
///
/// An id of at most 15 bytes is its bytes, big-endian, zero-padded, with its length in
/// the last byte: keys then order exactly as the ids do and give the id back. A longer id
/// is its xxh3 hash with the last byte 0xFF (no length reaches that), and its text is
/// kept aside; two long ids colliding has a probability of about n²/2¹²¹.
fn user_key(id: &str) -> u128 {
    let bytes = id.as_bytes();
    if bytes.len() <= 15 {
        let mut key = [0u8; 16];
        key[..bytes.len()].copy_from_slice(bytes);
        key[15] = bytes.len() as u8;
        u128::from_be_bytes(key)
    } else {
        xxhash_rust::xxh3::xxh3_128(bytes) | 0xFF
    }
}

/// The id a [`user_key`] of a short id holds; `None` for a long id's key.
fn short_user_id(key: u128) -> Option<String> {
    let bytes = key.to_be_bytes();
    let length = usize::from(bytes[15]);
    (length <= 15).then(|| String::from_utf8_lossy(&bytes[..length]).into_owned())
}

/// The merged users, in key order, and the text of long ids.
#[derive(Default)]
struct UserKeys {
    keys: Vec<u128>,
    long_ids: HashMap<u128, String, KeyIsHash>,
}

impl UserKeys {
    fn name(&self, user: u32) -> String {
        let key = self.keys[user as usize];
        short_user_id(key).unwrap_or_else(|| self.long_ids.get(&key).cloned().unwrap_or_default())
    }
}

/// One partition's users: each group is a run of consecutive rows of one user, as read.
///
/// Lake files are sorted by user, so a file holds one group per user; grouping by
/// comparing keys while reading, then sorting the groups (about a tenth of the rows on
/// the generated shop) at the merge, costs less than looking every run up in a hash
/// table of all users, whose random probes miss the cache.
#[derive(Default)]
struct Groups {
    keys: Vec<u128>,
    /// The row where each group starts; it ends where the next starts.
    starts: Vec<u32>,
    /// The time of each group's first row read (kept or not): sorting on it puts a user's
    /// groups, usually one per daily file, in time order.
    first_ts: Vec<i64>,
    long_ids: HashMap<u128, String, KeyIsHash>,
    /// Once [`Groups::sort`]ed: (key, first time, group), each user's groups together, in
    /// time order; `keys` and `first_ts` are then empty.
    sorted: Vec<(u128, i64, u32)>,
}

impl Groups {
    /// Notes that rows from `row` on are `id`'s, unless the current group is already.
    fn enter(&mut self, id: &str, ts: i64, row: usize) {
        let key = user_key(id);
        if self.keys.last() == Some(&key) {
            return;
        }
        if key as u8 == 0xFF && !self.long_ids.contains_key(&key) {
            self.long_ids.insert(key, id.to_owned());
        }
        self.keys.push(key);
        self.starts.push(row as u32);
        self.first_ts.push(ts);
    }

    /// Fills `sorted`, moving the keys and times into it. An unstable sort of distinct
    /// tuples took about half as long as a stable one.
    fn sort(&mut self) {
        let (keys, first_ts) = (std::mem::take(&mut self.keys), std::mem::take(&mut self.first_ts));
        let mut order: Vec<(u128, i64, u32)> = keys
            .into_iter()
            .zip(first_ts)
            .enumerate()
            .map(|(group, (key, ts))| (key, ts, group as u32))
            .collect();
        order.sort_unstable();
        self.sorted = order;
    }

    /// The rows of group `group` of a partition of `rows` rows.
    fn rows(&self, group: usize, rows: usize) -> std::ops::Range<usize> {
        let end = self.starts.get(group + 1).map_or(rows, |start| *start as usize);
        self.starts[group] as usize..end
    }
}

/// Gives each distinct string a dense id.
///
/// Keys are 128-bit xxh3 hashes rather than the strings: the table stays compact and a
/// lookup never follows a pointer to compare text. Two different ids colliding has a
/// probability of about n²/2¹²⁹ (below 10⁻²⁴ for 100 million users).
#[derive(Default)]
struct Interner {
    ids: std::collections::HashMap<u128, u32, KeyIsHash>,
    names: Vec<String>,
    /// The key of each name, so that merging interners does not hash again.
    keys: Vec<u128>,
}

/// Hashes a key that is itself a good hash (xxh3) by taking its low 64 bits.
#[derive(Clone, Copy, Default)]
struct KeyIsHash;

impl std::hash::BuildHasher for KeyIsHash {
    type Hasher = KeyIsHashHasher;

    fn build_hasher(&self) -> KeyIsHashHasher {
        KeyIsHashHasher(0)
    }
}

struct KeyIsHashHasher(u64);

impl std::hash::Hasher for KeyIsHashHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used (the keys are u128); this keeps any other key correct.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Interner {
    fn id(&mut self, name: &str) -> u32 {
        let key = xxhash_rust::xxh3::xxh3_128(name.as_bytes());
        let next = self.names.len() as u32;
        *self.ids.entry(key).or_insert_with(|| {
            self.names.push(name.to_owned());
            self.keys.push(key);
            next
        })
    }

    /// Takes over every name of another interner; returns its ids mapped to ours.
    fn absorb(&mut self, other: Interner) -> Vec<u32> {
        other
            .names
            .into_iter()
            .zip(other.keys)
            .map(|(name, key)| {
                let next = self.names.len() as u32;
                *self.ids.entry(key).or_insert_with(|| {
                    self.names.push(name);
                    self.keys.push(key);
                    next
                })
            })
            .collect()
    }
}

/// What one partition's reader produced: its rows, with ids of its own interners.
struct PartialRows {
    rows: Rows,
    /// Sorted.
    users: Groups,
    sessions: Interner,
    breakdowns: Interner,
}

/// A string column as read (DataFusion reads Parquet strings as views), without copying
/// it into another layout.
enum Text {
    Plain(arrow::array::StringArray),
    View(arrow::array::StringViewArray),
}

impl Text {
    fn of(array: &Arc<dyn Array>) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8View => Text::View(array.as_string_view().clone()),
            DataType::Utf8 => Text::Plain(array.as_string::<i32>().clone()),
            _ => Text::Plain(
                arrow::compute::cast(array, &DataType::Utf8)?.as_string::<i32>().clone(),
            ),
        })
    }

    fn get(&self, row: usize) -> Option<&str> {
        match self {
            Text::Plain(array) => (!array.is_null(row)).then(|| array.value(row)),
            Text::View(array) => (!array.is_null(row)).then(|| array.value(row)),
        }
    }

    /// Whether two non-null rows hold the same string. For views of up to 12 bytes
    /// (stored inline) and for views of the same bytes in a buffer, comparing the
    /// 16-byte views is enough.
    fn same(&self, a: usize, b: usize) -> bool {
        if self.is_null(a) || self.is_null(b) {
            return false;
        }
        match self {
            Text::Plain(array) => array.value(a) == array.value(b),
            Text::View(array) => {
                let views = array.views();
                let (view_a, view_b) = (views[a], views[b]);
                // Views differ yet the strings match only when both live in buffers
                // (longer than 12 bytes, the length being the low 32 bits).
                view_a == view_b
                    || ((view_a as u32) > 12
                        && (view_b as u32) > 12
                        && array.value(a) == array.value(b))
            }
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Text::Plain(array) => array.is_null(row),
            Text::View(array) => array.is_null(row),
        }
    }
}

/// Matches `event_type` against the step and exclusion names of a query whose every
/// condition is an event name.
struct EventMatcher<'a> {
    names: &'a [(String, u32, u32)],
    /// Each name as a string view, when every name has at most 12 bytes. Such a view
    /// holds its length and every byte, so two are equal exactly when the strings are:
    /// matching costs one 16-byte comparison per name.
    inline_views: Option<Vec<u128>>,
}

impl<'a> EventMatcher<'a> {
    fn new(names: &'a [(String, u32, u32)]) -> Self {
        let inline_views = names
            .iter()
            .map(|(name, _, _)| {
                (name.len() <= 12).then(|| arrow::array::builder::make_view(name.as_bytes(), 0, 0))
            })
            .collect();
        Self { names, inline_views }
    }

    /// The step and exclusion bits of an event type's view (`inline_views` must be set).
    fn masks_of_view(&self, inline_views: &[u128], view: u128) -> (u32, u32) {
        inline_views
            .iter()
            .position(|known| *known == view)
            .map_or((0, 0), |known| (self.names[known].1, self.names[known].2))
    }

    /// The step and exclusion bits of every row.
    fn masks(&self, event_type: &Text, rows: usize) -> (Vec<u32>, Vec<u32>) {
        let mut step_masks = vec![0u32; rows];
        let mut exclusion_masks = vec![0u32; rows];
        match (event_type, &self.inline_views) {
            (Text::View(array), Some(inline_views)) => {
                let views = array.views();
                // Most rows repeat an event type seen just before (views, mostly).
                let (mut last_view, mut masks) = (None, (0, 0));
                for row in 0..rows {
                    if last_view != Some(views[row]) {
                        last_view = Some(views[row]);
                        masks = self.masks_of_view(inline_views, views[row]);
                    }
                    if !array.is_null(row) {
                        (step_masks[row], exclusion_masks[row]) = masks;
                    }
                }
            }
            _ => {
                for row in 0..rows {
                    if let Some(name) = event_type.get(row)
                        && let Some(known) =
                            self.names.iter().position(|(known, _, _)| known == name)
                    {
                        step_masks[row] = self.names[known].1;
                        exclusion_masks[row] = self.names[known].2;
                    }
                }
            }
        }
        (step_masks, exclusion_masks)
    }
}

impl Rows {
    /// Reads the query's batches one at a time, so that only the compact columns stay.
    async fn read(
        query: &FunnelQuery,
        mut stream: datafusion::physical_plan::SendableRecordBatchStream,
        expected_rows: usize,
    ) -> Result<PartialRows> {
        use futures::StreamExt as _;
        let mut users = Groups::default();
        let mut sessions = Interner::default();
        let mut breakdowns = Interner::default();
        let mut rows = Rows::default();
        // The first partition's columns take the others' at the merge.
        rows.ts.reserve(expected_rows);
        rows.steps.reserve(expected_rows);
        let steps = query.steps.len();
        let exclusions = query.exclusions.len();
        let event_names = query.event_names();
        let event_matcher = event_names.as_deref().map(EventMatcher::new);
        // Rows meeting no step matter to strict funnels (they break chains) and, for
        // per-session output, to know every session.
        let keep_stepless_rows = query.order == StepOrder::Strict
            || query.modes.strict_order
            || (query.keep_all_units && query.count_by == CountBy::Sessions);
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let user = Text::of(batch.column(0))?;
            let session = Text::of(batch.column(1))?;
            let ts = batch.column(2).as_primitive::<Int64Type>();
            if let Some(matcher) = &event_matcher
                && query.hold.is_empty()
                && query.breakdown.is_none()
                && query.count_by != CountBy::Sessions
                && let Some(inline_views) = &matcher.inline_views
                && let (Text::View(user), Text::View(event_type)) =
                    (&user, &Text::of(batch.column(3))?)
                && user.null_count() == 0
                && event_type.null_count() == 0
                && ts.null_count() == 0
            {
                // The common case (steps are event names, every column filled) in one
                // pass over the views, without per-row masks or null checks. Equal views
                // are equal strings; unequal ones may still be (long ids in different
                // buffers), which `Groups::enter` settles by key.
                let (user_views, type_views, times) =
                    (user.views(), event_type.views(), ts.values());
                let mut previous_user = None;
                let (mut previous_type, mut masks) = (None, (0, 0));
                for row in 0..batch.num_rows() {
                    if previous_user != Some(user_views[row]) {
                        previous_user = Some(user_views[row]);
                        users.enter(user.value(row), times[row], rows.ts.len());
                    }
                    if previous_type != Some(type_views[row]) {
                        previous_type = Some(type_views[row]);
                        masks = matcher.masks_of_view(inline_views, type_views[row]);
                    }
                    let (step_mask, exclusion_mask) = masks;
                    if step_mask == 0 && exclusion_mask == 0 && !keep_stepless_rows {
                        continue;
                    }
                    rows.ts.push(times[row]);
                    rows.steps.push(step_mask);
                    if exclusions > 0 {
                        rows.exclusions.push(exclusion_mask);
                    }
                }
                continue;
            }
            let (step_masks, exclusion_masks, hold_offset) = match &event_matcher {
                Some(matcher) => {
                    let (step_masks, exclusion_masks) =
                        matcher.masks(&Text::of(batch.column(3))?, batch.num_rows());
                    (step_masks, exclusion_masks, 4)
                }
                None => {
                    let flags = |offset: usize, count: usize| -> Vec<u32> {
                        let mut masks = vec![0u32; batch.num_rows()];
                        for bit in 0..count {
                            let column = batch.column(offset + bit).as_boolean();
                            for (mask, value) in masks.iter_mut().zip(column.iter()) {
                                if value == Some(true) {
                                    *mask |= 1 << bit;
                                }
                            }
                        }
                        masks
                    };
                    (flags(3, steps), flags(3 + steps, exclusions), 3 + steps + exclusions)
                }
            };
            let hold_columns: Vec<Text> = (0..query.hold.len())
                .map(|index| Text::of(batch.column(hold_offset + index)))
                .collect::<Result<_>>()?;
            let breakdown_column = query
                .breakdown
                .as_ref()
                .map(|_| Text::of(batch.column(hold_offset + query.hold.len())))
                .transpose()?;
            // Lake files are sorted by user, so most rows repeat the previous row's user:
            // that is checked on the array itself before making a key.
            let mut previous: Option<usize> = None;
            for row in 0..batch.num_rows() {
                if ts.is_null(row) {
                    continue;
                }
                if !previous.is_some_and(|previous| user.same(previous, row)) {
                    let Some(name) = user.get(row) else { continue };
                    users.enter(name, ts.value(row), rows.ts.len());
                }
                previous = Some(row);
                if step_masks[row] == 0 && exclusion_masks[row] == 0 && !keep_stepless_rows {
                    // The user is known (for per-unit output); the row changes nothing.
                    continue;
                }
                rows.ts.push(ts.value(row));
                rows.steps.push(step_masks[row]);
                // The optional columns are only filled when the query uses them.
                if query.count_by == CountBy::Sessions {
                    rows.session.push(sessions.id(session.get(row).unwrap_or("")));
                }
                if exclusions > 0 {
                    rows.exclusions.push(exclusion_masks[row]);
                }
                if !hold_columns.is_empty() {
                    rows.hold.push(hold_key(&hold_columns, row));
                }
                if let Some(column) = &breakdown_column {
                    rows.breakdown.push(breakdowns.id(column.get(row).unwrap_or("(none)")));
                }
            }
        }
        // Sorted here, on the partition's own task, so that the merge only merges.
        users.sort();
        Ok(PartialRows { rows, users, sessions, breakdowns })
    }

    /// Puts partitions' rows under one set of ids, grouped by user. Each partition's
    /// groups come sorted by (user key, first time); merged, they list each user's groups
    /// together, in time order. Meanwhile the partitions' columns are concatenated (into
    /// the first one's, which was reserved for all of them), so no row moves within a
    /// partition. A user's rows are in time order whenever their groups do not overlap
    /// in time (one group per daily file); otherwise they are sorted when evaluated.
    fn merge(parts: Vec<PartialRows>) -> Rows {
        let mut sessions = Interner::default();
        let mut breakdowns = Interner::default();
        let mut long_ids = HashMap::default();
        let mut columns = Vec::with_capacity(parts.len());
        let mut group_parts = Vec::with_capacity(parts.len());
        for part in parts {
            let session_ids = sessions.absorb(part.sessions);
            let breakdown_ids = breakdowns.absorb(part.breakdowns);
            let mut users = part.users;
            long_ids.extend(std::mem::take(&mut users.long_ids));
            group_parts.push((users, part.rows.len()));
            columns.push((part.rows, session_ids, breakdown_ids));
        }
        let ((users, user_groups, groups), merged) =
            rayon::join(|| Self::merge_groups(group_parts), || Self::concatenate(columns));
        let mut merged = merged.unwrap_or_default();
        if sessions.names.is_empty() {
            // Counting users: every unit has the empty session.
            sessions.id("");
        }
        merged.user_groups = user_groups;
        merged.groups = groups;
        merged.users = UserKeys { keys: users, long_ids };
        merged.session_names = sessions.names;
        merged.breakdown_names = breakdowns.names;
        merged
    }

    /// Merges the partitions' sorted groups (`(groups, rows)` each): the users' keys,
    /// where each user's groups start, and each group's rows in the concatenated columns.
    fn merge_groups(mut parts: Vec<(Groups, usize)>) -> (Vec<u128>, Vec<usize>, Vec<(u32, u32)>) {
        let mut order = Vec::with_capacity(parts.iter().map(|part| part.0.sorted.len()).sum());
        let mut group_base = Vec::with_capacity(parts.len());
        for (groups, _) in &mut parts {
            let base = order.len() as u32;
            group_base.push(base);
            // Freed as it is copied: at 100M events there are about 10M groups.
            let sorted = std::mem::take(&mut groups.sorted);
            order.extend(sorted.into_iter().map(|(key, ts, group)| (key, ts, base + group)));
        }
        // One sorted run per partition: this stable sort finds the runs and merges them.
        order.sort();
        let mut row_base = Vec::with_capacity(parts.len());
        let mut rows = 0;
        for (_, part_rows) in &parts {
            row_base.push(rows);
            rows += part_rows;
        }
        let (mut keys, mut user_groups) = (Vec::new(), Vec::new());
        let mut groups = Vec::with_capacity(order.len());
        for (key, _, group) in order {
            if keys.last() != Some(&key) {
                keys.push(key);
                user_groups.push(groups.len());
            }
            let part = group_base.partition_point(|base| *base <= group) - 1;
            let (part_groups, part_rows) = &parts[part];
            let rows = part_groups.rows((group - group_base[part]) as usize, *part_rows);
            let base = row_base[part];
            groups.push(((base + rows.start) as u32, (base + rows.end) as u32));
        }
        user_groups.push(groups.len());
        (keys, user_groups, groups)
    }

    /// The partitions' columns one after the other, with merged session and breakdown
    /// ids (`(rows, session ids, breakdown ids)` each); `None` without partitions.
    fn concatenate(parts: Vec<(Rows, Vec<u32>, Vec<u32>)>) -> Option<Rows> {
        let mut parts = parts.into_iter();
        let (mut merged, session_ids, breakdown_ids) = parts.next()?;
        for id in &mut merged.session {
            *id = session_ids[*id as usize];
        }
        for id in &mut merged.breakdown {
            *id = breakdown_ids[*id as usize];
        }
        for (rows, session_ids, breakdown_ids) in parts {
            merged.ts.extend_from_slice(&rows.ts);
            merged.steps.extend_from_slice(&rows.steps);
            merged.exclusions.extend_from_slice(&rows.exclusions);
            merged.hold.extend_from_slice(&rows.hold);
            merged.session.extend(rows.session.iter().map(|id| session_ids[*id as usize]));
            merged.breakdown.extend(rows.breakdown.iter().map(|id| breakdown_ids[*id as usize]));
        }
        Some(merged)
    }

    /// The rows of merged user `user`, in read order of their groups.
    fn user_rows(&self, user: usize) -> impl Iterator<Item = u32> + '_ {
        self.groups[self.user_groups[user]..self.user_groups[user + 1]]
            .iter()
            .flat_map(|(start, end)| *start..*end)
    }

    fn len(&self) -> usize {
        self.ts.len()
    }
}

/// A hash of the held columns' values (NULL is a value of its own).
fn hold_key(columns: &[Text], row: usize) -> u64 {
    use std::hash::{Hash, Hasher};
    if columns.is_empty() {
        return 0;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for column in columns {
        match column.get(row) {
            None => hasher.write_u8(0),
            Some(value) => {
                hasher.write_u8(1);
                value.hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

/// What one unit (or one journey, when counting totals) reached.
#[derive(Clone, Debug)]
struct Outcome {
    user: u32,
    session: u32,
    level: u8,
    excluded: bool,
    /// The chain behind the level: for each step the row that made it.
    chain: Option<KeptChain>,
}

/// What the summary reads of a unit's best chain, with a row slot per step of this
/// funnel: a [`Chain`] has one for every possible step (about 150 bytes), and there is
/// an outcome per user.
#[derive(Clone, Debug)]
struct KeptChain {
    start: i64,
    last: i64,
    /// Bit `j`: step `j` was done (not skipped).
    done: u32,
    /// Row index per step, `u32::MAX` where the step was not done.
    rows: Box<[u32]>,
}

impl KeptChain {
    fn of(chain: &Chain, steps: usize) -> Self {
        KeptChain {
            start: chain.start,
            last: chain.last,
            done: chain.done,
            rows: chain.rows[..steps].into(),
        }
    }
}

/// One attempt through the funnel: the rows that made each step.
#[derive(Clone, Copy, Debug)]
struct Chain {
    start: i64,
    last: i64,
    /// Row index per step, `u32::MAX` where the step was not done.
    rows: [u32; funnel::MAX_CONDITIONS],
    /// Bit `j`: step `j` was done (not skipped).
    done: u32,
    /// Steps handled (done or skipped): the next expected step is `position`.
    position: u8,
}

/// Splits the rows into units (user, or user and session) with their rows in time
/// order, and evaluates the units in parallel.
fn evaluate(query: &FunnelQuery, rows: &Rows) -> Vec<Outcome> {
    use rayon::prelude::*;
    let users = rows.user_groups.len().saturating_sub(1);
    let evaluate_in_time_order =
        |unit_rows: &mut [u32], user: u32, session: u32, scratch: &mut Scratch| {
            if !unit_rows.is_sorted_by_key(|row| rows.ts[*row as usize]) {
                // Stable: equal timestamps keep read order.
                unit_rows.sort_by_key(|row| rows.ts[*row as usize]);
            }
            evaluate_counting_unit(query, rows, unit_rows, user, session, scratch)
        };
    if query.count_by != CountBy::Sessions {
        // The merge grouped each user's rows already: a unit is a range of rows.
        return (0..users)
            .into_par_iter()
            .map_init(
                || (Scratch::default(), Vec::new()),
                |(scratch, unit_rows), user| {
                    unit_rows.clear();
                    unit_rows.extend(rows.user_rows(user));
                    evaluate_in_time_order(unit_rows, user as u32, 0, scratch)
                },
            )
            .flatten_iter()
            .collect();
    }
    // Sessions: dense ids for (user, session), then a counting sort by unit, which is
    // linear and keeps each unit's rows in read order.
    let mut ids: datafusion::common::HashMap<(u32, u32), u32> = Default::default();
    let mut unit_keys = Vec::new();
    let mut row_unit = vec![0u32; rows.len()];
    for user in 0..users {
        for row in rows.user_rows(user) {
            let row = row as usize;
            let key = (user as u32, rows.session[row]);
            row_unit[row] = *ids.entry(key).or_insert_with(|| {
                unit_keys.push(key);
                unit_keys.len() as u32 - 1
            });
        }
    }
    let units = unit_keys.len();
    let mut starts = vec![0usize; units + 1];
    for unit in &row_unit {
        starts[*unit as usize + 1] += 1;
    }
    for unit in 0..units {
        starts[unit + 1] += starts[unit];
    }
    let mut order = vec![0u32; rows.len()];
    let mut fill = starts.clone();
    for (row, unit) in row_unit.iter().enumerate() {
        order[fill[*unit as usize]] = row as u32;
        fill[*unit as usize] += 1;
    }
    drop(row_unit);
    let mut slices: Vec<&mut [u32]> = Vec::with_capacity(units);
    let mut rest = order.as_mut_slice();
    for unit in 0..units {
        let (head, tail) = rest.split_at_mut(starts[unit + 1] - starts[unit]);
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(unit_keys.into_par_iter())
        .map_init(Scratch::default, |scratch, (unit_rows, (user, session))| {
            evaluate_in_time_order(unit_rows, user, session, scratch)
        })
        .flatten_iter()
        .collect()
}

/// The outcomes of one unit: one, or one per journey when counting totals.
fn evaluate_counting_unit(
    query: &FunnelQuery,
    rows: &Rows,
    unit_rows: &[u32],
    user: u32,
    session: u32,
    scratch: &mut Scratch,
) -> Vec<Outcome> {
    if unit_rows.is_empty() {
        // A user known from rows that meet no step: level 0, listed for per-unit output.
        return if query.keep_all_units {
            vec![Outcome { user, session, level: 0, excluded: false, chain: None }]
        } else {
            Vec::new()
        };
    }
    if query.count_by != CountBy::Totals {
        return vec![evaluate_unit(query, rows, unit_rows, user, session, false, scratch)];
    }
    let mut outcomes = Vec::new();
    let mut cursor = 0;
    while let Some(offset) =
        unit_rows[cursor..].iter().position(|row| rows.steps[*row as usize] & 1 != 0)
    {
        let journey = &unit_rows[cursor + offset..];
        let outcome = evaluate_unit(query, rows, journey, user, session, true, scratch);
        let end = outcome.chain.as_ref().map_or(rows.ts[journey[0] as usize], |chain| chain.last);
        outcomes.push(outcome);
        // The next journey starts with a step 1 after this one ended.
        match journey.iter().position(|row| rows.ts[*row as usize] > end) {
            Some(skip) => cursor += offset + skip,
            None => break,
        }
    }
    if outcomes.is_empty() && query.keep_all_units {
        outcomes.push(Outcome { user, session, level: 0, excluded: false, chain: None });
    }
    outcomes
}

/// Evaluates one unit's rows (sorted by time). With `single_start`, only the first
/// step-1 row starts a chain (one journey when counting totals).
fn evaluate_unit(
    query: &FunnelQuery,
    rows: &Rows,
    unit_rows: &[u32],
    user: u32,
    session: u32,
    single_start: bool,
    scratch: &mut Scratch,
) -> Outcome {
    let steps = query.steps.len();
    let mut best: Option<Chain> = None;
    let better = |candidate: Chain, best: &mut Option<Chain>| {
        if best.is_none_or(|current| level_of(query, &candidate) > level_of(query, &current)) {
            *best = Some(candidate);
        }
    };
    if query.hold.is_empty() {
        if let Some(chain) = best_chain(query, rows, unit_rows, single_start, scratch) {
            better(chain, &mut best);
        }
    } else {
        // One sub-stream per held value; a chain lives inside one of them.
        let mut groups: Vec<(u64, Vec<u32>)> = Vec::new();
        for row in unit_rows {
            let key = rows.hold[*row as usize];
            match groups.iter_mut().find(|(group, _)| *group == key) {
                Some((_, members)) => members.push(*row),
                None => groups.push((key, vec![*row])),
            }
        }
        for (_, members) in &groups {
            if let Some(chain) = best_chain(query, rows, members, single_start, scratch) {
                better(chain, &mut best);
            }
        }
    }
    let mut level = best.map_or(0, |chain| level_of(query, &chain));
    // In the default mode the chain evaluator is ClickHouse's rule itself (a test and
    // the chDB comparison check it); the modes change the rule, so they run ClickHouse's
    // code.
    if query.is_clickhouse_exact() && query.has_modes() {
        let spec =
            FunnelSpec::new(query.window_micros as u64, steps, query.modes).expect("validated");
        let events: Vec<funnel::Event> = unit_rows
            .iter()
            .map(|row| {
                let row = *row as usize;
                funnel::Event::new((rows.ts[row] as u64) ^ (1 << 63), rows.steps[row])
            })
            .collect();
        level = spec.level(&events);
    }
    let excluded = best.is_some_and(|chain| is_excluded(query, rows, unit_rows, &chain));
    Outcome {
        user,
        session,
        level,
        excluded,
        chain: best.map(|chain| KeptChain::of(&chain, steps)),
    }
}

/// The level a chain counts for: steps handled (done or skipped past).
fn level_of(query: &FunnelQuery, chain: &Chain) -> u8 {
    if query.order == StepOrder::Any { chain.done.count_ones() as u8 } else { chain.position }
}

/// The deepest chain of one stream, earliest among equals.
fn best_chain(
    query: &FunnelQuery,
    rows: &Rows,
    stream: &[u32],
    single_start: bool,
    scratch: &mut Scratch,
) -> Option<Chain> {
    match query.order {
        StepOrder::Any => best_chain_any_order(query, rows, stream, single_start),
        StepOrder::Ordered | StepOrder::Strict => {
            best_chain_ordered(query, rows, stream, single_start, scratch)
        }
    }
}

fn best_chain_ordered(
    query: &FunnelQuery,
    rows: &Rows,
    stream: &[u32],
    single_start: bool,
    scratch: &mut Scratch,
) -> Option<Chain> {
    let steps = query.steps.len();
    let strict = query.order == StepOrder::Strict;
    // One entry per (row, step met), as ClickHouse lists them. Ordered funnels sort the
    // entries by (time, step), so that of two rows at the same time the earlier step
    // counts first; strict funnels go row by row, and a row meeting no step is an entry
    // too, since it breaks chains.
    let Scratch { entries, slots, moved, links } = scratch;
    entries.clear();
    for &row in stream {
        let index = row as usize;
        let mask = rows.steps[index];
        if mask == 0 && strict {
            entries.push((rows.ts[index], NO_STEP, row));
        }
        for step in 0..steps {
            if mask & (1 << step) != 0 {
                entries.push((rows.ts[index], step as u8, row));
            }
        }
    }
    if !strict {
        // Rows come sorted by time; only ties between rows can be out of step order.
        if !entries.is_sorted_by_key(|(ts, step, _)| (*ts, *step)) {
            entries.sort_by_key(|(ts, step, _)| (*ts, *step));
        }
    }
    // slots[p]: the chain most recently moved to "next expected step is p", as
    // ClickHouse's `events_timestamp` keeps one (first, last) pair per level.
    slots.clear();
    slots.resize(steps + 1, None);
    moved.clear();
    moved.resize(steps + 1, None);
    links.clear();
    let mut best: Option<ChainHead> = None;
    let mut started = false;
    for (position, &(ts, step, row)) in entries.iter().enumerate() {
        let step = usize::from(step);
        let candidate = if step == usize::from(NO_STEP) {
            None
        } else if step == 0 {
            if single_start && started {
                None
            } else {
                started = true;
                Some(ChainHead::started(row, ts))
            }
        } else {
            predecessor(query, slots, step, ts).map(|chain| chain.extended(links, step, row, ts))
        };
        if let Some(candidate) = candidate {
            slots[step + 1] = Some(candidate);
            if strict {
                moved[step + 1] = Some(candidate);
            }
            if best.is_none_or(|current| candidate.position > current.position) {
                best = Some(candidate);
            }
        }
        if strict && entries.get(position + 1).is_none_or(|next| next.2 != row) {
            // Only the chains this row moved survive it.
            std::mem::swap(slots, moved);
            moved.fill(None);
        }
    }
    best.map(|head| head.chain(links))
}

/// Buffers reused from one unit to the next on each worker thread.
#[derive(Default)]
struct Scratch {
    /// `(time, step, row)` entries of one stream.
    entries: Vec<(i64, u8, u32)>,
    /// Per level, the chain most recently moved there.
    slots: Vec<Option<ChainHead>>,
    /// Strict funnels: the chains the current row moved.
    moved: Vec<Option<ChainHead>>,
    /// The links of every chain of one stream.
    links: Vec<ChainLink>,
}

/// The step of an entry for a row that meets no step.
const NO_STEP: u8 = u8::MAX;

/// A chain while the stream is scanned: what deciding needs, with its rows kept as
/// links back to the chain it extended. Extending one costs a 12-byte push instead
/// of copying a [`Chain`] with a row slot for every possible step.
#[derive(Clone, Copy, Debug)]
struct ChainHead {
    start: i64,
    last: i64,
    done: u32,
    position: u8,
    /// The link of the latest step, in [`Scratch::links`]; [`NO_LINK`] while the chain is
    /// its step-1 row alone.
    link: u32,
    /// The step-1 row. Its link is written when the chain is first extended: most step-1
    /// rows (views) start a chain that nothing extends.
    first_row: u32,
}

/// No link yet, or no link before this one.
const NO_LINK: u32 = u32::MAX;

/// A step of a chain: the row that made it and the link of the step before.
#[derive(Clone, Copy, Debug)]
struct ChainLink {
    row: u32,
    step: u8,
    previous: u32,
}

impl ChainHead {
    fn started(row: u32, ts: i64) -> Self {
        Self { start: ts, last: ts, done: 1, position: 1, link: NO_LINK, first_row: row }
    }

    fn extended(self, links: &mut Vec<ChainLink>, step: usize, row: u32, ts: i64) -> Self {
        let previous = if self.link == NO_LINK {
            links.push(ChainLink { row: self.first_row, step: 0, previous: NO_LINK });
            links.len() as u32 - 1
        } else {
            self.link
        };
        links.push(ChainLink { row, step: step as u8, previous });
        Self {
            start: self.start,
            last: ts,
            done: self.done | 1 << step,
            position: step as u8 + 1,
            link: links.len() as u32 - 1,
            first_row: self.first_row,
        }
    }

    /// The chain with its row per step, following the links back.
    fn chain(self, links: &[ChainLink]) -> Chain {
        let mut rows = [u32::MAX; funnel::MAX_CONDITIONS];
        rows[0] = self.first_row;
        let mut link = self.link;
        while link != NO_LINK {
            let ChainLink { row, step, previous } = links[link as usize];
            rows[usize::from(step)] = row;
            link = previous;
        }
        Chain { start: self.start, last: self.last, rows, done: self.done, position: self.position }
    }
}

/// The chain a row meeting `step` (> 0) extends: among the chains whose next step is
/// `step`, or that may skip optional steps up to it, the one that started last and
/// whose windows still allow `ts`.
fn predecessor(
    query: &FunnelQuery,
    slots: &[Option<ChainHead>],
    step: usize,
    ts: i64,
) -> Option<ChainHead> {
    let mut chosen: Option<ChainHead> = None;
    let mut position = step;
    loop {
        if let Some(chain) = slots[position] {
            let in_window = ts - chain.start <= query.window_micros;
            let in_step_window =
                query.steps[step].within_micros.is_none_or(|within| ts - chain.last <= within);
            let increasing = !query.modes.strict_increase || ts > chain.last;
            if in_window
                && in_step_window
                && increasing
                && chosen.is_none_or(|current| chain.start > current.start)
            {
                chosen = Some(chain);
            }
        }
        if position >= 2 && query.steps[position - 1].optional {
            position -= 1;
        } else {
            break;
        }
    }
    chosen
}

/// Any order: from every row meeting some step, the distinct steps met within the window.
fn best_chain_any_order(
    query: &FunnelQuery,
    rows: &Rows,
    stream: &[u32],
    single_start: bool,
) -> Option<Chain> {
    let mut best: Option<Chain> = None;
    for (start, &anchor) in stream.iter().enumerate() {
        let anchor_index = anchor as usize;
        if rows.steps[anchor_index] == 0 {
            continue;
        }
        let start_ts = rows.ts[anchor_index];
        let mut chain = Chain {
            start: start_ts,
            last: start_ts,
            rows: [u32::MAX; funnel::MAX_CONDITIONS],
            done: 0,
            position: 0,
        };
        for &row in &stream[start..] {
            let index = row as usize;
            if rows.ts[index] - start_ts > query.window_micros {
                break;
            }
            let new = rows.steps[index] & !chain.done;
            for step in 0..query.steps.len() {
                if new & (1 << step) != 0 {
                    chain.rows[step] = row;
                    chain.done |= 1 << step;
                    chain.last = rows.ts[index];
                }
            }
        }
        chain.position = chain.done.count_ones() as u8;
        if best.is_none_or(|current| chain.done.count_ones() > current.done.count_ones()) {
            best = Some(chain);
        }
        if single_start {
            break;
        }
    }
    best
}

/// Whether the unit did an excluded event between the two steps of an exclusion, on
/// its deciding chain (before the window ends when the later step was not reached).
fn is_excluded(query: &FunnelQuery, rows: &Rows, unit_rows: &[u32], chain: &Chain) -> bool {
    query.exclusions.iter().enumerate().any(|(index, exclusion)| {
        let after = chain.rows[exclusion.from_step];
        if after == u32::MAX {
            return false;
        }
        let after = rows.ts[after as usize];
        let before = match chain.rows[exclusion.to_step] {
            u32::MAX => chain.start.saturating_add(query.window_micros),
            row => rows.ts[row as usize],
        };
        unit_rows.iter().any(|row| {
            let row = *row as usize;
            rows.exclusions[row] & (1 << index) != 0
                && rows.ts[row] > after
                && rows.ts[row] < before
        })
    })
}

/// How many units reached each step: a step is reached when the level is past it and,
/// for an optional step, when it was actually done.
fn reached(query: &FunnelQuery, outcome: &Outcome, step: usize) -> bool {
    if outcome.excluded || usize::from(outcome.level) <= step {
        return false;
    }
    if query.steps[step].optional {
        return outcome.chain.as_ref().is_some_and(|chain| chain.done & (1 << step) != 0);
    }
    true
}

fn summarise(query: &FunnelQuery, rows: &Rows, outcomes: &[Outcome], sql: String) -> FunnelResult {
    use rayon::prelude::*;
    let steps = query.steps.len();
    let mut entered = vec![0u64; steps];
    let mut gaps: Vec<Vec<f64>> = vec![Vec::new(); steps];
    let mut total_times = Vec::new();
    let mut excluded = 0;
    for outcome in outcomes {
        if outcome.excluded {
            excluded += 1;
            continue;
        }
        for (step, count) in entered.iter_mut().enumerate() {
            if reached(query, outcome, step) {
                *count += 1;
            }
        }
        let Some(chain) = &outcome.chain else { continue };
        if query.order == StepOrder::Any {
            // Times of the k-th distinct step, in time order.
            let mut times: Vec<i64> = (0..steps)
                .filter(|step| chain.done & (1 << step) != 0)
                .map(|step| rows.ts[chain.rows[step] as usize])
                .collect();
            times.sort_unstable();
            times.truncate(usize::from(outcome.level));
            for (step, pair) in times.windows(2).enumerate() {
                gaps[step + 1].push((pair[1] - pair[0]) as f64 / 1e6);
            }
            if times.len() == steps && steps > 1 {
                total_times.push((times[steps - 1] - times[0]) as f64 / 1e6);
            }
            continue;
        }
        // Ordered: gaps between consecutive done steps the level covers.
        let mut previous: Option<i64> = None;
        let covered = usize::from(outcome.level).min(steps);
        for (step_gaps, &row) in gaps.iter_mut().zip(&chain.rows).take(covered) {
            if row == u32::MAX {
                continue;
            }
            let ts = rows.ts[row as usize];
            if let Some(previous) = previous {
                step_gaps.push((ts - previous) as f64 / 1e6);
            }
            previous = Some(ts);
        }
        if usize::from(outcome.level) == steps && steps > 1 {
            let last = chain.rows[steps - 1];
            if last != u32::MAX {
                total_times.push((rows.ts[last as usize] - chain.start) as f64 / 1e6);
            }
        }
    }
    let first = entered.first().copied().unwrap_or(0);
    let step_results = (0..steps)
        .map(|step| {
            let previous = if step == 0 { first } else { entered[step - 1] };
            let ratio =
                |count: u64, base: u64| if base == 0 { 0.0 } else { count as f64 / base as f64 };
            let mut gap = std::mem::take(&mut gaps[step]);
            // Equal values are indistinguishable, so an unstable sort gives the same order.
            gap.par_sort_unstable_by(f64::total_cmp);
            StepResult {
                name: query.steps[step].label.clone(),
                optional: query.steps[step].optional,
                entered: entered[step],
                conversion_from_start: ratio(entered[step], first),
                conversion_from_previous: if step == 0 {
                    1.0
                } else {
                    ratio(entered[step], previous)
                },
                dropped: if step == 0 { 0 } else { previous.saturating_sub(entered[step]) },
                median_seconds_from_previous: quantile(&gap, 0.5),
                p90_seconds_from_previous: quantile(&gap, 0.9),
                mean_seconds_from_previous: (!gap.is_empty())
                    .then(|| gap.iter().sum::<f64>() / gap.len() as f64),
            }
        })
        .collect();
    let units = if query.count_by == CountBy::Totals {
        let mut seen: Vec<(u32, u32)> =
            outcomes.iter().map(|outcome| (outcome.user, outcome.session)).collect();
        seen.par_sort_unstable();
        seen.dedup();
        seen.len() as u64
    } else {
        // One outcome per unit.
        outcomes.len() as u64
    };
    FunnelResult {
        steps: step_results,
        count_by: query.count_by,
        order: query.order,
        window_seconds: query.window_micros as f64 / 1e6,
        clickhouse_exact: query.is_clickhouse_exact(),
        units,
        excluded,
        time_to_convert: histogram(&mut total_times),
        breakdown: breakdown(query, rows, outcomes),
        sql,
    }
}

/// The `q` quantile of sorted values, interpolated linearly between neighbours.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// Time-to-convert bins on a log scale (1 min, 5 min, 15 min, 1 h, 4 h, 1 d, 3 d, 7 d,
/// …) so that minutes and days both stay readable.
fn histogram(times: &mut [f64]) -> Vec<HistogramBin> {
    const EDGES: [f64; 11] = [
        0.0,
        60.0,
        300.0,
        900.0,
        3_600.0,
        14_400.0,
        86_400.0,
        259_200.0,
        604_800.0,
        2_592_000.0,
        f64::INFINITY,
    ];
    if times.is_empty() {
        return Vec::new();
    }
    let largest = times.iter().copied().fold(0.0, f64::max);
    let last_edge = EDGES.iter().position(|edge| *edge > largest).unwrap_or(EDGES.len() - 1);
    (0..last_edge)
        .map(|bin| {
            let (from, to) = (EDGES[bin], EDGES[bin + 1]);
            HistogramBin {
                from_seconds: from,
                to_seconds: to,
                units: times.iter().filter(|time| **time >= from && **time < to).count() as u64,
            }
        })
        .collect()
}

fn attributed_value(query: &FunnelQuery, rows: &Rows, outcome: &Outcome) -> Option<u32> {
    let chain = outcome.chain.as_ref()?;
    let Some(breakdown) = &query.breakdown else { return None };
    let last_reached = |limit: usize| {
        (0..limit.min(query.steps.len()))
            .rev()
            .map(|step| chain.rows[step])
            .find(|row| *row != u32::MAX)
    };
    let row = match breakdown.attribution {
        Attribution::FirstTouch => Some(chain.rows[0]).filter(|row| *row != u32::MAX),
        Attribution::LastTouch => last_reached(usize::from(outcome.level)),
        Attribution::Step(step) => match chain.rows[step] {
            u32::MAX => last_reached(usize::from(outcome.level).min(step + 1)),
            row => Some(row),
        },
    }?;
    Some(rows.breakdown[row as usize])
}

fn breakdown(query: &FunnelQuery, rows: &Rows, outcomes: &[Outcome]) -> Vec<BreakdownResult> {
    let Some(breakdown) = &query.breakdown else { return Vec::new() };
    let steps = query.steps.len();
    let mut per_value: HashMap<u32, Vec<u64>> = HashMap::new();
    for outcome in outcomes {
        if outcome.excluded || outcome.level == 0 {
            continue;
        }
        let Some(value) = attributed_value(query, rows, outcome) else { continue };
        let counts = per_value.entry(value).or_insert_with(|| vec![0; steps]);
        for (step, count) in counts.iter_mut().enumerate() {
            if reached(query, outcome, step) {
                *count += 1;
            }
        }
    }
    let mut values: Vec<(u32, Vec<u64>)> = per_value.into_iter().collect();
    values.sort_by(|a, b| {
        b.1[0].cmp(&a.1[0]).then_with(|| {
            rows.breakdown_names[a.0 as usize].cmp(&rows.breakdown_names[b.0 as usize])
        })
    });
    let mut results: Vec<BreakdownResult> = values
        .iter()
        .take(breakdown.limit)
        .map(|(value, counts)| BreakdownResult {
            value: rows.breakdown_names[*value as usize].clone(),
            steps: counts.clone(),
        })
        .collect();
    if values.len() > breakdown.limit {
        let mut other = vec![0u64; steps];
        for (_, counts) in &values[breakdown.limit..] {
            for (sum, count) in other.iter_mut().zip(counts) {
                *sum += count;
            }
        }
        results.push(BreakdownResult { value: "(other)".into(), steps: other });
    }
    results
}

/// Parses durations such as `7d`, `12h`, `30m`, `45s`, `1w` or a number of seconds into
/// microseconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        AnalyticsError::InvalidArgument(format!(
            "{text:?} is not a duration; write a number with s, m, h, d or w (e.g. 7d)"
        ))
    })?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "second" | "seconds" => 1.0,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3_600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        other => {
            return Err(AnalyticsError::InvalidArgument(format!(
                "unknown duration unit {other:?} in {text:?}; use s, m, h, d or w"
            )));
        }
    };
    let micros = number * seconds * 1e6;
    if !micros.is_finite() || micros <= 0.0 || micros > i64::MAX as f64 {
        return Err(AnalyticsError::InvalidArgument(format!("duration {text:?} is out of range")));
    }
    Ok(micros.round() as i64)
}
