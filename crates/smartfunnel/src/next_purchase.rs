//! `smartfunnel predict --task next-purchase`: the days until each user's next
//! purchase, on the same time splits as propensity and churn.
//!
//! The label is the days from the cut-off to the user's first purchase in
//! [cut-off, cut-off + H), or H when there is none (right-censored: the
//! purchase, if any, comes later than the window shows). Most users buy
//! nothing within a horizon, so the capped target has a large mass at H. The
//! point that minimises the absolute error is the conditional median, and the
//! median of a user unlikely to buy is H itself; a squared-error fit would
//! instead predict a mean pulled below H and lose to the plain global median
//! on MAE for every such user. So the prediction is the median: H for a user
//! no more likely than not to buy within H (the probability comes from a
//! log-loss model), and otherwise the median from gradient-boosted trees with
//! the absolute-error objective on the capped target. The probability is
//! reported beside the days, and breaks the ties among the many users at H
//! when ranking who buys soonest.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use datafusion::prelude::SessionContext;
use features::FeatureTable;
use models::metrics::{concordance_index, mean_absolute_error, root_mean_squared_error};
use models::{
    Dataset, FamilyParams, GbdtObjective, GbdtParams, ModelFamily, Pipeline, TrainConfig,
};
use serde::Serialize;

use crate::Output;
use crate::predict_cmd::{
    PredictSpec, SplitSummary, Splits, ensure_enough_history, feature_dataset, labels_by_user,
    labels_in_row_order, numeric_or,
};

/// One way of predicting the days, judged on the out-of-time split.
#[derive(Debug, Clone, Serialize)]
pub struct DaysMethodResult {
    pub method: String,
    /// Mean absolute error in days on the capped target.
    pub mae_days: f64,
    pub rmse_days: f64,
    /// Mean absolute error over the users who did buy within the horizon.
    pub buyers_mae_days: f64,
    /// Harrell's concordance index of the predicted order of purchases
    /// against the observed one, censoring included (0.5 = chance).
    pub concordance: f64,
}

/// One tenth of the judged users, ordered by the model's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct DaysDecile {
    pub decile: usize,
    pub users: usize,
    pub mean_predicted_days: f64,
    /// The mean capped target: days to the purchase, H without one.
    pub mean_actual_days: f64,
    pub buyer_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NextPurchaseSummary {
    /// The positive rates are the shares who bought within the horizon.
    #[serde(flatten)]
    pub split: SplitSummary,
    /// The model first, then the baselines, as judged on the evaluation split.
    pub out_of_time: Vec<DaysMethodResult>,
    /// The judged users by decile of the model's prediction, soonest first.
    pub by_decile: Vec<DaysDecile>,
    pub scored_users: usize,
    /// Scored users whose predicted days fall inside the horizon: those more
    /// likely than not to buy within it.
    pub expected_within_horizon: usize,
    pub mean_buy_probability: f64,
    pub seconds: f64,
}

/// One scored user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextPurchaseScore {
    pub user_id: String,
    /// The predicted median of the days to the next purchase, capped at H
    /// (H = not expected within the horizon: the probability is below ½).
    pub predicted_days: f64,
    pub buy_probability: f64,
}

/// A run's summary and every scored user, soonest expected buyer first.
#[derive(Debug)]
pub struct NextPurchasePrediction {
    pub summary: NextPurchaseSummary,
    pub scores: Vec<NextPurchaseScore>,
}

pub async fn run(
    context: &SessionContext,
    spec: &PredictSpec,
    out: Option<&Path>,
    output: Output,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let splits = Splits::build(context, spec).await?;
    let mut prediction = predict_next_purchase(context, spec, &splits).await?;
    prediction.summary.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = out {
        write_scores(path, &prediction.scores)?;
    }
    if output.json {
        return output.print_json(&prediction.summary);
    }
    let s = &prediction.summary;
    println!(
        "days to the next purchase within {} days of {} (gbdt, absolute error; H = none in the horizon)",
        s.split.horizon_days,
        s.split.score_time.format("%Y-%m-%d")
    );
    println!("{}", s.split.trained_and_judged("bought"));
    println!(
        "\n{:<24} {:>9} {:>10} {:>12} {:>12}",
        "method", "MAE days", "RMSE days", "buyers' MAE", "concordance"
    );
    for m in &s.out_of_time {
        println!(
            "{:<24} {:>9.3} {:>10.3} {:>12.3} {:>12.3}",
            m.method, m.mae_days, m.rmse_days, m.buyers_mae_days, m.concordance
        );
    }
    println!(
        "\n{:<8} {:>6} {:>10} {:>10} {:>8}",
        "decile", "users", "predicted", "actual", "bought"
    );
    for d in &s.by_decile {
        println!(
            "{:<8} {:>6} {:>10.2} {:>10.2} {:>7.1}%",
            d.decile,
            d.users,
            d.mean_predicted_days,
            d.mean_actual_days,
            100.0 * d.buyer_share
        );
    }
    println!(
        "\nscored {} users: {} expected to buy within {} days, mean probability of buying {:.3}",
        s.scored_users, s.expected_within_horizon, s.split.horizon_days, s.mean_buy_probability
    );
    if let Some(path) = out {
        println!("predictions written to {}", path.display());
    }
    Ok(())
}

