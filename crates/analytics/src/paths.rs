//! Paths: what sessions do right after (or right before) a chosen event, step by
//! step, as Sankey data.
//!
//! Definition (also in `docs/analytics.md`):
//! - Paths never cross sessions: a step is another event of the same user's same
//!   session. Events are ordered by `event_time`, then `event_id` so that events
//!   at the same microsecond have one fixed order.
//! - Each session containing the anchor event contributes one path. Looking
//!   forward (`Next`) it starts at the session's **first** anchor event and follows
//!   the events after it; looking back (`Previous`) it starts at the session's
//!   **last** anchor event and follows the events before it, nearest first.
//! - Depth 0 is the anchor itself; depth k is the k-th event after (before) it.
//!   A session that runs out of events before the chosen depth gets one more step,
//!   [`PATH_END`] forward or [`PATH_START`] backward, and its path stops there.
//! - With `collapse_repeats`, runs of the same event type (view, view, view) count
//!   as one step, before anything else.
//! - At each depth only the `top_per_depth` most frequent events keep their
//!   name (ties broken by name); the rest become [`PATH_OTHER`]. The end marker is
//!   always kept. Nodes are (depth, event) with the number of sessions passing
//!   through; links join depth k to depth k+1 with the number of sessions taking
//!   them, in the direction of reading (away from the anchor).
//! - Bot-flagged events are left out unless `include_bots` is set.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::calendar::{EventSelector, bot_condition_sql};
use crate::columns::{collect, integers, strings};
use crate::{AnalyticsError, Result};

/// The step after the last event of a session, looking forward.
pub const PATH_END: &str = "(end)";
/// The step before the first event of a session, looking back.
pub const PATH_START: &str = "(start)";
/// The events outside the top ones at a depth.
pub const PATH_OTHER: &str = "(other)";

/// Which way paths run from the anchor event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathDirection {
    /// The events after the anchor.
    #[default]
    Next,
    /// The events before the anchor, nearest first.
    Previous,
}

impl PathDirection {
    /// The marker of a session that has no more events in this direction.
    pub fn end_marker(self) -> &'static str {
        match self {
            PathDirection::Next => PATH_END,
            PathDirection::Previous => PATH_START,
        }
    }
}

impl fmt::Display for PathDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathDirection::Next => "next",
            PathDirection::Previous => "previous",
        })
    }
}

impl FromStr for PathDirection {
    type Err = AnalyticsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "next" | "after" | "forward" => Ok(PathDirection::Next),
            "previous" | "before" | "backward" => Ok(PathDirection::Previous),
            other => Err(AnalyticsError::InvalidArgument(format!(
                "unknown path direction {other:?}: expected next or previous"
            ))),
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathSpec {
    /// Where paths start; `any` starts them at each session's first event
    /// (forward) or last event (backward).
    pub anchor: EventSelector,
    pub direction: PathDirection,
    /// Steps from the anchor, at least 1.
    pub depth: u32,
    /// Events named at each depth; the rest are grouped as [`PATH_OTHER`].
    pub top_per_depth: usize,
    /// Count a run of the same event type as one step.
    pub collapse_repeats: bool,
    /// How many of the most common whole paths to list.
    pub max_paths: usize,
    /// Count bot-flagged events too (they are left out by default).
    pub include_bots: bool,
}

impl Default for PathSpec {
    fn default() -> Self {
        PathSpec {
            anchor: EventSelector::event_type("view"),
            direction: PathDirection::Next,
            depth: 3,
            top_per_depth: 5,
            collapse_repeats: false,
            max_paths: 10,
            include_bots: false,
        }
    }
}

/// A Sankey node: one event at one depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathNode {
    /// Steps from the anchor (0 = the anchor).
    pub depth: u32,
    pub event: String,
    /// Sessions whose path passes through this node.
    pub sessions: u64,
}

/// A Sankey link between a node at depth k and one at depth k+1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathLink {
    /// Index into [`Paths::nodes`].
    pub source: usize,
    /// Index into [`Paths::nodes`].
    pub target: usize,
    pub sessions: u64,
}

/// One whole path (anchor first, events not grouped) and how many sessions took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathCount {
    pub events: Vec<String>,
    pub sessions: u64,
}

/// Paths from the anchor event, as Sankey nodes and links plus the top paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paths {
    pub spec: PathSpec,
    /// Sessions containing the anchor event (each contributes one path).
    pub sessions: u64,
    /// By depth, then most sessions first, then by name.
    pub nodes: Vec<PathNode>,
    /// By source, then most sessions first, then by target.
    pub links: Vec<PathLink>,
    /// The most common whole paths, most sessions first, ties by the events.
    pub top_paths: Vec<PathCount>,
}

