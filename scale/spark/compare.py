#!/usr/bin/env python3
"""Compares two Earshot stores table by table (row counts and a SHA-256 of the sorted key columns, read with
pyarrow, an independent Parquet reader), and the saved hunts' answers given by Spark SQL (CSV folders), Earshot's
own engine (`earshot query --hunt`, on both stores) and DuckDB. Exits 1 on any difference.

usage: compare.py REFERENCE_STORE OTHER_STORE [--hunts SPARK_HUNTS_DIR --earshot BIN]
"""
import argparse
import csv
import glob
import hashlib
import json
import math
import subprocess
import sys

import duckdb
import pyarrow.dataset as ds

KEYS = {
    "captures": ["capture_sha256", "file", "sha256", "packets", "calls", "findings"],
    "calls": ["capture_sha256", "call_id", "file", "frame", "kind", "message_count", "stream_count"],
    "legs": ["capture_sha256", "a", "b", "status"],
    "messages": ["capture_sha256", "file", "frame", "index", "summary"],
    "streams": ["capture_sha256", "index", "ssrc", "packets", "lost"],
    "findings": ["capture_sha256", "index", "rule_id", "severity", "evidence_frames_total"],
    "dtmf": ["capture_sha256", "call_id", "frame", "digit"],
    "credentials": ["capture_sha256", "username", "realm", "source", "responses"],
}


def table_digest(store, table):
    t = ds.dataset(f"{store}/{table}", format="parquet", partitioning="hive").to_table(columns=KEYS[table])
    rows = sorted(tuple("" if v is None else str(v) for v in r.values()) for r in t.to_pylist())
    h = hashlib.sha256("\n".join("\t".join(r) for r in rows).encode()).hexdigest()
    return len(rows), h


def norm(v):
    """A cell as a comparable value: None for null/empty, float for numbers, lower-case booleans."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v)
    if s in ("true", "false"):
        return 1.0 if s == "true" else 0.0
    try:
        return float(s)
    except ValueError:
        return s


def same(a, b):
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb):
            return False
        for x, y in zip(ra, rb):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def earshot_hunt(earshot, store, name):
    out = subprocess.run([earshot, "query", "--no-audit", store, "--hunt", name, "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("--hunts")
    ap.add_argument("--earshot")
    args = ap.parse_args()
    bad = 0
    for table in KEYS:
        ref, oth = table_digest(args.reference, table), table_digest(args.other, table)
        ok = ref == oth
        bad += not ok
        print(f"{'ok ' if ok else 'DIFF'} {table:12} rows {ref[0]:>8} vs {oth[0]:>8}  sha256 {ref[1][:16]} vs {oth[1][:16]}")
    if args.hunts:
        hunts = subprocess.run([args.earshot, "query", "--no-audit", "--list-hunts", "--format", "json", "."],
                               capture_output=True, text=True, check=True).stdout
        con = duckdb.connect()
        for table in KEYS:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{args.other}/{table}/*/*.parquet', "
                        "hive_partitioning = true)")
        for h in (json.loads(l) for l in hunts.splitlines() if l.strip()):
            name = h["name"]
            mine = earshot_hunt(args.earshot, args.reference, name)
            cur = con.execute(h["sql"])
            dcols = [d[0] for d in cur.description]
            duck = [[norm(v) for v in r] for r in cur.fetchall()]
            mine_rows = [[norm(r.get(c)) for c in dcols] for r in mine]
            # Earshot opens the store the cluster made, too (what the desktop app does with it).
            theirs = [[norm(r.get(c)) for c in dcols] for r in earshot_hunt(args.earshot, args.other, name)]
            spark_rows = []
            for f in sorted(glob.glob(f"{args.hunts}/{name}/*.csv")):
                with open(f, newline="") as fh:
                    rd = csv.DictReader(fh)
                    spark_rows += [[norm(r.get(c)) for c in dcols] for r in rd]
            ok = same(mine_rows, duck) and same(mine_rows, spark_rows) and same(mine_rows, theirs)
            bad += not ok
            print(f"{'ok ' if ok else 'DIFF'} hunt {name:24} earshot {len(mine_rows):>5} rows "
                  f"(on Spark's store {len(theirs):>5}), duckdb {len(duck):>5}, spark {len(spark_rows):>5}")
            if not ok:
                print("  earshot:", mine_rows[:5], "\n  earshot on Spark's store:", theirs[:5],
                      "\n  duckdb: ", duck[:5], "\n  spark:  ", spark_rows[:5])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
