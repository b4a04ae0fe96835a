//! The feature table on a hand-computed shop: values, null rules, and no leakage.

use features::{FEATURES, FeatureKind, FeatureOptions, FeatureTable, build};

use crate::{assert_lines, session_with, utc};

/// 2024-01-01 is a Monday. Item i1's prices are 100 (four events) and 90 (one
/// purchase), so its median is 100; i2 is 300 and i3 20, each the only item of
/// its category. User c is a bot.
const SHOP: &str = "
    2024-01-01T10:00 a s1 view item=i1 category=electronics.phone brand=acme price=100 device=mobile channel=email
    2024-01-01T10:01 a s1 view item=i2 category=electronics.tv brand=zeta price=300 device=mobile channel=email
    2024-01-01T10:03 a s1 add_to_cart item=i1 category=electronics.phone brand=acme price=100 device=mobile channel=email
    2024-01-01T10:04 a s1 purchase item=i1 category=electronics.phone brand=acme price=90 order=o1 device=mobile channel=email
    2024-01-02T02:00 a s2 search device=desktop channel=direct
    2024-01-02T02:02 a s2 view item=i3 category=home.lamp brand=acme price=20 device=desktop channel=direct
    2024-01-05T00:00 a s9 refund item=i1 category=electronics.phone price=90 order=o1
    2024-01-06T12:00 a s3 review item=i1 category=electronics.phone rating=4 device=mobile channel=email
    2024-01-03T20:00 b s4 view item=i1 category=electronics.phone brand=acme price=100 device=desktop channel=organic
    2024-01-03T20:10 b s4 add_to_cart item=i1 category=electronics.phone brand=acme price=100 device=desktop channel=organic
    2024-01-07T23:00 c s6 view item=i2 category=electronics.tv brand=zeta price=300 bot
";

/// Events at and after 2024-01-08: a new user, a cheap sale of i1, more of a's
/// activity. None of it may change the table as of 2024-01-08.
const LATER: &str = "
    2024-01-08T00:00 d s7 purchase item=i1 category=electronics.phone brand=acme price=10 order=o2
    2024-01-08T00:00 a s8 view item=i3 category=home.lamp brand=acme price=5
    2024-01-09T03:00 a s8 purchase item=i2 category=electronics.tv brand=zeta price=300 order=o3
    2024-02-01T12:00 b s10 search
";

async fn table(events: &str, options: FeatureOptions) -> FeatureTable {
    build(&session_with(events), utc("2024-01-08"), &options).await.unwrap()
}

/// One line per user: `USER name=value …` for the named features, numbers
/// with two decimals, `-` for null.
fn render(table: &FeatureTable, names: &[&str]) -> Vec<String> {
    let users = table.user_ids().unwrap();
    let mut lines = vec![String::new(); users.len()];
    for (line, user) in lines.iter_mut().zip(&users) {
        line.push_str(user);
    }
    for name in names {
        let kind = features::feature_def(name).map_or(FeatureKind::Real, |f| f.kind);
        let cells: Vec<String> = match kind {
            FeatureKind::Categorical => table
                .categorical(name)
                .unwrap()
                .into_iter()
                .map(|v| v.unwrap_or("-".into()))
                .collect(),
            FeatureKind::Integer => table
                .numeric(name)
                .unwrap()
                .into_iter()
                .map(|v| v.map_or("-".into(), |v| format!("{v:.0}")))
                .collect(),
            FeatureKind::Real => table
                .numeric(name)
                .unwrap()
                .into_iter()
                .map(|v| v.map_or("-".into(), |v| format!("{v:.2}")))
                .collect(),
        };
        for (line, cell) in lines.iter_mut().zip(cells) {
            line.push_str(&format!(" {name}={cell}"));
        }
    }
    lines
}

async fn check(names: &[&str], expected: &[&str]) {
    assert_lines(&render(&table(SHOP, FeatureOptions::default()).await, names), expected);
}

#[tokio::test]
async fn counts_sessions_and_times() {
    // a's sessions without the refund: s1 (4 events, 240 s), s2 (2, 120 s), s3
    // (1, 0 s): 360 s over 7 − 3 gaps is 90 s of dwell time.
    check(
        &[
            "events",
            "views",
            "searches",
            "add_to_carts",
            "purchases",
            "refunds",
            "reviews",
            "sessions",
            "mean_session_seconds",
            "mean_events_per_session",
            "mean_dwell_seconds",
            "days_active",
            "tenure_days",
            "recency_days",
            "days_since_last_purchase",
        ],
        &[
            "a events=8 views=3 searches=1 add_to_carts=1 purchases=1 refunds=1 reviews=1 sessions=3 mean_session_seconds=120.00 mean_events_per_session=2.33 mean_dwell_seconds=90.00 days_active=4 tenure_days=6.58 recency_days=1.50 days_since_last_purchase=6.58",
            "b events=2 views=1 searches=0 add_to_carts=1 purchases=0 refunds=0 reviews=0 sessions=1 mean_session_seconds=600.00 mean_events_per_session=2.00 mean_dwell_seconds=600.00 days_active=1 tenure_days=4.17 recency_days=4.16 days_since_last_purchase=-",
        ],
    )
    .await;
}

