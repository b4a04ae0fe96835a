use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::Timelike;
use events::EventType;

use crate::sample;

fn count_by_type() -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for event in sample().events() {
        *counts.entry(event.event_type.to_string()).or_insert(0.0) += 1.0;
    }
    counts
}

#[test]
fn funnel_rates_are_realistic() {
    let counts = count_by_type();
    let rate = |to: &str, from: &str| counts[to] / counts[from];
    let view_to_cart = rate("add_to_cart", "view");
    let cart_to_purchase = rate("purchase", "add_to_cart");
    let refunds = rate("refund", "purchase");
    let reviews = rate("review", "purchase");
    assert!((0.02..0.12).contains(&view_to_cart), "view→cart {view_to_cart}");
    assert!((0.20..0.60).contains(&cart_to_purchase), "cart→purchase {cart_to_purchase}");
    // Refunds and reviews come days later, so a 14-day run shows fewer.
    assert!((0.005..0.08).contains(&refunds), "refunds {refunds}");
    assert!((0.02..0.15).contains(&reviews), "reviews {reviews}");
    assert!(counts["search"] > 0.05 * counts["view"]);
    assert!(counts["remove_from_cart"] > 0.0 && counts["checkout"] > 0.0);
}

#[test]
fn few_items_get_most_views() {
    let sample = sample();
    let mut views: HashMap<&str, u64> = HashMap::new();
    for event in sample.events() {
        if event.event_type == EventType::View && !sample.is_bot(&event.user_id) {
            *views.entry(event.item_id.as_deref().unwrap()).or_default() += 1;
        }
    }
    let mut counts: Vec<u64> = views.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let total: u64 = counts.iter().sum();
    let top: u64 = counts.iter().take(sample.items / 10).sum();
    let share = top as f64 / total as f64;
    assert!(share > 0.35, "top 10% of items get {share:.2} of views");
}

/// The most events any window of 60 seconds holds, per user.
fn busiest_minute_per_user() -> HashMap<&'static str, usize> {
    let mut windows: HashMap<&str, VecDeque<i64>> = HashMap::new();
    let mut busiest: HashMap<&str, usize> = HashMap::new();
    for event in sample().events() {
        let time = event.event_time.timestamp_micros();
        let window = windows.entry(&event.user_id).or_default();
        window.push_back(time);
        while time - window[0] >= 60_000_000 {
            window.pop_front();
        }
        let best = busiest.entry(&event.user_id).or_default();
        *best = (*best).max(window.len());
    }
    busiest
}

#[test]
fn bots_and_only_bots_break_the_60_per_minute_rule() {
    let sample = sample();
    assert_eq!(sample.bots.len(), 1, "2,000 users have one bot by default");
    let busiest = busiest_minute_per_user();
    for bot in &sample.bots {
        assert!(busiest[bot.as_str()] > 60, "bot {bot}: {}", busiest[bot.as_str()]);
    }
    let humans_max = busiest
        .iter()
        .filter(|(user, _)| !sample.is_bot(user))
        .map(|(_, count)| *count)
        .max()
        .unwrap();
    assert!(humans_max <= 30, "a human had {humans_max} events in a minute");
}

#[test]
fn bot_bursts_have_hundreds_of_views() {
    let config =
        generator::GeneratorConfig { bot_users: 20, ..generator::GeneratorConfig::new(300, 3, 9) };
    let generator = generator::Generator::new(config).unwrap();
    let bots = generator.bot_user_ids();
    let mut views: HashMap<String, usize> = HashMap::new();
    for event in generator.flatten() {
        if bots.contains(&event.user_id) {
            assert_eq!(event.event_type, EventType::View);
            *views.entry(event.user_id).or_default() += 1;
        }
    }
    assert_eq!(views.len(), 20);
    assert!(views.values().all(|&count| (200..=1_800).contains(&count)), "{views:?}");
}

#[test]
fn users_devices_and_channels_are_skewed() {
    let sample = sample();
    let mut devices: HashMap<&str, u64> = HashMap::new();
    let mut channels: HashMap<&str, u64> = HashMap::new();
    let mut countries: HashMap<&str, u64> = HashMap::new();
    let mut by_hour = [0u64; 24];
    let mut users: HashMap<&str, u64> = HashMap::new();
    for event in sample.events().filter(|event| !sample.is_bot(&event.user_id)) {
        if let Some(device) = &event.device {
            *devices.entry(device).or_default() += 1;
        }
        if let Some(channel) = &event.channel {
            *channels.entry(channel).or_default() += 1;
        }
        *countries.entry(event.country.as_deref().unwrap()).or_default() += 1;
        by_hour[event.event_time.hour() as usize] += 1;
        *users.entry(&event.user_id).or_default() += 1;
    }
    assert!(devices["mobile"] > devices["desktop"] && devices["desktop"] > devices["tablet"]);
    for channel in ["organic", "paid_search", "email", "social", "direct"] {
        assert!(channels.get(channel).copied().unwrap_or(0) > 100, "{channel}: {channels:?}");
    }
    let top_country = countries.iter().max_by_key(|(_, n)| **n).unwrap().0;
    assert_eq!(*top_country, "US");
    // The mix of time zones flattens the rhythm in UTC, but nights stay quiet.
    let (quietest, busiest) = (by_hour.iter().min().unwrap(), by_hour.iter().max().unwrap());
    assert!(*busiest as f64 > 1.5 * *quietest as f64, "{by_hour:?}");

    // Heterogeneous activity: a long tail of heavy users.
    let mut per_user: Vec<u64> = users.into_values().collect();
    per_user.sort_unstable();
    let median = per_user[per_user.len() / 2];
    let p95 = per_user[per_user.len() * 95 / 100];
    assert!(p95 > 3 * median, "median {median}, p95 {p95}");
}

#[test]
fn volume_is_about_one_event_per_user_and_day() {
    let sample = sample();
    let events = sample.events().count() as f64;
    let config = &sample.generator_config;
    let per_user_day = events / (config.users as f64 * f64::from(config.days));
    assert!((0.6..1.6).contains(&per_user_day), "{per_user_day}");
}
