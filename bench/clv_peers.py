#!/usr/bin/env python3
"""Peer for the `clv` benchmark: lifetimes 0.11.3 on the CDNOW transaction log.

Usage: clv_peers.py CDNOW_master.txt CALIBRATION_END OBSERVATION_END

Fits BG/NBD and Gamma-Gamma on the calibration period in weeks (daily orders,
``freq='D', freq_multiplier=7``, as the lifetimes documentation does for CDNOW),
predicts the holdout period's purchases and prints one JSON object: parameters
at full precision, the holdout MAE, and the seconds each step took.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data


def main() -> None:
    path, calibration_end, observation_end = sys.argv[1:4]
    started = time.perf_counter()
    log = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    log["date"] = pd.to_datetime(log["date"], format="%Y%m%d")
    summary = summary_data_from_transaction_data(
        log, "customer_id", "date", monetary_value_col="dollar_value",
        observation_period_end=calibration_end, freq="D", freq_multiplier=7,
    )
    summarised = time.perf_counter()

    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    fitted = time.perf_counter()

    # lifetimes' own `calibration_and_holdout_data` fails under pandas 3 ("No objects to
    # concatenate"), so the holdout counts are made here the way it makes them: distinct
    # purchase days after the calibration end, up to the observation end, per customer
    # of the calibration summary.
    in_holdout = log[(log["date"] > calibration_end) & (log["date"] <= observation_end)]
    holdout_purchases = (
        in_holdout.drop_duplicates(["customer_id", "date"]).groupby("customer_id").size()
        .reindex(summary.index, fill_value=0)
    )
    duration = (pd.Timestamp(observation_end) - pd.Timestamp(calibration_end)).days / 7
    predicted = bgf.conditional_expected_number_of_purchases_up_to_time(
        duration, summary["frequency"], summary["recency"], summary["T"],
    )
    mae = float((predicted - holdout_purchases).abs().mean())
    clv = ggf.customer_lifetime_value(
        bgf, summary["frequency"], summary["recency"], summary["T"],
        summary["monetary_value"], time=12, discount_rate=0.01, freq="W",
    )
    finished = time.perf_counter()

    print(json.dumps({
        "customers": int(len(summary)),
        "bgnbd": {name: float(bgf.params_[name]) for name in ("r", "alpha", "a", "b")},
        "gamma_gamma_customers": int(len(repeat)),
        "gamma_gamma": {name: float(ggf.params_[name]) for name in ("p", "q", "v")},
        "holdout_customers": int(len(summary)),
        "holdout_duration": duration,
        "holdout_purchases": int(holdout_purchases.sum()),
        "holdout_mae": mae,
        "clv_total": float(clv.sum()),
        "seconds": {
            "summary": summarised - started,
            "fit": fitted - summarised,
            "holdout_and_clv": finished - fitted,
            "total": finished - started,
        },
    }, indent=2))


if __name__ == "__main__":
    main()