fn write_scores(path: &Path, scores: &[NextPurchaseScore]) -> anyhow::Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    writer.write_record(["user_id", "predicted_days", "buy_probability"])?;
    for score in scores {
        writer.write_record([
            score.user_id.as_str(),
            &format!("{:.4}", score.predicted_days),
            &format!("{:.6}", score.buy_probability),
        ])?;
    }
    writer.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The two models of one split: the median days and the probability of buying.
struct FittedModels {
    days: Pipeline,
    buys: Pipeline,
}

impl FittedModels {
    /// Fits both on `table` with `days` (capped at `horizon_days`) as the target.
    fn fit(
        table: &FeatureTable,
        columns: &[String],
        days: &[f64],
        horizon_days: f64,
    ) -> anyhow::Result<FittedModels> {
        let bought: Vec<bool> = days.iter().map(|&d| d < horizon_days).collect();
        let buyers = bought.iter().filter(|&&b| b).count();
        if buyers == 0 || buyers == bought.len() {
            bail!(
                "{buyers} of {} users bought within the {horizon_days}-day window after {}: \
                 the days cannot be learned; try another --horizon",
                bought.len(),
                table.as_of.format("%Y-%m-%d")
            );
        }
        let data = feature_dataset(table, columns)?;
        let config = TrainConfig::default();
        let params = |objective| FamilyParams {
            gbdt: GbdtParams { objective, ..GbdtParams::default() },
            ..FamilyParams::default()
        };
        let days_data = data.clone().with_real_target("days", days.to_vec())?;
        let buys_data = data.with_target("bought", bought)?;
        Ok(FittedModels {
            days: Pipeline::fit(
                &days_data,
                ModelFamily::Gbdt,
                &config,
                &params(GbdtObjective::AbsoluteError),
            )?,
            buys: Pipeline::fit(
                &buys_data,
                ModelFamily::Gbdt,
                &config,
                &params(GbdtObjective::LogLoss),
            )?,
        })
    }

    /// Predicted days and probabilities of buying, in row order. The median
    /// of a user's capped days is H exactly when they are no more likely than
    /// not to buy within H, so a user with a probability below ½ gets H; the
    /// others get the absolute-error model's median, clamped to [0, H]. The
    /// classifier draws that line: near it the absolute-error leaves are
    /// noisy, and on generated shops the ungated model lost about a tenth of
    /// the global median's MAE to users it moved off H.
    fn predict(&self, data: &Dataset, horizon_days: f64) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        let probabilities = self.buys.score(data)?;
        let days = self
            .days
            .score(data)?
            .into_iter()
            .zip(&probabilities)
            .map(|(days, &p)| if p >= 0.5 { days.clamp(0.0, horizon_days) } else { horizon_days })
            .collect();
        Ok((days, probabilities))
    }
}

