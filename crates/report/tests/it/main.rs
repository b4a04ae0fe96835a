//! Integration tests: whole documents, every chart kind, and the edge cases
//! that must neither panic nor write a non-finite number.

mod charts;
mod document;
mod edge_cases;

use report::{Report, Section};

/// Renders a report with one section filled in by `fill`.
fn render_section(fill: impl FnOnce(&mut Section)) -> String {
    let mut report = Report::new("Test report");
    fill(report.section("Only section"));
    report.to_html()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Asserts that the markup nests properly (every element closed, in order),
/// that every `&` starts an entity, and that no number in it is non-finite.
fn assert_well_formed(html: &str) {
    const VOID_ELEMENTS: [&str; 4] = ["meta", "link", "br", "img"];
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        assert_entities(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap_or_else(|| panic!("unterminated tag: {after:.80}"));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let expected = open.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(expected, name, "</{name}> closes <{expected}>");
            continue;
        }
        assert_entities(tag);
        assert_eq!(count(tag, "\"") % 2, 0, "unbalanced quotes in <{tag}>");
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "odd tag <{tag}>"
        );
        if tag.ends_with('/') || VOID_ELEMENTS.contains(&name) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").expect("<style> is closed");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        open.push(name);
    }
    assert!(open.is_empty(), "never closed: {open:?}");
    assert_eq!(count(html, "<svg"), count(html, "</svg>"));
    assert_finite(html);
}

/// Every `&` must start a named or numeric character reference.
fn assert_entities(text: &str) {
    for (at, _) in text.match_indices('&') {
        let entity = &text[at + 1..];
        let end = entity.find(';').unwrap_or_else(|| panic!("bare & in {text:.80}"));
        let name = &entity[..end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '#'),
            "bad entity &{name}; in {text:.80}"
        );
    }
}

/// Rust writes non-finite floats as `NaN`, `inf` and `-inf`.
fn assert_finite(html: &str) {
    for bad in ["NaN", "inf"] {
        assert!(!html.contains(bad), "found {bad:?} near: {}", near(html, bad));
    }
}

fn near<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html.find(needle).unwrap_or(0);
    let start = html.floor_char_boundary(at.saturating_sub(120));
    let end = html.ceil_char_boundary((at + 120).min(html.len()));
    &html[start..end]
}

/// The numeric value of `name="…"` in the first element of `markup` that has it.
fn attribute(markup: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let at = markup.find(&key).unwrap_or_else(|| panic!("no {name} in {markup:.200}")) + key.len();
    let value = &markup[at..at + markup[at..].find('"').expect("closing quote")];
    value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number"))
}

/// The start tags of every element with `class="…"`, in document order.
fn elements_with_class<'a>(html: &'a str, class: &str) -> Vec<&'a str> {
    let key = format!("class=\"{class}\"");
    html.match_indices(&key)
        .map(|(at, _)| {
            let start = html[..at].rfind('<').expect("inside a tag");
            let end = at + html[at..].find('>').expect("tag ends");
            &html[start..=end]
        })
        .collect()
}
