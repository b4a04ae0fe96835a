use models::{FamilyChoice, ModelFamily, Node, TrainConfig, Tree, train};

use crate::synthetic;

fn split(feature: usize, threshold: f64, left: usize, right: usize, cover: f64) -> Node {
    Node { feature, threshold, left, right, value: 0.0, cover }
}

fn leaf(value: f64, cover: f64) -> Node {
    Node { feature: 0, threshold: 0.0, left: 0, right: 0, value, cover }
}

/// Feature 0 is split on twice along one path, to exercise TreeSHAP's unwinding.
fn small_tree() -> Tree {
    Tree {
        nodes: vec![
            split(0, 0.5, 1, 2, 100.0),
            split(1, 0.3, 3, 4, 60.0),
            split(2, 0.7, 5, 6, 40.0),
            split(0, 0.2, 7, 8, 25.0),
            leaf(4.0, 35.0),
            leaf(-1.0, 10.0),
            leaf(2.5, 30.0),
            leaf(1.0, 5.0),
            leaf(-3.0, 20.0),
        ],
    }
}

/// E[f(x) | x_S] with the tree's covers standing in for the data (the
/// expectation TreeSHAP's path-dependent algorithm uses).
fn conditional_expectation(tree: &Tree, x: &[f64], known: u32, node: usize) -> f64 {
    let n = &tree.nodes[node];
    if n.is_leaf() {
        return n.value;
    }
    if known & (1 << n.feature) != 0 {
        let next = if x[n.feature] <= n.threshold { n.left } else { n.right };
        return conditional_expectation(tree, x, known, next);
    }
    let (l, r) = (&tree.nodes[n.left], &tree.nodes[n.right]);
    (l.cover * conditional_expectation(tree, x, known, n.left)
        + r.cover * conditional_expectation(tree, x, known, n.right))
        / n.cover
}

fn factorial(n: u32) -> f64 {
    (1..=n).map(f64::from).product()
}

/// Shapley values by enumerating every subset of the other features.
fn brute_force_shapley(tree: &Tree, x: &[f64]) -> Vec<f64> {
    let m = x.len() as u32;
    (0..m)
        .map(|i| {
            let mut phi = 0.0;
            for subset in 0..(1u32 << m) {
                if subset & (1 << i) != 0 {
                    continue;
                }
                let s = subset.count_ones();
                let weight = factorial(s) * factorial(m - s - 1) / factorial(m);
                phi += weight
                    * (conditional_expectation(tree, x, subset | (1 << i), 0)
                        - conditional_expectation(tree, x, subset, 0));
            }
            phi
        })
        .collect()
}

#[test]
fn tree_shap_matches_brute_force_shapley_values() {
    let tree = small_tree();
    let points: [[f64; 3]; 6] = [
        [0.1, 0.1, 0.1],
        [0.3, 0.1, 0.9],
        [0.3, 0.9, 0.9],
        [0.9, 0.1, 0.1],
        [0.9, 0.9, 0.9],
        [0.5, 0.3, 0.7],
    ];
    for x in points {
        let mut phi = vec![0.0; 3];
        tree.shap_values(&x, &mut phi);
        let expected = brute_force_shapley(&tree, &x);
        for (a, e) in phi.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-9, "x {x:?}: TreeSHAP {phi:?} vs brute force {expected:?}");
        }
        let total: f64 = phi.iter().sum();
        assert!((total - (tree.predict(&x) - tree.expected_value())).abs() < 1e-9);
    }
}

#[test]
fn contributions_add_up_to_the_prediction() {
    let data = synthetic(500, 21, |a, b, c| a > 0.5 && (b > 0.3 || c == "red"));
    for family in [ModelFamily::Gbdt, ModelFamily::Tree, ModelFamily::Logistic] {
        let config =
            TrainConfig { family: FamilyChoice::Only(family), folds: 3, ..TrainConfig::default() };
        let model = train(&data, &config).unwrap();
        for row in [0, 7, 99] {
            let explanation = model.explain_row(&data, row).unwrap();
            let total: f64 = explanation.contributions.iter().map(|c| c.contribution).sum();
            assert!(
                (explanation.base + total - explanation.output).abs() < 1e-9,
                "{family} row {row}: {} + {total} != {}",
                explanation.base,
                explanation.output
            );
            let score = model.predict_proba(&data.subset(&[row])).unwrap()[0];
            assert_eq!(explanation.score, score);
        }
    }
}
