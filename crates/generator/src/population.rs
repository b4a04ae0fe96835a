//! Shoppers: who they are (fixed at creation from the seed) and what they
//! carry from one day to the next (cart, refunds and reviews to come).

use rand::Rng;

use crate::catalog::Catalog;
use crate::rng::{StreamRng, domain, log_normal, stream, weighted_index, weighted_pick};

/// Countries with their share of shoppers and their UTC offsets in minutes
/// (one is drawn per shopper; repeats weight the more populous zones).
/// Daylight saving time is ignored.
pub const COUNTRIES: &[(&str, f64, &[i16])] = &[
    ("US", 38.0, &[-300, -300, -300, -360, -360, -420, -480, -480]),
    ("GB", 9.0, &[0]),
    ("DE", 8.0, &[60]),
    ("CA", 5.0, &[-300, -300, -480]),
    ("FR", 5.0, &[60]),
    ("IN", 4.0, &[330]),
    ("BR", 4.0, &[-180]),
    ("AU", 3.5, &[600, 600, 480]),
    ("ES", 3.0, &[60]),
    ("IT", 3.0, &[60]),
    ("NL", 3.0, &[60]),
    ("MX", 2.5, &[-360]),
    ("PL", 2.0, &[60]),
    ("SE", 2.0, &[60]),
    ("JP", 2.0, &[540]),
    ("IE", 1.5, &[0]),
    ("CH", 1.5, &[60]),
    ("AT", 1.5, &[60]),
    ("BE", 1.5, &[60]),
    ("NZ", 1.0, &[720]),
];

/// Devices, their share of shoppers, and how much more (or less) likely a
/// view on them leads to a cart and a cart to a checkout.
pub const DEVICES: &[(&str, f64, f64)] =
    &[("mobile", 0.60, 0.85), ("desktop", 0.33, 1.35), ("tablet", 0.07, 1.0)];
pub(crate) const DESKTOP: u8 = 1;
/// Share of sessions on another device than the shopper's usual one.
pub const OTHER_DEVICE_SHARE: f64 = 0.15;

/// Traffic channels: name, share of first visits, share of return visits,
/// buying-mood multiplier.
pub const CHANNELS: &[(&str, f64, f64, f64)] = &[
    ("organic", 0.34, 0.26, 1.0),
    ("paid_search", 0.26, 0.10, 1.05),
    ("social", 0.18, 0.10, 0.7),
    ("direct", 0.14, 0.38, 1.15),
    ("email", 0.08, 0.16, 1.3),
];
pub(crate) const DIRECT: u8 = 3;
pub(crate) const EMAIL: u8 = 4;

/// Share of shoppers who are already customers on the first day (they have
/// no forced first visit); the rest arrive on a uniformly drawn day.
pub const EXISTING_CUSTOMER_SHARE: f64 = 0.4;
/// Share of newly arriving shoppers who never come back after their first day.
pub const ONE_TIME_VISITOR_SHARE: f64 = 0.35;
/// Mean number of days a returning shopper stays before churning
/// (exponential), for new and for existing customers.
pub const MEAN_LIFETIME_DAYS_NEW: f64 = 50.0;
pub const MEAN_LIFETIME_DAYS_EXISTING: f64 = 60.0;
/// Sessions per week while active: log-normal with this median and sigma
/// (mean ≈ median × 1.65), capped.
pub const SESSIONS_PER_WEEK_MEDIAN: f64 = 0.8;
pub const SESSIONS_PER_WEEK_SIGMA: f64 = 1.0;
pub const SESSIONS_PER_WEEK_CAP: f64 = 21.0;
/// Buying mood: log-normal multiplier of the cart and checkout probabilities.
pub const BUYING_MOOD_SIGMA: f64 = 0.5;
/// How many favourite categories (1, 2 or 3) a shopper has.
pub const FAVOURITE_COUNT_WEIGHTS: [f64; 3] = [0.45, 0.35, 0.20];

/// What distinguishes a bot from a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShopperKind {
    Human,
    /// A scraper that crawls the catalogue in bursts on these days
    /// (`u32::MAX` = no burst).
    Bot {
        burst_days: [u32; 3],
    },
}

/// One line of a shopper's cart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CartLine {
    pub item: u32,
    pub quantity: u8,
    /// The day it was added; lines expire after [`CART_EXPIRY_DAYS`].
    pub added_day: u32,
}

/// Cart lines older than this are silently dropped (an expired cart).
pub const CART_EXPIRY_DAYS: u32 = 14;
/// A cart holds at most this many lines; adding more drops the oldest.
pub const CART_MAX_LINES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeferredKind {
    Refund,
    Review { rating: u8 },
}

/// A refund or review due on a later day, for one purchased line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deferred {
    pub day: u32,
    pub kind: DeferredKind,
    pub item: u32,
    pub quantity: u8,
    pub order: u64,
}

