//! One shopper's day: which visits happen when, the funnel inside each visit,
//! and the refunds and reviews that fall due.
//!
//! Simulation produces compact `Proto` events (indices instead of
//! strings); `Proto::into_event` turns them into [`events::Event`]s after
//! the day has been sorted, so that sorting moves small values.

use std::collections::BTreeMap;

use chrono::DateTime;
use events::{Event, EventType};
use rand::Rng;

use crate::catalog::Catalog;
use crate::population::{
    CART_EXPIRY_DAYS, CART_MAX_LINES, CHANNELS, COUNTRIES, CartLine, DEVICES, DIRECT, Deferred,
    DeferredKind, EMAIL, OTHER_DEVICE_SHARE, Shopper, ShopperKind,
};
use crate::rng::{StreamRng, domain, log_normal, mix64, poisson, stream, weighted_pick};
use crate::text::{review_text, search_query};

/// Relative session starts by local hour of day (0–23): quiet at night, a
/// lunchtime bump and an evening peak at 20–21h.
pub const HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.2, 0.7, 0.5, 0.4, 0.5, 1.0, 2.0, 3.0, 3.8, 4.2, 4.5, 5.0, 4.8, 4.6, 4.6, 4.8, 5.2, 5.8,
    6.6, 7.2, 7.0, 5.5, 3.6,
];
/// Session-rate multiplier by weekday, Monday first: Sunday and Monday are
/// the busiest days, Friday and Saturday the quietest.
pub const WEEKDAY_FACTORS: [f64; 7] = [1.10, 1.00, 0.97, 0.95, 0.88, 0.92, 1.18];
/// A new customer's arrival day has the forced first visit plus this share
/// of a normal day's sessions.
pub const ARRIVAL_DAY_EXTRA_SESSIONS: f64 = 0.3;

/// Browsing actions per session (views and searches): log-normal median and
/// sigma, at most [`SESSION_MAX_STEPS`].
pub const SESSION_STEPS_MEDIAN: f64 = 5.0;
pub const SESSION_STEPS_SIGMA: f64 = 0.9;
pub const SESSION_MAX_STEPS: usize = 60;
/// Chance that a session opens with a search (otherwise on a product page).
pub const FIRST_ACTION_SEARCH: f64 = 0.35;
/// Chance that a later browsing action is a search.
pub const SEARCH_SHARE: f64 = 0.10;
/// After a search the shopper moves to another category this often.
pub const SEARCH_NEW_CATEGORY: f64 = 0.4;
/// Chance per view that the shopper wanders to another category.
pub const CATEGORY_SWITCH: f64 = 0.15;
/// Chance that a view is in a favourite category (otherwise anywhere, by
/// traffic share).
pub const FAVOURITE_CATEGORY: f64 = 0.75;
/// Base chance that a view leads to add_to_cart, before the multipliers for
/// buying mood, device, channel and price.
pub const VIEW_TO_CART: f64 = 0.045;
/// Chance per browsing action that a shopper with a non-empty cart removes a
/// line from it.
pub const REMOVE_FROM_CART: f64 = 0.03;
/// Chance that a session with a non-empty cart ends in checkout (before the
/// square root of the buying mood multiplier).
pub const CHECKOUT_WITH_CART: f64 = 0.24;
/// Chance that a checkout is paid (a purchase); otherwise abandoned at
/// payment and the cart is kept.
pub const PAYMENT_SUCCESS: f64 = 0.85;
/// Chance that a returning shopper with a cart first looks at a cart item.
pub const RESUME_CART: f64 = 0.35;
/// Share of purchased lines refunded, [`REFUND_DELAY_DAYS`] later (refunds
/// that would fall after the last simulated day are not emitted).
pub const REFUND_RATE: f64 = 0.04;
pub const REFUND_DELAY_DAYS: std::ops::RangeInclusive<u32> = 2..=10;
/// Share of purchased lines reviewed, [`REVIEW_DELAY_DAYS`] later (likewise
/// cut at the end of the run).
pub const REVIEW_RATE: f64 = 0.09;
pub const REVIEW_DELAY_DAYS: std::ops::RangeInclusive<u32> = 3..=14;
/// Share of reviews with a text (the others are a rating only).
pub const REVIEW_TEXT_SHARE: f64 = 0.9;
/// Rating shares 1..=5, for kept purchases and for refunded ones.
pub const RATING_WEIGHTS: [f64; 5] = [0.10, 0.07, 0.10, 0.23, 0.50];
pub const REFUNDED_RATING_WEIGHTS: [f64; 5] = [0.45, 0.22, 0.15, 0.10, 0.08];

