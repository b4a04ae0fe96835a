"""Peer recommenders from the `implicit` package, evaluated by smartfunnel's protocols.

Run by bench/bench.py (benchmarks `recommend-quality` and `recommend-training`) with the
bench venv's Python; prints one JSON document on stdout.

    python bench/recommend_peers.py quality TRAIN VALID [--k 20]
    python bench/recommend_peers.py generate OUT_DIR --interactions N [--seed 42]
    python bench/recommend_peers.py training TRAIN_CSV TEST_CSV --factors F --iterations I

Protocols (the same as `smartfunnel recommend evaluate`):

* quality, next click: train on a sessions × items matrix of click counts. For every
  validation session and every position i >= 1, rank 20 items from the first i clicks
  (clicks on items unknown to training dropped from the prefix; targets on unknown items
  skipped). ALS folds the prefix in (`recalculate_user=True`); ItemKNN scores the prefix
  row against its item-item matrix; BPR has no fold-in, so its query vector is the mean
  of the prefix items' factors (bias column set to 1). No filtering of clicked items:
  repeat clicks are legitimate next clicks. Each peer is tuned on the same small grid
  shape as smartfunnel's on this same validation split, best Recall@20 reported.
* training: fit time only (the matrix is built before the clock starts), then Recall@20
  of one list per test user from their training row (user-level protocol).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

# implicit's ALS runs its own threads; a BLAS thread pool on top slows it down (it warns).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import implicit  # noqa: E402
from implicit.als import AlternatingLeastSquares  # noqa: E402
from implicit.bpr import BayesianPersonalizedRanking  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402


# ---------------------------------------------------------------------------
# next-click quality on YOOCHOOSE (session-rec files)
# ---------------------------------------------------------------------------

def read_sessions(path: str) -> dict[str, list[tuple[float, str]]]:
    sessions: dict[str, list[tuple[float, str]]] = {}
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        si, ii, ti = header.index("SessionId"), header.index("ItemId"), header.index("Time")
        for row in reader:
            sessions.setdefault(row[si], []).append((float(row[ti]), row[ii]))
    for clicks in sessions.values():
        clicks.sort(key=lambda c: c[0])  # stable: ties keep file order, as smartfunnel
    return sessions


def session_matrix(sessions, item_index):
    rows, cols = [], []
    for r, clicks in enumerate(sessions.values()):
        for _, item in clicks:
            rows.append(r)
            cols.append(item_index[item])
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(sessions), len(item_index)))
    m.sum_duplicates()
    return m


def prefix_queries(valid, item_index):
    """(prefix rows as CSR, targets, prefix item lists) for every scored next click."""
    rows, cols, targets, prefixes = [], [], [], []
    skipped = 0
    for clicks in valid.values():
        known = [item_index.get(item) for _, item in clicks]
        for i in range(1, len(clicks)):
            if known[i] is None:
                skipped += 1
                continue
            prefix = [x for x in known[:i] if x is not None]
            q = len(targets)
            for x in prefix:
                rows.append(q)
                cols.append(x)
            targets.append(known[i])
            prefixes.append(prefix)
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(len(targets), len(item_index)))
    m.sum_duplicates()
    return m, np.array(targets), prefixes, skipped


def metrics(ids: np.ndarray, targets: np.ndarray, k: int) -> dict:
    ids = ids[:, :k]
    hit = ids == targets[:, None]
    any_hit = hit.any(axis=1)
    rank = np.where(any_hit, hit.argmax(axis=1) + 1, 0)
    rr = np.where(any_hit, 1.0 / np.maximum(rank, 1), 0.0)
    ndcg = np.where(any_hit, 1.0 / np.log2(np.maximum(rank, 1) + 1.0), 0.0)
    return {"recall": float(any_hit.mean()), "mrr": float(rr.mean()), "ndcg": float(ndcg.mean()),
            "predictions": int(len(targets))}


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def to_numpy(factors):
    return factors.to_numpy() if hasattr(factors, "to_numpy") else np.asarray(factors)


def quality(args) -> dict:
    train = read_sessions(args.train)
    valid = read_sessions(args.valid)
    items = sorted({item for clicks in train.values() for _, item in clicks})
    item_index = {item: i for i, item in enumerate(items)}
    matrix = session_matrix(train, item_index)
    queries, targets, prefixes, skipped = prefix_queries(valid, item_index)
    k = args.k
    results = []

    def run(name, params, model, rank):
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        fit_s = time.perf_counter() - start
        ids = rank(model)
        m = metrics(ids, targets, k)
        results.append({"peer": name, "params": params, "fit_s": fit_s, **m})
        print(f"  {name} {params}: Recall@{k} {m['recall']:.4f} MRR@{k} {m['mrr']:.4f}", file=sys.stderr)

    everyone = np.arange(queries.shape[0])

    def rank_als(model):
        ids, _ = model.recommend(everyone, queries, N=k, filter_already_liked_items=False,
                                 recalculate_user=True)
        return ids

    def rank_knn(model):
        ids, _ = model.recommend(everyone, queries, N=k, filter_already_liked_items=False)
        return ids

    def rank_bpr(model):
        item_factors = to_numpy(model.item_factors)
        users = np.zeros((len(prefixes), item_factors.shape[1]), dtype=np.float32)
        for q, prefix in enumerate(prefixes):
            if prefix:
                users[q] = item_factors[prefix].mean(axis=0)
            users[q, -1] = 1.0  # the item-bias column
        out = []
        for start in range(0, len(users), 2048):
            out.append(top_k(users[start:start + 2048] @ item_factors.T, k))
        return np.vstack(out)

    for regularization in (0.01, 0.1, 1.0):
        for alpha in (1.0, 5.0, 20.0):
            params = {"factors": 64, "iterations": 15, "regularization": regularization, "alpha": alpha}
            run("implicit ALS", params,
                AlternatingLeastSquares(factors=64, iterations=15, regularization=regularization,
                                        alpha=alpha, random_state=42), rank_als)
    for learning_rate in (0.01, 0.05):
        for regularization in (0.001, 0.01):
            params = {"factors": 64, "iterations": 100, "learning_rate": learning_rate,
                      "regularization": regularization}
            run("implicit BPR", params,
                BayesianPersonalizedRanking(factors=64, iterations=100, learning_rate=learning_rate,
                                            regularization=regularization, random_state=42), rank_bpr)
    for neighbours in (50, 100, 200, 500):
        run("implicit ItemKNN (cosine)", {"K": neighbours}, CosineRecommender(K=neighbours), rank_knn)

    best = {}
    for r in results:
        if r["peer"] not in best or r["recall"] > best[r["peer"]]["recall"]:
            best[r["peer"]] = r
    return {"implicit": implicit.__version__, "k": k, "skipped_unknown_targets": skipped,
            "trials": results, "best": list(best.values())}


# ---------------------------------------------------------------------------
# generated 10M-interaction data and training time
# ---------------------------------------------------------------------------

def generate(args) -> dict:
    """Users with one favourite topic each; 80% of their clicks in it (Zipf within the
    topic), 20% anywhere (Zipf over the catalogue). One click per test user is held out."""
    rng = np.random.default_rng(args.seed)
    n = args.interactions
    users = max(1, n // 50)
    items = 50_000
    topics = 100
    per_topic = items // topics
    user_topic = rng.integers(0, topics, users)
    user = rng.integers(0, users, n)
    in_topic = rng.random(n) < 0.8
    zipf_topic = np.minimum(rng.zipf(1.3, n) - 1, per_topic - 1)
    zipf_all = np.minimum(rng.zipf(1.2, n) - 1, items - 1)
    item = np.where(in_topic, user_topic[user] * per_topic + zipf_topic, zipf_all)
    t = np.arange(n, dtype=np.int64) + 1_700_000_000
    os.makedirs(args.out, exist_ok=True)
    test_users = min(10_000, users)
    # Hold out each of the first test_users users' last click.
    last = np.full(users, -1, dtype=np.int64)
    last[user] = np.arange(n)  # later positions overwrite earlier ones
    held = np.zeros(n, dtype=bool)
    chosen = last[:test_users]
    held[chosen[chosen >= 0]] = True

    def write(path, mask):
        with open(path, "w") as f:
            f.write("user_id,item_id,time\n")
            idx = np.nonzero(mask)[0]
            for start in range(0, len(idx), 1_000_000):
                part = idx[start:start + 1_000_000]
                lines = np.char.add(np.char.add(np.char.add(np.char.add(
                    user[part].astype(str), ","), item[part].astype(str)), ","), t[part].astype(str))
                f.write("\n".join(lines.tolist()))
                f.write("\n")
        return int(mask.sum())

    train_rows = write(os.path.join(args.out, "train.csv"), ~held)
    test_rows = write(os.path.join(args.out, "test.csv"), held)
    return {"users": users, "items": items, "train_rows": train_rows, "test_rows": test_rows}


def training(args) -> dict:
    import pandas as pd
    train = pd.read_csv(args.train, dtype={"user_id": str, "item_id": str})
    test = pd.read_csv(args.test, dtype={"user_id": str, "item_id": str})
    users = pd.Index(train["user_id"].unique())
    items = pd.Index(train["item_id"].unique())
    u = users.get_indexer(train["user_id"])
    i = items.get_indexer(train["item_id"])
    matrix = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    tu = users.get_indexer(test["user_id"])
    ti = items.get_indexer(test["item_id"])
    keep = (tu >= 0) & (ti >= 0)
    tu, ti = tu[keep], ti[keep]
    k = 20
    out = {"implicit": implicit.__version__, "interactions": int(len(train)), "users": len(users),
           "items": len(items), "test_users": int(len(tu))}

    def quality(ids):
        return float((ids[:, :k] == ti[:, None]).any(axis=1).mean())

    als = AlternatingLeastSquares(factors=args.factors, iterations=args.iterations,
                                  regularization=args.regularization, alpha=args.alpha, random_state=42)
    start = time.perf_counter()
    als.fit(matrix, show_progress=False)
    out["als_fit_s"] = time.perf_counter() - start
    ids, _ = als.recommend(tu, matrix[tu], N=k, filter_already_liked_items=False)
    out["als_recall"] = quality(ids)
    start = time.perf_counter()
    single = []
    for q in range(min(2000, len(tu))):
        t0 = time.perf_counter()
        als.recommend(tu[q], matrix[tu[q]], N=k, filter_already_liked_items=False)
        single.append((time.perf_counter() - t0) * 1e6)
    out["als_latency_p50_us"] = float(np.percentile(single, 50))
    out["als_latency_p99_us"] = float(np.percentile(single, 99))

    knn = CosineRecommender(K=args.neighbours)
    start = time.perf_counter()
    knn.fit(matrix, show_progress=False)
    out["item_knn_fit_s"] = time.perf_counter() - start
    ids, _ = knn.recommend(tu, matrix[tu], N=k, filter_already_liked_items=False)
    out["item_knn_recall"] = quality(ids)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("train")
    q.add_argument("valid")
    q.add_argument("--k", type=int, default=20)
    g = sub.add_parser("generate")
    g.add_argument("out")
    g.add_argument("--interactions", type=int, default=10_000_000)
    g.add_argument("--seed", type=int, default=42)
    t = sub.add_parser("training")
    t.add_argument("train")
    t.add_argument("test")
    t.add_argument("--factors", type=int, default=64)
    t.add_argument("--iterations", type=int, default=15)
    t.add_argument("--regularization", type=float, default=0.01)
    t.add_argument("--alpha", type=float, default=1.0)
    t.add_argument("--neighbours", type=int, default=100)
    args = parser.parse_args()
    result = {"quality": quality, "generate": generate, "training": training}[args.command](args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
