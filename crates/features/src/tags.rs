//! Rule-based tags per user, read off the feature table.
//!
//! Where a shop's scale matters (how many orders is "many", how much is "big"),
//! a rule compares a user with the population: the thresholds are percentiles of
//! the users the rule concerns (customers for spending, searchers for search
//! activity), computed afresh for every table, so they fit a shop of any size
//! and currency. Rules about shares (night, abandoned carts, discounts) use a
//! fixed share as well, so a shop where nobody shops at night has no night owls.
//! The rules and their thresholds are documented in `docs/segments.md`.

use std::fmt;

use serde::Serialize;

use crate::{FeatureTable, Result};

/// A behaviour tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    New,
    Loyal,
    BigSpender,
    BargainHunter,
    NightOwl,
    AtRisk,
    WindowShopper,
    CartAbandoner,
    Researcher,
    Reviewer,
}

impl Tag {
    pub const ALL: [Tag; 10] = [
        Tag::New,
        Tag::Loyal,
        Tag::BigSpender,
        Tag::BargainHunter,
        Tag::NightOwl,
        Tag::AtRisk,
        Tag::WindowShopper,
        Tag::CartAbandoner,
        Tag::Researcher,
        Tag::Reviewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tag::New => "new",
            Tag::Loyal => "loyal",
            Tag::BigSpender => "big_spender",
            Tag::BargainHunter => "bargain_hunter",
            Tag::NightOwl => "night_owl",
            Tag::AtRisk => "at_risk",
            Tag::WindowShopper => "window_shopper",
            Tag::CartAbandoner => "cart_abandoner",
            Tag::Researcher => "researcher",
            Tag::Reviewer => "reviewer",
        }
    }

    /// The rule, in words (the thresholds are in [`TagThresholds`]).
    pub fn rule(self) -> &'static str {
        match self {
            Tag::New => "first event less than 7 days before the as-of time",
            Tag::Loyal => {
                "at least 2 orders, and at least the 75th percentile of the customers' orders"
            }
            Tag::BigSpender => "monetary value at or above the 90th percentile of the customers'",
            Tag::BargainHunter => {
                "a purchase, and either half or more of the priced purchases below the item's \
                 median price, or a purchased price level at or below the 20th percentile of \
                 the purchasers'"
            }
            Tag::NightOwl => {
                "at least 5 events, and a night share (00–06 UTC) of at least one third and at \
                 or above the 90th percentile of users with 5 or more events"
            }
            Tag::AtRisk => {
                "a customer with a monetary value at or above the customers' median whose \
                 recency is at or above the 75th percentile of the customers'"
            }
            Tag::WindowShopper => {
                "no purchase, and at least 5 views and at least the 75th percentile of all \
                 users' views"
            }
            Tag::CartAbandoner => {
                "at least 2 sessions with an add_to_cart, and half or more of them without a \
                 purchase"
            }
            Tag::Researcher => {
                "at least 3 searches, and searches per session at or above the 90th percentile \
                 of the users who search"
            }
            Tag::Reviewer => "at least one review",
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The population thresholds the rules used on one table (`None` when nobody
/// qualified to compute one, e.g. no customers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagThresholds {
    /// 75th percentile of the customers' orders (at least 2 applies too).
    pub loyal_min_orders: Option<f64>,
    /// 90th percentile of the customers' monetary value.
    pub big_spender_min_monetary: Option<f64>,
    /// 20th percentile of the purchasers' purchased price level.
    pub bargain_max_price_level: Option<f64>,
    /// 90th percentile of the night share of users with 5+ events.
    pub night_owl_min_share: Option<f64>,
    /// The customers' median monetary value.
    pub at_risk_min_monetary: Option<f64>,
    /// 75th percentile of the customers' recency in days.
    pub at_risk_min_recency_days: Option<f64>,
    /// 75th percentile of all users' views.
    pub window_shopper_min_views: Option<f64>,
    /// 90th percentile of the searchers' searches per session.
    pub researcher_min_searches_per_session: Option<f64>,
}

/// Every user's tags, row-aligned with the feature table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserTags {
    pub thresholds: TagThresholds,
    /// One list per row of the feature table, in [`Tag::ALL`] order.
    pub tags: Vec<Vec<Tag>>,
}

impl UserTags {
    /// How many users carry each tag, in [`Tag::ALL`] order.
    pub fn counts(&self) -> Vec<(Tag, usize)> {
        Tag::ALL
            .iter()
            .map(|&tag| (tag, self.tags.iter().filter(|tags| tags.contains(&tag)).count()))
            .collect()
    }

    /// One row's tags joined with `;` (empty when none).
    pub fn joined(&self, row: usize) -> String {
        self.tags[row].iter().map(|tag| tag.name()).collect::<Vec<_>>().join(";")
    }
}

/// The `fraction` quantile (0–1) of the values, by linear interpolation between
/// the closest ranks (numpy's default); `None` when there are none.
pub fn percentile(values: impl IntoIterator<Item = f64>, fraction: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let position = fraction.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * weight)
}

