"""Benchmark (not a test): load one large BPJS `peserta` CSV three ways and compare, in one run.

    .venv/bin/python bench/ingest.py [--rows 1000000]

1. the project's path (`ingestion.pipeline.load_files`: parse, check, repair, pseudonymise, COPY, ledger);
2. `psql \\copy` of the same file into a plain all-text table (the floor: no checks at all);
3. pandas `read_csv` + `to_sql` (on a slice, it is slow; rows/s is what is compared).

Prints rows/s and the ratios, and the loader's peak memory for the file and for one twice its size
(run in child processes) to show memory does not grow with the file. Targets: >= 0.8x psql \\copy,
>= 20x to_sql, peak memory flat.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import Options, generate  # noqa: E402
from simulator.bigfile import big_peserta  # noqa: E402
from sinergi.core import settings  # noqa: E402
from sinergi.warehouse import database  # noqa: E402

REL = "bpjstk/K1301/K1301_peserta_202401.csv"


def fresh_db() -> str:
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_bench_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    return url


def project_path(url: str, landing: Path) -> tuple[float, float]:
    """Seconds and peak memory (MB) of the project's loader, run in a child process of its own."""
    code = ("import sys, time, resource; from pathlib import Path; from ingestion import pipeline, pseudonym; "
            "t = time.perf_counter(); "
            "o = pipeline.load_files(sys.argv[1], Path(sys.argv[2]), [sys.argv[3]], pseudonym.from_environment())[0]; "
            "assert o.status == 'loaded', o; "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    env = {**os.environ, settings.ENV_PSEUDONYM_KEY: os.environ.get(settings.ENV_PSEUDONYM_KEY, "bench-" + "k" * 32)}
    out = subprocess.run([sys.executable, "-c", code, url, str(landing), REL], check=True, env=env,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def psql_copy(url: str, path: Path) -> float:
    header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0].split(";")
    cols = ", ".join(f'"c{i}" text' for i in range(len(header)))
    subprocess.run(["psql", url, "-qc", f"create table plain_copy ({cols})"], check=True)
    start = time.perf_counter()
    subprocess.run(["psql", url, "-qc", f"\\copy plain_copy from '{path}' with (format csv, delimiter ';', header true)"],
                   check=True)
    return time.perf_counter() - start


def layout_floor(url: str, work: Path) -> float:
    """Seconds `psql \\copy` takes to write the rows the loader wrote (its raw table and the vault, with
    their indexes) into empty copies: the server's share, whatever the client does."""
    total = 0.0
    for table in ("raw_bpjstk.peserta", "vault.person"):
        dump = work / f"{table}.csv"
        copy = "floor_" + table.split(".")[1]
        subprocess.run(["psql", url, "-qc", f"\\copy (select * from {table}) to '{dump}' with (format csv)"], check=True)
        subprocess.run(["psql", url, "-qc", f"create table {copy} (like {table} including all)"], check=True)
        start = time.perf_counter()
        subprocess.run(["psql", url, "-qc", f"\\copy {copy} from '{dump}' with (format csv)"], check=True)
        total += time.perf_counter() - start
    return total


def pandas_to_sql(url: str, path: Path, rows: int) -> float:
    import pandas as pd
    import sqlalchemy
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    start = time.perf_counter()
    frame = pd.read_csv(path, sep=";", dtype=str, nrows=rows, encoding="utf-8-sig")
    frame.to_sql("plain_pandas", engine, index=False, chunksize=10_000)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pandas-rows", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinergi_bench_"))
    generate(Options(profile="seed", scale=0.25, months=1, defect_rate=0.0), work / "world")
    source = work / "world" / "landing" / REL
    results = {}
    for rows in (args.rows // 2, args.rows):
        landing = work / f"landing_{rows}"
        (landing / REL).parent.mkdir(parents=True)
        big_peserta(source, landing / REL, rows)
        url = fresh_db()
        results[rows] = project_path(url, landing)
        if rows == args.rows:
            floor_s = layout_floor(url, work)
        database.drop_database(url)
    rows = args.rows
    big = work / f"landing_{rows}_copy.csv"
    big_peserta(source, big, rows)
    url = fresh_db()
    try:
        copy_s = psql_copy(url, big)
        pandas_s = pandas_to_sql(url, big, args.pandas_rows)
    finally:
        database.drop_database(url)
    ours = rows / results[rows][0]
    floor = rows / copy_s
    slow = args.pandas_rows / pandas_s
    size_mb = big.stat().st_size / 1e6
    print(f"file: {rows:,} rows, {size_mb:,.0f} MB (BPJS peserta CSV, `;`, decimal comma, dd/mm/yyyy)")
    print(f"project path : {ours:>10,.0f} rows/s  ({results[rows][0]:.1f} s)")
    print(f"psql \\copy   : {floor:>10,.0f} rows/s  ({copy_s:.1f} s)")
    print(f"pandas to_sql: {slow:>10,.0f} rows/s  (on {args.pandas_rows:,} rows, {pandas_s:.1f} s)")
    ceiling = rows / floor_s
    print(f"server floor : {ceiling:>10,.0f} rows/s  ({floor_s:.1f} s: psql \\copy of the rows the loader writes, "
          f"raw table + vault with their indexes, into empty copies)")
    print(f"ratio vs psql \\copy : {ours / floor:.2f}x  (target >= 0.8)")
    print(f"ratio vs to_sql     : {ours / slow:.1f}x  (target >= 20)")
    print(f"server floor vs psql \\copy: {ceiling / floor:.2f}x  (no loader writing these tables can exceed it)")
    half, full = results[rows // 2][1], results[rows][1]
    print(f"peak memory: {half:,.0f} MB at {rows // 2:,} rows, {full:,.0f} MB at {rows:,} rows "
          f"(growth {full / half:.2f}x for 2x the rows)")


if __name__ == "__main__":
    main()
