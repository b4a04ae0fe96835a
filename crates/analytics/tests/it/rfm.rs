//! RFM measures, quintile scores and segments on small hand-computed tables.

use analytics::rfm::quintile_scores;
use analytics::{RfmAnalysis, RfmSegment, RfmSpec, rfm};

use crate::{assert_lines, block_on, session_with, utc};

/// Customers as `USER RECENCY FREQUENCY MONETARY rR fF mM SEGMENT`, then the
/// non-empty segments as `SEGMENT: CUSTOMERS SHARE`.
fn render(result: &RfmAnalysis) -> String {
    let mut out = format!(
        "as of {}\n",
        result.as_of.map_or("-".to_string(), |t| t.format("%Y-%m-%dT%H:%M").to_string())
    );
    for c in &result.customers {
        out += &format!(
            "{} {} {} {:.2} r{} f{} m{} {}\n",
            c.user_id, c.recency_days, c.frequency, c.monetary, c.r, c.f, c.m, c.segment
        );
    }
    for s in result.segments.iter().filter(|s| s.customers > 0) {
        out += &format!("{}: {} {:.0}%\n", s.segment, s.customers, s.share * 100.0);
    }
    out
}

#[track_caller]
fn check(events: &str, spec: RfmSpec, expected: &str) {
    let result = block_on(rfm(&session_with(events), &spec)).unwrap();
    assert_lines(&render(&result), expected);
}

const SHOP: &str = "
    2024-01-01 a s1 purchase price=10 quantity=2 order=o1
    2024-01-01 a s1 purchase price=5 order=o1
    2024-01-10 a s2 purchase price=5 order=o2
    2024-01-12 a s3 refund price=5 order=o2
    2024-01-05 b s4 purchase price=100
    2024-01-05 b s4 purchase price=50
    2024-01-06 b s5 purchase price=1
    2024-01-20 c s6 purchase price=20 order=o3
    2024-01-21 d s7 view
    2024-01-21T06:00 e s8 purchase price=999 bot
";

#[test]
fn measures_scores_and_segments_as_of_the_last_event() {
    // a: orders o1 (two lines, 10×2 + 5×1) and o2 (5), refund 5 → 25 net, last
    // Jan 10 → 11 days. b: no order ids, so one order per session (s4, s5) → 2,
    // 151. c: 1 order, 20, 1 day. d never buys; e is a bot. R ranks -15 < -11 < -1,
    // F ties a and b at rank 2 of 3 → 1 + ⌊5·1/3⌋ = 2.
    check(
        SHOP,
        RfmSpec::default(),
        "
        as of 2024-01-21T00:00
        a 11 2 25.00 r2 f2 m2 Hibernating
        b 15 2 151.00 r1 f2 m4 At Risk
        c 1 1 20.00 r4 f1 m1 Promising
        Promising: 1 33%
        At Risk: 1 33%
        Hibernating: 1 33%
        ",
    );
}

#[test]
fn an_earlier_as_of_ignores_later_events() {
    check(
        SHOP,
        RfmSpec { as_of: Some(utc("2024-01-08")), ..RfmSpec::default() },
        "
        as of 2024-01-08T00:00
        a 7 1 25.00 r1 f1 m1 Lost
        b 2 2 151.00 r3 f3 m3 Need Attention
        Need Attention: 1 50%
        Lost: 1 50%
        ",
    );
}

#[test]
fn bots_are_customers_only_when_asked() {
    let result =
        block_on(rfm(&session_with(SHOP), &RfmSpec { include_bots: true, ..RfmSpec::default() }))
            .unwrap();
    let bot = result.customers.iter().find(|c| c.user_id == "e").unwrap();
    assert_eq!((bot.recency_days, bot.monetary, bot.r, bot.m), (0, 999.0, 4, 4));
    assert_eq!(result.as_of, Some(utc("2024-01-21T06:00")));
}

#[test]
fn a_single_customer_with_one_purchase_refunded_in_full() {
    // Monetary never goes below zero; alone, every score is 1.
    check(
        "
        2024-01-01 f s1 purchase price=10
        2024-01-02 f s2 refund price=30
        ",
        RfmSpec::default(),
        "
        as of 2024-01-02T00:00
        f 1 1 0.00 r1 f1 m1 Lost
        Lost: 1 100%
        ",
    );
}

#[test]
fn an_empty_table_has_no_customers_but_every_segment() {
    let result = block_on(rfm(&session_with(""), &RfmSpec::default())).unwrap();
    assert_eq!((result.as_of, result.customers.len(), result.segments.len()), (None, 0, 11));
    assert!(result.segments.iter().all(|s| s.customers == 0 && s.mean_monetary.is_none()));
}

#[test]
fn segment_means() {
    let result = block_on(rfm(&session_with(SHOP), &RfmSpec::default())).unwrap();
    let at_risk = result.segments.iter().find(|s| s.segment == RfmSegment::AtRisk).unwrap();
    assert_eq!(
        (at_risk.mean_recency_days, at_risk.mean_frequency, at_risk.mean_monetary),
        (Some(15.0), Some(2.0), Some(151.0))
    );
}

#[test]
fn quintile_scores_rank_ties_together() {
    let cases: [(&[f64], &[u8]); 7] = [
        (&[], &[]),
        (&[7.0], &[1]),
        (&[1.0, 2.0, 3.0, 4.0, 5.0], &[1, 2, 3, 4, 5]),
        (&[3.0, 1.0, 2.0], &[4, 1, 2]),
        (&[1.0, 1.0, 1.0, 2.0, 3.0], &[1, 1, 1, 4, 5]),
        (&[5.0, 5.0, 5.0, 5.0], &[1, 1, 1, 1]),
        (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], &[1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ];
    for (values, expected) in cases {
        assert_eq!(quintile_scores(values), expected, "{values:?}");
    }
}

#[test]
fn segment_grid() {
    use RfmSegment::*;
    let cases = [
        ((5, 5, 5), Champions),
        ((5, 4, 3), Champions),
        ((5, 1, 1), New),
        ((5, 1, 2), PotentialLoyalist),
        ((4, 3, 2), PotentialLoyalist),
        ((4, 1, 1), Promising),
        ((4, 5, 4), Loyal),
        ((3, 4, 4), Loyal),
        ((3, 3, 3), NeedAttention),
        ((3, 2, 1), AboutToSleep),
        ((2, 4, 4), AtRisk),
        ((1, 3, 2), AtRisk),
        ((1, 5, 5), CantLose),
        ((2, 5, 4), CantLose),
        ((2, 1, 1), Hibernating),
        ((1, 1, 3), Hibernating),
        ((1, 1, 1), Lost),
    ];
    for ((r, f, m), expected) in cases {
        assert_eq!(RfmSegment::from_scores(r, f, m), expected, "R{r} F{f} M{m}");
    }
    // Every cell of the grid has a segment, and every segment has a cell.
    let mut seen = std::collections::BTreeSet::new();
    for r in 1..=5 {
        for f in 1..=5 {
            seen.insert(RfmSegment::from_scores(r, f, f));
        }
    }
    assert_eq!(seen.len(), RfmSegment::ALL.len());
}
