//! The demo's propensity-model step and its report section: every model
//! family cross-validated on the shipped UCI online shoppers sample, with
//! ROC and lift charts, the chosen model's metrics and its top drivers.

use std::path::Path;

use anyhow::Context as _;
use models::metrics::roc_curve_on_grid;
use models::{
    CsvRoles, Dataset, FamilyChoice, FamilyParams, GbdtParams, MlpParams, TrainConfig, TrainedModel,
};
use report::{BarChart, Kpi, LineChart, Section, Series, Table, format_decimal, format_percent};
use serde::Serialize;

use crate::model_cmd::TrainSummary;

/// 8,631 sessions of the UCI Online Shoppers Purchasing Intention data (see its PROVENANCE.md).
const ONLINE_SHOPPERS: &[u8] =
    include_bytes!("../../../tests/data/online_shoppers/online_shoppers_train.csv");

/// Short of the CLI's defaults so that the step takes about a second in a
/// release build (and stays bearable in the debug build the tests run):
/// 3 folds, fewer trees with a larger learning rate, fewer epochs.
fn demo_config() -> TrainConfig {
    TrainConfig {
        family: FamilyChoice::Auto,
        folds: 3,
        params: FamilyParams {
            gbdt: GbdtParams { trees: 80, learning_rate: 0.08, ..GbdtParams::default() },
            mlp: MlpParams { epochs: 8, ..MlpParams::default() },
            ..FamilyParams::default()
        },
        ..TrainConfig::default()
    }
}

#[derive(Debug, Serialize)]
pub struct ModelDemoSummary {
    pub model_dir: String,
    pub family: String,
    pub cv_roc_auc: f64,
}

/// Writes the sample to `out/online_shoppers.csv`, trains into `out/model`,
/// and adds the section.
pub fn add_model_section(
    report: &mut report::Report,
    out: &Path,
) -> anyhow::Result<ModelDemoSummary> {
    let csv = out.join("online_shoppers.csv");
    std::fs::write(&csv, ONLINE_SHOPPERS).with_context(|| format!("writing {}", csv.display()))?;
    let roles = CsvRoles { target: Some("Revenue".to_string()), id: None };
    let data = Dataset::from_csv(&csv, &roles)?;
    let model = models::train(&data, &demo_config())?;
    let dir = out.join("model");
    model.save(&dir)?;
    report.push_section(model_section(&model, &data, &csv, &dir)?);
    Ok(ModelDemoSummary {
        model_dir: dir.display().to_string(),
        family: model.family.to_string(),
        cv_roc_auc: model.chosen_cv().mean_roc_auc,
    })
}

