//! The report sections of customer lifetime value: CLV on the lake's purchases, value
//! segments (K-Means on the per-customer predictions), and the CDNOW reference fit.

use chrono::{Duration, NaiveDate};
use cluster::{FeatureStats, FeatureWords, KMeansConfig, Matrix};
use clv::{ClvConfig, CustomerValue, TimeUnit};
use lake::Lake;
use report::{BarChart, Kpi, Section, Series, Table, format_count, format_decimal, format_percent};

use crate::clv_cmd::{ClvAnalysis, analyse, lake_transactions};
use crate::segment_report::{projection_scatter, silhouettes_text};

/// The CDNOW log of the BG/NBD paper and lifetimes, shipped to show the fit on real data.
const CDNOW_LOG: &[u8] = include_bytes!("../../../tests/data/cdnow/CDNOW_master.txt");

/// lifetimes 0.11.3 on the same log, calibration to 1997-09-30 in weeks
/// (`bench/clv_peers.py`; rounded in tests/data/cdnow/PROVENANCE.md).
const LIFETIMES_CDNOW: [(&str, f64); 7] = [
    ("r", 0.251624011424104),
    ("alpha", 4.788945170327028),
    ("a", 0.7234330357288162),
    ("b", 2.161086981372379),
    ("p", 6.275358592836066),
    ("q", 3.624450210391096),
    ("v", 14.983688961951682),
];
const LIFETIMES_CDNOW_HOLDOUT_MAE: f64 = 0.8187422923395584;

/// Fewest customers the value segments are drawn for.
const MIN_CUSTOMERS_FOR_SEGMENTS: usize = 20;

/// CLV on the lake's purchases, value segments, and the CDNOW fit, in that order. Data
/// too thin to fit is reported in the section rather than failing the report.
pub async fn clv_sections(lake: &Lake) -> anyhow::Result<Vec<Section>> {
    let transactions = lake_transactions(lake).await?;
    let mut sections = Vec::new();
    let first = transactions.iter().map(|t| t.date).min();
    let last = transactions.iter().map(|t| t.date).max();
    let mut shop = Section::new("Customer lifetime value");
    let fitted = match (first, last) {
        (Some(first), Some(last)) => {
            // Two thirds of the purchase history to fit, the rest to check the predictions.
            let calibration_end = first + Duration::days((last - first).num_days() * 2 / 3);
            // A generated shop covers weeks, not years: value the next month only.
            let config =
                ClvConfig { horizon_months: 1, ..ClvConfig::twelve_months(TimeUnit::Days) };
            match analyse(&transactions, calibration_end, Some(last), config, 10) {
                Ok(analysis) => Some(analysis),
                Err(error) => {
                    shop.paragraph(format!(
                        "The purchases are too few to fit the models: {error:#}."
                    ));
                    None
                }
            }
        }
        _ => {
            shop.paragraph("The lake has no purchases, so there is no lifetime value to estimate.");
            None
        }
    };
    if let Some(analysis) = &fitted {
        describe_shop_fit(&mut shop, analysis);
    }
    sections.push(shop);
    if let Some(analysis) = &fitted
        && analysis.all_customers.len() >= MIN_CUSTOMERS_FOR_SEGMENTS
    {
        sections.push(value_segments(&analysis.all_customers).unwrap_or_else(|error| {
            let mut section = Section::new("Customer value segments");
            section.paragraph(format!("The customers could not be segmented: {error:#}."));
            section
        }));
    }
    sections.push(cdnow_section()?);
    Ok(sections)
}

