//! Text helpers shared by every block: HTML escaping, truncation and anchors.

/// Escapes `text` for HTML or SVG element content and for quoted attribute
/// values. Every piece of user text goes through here before it is written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `text` to at most `max_chars` characters, the last of which is
/// an ellipsis. Returns `None` when the text already fits.
pub(crate) fn truncate(text: &str, max_chars: usize) -> Option<String> {
    if text.chars().count() <= max_chars {
        return None;
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    Some(format!("{}…", kept.trim_end()))
}

/// Turns a heading into an anchor id: lower-case ASCII letters and digits
/// joined by single dashes.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "section".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain text, é ✓"), "plain text, é ✓");
    }

    #[test]
    fn truncates_by_characters_not_bytes() {
        assert_eq!(truncate("short", 10), None);
        assert_eq!(truncate("exactly10!", 10), None);
        assert_eq!(truncate("ééééééééééé", 5).as_deref(), Some("éééé…"));
        assert_eq!(truncate("a very long label", 8).as_deref(), Some("a very…"));
    }

    #[test]
    fn slugs_are_ascii_and_never_empty() {
        assert_eq!(slug("Funnel: view → purchase"), "funnel-view-purchase");
        assert_eq!(slug("  Top 10 items  "), "top-10-items");
        assert_eq!(slug("→ ✓"), "section");
    }
}