/// Seconds between browsing actions: log-normal median and sigma, clamped.
pub const BROWSE_GAP_MEDIAN_S: f64 = 25.0;
pub const BROWSE_GAP_SIGMA: f64 = 0.9;
const BROWSE_GAP_RANGE_S: (f64, f64) = (2.0, 900.0);
/// Least time between two visits of the same shopper.
pub const MIN_SECONDS_BETWEEN_VISITS: i64 = 20 * 60;

/// Bot bursts: this many views, this far apart (microseconds).
pub const BOT_BURST_VIEWS: std::ops::RangeInclusive<u32> = 200..=600;
pub const BOT_GAP_US: std::ops::RangeInclusive<i64> = 100_000..=500_000;

const DAY_US: i64 = 86_400_000_000;
const SECOND_US: f64 = 1_000_000.0;
pub(crate) const NONE_U64: u64 = u64::MAX;
pub(crate) const NONE_U32: u32 = u32::MAX;
pub(crate) const NONE_U8: u8 = u8::MAX;

/// The event kinds the generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    View,
    Search,
    AddToCart,
    RemoveFromCart,
    Checkout,
    Purchase,
    Refund,
    Review,
}

impl Kind {
    fn event_type(self) -> EventType {
        match self {
            Kind::View => EventType::View,
            Kind::Search => EventType::Search,
            Kind::AddToCart => EventType::AddToCart,
            Kind::RemoveFromCart => EventType::RemoveFromCart,
            Kind::Checkout => EventType::Checkout,
            Kind::Purchase => EventType::Purchase,
            Kind::Refund => EventType::Refund,
            Kind::Review => EventType::Review,
        }
    }
}

/// An event before its strings are built. `NONE_*` marks absent values.
#[derive(Debug, Clone)]
pub(crate) struct Proto {
    pub time_us: i64,
    pub user: u64,
    /// Position among the shopper's events of the day; with `time_us` and
    /// `user` it makes the sort key unique.
    pub seq: u32,
    pub item: u32,
    pub kind: Kind,
    /// Quantity; for a checkout, the number of cart lines.
    pub quantity: u8,
    pub rating: u8,
    pub device: u8,
    pub channel: u8,
    pub country: u8,
    /// `(day, user, visit)` packed; hashed into the session id.
    pub session: u64,
    /// `(day, user, order)` packed; hashed into the order id.
    pub order: u64,
    /// Checkout only: the cart's value.
    pub cart_value: f64,
    /// Search query or review text.
    pub text: Option<String>,
}

impl Proto {
    pub(crate) fn sort_key(&self) -> (i64, u64, u32) {
        (self.time_us, self.user, self.seq)
    }
}

/// What is the same for every shopper on one day.
pub(crate) struct DayContext<'a> {
    pub seed: u64,
    pub day: u32,
    pub days: u32,
    /// UTC midnight of the day, microseconds since the epoch.
    pub day_start_us: i64,
    pub weekday_factor: f64,
    pub catalog: &'a Catalog,
}

/// Salts that turn packed counters into ids.
pub(crate) struct IdSalts {
    session: u64,
    order: u64,
}

