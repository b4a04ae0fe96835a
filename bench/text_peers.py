#!/usr/bin/env python3
"""Peers for the text benchmarks (run by bench.py with bench/.venv's Python).

    python bench/text_peers.py tfidf --data F.csv --text-col C --label-col L \
        --analyzer char|word [--folds 5]
        TF-IDF + logistic regression (scikit-learn), cross-validated on the
        same folds as `smartfunnel text train`: within each label, the k-th
        row in file order goes to fold k mod folds. Prints JSON.

    python bench/text_peers.py st-encode --model-dir DIR --data F.csv --text-col C \
        --batch-size 16 --threads 2 --max-tokens 128 [--out F.npy]
        sentence-transformers on PyTorch CPU: mean pooling + normalisation over
        the same model directory smartfunnel loads. Prints JSON with the
        encoding time (model load excluded) and texts per second.

    python bench/text_peers.py --noop st-encode|tfidf
        imports only (start-up cost).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time


def read_table(path: str, text_col: str, label_col: str | None):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    texts = [r[text_col] or "" for r in rows]
    labels = [int(r[label_col]) for r in rows] if label_col else None
    return texts, labels


def fold_assignment(labels: list[int], folds: int) -> list[int]:
    seen = {0: 0, 1: 0}
    out = []
    for y in labels:
        out.append(seen[y] % folds)
        seen[y] += 1
    return out


def tfidf(args) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    texts, labels = read_table(args.data, args.text_col, args.label_col)
    y = np.array(labels)
    folds = np.array(fold_assignment(labels, args.folds))
    if args.analyzer == "char":
        # Characters, as for Chinese (no spaces between words).
        make = lambda: TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
    else:
        make = lambda: TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    predicted = np.zeros(len(y), dtype=int)
    fold_acc = []
    started = time.perf_counter()
    for k in range(args.folds):
        train, test = folds != k, folds == k
        vec = make()
        x_train = vec.fit_transform([t for t, m in zip(texts, train) if m])
        x_test = vec.transform([t for t, m in zip(texts, test) if m])
        clf = LogisticRegression(C=args.c, max_iter=2000)
        clf.fit(x_train, y[train])
        predicted[test] = clf.predict(x_test)
        fold_acc.append(float(accuracy_score(y[test], predicted[test])))
    return {
        "system": f"scikit-learn TF-IDF ({args.analyzer}) + logistic regression",
        "rows": len(y),
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted)),
        "fold_accuracies": fold_acc,
        "seconds": time.perf_counter() - started,
    }


def st_encode(args) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer, models

    torch.set_num_threads(args.threads)
    texts, _ = read_table(args.data, args.text_col, None)
    prefix = args.prefix or ""
    texts = [prefix + t for t in texts]
    word = models.Transformer(args.model_dir, max_seq_length=args.max_tokens)
    pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[word, pooling], device="cpu")
    started = time.perf_counter()
    with torch.inference_mode():
        emb = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    seconds = time.perf_counter() - started
    if args.out:
        import numpy as np
        np.save(args.out, emb.astype("float32"))
    return {
        "system": f"sentence-transformers {__import__('sentence_transformers').__version__} "
                  f"(torch {torch.__version__}, CPU)",
        "rows": len(texts),
        "dim": int(emb.shape[1]),
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds,
        "threads": torch.get_num_threads(),
    }


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--noop":
        if argv[1:2] == ["st-encode"]:
            import sentence_transformers  # noqa: F401
            import torch  # noqa: F401
        else:
            import sklearn.linear_model  # noqa: F401
        return 0
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tfidf")
    t.add_argument("--data", required=True)
    t.add_argument("--text-col", required=True)
    t.add_argument("--label-col", required=True)
    t.add_argument("--analyzer", choices=["char", "word"], default="char")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--c", type=float, default=4.0)
    e = sub.add_parser("st-encode")
    e.add_argument("--model-dir", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--text-col", required=True)
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--max-tokens", type=int, default=128)
    e.add_argument("--prefix", default="")
    e.add_argument("--out")
    args = p.parse_args(argv)
    result = tfidf(args) if args.cmd == "tfidf" else st_encode(args)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
