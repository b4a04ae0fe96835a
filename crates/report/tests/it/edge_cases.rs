//! Degenerate input: every chart must render, without panicking, as markup
//! that nests properly and holds no `NaN` or `inf`.

use report::{
    BarChart, FunnelChart, Heatmap, LineChart, Report, Sankey, SankeyLink, SankeyNode, Scatter,
    Series, ValueFormat,
};

use crate::{assert_well_formed, count};

const WEIRD: [f64; 6] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -f64::MAX, 1e-310];

fn check(fill: impl FnOnce(&mut report::Section)) {
    let mut report = Report::new("Edge cases");
    fill(report.section("Edge"));
    let html = report.to_html();
    assert_well_formed(&html);
    assert_eq!(count(&html, "<section"), 1);
}

fn labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("label {i}")).collect()
}

#[test]
fn bar_charts() {
    let no_labels: [&str; 0] = [];
    let cases = [
        BarChart::new("empty", no_labels, []),
        BarChart::with_series("no series", ["a"], vec![]),
        BarChart::new("zeros", ["a", "b"], [0.0, 0.0]),
        BarChart::new("one", ["a"], [3.0]),
        BarChart::new("negative", ["a", "b"], [-3.0, -0.5]),
        BarChart::new("weird", labels(6), WEIRD),
        BarChart::new("more values than labels", ["a"], [1.0, 2.0, 3.0]),
        BarChart::with_series(
            "ragged",
            ["a", "b", "c"],
            vec![Series::new("x", [1.0]), Series::new("y", WEIRD)],
        ),
        BarChart::with_series("huge stack", ["a"], vec![Series::new("x", [f64::MAX]); 5]),
        BarChart::new("many", labels(2000), vec![1.0; 2000]),
    ];
    for chart in cases {
        for horizontal in [false, true] {
            for stacked in [false, true] {
                let chart = BarChart { horizontal, stacked, ..chart.clone() };
                check(|section| {
                    section.bar_chart(chart);
                });
            }
        }
    }
}

#[test]
fn empty_charts_say_so() {
    let no_labels: [&str; 0] = [];
    check(|section| {
        section
            .bar_chart(BarChart::new("", no_labels, []))
            .line_chart(LineChart::new("", no_labels, vec![]))
            .funnel_chart(FunnelChart::new("", Vec::<(String, f64)>::new()))
            .heatmap(Heatmap::new("", no_labels, no_labels, vec![], ValueFormat::Integer))
            .scatter(Scatter::new("", vec![], no_labels));
    });
    let mut report = Report::new("r");
    report.section("s").line_chart(LineChart::new("", no_labels, vec![]));
    let html = report.to_html();
    assert!(html.contains(">No data</text>"));
    assert!(html.contains("aria-label=\"Line chart\""), "untitled charts still have a name");
}

#[test]
fn line_charts() {
    let cases = [
        LineChart::new("labels only", labels(3), vec![]),
        LineChart::new("single point", ["a"], vec![Series::new("s", [5.0])]),
        LineChart::new("zeros", labels(4), vec![Series::new("s", [0.0; 4])]),
        LineChart::new("constant", labels(4), vec![Series::new("s", [7.0; 4])]),
        LineChart::new("all missing", labels(3), vec![Series::new("s", [f64::NAN; 3])]),
        LineChart::new("weird", labels(6), vec![Series::new("s", WEIRD)]),
        LineChart::new("negative", labels(3), vec![Series::new("s", [-5.0, -4.0, -6.0])]),
        LineChart::new("no labels", Vec::<String>::new(), vec![Series::new("s", [1.0, 2.0])]),
        LineChart::new(
            "long labels",
            vec!["x".repeat(300); 3],
            vec![Series::new("s", [1.0, 2.0, 3.0])],
        ),
    ];
    for chart in cases {
        check(|section| {
            section.line_chart(chart);
        });
    }
}

#[test]
fn funnel_charts() {
    let cases = [
        FunnelChart::new("one step", [("only", 5.0)]),
        FunnelChart::new("zeros", [("a", 0.0), ("b", 0.0)]),
        FunnelChart::new("growing", [("a", 1.0), ("b", 10.0)]),
        FunnelChart::new("negative", [("a", -5.0), ("b", 3.0)]),
        FunnelChart::new("weird", WEIRD.map(|v| ("step", v))),
        FunnelChart::new("long", [("y".repeat(500), 5.0), (String::new(), 1.0)]),
    ];
    for chart in cases {
        check(|section| {
            section.funnel_chart(chart);
        });
    }
}

