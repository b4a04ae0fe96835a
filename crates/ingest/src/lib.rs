//! Parsers for shop event exports, and the cleaning that turns their rows
//! into lake-ready batches: exact-duplicate removal, sessionisation and bot
//! flags, with every rejected row kept as a [`Rejection`].
//!
//! Data flow: [`Importer::read_file`] cuts each file into chunks on record
//! boundaries, parses chunks in parallel into Arrow batches, and stages them
//! by day (spilling to disk past a memory budget); [`DayCleaner::next_day`]
//! then cleans one day at a time for the lake to append.
//!
//! Architecture invariant: this crate never writes to the lake. Its only
//! files are the spill files below `ImportOptions::spill_dir`.

mod batch;
mod catalog;
mod clean;
mod error;
mod format;
mod import;
mod parse;
mod records;
mod reject;
mod staging;
mod time;

pub use batch::{EventBatchBuilder, staging_schema};
pub use catalog::{CategoryTree, ItemCategories};
pub use clean::{CleanOptions, DayCounts};
pub use error::{IngestError, Result};
pub use format::{Format, detect};
pub use import::{DayCleaner, FileSummary, ImportOptions, ImportSummary, Importer};
pub use parse::{ParseOptions, parse_mapping};
pub use records::{Delimiter, MAX_LINES_PER_RECORD, split_fields};
pub use reject::{Rejection, RowError};
pub use time::{TimeFormat, parse_time};
