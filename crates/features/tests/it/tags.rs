//! Rule-based tags and segments on a hand-made shop, as of 2024-01-15.

use features::tags::percentile;
use features::{FeatureOptions, PROFILE_FEATURES, rule_segments, segment_profiles, tag_users};

use crate::{assert_lines, session_with, utc};

/// n arrives late; w views a lot and buys nothing; r searches and reviews; o
/// shops at night; k leaves two carts; l orders three times; s spent most,
/// long ago.
const SHOP: &str = "
    2024-01-12T12:00 n s1 view item=i1 price=10
    2024-01-02T12:00 w s2 view item=i1 price=10
    2024-01-02T12:01 w s2 view item=i2 price=20
    2024-01-02T12:02 w s2 view item=i3 price=30
    2024-01-02T12:03 w s2 view item=i1 price=10
    2024-01-02T12:04 w s2 view item=i2 price=20
    2024-01-02T12:05 w s2 view item=i3 price=30
    2024-01-01T12:00 r s3 search
    2024-01-01T12:01 r s3 search
    2024-01-01T12:02 r s3 search
    2024-01-03T12:00 r s4 review item=i1 rating=5
    2024-01-02T01:00 o s5 view item=i1 price=10
    2024-01-02T01:01 o s5 view item=i2 price=20
    2024-01-02T01:02 o s5 view item=i3 price=30
    2024-01-02T01:03 o s5 view item=i1 price=10
    2024-01-02T01:04 o s5 view item=i2 price=20
    2024-01-02T12:00 k s6 add_to_cart item=i1 price=10
    2024-01-03T12:00 k s7 add_to_cart item=i2 price=20
    2024-01-04T12:00 l s8 purchase item=i1 price=100 order=l1
    2024-01-05T12:00 l s9 purchase item=i1 price=100 order=l2
    2024-01-07T12:00 l s10 purchase item=i1 price=100 order=l3
    2024-01-01T00:30 s s11 purchase item=i3 price=500 order=s1
";

#[tokio::test]
async fn tags_and_segments() {
    let table = features::build(&session_with(SHOP), utc("2024-01-15"), &FeatureOptions::default())
        .await
        .unwrap();
    let tags = tag_users(&table).unwrap();
    let segments = rule_segments(&table, &tags).unwrap();
    let users = table.user_ids().unwrap();
    let lines: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(row, user)| format!("{user} {} | {}", tags.joined(row), segments[row]))
        .collect();
    // Customers l and s: l's 3 orders reach the 75th percentile of [1, 3]
    // (2.5); s's 500 reaches the 90th of [300, 500] (480) and, with s's
    // recency the larger, s is at risk. Views: the 75th percentile of
    // [0, 0, 0, 0, 1, 5, 6] is 3, so w (6 views) and o (5) are window
    // shoppers; of the users with 5+ events (w, o) only o shops at night. The
    // segments of the customers are their RFM segments (docs/analytics.md).
    assert_lines(
        &lines,
        &[
            "k cart_abandoner | Browsers",
            "l loyal | About to Sleep",
            "n new | New Visitors",
            "o night_owl;window_shopper | Window Shoppers",
            "r researcher;reviewer | Browsers",
            "s big_spender;at_risk | Hibernating",
            "w window_shopper | Window Shoppers",
        ],
    );
    let profiles = segment_profiles(&table, &segments, &tags, &PROFILE_FEATURES).unwrap();
    let summary: Vec<String> = profiles
        .iter()
        .map(|p| format!("{} {} {:.2} orders={:?}", p.segment, p.users, p.share, p.means[3].1))
        .collect();
    assert_lines(
        &summary,
        &[
            "Browsers 2 0.29 orders=Some(0.0)",
            "Window Shoppers 2 0.29 orders=Some(0.0)",
            "About to Sleep 1 0.14 orders=Some(3.0)",
            "Hibernating 1 0.14 orders=Some(1.0)",
            "New Visitors 1 0.14 orders=Some(0.0)",
        ],
    );
}

#[test]
fn percentiles_interpolate_between_ranks() {
    assert_eq!(percentile([4.0, 1.0, 3.0, 2.0], 0.75), Some(3.25));
    assert_eq!(percentile([7.0], 0.9), Some(7.0));
    assert_eq!(percentile([], 0.5), None);
    assert_eq!(percentile([1.0, f64::NAN, 3.0], 0.5), Some(2.0));
}
