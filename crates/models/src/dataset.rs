//! `Dataset`: named numeric and categorical feature columns, an optional
//! target (0/1, or real values for a regression) and optional row ids, built
//! from a CSV file or from vectors.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelsError, Result};

/// How a column's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers; an empty field is missing (NaN).
    Numeric,
    /// `true/false`, `TRUE/FALSE`, `True/False` (and, when every value is 0 or 1, numbers): read as 1.0/0.0.
    Boolean,
    /// Any other text; each distinct value is a level.
    Categorical,
}

/// A feature column's name and kind: the schema a model expects of its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericColumn {
    pub name: String,
    /// NaN marks a missing value.
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    pub name: String,
    pub values: Vec<Option<String>>,
}

/// Feature columns of equal length, plus an optional target and ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    rows: usize,
    /// Numeric and boolean columns (booleans as 0/1), in input order among themselves.
    pub numeric: Vec<NumericColumn>,
    pub categorical: Vec<CategoricalColumn>,
    /// The schema: every feature column in input order.
    pub columns: Vec<ColumnSpec>,
    pub target_name: Option<String>,
    /// 1.0 for the positive class, 0.0 otherwise; any finite value for a
    /// regression ([`Dataset::with_real_target`]).
    pub target: Option<Vec<f64>>,
    pub id_name: Option<String>,
    pub ids: Option<Vec<String>>,
}

/// Which CSV columns are the target and the ids; every other column is a feature.
#[derive(Debug, Clone, Default)]
pub struct CsvRoles {
    /// Required when training; may be absent from the file when scoring.
    pub target: Option<String>,
    pub id: Option<String>,
}

impl Dataset {
    /// An empty dataset of `rows` rows; add columns with the `with_*` methods.
    pub fn new(rows: usize) -> Dataset {
        Dataset {
            rows,
            numeric: Vec::new(),
            categorical: Vec::new(),
            columns: Vec::new(),
            target_name: None,
            target: None,
            id_name: None,
            ids: None,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    fn check_length(&self, name: &str, len: usize) -> Result<()> {
        if len != self.rows {
            return Err(ModelsError::InvalidData(format!(
                "column {name:?} has {len} values, the dataset has {} rows",
                self.rows
            )));
        }
        Ok(())
    }

    /// Adds a numeric feature (NaN = missing).
    pub fn with_numeric(mut self, name: impl Into<String>, values: Vec<f64>) -> Result<Dataset> {
        let name = name.into();
        self.check_length(&name, values.len())?;
        self.columns.push(ColumnSpec { name: name.clone(), kind: ColumnKind::Numeric });
        self.numeric.push(NumericColumn { name, values });
        Ok(self)
    }

    /// Adds a categorical feature (None = missing).
    pub fn with_categorical(
        mut self,
        name: impl Into<String>,
        values: Vec<Option<String>>,
    ) -> Result<Dataset> {
        let name = name.into();
        self.check_length(&name, values.len())?;
        self.columns.push(ColumnSpec { name: name.clone(), kind: ColumnKind::Categorical });
        self.categorical.push(CategoricalColumn { name, values });
        Ok(self)
    }

    /// Sets the target: `true` is the positive class.
    pub fn with_target(mut self, name: impl Into<String>, values: Vec<bool>) -> Result<Dataset> {
        let name = name.into();
        self.check_length(&name, values.len())?;
        self.target = Some(values.into_iter().map(|v| if v { 1.0 } else { 0.0 }).collect());
        self.target_name = Some(name);
        Ok(self)
    }

    /// Sets a real-valued target, for gradient-boosted trees with a regression
    /// objective ([`crate::GbdtObjective`]); every value must be finite.
    pub fn with_real_target(
        mut self,
        name: impl Into<String>,
        values: Vec<f64>,
    ) -> Result<Dataset> {
        let name = name.into();
        self.check_length(&name, values.len())?;
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelsError::InvalidData(format!(
                "target {name:?} is not finite in row {row} ({})",
                values[row]
            )));
        }
        self.target = Some(values);
        self.target_name = Some(name);
        Ok(self)
    }

    /// Sets row ids, written beside predictions.
    pub fn with_ids(mut self, name: impl Into<String>, ids: Vec<String>) -> Result<Dataset> {
        let name = name.into();
        self.check_length(&name, ids.len())?;
        self.ids = Some(ids);
        self.id_name = Some(name);
        Ok(self)
    }

