//! The product catalogue: categories from the built-in taxonomy, items with
//! brands, log-normal prices and Zipf-distributed popularity.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::rng::{CumulativeWeights, StreamRng, domain, log_normal, stream};
use crate::taxonomy::{LEAVES, LeafSpec};

/// Zipf exponent of item popularity within a category: the k-th most popular
/// item gets views ∝ k^-1.1.
pub const ITEM_POPULARITY_EXPONENT: f64 = 1.1;
/// Zipf exponent of brand shares within a category.
pub const BRAND_EXPONENT: f64 = 1.0;
/// Share of items without a brand.
pub const UNBRANDED_SHARE: f64 = 0.05;
/// Fewest items of any category.
const MIN_ITEMS_PER_CATEGORY: usize = 4;
/// Item ids are decimal numbers from here on, shuffled over the items.
const FIRST_ITEM_ID: u64 = 1_000_000;

/// A leaf category of the shop's tree.
#[derive(Debug, Clone)]
pub struct Category {
    /// Numeric id, stable across seeds (derived from the path).
    pub id: String,
    /// Dot-separated path (`electronics.audio.headphone`).
    pub path: &'static str,
    /// Expected share of all product views.
    pub traffic_share: f64,
    /// Median item price in USD.
    pub median_price: f64,
    /// Brands sold in this category, the most common first.
    pub brands: &'static [&'static str],
    /// Where this category's items start in [`Catalog::items`]; they are
    /// ordered by popularity within the category.
    pub first_item: usize,
    /// How many items the category has.
    pub item_count: usize,
    pub(crate) spec: &'static LeafSpec,
}

/// One product.
#[derive(Debug, Clone)]
pub struct Item {
    /// Numeric id (`"1004767"`).
    pub id: String,
    /// Index into [`Catalog::categories`].
    pub category: usize,
    pub brand: Option<&'static str>,
    /// Unit price in USD.
    pub base_price: f64,
    /// 1 = the most viewed item of the shop.
    pub popularity_rank: u32,
    /// Expected share of all product views.
    pub popularity: f64,
    /// Index into the category's brands, `u8::MAX` when unbranded.
    pub(crate) brand_index: u8,
    /// How much more (or less) likely than average a view of this item turns
    /// into add_to_cart: `(category median / price)^0.25`, within 0.6–1.6.
    pub(crate) cart_factor: f32,
}

/// All categories and items.
#[derive(Debug, Clone)]
pub struct Catalog {
    categories: Vec<Category>,
    items: Vec<Item>,
    category_traffic: CumulativeWeights,
    /// Walker alias tables of popularity within each category, indexed like
    /// `items` (each category's entries refer to ranks in that category).
    alias_probability: Vec<f32>,
    alias: Vec<u32>,
}

