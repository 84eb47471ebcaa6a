"""Benchmark (not a test): load one large BPJS `peserta` CSV four ways and compare, in one run.

    make bench-install   # once: Sling and dlt in .venv-bench (bench/requirements.txt)
    .venv/bin/python bench/ingest.py [--rows 1000000]

The same file for every path, each path its own process, timed from spawn to exit (process start,
imports and connecting included):
1. `sinergi load` (the CLI: parse, check, repair, pseudonymise, COPY, ledger, then the Great
   Expectations suites; checks on, as in production), and once more with `--no-checks` (no Great
   Expectations: the load itself), each into a fresh database; then the same people's next month into
   the first one (the vault receives no one new: most of a national month);
2. `psql \\copy` into a plain all-text table (the floor: no checks at all);
3. Sling (`sling run`, CSV -> PostgreSQL, its own type inference);
4. dlt (Arrow reads the CSV, dlt loads it: bench/peers/dlt_load.py, Parquet through ADBC).

Goals (issue 19): the loader >= 0.5x `psql \\copy` and >= 2x Sling; its peak memory flat (< 10% more
for twice the rows) and under 500 MB. Also the server floor: `psql \\copy` of the rows the loader wrote
into empty copies of its tables, what no loader writing these tables can beat.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
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
NEXT = REL.replace("202401", "202402")   # the same people a month later: the vault receives no one new
BENCH_VENV = ROOT / ".venv-bench"
# Where the loader writes a peserta file's rows (the vault's layout is changing: tables are found, not named).
LOADER_SCHEMAS = ("raw_bpjstk", "vault")
GOAL_PSQL, GOAL_SLING, MEMORY_CAP_MB, FLAT = 0.5, 2.0, 500, 1.10
QUIET = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "true",
         "SLING_DISABLE_TELEMETRY": "true", "RUNTIME__DLTHUB_TELEMETRY": "false"}


def fresh_db() -> str:
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_bench_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    return url


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Seconds from spawn to exit, peak RSS in MB (of the process and whatever it waited for) and stdout.
    wait4 gives this child's own rusage, so earlier runs in the bench cannot leak into the figure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **QUIET, **(env or {})}, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, stdout


def sinergi_load(url: str, landing: Path, rows: int, checks: bool = True) -> tuple[float, float]:
    """Seconds and peak MB of `sinergi load` (Great Expectations on unless `checks` is false; the row checks
    and pseudonyms always) on a landing folder holding the one file. Run as `python -m sinergi` so the
    checkout on PYTHONPATH is what runs, not an installed copy."""
    env = {settings.ENV_WAREHOUSE_URL: url, "PYTHONPATH": str(ROOT),
           settings.ENV_PSEUDONYM_KEY: os.environ.get(settings.ENV_PSEUDONYM_KEY, "bench-" + "k" * 32)}
    cmd = [sys.executable, "-m", "sinergi", "load", str(landing), "--json"] + ([] if checks else ["--no-checks"])
    seconds, peak, out = timed(cmd, env)
    outcome = json.loads(out.strip().splitlines()[-1])
    if outcome["status"] != "loaded" or outcome["rows_loaded"] != rows:
        raise RuntimeError(f"the loader did not load the whole file: {outcome}")
    return seconds, peak


def psql(url: str, command: str) -> None:
    subprocess.run(["psql", url, "-qXc", command], check=True)


def psql_copy(url: str, path: Path) -> float:
    """Seconds of one `psql \\copy` process into a plain text table made beforehand (not timed)."""
    header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0].split(";")
    psql(url, "create table plain_copy ({})".format(", ".join(f'"c{i}" text' for i in range(len(header)))))
    copy = f"\\copy plain_copy from '{path}' with (format csv, delimiter ';', header true)"
    return timed(["psql", url, "-qXc", copy])[0]


def sling_binary() -> Path:
    """The binary the `sling-linux-amd64` wheel ships: the `sling` wrapper would download one otherwise."""
    found = sorted(BENCH_VENV.glob("lib/python*/site-packages/sling_linux_amd64/bin/sling-linux-amd64"))
    if not found:
        sys.exit("Sling is missing: run `make bench-install` first")
    return found[0]


def sling(url: str, path: Path) -> float:
    """Seconds of `sling run` (the pip wrapper, then its binary) with the connection in an env var."""
    env = {"SLING_BINARY": str(sling_binary()), "BENCH_PG": url + "?sslmode=disable",
           "SLING_HOME_DIR": str(path.parent / "sling_home")}  # its env file and logs, not in ~/.sling
    source = json.dumps({"delimiter": ";", "header": True})
    cmd = [str(BENCH_VENV / "bin" / "sling"), "run", "--src-stream", f"file://{path}", "--src-options", source,
           "--tgt-conn", "BENCH_PG", "--tgt-object", "public.sling_peserta", "--mode", "full-refresh"]
    return timed(cmd, env)[0]


def dlt(url: str, path: Path, rows: int) -> float:
    """Seconds of bench/peers/dlt_load.py with the bench venv's Python."""
    cmd = [str(BENCH_VENV / "bin" / "python"), str(ROOT / "bench" / "peers" / "dlt_load.py"), str(path), url,
           "--format", "parquet"]
    seconds, _, out = timed(cmd)
    if int(out.split()[-1]) != rows:
        raise RuntimeError(f"dlt loaded {out.split()[-1]} rows, not {rows}")
    return seconds