impl IdSalts {
    pub(crate) fn new(seed: u64) -> IdSalts {
        IdSalts { session: mix64(seed ^ domain::SESSION_ID), order: mix64(seed ^ domain::ORDER_ID) }
    }
}

/// The user id of shopper `index`.
pub fn user_id(index: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = FIRST_USER_ID + index;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    String::from(std::str::from_utf8(&digits[at..]).expect("ASCII digits"))
}

/// Sixteen hex digits (formatting machinery is slower than this loop and the
/// ids are built for every event).
fn hex16(value: u64, alphabet: &[u8; 16]) -> String {
    let mut digits = [0u8; 16];
    for (position, digit) in digits.iter_mut().enumerate() {
        *digit = alphabet[((value >> (60 - 4 * position)) & 0xf) as usize];
    }
    String::from(std::str::from_utf8(&digits).expect("ASCII digits"))
}
const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
/// User ids are decimal numbers from here on (REES46 style).
pub const FIRST_USER_ID: u64 = 500_000_000;

/// `(day, user, n)` packed into a u64: day < 2^16, user < 2^40, n < 2^8.
fn pack(day: u32, user: u64, n: u8) -> u64 {
    (u64::from(day) << 48) | (user << 8) | u64::from(n)
}

#[derive(Debug, Clone, Copy)]
enum VisitKind {
    Shopping,
    Review(Deferred),
    BotBurst,
}

#[derive(Debug, Clone, Copy)]
struct Visit {
    kind: VisitKind,
    /// Wanted start, microseconds after UTC midnight.
    wanted_start_us: i64,
}

/// Where a simulated visit's events lie in the output, and its length.
struct Placed {
    begin: usize,
    end: usize,
    duration_us: i64,
    start_us: i64,
}

