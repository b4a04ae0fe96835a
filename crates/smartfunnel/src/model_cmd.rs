//! `smartfunnel model train|predict|explain`: tabular propensity models on
//! any CSV file with a header (the `models` crate).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use models::{
    Calibration, ClassWeight, CsvRoles, Dataset, FamilyChoice, Folds, ModelFamily, RowExplanation,
    Scaling, TrainConfig, TrainedModel,
};
use serde::Serialize;

use crate::Output;

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Cross-validate, pick and fit a model on a CSV file, and save it to a directory.
    Train(TrainArgs),
    /// Score a CSV file with a saved model: one probability per row, in input order.
    Predict(PredictArgs),
    /// What drives a saved model overall, or why one row got its score.
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModelChoice {
    /// Every family; keep the best cross-validated ROC AUC.
    Auto,
    Logistic,
    Tree,
    Gbdt,
    Mlp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScalingChoice {
    /// Each family's default (standard for logistic/mlp, none for trees).
    Default,
    Standard,
    MinMax,
    Robust,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// CSV file with a header; numeric, boolean and categorical columns are detected.
    #[arg(long)]
    data: PathBuf,
    /// The column to predict: true/false or 0/1.
    #[arg(long)]
    target: String,
    #[arg(long, value_enum, default_value = "auto")]
    model: ModelChoice,
    /// A row id column: not a feature, written beside predictions.
    #[arg(long)]
    id: Option<String>,
    /// Directory to write model.json to.
    #[arg(long)]
    out: PathBuf,
    /// Cross-validation folds (stratified).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// A CSV file with a `fold` column, one row per data row: use these folds instead.
    #[arg(long, conflicts_with = "folds")]
    fold_file: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Try a small grid of hyper-parameters per family (slower).
    #[arg(long)]
    search: bool,
    /// Weight the classes equally (for rare positives).
    #[arg(long)]
    balanced: bool,
    /// Calibrate probabilities (Platt scaling on the out-of-fold scores).
    #[arg(long)]
    calibrate: bool,
    #[arg(long, value_enum, default_value = "default")]
    scaling: ScalingChoice,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A directory written by `smartfunnel model train`.
    #[arg(long)]
    model: PathBuf,
    /// CSV file with the model's feature columns; the target may be absent.
    #[arg(long)]
    data: PathBuf,
    /// Output CSV: the id column (or `row`, 1 = first data row) and `score`.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(long)]
    model: PathBuf,
    /// Explain one row of this CSV file (with --row).
    #[arg(long, requires = "row")]
    data: Option<PathBuf>,
    /// The row to explain, 1 = first data row.
    #[arg(long, requires = "data")]
    row: Option<usize>,
}

pub async fn run(args: ModelArgs, output: Output) -> anyhow::Result<()> {
    // Training is CPU-bound: run it on the blocking pool, not an async worker.
    tokio::task::spawn_blocking(move || match args.command {
        ModelCommand::Train(args) => train(args, output),
        ModelCommand::Predict(args) => predict(args, output),
        ModelCommand::Explain(args) => explain(args, output),
    })
    .await
    .context("the model command panicked")?
}

/// What `model train` reports: each family's CV and the chosen model's metrics.
#[derive(Debug, Serialize)]
pub struct TrainSummary {
    pub model_dir: String,
    pub family: ModelFamily,
    pub rows: usize,
    pub positives: f64,
    pub features: Vec<String>,
    pub families: Vec<FamilySummary>,
    pub metrics: models::MetricReport,
    pub importance: Vec<models::Importance>,
    pub train_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct FamilySummary {
    pub family: ModelFamily,
    pub mean_roc_auc: f64,
    pub std_roc_auc: f64,
    pub fold_roc_auc: Vec<f64>,
    pub pr_auc: f64,
    pub log_loss: f64,
    pub cv_seconds: f64,
}

impl TrainSummary {
    pub fn new(model: &TrainedModel, dir: &Path) -> TrainSummary {
        TrainSummary {
            model_dir: dir.display().to_string(),
            family: model.family,
            rows: model.training_rows,
            positives: model.training_positives,
            features: model.pipeline.preprocessor.feature_names.clone(),
            families: model
                .cross_validation
                .iter()
                .map(|cv| FamilySummary {
                    family: cv.family,
                    mean_roc_auc: cv.mean_roc_auc,
                    std_roc_auc: cv.std_roc_auc,
                    fold_roc_auc: cv.fold_roc_auc.clone(),
                    pr_auc: cv.pooled.pr_auc,
                    log_loss: cv.pooled.log_loss,
                    cv_seconds: cv.seconds,
                })
                .collect(),
            metrics: model.chosen_cv().pooled.clone(),
            importance: model.importance.clone(),
            train_seconds: model.train_seconds,
        }
    }
}

/// Reads a fold file: a CSV with a `fold` column, one row per data row.
fn read_fold_file(path: &Path) -> anyhow::Result<Folds> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let column = reader
        .headers()?
        .iter()
        .position(|h| h.trim() == "fold")
        .with_context(|| format!("{}: no column \"fold\"", path.display()))?;
    let mut assignment = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = &record[column];
        assignment.push(field.trim().parse::<usize>().with_context(|| {
            format!(
                "{}, line {line}, column \"fold\": not a fold number: {field:?}",
                path.display()
            )
        })?);
    }
    Ok(Folds::from_assignment(assignment)?)
}

