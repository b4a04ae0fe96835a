//! A deterministic generator of realistic online-shop behaviour.
//!
//! [`Generator`] simulates a population of shoppers day by day and yields
//! each day's [`events::Event`]s sorted by time; [`CsvEventWriter`] writes
//! them as canonical CSV. The same [`GeneratorConfig`] always gives the same
//! events, byte for byte, whatever the number of threads. The data feeds the
//! benchmarks (10M–100M events) and the demo, so generation is parallel
//! (rayon, per shopper) and memory holds only per-shopper state and one day
//! of events.
//!
//! # The model
//!
//! Every rate below is a public constant of this crate; `docs/generator.md`
//! explains the choices and the measured outcome.
//!
//! **Catalogue** ([`catalog`]). 59 leaf
//! categories in 12 departments (`electronics.smartphone`,
//! `appliances.kitchen.kettle`, `apparel.shoes`, …), each with a traffic
//! weight, a median price (phones ≈ $420, skincare ≈ $22) and its brands.
//! There are `max(500, users / 10)` items (at most 1,000,000), spread over
//! categories ∝ traffic^0.7, each with a brand (Zipf-distributed shares,
//! 5% unbranded) and a log-normal price around the category median rounded to
//! shop prices (`449.99`). Within a category the k-th item gets views ∝ k^-1.1
//! ([`catalog::ITEM_POPULARITY_EXPONENT`]); across categories views follow
//! the traffic weights, so both levels are heavy-tailed.
//!
//! **Shoppers** ([`population`]). 40% are existing customers active from day
//! 0; the others arrive on a uniformly drawn day with a forced first visit.
//! 35% of new shoppers never return; the rest churn after an exponential
//! lifetime (mean 50 days for new, 60 for existing customers). While active,
//! a shopper has a Poisson number of visits per day whose weekly rate is
//! log-normal (median 0.8, sigma 1.0), times a weekday factor (Sunday 1.18,
//! Monday 1.10, … Friday 0.88). Each has 1–3 favourite categories (drawn by
//! traffic), a country (US 38%, GB 9%, DE 8%, …) with its UTC offset, a
//! usual device (mobile 60%, desktop 33%, tablet 7%; 15% of visits on
//! another one), an acquisition channel (organic 34%, paid_search 26%,
//! social 18%, direct 14%, email 8%; return visits lean to direct and email)
//! and a log-normal buying mood.
//!
//! **Time** ([`simulate`]). Visits start by an hour-of-day rhythm in local
//! time (quiet 2–5h, evening peak 20–21h) converted to UTC, at least 20
//! minutes apart and always within the UTC day. A visit has a log-normal
//! number of browsing actions (median 5, at most 60) 2 s – 15 min apart
//! (median 25 s).
//!
//! **Funnel** ([`simulate`]). A visit opens with a search 35% of the time
//! (later actions 10%); queries are built from the category's nouns, brands
//! and modifiers (`samsung phone 128gb`, `cheap kettle`, `laptop under 1000`,
//! 3% with a typo). Views follow popularity within a favourite category (75%)
//! or any category; a search naming a brand favours that brand. A view
//! becomes add_to_cart with probability 4.5% × buying mood × device factor
//! (desktop 1.35, mobile 0.85) × channel factor (email 1.3 … social 0.7) ×
//! a price factor. Carts persist across visits for 14 days; 3% of actions
//! remove a cart line. A visit with a cart checks out with probability
//! 24% × √mood, and 85% of checkouts are paid: one `purchase` event per
//! cart line with the checkout's `order_id`, USD prices, quantity mostly 1.
//! 4% of purchased lines are refunded 2–10 days later (same item, order,
//! price and quantity) and 9% are reviewed 3–14 days later in a short visit
//! (rating skewed to 4–5, low after a refund; 90% with a text of one to three
//! real review sentences whose sentiment matches the rating, see
//! `data/PROVENANCE.md`). Measured on 100k users × 30 days: view→cart 5.6%,
//! cart→purchase 45%, refunds 3.0% and reviews 6.0% of purchases (the
//! window cuts off late ones).
//!
//! **Bots.** [`GeneratorConfig::bot_users`] shoppers are scrapers: on one to
//! three days each they fire 200–600 views 0.1–0.5 s apart, crawling the
//! catalogue in order. A rule "more than 60 events by one user within 60 s"
//! flags all of them and no human (humans' actions are at least 1 s apart
//! and a visit buys at most 10 lines at once).
//!
//! **Scale.** `users` counts everyone who shops during the run, so events
//! per user grow with the number of days but less than proportionally:
//! about 12.5 events per user for 7 days, 20 for 14, 31 for 30 (≈ 1.03 per
//! user and day), 58 for 90. 10M events ≈ 320k users × 30 days; 100M ≈
//! 3.2M users × 30 days.
//!
//! # Determinism
//!
//! Each random decision draws from a Xoshiro256++ stream seeded (through
//! SplitMix64) by `(seed, domain, a, b)`: the catalogue from `(seed,
//! CATALOG)`, a shopper's traits from `(seed, PROFILE, user)` and a shopper's
//! day from `(seed, DAY, user, day)`. Shoppers carry their cart and pending
//! refunds/reviews from day to day, and each is simulated by one thread at a
//! time, so results do not depend on scheduling. A day is sorted by
//! `(event_time, user, position in the user's day)`, which is unique.

