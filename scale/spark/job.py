#!/usr/bin/env python3
"""Earshot on Apache Spark: analyse many captures on the executors into one store, then run the saved hunts
with Spark SQL over the whole store.

Each executor runs `earshot analyze --each --store` on its share of the capture files (Earshot's analysis is
independent per file); the store is a folder every executor can write (a shared or distributed file system), or
an object-store URI (s3://, gs://, abfs://, hdfs://): then each executor writes a store of its own in a local
temporary folder and uploads its partitions with pyarrow.fs, `captures` last (the commit record).

    spark-submit scale/spark/job.py --earshot /opt/earshot/bin/earshot --store s3://bucket/case.store \
        --hunts-out hunts/ captures/ more/*.pcapng

Local mode (what scale/spark/test.sh runs): `--master local[2]` is the default when no master is configured.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pyspark.sql import SparkSession

CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",  # pcap (µs, ns)
    b"\x0a\x0d\x0d\x0a",  # pcapng
    b"\x1f\x8b",  # gzip
)
TABLES = ["calls", "legs", "messages", "streams", "findings", "dtmf", "credentials", "captures"]


def capture_files(inputs):
    """Capture files among the inputs (folders walked, files recognised by their magic number), sorted."""
    found = []
    for inp in inputs:
        paths = [inp]
        if os.path.isdir(inp):
            paths = [os.path.join(d, f) for d, _, fs in os.walk(inp) for f in fs]
        for p in paths:
            try:
                with open(p, "rb") as f:
                    head = f.read(4)
            except OSError:
                continue
            if head.startswith(CAPTURE_MAGICS):
                found.append(os.path.abspath(p))
    return sorted(set(found))


def is_uri(store):
    return "://" in store and not store.startswith("file://")


def local_path(store):
    return store[len("file://"):] if store.startswith("file://") else store


def analyse(files, earshot, store, rules):
    """Runs on an executor: `earshot analyze --each` over its files. Yields one record per file."""
    files = list(files)
    if not files:
        return
    target = store
    tmp = None
    if is_uri(store):
        tmp = tempfile.mkdtemp(prefix="earshot-store-")
        target = os.path.join(tmp, "store")
    else:
        target = local_path(store)
    cmd = [earshot, "analyze", "--no-audit", "--each", "--store", target]
    if rules:
        cmd += ["--rules", rules]
    started = time.monotonic()
    run = subprocess.run(cmd + files, capture_output=True, text=True)
    secs = time.monotonic() - started
    if run.returncode == 2:
        raise RuntimeError(f"earshot failed on {len(files)} files: {run.stderr.strip()[:2000]}")
    if tmp is not None:
        upload(target, store)
        shutil.rmtree(tmp, ignore_errors=True)
    for line in run.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) >= 2:
            yield {"file": cols[0], "sha256": cols[1], "secs": secs / len(files),
                   "bytes": os.path.getsize(cols[0]) if os.path.exists(cols[0]) else 0}
    for line in run.stderr.splitlines():
        if line.startswith("earshot:"):
            yield {"error": line}


def upload(local_store, uri):
    """Copies a local store's partitions to an object store, `captures` last."""
    import pyarrow.fs as pafs
    fs, root = pafs.FileSystem.from_uri(uri)
    for table in TABLES:
        src = os.path.join(local_store, table)
        if not os.path.isdir(src):
            continue
        for part in sorted(os.listdir(src)):
            pafs.copy_files(os.path.join(src, part), f"{root}/{table}/{part}",
                            source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
    marker = os.path.join(local_store, "_earshot_store.json")
    with fs.open_output_stream(f"{root}/_earshot_store.json") as out, open(marker, "rb") as f:
        out.write(f.read())


def hunts(earshot):
    """The saved hunts, exactly as `earshot query` runs them."""
    out = subprocess.run([earshot, "query", "--no-audit", "--list-hunts", "--format", "json", "."],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earshot", default=shutil.which("earshot") or "earshot",
                    help="the earshot binary, at the same path on every executor")
    ap.add_argument("--store", required=True, help="store folder or object-store URI")
    ap.add_argument("--rules", help="rules settings TOML, at the same path on every executor")
    ap.add_argument("--partitions", type=int, default=0,
                    help="Spark partitions (tasks) to spread the files over (default: one per 4 files)")
    ap.add_argument("--hunts-out", help="write each hunt's result here as CSV (one folder per hunt)")
    ap.add_argument("--master", default=None, help="Spark master when spark-submit did not set one (local[2])")
    ap.add_argument("inputs", nargs="+", help="capture files or folders (paths every executor can read)")
    args = ap.parse_args()

    builder = SparkSession.builder.appName("earshot")
    if args.master or not os.environ.get("SPARK_MASTER") and "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master(args.master or "local[2]")
    spark = (builder
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    files = capture_files(args.inputs)
    if not files:
        print("earshot-spark: no capture files in the inputs", file=sys.stderr)
        return 2
    if not is_uri(args.store):
        os.makedirs(local_path(args.store), exist_ok=True)
    total_bytes = sum(os.path.getsize(f) for f in files)
    parts = args.partitions or max(1, (len(files) + 3) // 4)
    started = time.monotonic()
    earshot, store, rules = args.earshot, args.store, args.rules
    results = (spark.sparkContext.parallelize(files, parts)
               .mapPartitions(lambda it: analyse(it, earshot, store, rules))
               .collect())
    wall = time.monotonic() - started
    errors = [r["error"] for r in results if "error" in r]
    done = [r for r in results if "error" not in r]
    print(json.dumps({"files": len(files), "analysed": len(done), "errors": len(errors),
                      "bytes": total_bytes, "wall_secs": round(wall, 3),
                      "files_per_sec": round(len(done) / wall, 2) if wall else None,
                      "mb_per_sec": round(total_bytes / 1e6 / wall, 2) if wall else None}))
    for e in errors:
        print(e, file=sys.stderr)

    root = args.store.rstrip("/")
    for table in TABLES:
        spark.read.option("basePath", f"{root}/{table}").parquet(f"{root}/{table}").createOrReplaceTempView(table)
    for h in hunts(args.earshot):
        rows = spark.sql(h["sql"])
        n = rows.count()
        print(json.dumps({"hunt": h["name"], "rows": n}))
        if args.hunts_out:
            rows.coalesce(1).write.mode("overwrite").option("header", True).csv(
                os.path.join(args.hunts_out, h["name"]))
    spark.stop()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
