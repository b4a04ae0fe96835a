use std::collections::{BTreeSet, HashMap};

use chrono::Days;
use events::{EventType, validate};

use crate::sample;

#[test]
fn every_event_validates() {
    for event in sample().events() {
        if let Err(error) = validate(event) {
            panic!("{error}: {event:?}");
        }
    }
}

#[test]
fn days_are_sorted_and_on_their_date() {
    let sample = sample();
    assert_eq!(sample.days.len(), 14);
    for (index, day) in sample.days.iter().enumerate() {
        let date = sample.generator_config.start_date + Days::new(index as u64);
        assert!(!day.is_empty(), "day {index} is empty");
        for pair in day.windows(2) {
            assert!(pair[0].event_time <= pair[1].event_time, "{:?} then {:?}", pair[0], pair[1]);
        }
        for event in day {
            assert_eq!(event.event_date(), date, "{event:?}");
            assert_eq!(event.event_time.timestamp_subsec_nanos() % 1_000, 0, "whole microseconds");
        }
    }
}

#[test]
fn sessions_and_orders_belong_to_one_user() {
    let mut session_owner: HashMap<&str, (&str, chrono::NaiveDate)> = HashMap::new();
    let mut order_owner: HashMap<&str, &str> = HashMap::new();
    for event in sample().events() {
        if let Some(session) = &event.session_id {
            let owner =
                session_owner.entry(session).or_insert((&event.user_id, event.event_date()));
            assert_eq!(*owner, (event.user_id.as_str(), event.event_date()), "{session}");
        }
        if let Some(order) = &event.order_id {
            let owner = order_owner.entry(order).or_insert(&event.user_id);
            assert_eq!(*owner, event.user_id, "{order}");
        }
    }
    assert!(session_owner.len() > 1_000);
}

#[test]
fn purchases_refunds_and_reviews_are_consistent() {
    let mut purchases: HashMap<(&str, &str), &events::Event> = HashMap::new();
    let mut purchased_by_user: BTreeSet<(&str, &str)> = BTreeSet::new();
    let (mut refunds, mut reviews) = (0, 0);
    for event in sample().events() {
        match event.event_type {
            EventType::Purchase => {
                let order = event.order_id.as_deref().expect("purchases have an order");
                let item = event.item_id.as_deref().unwrap();
                assert_eq!(event.currency.as_deref(), Some("USD"));
                assert!(event.quantity.unwrap() >= 1);
                purchases.insert((order, item), event);
                purchased_by_user.insert((&event.user_id, item));
            }
            EventType::Refund => {
                refunds += 1;
                let order = event.order_id.as_deref().expect("refunds have an order");
                let item = event.item_id.as_deref().unwrap();
                let purchase = purchases[&(order, item)];
                assert_eq!(event.price, purchase.price);
                assert_eq!(event.quantity, purchase.quantity);
                assert!(event.event_time - purchase.event_time >= chrono::Duration::days(1));
            }
            EventType::Review => {
                reviews += 1;
                let rating = event.rating.expect("reviews have a rating");
                assert!((1.0..=5.0).contains(&rating) && rating.fract() == 0.0);
                let item = event.item_id.as_deref().unwrap();
                assert!(purchased_by_user.contains(&(event.user_id.as_str(), item)));
                if let Some(text) = &event.review_text
                    && let Some(positive) = generator::sentence_sentiment(text)
                {
                    match rating as u8 {
                        4..=5 => assert!(positive, "{rating}: {text}"),
                        1..=2 => assert!(!positive, "{rating}: {text}"),
                        _ => {}
                    }
                }
            }
            EventType::Search => {
                assert!(!event.search_query.as_deref().unwrap().trim().is_empty());
            }
            _ => {}
        }
    }
    assert!(refunds > 0 && reviews > 0, "refunds {refunds}, reviews {reviews}");
}

#[test]
fn item_fields_come_from_the_catalogue() {
    let departments = [
        "electronics",
        "appliances",
        "computers",
        "apparel",
        "furniture",
        "beauty",
        "sport",
        "kids",
        "auto",
        "construction",
        "accessories",
        "stationery",
    ];
    for event in sample().events().filter(|event| event.item_id.is_some()) {
        let category = event.category.as_deref().unwrap();
        assert!(departments.contains(&category.split('.').next().unwrap()), "{category}");
        assert!(category.contains('.'), "{category}");
        assert!(event.category_id.as_deref().unwrap().bytes().all(|b| b.is_ascii_digit()));
        assert!(event.item_id.as_deref().unwrap().bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn expected_events_is_a_fair_estimate() {
    let sample = sample();
    let actual = sample.events().count() as f64;
    let expected = sample.expected_events as f64;
    assert!((expected / actual - 1.0).abs() < 0.25, "expected {expected}, got {actual}");
}