fn train(args: TrainArgs, output: Output) -> anyhow::Result<()> {
    let roles = CsvRoles { target: Some(args.target.clone()), id: args.id.clone() };
    let data = Dataset::from_csv(&args.data, &roles)?;
    let family = match args.model {
        ModelChoice::Auto => FamilyChoice::Auto,
        ModelChoice::Logistic => FamilyChoice::Only(ModelFamily::Logistic),
        ModelChoice::Tree => FamilyChoice::Only(ModelFamily::Tree),
        ModelChoice::Gbdt => FamilyChoice::Only(ModelFamily::Gbdt),
        ModelChoice::Mlp => FamilyChoice::Only(ModelFamily::Mlp),
    };
    let mut config = TrainConfig {
        family,
        folds: args.folds,
        seed: args.seed,
        search: args.search,
        ..TrainConfig::default()
    };
    if args.balanced {
        config.class_weight = ClassWeight::Balanced;
    }
    if args.calibrate {
        config.calibration = Calibration::Platt;
    }
    config.scaling = match args.scaling {
        ScalingChoice::Default => None,
        ScalingChoice::Standard => Some(Scaling::Standard),
        ScalingChoice::MinMax => Some(Scaling::MinMax),
        ScalingChoice::Robust => Some(Scaling::Robust),
    };
    if !output.quiet && !output.json {
        eprintln!(
            "training on {} rows, {} feature columns, from {}",
            data.rows(),
            data.columns.len(),
            args.data.display()
        );
    }
    let model = fit(&data, &config, args.fold_file.as_deref())?;
    model.save(&args.out)?;
    let summary = TrainSummary::new(&model, &args.out);
    if output.json {
        return output.print_json(&summary);
    }
    print_train_summary(&summary);
    Ok(())
}

fn fit(
    data: &Dataset,
    config: &TrainConfig,
    fold_file: Option<&Path>,
) -> anyhow::Result<TrainedModel> {
    Ok(match fold_file {
        Some(path) => {
            let folds = read_fold_file(path)?;
            anyhow::ensure!(
                folds.assignment.len() == data.rows(),
                "{}: {} fold rows for {} data rows",
                path.display(),
                folds.assignment.len(),
                data.rows()
            );
            models::train_with_folds(data, config, &folds)?
        }
        None => models::train(data, config)?,
    })
}