    /// The target, or an error saying that training needs one.
    pub fn target_or_error(&self) -> Result<&[f64]> {
        self.target
            .as_deref()
            .ok_or_else(|| ModelsError::InvalidData("the dataset has no target column".to_string()))
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let pick_f = |v: &[f64]| indices.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        Dataset {
            rows: indices.len(),
            numeric: self
                .numeric
                .iter()
                .map(|c| NumericColumn { name: c.name.clone(), values: pick_f(&c.values) })
                .collect(),
            categorical: self
                .categorical
                .iter()
                .map(|c| CategoricalColumn {
                    name: c.name.clone(),
                    values: indices.iter().map(|&i| c.values[i].clone()).collect(),
                })
                .collect(),
            columns: self.columns.clone(),
            target_name: self.target_name.clone(),
            target: self.target.as_deref().map(pick_f),
            id_name: self.id_name.clone(),
            ids: self.ids.as_ref().map(|ids| indices.iter().map(|&i| ids[i].clone()).collect()),
        }
    }

    /// Reads a CSV file with a header, detecting each feature column's kind:
    /// numeric if every non-empty field is a number, boolean if every one is
    /// true/false, categorical otherwise. The target may be boolean or 0/1.
    pub fn from_csv(path: &Path, roles: &CsvRoles) -> Result<Dataset> {
        let table = RawTable::read(path)?;
        let features: Vec<usize> = table.feature_indices(roles)?;
        let schema: Vec<ColumnSpec> = features
            .iter()
            .map(|&i| ColumnSpec { name: table.headers[i].clone(), kind: table.detect_kind(i) })
            .collect();
        table.into_dataset(&schema, roles, true)
    }

    /// Reads a CSV file whose feature columns must match `schema` (a trained
    /// model's): each listed column must be present and parse as its kind;
    /// other columns are ignored. The target is read if present.
    pub fn from_csv_with_schema(
        path: &Path,
        schema: &[ColumnSpec],
        roles: &CsvRoles,
    ) -> Result<Dataset> {
        let table = RawTable::read(path)?;
        table.into_dataset(schema, roles, false)
    }

    /// A hash of the feature values and target, stored in a saved model so
    /// one can tell which data it was trained on.
    pub fn fingerprint(&self) -> String {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for column in &self.numeric {
            hasher.update(column.name.as_bytes());
            for v in &column.values {
                hasher.update(&v.to_le_bytes());
            }
        }
        for column in &self.categorical {
            hasher.update(column.name.as_bytes());
            for v in &column.values {
                hasher.update(v.as_deref().unwrap_or("\u{0}").as_bytes());
                hasher.update(b"\x1f");
            }
        }
        if let Some(target) = &self.target {
            for v in target {
                hasher.update(&v.to_le_bytes());
            }
        }
        format!("xxh3:{:016x}", hasher.digest())
    }
}

/// A CSV file read as text: headers, and each record's fields with its line number.
struct RawTable {
    path: String,
    headers: Vec<String>,
    records: Vec<(u64, csv::StringRecord)>,
}

fn is_missing(field: &str) -> bool {
    let field = field.trim();
    field.is_empty() || field.eq_ignore_ascii_case("na") || field.eq_ignore_ascii_case("null")
}

