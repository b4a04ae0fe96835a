//! `smartfunnel import`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use ingest::{
    CategoryTree, Format, ImportOptions, ItemCategories, ParseOptions, TimeFormat, parse_mapping,
};
use lake::{ImportProgress, ImportReport, Lake};

use crate::{Output, progress};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The lake directory (created if missing).
    #[arg(long)]
    lake: PathBuf,
    /// Input format; detected from each file's first line when not given.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Format::NAMES))]
    format: Option<String>,
    /// Generic formats: canonical=source column pairs, e.g. `user_id=visitor,event_time=ts`.
    #[arg(long)]
    map: Option<String>,
    /// How generic formats write times: auto, unix, unix_ms, unix_us or a strftime pattern.
    #[arg(long, default_value = "auto")]
    time_format: String,
    /// UTC offset of times written without one, e.g. +08:00.
    #[arg(long, default_value = "+00:00")]
    timezone: String,
    /// Minutes of inactivity that end a session (for sources without session ids).
    #[arg(long, default_value_t = 30)]
    session_gap_minutes: i64,
    /// A user with more than this many events within a minute is flagged as a bot.
    #[arg(long, default_value_t = 60)]
    bot_events_per_minute: usize,
    /// RetailRocket-style category tree (`categoryid,parentid`) for category paths.
    #[arg(long)]
    category_tree: Option<PathBuf>,
    /// Item → category table (RetailRocket item properties or `item_id,category_id`).
    #[arg(long, requires = "category_tree")]
    item_categories: Option<PathBuf>,
    /// Memory for staged events before days spill to disk, in MiB.
    #[arg(long, default_value_t = 512)]
    memory_mib: usize,
    /// The files to import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl ImportArgs {
    pub fn options(&self) -> anyhow::Result<ImportOptions> {
        let mut options = ImportOptions::new(self.lake.join(".staging"));
        options.format =
            self.format.as_deref().map(str::parse).transpose().map_err(anyhow::Error::msg)?;
        let zone: chrono::FixedOffset = self.timezone.parse().with_context(|| {
            format!("--timezone {:?} is not an offset like +08:00", self.timezone)
        })?;
        let mut parse = ParseOptions {
            time_format: self.time_format.parse::<TimeFormat>().map_err(anyhow::Error::msg)?,
            zone,
            mapping: self
                .map
                .as_deref()
                .map(parse_mapping)
                .transpose()
                .map_err(anyhow::Error::msg)?
                .unwrap_or_default(),
            item_categories: None,
        };
        if let Some(tree_path) = &self.category_tree {
            let tree = CategoryTree::from_csv(tree_path)?;
            let items = match &self.item_categories {
                Some(path) => ItemCategories::from_csv(path, &tree)?,
                None => ItemCategories::default(),
            };
            parse.item_categories = Some(Arc::new(items));
        }
        options.parse = parse;
        options.clean.session_gap = chrono::Duration::minutes(self.session_gap_minutes);
        options.clean.bot_max_events = self.bot_events_per_minute;
        options.memory_budget = self.memory_mib << 20;
        Ok(options)
    }
}

/// Imports files with progress bars.
pub async fn import_with_progress(
    lake: &mut Lake,
    files: &[PathBuf],
    options: ImportOptions,
    output: Output,
) -> anyhow::Result<ImportReport> {
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let reading = progress::bytes_bar(output, total, "reading");
    let mut done_before = 0;
    let mut current: Option<PathBuf> = None;
    let mut writing = None;
    let report = lake::import_files(lake, files, options, &mut |event| match event {
        ImportProgress::Reading { file, bytes, total } => {
            if current.as_ref() != Some(&file) {
                if current.is_some() {
                    done_before += total;
                }
                current = Some(file);
            }
            reading.set_position(done_before + bytes);
        }
        ImportProgress::Writing { done, days } => {
            reading.finish_and_clear();
            let bar = writing
                .get_or_insert_with(|| progress::count_bar(output, days as u64, "writing days"));
            bar.set_position(done as u64);
        }
    })
    .await
    .with_context(|| format!("importing into {}", lake.root().display()))?;
    reading.finish_and_clear();
    if let Some(bar) = writing {
        bar.finish_and_clear();
    }
    Ok(report)
}

pub async fn run(args: ImportArgs, output: Output) -> anyhow::Result<()> {
    for file in &args.files {
        anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
    }
    let options = args.options()?;
    let mut lake = Lake::open_or_create(&args.lake)
        .await
        .with_context(|| format!("opening {}", args.lake.display()))?;
    let report = import_with_progress(&mut lake, &args.files, options, output).await?;
    if output.json {
        output.print_json(&report)?;
    } else if !output.quiet {
        print_report(&report);
    }
    Ok(())
}

pub fn print_report(report: &ImportReport) {
    let s = &report.summary;
    for file in &s.files {
        println!(
            "{}: {} ({} rows read, {} quarantined)",
            file.path, file.format, file.read, file.quarantined
        );
    }
    println!("read         {:>12}", s.read);
    println!("imported     {:>12}", s.imported);
    println!(
        "duplicates   {:>12}  ({} within the import, {} already in the lake)",
        s.duplicates, s.duplicates_in_import, s.already_in_lake
    );
    println!("quarantined  {:>12}", s.quarantined);
    for (reason, count) in &s.quarantined_by_reason {
        println!("  {reason:<24} {count:>8}");
    }
    println!("bot events   {:>12}  ({} user-days flagged)", s.bot_events, s.bot_user_days);
    println!("sessions     {:>12}  derived from 30-minute inactivity", s.sessions_derived);
    if let (Some(first), Some(last)) = (&s.first_date, &s.last_date) {
        println!("dates        {first} .. {last}");
    }
    match report.version {
        Some(version) => {
            println!("lake {} is now at version {version} ({:.1} s)", report.lake, report.seconds)
        }
        None => println!("nothing new for lake {} ({:.1} s)", report.lake, report.seconds),
    }
    if let Some(path) = &report.quarantine_file {
        println!("rejected rows with their reasons: {path}");
    }
}
