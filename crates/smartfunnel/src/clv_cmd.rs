//! `smartfunnel clv`: BG/NBD and Gamma-Gamma fits, holdout check and per-customer
//! lifetime value, from a CDNOW-style transaction log or a lake's purchases.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use clv::{
    BgNbdFit, ClvConfig, CustomerValue, GammaGammaFit, HoldoutEvaluation, TimeUnit, Transaction,
};
use lake::Lake;
use serde::Serialize;

use crate::Output;
use crate::analytics_cmd::print_table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransactionFormat {
    /// The CDNOW log: `customer_id date(YYYYMMDD) number_of_cds dollar_value`.
    Cdnow,
    /// A smartfunnel lake directory: its purchase events, bots left out.
    Lake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unit {
    Days,
    Weeks,
}

impl From<Unit> for TimeUnit {
    fn from(unit: Unit) -> TimeUnit {
        match unit {
            Unit::Days => TimeUnit::Days,
            Unit::Weeks => TimeUnit::Weeks,
        }
    }
}

#[derive(Debug, Args)]
pub struct ClvArgs {
    /// The transaction log (`--format cdnow`) or the lake directory (`--format lake`).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, value_enum, default_value = "lake")]
    format: TransactionFormat,
    /// Last day (UTC) of the calibration period the models are fitted on.
    #[arg(long)]
    calibration_end: NaiveDate,
    /// Last day of the holdout period; default: the last purchase day in the data.
    /// Purchases after the calibration end up to this day are compared with the
    /// predictions.
    #[arg(long)]
    observation_end: Option<NaiveDate>,
    /// Unit of recency, age and the BG/NBD scale `alpha`.
    #[arg(long, value_enum, default_value = "weeks")]
    unit: Unit,
    /// Months of future purchases counted in the lifetime value.
    #[arg(long, default_value_t = 12)]
    horizon_months: u32,
    /// Discount rate per month.
    #[arg(long, default_value_t = 0.01)]
    monthly_discount_rate: f64,
    /// Customers listed, by lifetime value.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Also write every customer's row (customer, frequency, recency, T, monetary,
    /// p_alive, expected_purchases, expected_order_value, clv) to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Everything `smartfunnel clv` computes; the `--json` output.
#[derive(Debug, Serialize)]
pub struct ClvAnalysis {
    pub customers: usize,
    pub unit: TimeUnit,
    pub calibration_end: NaiveDate,
    pub observation_end: NaiveDate,
    pub bgnbd: BgNbdFit,
    pub gamma_gamma: GammaGammaFit,
    /// Present when the data goes past the calibration end.
    pub holdout: Option<HoldoutEvaluation>,
    pub config: ClvConfig,
    /// Summed over the customers with a finite value (see `GammaGammaParams::expected_order_value`).
    pub total_clv: f64,
    pub mean_p_alive: f64,
    /// Customers by P(alive) in tenths: `[0, 0.1)`, …, `[0.9, 1.0]`.
    pub p_alive_histogram: Vec<usize>,
    /// The customers with the highest lifetime value, highest first.
    pub top_customers: Vec<CustomerValue>,
    #[serde(skip)]
    pub all_customers: Vec<CustomerValue>,
}

/// The holdout table groups calibration frequencies from this one up.
const LAST_FREQUENCY_ROW: u32 = 7;

/// Fits both models on the purchases up to `calibration_end` and predicts.
pub fn analyse(
    transactions: &[Transaction],
    calibration_end: NaiveDate,
    observation_end: Option<NaiveDate>,
    config: ClvConfig,
    top: usize,
) -> anyhow::Result<ClvAnalysis> {
    let last_day = transactions.iter().map(|t| t.date).max().context("no purchases")?;
    let observation_end = observation_end.unwrap_or_else(|| last_day.max(calibration_end));
    let split =
        clv::calibration_and_holdout(transactions, calibration_end, observation_end, config.unit)?;
    let summaries: Vec<clv::CustomerSummary> =
        split.customers.iter().map(|c| c.calibration.clone()).collect();
    let bgnbd = clv::fit_bgnbd(&summaries).context("fitting BG/NBD")?;
    let gamma_gamma = clv::fit_gamma_gamma(&summaries).context("fitting Gamma-Gamma")?;
    let holdout = (observation_end > calibration_end)
        .then(|| clv::evaluate_holdout(&bgnbd.params, &split, LAST_FREQUENCY_ROW));
    let mut values =
        clv::predict_customers(&bgnbd.params, &gamma_gamma.params, &summaries, &config)?;
    let customers = values.len();
    let mut p_alive_histogram = vec![0; 10];
    for value in &values {
        p_alive_histogram[((value.p_alive * 10.0) as usize).min(9)] += 1;
    }
    let mean_p_alive = values.iter().map(|v| v.p_alive).sum::<f64>() / customers as f64;
    // Customers without repeat orders have no value when Gamma-Gamma's q ≤ 1 (NaN).
    let total_clv = values.iter().map(|v| v.clv).filter(|clv| clv.is_finite()).sum();
    let mut ranked: Vec<CustomerValue> =
        values.iter().filter(|v| v.clv.is_finite()).cloned().collect();
    ranked.sort_by(|a, b| b.clv.total_cmp(&a.clv).then_with(|| a.customer.cmp(&b.customer)));
    ranked.truncate(top);
    values.sort_by(|a, b| a.customer.cmp(&b.customer));
    Ok(ClvAnalysis {
        customers,
        unit: config.unit,
        calibration_end,
        observation_end,
        bgnbd,
        gamma_gamma,
        holdout,
        config,
        total_clv,
        mean_p_alive,
        p_alive_histogram,
        top_customers: ranked,
        all_customers: values,
    })
}

/// Purchases in the lake as transactions: one per user, UTC day and row, worth
/// price × quantity (quantity 1 when missing); bot traffic left out.
pub async fn lake_transactions(lake: &Lake) -> anyhow::Result<Vec<Transaction>> {
    let batches = lake
        .sql(
            "SELECT user_id, CAST(CAST(event_time AS DATE) AS VARCHAR) AS day, \
             CAST(COALESCE(price, 0) * COALESCE(quantity, 1) AS DOUBLE) AS amount \
             FROM events WHERE event_type = 'purchase' AND NOT is_bot",
        )
        .await
        .context("reading purchases from the lake")?;
    let mut transactions = Vec::new();
    for batch in &batches {
        let users = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let days = arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
        let (users, days) = (users.as_string::<i32>(), days.as_string::<i32>());
        let amounts = batch.column(2).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            if users.is_null(row) || days.is_null(row) {
                continue;
            }
            let date = NaiveDate::parse_from_str(days.value(row), "%Y-%m-%d")
                .with_context(|| format!("purchase day {:?}", days.value(row)))?;
            let amount = if amounts.is_null(row) { 0.0 } else { amounts.value(row) };
            transactions.push(Transaction { customer: users.value(row).to_string(), date, amount });
        }
    }
    Ok(transactions)
}

fn read_transactions_file(path: &Path) -> anyhow::Result<Vec<Transaction>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    clv::read_cdnow(BufReader::new(file)).with_context(|| format!("reading {}", path.display()))
}

