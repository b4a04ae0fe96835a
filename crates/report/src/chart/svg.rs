//! Low-level SVG writing shared by the chart modules: the palette, text
//! measurement, elements with tooltips, and the `<figure>` around a chart.

use std::fmt::Write as _;

use crate::escape::{escape, truncate};

/// The Okabe–Ito palette, which stays distinguishable under the common forms
/// of colour blindness. Yellow and black come last: yellow is faint on white
/// and black reads as an axis.
pub(crate) const PALETTE: [&str; 8] =
    ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

/// Colour for points whose group is not in the legend.
pub(crate) const OTHER_COLOR: &str = "#999999";

/// Width of every chart's view box; the stylesheet scales it to the page.
pub(crate) const CHART_WIDTH: f64 = 880.0;

/// Font size of chart text, in view-box units.
pub(crate) const FONT_SIZE: f64 = 12.0;

pub(crate) fn series_color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// Estimated rendered width of `text` at [`FONT_SIZE`]. Without a layout
/// engine this is an average glyph width, generous enough for digits and
/// lower-case text in system-ui.
pub(crate) fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * FONT_SIZE * 0.6
}

/// The widest of `texts`, as [`text_width`] estimates it.
pub(crate) fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> f64 {
    texts.into_iter().map(text_width).fold(0.0, f64::max)
}