/// The feature columns the rules read, null as `None`.
struct Columns {
    events: Vec<Option<f64>>,
    views: Vec<Option<f64>>,
    purchases: Vec<Option<f64>>,
    reviews: Vec<Option<f64>>,
    searches: Vec<Option<f64>>,
    orders: Vec<Option<f64>>,
    monetary: Vec<Option<f64>>,
    tenure_days: Vec<Option<f64>>,
    recency_days: Vec<Option<f64>>,
    night_share: Vec<Option<f64>>,
    cart_sessions: Vec<Option<f64>>,
    cart_abandonment_rate: Vec<Option<f64>>,
    searches_per_session: Vec<Option<f64>>,
    price_level_purchased: Vec<Option<f64>>,
    discount_purchase_share: Vec<Option<f64>>,
}

/// Tags every user of the table.
pub fn tag_users(table: &FeatureTable) -> Result<UserTags> {
    let c = Columns {
        events: table.numeric("events")?,
        views: table.numeric("views")?,
        purchases: table.numeric("purchases")?,
        reviews: table.numeric("reviews")?,
        searches: table.numeric("searches")?,
        orders: table.numeric("orders")?,
        monetary: table.numeric("monetary")?,
        tenure_days: table.numeric("tenure_days")?,
        recency_days: table.numeric("recency_days")?,
        night_share: table.numeric("night_share")?,
        cart_sessions: table.numeric("cart_sessions")?,
        cart_abandonment_rate: table.numeric("cart_abandonment_rate")?,
        searches_per_session: table.numeric("searches_per_session")?,
        price_level_purchased: table.numeric("price_level_purchased")?,
        discount_purchase_share: table.numeric("discount_purchase_share")?,
    };
    let rows = table.users();
    let value = |column: &[Option<f64>], row: usize| column[row].unwrap_or(0.0);
    let customers: Vec<usize> = (0..rows).filter(|&row| value(&c.orders, row) >= 1.0).collect();
    let of_rows = |rows: &[usize], column: &[Option<f64>]| -> Vec<f64> {
        rows.iter().filter_map(|&row| column[row]).collect()
    };
    let busy: Vec<usize> = (0..rows).filter(|&row| value(&c.events, row) >= 5.0).collect();
    let searchers: Vec<usize> = (0..rows).filter(|&row| value(&c.searches, row) >= 1.0).collect();
    let all: Vec<usize> = (0..rows).collect();
    let thresholds = TagThresholds {
        loyal_min_orders: percentile(of_rows(&customers, &c.orders), 0.75),
        big_spender_min_monetary: percentile(of_rows(&customers, &c.monetary), 0.90),
        bargain_max_price_level: percentile(of_rows(&all, &c.price_level_purchased), 0.20),
        night_owl_min_share: percentile(of_rows(&busy, &c.night_share), 0.90),
        at_risk_min_monetary: percentile(of_rows(&customers, &c.monetary), 0.50),
        at_risk_min_recency_days: percentile(of_rows(&customers, &c.recency_days), 0.75),
        window_shopper_min_views: percentile(of_rows(&all, &c.views), 0.75),
        researcher_min_searches_per_session: percentile(
            of_rows(&searchers, &c.searches_per_session),
            0.90,
        ),
    };
    let t = &thresholds;
    let at_least = |threshold: Option<f64>, value: f64| threshold.is_some_and(|t| value >= t);
    let tags = (0..rows)
        .map(|row| {
            let v = |column: &[Option<f64>]| value(column, row);
            let customer = v(&c.orders) >= 1.0;
            let rules = [
                (Tag::New, c.tenure_days[row].is_some_and(|days| days < 7.0)),
                (Tag::Loyal, v(&c.orders) >= 2.0 && at_least(t.loyal_min_orders, v(&c.orders))),
                (
                    Tag::BigSpender,
                    customer
                        && v(&c.monetary) > 0.0
                        && at_least(t.big_spender_min_monetary, v(&c.monetary)),
                ),
                (
                    Tag::BargainHunter,
                    v(&c.purchases) >= 1.0
                        && (c.discount_purchase_share[row].is_some_and(|share| share >= 0.5)
                            || c.price_level_purchased[row].is_some_and(|level| {
                                t.bargain_max_price_level.is_some_and(|max| level <= max)
                            })),
                ),
                (
                    Tag::NightOwl,
                    v(&c.events) >= 5.0
                        && v(&c.night_share) >= 1.0 / 3.0
                        && at_least(t.night_owl_min_share, v(&c.night_share)),
                ),
                (
                    Tag::AtRisk,
                    customer
                        && at_least(t.at_risk_min_monetary, v(&c.monetary))
                        && at_least(t.at_risk_min_recency_days, v(&c.recency_days)),
                ),
                (
                    Tag::WindowShopper,
                    v(&c.purchases) == 0.0
                        && v(&c.views) >= 5.0
                        && at_least(t.window_shopper_min_views, v(&c.views)),
                ),
                (
                    Tag::CartAbandoner,
                    v(&c.cart_sessions) >= 2.0 && v(&c.cart_abandonment_rate) >= 0.5,
                ),
                (
                    Tag::Researcher,
                    v(&c.searches) >= 3.0
                        && at_least(
                            t.researcher_min_searches_per_session,
                            v(&c.searches_per_session),
                        ),
                ),
                (Tag::Reviewer, v(&c.reviews) >= 1.0),
            ];
            rules.into_iter().filter(|(_, holds)| *holds).map(|(tag, _)| tag).collect()
        })
        .collect();
    Ok(UserTags { thresholds, tags })
}
