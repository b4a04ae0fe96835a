//! Generates a dataset in memory and prints speed and realism statistics.
//!
//! ```text
//! cargo run --release -p generator --example generator_stats -- 100000 30 [seed] [--csv]
//! ```
//! `--csv` also measures writing the canonical CSV (to a sink); `--speed`
//! skips the statistics.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use events::EventType;
use generator::{CsvEventWriter, Generator, GeneratorConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |index: usize, default: u64| {
        args.get(index).and_then(|arg| arg.parse().ok()).unwrap_or(default)
    };
    let users = number(0, 100_000);
    let days = number(1, 30) as u32;
    let seed = number(2, 42);
    let with_csv = args.iter().any(|arg| arg == "--csv");
    let speed_only = args.iter().any(|arg| arg == "--speed");

    let started = Instant::now();
    let mut generator =
        Generator::new(GeneratorConfig::new(users, days, seed)).expect("valid config");
    let setup = started.elapsed();
    let expected = generator.expected_events();
    let bots: HashSet<String> = generator.bot_user_ids().into_iter().collect();
    let items = generator.catalog().items().len();

    let mut generating = std::time::Duration::ZERO;
    let mut generating_cpu = 0.0;
    let mut writing = std::time::Duration::ZERO;
    let mut csv = CsvEventWriter::new(std::io::sink()).expect("sink");
    let mut total = 0u64;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut views_by_item: HashMap<String, u64> = HashMap::new();
    let mut events_by_user: HashMap<String, u64> = HashMap::new();
    let mut sessions: HashSet<String> = HashSet::new();
    let mut by_hour = [0u64; 24];
    let mut by_device: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, u64> = BTreeMap::new();
    let mut ratings = [0u64; 6];
    let mut human_events = 0u64;
    // Largest number of one user's events within 60 s, per user.
    let mut windows: HashMap<String, VecDeque<i64>> = HashMap::new();
    let mut max_window: HashMap<String, usize> = HashMap::new();
    let mut purchases_value = 0.0;
    loop {
        let tick = Instant::now();
        let cpu_before = process_cpu_seconds();
        let Some(day) = generator.next_day() else { break };
        generating += tick.elapsed();
        generating_cpu += process_cpu_seconds() - cpu_before;
        if with_csv {
            let tick = Instant::now();
            csv.write_all(&day).expect("sink");
            writing += tick.elapsed();
        }
        if speed_only {
            total += day.len() as u64;
            continue;
        }
        for event in &day {
            total += 1;
            *by_type.entry(event.event_type.to_string()).or_default() += 1;
            *events_by_user.entry(event.user_id.clone()).or_default() += 1;
            let is_bot = bots.contains(&event.user_id);
            if !is_bot {
                human_events += 1;
                if event.event_type == EventType::View {
                    *views_by_item.entry(event.item_id.clone().unwrap()).or_default() += 1;
                }
                if let Some(session) = &event.session_id {
                    sessions.insert(session.clone());
                }
                by_hour[chrono::Timelike::hour(&event.event_time) as usize] += 1;
                *by_device.entry(event.device.clone().unwrap_or_default()).or_default() += 1;
                *by_channel.entry(event.channel.clone().unwrap_or_default()).or_default() += 1;
            }
            if let Some(rating) = event.rating {
                ratings[rating as usize] += 1;
            }
            if event.event_type == EventType::Purchase {
                purchases_value += event.price.unwrap() * event.quantity.unwrap() as f64;
            }
            let time = event.event_time.timestamp_micros();
            let window = windows.entry(event.user_id.clone()).or_default();
            window.push_back(time);
            while time - window[0] >= 60_000_000 {
                window.pop_front();
            }
            let best = max_window.entry(event.user_id.clone()).or_default();
            *best = (*best).max(window.len());
        }
    }
    let count = |kind: &str| by_type.get(kind).copied().unwrap_or(0) as f64;
    let human_users = events_by_user.keys().filter(|user| !bots.contains(*user)).count();
    let mut item_views: Vec<u64> = views_by_item.values().copied().collect();
    item_views.sort_unstable_by(|a, b| b.cmp(a));
    let top_decile_items = items.div_ceil(10);
    let top_views: u64 = item_views.iter().take(top_decile_items).sum();
    let all_views: u64 = item_views.iter().sum();
    let flagged_bots =
        max_window.iter().filter(|(user, n)| **n > 60 && bots.contains(*user)).count();
    let flagged_humans =
        max_window.iter().filter(|(user, n)| **n > 60 && !bots.contains(*user)).count();
    let human_max = max_window
        .iter()
        .filter(|(user, _)| !bots.contains(*user))
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0);

    let seconds = generating.as_secs_f64();
    println!("config: {users} users x {days} days, seed {seed}; {items} items; setup {setup:.2?}");
    println!(
        "events: {total} (expected {expected}, {:+.1}%); {:.0} events/s generating ({seconds:.2} s)",
        (expected as f64 / total as f64 - 1.0) * 100.0,
        total as f64 / seconds
    );
    if generating_cpu > 0.0 {
        println!(
            "cpu: {generating_cpu:.2} s of CPU time generating = {:.0} events per CPU-second \
             ({:.2} µs per event); wall/CPU = {:.2} cores busy",
            total as f64 / generating_cpu,
            generating_cpu * 1e6 / total as f64,
            generating_cpu / seconds
        );
    }
    if with_csv {
        println!(
            "csv: {:.0} events/s writing ({:.2} s)",
            total as f64 / writing.as_secs_f64(),
            writing.as_secs_f64()
        );
    }
    println!(
        "per user-day: {:.3}; per user over the run: {:.1}; per active human: {:.1}; \
         human events per session: {:.2}; sessions {}",
        total as f64 / (users as f64 * f64::from(days)),
        total as f64 / users as f64,
        human_events as f64 / human_users as f64,
        human_events as f64 / sessions.len() as f64,
        sessions.len()
    );
    println!("by type: {by_type:?}");
    println!(
        "view->cart {:.2}%, cart->purchase {:.1}%, remove/cart {:.1}%, checkout->purchase {:.1}%, \
         refund/purchase {:.2}%, review/purchase {:.2}%, searches/view {:.1}%",
        100.0 * count("add_to_cart") / count("view"),
        100.0 * count("purchase") / count("add_to_cart"),
        100.0 * count("remove_from_cart") / count("add_to_cart"),
        100.0 * count("purchase") / count("checkout"),
        100.0 * count("refund") / count("purchase"),
        100.0 * count("review") / count("purchase"),
        100.0 * count("search") / count("view"),
    );
    println!(
        "top 10% of items: {:.1}% of human views; revenue ${purchases_value:.0}",
        100.0 * top_views as f64 / all_views as f64
    );
    println!(
        "bots: {} configured, {flagged_bots} flagged by >60 events/60 s; humans flagged: \
         {flagged_humans} (max {human_max} events in 60 s)",
        bots.len()
    );
    println!("ratings 1..5: {:?}", &ratings[1..]);
    println!("devices: {by_device:?}");
    println!("channels: {by_channel:?}");
    let hours: Vec<String> =
        by_hour.iter().map(|n| format!("{:.1}", 100.0 * *n as f64 / human_events as f64)).collect();
    println!("UTC hour shares %: {}", hours.join(" "));
    drop(csv.finish());
}

/// User + system CPU time of this process (all threads), from
/// `/proc/self/stat`; 0 where that file does not exist.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line, in clock ticks (100 per second
    // on Linux).
    let Some(after_name) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
