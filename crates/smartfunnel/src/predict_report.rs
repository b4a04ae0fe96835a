//! The report section of a prediction run: how the model did out of time
//! beside the rules and the GRU, what drives it, and who scores highest.

use report::{BarChart, Kpi, LineChart, Section, Series, Table, format_percent};

use crate::predict_cmd::{Prediction, ROC_GRID};

/// Users listed in the top-scores table.
const LISTED_USERS: usize = 10;

pub fn section(title: &str, prediction: &Prediction, listing: &str) -> Section {
    let s = &prediction.summary;
    let mut section = Section::new(title);
    let best_rule = s
        .out_of_time
        .iter()
        .filter(|m| m.method == "recency rule" || m.method == "RFM score")
        .map(|m| m.roc_auc)
        .fold(f64::NAN, f64::max);
    let model = s.out_of_time.iter().find(|m| m.method.starts_with("model"));
    section.paragraph(format!(
        "{task} within {h} days. The model learns from features before {t0} and labels from \
         the {h} days after; it is then judged out of time on users as of {t1}, whose \
         outcome the lake already knows, beside two rules that need no training. The model \
         that scores users as of {s} is refitted on that later split.",
        task =
            if s.task == "churn" { "Churn: no activity" } else { "Purchase propensity: an order" },
        h = s.horizon_days,
        t0 = s.train_cutoff.format("%Y-%m-%d"),
        t1 = s.evaluation_cutoff.format("%Y-%m-%d"),
        s = s.score_time.format("%Y-%m-%d"),
    ));
    section.kpis(vec![
        Kpi::new("Model", s.model_family.clone())
            .with_detail(format!("CV ROC AUC {:.3}", s.cross_validated_roc_auc)),
        Kpi::new("Out-of-time ROC AUC", model.map_or("–".into(), |m| format!("{:.3}", m.roc_auc)))
            .with_detail(format!("best rule {best_rule:.3}")),
        Kpi::new("Positive rate", format_percent(s.evaluation_positive_rate))
            .with_detail(format!("of {} users judged", s.evaluation_users)),
        Kpi::new("Users scored", s.scored_users.to_string())
            .with_detail(format!("mean score {:.3}", s.mean_score)),
    ]);
    let mut methods = Table::new(["method", "ROC AUC", "PR AUC", "top-decile lift"])
        .with_numeric_columns([1, 2, 3]);
    for m in &s.out_of_time {
        methods = methods.row([
            m.method.clone(),
            format!("{:.3}", m.roc_auc),
            format!("{:.3}", m.pr_auc),
            format!("{:.2}×", m.top_decile_lift),
        ]);
    }
    section.table(methods.with_caption("Out of time, on the later split; best ROC AUC first."));
    let mut roc_series: Vec<Series> =
        s.out_of_time.iter().map(|m| Series::new(m.method.clone(), m.roc.clone())).collect();
    roc_series.push(Series::new("chance", ROC_GRID.to_vec()));
    section.line_chart(
        LineChart::new(
            "ROC curves (true positive rate by false positive rate)",
            ROC_GRID.iter().map(|x| format!("{x:.2}")),
            roc_series,
        )
        .with_y_label("true positive rate"),
    );
    if let Some(model) = model {
        section.bar_chart(BarChart::new(
            "Lift by score decile (model)",
            (1..=model.decile_lift.len()).map(|d| format!("decile {d}")),
            model.decile_lift.clone(),
        ));
    }
    let mut drivers =
        Table::new(["feature", "ROC AUC lost when shuffled"]).with_numeric_columns([1]);
    for (name, drop) in &s.top_drivers {
        drivers = drivers.row([name.clone(), format!("{drop:.4}")]);
    }
    section
        .table(drivers.with_caption("Top drivers: permutation importance of the scoring model."));
    let mut top = Table::new(["user", "score"]).with_numeric_columns([1]);
    for (user, score) in prediction.scores.iter().take(LISTED_USERS) {
        top = top.row([user.clone(), format!("{score:.3}")]);
    }
    section.table(top.with_caption(listing));
    section
}

/// The demo's prediction sections: propensity (with the GRU beside the
/// model) and churn, over a horizon a quarter of the generated days long.
pub async fn add_demo_sections(
    report: &mut report::Report,
    context: &datafusion::prelude::SessionContext,
    days: u32,
) -> anyhow::Result<Vec<crate::predict_cmd::PredictionSummary>> {
    use crate::predict_cmd::{PredictSpec, SequenceSpec, Splits, predict_on};
    let horizon = chrono::Duration::days(i64::from((days / 4).clamp(1, 14)));
    let propensity = PredictSpec {
        task: features::LabelTask::Propensity,
        horizon,
        score_time: None,
        family: models::FamilyChoice::Only(models::ModelFamily::Gbdt),
        folds: 3,
        sequence: Some(SequenceSpec {
            max_users: 2000,
            config: sequence_model::SequenceConfig {
                max_len: 30,
                epochs: 4,
                min_updates: 200,
                batch_size: 64,
                ..sequence_model::SequenceConfig::default()
            },
        }),
        include_bots: false,
    };
    let churn =
        PredictSpec { task: features::LabelTask::Churn, sequence: None, ..propensity.clone() };
    // Both tasks share the horizon, so they share the feature tables.
    let splits = Splits::build(context, &propensity).await?;
    let mut summaries = Vec::new();
    for (spec, title, listing) in [
        (propensity, "Purchase propensity", "Most likely to buy in the next horizon."),
        (
            churn,
            "Churn risk",
            "Highest churn risk: the users a retention offer should reach first.",
        ),
    ] {
        let prediction = predict_on(context, &spec, &splits).await?;
        report.push_section(section(title, &prediction, listing));
        summaries.push(prediction.summary);
    }
    Ok(summaries)
}