/// Everything one shopper does on `ctx.day`, appended to `out` sorted by
/// time with `seq` numbered.
pub(crate) fn simulate_day(
    ctx: &DayContext,
    user: u64,
    shopper: &mut Shopper,
    out: &mut Vec<Proto>,
) {
    let day = ctx.day;
    let has_due = shopper.deferred.iter().any(|deferred| deferred.day == day);
    let (bursts, forced, session_mean) = match shopper.kind {
        ShopperKind::Bot { burst_days } => {
            (burst_days.iter().filter(|&&burst| burst == day).count(), 0, 0.0)
        }
        ShopperKind::Human if day < shopper.arrival_day || day > shopper.last_active_day => {
            (0, 0, 0.0)
        }
        ShopperKind::Human => {
            let mean = f64::from(shopper.sessions_per_day) * ctx.weekday_factor;
            if day == shopper.arrival_day && shopper.new_customer {
                (0, 1, mean * ARRIVAL_DAY_EXTRA_SESSIONS)
            } else {
                (0, 0, mean)
            }
        }
    };
    if !has_due && bursts == 0 && forced == 0 && session_mean == 0.0 {
        return;
    }
    let mut rng = stream(ctx.seed, domain::DAY, user, u64::from(day));
    let shopping = forced + poisson(&mut rng, session_mean) as usize;
    if !has_due && bursts == 0 && shopping == 0 {
        return;
    }
    let begin = out.len();

    // Plan the visits, then simulate them in time order.
    let mut visits = Vec::with_capacity(shopping + bursts + 2);
    for _ in 0..shopping {
        visits.push(Visit {
            kind: VisitKind::Shopping,
            wanted_start_us: local_rhythm_start(&mut rng, shopper),
        });
    }
    for _ in 0..bursts {
        visits.push(Visit {
            kind: VisitKind::BotBurst,
            wanted_start_us: rng.random_range(0..DAY_US),
        });
    }
    let mut refunds = Vec::new();
    if has_due {
        shopper.deferred.retain(|deferred| {
            if deferred.day != day {
                return true;
            }
            match deferred.kind {
                DeferredKind::Refund => refunds.push(*deferred),
                DeferredKind::Review { .. } => {
                    visits.push(Visit { kind: VisitKind::Review(*deferred), wanted_start_us: 0 })
                }
            }
            false
        });
        for visit in &mut visits {
            if let VisitKind::Review(_) = visit.kind {
                visit.wanted_start_us = local_rhythm_start(&mut rng, shopper);
            }
        }
    }
    visits.truncate(usize::from(u8::MAX));
    visits.sort_by_key(|visit| visit.wanted_start_us);
    shopper.cart.retain(|line| day - line.added_day < CART_EXPIRY_DAYS);

    let country = shopper.country;
    let mut orders_today = 0u8;
    let mut first_shopping_visit = forced == 1;
    let mut placed = Vec::with_capacity(visits.len());
    for (number, visit) in visits.iter().enumerate() {
        let visit_begin = out.len();
        let session = pack(day, user, number as u8);
        match visit.kind {
            VisitKind::Shopping => {
                let acquisition = std::mem::take(&mut first_shopping_visit);
                let mut emitter = Emitter::new(out, user, session, country);
                shopping_visit(
                    ctx,
                    &mut rng,
                    shopper,
                    &mut emitter,
                    acquisition,
                    user,
                    &mut orders_today,
                );
            }
            VisitKind::Review(deferred) => {
                let mut emitter = Emitter::new(out, user, session, country);
                review_visit(&mut rng, shopper, &mut emitter, deferred);
            }
            VisitKind::BotBurst => {
                let mut emitter = Emitter::new(out, user, session, country);
                bot_burst(ctx, &mut rng, &mut emitter);
            }
        }
        let visit_end = out.len();
        let duration_us =
            out[visit_begin..visit_end].iter().map(|proto| proto.time_us).max().unwrap_or(0);
        placed.push(Placed {
            begin: visit_begin,
            end: visit_end,
            duration_us,
            start_us: visit.wanted_start_us,
        });
    }
    place_visits(&mut placed);
    for visit in &placed {
        for proto in &mut out[visit.begin..visit.end] {
            proto.time_us += visit.start_us;
        }
    }

    for refund in refunds {
        // Refunds are processed by the shop, not in a visit.
        let local_us = rng.random_range(9 * 3_600_000_000..21 * 3_600_000_000);
        let time_us = to_utc_of_day(local_us, shopper.utc_offset_minutes);
        out.push(Proto {
            time_us,
            user,
            seq: 0,
            item: refund.item,
            kind: Kind::Refund,
            quantity: refund.quantity,
            rating: 0,
            device: NONE_U8,
            channel: NONE_U8,
            country,
            session: NONE_U64,
            order: refund.order,
            cart_value: 0.0,
            text: None,
        });
    }

    let todays = &mut out[begin..];
    for proto in todays.iter_mut() {
        proto.time_us = ctx.day_start_us + proto.time_us.clamp(0, DAY_US - 1);
    }
    todays.sort_by_key(|proto| proto.time_us);
    for (seq, proto) in todays.iter_mut().enumerate() {
        proto.seq = seq as u32;
    }
}

/// Moves visits so that they keep [`MIN_SECONDS_BETWEEN_VISITS`] apart and
/// all end before midnight: first pushes later visits back, then pulls
/// visits that run past midnight (or into the next one) earlier.
fn place_visits(placed: &mut [Placed]) {
    let spacing = MIN_SECONDS_BETWEEN_VISITS * 1_000_000;
    for k in 1..placed.len() {
        let previous_end = placed[k - 1].start_us + placed[k - 1].duration_us;
        placed[k].start_us = placed[k].start_us.max(previous_end + spacing);
    }
    for k in (0..placed.len()).rev() {
        let limit = match placed.get(k + 1) {
            Some(next) => next.start_us - spacing,
            None => DAY_US - 1,
        };
        let visit = &mut placed[k];
        if visit.start_us + visit.duration_us > limit {
            visit.start_us = limit - visit.duration_us;
        }
        visit.start_us = visit.start_us.max(0);
    }
}

