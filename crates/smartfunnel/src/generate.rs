//! `smartfunnel generate`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use generator::{CsvEventWriter, Generator, GeneratorConfig};
use ingest::ImportOptions;
use lake::{ImportProgress, ImportReport, Lake};
use serde::Serialize;

use crate::{Output, progress};

#[derive(Debug, Args, Clone)]
pub struct GenerateArgs {
    /// Shoppers in the population (about 25–40 events each over 30 days).
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Days of activity.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Same seed, same events, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long)]
    pub start_date: Option<chrono::NaiveDate>,
    /// Write canonical CSV to this file.
    #[arg(long, conflicts_with = "lake", required_unless_present = "lake")]
    pub out: Option<PathBuf>,
    /// Import straight into this lake instead.
    #[arg(long)]
    pub lake: Option<PathBuf>,
}

impl GenerateArgs {
    /// Whether the events go through the import into a lake (not to a file).
    pub fn writes_lake(&self) -> bool {
        self.lake.is_some()
    }

    pub fn generator(&self) -> anyhow::Result<Generator> {
        let mut config = GeneratorConfig::new(self.users, self.days, self.seed);
        if let Some(start) = self.start_date {
            config.start_date = start;
        }
        Ok(Generator::new(config)?)
    }
}

#[derive(Debug, Serialize)]
struct Generated {
    events: u64,
    users: u64,
    days: u32,
    seed: u64,
    out: String,
    bytes: u64,
    seconds: f64,
}

/// Writes the generated stream as canonical CSV; returns the event count.
pub fn write_csv(
    args: &GenerateArgs,
    path: &std::path::Path,
    output: Output,
) -> anyhow::Result<u64> {
    let mut generator = args.generator()?;
    let bar = progress::count_bar(output, generator.expected_events(), "generating");
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = CsvEventWriter::new(std::io::BufWriter::with_capacity(1 << 20, file))?;
    let mut events = 0;
    while let Some(day) = generator.next_day() {
        writer.write_all(&day).with_context(|| format!("writing {}", path.display()))?;
        events += day.len() as u64;
        bar.set_position(events);
    }
    writer.finish()?.flush()?;
    bar.finish_and_clear();
    Ok(events)
}

/// Generates straight into a lake, one commit.
pub async fn into_lake(
    args: &GenerateArgs,
    lake: &mut Lake,
    output: Output,
) -> anyhow::Result<ImportReport> {
    let mut generator = args.generator()?;
    let bar = progress::count_bar(output, generator.expected_events(), "generating");
    let options = ImportOptions::new(lake.root().join(".staging"));
    let source = format!("generated:users={},days={},seed={}", args.users, args.days, args.seed);
    let mut generated = 0;
    let report = lake::import_with(
        lake,
        options,
        &mut |_: ImportProgress| {},
        &mut |importer, quarantine, _| {
            while let Some(day) = generator.next_day() {
                generated += day.len() as u64;
                bar.set_position(generated);
                importer.push_events(&day, &source, quarantine)?;
            }
            Ok(())
        },
    )
    .await?;
    bar.finish_and_clear();
    Ok(report)
}

pub async fn run(args: GenerateArgs, output: Output) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(root) = &args.lake {
        let mut lake = Lake::open_or_create(root).await?;
        let report = into_lake(&args, &mut lake, output).await?;
        if output.json {
            return output.print_json(&report);
        }
        if !output.quiet {
            crate::import::print_report(&report);
        }
        return Ok(());
    }
    let path = args.out.clone().expect("clap requires --out or --lake");
    let events = write_csv(&args, &path, output)?;
    let generated = Generated {
        events,
        users: args.users,
        days: args.days,
        seed: args.seed,
        bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        out: path.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if output.json {
        output.print_json(&generated)?;
    } else if !output.quiet {
        println!(
            "wrote {} events of {} users over {} days to {} ({:.1} MiB, {:.1} s)",
            generated.events,
            generated.users,
            generated.days,
            generated.out,
            generated.bytes as f64 / 1_048_576.0,
            generated.seconds
        );
    }
    Ok(())
}