pub mod catalog;
mod csv_writer;
pub mod population;
mod rng;
pub mod simulate;
mod taxonomy;
mod text;

use chrono::{Datelike, NaiveDate};
use events::Event;
use rayon::prelude::*;

pub use catalog::{Catalog, Category, Item};
pub use csv_writer::{CSV_HEADER, CsvEventWriter};
pub use simulate::{FIRST_USER_ID, user_id};
pub use text::sentence_sentiment;

use population::{Shopper, ShopperKind};
use rng::{domain, stream};
use simulate::{DayContext, IdSalts, Proto, WEEKDAY_FACTORS, simulate_day};

/// Items in the catalogue: `max(MIN_ITEMS, users / USERS_PER_ITEM)`, at most
/// `MAX_ITEMS`.
pub const MIN_ITEMS: u64 = 500;
pub const USERS_PER_ITEM: u64 = 10;
pub const MAX_ITEMS: u64 = 1_000_000;
/// Default bot share: one bot per this many users (at least one from 100
/// users on).
pub const USERS_PER_BOT: u64 = 2_000;
/// The most users the id scheme supports (user indices are packed in 40 bits).
pub const MAX_USERS: u64 = 1 << 40;
/// The most days the id scheme supports (day indices are packed in 16 bits).
pub const MAX_DAYS: u32 = u16::MAX as u32 - 1;
/// Average events of a shopping visit, for [`Generator::expected_events`]
/// (measured, see `docs/generator.md`).
const EVENTS_PER_VISIT: f64 = 9.2;
/// Average views of a bot burst.
const EVENTS_PER_BOT_BURST: f64 = 400.0;
/// Shoppers per parallel work unit.
const SHOPPERS_PER_CHUNK: usize = 2_048;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Shoppers in the population, bots included.
    pub users: u64,
    /// Days to simulate, starting at `start_date`.
    pub days: u32,
    pub seed: u64,
    /// The first simulated day (UTC). Default 2024-01-01.
    pub start_date: NaiveDate,
    /// How many of the users are scraping bots. Default `users / 2000`, at
    /// least 1 when `users >= 100`, 0 below.
    pub bot_users: u64,
}

impl GeneratorConfig {
    pub fn new(users: u64, days: u32, seed: u64) -> Self {
        GeneratorConfig {
            users,
            days,
            seed,
            start_date: NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
            bot_users: default_bot_users(users),
        }
    }
}

