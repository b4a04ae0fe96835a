//! `smartfunnel lake info|erase`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lake::Lake;

use crate::Output;

#[derive(Debug, Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Debug, Subcommand)]
enum LakeCommand {
    /// Versions, row counts, date range and history.
    Info {
        #[arg(long)]
        lake: PathBuf,
    },
    /// Delete every event of one user (an erasure request), vacuum the old
    /// files and scrub the quarantine file.
    Erase {
        #[arg(long)]
        lake: PathBuf,
        #[arg(long)]
        user: String,
    },
}

pub async fn run(args: LakeArgs, output: Output) -> anyhow::Result<()> {
    match args.command {
        LakeCommand::Info { lake } => {
            let info = Lake::open(&lake).await?.info().await?;
            if output.json {
                return output.print_json(&info);
            }
            println!("lake          {}", info.path);
            println!("version       {}", info.version);
            println!("files         {} ({:.1} MiB)", info.files, info.bytes as f64 / 1048576.0);
            println!("events        {}", info.events);
            println!("users         {}", info.users);
            println!("sessions      {}", info.sessions);
            println!("bot events    {}", info.bot_events);
            println!(
                "dates         {} .. {}",
                info.first_date.as_deref().unwrap_or("-"),
                info.last_date.as_deref().unwrap_or("-")
            );
            println!(
                "quarantined   {} rows in {}/quarantine.jsonl",
                info.quarantined_rows, info.path
            );
            println!("event types:");
            for (kind, count) in &info.by_event_type {
                println!("  {kind:<20} {count:>12}");
            }
            println!("history (newest first):");
            for commit in &info.history {
                let when = commit
                    .timestamp
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                println!(
                    "  v{:<4} {when}  {}",
                    commit.version,
                    commit.operation.as_deref().unwrap_or("?")
                );
            }
        }
        LakeCommand::Erase { lake, user } => {
            let mut lake = Lake::open(&lake).await?;
            let report = lake.erase_user(&user).await?;
            if output.json {
                return output.print_json(&report);
            }
            println!(
                "erased {} events of user {} ({} files rewritten, {} old files vacuumed, {} review insights and {} quarantine lines removed); lake at version {}",
                report.events_deleted,
                report.user_id,
                report.files_rewritten,
                report.files_vacuumed,
                report.insights_deleted,
                report.quarantine_lines_removed,
                report.version
            );
        }
    }
    Ok(())
}
