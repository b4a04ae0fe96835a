#!/usr/bin/env python3
"""Peers for the funnel benchmarks: ClickHouse's windowFunnel computed by chDB,
DuckDB and Polars over the Parquet files of a lake (run by bench.py, one fresh
process per run, so that each peer's peak RSS is its own).

    python bench/funnel_peers.py SYSTEM --files LIST --steps a,b,c --window-us W
        [--mode m1,m2] [--per-user OUT.csv] [--threads N]
    python bench/funnel_peers.py SYSTEM --noop    # start-up cost only

SYSTEM is chdb, duckdb or polars. LIST is a text file with one Parquet path a
line (the lake's current Delta snapshot, taken by bench.py with `deltalake`).
Step k means `event_type = '<name k>'`; timestamps are microseconds since the
epoch; W is the window in microseconds.

Prints one JSON object on stdout:
    {"system": ..., "users": N, "levels": [users at level 0, 1, ..., k], "seconds": s}
and with --per-user writes CSV `user_id,level` for every user with any event.

Only chDB implements the modes (it *is* ClickHouse); DuckDB and Polars
implement the default mode, with this formulation (equal to ClickHouse's
algorithm, which sorts a user's events by (timestamp, step), starts a chain at
every step-1 event and extends the chain that reached step k-1 with a step-k
event at most W after the chain's start, keeping the latest start):

    L1(e) = t(e)                                      for step-1 events e
    Lk(e) = L(k-1)(latest step-(k-1) event e' with t(e') <= t(e))   (k > 1)
    level = max k such that some step-k event e has Lk(e) defined and
            t(e) - Lk(e) <= W  (0 if none)

Lk(e) is the latest start of any chain t1 <= t2 <= ... <= tk = t(e); it is
non-decreasing in t(e), so the latest predecessor gives the latest start, and
a chain within the window exists exactly when the latest-start one is. Each
Lk is an as-of join (backward, by user) of step-k events on L(k-1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def histogram(pairs, steps: int) -> list[int]:
    levels = [0] * (steps + 1)
    for level, n in pairs:
        levels[int(level)] += int(n)
    return levels


# --------------------------------------------------------------------------
# chDB: ClickHouse's own windowFunnel
# --------------------------------------------------------------------------


def chdb_source(files: list[str]) -> str:
    """A ClickHouse file() path that matches exactly these files: their common
    directory followed by a {a,b,...} alternation of the rest."""
    for f in files:
        if any(c in f for c in ",{}*?'\\"):
            raise SystemExit(f"chdb: path with a glob or quote character is not supported: {f}")
    if len(files) == 1:
        return files[0]
    prefix = os.path.commonpath(files)
    rest = [os.path.relpath(f, prefix) for f in files]
    return f"{prefix}/{{{','.join(rest)}}}"


def run_chdb(args, files, steps) -> dict:
    import chdb

    modes = "".join(f", {quote(m)}" for m in args.mode)
    conds = ", ".join(f"event_type = {quote(s)}" for s in steps)
    # windowFunnel wants an unsigned timestamp (ClickHouse rejects Int64):
    # fine for events after 1970.
    inner = (f"SELECT user_id, windowFunnel({args.window_us}{modes})"
             f"(toUInt64(toUnixTimestamp64Micro(event_time)), {conds}) AS level "
             f"FROM file({quote(chdb_source(files))}, Parquet) GROUP BY user_id")
    settings = f" SETTINGS max_threads = {args.threads}"
    sess = chdb.session.Session() if hasattr(chdb, "session") else None
    query = sess.query if sess is not None else chdb.query
    if args.per_user:
        res = query(f"SELECT user_id, level FROM ({inner}) ORDER BY user_id{settings}", "CSVWithNames")
        data = res.bytes() if hasattr(res, "bytes") else bytes(res)
        with open(args.per_user, "wb") as f:
            f.write(data.replace(b'"', b""))  # user ids have no commas or quotes
        rows = [line.split(b",") for line in data.splitlines()[1:] if line]
        counts: dict[int, int] = {}
        for r in rows:
            lv = int(r[1])
            counts[lv] = counts.get(lv, 0) + 1
        pairs = list(counts.items())
    else:
        res = query(f"SELECT level, count() FROM ({inner}) GROUP BY level{settings}", "JSONCompact")
        pairs = json.loads(res.bytes() if hasattr(res, "bytes") else bytes(res))["data"]
    levels = histogram(pairs, len(steps))
    return {"users": sum(levels), "levels": levels, "query": inner + settings}


# --------------------------------------------------------------------------
# DuckDB: as-of joins
# --------------------------------------------------------------------------


def duckdb_sql(files: list[str], steps: list[str], window_us: int, per_user: bool) -> list[str]:
    """Statements; the last one returns (level, users) or (user_id, level).
    Users get dense integer ids first: the as-of joins then sort integers,
    not strings (faster than joining on user_id; measured at 10M events)."""
    src = "read_parquet([" + ", ".join(quote(f) for f in files) + "], hive_partitioning = false)"
    names = ", ".join(quote(s) for s in sorted(set(steps)))
    stmts = [
        f"CREATE TEMP TABLE raw AS SELECT user_id, epoch_us(event_time) AS t, event_type FROM {src}",
        "CREATE TEMP TABLE users AS SELECT user_id, row_number() OVER () AS uid "
        "FROM (SELECT DISTINCT user_id FROM raw)",
        f"CREATE TEMP TABLE ev AS SELECT u.uid, r.t, r.event_type FROM raw r JOIN users u "
        f"USING (user_id) WHERE r.event_type IN ({names})",
        "DROP TABLE raw",
        f"CREATE TEMP TABLE l1 AS SELECT uid, t, t AS l FROM ev WHERE event_type = {quote(steps[0])}",
    ]
    reached = ["SELECT DISTINCT uid, 1 AS level FROM l1"]
    for k in range(2, len(steps) + 1):
        stmts.append(
            f"CREATE TEMP TABLE l{k} AS SELECT s.uid, s.t, p.l FROM "
            f"(SELECT uid, t FROM ev WHERE event_type = {quote(steps[k - 1])}) s "
            f"ASOF JOIN l{k - 1} p ON s.uid = p.uid AND p.t <= s.t")
        reached.append(f"SELECT uid, {k} AS level FROM l{k} WHERE t - l <= {window_us}")
    per = (f"SELECT u.user_id, coalesce(r.level, 0) AS level FROM users u LEFT JOIN "
           f"(SELECT uid, max(level) AS level FROM ({' UNION ALL '.join(reached)}) "
           f"GROUP BY uid) r USING (uid)")
    if per_user:
        stmts.append(per + " ORDER BY user_id")
    else:
        stmts.append(f"SELECT level, count(*) FROM ({per}) GROUP BY level")
    return stmts


def run_duckdb(args, files, steps) -> dict:
    import duckdb

    import shutil
    import tempfile

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {args.threads}")
    # Where an in-memory database spills (default: .tmp in the working directory).
    spill = tempfile.mkdtemp(prefix="duckdb-funnel-")
    con.execute(f"SET temp_directory = {quote(spill)}")
    con.execute("SET preserve_insertion_order = false")
    stmts = duckdb_sql(files, steps, args.window_us, bool(args.per_user))
    for s in stmts[:-1]:
        con.execute(s)
    rows = con.execute(stmts[-1]).fetchall()
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    if args.per_user:
        with open(args.per_user, "w") as f:
            f.write("user_id,level\n")
            f.writelines(f"{u},{lv}\n" for u, lv in rows)
        counts: dict[int, int] = {}
        for _, lv in rows:
            counts[lv] = counts.get(lv, 0) + 1
        rows = list(counts.items())
    levels = histogram(rows, len(steps))
    return {"users": sum(levels), "levels": levels, "query": ";\n".join(stmts)}


# --------------------------------------------------------------------------
# Polars: lazy scan + as-of joins
# --------------------------------------------------------------------------


def run_polars(args, files, steps) -> dict:
    import polars as pl

    scan = pl.scan_parquet(files, hive_partitioning=False)
    # Dense integer user ids (categorical codes), so that the as-of joins
    # group by an integer rather than a string.
    raw = (scan.select("user_id", pl.col("event_time").dt.epoch("us").alias("t"), "event_type")
           .with_columns(pl.col("user_id").cast(pl.Categorical).to_physical().alias("uid"))
           .cache())
    users = raw.select("user_id", "uid").unique(subset="uid")
    ev = raw.filter(pl.col("event_type").is_in(sorted(set(steps)))).cache()

    def step(k: int) -> pl.LazyFrame:  # (uid, t) of step k (1-based), sorted by t
        return ev.filter(pl.col("event_type") == steps[k - 1]).select("uid", "t").sort("t")

    prev = step(1).with_columns(pl.col("t").alias("l"))
    reached = [prev.select("uid", pl.lit(1, pl.Int32).alias("level"))]
    for k in range(2, len(steps) + 1):
        cur = (step(k).join_asof(prev, on="t", by="uid", strategy="backward",
                                 check_sortedness=False)
               .filter(pl.col("l").is_not_null()))
        reached.append(cur.filter(pl.col("t") - pl.col("l") <= args.window_us)
                       .select("uid", pl.lit(k, pl.Int32).alias("level")))
        prev = cur.sort("t")
    best = pl.concat(reached).group_by("uid").agg(pl.col("level").max())
    per = (users.join(best, on="uid", how="left")
           .select("user_id", pl.col("level").fill_null(0)))
    if args.per_user:
        df = per.sort("user_id").collect()
        df.write_csv(args.per_user)
        counts = df.group_by("level").len().rows()
    else:
        counts = per.group_by("level").len().collect().rows()
    levels = histogram(counts, len(steps))
    return {"users": sum(levels), "levels": levels, "query": "(Polars lazy plan; see funnel_peers.py)"}


def noop(system: str) -> None:
    """Start-up cost only: interpreter, import and a trivial query."""
    if system == "chdb":
        import chdb
        chdb.query("SELECT 1", "CSV")
    elif system == "duckdb":
        import duckdb
        duckdb.connect(":memory:").execute("SELECT 1").fetchall()
    else:
        import polars as pl
        pl.LazyFrame({"a": [1]}).collect()


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "--noop":
        noop(argv[0])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("system", choices=("chdb", "duckdb", "polars"))
    p.add_argument("--files", required=True, help="text file: one Parquet path a line")
    p.add_argument("--steps", required=True, help="comma-separated event types")
    p.add_argument("--window-us", type=int, required=True)
    p.add_argument("--mode", default="", help="comma-separated windowFunnel modes (chdb only)")
    p.add_argument("--per-user", help="write CSV user_id,level here")
    p.add_argument("--threads", type=int, default=usable_cores())
    p.add_argument("--explain", action="store_true", help="print the query and exit")
    args = p.parse_args(argv)
    args.mode = [m for m in args.mode.split(",") if m]
    steps = [s for s in args.steps.split(",") if s]
    with open(args.files) as f:
        files = [line.strip() for line in f if line.strip()]
    if not files:
        raise SystemExit("no Parquet files given")
    if args.mode and args.system != "chdb":
        raise SystemExit(f"{args.system}: only the default mode is implemented")
    if args.system == "polars":
        os.environ.setdefault("POLARS_MAX_THREADS", str(args.threads))
    if args.explain and args.system == "duckdb":
        print(";\n".join(duckdb_sql(files, steps, args.window_us, bool(args.per_user))))
        return 0
    start = time.perf_counter()
    out = {"chdb": run_chdb, "duckdb": run_duckdb, "polars": run_polars}[args.system](args, files, steps)
    out = {"system": args.system, **out, "seconds": time.perf_counter() - start}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