fn default_bot_users(users: u64) -> u64 {
    if users >= 100 { (users / USERS_PER_BOT).max(1) } else { 0 }
}

/// Why a [`GeneratorConfig`] cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// `users` is zero.
    #[error("the generator needs at least one user")]
    NoUsers,
    /// `days` is zero.
    #[error("the generator needs at least one day")]
    NoDays,
    /// `bot_users` is larger than `users` (bots are part of the users).
    #[error("{bots} bot users is more than the {users} users")]
    TooManyBots { bots: u64, users: u64 },
    /// `users` is beyond what the id scheme (or this machine) supports.
    #[error("{users} users is more than the supported {max}")]
    TooManyUsers { users: u64, max: u64 },
    /// `days` is beyond what the id scheme supports.
    #[error("{days} days is more than the supported {max}")]
    TooManyDays { days: u32, max: u32 },
    /// The simulated period leaves the dates chrono can represent.
    #[error("{days} days from {start} leave the supported date range")]
    DateOutOfRange { start: NaiveDate, days: u32 },
}

/// Simulates the shop day by day; see the crate documentation for the model.
pub struct Generator {
    config: GeneratorConfig,
    catalog: Catalog,
    shoppers: Vec<Shopper>,
    /// Indices of the bot shoppers, ascending.
    bots: Vec<u64>,
    salts: IdSalts,
    next_day: u32,
    expected_events: u64,
}

impl Generator {
    /// Builds the catalogue and the population. Takes about a second per
    /// million users.
    pub fn new(config: GeneratorConfig) -> Result<Generator, GeneratorError> {
        if config.users == 0 {
            return Err(GeneratorError::NoUsers);
        }
        if config.days == 0 {
            return Err(GeneratorError::NoDays);
        }
        let max_users = MAX_USERS.min(usize::MAX as u64);
        if config.users > max_users {
            return Err(GeneratorError::TooManyUsers { users: config.users, max: max_users });
        }
        if config.days > MAX_DAYS {
            return Err(GeneratorError::TooManyDays { days: config.days, max: MAX_DAYS });
        }
        if config.bot_users > config.users {
            return Err(GeneratorError::TooManyBots {
                bots: config.bot_users,
                users: config.users,
            });
        }
        let out_of_range =
            GeneratorError::DateOutOfRange { start: config.start_date, days: config.days };
        let last_date = config
            .start_date
            .checked_add_days(chrono::Days::new(u64::from(config.days)))
            .ok_or(out_of_range.clone())?;
        if last_date.and_hms_opt(0, 0, 0).and_then(|t| t.and_utc().timestamp_nanos_opt()).is_none()
        {
            return Err(out_of_range);
        }

        let items = (config.users / USERS_PER_ITEM).clamp(MIN_ITEMS, MAX_ITEMS);
        let catalog = Catalog::build(config.seed, items as usize);
        let mut bot_rng = stream(config.seed, domain::BOTS, 0, 0);
        let mut bots: Vec<u64> = rand::seq::index::sample(
            &mut bot_rng,
            config.users as usize,
            config.bot_users as usize,
        )
        .into_iter()
        .map(|index| index as u64)
        .collect();
        bots.sort_unstable();
        let shoppers: Vec<Shopper> = (0..config.users)
            .into_par_iter()
            .map(|index| {
                let is_bot = bots.binary_search(&index).is_ok();
                Shopper::create(config.seed, index, config.days, is_bot, &catalog)
            })
            .collect();

        // Summed in order: a parallel float sum could differ in its last bit between
        // runs and so change the generated stream.
        let mut expected: f64 = shoppers
            .iter()
            .map(|shopper| shopper.expected_sessions(config.days) * EVENTS_PER_VISIT)
            .sum();
        for shopper in &shoppers {
            if let ShopperKind::Bot { burst_days } = shopper.kind {
                let bursts = burst_days.iter().filter(|&&day| day != u32::MAX).count();
                expected += bursts as f64 * EVENTS_PER_BOT_BURST;
            }
        }
        Ok(Generator {
            salts: IdSalts::new(config.seed),
            config,
            catalog,
            shoppers,
            bots,
            next_day: 0,
            expected_events: expected.round() as u64,
        })
    }

    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A rough estimate of the events all days together will have (within
    /// about 10%), for progress bars.
    pub fn expected_events(&self) -> u64 {
        self.expected_events
    }

    /// The user ids of the bot shoppers (ground truth for bot detection).
    pub fn bot_user_ids(&self) -> Vec<String> {
        self.bots.iter().map(|&index| user_id(index)).collect()
    }

    /// The date [`Generator::next_day`] will generate, or `None` when done.
    pub fn next_date(&self) -> Option<NaiveDate> {
        (self.next_day < self.config.days)
            .then(|| self.config.start_date + chrono::Days::new(u64::from(self.next_day)))
    }

    /// The next day's events sorted by `event_time` (ties broken by user and
    /// then by the order of the user's events), or `None` after the last day.
    pub fn next_day(&mut self) -> Option<Vec<Event>> {
        let date = self.next_date()?;
        let day = self.next_day;
        self.next_day += 1;
        let context = DayContext {
            seed: self.config.seed,
            day,
            days: self.config.days,
            day_start_us: date
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_micros(),
            weekday_factor: WEEKDAY_FACTORS[date.weekday().num_days_from_monday() as usize],
            catalog: &self.catalog,
        };

        let chunks: Vec<Vec<Proto>> = self
            .shoppers
            .par_chunks_mut(SHOPPERS_PER_CHUNK)
            .enumerate()
            .map(|(chunk, shoppers)| {
                // About one event per shopper and day; sized to avoid most
                // regrowth.
                let mut out = Vec::with_capacity(shoppers.len() * 3 / 2);
                let first = (chunk * SHOPPERS_PER_CHUNK) as u64;
                for (offset, shopper) in shoppers.iter_mut().enumerate() {
                    simulate_day(&context, first + offset as u64, shopper, &mut out);
                }
                out
            })
            .collect();
        let mut protos = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
        for chunk in chunks {
            protos.extend(chunk);
        }
        protos.par_sort_unstable_by_key(Proto::sort_key);
        let catalog = &self.catalog;
        let salts = &self.salts;
        Some(protos.into_par_iter().map(|proto| proto.into_event(catalog, salts)).collect())
    }
}

impl Iterator for Generator {
    type Item = Vec<Event>;

