//! Paths after and before an event, on small hand-computed tables.

use analytics::{AnalyticsError, EventSelector, PathDirection, PathSpec, Paths, paths};

use crate::{assert_lines, block_on, session_with};

/// Nodes as `DEPTH:EVENT SESSIONS`, links as `FROM -> TO SESSIONS`, then the top
/// paths as `EVENT > EVENT … SESSIONS`.
fn render(result: &Paths) -> String {
    let node = |i: usize| format!("{}:{}", result.nodes[i].depth, result.nodes[i].event);
    let mut out = format!("sessions {}\n", result.sessions);
    for (i, n) in result.nodes.iter().enumerate() {
        out += &format!("node {} {}\n", node(i), n.sessions);
    }
    for link in &result.links {
        out += &format!("link {} -> {} {}\n", node(link.source), node(link.target), link.sessions);
    }
    for path in &result.top_paths {
        out += &format!("path {} {}\n", path.events.join(" > "), path.sessions);
    }
    out
}

#[track_caller]
fn check(events: &str, spec: PathSpec, expected: &str) {
    let result = block_on(paths(&session_with(events), &spec)).unwrap();
    assert_lines(&render(&result), expected);
}

fn spec(anchor: &str, direction: PathDirection, depth: u32) -> PathSpec {
    PathSpec { anchor: anchor.parse().unwrap(), direction, depth, ..PathSpec::default() }
}

const SHOP: &str = "
    2024-01-01T10:00 u1 s1 view
    2024-01-01T10:01 u1 s1 view
    2024-01-01T10:02 u1 s1 add_to_cart
    2024-01-01T10:03 u1 s1 purchase
    2024-01-01T11:00 u2 s2 search
    2024-01-01T11:01 u2 s2 view
    2024-01-01T11:02 u2 s2 add_to_cart
    2024-01-01T12:00 u3 s3 view
    2024-01-02T12:00 u3 s4 view
    2024-01-01T13:00 u4 s5 search
    2024-01-01T13:01 u4 s5 view bot
";

#[test]
fn next_events_stay_in_the_session_and_end_with_the_end_marker() {
    // s1 starts at its first view; s3 and s4 are separate sessions of u3, each
    // ending right after its view; s5 has a view only from a bot.
    check(
        SHOP,
        spec("view", PathDirection::Next, 2),
        "
        sessions 4
        node 0:view 4
        node 1:(end) 2
        node 1:add_to_cart 1
        node 1:view 1
        node 2:(end) 1
        node 2:add_to_cart 1
        link 0:view -> 1:(end) 2
        link 0:view -> 1:add_to_cart 1
        link 0:view -> 1:view 1
        link 1:add_to_cart -> 2:(end) 1
        link 1:view -> 2:add_to_cart 1
        path view > (end) 2
        path view > add_to_cart > (end) 1
        path view > view > add_to_cart 1
        ",
    );
}

#[test]
fn collapsed_repeats_are_one_step() {
    check(
        SHOP,
        PathSpec { collapse_repeats: true, max_paths: 1, ..spec("view", PathDirection::Next, 2) },
        "
        sessions 4
        node 0:view 4
        node 1:(end) 2
        node 1:add_to_cart 2
        node 2:(end) 1
        node 2:purchase 1
        link 0:view -> 1:(end) 2
        link 0:view -> 1:add_to_cart 2
        link 1:add_to_cart -> 2:(end) 1
        link 1:add_to_cart -> 2:purchase 1
        path view > (end) 2
        ",
    );
}

#[test]
fn events_outside_the_top_ones_are_grouped() {
    // At depth 1, add_to_cart and view tie with one session each: the name
    // decides, and view becomes "(other)". The end marker is always kept.
    check(
        SHOP,
        PathSpec { top_per_depth: 1, max_paths: 0, ..spec("view", PathDirection::Next, 2) },
        "
        sessions 4
        node 0:view 4
        node 1:(end) 2
        node 1:(other) 1
        node 1:add_to_cart 1
        node 2:(end) 1
        node 2:add_to_cart 1
        link 0:view -> 1:(end) 2
        link 0:view -> 1:(other) 1
        link 0:view -> 1:add_to_cart 1
        link 1:(other) -> 2:add_to_cart 1
        link 1:add_to_cart -> 2:(end) 1
        ",
    );
}

#[test]
fn previous_events_run_back_from_the_last_anchor_to_the_start_marker() {
    check(
        SHOP,
        PathSpec { max_paths: 5, ..spec("add_to_cart", PathDirection::Previous, 3) },
        "
        sessions 2
        node 0:add_to_cart 2
        node 1:view 2
        node 2:search 1
        node 2:view 1
        node 3:(start) 2
        link 0:add_to_cart -> 1:view 2
        link 1:view -> 2:search 1
        link 1:view -> 2:view 1
        link 2:search -> 3:(start) 1
        link 2:view -> 3:(start) 1
        path add_to_cart > view > search > (start) 1
        path add_to_cart > view > view > (start) 1
        ",
    );
}

#[test]
fn events_at_the_same_time_keep_their_id_order_and_sessions_are_per_user() {
    // Both users call their session "s1"; they are still two paths.
    check(
        "
        2024-01-01T10:00 u1 s1 add_to_cart
        2024-01-01T10:00 u1 s1 view
        2024-01-01T10:00 u2 s1 view
        2024-01-01T10:00 u2 s1 add_to_cart
        ",
        spec("view", PathDirection::Next, 1),
        "
        sessions 2
        node 0:view 2
        node 1:(end) 1
        node 1:add_to_cart 1
        link 0:view -> 1:(end) 1
        link 0:view -> 1:add_to_cart 1
        path view > (end) 1
        path view > add_to_cart 1
        ",
    );
}

#[test]
fn any_anchor_starts_at_the_first_event_of_each_session() {
    check(
        "
        2024-01-01T10:00 u1 s1 search
        2024-01-01T10:05 u1 s1 view
        ",
        PathSpec { anchor: EventSelector::Any, ..spec("any", PathDirection::Next, 1) },
        "
        sessions 1
        node 0:search 1
        node 1:view 1
        link 0:search -> 1:view 1
        path search > view 1
        ",
    );
}

#[test]
fn no_anchor_no_paths_and_depth_zero_is_refused() {
    check(SHOP, spec("refund", PathDirection::Next, 3), "sessions 0");
    check("", spec("view", PathDirection::Previous, 3), "sessions 0");
    let refused = block_on(paths(&session_with(SHOP), &spec("view", PathDirection::Next, 0)));
    assert!(matches!(refused, Err(AnalyticsError::InvalidArgument(_))), "{refused:?}");
    assert_eq!("before".parse::<PathDirection>().unwrap(), PathDirection::Previous);
    assert!("sideways".parse::<PathDirection>().is_err());
}