/// A start time drawn from the hour-of-day rhythm in the shopper's local
/// time, as microseconds after UTC midnight.
fn local_rhythm_start(rng: &mut StreamRng, shopper: &Shopper) -> i64 {
    let hour = weighted_pick(rng, &HOUR_WEIGHTS, |weight| *weight) as i64;
    let local_us = hour * 3_600_000_000 + rng.random_range(0..3_600_000_000);
    to_utc_of_day(local_us, shopper.utc_offset_minutes)
}

/// Local time of day to UTC time of day, wrapping around midnight (the visit
/// stays on the simulated UTC day).
fn to_utc_of_day(local_us: i64, utc_offset_minutes: i16) -> i64 {
    (local_us - i64::from(utc_offset_minutes) * 60_000_000).rem_euclid(DAY_US)
}

/// Builds the events of one visit with times relative to the visit start.
struct Emitter<'o> {
    out: &'o mut Vec<Proto>,
    user: u64,
    session: u64,
    device: u8,
    channel: u8,
    country: u8,
}

impl<'o> Emitter<'o> {
    fn new(out: &'o mut Vec<Proto>, user: u64, session: u64, country: u8) -> Self {
        Emitter { out, user, session, device: NONE_U8, channel: NONE_U8, country }
    }

    fn emit(&mut self, time_us: i64, kind: Kind, item: u32, quantity: u8) -> &mut Proto {
        self.out.push(Proto {
            time_us,
            user: self.user,
            seq: 0,
            item,
            kind,
            quantity,
            rating: 0,
            device: self.device,
            channel: self.channel,
            country: self.country,
            session: self.session,
            order: NONE_U64,
            cart_value: 0.0,
            text: None,
        });
        self.out.last_mut().expect("just pushed")
    }
}

fn browse_gap_us(rng: &mut StreamRng) -> i64 {
    let seconds = log_normal(rng, BROWSE_GAP_MEDIAN_S, BROWSE_GAP_SIGMA)
        .clamp(BROWSE_GAP_RANGE_S.0, BROWSE_GAP_RANGE_S.1);
    (seconds * SECOND_US) as i64
}

fn short_gap_us(rng: &mut StreamRng, median_s: f64, max_s: f64) -> i64 {
    (log_normal(rng, median_s, 0.6).clamp(1.0, max_s) * SECOND_US) as i64
}

/// A category to look at: mostly a favourite, sometimes anything.
fn focus_category(ctx: &DayContext, rng: &mut StreamRng, shopper: &Shopper) -> usize {
    if rng.random_bool(FAVOURITE_CATEGORY) {
        shopper.favourite(rng)
    } else {
        ctx.catalog.sample_category(rng)
    }
}

fn sample_quantity(rng: &mut StreamRng, price: f64) -> u8 {
    let weights: &[f64] =
        if price < 30.0 { &[0.80, 0.13, 0.05, 0.02] } else { &[0.93, 0.05, 0.015, 0.005] };
    weighted_pick(rng, weights, |weight| *weight) as u8 + 1
}