impl Catalog {
    /// Builds `item_count` items (at least one per category minimum) from the
    /// seed's catalogue stream.
    pub(crate) fn build(seed: u64, item_count: usize) -> Catalog {
        let mut rng = stream(seed, domain::CATALOG, 0, 0);
        let total_traffic: f64 = LEAVES.iter().map(|leaf| leaf.traffic).sum();
        // Big categories have more items, but less than proportionally: a
        // shop lists many kettles even though phones get more traffic.
        let size_weight = |leaf: &LeafSpec| leaf.traffic.powf(0.7);
        let total_size: f64 = LEAVES.iter().map(size_weight).sum();

        let mut categories = Vec::with_capacity(LEAVES.len());
        let mut items = Vec::with_capacity(item_count + LEAVES.len() * MIN_ITEMS_PER_CATEGORY);
        for (index, spec) in LEAVES.iter().enumerate() {
            let count = ((item_count as f64 * size_weight(spec) / total_size).round() as usize)
                .max(MIN_ITEMS_PER_CATEGORY);
            let first_item = items.len();
            let brand_weights = CumulativeWeights::new(
                (1..=spec.brands.len()).map(|rank| (rank as f64).powf(-BRAND_EXPONENT)),
            );
            let normaliser: f64 =
                (1..=count).map(|rank| (rank as f64).powf(-ITEM_POPULARITY_EXPONENT)).sum();
            let traffic_share = spec.traffic / total_traffic;
            for rank in 1..=count {
                let brand_index = if rng.random_bool(UNBRANDED_SHARE) {
                    u8::MAX
                } else {
                    brand_weights.sample(&mut rng) as u8
                };
                let price = round_price(log_normal(&mut rng, spec.median_price, spec.price_sigma));
                let share = (rank as f64).powf(-ITEM_POPULARITY_EXPONENT) / normaliser;
                items.push(Item {
                    id: String::new(),
                    category: index,
                    brand: spec.brands.get(usize::from(brand_index)).copied(),
                    base_price: price,
                    popularity_rank: 0,
                    popularity: traffic_share * share,
                    brand_index,
                    cart_factor: (spec.median_price / price).powf(0.25).clamp(0.6, 1.6) as f32,
                });
            }
            categories.push(Category {
                id: category_id(spec.path),
                path: spec.path,
                traffic_share,
                median_price: spec.median_price,
                brands: spec.brands,
                first_item,
                item_count: count,
                spec,
            });
        }

        // Ids are shuffled so that neither category nor popularity can be
        // read off an item id.
        let mut ids: Vec<u64> = (0..items.len() as u64).collect();
        ids.shuffle(&mut rng);
        for (item, id) in items.iter_mut().zip(ids) {
            item.id = (FIRST_ITEM_ID + id).to_string();
        }
        let mut by_popularity: Vec<usize> = (0..items.len()).collect();
        by_popularity
            .sort_by(|&a, &b| items[b].popularity.total_cmp(&items[a].popularity).then(a.cmp(&b)));
        for (rank, index) in by_popularity.into_iter().enumerate() {
            items[index].popularity_rank = rank as u32 + 1;
        }

        let mut alias_probability = Vec::with_capacity(items.len());
        let mut alias = Vec::with_capacity(items.len());
        for category in &categories {
            let weights: Vec<f64> = (1..=category.item_count)
                .map(|rank| (rank as f64).powf(-ITEM_POPULARITY_EXPONENT))
                .collect();
            let (probability, aliases) = alias_table(&weights);
            alias_probability.extend(probability);
            alias.extend(aliases);
        }
        let category_traffic = CumulativeWeights::new(LEAVES.iter().map(|leaf| leaf.traffic));
        Catalog { categories, items, category_traffic, alias_probability, alias }
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Items grouped by category, most popular first within each.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn category_of(&self, item: &Item) -> &Category {
        &self.categories[item.category]
    }

    /// A category drawn by its traffic share.
    pub(crate) fn sample_category(&self, rng: &mut StreamRng) -> usize {
        self.category_traffic.sample(rng)
    }

    /// An item of `category`, drawn by popularity (Walker's alias method).
    #[inline]
    pub(crate) fn sample_item(&self, rng: &mut StreamRng, category: usize) -> u32 {
        let category = &self.categories[category];
        let slot = category.first_item + rng.random_range(0..category.item_count);
        let rank = if rng.random::<f32>() < self.alias_probability[slot] {
            slot - category.first_item
        } else {
            self.alias[slot] as usize
        };
        (category.first_item + rank) as u32
    }

    /// An item of `category` by the brand with index `brand` when a few
    /// popularity draws find one; otherwise any item of the category (search
    /// results mix brands).
    pub(crate) fn sample_item_of_brand(
        &self,
        rng: &mut StreamRng,
        category: usize,
        brand: u8,
    ) -> u32 {
        let mut item = self.sample_item(rng, category);
        for _ in 0..6 {
            if self.items[item as usize].brand_index == brand {
                break;
            }
            item = self.sample_item(rng, category);
        }
        item
    }
}

/// Walker/Vose alias table for `weights`: slot `i` keeps itself with
/// probability `probability[i]`, otherwise yields `alias[i]`.
fn alias_table(weights: &[f64]) -> (Vec<f32>, Vec<u32>) {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
    let mut probability = vec![1.0f32; n];
    let mut alias: Vec<u32> = (0..n as u32).collect();
    let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
    while let (Some(&less), Some(&more)) = (small.last(), large.last()) {
        small.pop();
        probability[less] = scaled[less] as f32;
        alias[less] = more as u32;
        scaled[more] -= 1.0 - scaled[less];
        if scaled[more] < 1.0 {
            large.pop();
            small.push(more);
        }
    }
    // Whatever is left is 1 up to rounding and keeps itself.
    (probability, alias)
}

/// Shop-style prices: `x.99` above 20 dollars, `x.49`/`x.99` below.
fn round_price(raw: f64) -> f64 {
    let price =
        if raw >= 20.0 { raw.round() - 0.01 } else { ((raw * 2.0).round() / 2.0).max(1.0) - 0.01 };
    (price * 100.0).round() / 100.0
}

/// A 19-digit id in the style of the REES46 dataset, derived from the path
/// (FNV-1a) so that it is the same for every seed.
fn category_id(path: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (2_053_013_550_000_000_000u64 + hash % 10_000_000_000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn alias_table_reproduces_the_weights() {
        let weights = [5.0, 1.0, 0.0, 2.0];
        let (probability, alias) = alias_table(&weights);
        let mut implied = [0.0f64; 4];
        for slot in 0..weights.len() {
            implied[slot] += f64::from(probability[slot]) / 4.0;
            implied[alias[slot] as usize] += (1.0 - f64::from(probability[slot])) / 4.0;
        }
        for (got, weight) in implied.iter().zip(weights) {
            assert!((got - weight / 8.0).abs() < 1e-6, "{implied:?}");
        }
    }

    #[test]
    fn sampled_items_follow_zipf_within_a_category() {
        let catalog = Catalog::build(5, 5_000);
        let mut rng = stream(1, domain::DAY, 0, 0);
        let category = &catalog.categories()[0];
        let mut counts = vec![0u32; category.item_count];
        let draws = 200_000;
        for _ in 0..draws {
            let item = catalog.sample_item(&mut rng, 0) as usize;
            counts[item - category.first_item] += 1;
        }
        let expected_top = catalog.items()[category.first_item].popularity / category.traffic_share;
        let got_top = f64::from(counts[0]) / f64::from(draws);
        assert!((got_top - expected_top).abs() < 0.01, "{got_top} vs {expected_top}");
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
    }

    #[test]
    fn prices_look_like_shop_prices() {
        assert_eq!(round_price(449.6), 449.99);
        assert_eq!(round_price(12.3), 12.49);
        assert_eq!(round_price(0.2), 0.99);
    }

    #[test]
    fn ids_are_unique_and_ranks_are_a_permutation() {
        let catalog = Catalog::build(3, 2_000);
        let ids: BTreeSet<_> = catalog.items().iter().map(|item| &item.id).collect();
        assert_eq!(ids.len(), catalog.items().len());
        let ranks: BTreeSet<_> = catalog.items().iter().map(|item| item.popularity_rank).collect();
        assert_eq!(ranks.len(), catalog.items().len());
        assert_eq!(*ranks.iter().next().unwrap(), 1);
        let category_ids: BTreeSet<_> =
            catalog.categories().iter().map(|category| &category.id).collect();
        assert_eq!(category_ids.len(), catalog.categories().len());
        let total: f64 = catalog.items().iter().map(|item| item.popularity).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    #[test]
    fn category_medians_show_in_prices() {
        let catalog = Catalog::build(3, 20_000);
        let median = |path: &str| {
            let category = catalog.categories().iter().find(|c| c.path == path).unwrap();
            let mut prices: Vec<f64> = catalog.items()
                [category.first_item..category.first_item + category.item_count]
                .iter()
                .map(|item| item.base_price)
                .collect();
            prices.sort_by(f64::total_cmp);
            prices[prices.len() / 2]
        };
        assert!((250.0..700.0).contains(&median("electronics.smartphone")));
        assert!((10.0..40.0).contains(&median("beauty.skincare")));
    }
}