#[tokio::test]
async fn money_and_funnel_rates() {
    // a's order of 90 was refunded: monetary 0, but the order's value is 90.
    check(
        &[
            "orders",
            "monetary",
            "average_order_value",
            "rfm_r",
            "rfm_segment",
            "cart_sessions",
            "cart_abandonment_rate",
            "view_to_purchase_rate",
            "refund_rate",
            "searches_per_session",
            "mean_rating",
            "review_sentiment",
        ],
        &[
            "a orders=1 monetary=0.00 average_order_value=90.00 rfm_r=1 rfm_segment=Lost cart_sessions=1 cart_abandonment_rate=0.00 view_to_purchase_rate=0.33 refund_rate=1.00 searches_per_session=0.33 mean_rating=4.00 review_sentiment=-",
            "b orders=0 monetary=0.00 average_order_value=- rfm_r=- rfm_segment=- cart_sessions=1 cart_abandonment_rate=1.00 view_to_purchase_rate=0.00 refund_rate=- searches_per_session=0.00 mean_rating=- review_sentiment=-",
        ],
    )
    .await;
}

#[tokio::test]
async fn purchase_span_and_order_gaps() {
    // e orders on the 1st, the 2nd and the 5th (two lines of one order): 4
    // days over 2 gaps. f has one order, so no gap; g never buys.
    const ORDERS: &str = "
        2024-01-01T12:00 e s1 purchase item=i1 price=10 order=e1
        2024-01-02T12:00 e s2 purchase item=i1 price=10 order=e2
        2024-01-05T12:00 e s3 purchase item=i1 price=10 order=e3
        2024-01-05T12:00 e s3 purchase item=i2 price=20 order=e3
        2024-01-03T12:00 f s4 purchase item=i1 price=10 order=f1
        2024-01-03T12:00 g s5 view item=i1 price=10
    ";
    let table = table(ORDERS, FeatureOptions::default()).await;
    assert_lines(
        &render(
            &table,
            &[
                "orders",
                "days_since_first_purchase",
                "days_since_last_purchase",
                "mean_days_between_orders",
            ],
        ),
        &[
            "e orders=3 days_since_first_purchase=6.50 days_since_last_purchase=2.50 mean_days_between_orders=2.00",
            "f orders=1 days_since_first_purchase=4.50 days_since_last_purchase=4.50 mean_days_between_orders=-",
            "g orders=0 days_since_first_purchase=- days_since_last_purchase=- mean_days_between_orders=-",
        ],
    );
}

#[tokio::test]
async fn preferences_prices_and_rhythm() {
    // a's item interactions: electronics 4, home 1 (entropy 0.72 bits); brands
    // acme 4, zeta 1 (HHI 0.64 + 0.04). Hours 10 ×4, 2 ×2, 0 and 12: night 3 of
    // 8; the review is on a Saturday.
    check(
        &[
            "top_category",
            "top_category_share",
            "categories",
            "category_entropy",
            "category_share_electronics",
            "category_share_home",
            "brands",
            "top_brand_share",
            "brand_hhi",
            "price_level_viewed",
            "price_level_purchased",
            "discount_purchase_share",
            "night_share",
            "weekend_share",
            "modal_hour",
            "modal_device",
            "mobile_share",
            "modal_channel",
        ],
        &[
            "a top_category=electronics top_category_share=0.80 categories=2 category_entropy=0.72 category_share_electronics=0.80 category_share_home=0.20 brands=2 top_brand_share=0.80 brand_hhi=0.68 price_level_viewed=1.00 price_level_purchased=0.90 discount_purchase_share=1.00 night_share=0.38 weekend_share=0.12 modal_hour=10 modal_device=mobile mobile_share=0.71 modal_channel=email",
            "b top_category=electronics top_category_share=1.00 categories=1 category_entropy=0.00 category_share_electronics=1.00 category_share_home=0.00 brands=1 top_brand_share=1.00 brand_hhi=1.00 price_level_viewed=1.00 price_level_purchased=- discount_purchase_share=- night_share=0.00 weekend_share=0.00 modal_hour=20 modal_device=desktop mobile_share=0.00 modal_channel=organic",
        ],
    )
    .await;
}

#[tokio::test]
async fn events_at_or_after_as_of_change_nothing() {
    let before = table(SHOP, FeatureOptions::default()).await;
    let with_later = table(&format!("{SHOP}{LATER}"), FeatureOptions::default()).await;
    assert_eq!(before.batch, with_later.batch);
    assert_eq!(before.user_ids().unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn columns_follow_the_catalogue() {
    let table = table(SHOP, FeatureOptions::default()).await;
    let mut expected: Vec<String> = Vec::new();
    for feature in FEATURES {
        expected.push(feature.name.to_string());
        if feature.name == "category_entropy" {
            expected.extend(["category_share_electronics".into(), "category_share_home".into()]);
        }
    }
    assert_eq!(table.feature_names(), expected);
    assert_eq!(table.share_categories, ["electronics", "home"]);
    for field in table.batch.schema().fields().iter().skip(1) {
        let data_type = features::feature_def(field.name())
            .map_or(FeatureKind::Real.data_type(), |feature| feature.kind.data_type());
        assert_eq!(field.data_type(), &data_type, "{}", field.name());
    }
}

#[tokio::test]
async fn bots_count_only_when_asked() {
    let options = FeatureOptions { include_bots: true, category_share_columns: 1 };
    let table = table(SHOP, options).await;
    assert_eq!(table.user_ids().unwrap(), ["a", "b", "c"]);
    assert_eq!(table.share_categories, ["electronics"]);
}

#[test]
fn every_feature_is_documented() {
    let docs = include_str!("../../../../docs/features.md");
    for feature in FEATURES {
        assert!(
            docs.contains(&format!("`{}`", feature.name)),
            "docs/features.md lacks {}",
            feature.name
        );
    }
    assert!(docs.contains(features::CATEGORY_SHARE_PREFIX));
}

#[tokio::test]
async fn the_parquet_file_holds_the_table() {
    let table = table(SHOP, FeatureOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.parquet");
    table.write_parquet(&path).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 1024).unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches, [table.batch]);
}