/// Formats a coordinate with at most one decimal. A non-finite coordinate
/// would be a layout bug; it is written as 0 so that the SVG stays valid.
pub(crate) fn num(value: f64) -> String {
    let tenths = if value.is_finite() { (value * 10.0).round() } else { 0.0 };
    if tenths % 10.0 == 0.0 {
        format!("{}", (tenths / 10.0) as i64)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// An axis-aligned rectangle in view-box units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rect {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

/// One `<text>` element, built up with the methods below.
pub(crate) struct Text<'a> {
    x: f64,
    y: f64,
    content: &'a str,
    class: &'a str,
    anchor: &'static str,
    max_chars: usize,
    rotate: f64,
    middle: bool,
}

impl<'a> Text<'a> {
    pub(crate) fn new(x: f64, y: f64, content: &'a str) -> Text<'a> {
        Text {
            x,
            y,
            content,
            class: "",
            anchor: "start",
            max_chars: usize::MAX,
            rotate: 0.0,
            middle: false,
        }
    }

    pub(crate) fn class(mut self, class: &'a str) -> Self {
        self.class = class;
        self
    }

    pub(crate) fn end(mut self) -> Self {
        self.anchor = "end";
        self
    }

    pub(crate) fn centre(mut self) -> Self {
        self.anchor = "middle";
        self
    }

    /// Centres the text vertically on `y` instead of sitting on it.
    pub(crate) fn middle(mut self) -> Self {
        self.middle = true;
        self
    }

    /// Cuts longer text with an ellipsis; the full text becomes a tooltip.
    pub(crate) fn max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars;
        self
    }

    pub(crate) fn rotate(mut self, degrees: f64) -> Self {
        self.rotate = degrees;
        self
    }
}

/// An `<svg>` element being written. Every chart has a `<title>` and an
/// `aria-label` so that screen readers announce it.
pub(crate) struct Svg {
    out: String,
}

impl Svg {
    pub(crate) fn new(label: &str, width: f64, height: f64) -> Svg {
        let label = escape(label);
        let (width, height) = (num(width), num(height));
        let out = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{label}"><title>{label}</title>"#
        );
        Svg { out }
    }

    /// Appends markup that the caller has already escaped.
    pub(crate) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    pub(crate) fn rect(&mut self, class: &str, rect: Rect, fill: &str, tooltip: &str) {
        let _ = write!(
            self.out,
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" fill="{fill}">"#,
            num(rect.x),
            num(rect.y),
            num(rect.width.max(0.0)),
            num(rect.height.max(0.0)),
        );
        self.tooltip(tooltip);
        self.out.push_str("</rect>");
    }

    pub(crate) fn circle(
        &mut self,
        class: &str,
        (x, y): (f64, f64),
        radius: f64,
        fill: &str,
        tooltip: &str,
    ) {
        let _ = write!(
            self.out,
            r#"<circle class="{class}" cx="{}" cy="{}" r="{}" fill="{fill}">"#,
            num(x),
            num(y),
            num(radius),
        );
        self.tooltip(tooltip);
        self.out.push_str("</circle>");
    }

    pub(crate) fn line(&mut self, class: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
        let _ = write!(
            self.out,
            r#"<line class="{class}" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
        );
    }

    pub(crate) fn text(&mut self, text: Text<'_>) {
        let _ = write!(self.out, r#"<text x="{}" y="{}""#, num(text.x), num(text.y));
        if !text.class.is_empty() {
            let _ = write!(self.out, r#" class="{}""#, text.class);
        }
        if text.anchor != "start" {
            let _ = write!(self.out, r#" text-anchor="{}""#, text.anchor);
        }
        if text.middle {
            self.out.push_str(r#" dy="0.35em""#);
        }
        if text.rotate != 0.0 {
            let _ = write!(
                self.out,
                r#" transform="rotate({} {} {})""#,
                num(text.rotate),
                num(text.x),
                num(text.y)
            );
        }
        self.out.push('>');
        match truncate(text.content, text.max_chars) {
            Some(short) => {
                self.tooltip(text.content);
                self.out.push_str(&escape(&short));
            }
            None => self.out.push_str(&escape(text.content)),
        }
        self.out.push_str("</text>");
    }

    fn tooltip(&mut self, tooltip: &str) {
        if !tooltip.is_empty() {
            let _ = write!(self.out, "<title>{}</title>", escape(tooltip));
        }
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// The accessible name of a chart: its title, or its kind when untitled.
pub(crate) fn chart_label<'a>(title: &'a str, kind: &'a str) -> &'a str {
    if title.trim().is_empty() { kind } else { title }
}

/// Wraps a chart in a `<figure>` with its visible title and an HTML legend
/// above the drawing (HTML so that long legends wrap on their own).
pub(crate) fn figure(title: &str, legend: &str, svg: &str) -> String {
    let mut out = String::from(r#"<figure class="chart">"#);
    if !title.trim().is_empty() {
        let _ = write!(out, "<figcaption>{}</figcaption>", escape(title));
    }
    out.push_str(legend);
    out.push_str(svg);
    out.push_str("</figure>\n");
    out
}

/// A legend of coloured swatches, one per `(name, colour)`.
/// The legend of a multi-series chart; empty for a single series, whose
/// chart title already names it.
pub(crate) fn series_legend(series: &[super::Series]) -> String {
    if series.len() < 2 {
        return String::new();
    }
    legend(series.iter().enumerate().map(|(i, s)| (s.name.as_str(), series_color(i))))
}

pub(crate) fn legend<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for (name, color) in items {
        let _ = write!(
            out,
            r#"<li><span class="swatch" style="background:{color}"></span>{}</li>"#,
            escape(name)
        );
    }
    out.push_str("</ul>");
    out
}

/// What a chart with nothing to draw shows instead.
pub(crate) fn empty_figure(title: &str, label: &str) -> String {
    let height = 80.0;
    let mut svg = Svg::new(label, CHART_WIDTH, height);
    svg.text(
        Text::new(CHART_WIDTH / 2.0, height / 2.0, "No data").class("empty").centre().middle(),
    );
    figure(title, "", &svg.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_short_and_never_nan() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-7.25), "-7.3");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
    }

    #[test]
    fn truncated_text_keeps_the_full_text_as_tooltip() {
        let mut svg = Svg::new("t", 10.0, 10.0);
        svg.text(Text::new(0.0, 0.0, "<b>a very long label</b>").max_chars(8));
        let out = svg.finish();
        assert!(
            out.contains(
                "<title>&lt;b&gt;a very long label&lt;/b&gt;</title>&lt;b&gt;a ve…</text>"
            ),
            "{out}"
        );
    }
}