fn write_customers(path: &Path, customers: &[CustomerValue]) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    writer.write_record([
        "customer",
        "frequency",
        "recency",
        "T",
        "monetary",
        "p_alive",
        "expected_purchases",
        "expected_order_value",
        "clv",
    ])?;
    for c in customers {
        writer.write_record([
            c.customer.clone(),
            c.frequency.to_string(),
            c.recency.to_string(),
            c.age.to_string(),
            c.monetary.to_string(),
            c.p_alive.to_string(),
            c.expected_purchases.to_string(),
            c.expected_order_value.to_string(),
            c.clv.to_string(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

pub async fn run(args: ClvArgs, output: Output) -> anyhow::Result<()> {
    let transactions = match args.format {
        TransactionFormat::Cdnow => read_transactions_file(&args.data)?,
        TransactionFormat::Lake => {
            let lake = Lake::open(&args.data)
                .await
                .with_context(|| format!("opening {}", args.data.display()))?;
            lake_transactions(&lake).await?
        }
    };
    let config = ClvConfig {
        horizon_months: args.horizon_months,
        monthly_discount_rate: args.monthly_discount_rate,
        unit: args.unit.into(),
    };
    let analysis =
        analyse(&transactions, args.calibration_end, args.observation_end, config, args.top)?;
    if let Some(path) = &args.out {
        write_customers(path, &analysis.all_customers)?;
    }
    if output.json {
        return output.print_json(&analysis);
    }
    print_analysis(&analysis);
    if let Some(path) = &args.out {
        println!("\nper-customer values written to {}", path.display());
    }
    Ok(())
}

fn print_analysis(analysis: &ClvAnalysis) {
    let unit = match analysis.unit {
        TimeUnit::Days => "days",
        TimeUnit::Weeks => "weeks",
    };
    let b = &analysis.bgnbd;
    let g = &analysis.gamma_gamma;
    println!(
        "{} customers, calibration period up to {} (time unit: {unit})",
        analysis.customers, analysis.calibration_end
    );
    println!(
        "BG/NBD       r {:.4}  alpha {:.4}  a {:.4}  b {:.4}  (log-likelihood {:.2})",
        b.params.r, b.params.alpha, b.params.a, b.params.b, b.log_likelihood
    );
    println!(
        "Gamma-Gamma  p {:.4}  q {:.4}  v {:.4}  ({} repeat customers with spend)",
        g.params.p, g.params.q, g.params.v, g.customers
    );
    if g.params.q <= 1.0 {
        println!("note: q ≤ 1, so customers without repeat orders have no finite value (NaN)");
    }
    if let Some(holdout) = &analysis.holdout {
        println!(
            "\nholdout to {} ({:.1} {unit}): {:.0} purchases, {:.1} predicted, MAE per customer {:.4}",
            analysis.observation_end,
            holdout.holdout_duration,
            holdout.actual_total,
            holdout.predicted_total,
            holdout.mae
        );
        let rows: Vec<Vec<String>> = holdout
            .by_frequency
            .iter()
            .map(|row| {
                vec![
                    format!("{}{}", row.frequency, if row.and_above { "+" } else { "" }),
                    row.customers.to_string(),
                    format!("{:.3}", row.actual_mean),
                    format!("{:.3}", row.predicted_mean),
                ]
            })
            .collect();
        let header = ["calibration purchases", "customers", "actual mean", "predicted mean"]
            .map(String::from);
        print_table(&header, &rows);
    }
    println!(
        "\nlifetime value over {} months at {}%/month: total {:.2}, mean P(alive) {:.3}",
        analysis.config.horizon_months,
        analysis.config.monthly_discount_rate * 100.0,
        analysis.total_clv,
        analysis.mean_p_alive
    );
    let rows: Vec<Vec<String>> = analysis
        .top_customers
        .iter()
        .map(|c| {
            vec![
                c.customer.clone(),
                format!("{}", c.frequency),
                format!("{:.1}", c.recency),
                format!("{:.1}", c.age),
                format!("{:.2}", c.monetary),
                format!("{:.3}", c.p_alive),
                format!("{:.2}", c.expected_purchases),
                format!("{:.2}", c.clv),
            ]
        })
        .collect();
    let header =
        ["customer", "frequency", "recency", "T", "monetary", "p_alive", "expected", "clv"]
            .map(String::from);
    print_table(&header, &rows);
}
