//! `smartfunnel demo`: the whole pipeline on a generated shop, ending in
//! `report.html`. Every capability adds its step and its report section here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use ingest::ImportOptions;
use lake::Lake;
use report::{Kpi, Report, Table, format_count};
use serde::Serialize;

use crate::generate::GenerateArgs;
use crate::{
    Output, analytics_report, clv_report, features_report, funnel_report, model_report,
    predict_report, recommend_report, segment_texts_report, shop_report, text_report,
};

/// Real samples shipped with the binary, to show the importers on real data.
const REES46_SAMPLE: &[u8] =
    include_bytes!("../../../tests/data/rees46_multicat_sample/2019-Oct-sample.csv");
const TAOBAO_SAMPLE: &[u8] =
    include_bytes!("../../../tests/data/taobao_userbehavior_sample/UserBehavior.csv");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the lake, the generated files and report.html go.
    #[arg(long, default_value = "smartfunnel-demo")]
    out: PathBuf,
    /// Shoppers to generate.
    #[arg(long, default_value_t = 20_000)]
    users: u64,
    /// Days to generate.
    #[arg(long, default_value_t = 30)]
    days: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip the reviews-and-searches step (it fetches transformer weights on first use).
    #[arg(long)]
    no_text: bool,
    /// Have SmolLM2-135M write the segment descriptions and campaign messages
    /// (fetched on first use; slower) instead of the template.
    #[arg(long)]
    generate: bool,
    #[command(flatten)]
    endpoint: crate::text_generate::EndpointArgs,
}

#[derive(Debug, Serialize)]
struct DemoSummary {
    report: String,
    lake: String,
    events: u64,
    users: u64,
    reimport_added: u64,
    samples_imported: u64,
    samples_quarantined: u64,
    erased_events: u64,
    funnel: funnel_report::FunnelSummary,
    text: text_report::TextSummary,
    features: features_report::FeaturesSummary,
    segment_texts: segment_texts_report::SegmentTextsSummary,
    predictions: Vec<crate::predict_cmd::PredictionSummary>,
    next_purchase: Option<crate::next_purchase::NextPurchaseSummary>,
    model: model_report::ModelDemoSummary,
    recommend: recommend_report::RecommendSummary,
    seconds: f64,
}

fn step(output: Output, message: &str) {
    if !output.quiet && !output.json {
        eprintln!("• {message}");
    }
}

/// A copy of the REES46 sample with one of each kind of damage, to show quarantine.
fn corrupted_rees46() -> Vec<u8> {
    let text = String::from_utf8_lossy(REES46_SAMPLE);
    let mut lines: Vec<Vec<u8>> = text.lines().take(301).map(|l| l.as_bytes().to_vec()).collect();
    let damage: [(usize, &[u8]); 6] = [
        (20, b"#### export interrupted, resuming ####"),
        (40, b"2019-10-01 25:61:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde"),
        (60, b"2019-10-01 00:05:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,,72d76fde"),
        (80, b"2019-10-01 00:05:00 UTC,view,44600062,2103807459595387724,,shiseido"),
        (100, b"2019-10-01 00:05:00 UTC,view,44600062,2103807459595387724,,shis\xff\xfeeido,35.79,541312140,72d76fde"),
        (120, b"2019-10-01 00:05:00 UTC,purchase,44600062,2103807459595387724,,shiseido,free,541312140,72d76fde"),
    ];
    for (at, bad) in damage {
        lines.insert(at, bad.to_vec());
    }
    let mut file = lines.join(&b'\n');
    file.extend_from_slice(b"\n2019-10-01 00:09:59 UTC,view,1004");
    file
}

fn first_lines(path: &Path, count: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().take(count).map(str::to_string).collect())
        .unwrap_or_default()
}