/// Computes the paths from `spec.anchor` in the `events` table in `context`.
pub async fn paths(context: &SessionContext, spec: &PathSpec) -> Result<Paths> {
    if spec.depth == 0 {
        return Err(AnalyticsError::InvalidArgument("path depth must be at least 1".into()));
    }
    let depth = i64::from(spec.depth);
    let bots = bot_condition_sql(spec.include_bots);
    let (anchor_position, steps) = match spec.direction {
        PathDirection::Next => ("min", format!("BETWEEN 0 AND {depth}")),
        PathDirection::Previous => ("max", format!("BETWEEN -{depth} AND 0")),
    };
    let session_order = "PARTITION BY user_id, session_id ORDER BY event_time, event_id";
    // Collapsing drops an event of the same type as the one before it, so it
    // needs that type first; without it, one window pass less.
    let kept_events = if spec.collapse_repeats {
        format!(
            "SELECT user_id, session_id, event_type, event_time, event_id FROM ( \
               SELECT user_id, session_id, event_type, event_time, event_id, \
                 lag(event_type) OVER ({session_order}) AS previous_type \
               FROM events WHERE {bots}) \
             WHERE previous_type IS NULL OR previous_type <> event_type"
        )
    } else {
        format!(
            "SELECT user_id, session_id, event_type, event_time, event_id FROM events WHERE {bots}"
        )
    };
    // Positions are numbered after collapsing, so that a collapsed run is one
    // step; steps are signed distances from the anchor's position, which a
    // window over the same session finds in the same pass.
    let sql = format!(
        "WITH numbered AS ( \
           SELECT user_id, session_id, event_type, \
             CAST(row_number() OVER ({session_order}) AS BIGINT) AS position \
           FROM ({kept_events})), \
         anchored AS ( \
           SELECT user_id, session_id, event_type, position, \
             {anchor_position}(CASE WHEN {anchor} THEN position END) \
               OVER (PARTITION BY user_id, session_id) AS anchor_position \
           FROM numbered) \
         SELECT user_id, session_id, position - anchor_position AS step, event_type \
         FROM anchored \
         WHERE anchor_position IS NOT NULL AND position - anchor_position {steps}",
        anchor = spec.anchor.condition_sql(),
    );
    let mut steps_by_session: HashMap<(String, String), Vec<(u64, String)>> = HashMap::new();
    for batch in collect(context, &sql).await? {
        let (users, sessions) = (strings(&batch, 0)?, strings(&batch, 1)?);
        let (steps, event_types) = (integers(&batch, 2)?, strings(&batch, 3)?);
        for row in 0..batch.num_rows() {
            let session = (users.value(row).to_string(), sessions.value(row).to_string());
            steps_by_session
                .entry(session)
                .or_default()
                .push((steps.value(row).unsigned_abs(), event_types.value(row).to_string()));
        }
    }
    let sequences: Vec<Vec<String>> = steps_by_session
        .into_values()
        .map(|mut steps| {
            steps.sort_unstable();
            let mut events: Vec<String> = steps.into_iter().map(|(_, event)| event).collect();
            if events.len() <= spec.depth as usize {
                events.push(spec.direction.end_marker().to_string());
            }
            events
        })
        .collect();
    Ok(summarise_paths(spec, &sequences))
}

/// Builds nodes, links and top paths from each session's path (anchor first,
/// ended by the end marker when the session ran out of events).
fn summarise_paths(spec: &PathSpec, sequences: &[Vec<String>]) -> Paths {
    let end_marker = spec.direction.end_marker();
    let mut per_depth: Vec<HashMap<&str, u64>> = vec![HashMap::new(); spec.depth as usize + 1];
    for sequence in sequences {
        for (depth, event) in sequence.iter().enumerate() {
            *per_depth[depth].entry(event.as_str()).or_default() += 1;
        }
    }
    let named_per_depth: Vec<Vec<&str>> = per_depth
        .iter()
        .map(|counts| {
            let mut ranked: Vec<(&str, u64)> = counts
                .iter()
                .filter(|(event, _)| **event != end_marker)
                .map(|(event, count)| (*event, *count))
                .collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            ranked.into_iter().take(spec.top_per_depth).map(|(event, _)| event).collect()
        })
        .collect();
    let label = |depth: usize, event: &str| -> String {
        if event == end_marker || named_per_depth[depth].contains(&event) {
            event.to_string()
        } else {
            PATH_OTHER.to_string()
        }
    };

    let mut node_sessions: BTreeMap<(usize, String), u64> = BTreeMap::new();
    let mut link_sessions: BTreeMap<((usize, String), String), u64> = BTreeMap::new();
    let mut path_sessions: BTreeMap<&[String], u64> = BTreeMap::new();
    for sequence in sequences {
        *path_sessions.entry(sequence.as_slice()).or_default() += 1;
        let labels: Vec<String> =
            sequence.iter().enumerate().map(|(depth, event)| label(depth, event)).collect();
        for (depth, node) in labels.iter().enumerate() {
            *node_sessions.entry((depth, node.clone())).or_default() += 1;
            if let Some(next) = labels.get(depth + 1) {
                *link_sessions.entry(((depth, node.clone()), next.clone())).or_default() += 1;
            }
        }
    }

    let mut nodes: Vec<PathNode> = node_sessions
        .into_iter()
        .map(|((depth, event), sessions)| PathNode { depth: depth as u32, event, sessions })
        .collect();
    nodes.sort_by(|a, b| {
        a.depth.cmp(&b.depth).then(b.sessions.cmp(&a.sessions)).then(a.event.cmp(&b.event))
    });
    let index: HashMap<(u32, &str), usize> =
        nodes.iter().enumerate().map(|(i, node)| ((node.depth, node.event.as_str()), i)).collect();
    let mut links: Vec<PathLink> = link_sessions
        .into_iter()
        .map(|(((depth, from), to), sessions)| PathLink {
            source: index[&(depth as u32, from.as_str())],
            target: index[&(depth as u32 + 1, to.as_str())],
            sessions,
        })
        .collect();
    links.sort_by(|a, b| {
        a.source.cmp(&b.source).then(b.sessions.cmp(&a.sessions)).then(a.target.cmp(&b.target))
    });
    let mut top_paths: Vec<PathCount> = path_sessions
        .into_iter()
        .map(|(events, sessions)| PathCount { events: events.to_vec(), sessions })
        .collect();
    top_paths.sort_by(|a, b| b.sessions.cmp(&a.sessions).then_with(|| a.events.cmp(&b.events)));
    top_paths.truncate(spec.max_paths);
    Paths { spec: spec.clone(), sessions: sequences.len() as u64, nodes, links, top_paths }
}
