//! The document around the blocks: order, table of contents, escaping,
//! determinism and the footer.

use report::{
    BarChart, FunnelChart, Heatmap, Kpi, LineChart, Report, Scatter, Section, Series, Table,
    ValueFormat,
};

use crate::{assert_well_formed, count, render_section};

fn sample_report() -> Report {
    let mut report = Report::new("Quarterly report");
    report.subtitle("Synthetic data");
    report
        .section("Overview")
        .paragraph("Visitors and orders.")
        .kpis(vec![Kpi::new("Visitors", "12,345").with_detail("+3%"), Kpi::new("Orders", "678")]);
    report.section("Funnel").funnel_chart(FunnelChart::new(
        "Purchase funnel",
        [("View", 1000.0), ("Cart", 400.0), ("Buy", 100.0)],
    ));
    report.section("Charts").bar_chart(BarChart::new("Bars", ["a", "b"], [1.0, 2.0])).line_chart(
        LineChart::new("Lines", ["d1", "d2", "d3"], vec![Series::new("s", [1.0, 3.0, 2.0])]),
    );
    report
}

#[test]
fn empty_report_is_a_complete_document_without_contents() {
    let html = Report::new("Nothing yet").to_html();
    assert_well_formed(&html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>Nothing yet</title>"));
    assert!(!html.contains("<nav"));
    assert_eq!(count(&html, "<section"), 0);
}

#[test]
fn sections_render_in_order_with_a_table_of_contents() {
    let html = sample_report().to_html();
    assert_well_formed(&html);
    assert_eq!(count(&html, "<section"), 3);
    assert_eq!(count(&html, "</section>"), 3);
    let positions: Vec<usize> = ["id=\"overview\"", "id=\"funnel\"", "id=\"charts\""]
        .iter()
        .map(|id| html.find(id).unwrap_or_else(|| panic!("missing {id}")))
        .collect();
    assert!(positions.is_sorted(), "sections out of order: {positions:?}");
    for anchor in ["#overview", "#funnel", "#charts"] {
        assert!(
            html.contains(&format!("<li><a href=\"{anchor}\">")),
            "no contents link to {anchor}"
        );
    }
    assert!(html.find("<nav").expect("contents") < positions[0]);
    assert!(html.contains("<p class=\"subtitle\">Synthetic data</p>"));
}

#[test]
fn sections_built_on_their_own_render_like_sections_built_in_place() {
    let mut built_in_place = Report::new("r");
    built_in_place.section("Paths").paragraph("Where sessions go.").paragraph("Then this.");
    let mut section = Section::new("Paths");
    section.paragraph("Where sessions go.");
    let mut pushed = Report::new("r");
    pushed.push_section(section).paragraph("Then this.");
    assert_eq!(pushed.to_html(), built_in_place.to_html());
    assert_eq!(pushed.sections()[0].title(), "Paths");
}

#[test]
fn duplicate_and_symbol_only_titles_get_unique_anchors() {
    let mut report = Report::new("r");
    report.section("Retention");
    report.section("Retention");
    report.section("→");
    let html = report.to_html();
    for id in ["id=\"retention\"", "id=\"retention-2\"", "id=\"section\""] {
        assert_eq!(count(&html, id), 1, "{id}");
    }
}

#[test]
fn user_text_is_escaped_everywhere() {
    const EVIL: &str = "<script>alert('x')</script> & \"quotes\"";
    let mut report = Report::new(EVIL);
    report.subtitle(EVIL);
    report
        .section(EVIL)
        .paragraph(EVIL)
        .kpis(vec![Kpi::new(EVIL, EVIL).with_detail(EVIL)])
        .table(Table::new([EVIL]).row([EVIL, EVIL]).with_caption(EVIL))
        .bar_chart(BarChart::with_series(
            EVIL,
            [EVIL],
            vec![Series::new(EVIL, [1.0]), Series::new(EVIL, [2.0])],
        ))
        .bar_chart(BarChart::new(EVIL, [EVIL], [1.0]).horizontal().with_y_label(EVIL))
        .line_chart(
            LineChart::new(EVIL, [EVIL], vec![Series::new(EVIL, [1.0]), Series::new(EVIL, [2.0])])
                .with_y_label(EVIL),
        )
        .funnel_chart(FunnelChart::new(EVIL, [(EVIL, 2.0), (EVIL, 1.0)]))
        .heatmap(Heatmap::new(EVIL, [EVIL], [EVIL], vec![vec![Some(1.0)]], ValueFormat::Integer))
        .scatter(Scatter::new(EVIL, vec![(0.0, 0.0, 0), (1.0, 1.0, 0)], [EVIL]));
    let html = report.to_html();
    assert_well_formed(&html);
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(!html.contains("\"quotes\""), "unescaped quotes");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;")
    );
}

#[test]
fn trusted_html_is_inserted_as_is() {
    let html = render_section(|section| {
        section.html("<details><summary>More</summary>raw &amp; ready</details>");
    });
    assert!(html.contains("<details><summary>More</summary>raw &amp; ready</details>"));
    assert_well_formed(&html);
}

#[test]
fn same_input_gives_the_same_bytes() {
    let first = sample_report().to_html();
    assert_eq!(first, sample_report().to_html());
    let report = sample_report();
    assert_eq!(report.to_html(), report.to_html());
}

#[test]
fn footer_names_the_version() {
    let html = sample_report().to_html();
    let footer = format!("<footer>Generated by smartfunnel {}</footer>", env!("CARGO_PKG_VERSION"));
    assert!(html.contains(&footer), "no footer {footer}");
}

#[test]
fn document_is_self_contained() {
    // The SVG namespace is an identifier, not something that is fetched.
    let html = sample_report().to_html().replace("http://www.w3.org/2000/svg", "");
    for external in ["<script", "<link", "src=", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(external), "references something outside the file: {external}");
    }
}

#[test]
fn write_to_writes_what_to_html_returns() {
    let report = sample_report();
    let path = std::env::temp_dir().join(format!("report-write-to-{}.html", std::process::id()));
    report.write_to(&path).expect("writing the report");
    let written = std::fs::read_to_string(&path).expect("reading it back");
    std::fs::remove_file(&path).expect("removing it");
    assert_eq!(written, report.to_html());
}

#[test]
fn kpis_render_label_value_and_optional_detail() {
    let html = render_section(|section| {
        section
            .kpis(vec![Kpi::new("Visitors", "1,234").with_detail("+5%"), Kpi::new("Orders", "56")]);
    });
    assert_eq!(count(&html, "class=\"kpi\""), 2);
    assert_eq!(count(&html, "class=\"kpi-detail\""), 1);
    assert!(
        html.contains(r#"<div class="kpi-label">Visitors</div><div class="kpi-value">1,234</div>"#)
    );
}

#[test]
fn tables_pad_short_rows_and_right_align_numbers() {
    let table = Table::new(["Item", "Views", "Share"])
        .row(["phone", "1,204", "12.0%"])
        .row(["sofa"])
        .with_caption("Top items")
        .with_numeric_columns([1, 2]);
    let html = render_section(|section| {
        section.table(table);
    });
    assert_well_formed(&html);
    assert!(html.contains("<caption>Top items</caption>"));
    assert_eq!(count(&html, "<th "), 3);
    assert_eq!(count(&html, "<td"), 6);
    assert_eq!(count(&html, "class=\"num\""), 2 + 4);
    assert!(html.contains(r#"<tr><td>sofa</td><td class="num"></td><td class="num"></td></tr>"#));
}