/// A shopping visit: searches and views, carts, maybe a checkout and
/// purchase.
fn shopping_visit(
    ctx: &DayContext,
    rng: &mut StreamRng,
    shopper: &mut Shopper,
    emitter: &mut Emitter,
    acquisition: bool,
    user: u64,
    orders_today: &mut u8,
) {
    let catalog = ctx.catalog;
    emitter.device = if rng.random_bool(OTHER_DEVICE_SHARE) {
        // Mobile users sometimes sit at a desktop, everyone else uses a phone.
        if shopper.device == 0 { 1 } else { 0 }
    } else {
        shopper.device
    };
    emitter.channel = if acquisition {
        shopper.acquisition_channel
    } else {
        weighted_pick(rng, CHANNELS, |channel| channel.2) as u8
    };
    let mood = f64::from(shopper.buying_mood)
        * DEVICES[usize::from(emitter.device)].2
        * CHANNELS[usize::from(emitter.channel)].3;
    let steps = (log_normal(rng, SESSION_STEPS_MEDIAN, SESSION_STEPS_SIGMA).round() as usize)
        .clamp(1, SESSION_MAX_STEPS);

    let mut time = 0i64;
    let mut category = focus_category(ctx, rng, shopper);
    let mut brand: Option<u8> = None;
    if !shopper.cart.is_empty() && rng.random_bool(RESUME_CART) {
        let line = shopper.cart[rng.random_range(0..shopper.cart.len())];
        emitter.emit(time, Kind::View, line.item, NONE_U8);
        category = catalog.items()[line.item as usize].category;
        time += browse_gap_us(rng);
    }
    for step in 0..steps {
        if step > 0 {
            time += browse_gap_us(rng);
        }
        let search_chance = if step == 0 { FIRST_ACTION_SEARCH } else { SEARCH_SHARE };
        if rng.random_bool(search_chance) {
            if step > 0 && rng.random_bool(SEARCH_NEW_CATEGORY) {
                category = focus_category(ctx, rng, shopper);
            }
            let (query, named_brand) = search_query(rng, catalog.categories()[category].spec);
            brand = named_brand;
            emitter.emit(time, Kind::Search, NONE_U32, NONE_U8).text = Some(query);
            // Results load and the shopper picks one.
            time += short_gap_us(rng, 6.0, 120.0);
        } else if !shopper.cart.is_empty() && rng.random_bool(REMOVE_FROM_CART) {
            let line = shopper.cart.remove(rng.random_range(0..shopper.cart.len()));
            emitter.emit(time, Kind::RemoveFromCart, line.item, line.quantity);
            continue;
        } else if step > 0 && rng.random_bool(CATEGORY_SWITCH) {
            category = focus_category(ctx, rng, shopper);
            brand = None;
        }
        let item = match brand {
            Some(brand) => catalog.sample_item_of_brand(rng, category, brand),
            None => catalog.sample_item(rng, category),
        };
        emitter.emit(time, Kind::View, item, NONE_U8);
        let viewed = &catalog.items()[item as usize];
        let price = viewed.base_price;
        if rng.random_bool((VIEW_TO_CART * mood * f64::from(viewed.cart_factor)).min(0.5)) {
            time += short_gap_us(rng, 8.0, 120.0);
            let quantity = sample_quantity(rng, price);
            emitter.emit(time, Kind::AddToCart, item, quantity);
            match shopper.cart.iter_mut().find(|line| line.item == item) {
                Some(line) => line.quantity = line.quantity.saturating_add(quantity).min(9),
                None => {
                    if shopper.cart.len() == CART_MAX_LINES {
                        shopper.cart.remove(0);
                    }
                    shopper.cart.push(CartLine { item, quantity, added_day: ctx.day });
                }
            }
        }
    }

    if shopper.cart.is_empty()
        || !rng.random_bool((CHECKOUT_WITH_CART * mood.sqrt()).clamp(0.05, 0.9))
    {
        return;
    }
    time += short_gap_us(rng, 20.0, 300.0);
    let order = pack(ctx.day, user, *orders_today);
    *orders_today = orders_today.saturating_add(1);
    let value: f64 = shopper
        .cart
        .iter()
        .map(|line| catalog.items()[line.item as usize].base_price * f64::from(line.quantity))
        .sum();
    let checkout = emitter.emit(time, Kind::Checkout, NONE_U32, shopper.cart.len() as u8);
    checkout.order = order;
    checkout.cart_value = value;
    if !rng.random_bool(PAYMENT_SUCCESS) {
        return;
    }
    // Entering address and payment details.
    time += short_gap_us(rng, 90.0, 900.0);
    for line in std::mem::take(&mut shopper.cart) {
        emitter.emit(time, Kind::Purchase, line.item, line.quantity).order = order;
        if rng.random_bool(REFUND_RATE) {
            let due = ctx.day + rng.random_range(REFUND_DELAY_DAYS);
            if due < ctx.days {
                shopper.deferred.push(Deferred {
                    day: due,
                    kind: DeferredKind::Refund,
                    item: line.item,
                    quantity: line.quantity,
                    order,
                });
            }
            schedule_review(ctx, rng, shopper, line, order, &REFUNDED_RATING_WEIGHTS);
        } else {
            schedule_review(ctx, rng, shopper, line, order, &RATING_WEIGHTS);
        }
    }
}

