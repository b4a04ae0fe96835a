//! Each real sample imports with the counts its PROVENANCE.md states.

use crate::{data, import, import_with};
use ingest::{CategoryTree, ItemCategories, ParseOptions};
use std::sync::Arc;

#[test]
fn rees46_sample() {
    let got = import(data("rees46_multicat_sample/2019-Oct-sample.csv"));
    assert_eq!(got.summary.files[0].format, "rees46");
    assert_eq!((got.summary.read, got.summary.imported, got.summary.quarantined), (1000, 1000, 0));
    assert_eq!((got.count("view"), got.count("add_to_cart"), got.count("purchase")), (987, 3, 10));
    assert_eq!(got.distinct("user_id"), 330);
    assert_eq!(got.distinct("session_id"), 372);
    assert_eq!(got.distinct("item_id"), 534);
    assert_eq!(got.summary.sessions_derived, 0, "source sessions are kept");
    assert_eq!(got.summary.first_date.as_deref(), Some("2019-10-01"));
}

#[test]
fn taobao_sample() {
    let got = import(data("taobao_userbehavior_sample/UserBehavior.csv"));
    assert_eq!(got.summary.files[0].format, "taobao");
    assert_eq!((got.summary.read, got.summary.imported), (4321, 4321));
    assert_eq!(
        (got.count("view"), got.count("add_to_cart"), got.count("favorite"), got.count("purchase")),
        (3926, 190, 128, 77)
    );
    assert_eq!(got.distinct("user_id"), 43);
    assert_eq!(got.distinct("item_id"), 3276);
    assert_eq!(got.distinct("category_id"), 567);
    // The one out-of-range row (2017-09-11) is kept: it is a valid time.
    assert_eq!(got.summary.first_date.as_deref(), Some("2017-09-11"));
}

#[test]
fn cdnow_transactions() {
    let got = import(data("cdnow/CDNOW_master.txt"));
    assert_eq!(got.summary.files[0].format, "cdnow");
    assert_eq!(got.summary.read, 69_659);
    // PROVENANCE.md: 255 rows are exact duplicates of another row.
    assert_eq!(got.summary.duplicates_in_import, 255);
    assert_eq!(got.summary.imported, 69_659 - 255);
    assert_eq!(got.distinct("user_id"), 23_570);
    assert_eq!(got.summary.first_date.as_deref(), Some("1997-01-01"));
    assert_eq!(got.summary.last_date.as_deref(), Some("1998-06-30"));
}

#[test]
fn online_retail_invoices() {
    let got = import(data("online_retail_sample/online_retail_sample_40k.csv"));
    assert_eq!(got.summary.files[0].format, "online-retail");
    assert_eq!(got.summary.read, 40_000);
    // PROVENANCE.md: CustomerID is empty on 10,057 rows; those cannot be attributed to a user.
    assert_eq!(got.summary.quarantined_by_reason.get("missing_user_id"), Some(&10_057));
    assert_eq!(got.summary.quarantined, 10_057);
    assert_eq!(got.distinct("user_id"), 3_621);
    // Of the 674 cancellation lines, 648 name a customer; they become refunds.
    assert_eq!(got.count("refund"), 648);
    assert_eq!(got.count("purchase") + got.count("refund"), got.summary.imported);
    // PROVENANCE.md: 28 rows are exact duplicates (all of them with a customer).
    assert_eq!(got.summary.duplicates_in_import, 28);
}

#[test]
fn yoochoose_clicks() {
    let got = import(data("yoochoose_100k/yoochoose-clicks-100k_train_full.txt"));
    assert_eq!(got.summary.files[0].format, "yoochoose");
    assert_eq!(got.summary.read, 70_278);
    // PROVENANCE.md: one exact duplicate row (session 29242).
    assert_eq!(got.summary.duplicates_in_import, 1);
    assert_eq!(got.distinct("session_id"), 17_794);
    assert_eq!(got.distinct("item_id"), 2_933);
}

#[test]
fn retailrocket_category_tree_depths() {
    let tree = CategoryTree::from_csv(&data("retailrocket/category_tree.csv")).unwrap();
    assert_eq!(tree.len(), 1_669);
    let mut depths = [0usize; 6];
    for id in 0..1700 {
        if let Some(depth) = tree.depth(&id.to_string()) {
            depths[depth] += 1;
        }
    }
    assert_eq!(depths, [25, 174, 702, 665, 90, 13]);
}

#[test]
fn retailrocket_events_with_categories() {
    let tree = CategoryTree::from_csv(&data("retailrocket/category_tree.csv")).unwrap();
    let items =
        ItemCategories::from_csv(&data("synthetic/retailrocket_item_categories.csv"), &tree)
            .unwrap();
    assert_eq!(items.len(), 3);
    let got = import_with(&[data("synthetic/retailrocket_events.csv")], |options| {
        options.parse =
            ParseOptions { item_categories: Some(Arc::new(items)), ..ParseOptions::default() };
    });
    assert_eq!(got.summary.files[0].format, "retailrocket");
    assert_eq!((got.count("view"), got.count("add_to_cart"), got.count("purchase")), (6, 2, 2));
    assert_eq!(got.distinct("order_id"), 2);
    assert_eq!(got.distinct("category_id"), 3);
    assert!(got.distinct("category") == 3);
    // Visitor 257597 viewed, carted and bought within minutes: one derived session.
    assert_eq!(got.distinct("session_id"), 6);
}

#[test]
fn diginetica_views() {
    let got = import(data("synthetic/diginetica_train_item_views.csv"));
    assert_eq!(got.summary.files[0].format, "diginetica");
    assert_eq!(got.summary.imported, 9);
    assert_eq!(got.distinct("session_id"), 4);
    // Anonymous sessions get a session-scoped user id.
    assert_eq!(got.distinct("user_id"), 4);
}
