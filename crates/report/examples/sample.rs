//! Renders a report with every block and chart kind to
//! `/tmp/report-sample.html` (or the path given as the first argument), to
//! look at in a browser.

use std::path::PathBuf;

use report::{
    BarChart, FunnelChart, Heatmap, Kpi, LineChart, Report, Scatter, Series, Table, ValueFormat,
    format_count, format_percent,
};

/// A small deterministic generator so that the sample needs no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Irwin–Hall: close enough to a normal for a picture.
        (0..12).map(|_| self.next()).sum::<f64>() - 6.0
    }
}

fn main() -> std::io::Result<()> {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("/tmp/report-sample.html"), PathBuf::from);
    let mut random = Lcg(42);
    let mut report = Report::new("Shop analytics — sample");
    report.subtitle("Synthetic data, 1 Oct – 31 Dec 2019, all channels");

    let days: Vec<String> = (1..=92)
        .map(|day| format!("2019-{:02}-{:02}", 10 + (day - 1) / 31, (day - 1) % 31 + 1))
        .collect();
    let visitors: Vec<f64> = (0..days.len())
        .map(|i| {
            12_000.0 + 3_000.0 * (i as f64 / 7.0).sin() + 40.0 * i as f64 + 800.0 * random.normal()
        })
        .collect();
    let buyers: Vec<f64> = visitors.iter().map(|v| v * (0.06 + 0.01 * random.normal())).collect();

    report
        .section("Overview")
        .paragraph("Visitors, orders and revenue over the quarter. Hover any bar or point for its exact value.")
        .kpis(vec![
            Kpi::new("Visitors", format_count(visitors.iter().sum())).with_detail("+8.2% vs. previous quarter"),
            Kpi::new("Orders", format_count(48_213.0)).with_detail("1.9 per buyer"),
            Kpi::new("Conversion", format_percent(0.0412)),
            Kpi::new("Revenue", "$2,481,337"),
        ])
        .line_chart(
            LineChart::new(
                "Daily visitors and buyers",
                days.clone(),
                vec![Series::new("Visitors", visitors), Series::new("Buyers", buyers)],
            )
            .with_y_label("Users"),
        );

    report
        .section("Purchase funnel")
        .funnel_chart(FunnelChart::new(
            "View → cart → checkout → purchase",
            [
                ("Viewed a product", 1_204_511.0),
                ("Added to cart", 342_977.0),
                ("Started checkout", 121_408.0),
                ("Purchased", 48_213.0),
            ],
        ))
        .table(
            Table::new(["Step", "Users", "Of previous", "Of first"])
                .row(["Viewed a product", "1,204,511", "", "100.0%"])
                .row(["Added to cart", "342,977", "28.5%", "28.5%"])
                .row(["Started checkout", "121,408", "35.4%", "10.1%"])
                .row(["Purchased", "48,213", "39.7%", "4.0%"])
                .with_caption("Funnel steps")
                .with_numeric_columns([1, 2, 3]),
        );

    let categories = [
        "electronics.smartphone",
        "appliances.kitchen.refrigerators",
        "computers.notebook",
        "apparel.shoes",
        "furniture.living_room.sofa",
        "kids.toys",
    ];
    report
        .section("Categories")
        .bar_chart(
            BarChart::new(
                "Revenue by category",
                categories,
                [812_004.0, 455_120.0, 391_877.0, 120_455.0, 98_300.0, 41_221.0],
            )
            .horizontal()
            .with_y_label("Revenue ($)"),
        )
        .bar_chart(
            BarChart::with_series(
                "Orders by weekday and channel",
                ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                vec![
                    Series::new(
                        "Organic",
                        [3100.0, 2900.0, 3050.0, 3300.0, 3900.0, 4500.0, 4200.0],
                    ),
                    Series::new(
                        "Paid search",
                        [1500.0, 1450.0, 1600.0, 1580.0, 1900.0, 2300.0, 2100.0],
                    ),
                    Series::new("Email", [700.0, 1200.0, 650.0, 600.0, 800.0, 500.0, 450.0]),
                ],
            )
            .stacked()
            .with_y_label("Orders"),
        )
        .bar_chart(BarChart::with_series(
            "Week-over-week change by category (%)",
            categories,
            vec![
                Series::new("Last week", [4.2, -3.1, 1.5, -8.4, 12.0, 0.4]),
                Series::new("This week", [2.1, 1.8, -2.5, -4.0, 6.3, -1.2]),
            ],
        ))
        .bar_chart(BarChart::new(
            "Sessions by hour",
            (0..24).map(|hour| format!("{hour:02}h")),
            (0..24)
                .map(|hour| {
                    400.0
                        + 900.0 * (-((hour as f64 - 20.0) / 5.0).powi(2)).exp()
                        + 300.0 * (-((hour as f64 - 12.0) / 3.0).powi(2)).exp()
                })
                .collect::<Vec<_>>(),
        ));

    let cohorts: Vec<String> = (0..8)
        .map(|week| {
            let day = 1 + week * 7;
            if day <= 31 {
                format!("Week of 2019-10-{day:02}")
            } else {
                format!("Week of 2019-11-{:02}", day - 31)
            }
        })
        .collect();
    let retention: Vec<Vec<Option<f64>>> = (0..8)
        .map(|cohort| {
            (0..9)
                .map(|week| {
                    (week + cohort < 9).then(|| {
                        if week == 0 {
                            1.0
                        } else {
                            0.42 * 0.8f64.powi(week - 1) + 0.02 * random.normal()
                        }
                    })
                })
                .collect()
        })
        .collect();
    report.section("Retention").heatmap(Heatmap::new(
        "Weekly retention by first-visit cohort",
        cohorts,
        (0..9).map(|week| format!("W{week}")),
        retention,
        ValueFormat::Percent,
    ));

    let centres = [(-2.0, 1.0), (2.5, 2.0), (0.5, -2.5), (3.0, -1.5)];
    let points = (0..800)
        .map(|i| {
            let group = i % centres.len();
            let (cx, cy) = centres[group];
            (cx + 0.8 * random.normal(), cy + 0.8 * random.normal(), group)
        })
        .collect();
    report.section("Segments").scatter(Scatter::new(
        "Users in two dimensions, by segment",
        points,
        ["Bargain hunters", "Loyal buyers", "Window shoppers", "New visitors"],
    ));

    report
        .section("Edge cases")
        .paragraph("Charts with no data, a single point, all zeros, <script>alert(1)</script> and long labels.")
        .line_chart(LineChart::new("Empty line chart", Vec::<String>::new(), vec![]))
        .line_chart(LineChart::new("A single point", ["2019-10-01"], vec![Series::new("Only", [42.0])]))
        .bar_chart(BarChart::new("All zeros", ["a", "b", "c"], [0.0, 0.0, 0.0]))
        .bar_chart(BarChart::new(
            "<script>alert('labels')</script>",
            ["A remarkably long category label that would never fit under a bar", "short"],
            [5.0, f64::NAN],
        ))
        .line_chart(LineChart::new(
            "Five thousand x labels",
            (0..5000).map(|i| format!("t{i}")),
            vec![Series::new("Noise", (0..5000).map(|i| (i as f64 / 300.0).sin() * 100.0 + 150.0).collect::<Vec<_>>())],
        ))
        .funnel_chart(FunnelChart::new("Funnel nobody entered", [("Visit", 0.0), ("Buy", 0.0)]));

    report.write_to(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}
