//! The generator's integration tests, one binary (see STYLE.md).

mod csv_output;
mod determinism;
mod realism;
mod validity;

use std::sync::OnceLock;

use events::Event;
use generator::{Generator, GeneratorConfig};

/// Every day of a configuration, concatenated.
fn generate(config: GeneratorConfig) -> Vec<Vec<Event>> {
    Generator::new(config).expect("valid config").collect()
}

/// The shared realistic sample: 2,000 users over 14 days (about 30k events),
/// generated once for all tests that only read it.
struct Sample {
    generator_config: GeneratorConfig,
    days: Vec<Vec<Event>>,
    bots: Vec<String>,
    expected_events: u64,
    items: usize,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let config = GeneratorConfig::new(2_000, 14, 20_240_101);
        let generator = Generator::new(config.clone()).expect("valid config");
        let bots = generator.bot_user_ids();
        let expected_events = generator.expected_events();
        let items = generator.catalog().items().len();
        Sample { generator_config: config, days: generator.collect(), bots, expected_events, items }
    })
}

impl Sample {
    fn events(&self) -> impl Iterator<Item = &Event> {
        self.days.iter().flatten()
    }

    fn is_bot(&self, user_id: &str) -> bool {
        self.bots.iter().any(|bot| bot == user_id)
    }
}