pub async fn run(args: DemoArgs, output: Output) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = &args.out;
    if out.exists() {
        // Only ever remove what an earlier demo made.
        for part in [
            "lake",
            "samples-lake",
            "samples",
            "shop-events.csv",
            "report.html",
            "model",
            "online_shoppers.csv",
        ] {
            let path = out.join(part);
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("clearing {}", path.display()))?;
            } else if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("clearing {}", path.display()))?;
            }
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;

    step(
        output,
        &format!(
            "generating a shop: {} users over {} days (seed {})",
            args.users, args.days, args.seed
        ),
    );
    let csv = out.join("shop-events.csv");
    let generate = GenerateArgs {
        users: args.users,
        days: args.days,
        seed: args.seed,
        start_date: None,
        out: Some(csv.clone()),
        lake: None,
    };
    let generated = crate::generate::write_csv(&generate, &csv, output)?;

    step(output, &format!("importing {generated} events into {}", out.join("lake").display()));
    let mut shop = Lake::open_or_create(out.join("lake")).await?;
    let options = ImportOptions::new(out.join("lake/.staging"));
    let import = crate::import::import_with_progress(
        &mut shop,
        std::slice::from_ref(&csv),
        options.clone(),
        output,
    )
    .await?;
    step(output, "importing the same file again (must add nothing)");
    let reimport = crate::import::import_with_progress(
        &mut shop,
        std::slice::from_ref(&csv),
        options.clone(),
        output,
    )
    .await?;
    anyhow::ensure!(
        reimport.summary.imported == 0,
        "re-import added {} rows",
        reimport.summary.imported
    );

    step(
        output,
        "importing real REES46 and Taobao samples and a corrupted copy into a second lake",
    );
    let samples = out.join("samples");
    std::fs::create_dir_all(&samples)?;
    let sample_files = [
        (samples.join("rees46-2019-Oct-sample.csv"), REES46_SAMPLE.to_vec()),
        (samples.join("taobao-UserBehavior.csv"), TAOBAO_SAMPLE.to_vec()),
        (samples.join("rees46-corrupted.csv"), corrupted_rees46()),
    ];
    for (path, bytes) in &sample_files {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut sample_lake = Lake::open_or_create(out.join("samples-lake")).await?;
    let files: Vec<PathBuf> = sample_files.iter().map(|(p, _)| p.clone()).collect();
    let sample_import =
        crate::import::import_with_progress(&mut sample_lake, &files, options, output).await?;

    // Read before the erasure, which scrubs the erased user's rejected rows.
    let quarantine_sample = first_lines(&sample_lake.quarantine_path(), 12);
    step(output, "erasing one shopper (an erasure request) from the samples lake");
    let erase_user = "541312140";
    let erase = sample_lake.erase_user(erase_user).await?;

    step(output, "writing the report");
    let info = shop.info().await?;
    let mut report = Report::new("smartfunnel — shop report");
    report.subtitle(format!(
        "Generated shop: {} users, {} days, seed {}. Written by `smartfunnel demo` in {:.0} s.",
        args.users,
        args.days,
        args.seed,
        started.elapsed().as_secs_f64()
    ));
    shop_report::add_lake_sections(&mut report, &shop, &info).await?;
    step(output, "funnels: the purchase funnel, its SQL form, breakdowns, variants, correlation");
    let context = shop.session().await?;
    let lake_dir = out.join("lake").display().to_string();
    let funnel = funnel_report::add_funnel_sections(&mut report, &context, &lake_dir).await?;
    step(output, "retention, paths, lifecycle and RFM segments");
    for section in analytics_report::analytics_sections(&context).await? {
        report.push_section(section);
    }
    step(output, "reviews and searches: sentiment and query intent with a local transformer");
    let text = if args.no_text {
        text_report::TextSummary { skipped: Some("--no-text".into()), ..Default::default() }
    } else {
        text_report::add_text_sections(&mut report, &shop, output).await?
    };
    step(output, "user features, tags, rule segments and K-Means segments");
    // The text step wrote review_insights: a fresh session sees it in SQL.
    let context = shop.session().await?;
    let (features_sections, features, profiles) =
        features_report::features_sections(&context, text.sentiment.as_ref(), output).await?;
    for section in features_sections {
        report.push_section(section);
    }
    step(
        output,
        if args.generate || args.endpoint.llm_endpoint.is_some() {
            "segments in words: descriptions and campaign messages by a language model"
        } else {
            "segments in words: descriptions and campaign messages (template)"
        },
    );
    let mut writer = segment_texts_report::demo_writer(args.generate, &args.endpoint, output);
    let (texts_section, segment_texts) =
        segment_texts_report::segment_texts_section(&profiles, &mut writer, output).await;
    report.push_section(texts_section);
    step(
        output,
        "behaviour predictions: purchase propensity (model, GRU, rules), churn, next purchase",
    );
    let predictions = predict_report::add_demo_sections(&mut report, &context, args.days).await?;
    step(output, "propensity models on the UCI online shoppers sample");
    let model = model_report::add_model_section(&mut report, out)?;
    step(output, "customer lifetime value (BG/NBD, Gamma-Gamma), value segments, CDNOW fit");
    for section in clv_report::clv_sections(&shop).await? {
        report.push_section(section);
    }
    step(
        output,
        "recommendations: item-kNN and SASRec for shoppers, next-click models on YOOCHOOSE",
    );
    let recommend =
        recommend_report::add_recommend_sections(&mut report, &out.join("lake"), &samples).await?;
    shop_report::add_import_section(
        &mut report,
        "Data quality: import of the generated shop",
        &import,
        &[],
    );
    report.section("Data quality: re-import").paragraph(format!(
        "Importing {} a second time read {} rows and added {} (event ids are content hashes: {} rows were already in the lake). \
         The lake stayed at version {}.",
        csv.display(),
        format_count(reimport.summary.read as f64),
        reimport.summary.imported,
        format_count(reimport.summary.already_in_lake as f64),
        shop.version()
    ));
    shop_report::add_import_section(
        &mut report,
        "Importers on real data (REES46, Taobao) and a corrupted file",
        &sample_import,
        &quarantine_sample,
    );
    let erase_table = Table::new([
        "user",
        "events deleted",
        "files rewritten",
        "old files vacuumed",
        "quarantine lines removed",
    ])
    .with_numeric_columns([1, 2, 3, 4])
    .row([
        erase.user_id.clone(),
        erase.events_deleted.to_string(),
        erase.files_rewritten.to_string(),
        erase.files_vacuumed.to_string(),
        erase.quarantine_lines_removed.to_string(),
    ]);
    report
        .section("Erasure request")
        .paragraph(format!(
            "`smartfunnel lake erase --user {erase_user}` on the samples lake: the user's rows are deleted in a new Delta version, \
             the files that held them are vacuumed so no old version still has them, and rejected rows naming the user \
             are removed from the quarantine file."
        ))
        .table(erase_table);
    shop_report::add_lake_history(&mut report, &info);
    report.section("Reproduce").kpis(vec![Kpi::new("Command", "smartfunnel demo")]).paragraph(format!(
        "Query the lake yourself: smartfunnel sql --lake {} \"SELECT event_type, count(*) FROM events GROUP BY 1\" \
         (the text step's per-review results are the table review_insights)",
        out.join("lake").display()
    ));
    let report_path = out.join("report.html");
    report.write_to(&report_path).with_context(|| format!("writing {}", report_path.display()))?;

    let summary = DemoSummary {
        report: report_path.display().to_string(),
        lake: out.join("lake").display().to_string(),
        events: info.events,
        users: info.users,
        reimport_added: reimport.summary.imported,
        samples_imported: sample_import.summary.imported,
        samples_quarantined: sample_import.summary.quarantined,
        erased_events: erase.events_deleted,
        funnel,
        text,
        features,
        segment_texts,
        predictions: predictions.classification,
        next_purchase: predictions.next_purchase,
        model,
        recommend,
        seconds: started.elapsed().as_secs_f64(),
    };
    if output.json {
        output.print_json(&summary)?;
    } else {
        println!("smartfunnel demo finished in {:.1} s", summary.seconds);
        println!(
            "  lake      {} ({} events, {} users, version {})",
            summary.lake, info.events, info.users, info.version
        );
        println!(
            "  import    {} read, {} imported, {} duplicates, {} quarantined, {} bot events flagged",
            import.summary.read,
            import.summary.imported,
            import.summary.duplicates,
            import.summary.quarantined,
            import.summary.bot_events
        );
        println!("  re-import added {} rows", summary.reimport_added);
        println!(
            "  samples   {} imported, {} quarantined with reasons in {}",
            summary.samples_imported,
            summary.samples_quarantined,
            sample_lake.quarantine_path().display()
        );
        println!("  erasure   {} events of user {erase_user} removed", summary.erased_events);
        let steps: Vec<String> =
            summary.funnel.steps.iter().map(|(name, users)| format!("{name} {users}")).collect();
        println!(
            "  funnel    {} (SQL window_funnel differs for {} users)",
            steps.join(" → "),
            summary.funnel.sql_engine_differences
        );
        println!(
            "  features  {} users × {} features in {:.2} s",
            summary.features.users, summary.features.features, summary.features.seconds
        );
        if let Some(clustering) = &summary.features.clustering {
            println!(
                "  segments  K-Means: k = {} by silhouette ({})",
                clustering.clusters,
                clustering.silhouette.map_or("-".into(), |s| format!("{s:.3}"))
            );
        }
        for p in &summary.predictions {
            let auc = |method: &str| {
                p.out_of_time
                    .iter()
                    .find(|m| m.method.starts_with(method))
                    .map_or(f64::NAN, |m| m.roc_auc)
            };
            println!(
                "  predict   {} in {} days: out-of-time ROC AUC model {:.3}, recency rule {:.3}, RFM score {:.3}{}",
                p.split.task,
                p.split.horizon_days,
                auc("model"),
                auc("recency"),
                auc("RFM"),
                if p.out_of_time.iter().any(|m| m.method.starts_with("GRU")) {
                    format!(", GRU {:.3}", auc("GRU"))
                } else {
                    String::new()
                }
            );
        }
        if let Some(next) = &summary.next_purchase {
            let mae: Vec<String> = next
                .out_of_time
                .iter()
                .map(|m| format!("{} {:.2}", m.method, m.mae_days))
                .collect();
            println!(
                "  predict   next purchase in {} days: out-of-time MAE in days {}",
                next.split.horizon_days,
                mae.join(", ")
            );
        }
        println!(
            "  model     {} chosen by CV ROC AUC {:.3}, saved to {}",
            summary.model.family, summary.model.cv_roc_auc, summary.model.model_dir
        );
        println!(
            "  recommend Recall@10 {:.3} for shoppers' last quarter (SASRec {:.3}), Recall@20 {:.3} on YOOCHOOSE (V-SKNN)",
            summary.recommend.shop_recall,
            summary.recommend.shop_sasrec_recall,
            summary.recommend.yoochoose_recall
        );
        let texts = &summary.segment_texts;
        println!(
            "  segments  {} texts: {} by a language model, {} rejected by the number check, {} by the template",
            texts.texts,
            texts.generated,
            texts.rejected,
            texts.texts - texts.generated
        );
        match &summary.text.skipped {
            Some(reason) => println!("  text      skipped: {reason}"),
            None => println!(
                "  text      {} reviews scored ({:.0}% positive), {} aspect mentions, {} topics, {} search queries classified",
                summary.text.reviews_scored,
                summary.text.positive_share * 100.0,
                summary.text.aspect_mentions,
                summary.text.topics.map_or("no".to_owned(), |k| k.to_string()),
                summary.text.queries_classified
            ),
        }
        println!("  report    {}", summary.report);
    }
    Ok(())
}