/// Trains on the first split, judges on the second beside two baselines, and
/// scores every user at the scoring time with models refitted on the second.
pub async fn predict_next_purchase(
    context: &SessionContext,
    spec: &PredictSpec,
    splits: &Splits,
) -> anyhow::Result<NextPurchasePrediction> {
    let started = Instant::now();
    ensure_enough_history(splits, spec.horizon)?;
    let horizon_days = spec.horizon.num_seconds() as f64 / 86_400.0;
    let columns = &splits.columns;
    // The labels are days, H for users without a purchase in the window.
    let train_days = labels_in_row_order(
        &splits.train_table,
        &labels_by_user(context, spec, splits.train_cutoff).await?,
    )?;
    let evaluation_days = labels_in_row_order(
        &splits.evaluation_table,
        &labels_by_user(context, spec, splits.evaluation_cutoff).await?,
    )?;

    let judged = FittedModels::fit(&splits.train_table, columns, &train_days, horizon_days)?;
    let evaluation_data = feature_dataset(&splits.evaluation_table, columns)?;
    let (predicted, probability) = judged.predict(&evaluation_data, horizon_days)?;
    let bought: Vec<bool> = evaluation_days.iter().map(|&d| d < horizon_days).collect();
    let judge = |method: &str, predicted: &[f64], ranking: &[f64]| {
        days_result(method, predicted, ranking, &evaluation_days, &bought)
    };
    let global_median =
        features::tags::percentile(train_days.iter().copied(), 0.5).context("no training users")?;
    let gap_rule = purchase_gap_rule(&splits.evaluation_table, global_median, horizon_days)?;
    let out_of_time = vec![
        judge("model (gbdt, median)", &predicted, &soonest_first_ranks(&predicted, &probability)),
        judge(
            &format!("global median ({global_median:.1} d)"),
            &vec![global_median; predicted.len()],
            &vec![global_median; predicted.len()],
        ),
        judge("purchase-gap rule", &gap_rule, &gap_rule),
    ];
    let by_decile = deciles(
        &soonest_first_ranks(&predicted, &probability),
        &predicted,
        &evaluation_days,
        &bought,
    );

    let scoring =
        FittedModels::fit(&splits.evaluation_table, columns, &evaluation_days, horizon_days)?;
    let (days, probabilities) =
        scoring.predict(&feature_dataset(&splits.score_table, columns)?, horizon_days)?;
    let mut scores: Vec<NextPurchaseScore> = splits
        .score_table
        .user_ids()?
        .into_iter()
        .zip(days)
        .zip(probabilities)
        .map(|((user_id, predicted_days), buy_probability)| NextPurchaseScore {
            user_id,
            predicted_days,
            buy_probability,
        })
        .collect();
    scores.sort_by(|a, b| {
        a.predicted_days
            .total_cmp(&b.predicted_days)
            .then(b.buy_probability.total_cmp(&a.buy_probability))
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    let train_bought: Vec<bool> = train_days.iter().map(|&d| d < horizon_days).collect();
    let summary = NextPurchaseSummary {
        split: SplitSummary::new(spec, splits, &train_bought, &bought),
        out_of_time,
        by_decile,
        scored_users: scores.len(),
        expected_within_horizon: scores.iter().filter(|s| s.predicted_days < horizon_days).count(),
        mean_buy_probability: scores.iter().map(|s| s.buy_probability).sum::<f64>()
            / scores.len().max(1) as f64,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(NextPurchasePrediction { summary, scores })
}

/// The baseline a shop could compute by hand: a repeat buyer is expected
/// back one mean gap between orders after the last purchase (clamped to
/// [0, H]); everyone else gets the global median.
fn purchase_gap_rule(
    table: &FeatureTable,
    global_median: f64,
    horizon_days: f64,
) -> anyhow::Result<Vec<f64>> {
    let gaps = table.numeric("mean_days_between_orders")?;
    let since_last = numeric_or(table, "days_since_last_purchase", f64::NAN)?;
    Ok(gaps
        .into_iter()
        .zip(since_last)
        .map(|(gap, since)| match gap {
            Some(gap) if since.is_finite() => (gap - since).clamp(0.0, horizon_days),
            _ => global_median,
        })
        .collect())
}

/// Positions in the soonest-first order: by predicted days, ties (many users
/// sit at H) broken by the higher probability of buying. Equal pairs share a
/// position, so the concordance index counts them as ties.
fn soonest_first_ranks(days: &[f64], probability: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..days.len()).collect();
    let key = |i: usize| (days[i], -probability[i]);
    order.sort_by(|&a, &b| key(a).0.total_cmp(&key(b).0).then(key(a).1.total_cmp(&key(b).1)));
    let mut ranks = vec![0.0; days.len()];
    let mut position = 0.0;
    for (k, &row) in order.iter().enumerate() {
        if k > 0 && key(row) != key(order[k - 1]) {
            position = k as f64;
        }
        ranks[row] = position;
    }
    ranks
}

fn days_result(
    method: &str,
    predicted: &[f64],
    ranking: &[f64],
    actual: &[f64],
    bought: &[bool],
) -> DaysMethodResult {
    let (buyers_predicted, buyers_actual): (Vec<f64>, Vec<f64>) = predicted
        .iter()
        .zip(actual)
        .zip(bought)
        .filter(|(_, b)| **b)
        .map(|((p, a), _)| (*p, *a))
        .unzip();
    DaysMethodResult {
        method: method.to_string(),
        mae_days: mean_absolute_error(predicted, actual),
        rmse_days: root_mean_squared_error(predicted, actual),
        buyers_mae_days: mean_absolute_error(&buyers_predicted, &buyers_actual),
        concordance: concordance_index(ranking, actual, bought),
    }
}

/// The judged users in ten groups by `ranking` (soonest first).
fn deciles(ranking: &[f64], predicted: &[f64], actual: &[f64], bought: &[bool]) -> Vec<DaysDecile> {
    let n = ranking.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| ranking[a].total_cmp(&ranking[b]).then(a.cmp(&b)));
    (1..=10)
        .filter_map(|decile| {
            let rows = &order[(decile - 1) * n / 10..decile * n / 10];
            let mean =
                |values: &[f64]| rows.iter().map(|&i| values[i]).sum::<f64>() / rows.len() as f64;
            (!rows.is_empty()).then(|| DaysDecile {
                decile,
                users: rows.len(),
                mean_predicted_days: mean(predicted),
                mean_actual_days: mean(actual),
                buyer_share: rows.iter().filter(|&&i| bought[i]).count() as f64 / rows.len() as f64,
            })
        })
        .collect()
}
