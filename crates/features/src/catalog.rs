//! The feature catalogue: every column of the feature table with its type, unit,
//! definition and null rule. `docs/features.md` documents the same list (a test
//! holds them equal), and the report and the CLI read descriptions from here.

use arrow::datatypes::DataType;
use serde::Serialize;

/// The Arrow type of a feature column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// A count or a small whole number (Int64).
    Integer,
    /// A measure, rate or share (Float64).
    Real,
    /// A label such as the top category or the modal device (Utf8); models
    /// must encode it before use.
    Categorical,
}

impl FeatureKind {
    pub fn data_type(self) -> DataType {
        match self {
            FeatureKind::Integer => DataType::Int64,
            FeatureKind::Real => DataType::Float64,
            FeatureKind::Categorical => DataType::Utf8,
        }
    }
}

/// One feature of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeatureDef {
    /// The column name.
    pub name: &'static str,
    pub kind: FeatureKind,
    /// `events`, `days`, `share` (0–1), the shop's currency, …
    pub unit: &'static str,
    /// What it measures, over the user's events before the as-of time.
    pub definition: &'static str,
    /// When the value is null; "never" for counts, which are 0 instead.
    pub null_when: &'static str,
}

const fn feature(
    name: &'static str,
    kind: FeatureKind,
    unit: &'static str,
    definition: &'static str,
    null_when: &'static str,
) -> FeatureDef {
    FeatureDef { name, kind, unit, definition, null_when }
}

use FeatureKind::{Categorical, Integer, Real};

const NEVER: &str = "never";

/// The prefix of the per-category share columns, one for each of the most
/// common top-level categories (`category_share_electronics`, …). Which
/// categories get a column depends on the lake, so they are not in [`FEATURES`].
pub const CATEGORY_SHARE_PREFIX: &str = "category_share_";