def next_month(url: str, file: Path, work: Path, rows: int) -> tuple[float, int]:
    """Seconds of `sinergi load` on the same people's file of the next month, into the warehouse that holds
    the first (a national month is mostly this: nearly everyone re-delivered), and the vault rows it added."""
    before, landing = vault_rows(url), landing_with(file, work, NEXT)
    try:
        seconds, _ = sinergi_load(url, landing, rows)
    finally:
        shutil.rmtree(landing)
    return seconds, vault_rows(url) - before


def loader_tables(url: str) -> list[str]:
    """Every table (not partition) in the loader's schemas that holds rows after the load."""
    query = ("select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on "
             "n.oid = c.relnamespace where c.relkind in ('r', 'p') and not c.relispartition and "
             f"n.nspname in ({', '.join(repr(s) for s in LOADER_SCHEMAS)}) order by 1")
    names = subprocess.run(["psql", url, "-qXAtc", query], check=True, capture_output=True, text=True).stdout.split()
    return [t for t in names if subprocess.run(["psql", url, "-qXAtc", f"select exists (select from {t})"],
                                               check=True, capture_output=True, text=True).stdout.strip() == "t"]


def server_floor(url: str, work: Path) -> tuple[float, list[str]]:
    """Seconds `psql \\copy` takes to write the rows the loader wrote (every table it filled, with their
    indexes) into empty copies: the server's share, whatever the client does."""
    total, tables = 0.0, loader_tables(url)
    for i, table in enumerate(tables):
        dump, copy = work / f"floor_{i}.csv", f"public.floor_{i}"
        psql(url, f"\\copy (select * from {table}) to '{dump}' with (format csv)")
        psql(url, f"create table {copy} (like {table} including all)")
        total += timed(["psql", url, "-qXc", f"\\copy {copy} from '{dump}' with (format csv)"])[0]
        dump.unlink()
    return total, tables


def landing_with(file: Path, work: Path, rel: str = REL) -> Path:
    """A landing folder holding a copy of the file (the loader archives what it loads)."""
    landing = work / f"landing_{file.stem}_{Path(rel).stem}"
    (landing / rel).parent.mkdir(parents=True)
    shutil.copyfile(file, landing / rel)
    return landing


def vault_rows(url: str) -> int:
    return int(subprocess.run(["psql", url, "-qXAtc", "select count(*) from vault.identity"], check=True,
                              capture_output=True, text=True).stdout)