fn print_train_summary(summary: &TrainSummary) {
    println!(
        "{}-fold cross-validation on {} rows ({} positive)",
        summary.families.first().map_or(0, |f| f.fold_roc_auc.len()),
        summary.rows,
        summary.positives
    );
    println!(
        "  {:<9} {:>8} {:>7} {:>7} {:>8} {:>8}",
        "model", "ROC AUC", "±", "PR AUC", "log loss", "seconds"
    );
    for family in &summary.families {
        println!(
            "  {:<9} {:>8.4} {:>7.4} {:>7.4} {:>8.4} {:>8.2}",
            family.family.name(),
            family.mean_roc_auc,
            family.std_roc_auc,
            family.pr_auc,
            family.log_loss,
            family.cv_seconds
        );
    }
    let m = &summary.metrics;
    println!("chosen: {} (out-of-fold scores, threshold {})", summary.family, m.threshold);
    println!(
        "  accuracy {:.4}  precision {:.4}  recall {:.4}  F1 {:.4}  ROC AUC {:.4}  PR AUC {:.4}  log loss {:.4}",
        m.accuracy, m.precision, m.recall, m.f1, m.roc_auc, m.pr_auc, m.log_loss
    );
    let c = &m.confusion;
    println!(
        "  confusion: TP {}  FP {}  TN {}  FN {}",
        c.true_positives, c.false_positives, c.true_negatives, c.false_negatives
    );
    let lifts: Vec<String> = m.deciles.iter().map(|d| format!("{:.2}", d.lift)).collect();
    println!("  lift by decile: {}", lifts.join(" "));
    let top: Vec<String> = summary
        .importance
        .iter()
        .take(5)
        .map(|i| format!("{} ({:.3})", i.column, i.roc_auc_drop))
        .collect();
    println!("  top drivers (ROC AUC drop when shuffled): {}", top.join(", "));
    println!("saved to {}/model.json in {:.1} s", summary.model_dir, summary.train_seconds);
}

#[derive(Debug, Serialize)]
struct PredictSummary {
    rows: usize,
    out: String,
    mean_score: f64,
    /// ROC AUC against the target, when the file has it.
    roc_auc: Option<f64>,
}

fn predict(args: PredictArgs, output: Output) -> anyhow::Result<()> {
    let model = TrainedModel::load(&args.model)?;
    let data = model.read_csv(&args.data)?;
    let scores = model.predict_proba(&data)?;
    let mut writer = csv::Writer::from_path(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let id_header = data.id_name.clone().unwrap_or_else(|| "row".to_string());
    writer.write_record([id_header.as_str(), "score"])?;
    for (i, score) in scores.iter().enumerate() {
        let id = data.ids.as_ref().map_or_else(|| (i + 1).to_string(), |ids| ids[i].clone());
        writer.write_record([id, score.to_string()])?;
    }
    writer.flush().with_context(|| format!("writing {}", args.out.display()))?;
    let summary = PredictSummary {
        rows: scores.len(),
        out: args.out.display().to_string(),
        mean_score: scores.iter().sum::<f64>() / scores.len().max(1) as f64,
        roc_auc: data.target.as_deref().map(|y| models::metrics::roc_auc(&scores, y)),
    };
    if output.json {
        return output.print_json(&summary);
    }
    print!(
        "scored {} rows into {} (mean score {:.4}",
        summary.rows, summary.out, summary.mean_score
    );
    match summary.roc_auc {
        Some(auc) => println!(", ROC AUC {auc:.4} against {})", model.target_name),
        None => println!(")"),
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct ExplainSummary {
    family: ModelFamily,
    importance: Vec<models::Importance>,
    row: Option<RowExplanation>,
}

fn explain(args: ExplainArgs, output: Output) -> anyhow::Result<()> {
    let model = TrainedModel::load(&args.model)?;
    let row = match (&args.data, args.row) {
        (Some(path), Some(row)) => {
            anyhow::ensure!(row >= 1, "--row counts from 1 (the first data row)");
            let data = model.read_csv(path)?;
            Some(
                model
                    .explain_row(&data, row - 1)
                    .with_context(|| format!("explaining {}", path.display()))?,
            )
        }
        _ => None,
    };
    let summary =
        ExplainSummary { family: model.family, importance: model.importance.clone(), row };
    if output.json {
        return output.print_json(&summary);
    }
    println!(
        "{} model; permutation importance (training ROC AUC drop when a column is shuffled):",
        summary.family
    );
    for item in &summary.importance {
        println!("  {:<28} {:>8.4}", item.column, item.roc_auc_drop);
    }
    if let Some(row) = &summary.row {
        println!(
            "row {}: score {:.4}; {:?} contributions in {} (base {:.4} + contributions = {:.4}):",
            row.row + 1,
            row.score,
            row.method,
            row.scale,
            row.base,
            row.output
        );
        for c in row.contributions.iter().take(12) {
            println!("  {:<32} value {:>12.4}  {:>+9.4}", c.feature, c.value, c.contribution);
        }
    }
    Ok(())
}