fn schedule_review(
    ctx: &DayContext,
    rng: &mut StreamRng,
    shopper: &mut Shopper,
    line: CartLine,
    order: u64,
    rating_weights: &[f64; 5],
) {
    if !rng.random_bool(REVIEW_RATE) {
        return;
    }
    let due = ctx.day + rng.random_range(REVIEW_DELAY_DAYS);
    let rating = weighted_pick(rng, rating_weights, |weight| *weight) as u8 + 1;
    if due < ctx.days {
        shopper.deferred.push(Deferred {
            day: due,
            kind: DeferredKind::Review { rating },
            item: line.item,
            quantity: line.quantity,
            order,
        });
    }
}

/// A short visit to review a purchase: the product page, then the review.
fn review_visit(rng: &mut StreamRng, shopper: &Shopper, emitter: &mut Emitter, deferred: Deferred) {
    let DeferredKind::Review { rating } = deferred.kind else { return };
    emitter.device = shopper.device;
    // Most reviews answer the shop's "how was it?" e-mail.
    emitter.channel = if rng.random_bool(0.6) { EMAIL } else { DIRECT };
    emitter.emit(0, Kind::View, deferred.item, NONE_U8);
    let time = (log_normal(rng, 90.0, 0.5).clamp(20.0, 900.0) * SECOND_US) as i64;
    let text = rng.random_bool(REVIEW_TEXT_SHARE).then(|| review_text(rng, rating));
    let review = emitter.emit(time, Kind::Review, deferred.item, NONE_U8);
    review.rating = rating;
    review.text = text;
}

/// A scraper crawling the catalogue: hundreds of views a fraction of a
/// second apart, walking through categories in catalogue order.
fn bot_burst(ctx: &DayContext, rng: &mut StreamRng, emitter: &mut Emitter) {
    let catalog = ctx.catalog;
    emitter.device = crate::population::DESKTOP;
    emitter.channel = DIRECT;
    let views = rng.random_range(BOT_BURST_VIEWS);
    let mut category = catalog.sample_category(rng);
    let mut offset = rng.random_range(0..catalog.categories()[category].item_count);
    let mut time = 0;
    for _ in 0..views {
        let current = &catalog.categories()[category];
        emitter.emit(time, Kind::View, (current.first_item + offset) as u32, NONE_U8);
        offset += 1;
        if offset == current.item_count {
            category = (category + 1) % catalog.categories().len();
            offset = 0;
        }
        time += rng.random_range(BOT_GAP_US);
    }
}