fn parse_bool(field: &str) -> Option<bool> {
    match field.trim() {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn parse_number(field: &str) -> Option<f64> {
    field.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

impl RawTable {
    fn read(path: &Path) -> Result<RawTable> {
        let display = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|source| ModelsError::Io { path: path.to_path_buf(), source })?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(file);
        let csv_error = |error: csv::Error| {
            let line = error.position().map_or(0, |p| p.line());
            ModelsError::Csv { path: display.clone(), line, message: error.to_string() }
        };
        let headers: Vec<String> =
            reader.headers().map_err(csv_error)?.iter().map(|h| h.trim().to_string()).collect();
        if headers.is_empty() {
            return Err(ModelsError::Csv {
                path: display,
                line: 1,
                message: "no header".to_string(),
            });
        }
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            records.push((line, record));
        }
        Ok(RawTable { path: display, headers, records })
    }

    fn column_index(&self, name: &str) -> Result<usize> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| ModelsError::MissingColumn {
            path: self.path.clone(),
            column: name.to_string(),
            available: self.headers.join(", "),
        })
    }

    fn feature_indices(&self, roles: &CsvRoles) -> Result<Vec<usize>> {
        let target = roles.target.as_deref().map(|t| self.column_index(t)).transpose()?;
        let id = roles.id.as_deref().map(|t| self.column_index(t)).transpose()?;
        Ok((0..self.headers.len()).filter(|&i| Some(i) != target && Some(i) != id).collect())
    }

    fn detect_kind(&self, column: usize) -> ColumnKind {
        let fields = || self.records.iter().map(|(_, r)| &r[column]).filter(|f| !is_missing(f));
        if fields().all(|f| parse_number(f).is_some()) {
            ColumnKind::Numeric
        } else if fields().all(|f| parse_bool(f).is_some()) {
            ColumnKind::Boolean
        } else {
            ColumnKind::Categorical
        }
    }

    fn bad_value(&self, line: u64, column: usize, value: &str, message: &str) -> ModelsError {
        ModelsError::BadValue {
            path: self.path.clone(),
            line,
            column: self.headers[column].clone(),
            value: value.to_string(),
            message: message.to_string(),
        }
    }

    fn numeric_values(&self, column: usize, kind: ColumnKind) -> Result<Vec<f64>> {
        self.records
            .iter()
            .map(|(line, record)| {
                let field = &record[column];
                if is_missing(field) {
                    return Ok(f64::NAN);
                }
                let parsed = match kind {
                    ColumnKind::Boolean => parse_bool(field)
                        .map(|b| if b { 1.0 } else { 0.0 })
                        .or_else(|| parse_number(field).filter(|v| *v == 0.0 || *v == 1.0)),
                    _ => parse_number(field),
                };
                parsed.ok_or_else(|| {
                    let expected = match kind {
                        ColumnKind::Boolean => "expected true/false or 0/1",
                        _ => "expected a number",
                    };
                    self.bad_value(*line, column, field, expected)
                })
            })
            .collect()
    }

    fn target_values(&self, column: usize) -> Result<Vec<f64>> {
        self.records
            .iter()
            .map(|(line, record)| {
                let field = &record[column];
                match parse_bool(field).or_else(|| {
                    parse_number(field).filter(|v| *v == 0.0 || *v == 1.0).map(|v| v == 1.0)
                }) {
                    Some(positive) => Ok(if positive { 1.0 } else { 0.0 }),
                    None => Err(self.bad_value(
                        *line,
                        column,
                        field,
                        "the target must be true/false or 0/1",
                    )),
                }
            })
            .collect()
    }

    fn into_dataset(
        self,
        schema: &[ColumnSpec],
        roles: &CsvRoles,
        target_required: bool,
    ) -> Result<Dataset> {
        let mut dataset = Dataset::new(self.records.len());
        for spec in schema {
            let column = self.column_index(&spec.name)?;
            match spec.kind {
                ColumnKind::Numeric | ColumnKind::Boolean => {
                    dataset.numeric.push(NumericColumn {
                        name: spec.name.clone(),
                        values: self.numeric_values(column, spec.kind)?,
                    });
                }
                ColumnKind::Categorical => {
                    let values = self
                        .records
                        .iter()
                        .map(|(_, r)| {
                            let field = r[column].trim();
                            (!is_missing(field)).then(|| field.to_string())
                        })
                        .collect();
                    dataset.categorical.push(CategoricalColumn { name: spec.name.clone(), values });
                }
            }
            dataset.columns.push(spec.clone());
        }
        if let Some(target) = &roles.target {
            let present = self.headers.iter().position(|h| h == target);
            match present {
                Some(column) => {
                    dataset.target = Some(self.target_values(column)?);
                    dataset.target_name = Some(target.clone());
                }
                None if target_required => {
                    self.column_index(target)?;
                }
                None => {}
            }
        }
        if let Some(id) = &roles.id {
            let column = self.column_index(id)?;
            dataset.ids = Some(self.records.iter().map(|(_, r)| r[column].to_string()).collect());
            dataset.id_name = Some(id.clone());
        }
        Ok(dataset)
    }
}