#[test]
fn heatmaps() {
    let weird = vec![WEIRD.map(Some).to_vec()];
    let cases = [
        Heatmap::new(
            "all none",
            labels(2),
            labels(2),
            vec![vec![None, None]; 2],
            ValueFormat::Percent,
        ),
        Heatmap::new("single", ["r"], ["c"], vec![vec![Some(3.0)]], ValueFormat::Decimal(2)),
        Heatmap::new(
            "constant",
            labels(2),
            labels(2),
            vec![vec![Some(1.0); 2]; 2],
            ValueFormat::Integer,
        ),
        Heatmap::new("weird", ["r"], labels(6), weird, ValueFormat::Percent),
        Heatmap::new(
            "ragged",
            labels(1),
            labels(3),
            vec![vec![Some(1.0)], vec![Some(2.0); 5]],
            ValueFormat::Integer,
        ),
        Heatmap::new("wide", ["r"], labels(500), vec![vec![Some(1.0); 500]], ValueFormat::Integer),
        Heatmap::new(
            "long labels",
            ["r".repeat(200)],
            ["c".repeat(200)],
            vec![vec![Some(1.0)]],
            ValueFormat::Integer,
        ),
    ];
    for chart in cases {
        check(|section| {
            section.heatmap(chart);
        });
    }
}

#[test]
fn scatter_plots() {
    let no_groups: [&str; 0] = [];
    let cases = [
        Scatter::new("single", vec![(1.0, 1.0, 0)], ["g"]),
        Scatter::new("identical", vec![(2.0, 2.0, 0); 10], ["g"]),
        Scatter::new("weird", WEIRD.iter().map(|&v| (v, v, 0)).collect(), ["g"]),
        Scatter::new("no groups", vec![(0.0, 1.0, 3), (1.0, 0.0, 7)], no_groups),
        Scatter::new(
            "many",
            (0..5000).map(|i| (f64::from(i), f64::from(i % 13), i as usize % 11)).collect(),
            labels(11),
        ),
    ];
    for chart in cases {
        check(|section| {
            section.scatter(chart);
        });
    }
}

#[test]
fn sankeys() {
    let node = |column: usize, label: &str| SankeyNode { column, label: label.into() };
    let link = |source: usize, target: usize, value: f64| SankeyLink { source, target, value };
    let two = || vec![node(0, "a"), node(1, "b")];
    let mut cases = vec![
        Sankey::new("empty", vec![], vec![]),
        Sankey::new("no links", two(), vec![]),
        Sankey::new("one column", vec![node(0, "a"), node(0, "b")], vec![link(0, 1, 5.0)]),
        Sankey::new("backwards", two(), vec![link(1, 0, 5.0)]),
        Sankey::new("out of range", two(), vec![link(0, 7, 5.0), link(9, 1, 1.0)]),
        Sankey::new("to itself", two(), vec![link(0, 0, 5.0)]),
        Sankey::new("huge", two(), vec![link(0, 1, f64::MAX), link(0, 1, f64::MAX)]),
        Sankey::new(
            "tiny next to huge",
            vec![node(0, "a"), node(1, "b"), node(1, "c")],
            vec![link(0, 1, 1e12), link(0, 2, 1e-9)],
        ),
        Sankey::new("skips a column", vec![node(0, "a"), node(3, "b")], vec![link(0, 1, 2.0)]),
        Sankey::new(
            "many",
            (0..400).map(|i| node(i % 2, &format!("n{i}"))).collect(),
            (0..200).map(|i| link(2 * i, 2 * i + 1, 1.0)).collect(),
        ),
    ];
    cases.extend(WEIRD.iter().map(|&value| Sankey::new("weird", two(), vec![link(0, 1, value)])));
    cases.push(Sankey::new("negative", two(), vec![link(0, 1, -3.0)]));
    for chart in cases {
        check(|section| {
            section.sankey(chart);
        });
    }
}