impl Proto {
    /// The event with its strings built.
    pub(crate) fn into_event(self, catalog: &Catalog, salts: &IdSalts) -> Event {
        let mut event = Event {
            event_time: DateTime::from_timestamp_micros(self.time_us)
                .expect("generated times are within chrono's range"),
            user_id: user_id(self.user),
            session_id: (self.session != NONE_U64)
                .then(|| hex16(mix64(self.session ^ salts.session), LOWER_HEX)),
            event_type: self.kind.event_type(),
            order_id: (self.order != NONE_U64)
                .then(|| hex16(mix64(self.order ^ salts.order), UPPER_HEX)),
            channel: (self.channel != NONE_U8)
                .then(|| CHANNELS[usize::from(self.channel)].0.to_string()),
            device: (self.device != NONE_U8)
                .then(|| DEVICES[usize::from(self.device)].0.to_string()),
            country: Some(COUNTRIES[usize::from(self.country)].0.to_string()),
            ..Event::default()
        };
        if self.item != NONE_U32 {
            let item = &catalog.items()[self.item as usize];
            let category = &catalog.categories()[item.category];
            event.item_id = Some(item.id.clone());
            event.category_id = Some(category.id.clone());
            event.category = Some(category.path.to_string());
            event.brand = item.brand.map(str::to_string);
            if self.kind != Kind::Review {
                event.price = Some(item.base_price);
                event.currency = Some("USD".to_string());
            }
        }
        match self.kind {
            Kind::AddToCart | Kind::RemoveFromCart | Kind::Purchase | Kind::Refund => {
                event.quantity = Some(i64::from(self.quantity));
            }
            Kind::Checkout => {
                event.currency = Some("USD".to_string());
                event.properties = BTreeMap::from([
                    ("cart_items".to_string(), self.quantity.to_string()),
                    ("cart_value".to_string(), format!("{:.2}", self.cart_value)),
                ]);
            }
            Kind::Search => event.search_query = self.text,
            Kind::Review => {
                event.rating = Some(f64::from(self.rating));
                event.review_text = self.text;
            }
            Kind::View => {}
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(start_s: i64, duration_s: i64) -> Placed {
        Placed {
            begin: 0,
            end: 0,
            duration_us: duration_s * 1_000_000,
            start_us: start_s * 1_000_000,
        }
    }

    fn starts(visits: &[Placed]) -> Vec<i64> {
        visits.iter().map(|visit| visit.start_us / 1_000_000).collect()
    }

    #[test]
    fn visits_are_spaced_and_end_before_midnight() {
        let mut visits = [placed(100, 600), placed(200, 60)];
        place_visits(&mut visits);
        assert_eq!(starts(&visits), [100, 100 + 600 + 1200]);

        let mut visits = [placed(86_000, 1_000)];
        place_visits(&mut visits);
        assert_eq!(starts(&visits), [86_400 - 1_000 - 1]);

        // The late visit is pulled back and pushes the earlier one back too.
        let mut visits = [placed(84_000, 1_000), placed(85_000, 1_000)];
        place_visits(&mut visits);
        let [first, second] = starts(&visits)[..] else { unreachable!() };
        assert_eq!(second, 86_400 - 1_000 - 1);
        assert_eq!(first + 1_000 + 1_200, second);
    }

    #[test]
    fn local_time_wraps_onto_the_utc_day() {
        assert_eq!(to_utc_of_day(3_600_000_000, 60), 0);
        assert_eq!(to_utc_of_day(0, 60), DAY_US - 3_600_000_000);
        assert_eq!(to_utc_of_day(20 * 3_600_000_000, -300), 3_600_000_000);
    }

    #[test]
    fn ids_are_formatted_like_the_standard_formatter() {
        for value in [0, 1, 0xdead_beef, u64::MAX] {
            assert_eq!(hex16(value, LOWER_HEX), format!("{value:016x}"));
            assert_eq!(hex16(value, UPPER_HEX), format!("{value:016X}"));
        }
        assert_eq!(user_id(0), FIRST_USER_ID.to_string());
        assert_eq!(user_id(123_456), (FIRST_USER_ID + 123_456).to_string());
        assert_eq!(user_id(u64::MAX - FIRST_USER_ID), u64::MAX.to_string());
    }

    #[test]
    fn packed_counters_do_not_collide() {
        assert_ne!(pack(1, 0, 0), pack(0, (1 << 40) - 1, u8::MAX));
        assert_eq!(pack(0, (1 << 40) - 1, u8::MAX) + 1, pack(1, 0, 0));
        assert_ne!(pack(0, 1, 0), pack(0, 0, 1));
        assert_eq!(pack(3, 5, 7) >> 48, 3);
    }
}
