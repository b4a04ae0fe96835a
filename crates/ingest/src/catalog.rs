//! Category hierarchies and item → category tables that enrich events whose
//! source lacks categories (RetailRocket keeps them in separate files).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::{IngestError, Result};

/// A category tree: each category's parent, from `categoryid,parentid` rows.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    parent: HashMap<String, Option<String>>,
}

impl CategoryTree {
    /// Reads RetailRocket's `category_tree.csv`. A parent that is not itself
    /// listed, or a cycle, is an error naming the line.
    pub fn from_csv(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::io(path, e))?;
        let mut parent = HashMap::new();
        let mut lines = text.lines().enumerate();
        let bad = |line: usize, message: String| {
            IngestError::InvalidOption(format!("{}: line {}: {message}", path.display(), line + 1))
        };
        if let Some((_, header)) = lines.next()
            && header.trim().to_ascii_lowercase().replace(' ', "") != "categoryid,parentid"
        {
            return Err(bad(0, format!("expected header categoryid,parentid, found {header:?}")));
        }
        for (number, line) in lines {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let (id, up) = line
                .split_once(',')
                .ok_or_else(|| bad(number, format!("expected 2 columns in {line:?}")))?;
            let up = up.trim();
            parent.insert(id.trim().to_string(), (!up.is_empty()).then(|| up.to_string()));
        }
        let tree = CategoryTree { parent };
        for id in tree.parent.keys() {
            tree.ancestry(id).map_err(|message| bad(0, message))?;
        }
        Ok(tree)
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Ids from the root down to `id`.
    fn ancestry(&self, id: &str) -> std::result::Result<Vec<&str>, String> {
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(node) = current {
            if chain.len() > self.parent.len() {
                return Err(format!("category {id} is in a cycle"));
            }
            let (key, up) = self
                .parent
                .get_key_value(node)
                .ok_or_else(|| format!("category {node} (ancestor of {id}) is not in the tree"))?;
            chain.push(key.as_str());
            current = up.as_deref();
        }
        chain.reverse();
        Ok(chain)
    }

    /// The dot-separated path from the root, e.g. `1482.866.1016`; the id
    /// itself for unknown categories.
    pub fn path(&self, id: &str) -> String {
        self.ancestry(id).map(|chain| chain.join(".")).unwrap_or_else(|_| id.to_string())
    }

    /// Depth below the root (roots are 0), for known categories.
    pub fn depth(&self, id: &str) -> Option<usize> {
        self.ancestry(id).ok().map(|chain| chain.len() - 1)
    }
}

/// Item → category over time (RetailRocket item properties change).
#[derive(Debug, Clone, Default)]
pub struct ItemCategories {
    /// Per item: (valid from, category id, path), sorted by time.
    items: HashMap<String, Vec<(i64, String, String)>>,
}

impl ItemCategories {
    /// Reads either RetailRocket item properties (`timestamp,itemid,property,value`,
    /// keeping the `categoryid` rows) or a plain `item_id,category_id` table.
    pub fn from_csv(path: &Path, tree: &CategoryTree) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        let reader = std::io::BufReader::new(file);
        let mut items: HashMap<String, Vec<(i64, String, String)>> = HashMap::new();
        let mut properties_layout = false;
        for (number, line) in std::io::BufRead::lines(reader).enumerate() {
            let line = line.map_err(|e| IngestError::io(path, e))?;
            let line = line.trim_end_matches('\r');
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if number == 0 {
                properties_layout =
                    fields.len() == 4 && fields[0].eq_ignore_ascii_case("timestamp");
                continue;
            }
            let (time, item, category) = match (properties_layout, fields.as_slice()) {
                (true, [time, item, "categoryid", value]) => {
                    (time.parse().unwrap_or(0), *item, *value)
                }
                (true, _) => continue,
                (false, [item, category]) => (0, *item, *category),
                (false, _) => {
                    return Err(IngestError::InvalidOption(format!(
                        "{}: line {}: expected item_id,category_id",
                        path.display(),
                        number + 1
                    )));
                }
            };
            items.entry(item.to_string()).or_default().push((
                time,
                category.to_string(),
                tree.path(category),
            ));
        }
        for history in items.values_mut() {
            history.sort();
        }
        Ok(ItemCategories { items })
    }

    /// The item's category at `time` (the latest one set before it, else the first known).
    pub fn lookup(&self, item: &str, time: DateTime<Utc>) -> Option<(&str, &str)> {
        let history = self.items.get(item)?;
        let millis = time.timestamp_millis();
        let index = history.partition_point(|(from, _, _)| *from <= millis).saturating_sub(1);
        history.get(index).map(|(_, id, path)| (id.as_str(), path.as_str()))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
