"""Benchmark (not a test): Great Expectations checks of many small BPJS `peserta` batches, per-batch vs grouped.

    .venv/bin/python bench/quality.py [--sizes 1,100,1000] [--old-rev 235e671] [--world DIR]

Generates a national world (scale 0.0002, one month: 267 BPJS branches, each sending its `peserta` report),
loads its `peserta` files into a fresh database, and copies those batches (ledger row and rows, under new
load ids) until there are as many as the largest size. For each size, on a fresh copy of that database and a
fresh Great Expectations project, it runs `check_loads` of the old implementation (`ingestion/quality.py` at
--old-rev: one checkpoint per batch) and of the current one, after a warm-up run on one other batch (imports,
Data Docs site), and prints seconds per batch and the number of checkpoint runs. Both must give every batch
the same quality and the same expectation results (checked).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in (("GX_ANALYTICS_ENABLED", "False"), ("DO_NOT_TRACK", "1"), ("SCARF_NO_ANALYTICS", "true"),
                    ("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")):
    os.environ.setdefault(name, value)

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from simulator import Options, generate  # noqa: E402
from sinergi.core import settings  # noqa: E402
from sinergi.warehouse import database  # noqa: E402

WORLD = Options(profile="national", scale=0.0002, months=1, seed=3)
OLD_REV = "235e671"  # the last commit validating each batch with its own checkpoint


def module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"ingestion.{name}", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "ingestion"
    spec.loader.exec_module(mod)
    return mod


@contextmanager
def counted():
    """Count Great Expectations checkpoint runs (both implementations validate through checkpoints)."""
    import great_expectations as gx
    runs: list[int] = []
    original = gx.Checkpoint.run

    def run(self, *args, **kwargs):
        runs.append(1)
        return original(self, *args, **kwargs)

    gx.Checkpoint.run = run
    try:
        yield runs
    finally:
        gx.Checkpoint.run = original


def url_of(name: str) -> str:
    return settings.warehouse_url().rsplit("/", 1)[0] + "/" + name


def prepare(world: Path, n: int, work: Path) -> tuple[str, list[int], int]:
    """A template database with n `peserta` batches (real ones, then copies); (url, their load ids, one
    `klaim` batch for the warm-up)."""
    from ingestion import pipeline, pseudonym
    os.environ.setdefault(settings.ENV_PSEUDONYM_KEY, "bench-" + "k" * 32)
    landing = work / "landing"
    shutil.copytree(world / "landing", landing)  # loading moves files: the world stays as generated
    waiting = pipeline.pending(landing, "bpjstk")
    files = [f for f in waiting if "_peserta_" in f]
    warm = [f for f in waiting if "_klaim_" in f][:1]
    url = url_of(f"sinergi_bench_q_{uuid.uuid4().hex[:8]}")
    database.create_database(url)
    t = time.perf_counter()
    pipeline.load_files(url, landing, files + warm, pseudonym.from_environment())
    print(f"dimuat: {len(files)} berkas peserta + 1 klaim dalam {time.perf_counter() - t:.0f} s", flush=True)
    with psycopg.connect(url) as conn:
        real = [r[0] for r in conn.execute(
            "select load_id from audit.load where feed = 'peserta' and status = 'loaded' order by load_id")]
        klaim = conn.execute("select load_id from audit.load where feed = 'klaim' and status = 'loaded'").fetchone()[0]
        ids = list(real)
        copy = 0
        while len(ids) < n:  # a copy of a real batch under a new load id (a branch's report sent again)
            src = real[copy % len(real)]
            copy += 1
            new = conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
            conn.execute("insert into audit.load select (jsonb_populate_record(null::audit.load, to_jsonb(l) || "
                         "jsonb_build_object('load_id', %s::bigint, 'file', l.file || '#salinan' || %s::text, "
                         "'sha256', md5(l.sha256 || %s::text)))).* from audit.load as l where l.load_id = %s",
                         (new, copy, copy, src))
            conn.execute(sql.SQL("insert into raw_bpjstk.peserta select (jsonb_populate_record(null::raw_bpjstk.peserta, "
                                 "to_jsonb(r) || jsonb_build_object('_load_id', {new}::bigint))).* "
                                 "from raw_bpjstk.peserta as r where r._load_id = {src}").format(
                new=sql.Literal(new), src=sql.Literal(src)))
            ids.append(new)
    return url, ids[:n], klaim


def measure(mod, template: str, ids: list[int], warm: int, work: Path) -> tuple[float, int, dict, set]:
    """Seconds for check_loads(ids), checkpoint runs, qualities and results; on a fresh copy and project."""
    name = f"sinergi_bench_q_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url_of("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    url = url_of(name)
    os.environ[settings.ENV_GX_DIR] = tempfile.mkdtemp(prefix="gx_", dir=work)
    try:
        mod.check_loads(url, [warm])  # imports, the Data Docs site: what every later run finds in place
        with counted() as runs:
            t = time.perf_counter()
            quality = mod.check_loads(url, ids)
            seconds = time.perf_counter() - t
        with psycopg.connect(url) as conn:
            results = {tuple(r) for r in conn.execute(
                "select load_id, expectation, column_name, success, observed from audit.expectation_result "
                "where load_id = any(%s)", (ids,))}
        return seconds, len(runs), quality, results
    finally:
        database.drop_database(url)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,100,1000")
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--world", type=Path, help="a generated national world to reuse (else one is generated)")
    ap.add_argument("--no-old", action="store_true", help="only the current implementation")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="sinergi_bench_quality_"))
    world = args.world
    if world is None:
        world = work / "world"
        t = time.perf_counter()
        generate(WORLD, world)
        print(f"dunia nasional dibuat dalam {time.perf_counter() - t:.0f} s", flush=True)
    old_path = work / "quality_old.py"
    old_path.write_text(subprocess.run(["git", "show", f"{args.old_rev}:ingestion/quality.py"], cwd=ROOT, check=True,
                                       capture_output=True, text=True).stdout)
    impls = [("baru", module(ROOT / "ingestion" / "quality.py", "quality_new"))]
    if not args.no_old:
        impls.insert(0, ("lama", module(old_path, "quality_old")))
    url, ids, warm = prepare(world, max(sizes), work)
    template = database.database_name(url)
    print(f"{'muatan':>7} {'versi':>5} {'detik':>9} {'detik/muatan':>13} {'checkpoint':>11}", flush=True)
    try:
        for n in sizes:
            seen = {}
            for label, mod in impls:
                seconds, runs, quality, results = measure(mod, template, ids[:n], warm, work)
                seen[label] = (quality, results)
                print(f"{n:>7} {label:>5} {seconds:>9.1f} {seconds / n:>13.3f} {runs:>11}", flush=True)
            if len(seen) == 2:
                same = seen["lama"] == seen["baru"]
                print(f"{'':>7} hasil lama = baru: {'ya' if same else 'TIDAK'}", flush=True)
                if not same:
                    sys.exit(1)
    finally:
        database.drop_database(url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
