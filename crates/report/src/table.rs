//! Plain data tables.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::escape::escape;

/// A table of preformatted cells.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<String>,
    /// Short rows are padded with empty cells.
    pub rows: Vec<Vec<String>>,
    pub caption: Option<String>,
    /// Indexes of columns that hold numbers: right-aligned, tabular digits.
    pub numeric_columns: Vec<usize>,
}

impl Table {
    pub fn new(columns: impl IntoIterator<Item = impl Into<String>>) -> Table {
        Table { columns: columns.into_iter().map(Into::into).collect(), ..Table::default() }
    }

    /// Appends a row.
    pub fn row(mut self, cells: impl IntoIterator<Item = impl Into<String>>) -> Table {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn with_caption(mut self, caption: impl Into<String>) -> Table {
        self.caption = Some(caption.into());
        self
    }

    pub fn with_numeric_columns(mut self, columns: impl Into<Vec<usize>>) -> Table {
        self.numeric_columns = columns.into();
        self
    }
}

pub(crate) fn render(table: &Table) -> String {
    let class = |column: usize| {
        if table.numeric_columns.contains(&column) { r#" class="num""# } else { "" }
    };
    let mut out = String::from("<div class=\"table-wrap\"><table>");
    if let Some(caption) = &table.caption {
        let _ = write!(out, "<caption>{}</caption>", escape(caption));
    }
    out.push_str("<thead><tr>");
    for (i, column) in table.columns.iter().enumerate() {
        let _ = write!(out, r#"<th scope="col"{}>{}</th>"#, class(i), escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str("<tr>");
        for i in 0..row.len().max(table.columns.len()) {
            let cell = row.get(i).map_or("", String::as_str);
            let _ = write!(out, "<td{}>{}</td>", class(i), escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
    out
}
