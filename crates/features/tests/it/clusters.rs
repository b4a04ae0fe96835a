//! Clustered segments on a hand-made shop of two kinds of users and an outlier.

use features::{ClusterMethod, ClusterSpace, FeatureOptions, KChoice, cluster_users};

use crate::{session_with, utc};

/// Five buyers (`b1`…`b5`: four visits, each a view, a cart and an order of
/// 100, all alike), seven browsers (`w1`…`w7`: one visit of two cheap views,
/// all alike) and `x`, who browses at night and spends 5,000
/// at once. Every visit is on a weekday (2024-01-01 is a Monday), so the
/// weekend share splits nobody off.
fn shop() -> String {
    const WEEKDAYS: [u32; 7] = [1, 2, 3, 4, 5, 8, 9];
    // Buyers come on the 1st, 3rd, 5th and 9th.
    let mut lines = Vec::new();
    for user in 1..=5 {
        for visit in 0..4 {
            let day = WEEKDAYS[visit * 2];
            let session = format!("b{user}v{visit}");
            for (minute, event) in ["view", "add_to_cart", "purchase"].iter().enumerate() {
                lines.push(format!(
                    "2024-01-{day:02}T12:0{minute} b{user} {session} {event} item=i1 price=100 order={session}"
                ));
            }
        }
    }
    for user in 1..=7 {
        for minute in 0..2 {
            lines.push(format!("2024-01-03T15:0{minute} w{user} s{user} view item=i2 price=20"));
        }
    }
    lines.push("2024-01-05T02:00 x sx view item=i3 price=5000".into());
    lines.push("2024-01-05T02:05 x sx purchase item=i3 price=5000 order=x1".into());
    lines.join("\n")
}

async fn space() -> ClusterSpace {
    let table =
        features::build(&session_with(&shop()), utc("2024-01-15"), &FeatureOptions::default())
            .await
            .unwrap();
    ClusterSpace::of(&table).unwrap()
}

/// `user segment` lines, in user order.
fn by_user(labels: &[String]) -> Vec<String> {
    let users = ["b1", "b2", "b3", "b4", "b5", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "x"];
    users.iter().zip(labels).map(|(user, label)| format!("{user} {label}")).collect()
}

#[tokio::test]
async fn kmeans_separates_buyers_from_browsers_and_describes_them() {
    let space = space().await;
    assert_eq!(space.words.len(), 14, "no categories, so no share columns");
    let method = ClusterMethod::KMeans { k: KChoice::BySilhouette(2..=4), restarts: 4, seed: 1 };
    let clustering = cluster_users(&space, &method).unwrap();
    let tried: Vec<usize> = clustering.summary.candidates.iter().map(|c| c.k).collect();
    assert_eq!(tried, [2, 3, 4]);
    // Buyers, browsers and x: each group is alike, so three clusters fit best.
    assert_eq!(clustering.summary.clusters, 3, "{:?}", clustering.summary);
    let labels = by_user(&clustering.labels);
    let cluster_of = |user: &str| labels.iter().find(|l| l.starts_with(user)).unwrap().clone();
    // The seven browsers are the largest cluster; the buyers share another.
    for user in ["w1", "w2", "w3", "w4", "w5", "w6", "w7"] {
        assert_eq!(cluster_of(user), format!("{user} cluster 1"), "{labels:?}");
    }
    let buyers: Vec<String> =
        ["b1", "b2", "b3", "b4", "b5"].iter().map(|u| cluster_of(u)[3..].to_string()).collect();
    assert!(buyers.iter().all(|c| *c == buyers[0] && c != "cluster 1"), "{labels:?}");
    assert!(clustering.summary.silhouette.unwrap() > 0.4, "{:?}", clustering.summary);

    let descriptions = space.describe(&clustering.labels).unwrap();
    let browsers = &descriptions["cluster 1"].text;
    assert!(browsers.contains("non-buying") && browsers.ends_with("54% of users"), "{browsers}");
    let buyers = &descriptions[&buyers[0]].text;
    assert!(buyers.contains("frequent-buying") || buyers.contains("often visiting"), "{buyers}");
}

#[tokio::test]
async fn dbscan_leaves_the_outlier_as_noise() {
    let space = space().await;
    let method = ClusterMethod::Dbscan { eps: None, min_points: 3, max_fitted_users: 100 };
    let clustering = cluster_users(&space, &method).unwrap();
    let labels = by_user(&clustering.labels);
    assert_eq!(labels.last().unwrap(), "x noise", "{labels:?}");
    assert_eq!(clustering.summary.noise, 1, "{:?}", clustering.summary);
    assert!(clustering.summary.eps_from_knee);

    // Fitting on every other user and assigning the rest gives the same clusters.
    let sampled =
        ClusterMethod::Dbscan { eps: clustering.summary.eps, min_points: 3, max_fitted_users: 7 };
    assert_eq!(cluster_users(&space, &sampled).unwrap().labels, clustering.labels);
}

#[tokio::test]
async fn settings_the_data_cannot_support_are_refused() {
    let space = space().await;
    let cases = [
        (
            ClusterMethod::KMeans { k: KChoice::BySilhouette(2..=20), restarts: 1, seed: 1 },
            "end below the 13 users",
        ),
        (
            ClusterMethod::KMeans { k: KChoice::Fixed(14), restarts: 1, seed: 1 },
            "between 1 and the 13 users",
        ),
        (
            ClusterMethod::Dbscan { eps: None, min_points: 1, max_fitted_users: 100 },
            "min-points must be between 2 and 12",
        ),
    ];
    for (method, message) in cases {
        let error = cluster_users(&space, &method).unwrap_err().to_string();
        assert!(error.contains(message), "{method:?}: {error}");
    }
}
