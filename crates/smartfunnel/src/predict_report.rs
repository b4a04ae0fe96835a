//! The report sections of prediction runs: how the model did out of time
//! beside the rules and the GRU, what drives it, and who scores highest; and
//! the days to the next purchase beside their baselines.

use report::{BarChart, Kpi, LineChart, Section, Series, Table, format_decimal, format_percent};

use crate::next_purchase::{NextPurchasePrediction, NextPurchaseSummary, predict_next_purchase};
use crate::predict_cmd::{Prediction, PredictionSummary, ROC_GRID};

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
        task = if s.split.task == "churn" {
            "Churn: no activity"
        } else {
            "Purchase propensity: an order"
        },
        h = s.split.horizon_days,
        t0 = s.split.train_cutoff.format("%Y-%m-%d"),
        t1 = s.split.evaluation_cutoff.format("%Y-%m-%d"),
        s = s.split.score_time.format("%Y-%m-%d"),
    ));
    section.kpis(vec![
        Kpi::new("Model", s.model_family.clone())
            .with_detail(format!("CV ROC AUC {:.3}", s.cross_validated_roc_auc)),
        Kpi::new("Out-of-time ROC AUC", model.map_or("–".into(), |m| format!("{:.3}", m.roc_auc)))
            .with_detail(format!("best rule {best_rule:.3}")),
        Kpi::new("Positive rate", format_percent(s.split.evaluation_positive_rate))
            .with_detail(format!("of {} users judged", s.split.evaluation_users)),
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

/// The "Next purchase" section: the model's errors beside the baselines', the
/// predicted and actual days by decile, and the users expected soonest.
pub fn next_purchase_section(prediction: &NextPurchasePrediction) -> Section {
    let s = &prediction.summary;
    let mut section = Section::new("Next purchase");
    section.paragraph(format!(
        "Days until each user's next order, capped at the {h}-day horizon (a prediction of {h} \
         means no order within it). Most users buy nothing within a horizon, so gradient-boosted \
         trees with the absolute-error objective predict the median days rather than a mean \
         that no user has. They learn from features before {t0} and the days after it, are \
         judged out of time on users as of {t1} beside the global median and a purchase-gap \
         rule (a repeat buyer returns one mean gap between orders after the last one), and are \
         refitted on that split to score users as of {s}. The concordance index ranks users by \
         predicted days, ties broken by the probability of buying within the horizon.",
        h = s.split.horizon_days,
        t0 = s.split.train_cutoff.format("%Y-%m-%d"),
        t1 = s.split.evaluation_cutoff.format("%Y-%m-%d"),
        s = s.split.score_time.format("%Y-%m-%d"),
    ));
    let model = s.out_of_time.first();
    let best_baseline = s.out_of_time.iter().skip(1).map(|m| m.mae_days).fold(f64::NAN, f64::min);
    // Three decimals: the global median's MAE is near the best there is, so
    // the differences are small.
    let days = |value: f64| format!("{} d", format_decimal(value, 3));
    section.kpis(vec![
        Kpi::new("Model MAE", model.map_or("–".into(), |m| days(m.mae_days)))
            .with_detail(format!("best baseline {}", days(best_baseline))),
        Kpi::new("Buyers' MAE", model.map_or("–".into(), |m| days(m.buyers_mae_days))).with_detail(
            format!("{} of judged users bought", format_percent(s.split.evaluation_positive_rate)),
        ),
        Kpi::new("Concordance", model.map_or("–".into(), |m| format!("{:.3}", m.concordance)))
            .with_detail("0.5 = chance"),
        Kpi::new("Expected within the horizon", s.expected_within_horizon.to_string())
            .with_detail(format!("of {} users scored", s.scored_users)),
    ]);
    let mut methods = Table::new(["method", "MAE", "RMSE", "buyers' MAE", "concordance"])
        .with_numeric_columns([1, 2, 3, 4]);
    for m in &s.out_of_time {
        methods = methods.row([
            m.method.clone(),
            days(m.mae_days),
            days(m.rmse_days),
            days(m.buyers_mae_days),
            format!("{:.3}", m.concordance),
        ]);
    }
    section.table(methods.with_caption(
        "Out of time, on the later split, in days on the target capped at the horizon.",
    ));
    section.bar_chart(BarChart::with_series(
        "Mean predicted and actual days by decile of the prediction (soonest first)",
        s.by_decile.iter().map(|d| format!("decile {}", d.decile)),
        vec![
            Series::new(
                "predicted",
                s.by_decile.iter().map(|d| d.mean_predicted_days).collect::<Vec<_>>(),
            ),
            Series::new(
                "actual (capped)",
                s.by_decile.iter().map(|d| d.mean_actual_days).collect::<Vec<_>>(),
            ),
        ],
    ));
    let mut soonest = Table::new(["user", "predicted days", "P(buys within the horizon)"])
        .with_numeric_columns([1, 2]);
    for score in prediction.scores.iter().take(LISTED_USERS) {
        soonest = soonest.row([
            score.user_id.clone(),
            format_decimal(score.predicted_days, 2),
            format_percent(score.buy_probability),
        ]);
    }
    section.table(
        soonest.with_caption("Expected to buy soonest: the users a reminder should reach first."),
    );
    section
}

/// What the demo's prediction step found.
pub struct DemoPredictions {
    pub classification: Vec<PredictionSummary>,
    /// None when the shop is too small to learn the days from.
    pub next_purchase: Option<NextPurchaseSummary>,
}

/// The demo's prediction sections: propensity (with the GRU beside the
/// model), churn and the days to the next purchase, over a horizon a quarter
/// of the generated days long.
pub async fn add_demo_sections(
    report: &mut report::Report,
    context: &datafusion::prelude::SessionContext,
    days: u32,
) -> anyhow::Result<DemoPredictions> {
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
    let next_purchase = PredictSpec { task: features::LabelTask::NextPurchase, ..churn.clone() };
    // The tasks share the horizon, so they share the feature tables.
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
    let next_purchase = match predict_next_purchase(context, &next_purchase, &splits).await {
        Ok(prediction) => {
            report.push_section(next_purchase_section(&prediction));
            Some(prediction.summary)
        }
        Err(error) => {
            report.section("Next purchase").paragraph(format!(
                "The days to the next purchase could not be learned on this shop: {error:#}."
            ));
            None
        }
    };
    Ok(DemoPredictions { classification: summaries, next_purchase })
}