def load_average() -> str:
    """The machine's 1-minute load average: on a shared 2-core machine, other jobs skew every figure."""
    return f"{os.getloadavg()[0]:.1f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(rows: int, size_mb: float, secs: dict[str, float], floor: tuple[float, list[str]],
           memory: dict[int, float]) -> None:
    rate = {name: rows / s for name, s in secs.items()}
    print(f"file: {rows:,} rows, {size_mb:,.0f} MB (BPJS peserta CSV, `;`, decimal comma, dd/mm/yyyy; "
          f"every row its own KPJ and NIK)")
    for name, label in (("ours", "sinergi load"), ("ours_no_gx", "  --no-checks"), ("psql", "psql \\copy"),
                        ("sling", "Sling"), ("dlt", "dlt (parquet)")):
        print(f"{label:<14}: {rate[name]:>10,.0f} rows/s  ({secs[name]:.1f} s, process start included)")
    floor_s, tables = floor
    print(f"{'server floor':<14}: {rows / floor_s:>10,.0f} rows/s  ({floor_s:.1f} s: psql \\copy of the rows the "
          f"loader wrote into empty copies of {', '.join(tables)})")
    print(f"ours / psql \\copy : {rate['ours'] / rate['psql']:.2f}x  (goal >= {GOAL_PSQL}x: "
          f"{verdict(rate['ours'] >= GOAL_PSQL * rate['psql'])})")
    print(f"ours / Sling      : {rate['ours'] / rate['sling']:.2f}x  (goal >= {GOAL_SLING}x: "
          f"{verdict(rate['ours'] >= GOAL_SLING * rate['sling'])})")
    print(f"ours / dlt        : {rate['ours'] / rate['dlt']:.2f}x")
    print(f"without the Great Expectations step (--no-checks): {rate['ours_no_gx'] / rate['psql']:.2f}x psql \\copy, "
          f"{rate['ours_no_gx'] / rate['sling']:.2f}x Sling")
    print(f"server floor / psql \\copy: {rows / floor_s / rate['psql']:.2f}x  (no loader writing these tables can "
          f"exceed it)")
    (small, one), (big, two) = sorted(memory.items())
    growth = two / one
    print(f"peak memory: {one:,.0f} MB at {small:,} rows, {two:,.0f} MB at {big:,} rows (growth {growth:.2f}x for "
          f"2x the rows; goal flat, < {FLAT:.2f}x, and < {MEMORY_CAP_MB} MB: "
          f"{verdict(growth < FLAT and max(one, two) < MEMORY_CAP_MB)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = args.rows
    sling_binary()  # fail before the long part, not after it
    load_before = load_average()
    work = Path(tempfile.mkdtemp(prefix="sinergi_bench_"))
    generate(Options(profile="seed", scale=0.25, months=1, defect_rate=0.0), work / "world")
    source = work / "world" / "landing" / REL
    path, double = work / "bench.csv", work / "double.csv"
    big_peserta(source, path, rows)
    big_peserta(source, double, 2 * rows)
    secs, memory = {}, {}
    # The loader on the file, then on one twice its size (memory only): one load, one fresh database each.
    for file, n in ((path, rows), (double, 2 * rows)):
        landing, url = landing_with(file, work), fresh_db()
        try:
            seconds, memory[n] = sinergi_load(url, landing, n)
            if n == rows:
                secs["ours"], floor = seconds, server_floor(url, work)
                month_two = next_month(url, file, work, rows)
        finally:
            database.drop_database(url)
            shutil.rmtree(landing)
    landing, url = landing_with(path, work), fresh_db()
    try:   # the same file without the Great Expectations step: what the load itself costs
        secs["ours_no_gx"] = sinergi_load(url, landing, rows, checks=False)[0]
    finally:
        database.drop_database(url)
        shutil.rmtree(landing)
    url = fresh_db()
    try:
        secs["psql"] = psql_copy(url, path)
        secs["sling"] = sling(url, path)
        secs["dlt"] = dlt(url, path, rows)
    finally:
        database.drop_database(url)
    report(rows, path.stat().st_size / 1e6, secs, floor, memory)
    seconds, added = month_two
    print(f"next month     : {rows / seconds:>10,.0f} rows/s  ({seconds:.1f} s: the same people a month later "
          f"into the same warehouse, {rows / seconds / (rows / secs['psql']):.2f}x psql \\copy; the vault "
          f"received {added:,} rows)")
    print(f"load average (1 min, 2 cores): {load_before} at the start, {load_average()} at the end")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
