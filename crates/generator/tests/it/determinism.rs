use generator::{Generator, GeneratorConfig};

use crate::generate;

#[test]
fn same_seed_gives_identical_events() {
    let config = GeneratorConfig::new(400, 5, 7);
    let first = generate(config.clone());
    let second = generate(config);
    assert!(first.iter().map(Vec::len).sum::<usize>() > 1_000);
    assert_eq!(first, second);
}

#[test]
fn different_seed_gives_different_events() {
    let first = generate(GeneratorConfig::new(400, 3, 7));
    let second = generate(GeneratorConfig::new(400, 3, 8));
    assert_ne!(first, second);
}

#[test]
fn thread_count_does_not_change_the_output() {
    let config = GeneratorConfig::new(3_000, 3, 11);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| generate(config.clone()))
    };
    let single = run(1);
    assert_eq!(single, run(3));
    assert_eq!(single, run(8));
}

#[test]
fn start_date_moves_the_days_without_changing_behaviour_counts() {
    let config = GeneratorConfig::new(300, 2, 5);
    let mut later = config.clone();
    later.start_date = chrono::NaiveDate::from_ymd_opt(2025, 6, 2).unwrap();
    let days = generate(later);
    assert_eq!(days[0][0].event_date(), chrono::NaiveDate::from_ymd_opt(2025, 6, 2).unwrap());
    assert_eq!(
        days[1].last().unwrap().event_date(),
        chrono::NaiveDate::from_ymd_opt(2025, 6, 3).unwrap()
    );
}

#[test]
fn catalog_is_the_same_for_the_same_seed() {
    let first = Generator::new(GeneratorConfig::new(10_000, 1, 3)).unwrap();
    let second = Generator::new(GeneratorConfig::new(10_000, 1, 3)).unwrap();
    let ids = |generator: &Generator| -> Vec<(String, f64)> {
        generator.catalog().items().iter().map(|item| (item.id.clone(), item.base_price)).collect()
    };
    assert_eq!(ids(&first), ids(&second));
    assert_eq!(first.catalog().items().len(), 1_000);
    assert_eq!(first.bot_user_ids(), second.bot_user_ids());
}