/// A shopper's fixed traits and carried state.
#[derive(Debug, Clone)]
pub(crate) struct Shopper {
    pub kind: ShopperKind,
    /// First day the shopper can visit.
    pub arrival_day: u32,
    /// Last day of own visits (churn); refunds and reviews still follow.
    pub last_active_day: u32,
    /// A new customer always visits on the arrival day.
    pub new_customer: bool,
    pub sessions_per_day: f32,
    pub buying_mood: f32,
    pub favourites: [u16; 3],
    pub favourite_count: u8,
    pub country: u8,
    pub utc_offset_minutes: i16,
    pub device: u8,
    pub acquisition_channel: u8,
    pub cart: Vec<CartLine>,
    pub deferred: Vec<Deferred>,
}

impl Shopper {
    /// The shopper's traits, from the `(seed, PROFILE, index)` stream.
    pub(crate) fn create(
        seed: u64,
        index: u64,
        days: u32,
        is_bot: bool,
        catalog: &Catalog,
    ) -> Shopper {
        let mut rng = stream(seed, domain::PROFILE, index, 0);
        let country = weighted_pick(&mut rng, COUNTRIES, |c| c.1);
        let offsets = COUNTRIES[country].2;
        let utc_offset_minutes = offsets[rng.random_range(0..offsets.len())];
        let device = weighted_pick(&mut rng, DEVICES, |d| d.1) as u8;
        let acquisition_channel = weighted_pick(&mut rng, CHANNELS, |c| c.1) as u8;

        let favourite_count = weighted_index(&mut rng, &FAVOURITE_COUNT_WEIGHTS) as u8 + 1;
        let mut favourites = [0u16; 3];
        let mut chosen = 0;
        let mut attempts = 0;
        while chosen < usize::from(favourite_count) && attempts < 50 {
            attempts += 1;
            let category = catalog.sample_category(&mut rng) as u16;
            if !favourites[..chosen].contains(&category) {
                favourites[chosen] = category;
                chosen += 1;
            }
        }
        let favourite_count = chosen as u8;

        let sessions_per_week =
            log_normal(&mut rng, SESSIONS_PER_WEEK_MEDIAN, SESSIONS_PER_WEEK_SIGMA)
                .min(SESSIONS_PER_WEEK_CAP);
        let buying_mood = log_normal(&mut rng, 1.0, BUYING_MOOD_SIGMA);

        let new_customer = !rng.random_bool(EXISTING_CUSTOMER_SHARE);
        let (arrival_day, last_active_day) = if new_customer {
            let arrival = rng.random_range(0..days);
            let lifetime = if rng.random_bool(ONE_TIME_VISITOR_SHARE) {
                0.0
            } else {
                exponential(&mut rng, MEAN_LIFETIME_DAYS_NEW)
            };
            (arrival, arrival.saturating_add(lifetime as u32))
        } else {
            (0, exponential(&mut rng, MEAN_LIFETIME_DAYS_EXISTING) as u32)
        };

        let kind = if is_bot {
            let mut burst_days = [u32::MAX; 3];
            let bursts = 1 + usize::from(rng.random_bool(0.5)) + usize::from(rng.random_bool(0.25));
            for day in burst_days.iter_mut().take(bursts) {
                *day = rng.random_range(0..days);
            }
            ShopperKind::Bot { burst_days }
        } else {
            ShopperKind::Human
        };
        Shopper {
            kind,
            arrival_day,
            last_active_day,
            new_customer,
            sessions_per_day: (sessions_per_week / 7.0) as f32,
            buying_mood: buying_mood as f32,
            favourites,
            favourite_count,
            country: country as u8,
            utc_offset_minutes,
            device: if is_bot { DESKTOP } else { device },
            acquisition_channel: if is_bot { DIRECT } else { acquisition_channel },
            cart: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// One of the favourite categories.
    pub(crate) fn favourite(&self, rng: &mut StreamRng) -> usize {
        let count = usize::from(self.favourite_count.max(1));
        // The first favourite is the strongest.
        let index = if rng.random_bool(0.5) { 0 } else { rng.random_range(0..count) };
        usize::from(self.favourites[index])
    }

    /// Expected shopping sessions over days `0..days`, for progress estimates.
    pub(crate) fn expected_sessions(&self, days: u32) -> f64 {
        match self.kind {
            ShopperKind::Bot { .. } => 0.0,
            ShopperKind::Human => {
                let last = self.last_active_day.min(days.saturating_sub(1));
                let active_days = f64::from(last.saturating_sub(self.arrival_day)) + 1.0;
                let forced = if self.new_customer { 1.0 } else { 0.0 };
                forced + f64::from(self.sessions_per_day) * active_days
            }
        }
    }
}

fn exponential(rng: &mut StreamRng, mean: f64) -> f64 {
    let u: f64 = rng.random();
    (-mean * (1.0 - u).ln()).min(f64::from(u32::MAX / 2))
}