/// Every fixed feature, in column order (after `user_id`; the per-category
/// shares follow `category_entropy`).
pub const FEATURES: &[FeatureDef] = &[
    // Activity.
    feature("events", Integer, "events", "all events", NEVER),
    feature("views", Integer, "events", "`view` events", NEVER),
    feature("searches", Integer, "events", "`search` events", NEVER),
    feature("add_to_carts", Integer, "events", "`add_to_cart` events", NEVER),
    feature("cart_removals", Integer, "events", "`remove_from_cart` events", NEVER),
    feature("checkouts", Integer, "events", "`checkout` events", NEVER),
    feature("purchases", Integer, "events", "`purchase` events (order lines)", NEVER),
    feature("refunds", Integer, "events", "`refund` events (refunded lines)", NEVER),
    feature("reviews", Integer, "events", "`review` events", NEVER),
    feature(
        "sessions",
        Integer,
        "sessions",
        "distinct sessions, refunds left out (the shop, not the user, logs them)",
        NEVER,
    ),
    feature(
        "mean_session_seconds",
        Real,
        "seconds",
        "mean session length: last minus first event time of each session",
        "the user has only refunds",
    ),
    feature(
        "mean_events_per_session",
        Real,
        "events",
        "mean events per session (refunds left out)",
        "the user has only refunds",
    ),
    feature(
        "mean_dwell_seconds",
        Real,
        "seconds",
        "dwell time: mean gap between consecutive events of a session, i.e. the sessions' total length over their events minus their number",
        "no session has two events",
    ),
    feature("days_active", Integer, "days", "distinct UTC dates with an event", NEVER),
    feature("tenure_days", Real, "days", "time from the first event to the as-of time", NEVER),
    feature("recency_days", Real, "days", "time from the last event to the as-of time", NEVER),
    feature(
        "days_since_last_purchase",
        Real,
        "days",
        "time from the last purchase to the as-of time",
        "no purchase",
    ),
    feature(
        "days_since_first_purchase",
        Real,
        "days",
        "time from the first purchase to the as-of time",
        "no purchase",
    ),
    // RFM, from the analytics crate's RFM (docs/analytics.md).
    feature(
        "orders",
        Integer,
        "orders",
        "RFM frequency: distinct orders (purchases without an order id: one order per session)",
        NEVER,
    ),
    feature(
        "monetary",
        Real,
        "currency",
        "RFM monetary value: purchases minus refunds (price × quantity), never below 0",
        NEVER,
    ),
    feature(
        "average_order_value",
        Real,
        "currency",
        "gross purchase value (Σ price × quantity over purchases, refunds not subtracted) per order",
        "no order",
    ),
    feature(
        "mean_days_between_orders",
        Real,
        "days",
        "mean gap between orders: time from the first to the last purchase over orders − 1",
        "fewer than 2 orders",
    ),
    feature(
        "rfm_r",
        Integer,
        "score 1–5",
        "RFM recency score against the other customers (5 = most recent)",
        "no purchase",
    ),
    feature("rfm_f", Integer, "score 1–5", "RFM frequency score", "no purchase"),
    feature("rfm_m", Integer, "score 1–5", "RFM monetary score", "no purchase"),
    feature(
        "rfm_segment",
        Categorical,
        "segment",
        "RFM segment name (Champions, Loyal, …, Lost)",
        "no purchase",
    ),
    // Funnel behaviour.
    feature("cart_sessions", Integer, "sessions", "sessions with an `add_to_cart`", NEVER),
    feature(
        "cart_abandonment_rate",
        Real,
        "share",
        "share of the sessions with an `add_to_cart` that have no `purchase`",
        "no session with an `add_to_cart`",
    ),
    feature(
        "view_to_purchase_rate",
        Real,
        "purchases per view",
        "`purchase` events per `view` event",
        "no view",
    ),
    feature(
        "refund_rate",
        Real,
        "refunds per purchase",
        "`refund` events per `purchase` event (can exceed 1 when earlier purchases lie before the data)",
        "no purchase",
    ),
    feature("searches_per_session", Real, "searches", "`search` events per session", "no session"),
    // Category preferences, over item interactions (view, add_to_cart, purchase).
    feature(
        "top_category",
        Categorical,
        "category",
        "the top-level category (first part of `category`) with the most item interactions; ties go to the name first in order",
        "no item interaction with a category",
    ),
    feature(
        "top_category_share",
        Real,
        "share",
        "share of the item interactions in the top category",
        "no item interaction with a category",
    ),
    feature(
        "categories",
        Integer,
        "categories",
        "distinct top-level categories among the item interactions",
        NEVER,
    ),
    feature(
        "category_entropy",
        Real,
        "bits",
        "Shannon entropy of the top-level category shares (0 = one category only)",
        "no item interaction with a category",
    ),
    // Brand loyalty, over item interactions with a brand.
    feature("brands", Integer, "brands", "distinct brands among the item interactions", NEVER),
    feature(
        "top_brand_share",
        Real,
        "share",
        "share of the branded item interactions with the user's most frequent brand",
        "no item interaction with a brand",
    ),
    feature(
        "brand_hhi",
        Real,
        "index 0–1",
        "Herfindahl–Hirschman index of the brand shares (Σ share²; 1 = one brand only)",
        "no item interaction with a brand",
    ),
    // Price level and discounts.
    feature(
        "price_level_viewed",
        Real,
        "ratio",
        "mean of price ÷ the category's median item price over viewed items (1 = typical for the category)",
        "no view of a priced item with a category",
    ),
    feature(
        "price_level_purchased",
        Real,
        "ratio",
        "the same over purchased items",
        "no purchase of a priced item with a category",
    ),
    feature(
        "discount_purchase_share",
        Real,
        "share",
        "share of priced purchases paid below the item's median price (over all users' view, cart and purchase events before the as-of time)",
        "no priced purchase",
    ),
    // Rhythm (UTC: the lake keeps no local time).
    feature("night_share", Real, "share", "share of events between 00:00 and 06:00 UTC", NEVER),
    feature("weekend_share", Real, "share", "share of events on a Saturday or Sunday (UTC)", NEVER),
    feature(
        "modal_hour",
        Integer,
        "hour 0–23",
        "the UTC hour with the most events; ties go to the earliest",
        NEVER,
    ),
    // Device and channel.
    feature(
        "modal_device",
        Categorical,
        "device",
        "the device class with the most events; ties go to the name first in order",
        "no event has a device",
    ),
    feature(
        "mobile_share",
        Real,
        "share",
        "share of the events with a device that came from `mobile`",
        "no event has a device",
    ),
    feature(
        "modal_channel",
        Categorical,
        "channel",
        "the acquisition channel with the most events; ties go to the name first in order",
        "no event has a channel",
    ),
    // Reviews.
    feature(
        "mean_rating",
        Real,
        "rating",
        "mean `rating` of the user's reviews",
        "no review with a rating",
    ),
    feature(
        "review_sentiment",
        Real,
        "probability",
        "the mean sentiment of the user's review texts; null here, filled by the CLI's \
         `--text-model` (the text models live in the text crate)",
        "always without a text model; with one, no review text",
    ),
];

/// The catalogue entry of a fixed feature.
pub fn feature_def(name: &str) -> Option<&'static FeatureDef> {
    FEATURES.iter().find(|feature| feature.name == name)
}