    fn next(&mut self) -> Option<Vec<Event>> {
        self.next_day()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.config.days - self.next_day) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Generator {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_rejected() {
        let check = |config: GeneratorConfig, expect: GeneratorError| {
            assert_eq!(Generator::new(config).err(), Some(expect));
        };
        check(GeneratorConfig::new(0, 3, 1), GeneratorError::NoUsers);
        check(GeneratorConfig::new(10, 0, 1), GeneratorError::NoDays);
        check(
            GeneratorConfig { bot_users: 11, ..GeneratorConfig::new(10, 1, 1) },
            GeneratorError::TooManyBots { bots: 11, users: 10 },
        );
        check(
            GeneratorConfig::new(10, MAX_DAYS + 1, 1),
            GeneratorError::TooManyDays { days: MAX_DAYS + 1, max: MAX_DAYS },
        );
    }

    #[test]
    fn default_bots_scale_with_users() {
        assert_eq!(GeneratorConfig::new(99, 1, 0).bot_users, 0);
        assert_eq!(GeneratorConfig::new(100, 1, 0).bot_users, 1);
        assert_eq!(GeneratorConfig::new(10_000, 1, 0).bot_users, 5);
    }

    #[test]
    fn iterator_counts_days() {
        let generator = Generator::new(GeneratorConfig::new(50, 3, 1)).unwrap();
        assert_eq!(generator.len(), 3);
        assert_eq!(generator.count(), 3);
    }
}
