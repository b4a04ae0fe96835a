//! `smartfunnel cluster kmeans`: K-Means on a numeric table from a file, mainly so that
//! the benchmark can run the `cluster` crate on the same file as scikit-learn.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use clap::{Args, Subcommand};
use cluster::{KMeans, KMeansConfig, Matrix, Scalar};
use serde::Serialize;

use crate::Output;
use crate::analytics_cmd::print_table;

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// K-Means with k-means++ seeding on the rows of a CSV or `.npy` file.
    Kmeans(KmeansArgs),
}

#[derive(Debug, Args)]
struct KmeansArgs {
    /// Rows to cluster: a `.npy` file (2-D, C order, float32 or float64) or a CSV file
    /// of numbers (an optional header line is skipped).
    #[arg(long)]
    data: PathBuf,
    /// Number of clusters.
    #[arg(long)]
    k: usize,
    /// k-means++ seedings, each followed by Lloyd iterations; the best is kept.
    #[arg(long, default_value_t = 1)]
    init_runs: usize,
    /// Most Lloyd iterations per seeding.
    #[arg(long, default_value_t = 300)]
    max_iter: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads; 0 for one per core.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Rows drawn for the silhouette (0 to skip it).
    #[arg(long, default_value_t = 10_000)]
    silhouette_sample: usize,
}

#[derive(Debug, Serialize)]
struct KmeansSummary {
    rows: usize,
    columns: usize,
    element_type: &'static str,
    k: usize,
    init_runs: usize,
    max_iterations: usize,
    threads: usize,
    iterations: usize,
    inertia: f64,
    silhouette: Option<f64>,
    silhouette_sample: usize,
    cluster_sizes: Vec<usize>,
    load_seconds: f64,
    fit_seconds: f64,
    silhouette_seconds: f64,
}

pub fn run(args: ClusterArgs, output: Output) -> anyhow::Result<()> {
    let ClusterCommand::Kmeans(args) = args.command;
    let threads = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("starting the worker threads")?;
    let started = Instant::now();
    let summary = match read_table(&args.data)? {
        Table::F32(data) => threads.install(|| kmeans(&data, "f32", &args, started))?,
        Table::F64(data) => threads.install(|| kmeans(&data, "f64", &args, started))?,
    };
    let summary = KmeansSummary { threads: threads.current_num_threads(), ..summary };
    if output.json {
        return output.print_json(&summary);
    }
    println!(
        "{} rows × {} columns ({}), k {}: {} iterations, inertia {:.6e}, fit {:.3} s on {} threads",
        summary.rows,
        summary.columns,
        summary.element_type,
        summary.k,
        summary.iterations,
        summary.inertia,
        summary.fit_seconds,
        summary.threads
    );
    if let Some(silhouette) = summary.silhouette {
        println!("silhouette {silhouette:.4} on {} sampled rows", summary.silhouette_sample);
    }
    let rows: Vec<Vec<String>> = summary
        .cluster_sizes
        .iter()
        .enumerate()
        .map(|(cluster, size)| vec![cluster.to_string(), size.to_string()])
        .collect();
    print_table(&["cluster".to_string(), "rows".to_string()], &rows);
    Ok(())
}

fn kmeans<T: Scalar>(
    data: &Matrix<T>,
    element_type: &'static str,
    args: &KmeansArgs,
    started: Instant,
) -> anyhow::Result<KmeansSummary> {
    let load_seconds = started.elapsed().as_secs_f64();
    let config = KMeansConfig {
        k: args.k,
        init_runs: args.init_runs,
        max_iterations: args.max_iter,
        tolerance: 0.0,
        seed: args.seed,
    };
    let fit_started = Instant::now();
    let model = KMeans::fit(data, &config)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    let silhouette_started = Instant::now();
    let sample = args.silhouette_sample.min(data.rows());
    let silhouette = if sample >= 2 && args.k >= 2 {
        Some(cluster::silhouette_score_sampled(data, &model.labels, sample, args.seed)?)
    } else {
        None
    };
    let mut cluster_sizes = vec![0; args.k];
    for &label in &model.labels {
        cluster_sizes[label] += 1;
    }
    Ok(KmeansSummary {
        rows: data.rows(),
        columns: data.columns(),
        element_type,
        k: args.k,
        init_runs: args.init_runs,
        max_iterations: args.max_iter,
        threads: 0,
        iterations: model.iterations,
        inertia: model.inertia,
        silhouette,
        silhouette_sample: sample,
        cluster_sizes,
        load_seconds,
        fit_seconds,
        silhouette_seconds: silhouette_started.elapsed().as_secs_f64(),
    })
}

enum Table {
    F32(Matrix<f32>),
    F64(Matrix<f64>),
}

fn read_table(path: &Path) -> anyhow::Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"\x93NUMPY") {
        read_npy(&bytes).with_context(|| format!("reading {} as .npy", path.display()))
    } else {
        read_csv(&bytes).with_context(|| format!("reading {} as CSV", path.display()))
    }
}

/// A `.npy` array (format versions 1–3): magic, version, header length, a Python dict
/// literal with `descr`, `fortran_order` and `shape`, then the raw values.
fn read_npy(bytes: &[u8]) -> anyhow::Result<Table> {
    ensure!(bytes.len() >= 10, "the file ends inside the header");
    let (header_length, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "the file ends inside the header");
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        version => bail!("unknown .npy format version {version}"),
    };
    let body_start = header_start + header_length;
    let header = std::str::from_utf8(bytes.get(header_start..body_start).context("short header")?)?;
    let field = |name: &str| -> anyhow::Result<&str> {
        let key = format!("'{name}':");
        let at = header.find(&key).with_context(|| format!("no {name} in {header:?}"))?;
        Ok(header[at + key.len()..].trim_start())
    };
    ensure!(field("fortran_order")?.starts_with("False"), "only C-order arrays are read");
    let shape = field("shape")?;
    let shape = &shape[1..shape.find(')').context("unterminated shape")?];
    let dimensions: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let [rows, columns] = dimensions[..] else {
        bail!("expected a 2-D array, got shape ({shape})")
    };
    let body = &bytes[body_start..];
    let descr = field("descr")?;
    if descr.starts_with("'<f4'") {
        ensure!(
            body.len() == rows * columns * 4,
            "the data is not {rows} × {columns} float32 values"
        );
        let values =
            body.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(Table::F32(Matrix::new(values, columns)?))
    } else if descr.starts_with("'<f8'") {
        ensure!(
            body.len() == rows * columns * 8,
            "the data is not {rows} × {columns} float64 values"
        );
        let values = body
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        Ok(Table::F64(Matrix::new(values, columns)?))
    } else {
        bail!("unsupported dtype {descr:?}: use little-endian float32 or float64")
    }
}

fn read_csv(bytes: &[u8]) -> anyhow::Result<Table> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    let mut values = Vec::new();
    let mut columns = 0;
    for (index, record) in reader.records().enumerate() {
        let record = record?;
        let parsed: Result<Vec<f64>, _> =
            record.iter().map(|field| field.trim().parse::<f64>()).collect();
        match parsed {
            Ok(row) => {
                if columns == 0 {
                    columns = row.len();
                }
                ensure!(
                    row.len() == columns,
                    "line {}: {} values, expected {columns}",
                    index + 1,
                    row.len()
                );
                values.extend(row);
            }
            Err(_) if index == 0 => continue, // a header
            Err(error) => bail!("line {}: {error}", index + 1),
        }
    }
    ensure!(columns > 0, "no rows of numbers");
    Ok(Table::F64(Matrix::new(values, columns)?))
}
