//! Each chart kind draws the expected marks, with titles for screen readers.

use report::{
    BarChart, FunnelChart, Heatmap, LineChart, Sankey, SankeyLink, SankeyNode, Scatter, Series,
    ValueFormat,
};

use crate::{assert_well_formed, attribute, count, elements_with_class, render_section};

fn weekdays() -> [&'static str; 4] {
    ["Mon", "Tue", "Wed", "Thu"]
}

fn three_series() -> Vec<Series> {
    vec![
        Series::new("Organic", [10.0, 20.0, 30.0, 40.0]),
        Series::new("Paid", [5.0, 5.0, 5.0, 5.0]),
        Series::new("Email", [1.0, 2.0, 3.0, 4.0]),
    ]
}

fn bar(chart: BarChart) -> String {
    let html = render_section(|section| {
        section.bar_chart(chart);
    });
    assert_well_formed(&html);
    html
}

#[test]
fn single_series_bars_have_one_rect_and_value_each() {
    let html = bar(BarChart::new("Orders", weekdays(), [1200.0, 950.0, 1010.0, 40.0]));
    assert_eq!(count(&html, "class=\"bar\""), 4);
    assert_eq!(count(&html, "class=\"value\""), 4);
    assert!(html.contains(">1,200</text>"));
    assert!(html.contains("<title>Mon: 1,200</title>"));
    assert!(html.contains(r#"role="img" aria-label="Orders"><title>Orders</title>"#));
    assert!(html.contains("<figcaption>Orders</figcaption>"));
    assert!(!html.contains("class=\"legend\""), "a lone series needs no legend");
}

#[test]
fn grouped_and_stacked_bars_draw_one_rect_per_value_with_a_legend() {
    for chart in [
        BarChart::with_series("Grouped", weekdays(), three_series()),
        BarChart::with_series("Stacked", weekdays(), three_series()).stacked(),
        BarChart::with_series("Sideways", weekdays(), three_series()).horizontal().stacked(),
    ] {
        let html = bar(chart);
        assert_eq!(count(&html, "class=\"bar\""), 12);
        assert_eq!(count(&html, "class=\"swatch\""), 3);
        assert!(html.contains("<title>Tue · Paid: 5</title>"));
    }
}

#[test]
fn stacked_segments_sit_on_each_other() {
    let series = vec![Series::new("a", [10.0]), Series::new("b", [5.0]), Series::new("c", [1.0])];
    let html = bar(BarChart::with_series("Stack", ["only"], series).stacked());
    assert_eq!(count(&html, "class=\"bar\""), 3);
    let rects = elements_with_class(&html, "bar");
    for pair in rects.windows(2) {
        let (lower, upper) = (pair[0], pair[1]);
        let top_of_lower = attribute(lower, "y");
        let bottom_of_upper = attribute(upper, "y") + attribute(upper, "height");
        assert!((top_of_lower - bottom_of_upper).abs() < 0.2, "{lower} / {upper}");
    }
}

#[test]
fn negative_bars_hang_below_the_zero_line() {
    let html = bar(BarChart::new("Change", ["up", "down"], [10.0, -5.0]));
    let rects = elements_with_class(&html, "bar");
    let zero = attribute(rects[0], "y") + attribute(rects[0], "height");
    assert!((attribute(rects[1], "y") - zero).abs() < 0.2, "negative bar starts at zero");
    let ratio = attribute(rects[0], "height") / attribute(rects[1], "height");
    assert!((ratio - 2.0).abs() < 0.05, "heights proportional to values: {ratio}");
}

#[test]
fn horizontal_bars_grow_rightwards_from_the_labels() {
    let html = bar(BarChart::new("Revenue", ["phones", "sofas"], [800.0, 200.0]).horizontal());
    let rects = elements_with_class(&html, "bar");
    assert_eq!(rects.len(), 2);
    assert_eq!(attribute(rects[0], "x"), attribute(rects[1], "x"));
    let ratio = attribute(rects[0], "width") / attribute(rects[1], "width");
    assert!((ratio - 4.0).abs() < 0.05, "widths proportional to values: {ratio}");
}

#[test]
fn long_labels_are_cut_with_the_full_text_as_tooltip() {
    let long = "appliances.kitchen.refrigerators.side_by_side.with_ice_maker";
    for chart in [
        BarChart::new("Vertical", [long, "b"], [1.0, 2.0]),
        BarChart::new("Crowded", vec![long; 40], vec![1.0; 40]),
        BarChart::new("Horizontal", [long, "b"], [1.0, 2.0]).horizontal(),
    ] {
        let html = bar(chart);
        assert!(html.contains(&format!("<title>{long}</title>")), "full label as tooltip");
        assert!(html.contains("…</text>"), "label cut with an ellipsis");
        assert!(!html.contains(&format!(">{long}</text>")), "label printed in full");
    }
}

#[test]
fn line_chart_draws_a_path_and_markers_per_series() {
    let chart = LineChart::new(
        "Visitors",
        ["d1", "d2", "d3", "d4", "d5"],
        vec![Series::new("Web", [1.0, 4.0, 2.0, 5.0, 3.0]), Series::new("App", [2.0; 5])],
    )
    .with_y_label("Users");
    let html = render_section(|section| {
        section.line_chart(chart);
    });
    assert_well_formed(&html);
    assert_eq!(count(&html, "<path class=\"line\""), 2);
    assert_eq!(count(&html, "class=\"pt\""), 10);
    assert_eq!(count(&html, "class=\"xtick\""), 5);
    assert_eq!(count(&html, "class=\"swatch\""), 2);
    assert!(html.contains("<title>d4 · Web: 5</title>"));
    assert!(html.contains(">Users</text>"));
    // 0..5 gets ticks 0, 1, …, 5.
    assert_eq!(count(&html, "class=\"tick\""), 6);
}

#[test]
fn missing_line_values_leave_a_gap() {
    let chart = LineChart::new(
        "Gappy",
        ["a", "b", "c", "d"],
        vec![Series::new("s", [1.0, f64::NAN, 3.0, 4.0])],
    );
    let html = render_section(|section| {
        section.line_chart(chart);
    });
    let path = elements_with_class(&html, "line")[0];
    assert_eq!(count(path, "M"), 2, "{path}");
    assert_eq!(count(&html, "class=\"pt\""), 3);
}

#[test]
fn thousands_of_x_labels_are_thinned() {
    let labels: Vec<String> = (0..5000).map(|i| format!("2019-10-01 {i:05}")).collect();
    let values: Vec<f64> = (0..5000).map(|i| f64::from(i % 97)).collect();
    let html = render_section(|section| {
        section.line_chart(LineChart::new("Busy", labels, vec![Series::new("s", values)]));
    });
    assert_well_formed(&html);
    let shown = count(&html, "class=\"xtick\"");
    assert!((2..=60).contains(&shown), "{shown} x labels shown");
    assert!(html.contains(">2019-10-01 00000</text>"), "first label shown");
    assert_eq!(count(&html, "class=\"pt\""), 0, "no markers on 5000 points");
}

#[test]
fn funnel_shows_steps_conversion_and_drop_off() {
    let chart = FunnelChart::new(
        "Purchase",
        [("View", 10_000.0), ("Cart", 2_500.0), ("Checkout", 1_000.0), ("Buy", 500.0)],
    );
    let html = render_section(|section| {
        section.funnel_chart(chart);
    });
    assert_well_formed(&html);
    assert_eq!(count(&html, "class=\"step\""), 4);
    assert_eq!(count(&html, "class=\"flow\""), 3);
    assert!(html.contains("25.0% continue · 75.0% drop off (7,500)"));
    assert!(html.contains("50.0% continue · 50.0% drop off (500)"));
    assert!(html.contains(">5.0% of first</text>"));
    assert!(html.contains(">10,000</text>"));
    let steps = elements_with_class(&html, "step");
    let widths: Vec<f64> = steps.iter().map(|step| attribute(step, "width")).collect();
    assert!(widths.windows(2).all(|pair| pair[0] > pair[1]), "bars shrink: {widths:?}");
    assert!((widths[0] / widths[1] - 4.0).abs() < 0.05);
}

#[test]
fn heatmap_fills_present_cells_and_leaves_none_blank() {
    let chart = Heatmap::new(
        "Retention",
        ["Oct", "Nov", "Dec"],
        ["W0", "W1", "W2"],
        vec![
            vec![Some(1.0), Some(0.4), Some(0.123)],
            vec![Some(1.0), Some(0.35), None],
            vec![Some(1.0)],
        ],
        ValueFormat::Percent,
    );
    let html = render_section(|section| {
        section.heatmap(chart);
    });
    assert_well_formed(&html);
    assert_eq!(count(&html, "class=\"cell\""), 6);
    assert!(html.contains(">12.3%</text>"));
    assert!(html.contains("<title>Nov · W1: 35.0%</title>"));
    assert!(html.contains("class=\"color-scale\""));
    let cells = elements_with_class(&html, "cell");
    assert!(cells[0].contains("fill=\"#08306b\""), "largest value darkest: {}", cells[0]);
    assert!(cells[2].contains("fill=\"#e8f1fa\""), "smallest value lightest: {}", cells[2]);
}

#[test]
fn scatter_draws_every_point_coloured_by_group() {
    let chart = Scatter::new(
        "Segments",
        vec![(0.0, 0.0, 0), (1.0, 2.0, 0), (2.0, 1.0, 1), (-1.0, 3.0, 1), (5.0, 5.0, 9)],
        ["Bargain hunters", "Loyal"],
    );
    let html = render_section(|section| {
        section.scatter(chart);
    });
    assert_well_formed(&html);
    assert_eq!(count(&html, "class=\"pt\""), 5);
    assert!(html.contains("Bargain hunters (2)</li>"));
    assert!(html.contains("Loyal (2)</li>"));
    assert!(html.contains("Other (1)</li>"));
    let points = elements_with_class(&html, "pt");
    assert_eq!(points[0].split("fill=").nth(1), points[1].split("fill=").nth(1));
    assert_ne!(points[0].split("fill=").nth(1), points[2].split("fill=").nth(1));
}

/// view → {cart 30, (end) 70}; cart → purchase 10.
fn checkout_sankey() -> Sankey {
    let node = |column: usize, label: &str| SankeyNode { column, label: label.into() };
    let link = |source: usize, target: usize, value: f64| SankeyLink { source, target, value };
    Sankey::new(
        "After a view",
        vec![node(0, "view"), node(1, "(end)"), node(1, "cart"), node(2, "purchase")],
        vec![link(0, 1, 70.0), link(0, 2, 30.0), link(2, 3, 10.0)],
    )
}

#[test]
fn sankey_nodes_are_as_tall_as_their_flow_and_links_as_wide() {
    let html = render_section(|section| {
        section.sankey(checkout_sankey());
    });
    assert_well_formed(&html);
    let nodes = elements_with_class(&html, "node");
    assert_eq!(nodes.len(), 4);
    assert_eq!(count(&html, "class=\"link\""), 3);
    let height = |i: usize| attribute(nodes[i], "height");
    // The view node carries 100 and is the tallest; (end) and cart split it 70/30.
    assert!((height(1) + height(2) - height(0)).abs() < 0.2, "{nodes:?}");
    assert!((height(1) / height(2) - 70.0 / 30.0).abs() < 0.05, "{nodes:?}");
    assert!((height(3) / height(2) - 1.0 / 3.0).abs() < 0.05, "{nodes:?}");
    assert!(html.contains("<title>view → cart: 30</title>"));
    assert!(html.contains(">purchase (10)</text>"));
    // The same label keeps its colour; different labels differ.
    let fill = |i: usize| nodes[i].split("fill=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_ne!(fill(0), fill(2));
}
