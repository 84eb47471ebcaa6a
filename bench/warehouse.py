"""Benchmark (not a test): the dbt warehouse build at two national scales, and the cost of one more month.

    .venv/bin/python bench/database.py [--scales 0.001 0.01]

For each scale: a national world of two months is generated and loaded; the warehouse is built after
month 1 (the first build), then month 2 is loaded and built again (incremental: only month 2 is
computed), then the warehouse layers are dropped and both months built again from raw (full build).
Prints the times, the growth exponent of the full build between the scales (log of the time ratio
over log of the size ratio) and month 2's cost against month 1's. Targets: exponent <= 1.1,
month N+1 <= 1.2x month 1. Needs SINERGI_PSEUDONYM_KEY (any value of 16+ characters).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from ingestion import pipeline  # noqa: E402
from simulator import Options, generate  # noqa: E402
from sinergi.core import settings  # noqa: E402
from sinergi.warehouse import database, dbt_runner  # noqa: E402

LAYERS = ("staging", "intermediate", "identity", "restricted", "marts", "published", "reference")


def timed_build(url: str, build_id: str) -> float:
    """Seeds and models (the warehouse itself); the dbt data tests run over whole tables and are timed
    apart by `dbt build` in the test suite."""
    start = time.perf_counter()
    dbt_runner.dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test"], url,
                  {"include_unchecked": True, "build_id": build_id}, quiet=True)
    return time.perf_counter() - start


def drop_layers(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in LAYERS:
            conn.execute(f"drop schema if exists {schema} cascade")


def one_scale(scale: float, work: Path) -> dict:
    world = work / f"national_{scale}"
    t = time.perf_counter()
    generate(Options(profile="national", scale=scale, months=2, seed=5, defect_rate=0.001), world)
    print(f"  scale {scale}: generated in {time.perf_counter() - t:.0f} s", flush=True)
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_bench_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    try:
        landing = world / "landing"
        first = [f for f in pipeline.pending(landing) if "_202401" in Path(f).name]
        t = time.perf_counter()
        pipeline.load_by_sender(url, landing, first)
        print(f"  scale {scale}: month 1 loaded in {time.perf_counter() - t:.0f} s", flush=True)
        month1 = timed_build(url, "month1")
        pipeline.load_by_sender(url, landing)
        month2 = timed_build(url, "month2")
        drop_layers(url)
        full = timed_build(url, "full")
        with psycopg.connect(url) as conn:
            rows = conn.execute("select sum(rows_loaded) from audit.load where status = 'loaded'").fetchone()[0]
        result = {"scale": scale, "raw_rows": int(rows), "month1": month1, "month2": month2, "full": full}
        print(f"  scale {scale}: {rows:,} raw rows; first build {month1:.1f} s, month 2 {month2:.1f} s, "
              f"full rebuild of both months {full:.1f} s", flush=True)
        return result
    finally:
        database.drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs=2, default=[0.001, 0.01])
    args = parser.parse_args()
    os.environ.setdefault(settings.ENV_PSEUDONYM_KEY, uuid.uuid4().hex * 2)
    with tempfile.TemporaryDirectory(prefix="sinergi_bench_wh_") as tmp:
        small, large = (one_scale(s, Path(tmp)) for s in args.scales)
    exponent = math.log(large["full"] / small["full"]) / math.log(large["raw_rows"] / small["raw_rows"])
    print("\nResult")
    print(f"  full build: {small['full']:.1f} s at {small['raw_rows']:,} rows, {large['full']:.1f} s at "
          f"{large['raw_rows']:,} rows -> growth exponent {exponent:.2f} (target <= 1.1)")
    for r in (small, large):
        print(f"  scale {r['scale']}: month 2 {r['month2']:.1f} s vs month 1 {r['month1']:.1f} s -> "
              f"{r['month2'] / r['month1']:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