fn describe_shop_fit(section: &mut Section, analysis: &ClvAnalysis) {
    let (b, g) = (&analysis.bgnbd.params, &analysis.gamma_gamma.params);
    let repeat = analysis.all_customers.iter().filter(|c| c.frequency > 0.0).count();
    section
        .paragraph(format!(
            "Buy-till-you-die models fitted on the purchases up to {} (orders are purchase days, \
             time in days): BG/NBD predicts how many more purchases a customer makes and how likely \
             they are still active (P(alive)); Gamma-Gamma predicts what an order is worth. Lifetime \
             value is the expected spend over the next {} month(s), discounted at {}% a month.",
            analysis.calibration_end,
            analysis.config.horizon_months,
            analysis.config.monthly_discount_rate * 100.0
        ))
        .kpis(vec![
            Kpi::new("Customers", format_count(analysis.customers as f64))
                .with_detail(format!("{} bought again", format_count(repeat as f64))),
            Kpi::new(
                format!("{}-month value", analysis.config.horizon_months),
                format_decimal(analysis.total_clv, 0),
            )
            .with_detail("all customers, discounted"),
            Kpi::new("Mean P(alive)", format_percent(analysis.mean_p_alive)),
        ])
        .table(
            Table::new(["model", "parameters"])
                .row([
                    "BG/NBD".to_string(),
                    format!("r {:.4}, alpha {:.4}, a {:.4}, b {:.4}", b.r, b.alpha, b.a, b.b),
                ])
                .row([
                    "Gamma-Gamma".to_string(),
                    format!(
                        "p {:.4}, q {:.4}, v {:.4} ({} repeat customers with spend)",
                        g.p, g.q, g.v, analysis.gamma_gamma.customers
                    ),
                ]),
        );
    if g.q <= 1.0 {
        section.paragraph(format!(
            "Gamma-Gamma's q is {:.3}, at most 1: the model's population mean order value is \
             infinite, so customers without repeat orders get no value here (they count neither \
             in the total nor in the segments).",
            g.q
        ));
    }
    let labels: Vec<String> =
        (0..10).map(|tenth| format!("{}–{}%", tenth * 10, tenth * 10 + 10)).collect();
    let counts: Vec<f64> = analysis.p_alive_histogram.iter().map(|&n| n as f64).collect();
    section.bar_chart(BarChart::new("Customers by P(alive)", labels, counts));
    if let Some(holdout) = &analysis.holdout {
        let labels: Vec<String> = holdout
            .by_frequency
            .iter()
            .map(|row| format!("{}{}", row.frequency, if row.and_above { "+" } else { "" }))
            .collect();
        section.paragraph(format!(
            "Holdout check: after the calibration end up to {}, customers made {} purchases and the \
             model predicted {}; the mean absolute error per customer is {}.",
            analysis.observation_end,
            format_count(holdout.actual_total),
            format_decimal(holdout.predicted_total, 1),
            format_decimal(holdout.mae, 3)
        ));
        section.bar_chart(BarChart::with_series(
            "Holdout purchases per customer, by purchases in the calibration period",
            labels,
            vec![
                Series::new(
                    "actual",
                    holdout.by_frequency.iter().map(|r| r.actual_mean).collect::<Vec<_>>(),
                ),
                Series::new(
                    "predicted",
                    holdout.by_frequency.iter().map(|r| r.predicted_mean).collect::<Vec<_>>(),
                ),
            ],
        ));
    }
    let mut top =
        Table::new(["customer", "repeat purchases", "P(alive)", "expected purchases", "value"])
            .with_numeric_columns([1, 2, 3, 4])
            .with_caption("The ten customers with the highest value");
    for customer in &analysis.top_customers {
        top = top.row([
            customer.customer.clone(),
            format_count(customer.frequency),
            format_percent(customer.p_alive),
            format_decimal(customer.expected_purchases, 2),
            format_decimal(customer.clv, 2),
        ]);
    }
    section.table(top);
}

