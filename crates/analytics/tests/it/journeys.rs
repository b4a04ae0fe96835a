//! Each user's latest events before a cut-off, as tokens.

use analytics::{AnalyticsError, Journey, JourneySpec, journeys};

use crate::{block_on, session_with, utc};

const SHOP: &str = "
    2024-01-01T10:00 u1 s1 search
    2024-01-01T10:01 u1 s1 view item=p1 category=electronics.phone
    2024-01-01T10:01 u1 s1 view item=p2 category=home
    2024-01-01T10:02 u1 s1 add_to_cart item=p1 category=electronics.phone
    2024-01-03T09:00 u1 s2 purchase item=p1 category=electronics.phone
    2024-01-01T11:00 u2 s3 view item=p9
    2024-01-01T11:05 u2 s3 view item=p3 category=home bot
    2024-01-04T11:00 u3 s4 view item=p3 category=home
";

fn render(journeys: &[Journey]) -> Vec<String> {
    journeys
        .iter()
        .map(|j| {
            let tokens: Vec<&str> = j.steps.iter().map(|s| s.token.as_str()).collect();
            format!("{}: {}", j.user_id, tokens.join(" "))
        })
        .collect()
}

fn spec(before: &str, max_steps: usize) -> JourneySpec {
    JourneySpec { before: utc(before), max_steps, include_bots: false }
}

#[test]
fn latest_steps_before_the_cut_off_oldest_first() {
    let result = block_on(journeys(&session_with(SHOP), &spec("2024-01-03", 3))).unwrap();
    // u1 keeps its 3 latest steps before the cut-off (the purchase is after it);
    // equal times keep event-id order; items without a category are the bare type;
    // bots are left out; u3 has nothing before the cut-off.
    assert_eq!(
        render(&result),
        ["u1: view:electronics view:home add_to_cart:electronics", "u2: view"]
    );
    let u1 = &result[0].steps;
    assert_eq!(u1[2].micros - u1[1].micros, 60_000_000);
}

#[test]
fn bots_on_request_and_no_steps_refused() {
    let mut with_bots = spec("2024-02-01", 10);
    with_bots.include_bots = true;
    let result = block_on(journeys(&session_with(SHOP), &with_bots)).unwrap();
    assert_eq!(render(&result)[1], "u2: view view:home");
    assert_eq!(render(&result)[2], "u3: view:home");
    let error = block_on(journeys(&session_with(SHOP), &spec("2024-02-01", 0))).unwrap_err();
    assert!(matches!(error, AnalyticsError::InvalidArgument(_)), "{error}");
}