fn model_section(
    model: &TrainedModel,
    data: &Dataset,
    csv: &Path,
    dir: &Path,
) -> anyhow::Result<Section> {
    let summary = TrainSummary::new(model, dir);
    let chosen = model.chosen_cv();
    let metrics = &chosen.pooled;
    let labels = data.target_or_error()?;
    let mut section = Section::new("Propensity models: who will buy?");
    section.paragraph(format!(
        "The UCI Online Shoppers Purchasing Intention sample ({} sessions, {:.1}% ending in a purchase) \
         with every model family — logistic regression, a CART tree, gradient-boosted trees and a small \
         neural network — cross-validated on {} stratified folds; `auto` keeps the best ROC AUC. Metrics \
         are on out-of-fold scores: each session scored by a model that did not see it. The demo uses \
         fewer folds, trees and epochs than the CLI's defaults, to stay fast.",
        data.rows(),
        100.0 * model.training_positives / data.rows() as f64,
        chosen.fold_roc_auc.len()
    ));
    section.kpis(vec![
        Kpi::new("Chosen model", model.family.to_string()),
        Kpi::new("CV ROC AUC", format_decimal(chosen.mean_roc_auc, 3))
            .with_detail(format!("± {}", format_decimal(chosen.std_roc_auc, 3))),
        Kpi::new("PR AUC", format_decimal(metrics.pr_auc, 3)),
        Kpi::new("Top decile lift", format!("{}×", format_decimal(metrics.deciles[0].lift, 1)))
            .with_detail(format!(
                "{} of buyers in the top 30%",
                format_percent(metrics.deciles[2].cumulative_gain)
            )),
    ]);
    let mut families = Table::new(["model", "ROC AUC", "±", "PR AUC", "log loss", "CV seconds"])
        .with_numeric_columns([1, 2, 3, 4, 5])
        .with_caption("Cross-validation per model family");
    for family in &summary.families {
        families = families.row([
            family.family.to_string(),
            format_decimal(family.mean_roc_auc, 4),
            format_decimal(family.std_roc_auc, 4),
            format_decimal(family.pr_auc, 4),
            format_decimal(family.log_loss, 4),
            format_decimal(family.cv_seconds, 2),
        ]);
    }
    section.table(families);

    let grid: Vec<f64> = (0..=20).map(|k| k as f64 / 20.0).collect();
    let mut curves: Vec<Series> = model
        .cross_validation
        .iter()
        .map(|cv| {
            Series::new(cv.family.to_string(), roc_curve_on_grid(&cv.out_of_fold, labels, &grid))
        })
        .collect();
    curves.push(Series::new("chance", grid.clone()));
    section.line_chart(
        LineChart::new(
            "ROC curves (out-of-fold): true positive rate by false positive rate",
            grid.iter().map(|g| format_decimal(*g, 2)),
            curves,
        )
        .with_y_label("true positive rate"),
    );
    let deciles: Vec<String> = metrics.deciles.iter().map(|d| d.decile.to_string()).collect();
    section.bar_chart(
        BarChart::new(
            format!("Lift by score decile ({}; 1 = highest scores)", model.family),
            deciles.clone(),
            metrics.deciles.iter().map(|d| d.lift).collect::<Vec<f64>>(),
        )
        .with_y_label("lift over the average purchase rate"),
    );
    section.line_chart(
        LineChart::new(
            "Cumulative gain: share of buyers found in the top deciles",
            deciles,
            vec![
                Series::new(
                    model.family.to_string(),
                    metrics.deciles.iter().map(|d| d.cumulative_gain).collect::<Vec<f64>>(),
                ),
                Series::new("random", (1..=10).map(|k| k as f64 / 10.0).collect::<Vec<f64>>()),
            ],
        )
        .with_y_label("share of buyers"),
    );
    let c = &metrics.confusion;
    section.table(
        Table::new(["metric", "value"])
            .with_numeric_columns([1])
            .with_caption(format!("The chosen model at threshold {}", metrics.threshold))
            .row(["accuracy".to_string(), format_decimal(metrics.accuracy, 4)])
            .row(["precision".to_string(), format_decimal(metrics.precision, 4)])
            .row(["recall".to_string(), format_decimal(metrics.recall, 4)])
            .row(["F1".to_string(), format_decimal(metrics.f1, 4)])
            .row(["log loss".to_string(), format_decimal(metrics.log_loss, 4)])
            .row([
                "true / false positives".to_string(),
                format!("{} / {}", c.true_positives, c.false_positives),
            ])
            .row([
                "true / false negatives".to_string(),
                format!("{} / {}", c.true_negatives, c.false_negatives),
            ]),
    );
    let top: Vec<_> = model.importance.iter().take(8).collect();
    section.bar_chart(
        BarChart::new(
            "Top drivers: training ROC AUC lost when the column is shuffled",
            top.iter().map(|i| i.column.clone()),
            top.iter().map(|i| i.roc_auc_drop).collect::<Vec<f64>>(),
        )
        .horizontal(),
    );
    let scores = model.predict_proba(data)?;
    let best_row = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
    let explanation = model.explain_row(data, best_row)?;
    let mut contributions = Table::new(["feature", "value", "contribution"])
        .with_numeric_columns([1, 2])
        .with_caption(format!(
            "Why session {} scores {}: {:?} contributions in {} (base {} + contributions = {})",
            best_row + 1,
            format_decimal(explanation.score, 3),
            explanation.method,
            explanation.scale,
            format_decimal(explanation.base, 3),
            format_decimal(explanation.output, 3)
        ));
    for c in explanation.contributions.iter().take(6) {
        contributions = contributions.row([
            c.feature.clone(),
            format_decimal(c.value, 3),
            format!("{:+.3}", c.contribution),
        ]);
    }
    section.table(contributions);
    section.paragraph(format!(
        "Reproduce with the CLI: smartfunnel model train --data {} --target Revenue --out {}; \
         then smartfunnel model explain --model {} --data {} --row {}.",
        csv.display(),
        dir.display(),
        dir.display(),
        csv.display(),
        best_row + 1
    ));
    Ok(section)
}