/// K-Means on the standardised per-customer predictions, k chosen by silhouette, each
/// segment described in words and drawn on the two principal components.
fn value_segments(customers: &[CustomerValue]) -> anyhow::Result<Section> {
    let words = [
        FeatureWords::new("repeat purchases", "one-off", "frequent"),
        FeatureWords::new("days since first purchase", "new", "long-standing"),
        FeatureWords::new("order value", "small-basket", "big-basket"),
        FeatureWords::new("P(alive)", "fading", "active"),
        FeatureWords::new("value", "low-value", "high-value"),
    ];
    // Customers without a finite value (one-off buyers when Gamma-Gamma's q ≤ 1) are
    // left out: the features must be numbers.
    let customers: Vec<&CustomerValue> = customers.iter().filter(|c| c.clv.is_finite()).collect();
    let rows: Vec<Vec<f64>> = customers
        .iter()
        .map(|c| vec![c.frequency, c.age, c.expected_order_value, c.p_alive, c.clv])
        .collect();
    let data = Matrix::from_rows(&rows)?;
    let population = FeatureStats::of(&data);
    let standard = population.standardize(&data);
    let chosen = cluster::choose_k(
        &standard,
        2..=5,
        &KMeansConfig { init_runs: 3, ..KMeansConfig::new(2) },
        2_000,
    )?;
    let projection = cluster::pca_2d(&standard)?;
    let model = &chosen.model;
    let mut sizes = vec![0usize; chosen.best_k];
    for &label in &model.labels {
        sizes[label] += 1;
    }
    let mut table = Table::new(["segment", "customers", "mean value", "description"])
        .with_numeric_columns([1, 2]);
    let mut names = Vec::new();
    for (segment, &size) in sizes.iter().enumerate() {
        let centroid = population.unstandardize_row(model.centroids.row(segment));
        let share = size as f64 / customers.len() as f64;
        let description = cluster::describe_cluster(&centroid, &population, &words, share)?;
        names.push(format!("segment {}", segment + 1));
        table = table.row([
            format!("segment {}", segment + 1),
            format_count(size as f64),
            format_decimal(centroid[4], 2),
            description.text,
        ]);
    }
    let mut section = Section::new("Customer value segments");
    section
        .paragraph(format!(
            "K-Means (k-means++ seeding, 3 restarts) on the standardised repeat purchases, customer \
             age, expected order value, P(alive) and value of each customer. k = {} has the \
             best silhouette of 2 to 5 ({}). Descriptions name the features on which a segment's \
             centre lies farthest from the average customer.",
            chosen.best_k,
            silhouettes_text(&chosen.candidates)
        ))
        .table(table)
        .scatter(projection_scatter("Customers", &projection, &model.labels, names));
    Ok(section)
}

fn cdnow_section() -> anyhow::Result<Section> {
    let transactions = clv::read_cdnow(CDNOW_LOG)?;
    let calibration_end = NaiveDate::from_ymd_opt(1997, 9, 30).expect("a valid date");
    let observation_end = NaiveDate::from_ymd_opt(1998, 6, 30).expect("a valid date");
    let analysis = analyse(
        &transactions,
        calibration_end,
        Some(observation_end),
        ClvConfig::twelve_months(TimeUnit::Weeks),
        0,
    )?;
    let (b, g) = (&analysis.bgnbd.params, &analysis.gamma_gamma.params);
    let ours = [b.r, b.alpha, b.a, b.b, g.p, g.q, g.v];
    let mut table = Table::new(["parameter", "smartfunnel", "lifetimes 0.11.3", "difference"])
        .with_numeric_columns([1, 2, 3]);
    for ((name, reference), value) in LIFETIMES_CDNOW.iter().zip(ours) {
        table = table.row([
            name.to_string(),
            format_decimal(value, 4),
            format_decimal(*reference, 4),
            format_percent((value - reference) / reference),
        ]);
    }
    let mae = analysis.holdout.as_ref().map_or(f64::NAN, |h| h.mae);
    table = table.row([
        "holdout MAE".to_string(),
        format_decimal(mae, 4),
        format_decimal(LIFETIMES_CDNOW_HOLDOUT_MAE, 4),
        format_percent((mae - LIFETIMES_CDNOW_HOLDOUT_MAE) / LIFETIMES_CDNOW_HOLDOUT_MAE),
    ]);
    let mut section = Section::new("Lifetime value on CDNOW, against lifetimes");
    section
        .paragraph(format!(
            "The same models on the CDNOW log of the BG/NBD paper ({} customers, purchases from \
             1997 to mid-1998; calibration to {calibration_end}, time in weeks, holdout to \
             {observation_end}), next to the Python package lifetimes on the same data.",
            format_count(analysis.customers as f64)
        ))
        .table(table);
    Ok(section)
}
