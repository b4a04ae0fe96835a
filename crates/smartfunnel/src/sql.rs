//! `smartfunnel sql`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lake::Lake;

use crate::Output;

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The lake directory.
    #[arg(long)]
    lake: PathBuf,
    /// One SQL statement; the events are in the table `events`.
    query: String,
}

pub async fn run(args: SqlArgs, output: Output) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake).await?;
    let batches =
        lake.sql(&args.query).await.with_context(|| format!("running {:?}", args.query))?;
    if output.json {
        let mut writer = arrow::json::ArrayWriter::new(Vec::new());
        for batch in &batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        let text = String::from_utf8(writer.into_inner())?;
        // The JSON writer writes nothing for no rows.
        println!("{}", if text.trim().is_empty() { "[]" } else { text.trim() });
    } else {
        println!("{}", Lake::pretty(&batches)?);
    }
    Ok(())
}
