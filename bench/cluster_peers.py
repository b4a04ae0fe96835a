#!/usr/bin/env python3
"""Peer and input generator for the `kmeans` benchmark.

    cluster_peers.py generate OUT.npy --rows N --columns D --clusters K --seed S
    cluster_peers.py kmeans DATA.npy --k K --n-init N --max-iter M --threads T \
        --silhouette-sample S

`generate` writes a Gaussian mixture as float32 .npy (C order): K centres drawn
from N(0, 1) per feature, each row a centre plus N(0, 1) noise, so that the
clusters overlap and Lloyd needs a few dozen iterations. `kmeans` runs
scikit-learn's KMeans (init='k-means++', tol=0, random_state=0) on it with
its thread pools limited to T threads and prints one JSON object with the
fit time, iterations, inertia and sampled silhouette.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def generate(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    centres = rng.normal(0.0, 1.0, size=(args.clusters, args.columns))
    labels = rng.integers(0, args.clusters, size=args.rows)
    rows = centres[labels] + rng.normal(0.0, 1.0, size=(args.rows, args.columns))
    np.save(args.out, rows.astype(np.float32))


def kmeans(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    data = np.load(args.data)
    loaded = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        fit_started = time.perf_counter()
        model = KMeans(n_clusters=args.k, init="k-means++", n_init=args.n_init,
                       max_iter=args.max_iter, tol=0.0, random_state=0).fit(data)
        fit_seconds = time.perf_counter() - fit_started
        silhouette_started = time.perf_counter()
        silhouette = float(silhouette_score(data, model.labels_, sample_size=args.silhouette_sample,
                                            random_state=0))
        silhouette_seconds = time.perf_counter() - silhouette_started
    print(json.dumps({
        "rows": int(data.shape[0]),
        "columns": int(data.shape[1]),
        "k": args.k,
        "threads": args.threads,
        "iterations": int(model.n_iter_),
        "inertia": float(model.inertia_),
        "silhouette": silhouette,
        "cluster_sizes": np.bincount(model.labels_, minlength=args.k).tolist(),
        "load_seconds": loaded - started,
        "fit_seconds": fit_seconds,
        "silhouette_seconds": silhouette_seconds,
    }))


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate")
    gen.add_argument("out")
    gen.add_argument("--rows", type=int, required=True)
    gen.add_argument("--columns", type=int, required=True)
    gen.add_argument("--clusters", type=int, required=True)
    gen.add_argument("--seed", type=int, required=True)
    km = commands.add_parser("kmeans")
    km.add_argument("data")
    km.add_argument("--k", type=int, required=True)
    km.add_argument("--n-init", type=int, required=True)
    km.add_argument("--max-iter", type=int, required=True)
    km.add_argument("--threads", type=int, required=True)
    km.add_argument("--silhouette-sample", type=int, required=True)
    args = parser.parse_args()
    generate(args) if args.command == "generate" else kmeans(args)


if __name__ == "__main__":
    main()
