#!/usr/bin/env python3
"""Peers for the `models` benchmark: LightGBM and scikit-learn's logistic
regression cross-validated on the same folds as `smartfunnel model train`
(run by bench.py, one fresh process per run).

    python bench/models_peers.py SYSTEM --data CSV --target COLUMN --folds FOLDS.csv
        [--threads N]
    python bench/models_peers.py SYSTEM --noop     # start-up cost only

SYSTEM is lightgbm or sklearn-logistic. FOLDS.csv has a `fold` column, one
row per data row (bench.py writes it; smartfunnel reads the same file with
`--fold-file`). Like `smartfunnel model train`, each peer fits one model per
fold, scores that fold's rows, and then fits once more on all rows.

Prints one JSON object on stdout:
    {"system": ..., "fold_roc_auc": [...], "mean_roc_auc": m, "pooled_roc_auc": p,
     "cv_seconds": s, "final_fit_seconds": s}

Columns: the target is `true/false` (or 0/1); other non-numeric columns are
categorical (LightGBM: pandas `category` dtype, its native categorical
splits; logistic regression: one-hot), `TRUE/FALSE` columns become 0/1.
LightGBM runs with its defaults (100 trees, 31 leaves, learning rate 0.1);
the logistic regression standardises numeric columns and uses C = 1 (L2), as
scikit-learn's defaults, with max_iter raised so that it converges.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def load(path: str, target: str):
    import pandas as pd

    frame = pd.read_csv(path)
    y = frame.pop(target)
    if y.dtype == object:
        y = y.astype(str).str.lower().map({"true": 1, "false": 0, "1": 1, "0": 0})
    y = y.astype(int).to_numpy()
    categorical = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype == bool:
            frame[column] = values.astype(int)
        elif values.dtype == object or str(values.dtype) in ("str", "string"):
            lowered = values.astype(str).str.lower()
            if set(lowered.unique()) <= {"true", "false"}:
                frame[column] = (lowered == "true").astype(int)
            else:
                frame[column] = values.astype("category")
                categorical.append(column)
    return frame, y, categorical


def read_folds(path: str):
    with open(path) as f:
        header = f.readline().strip().split(",")
        column = header.index("fold")
        return [int(line.strip().split(",")[column]) for line in f if line.strip()]


def make_model(system: str, categorical: list[str], numeric: list[str], threads: int):
    if system == "lightgbm":
        import lightgbm as lgb

        return lgb.LGBMClassifier(n_jobs=threads, random_state=42, deterministic=True, verbose=-1)
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer([
        ("numeric", StandardScaler(), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    return make_pipeline(prepare, LogisticRegression(C=1.0, max_iter=5000))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=["lightgbm", "sklearn-logistic"])
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--folds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--noop", action="store_true")
    args = parser.parse_args(argv)
    if args.noop:  # start-up cost: interpreter and imports
        import pandas  # noqa: F401
        from sklearn.metrics import roc_auc_score  # noqa: F401
        make_model(args.system, [], [], args.threads)
        return 0
    import numpy as np
    from sklearn.metrics import roc_auc_score

    frame, y, categorical = load(args.data, args.target)
    numeric = [c for c in frame.columns if c not in categorical]
    folds = np.array(read_folds(args.folds))
    if len(folds) != len(y):
        print(f"{args.folds}: {len(folds)} fold rows for {len(y)} data rows", file=sys.stderr)
        return 2
    started = time.perf_counter()
    out_of_fold = np.zeros(len(y))
    fold_auc = []
    for k in sorted(set(folds.tolist())):
        train, test = folds != k, folds == k
        model = make_model(args.system, categorical, numeric, args.threads)
        model.fit(frame[train], y[train])
        scores = model.predict_proba(frame[test])[:, 1]
        out_of_fold[test] = scores
        fold_auc.append(float(roc_auc_score(y[test], scores)))
    cv_seconds = time.perf_counter() - started
    started = time.perf_counter()
    make_model(args.system, categorical, numeric, args.threads).fit(frame, y)
    final_fit_seconds = time.perf_counter() - started
    print(json.dumps({
        "system": args.system,
        "fold_roc_auc": fold_auc,
        "mean_roc_auc": sum(fold_auc) / len(fold_auc),
        "pooled_roc_auc": float(roc_auc_score(y, out_of_fold)),
        "cv_seconds": cv_seconds,
        "final_fit_seconds": final_fit_seconds,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
