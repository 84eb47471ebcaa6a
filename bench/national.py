"""Benchmark (not a test): a national month end to end (generate, load, build), and what a full one costs.

    SINERGI_PSEUDONYM_KEY=... .venv/bin/python bench/national.py [--scales 0.01 0.03 0.1] [--keep] [--out DIR]

For each scale, the national profile is generated for two months (time, peak memory and disk of the
generator), then into a fresh database of its own: month 1's files are loaded (the project's loader,
`ingestion.pipeline.load_by_sender`, one process per sender family as the ingestion DAGs run) and the
warehouse is built (`sinergi.warehouse.dbt_runner.build`, the `sinergi build` of the product: seeds,
models and dbt tests); then month 2's files are loaded and built again. Every stage runs in a child
process of its own, so its peak memory (the largest resident size of the process or of a process it
waited for: loader workers, dbt) is the stage's alone; PostgreSQL's own memory is not in it.

Then, per stage, the growth exponent b of `seconds = a * rows^b` is fitted by least squares on log-log
over the scales, and a full national month is projected from it (the rows of a full month: the rows
measured at the largest scale divided by that scale, which is about 61M participant rows). Goals on
this 2-core machine: load <= 10 minutes and build <= 20 minutes for a full national month, month N+1
<= 1.1x month 1, growth exponent <= 1.0; each is printed with PASS or MISS. Each database is dropped at
the end unless --keep; worlds are written under --out (a temporary folder by default) and removed after
their scale unless --keep. Results are also written to OUT/national.json. `--generate-only` measures
the generator alone (issue 19, item 4); `--report OUT/national.json` prints an earlier run's report again.
"""
from __future__ import annotations

import argparse
import json
import math
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

import psycopg  # noqa: E402

from ingestion import pipeline  # noqa: E402
from sinergi.core import settings  # noqa: E402
from sinergi.warehouse import database  # noqa: E402

START, MONTHS, SEED, DEFECTS = "2024-01", 2, 5, 0.001
GOALS = {"load_s": 600.0, "build_s": 1200.0, "month_ratio": 1.1, "exponent": 1.0}
# A full national month (profiles.NATIONAL at scale 1): for comparison with the projected row counts.
FULL_MONTH = {"participant rows": 61_000_000, "employers": 840_000, "active cooperatives": 130_000,
              "KUR facilities": 400_000}

# Each stage is a child process that prints one JSON line last: its seconds and peak memory (its own
# and that of the processes it waited for), measured by itself so that nothing else is counted.
PEAK = ("import resource\n"
        "def peak_mb():\n"
        "    r = resource\n"
        "    return max(r.getrusage(r.RUSAGE_SELF).ru_maxrss, r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss) / 1024\n")
GENERATE = PEAK + """
import json, sys, time
from simulator import Options, generate
t = time.perf_counter()
r = generate(Options(profile="national", scale=float(sys.argv[1]), months=int(sys.argv[2]), start=sys.argv[3],
                     seed=int(sys.argv[4]), defect_rate=float(sys.argv[5])), sys.argv[6])
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": peak_mb(), "rows": r.rows, "files": r.files}))
"""
LOAD = PEAK + """
import json, sys, time
from pathlib import Path
from ingestion import pipeline
files = json.loads(Path(sys.argv[3]).read_text())
t = time.perf_counter()
handled = pipeline.load_by_sender(sys.argv[1], Path(sys.argv[2]), files)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": peak_mb(), "files": handled}))
"""
BUILD = PEAK + """
import json, sys, time
from sinergi.warehouse import dbt_runner
t, failed = time.perf_counter(), None
try:
    dbt_runner.build(sys.argv[1], include_unchecked=True, quiet=True, build_id=sys.argv[2],
                     with_tests=sys.argv[3] == "tests")
except dbt_runner.BuildFailed as exc:  # timed all the same; the failures are reported
    failed = str(exc)[:2000]
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": peak_mb(), "failed": failed}))
"""


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TooBig(RuntimeError):
    """A stage went over the memory limit and was stopped (so that it does not take the machine down)."""


def run_stage(code: str, args: list[str], limit_mb: float) -> dict:
    """Run a stage's child process, watching its resident size (stopped above `limit_mb`); its JSON line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, env=env, cwd=ROOT)
        while child.poll() is None:
            if rss_mb(child.pid) > limit_mb:
                child.kill()
                child.wait()
                raise TooBig(f"stopped above {limit_mb:,.0f} MB")
            time.sleep(0.5)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"stage failed ({child.returncode}):\n{err.read()[-4000:]}")
        return json.loads(out.read().strip().splitlines()[-1])


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def month_files(landing: Path, label: str) -> list[str]:
    """Month 1's files: those named for its period (daily ODS snapshots carry the day, `_YYYYMMDD`)."""
    return [f for f in pipeline.pending(landing) if f"_{label}" in Path(f).name]


def rows_since(url: str, after_load_id: int) -> tuple[int, dict[str, int], int]:
    """Rows loaded by the loads after `after_load_id`, per feed; and the last load id."""
    with psycopg.connect(url) as conn:
        per_feed = dict(conn.execute(
            "select coalesce(feed, '?'), coalesce(sum(rows_loaded), 0) from audit.load where load_id > %s "
            "group by 1", (after_load_id,)).fetchall())
        last = conn.execute("select coalesce(max(load_id), 0) from audit.load").fetchone()[0]
    per_feed = {k: int(v) for k, v in per_feed.items()}
    return sum(per_feed.values()), per_feed, int(last)


def active_cooperatives(url: str) -> int | None:
    """Active cooperatives of the latest month in the warehouse (K1's denominator), for the projection's
    sanity: employers and KUR facilities are the rows of their feeds."""
    try:
        with psycopg.connect(url) as conn:
            return int(conn.execute("select count(*) from marts.fct_cooperative_coverage "
                                    "where as_of = (select max(as_of) from marts.fct_cooperative_coverage)").fetchone()[0])
    except psycopg.Error:  # a layout this bench does not know: left out, not guessed
        return None


def one_month(url: str, landing: Path, files: list[str], month: int, args, work: Path, last_id: int) -> dict:
    listing = work / f"files_month{month}.json"
    listing.write_text(json.dumps(files))
    load = run_stage(LOAD, [url, str(landing), str(listing)], args.limit_mb)
    rows, per_feed, last_id = rows_since(url, last_id)
    say(f"    month {month}: loaded {len(files):,} files, {rows:,} rows ({per_feed.get('peserta', 0):,} participant "
        f"rows) in {load['seconds']:.1f} s, peak {load['peak_mb']:,.0f} MB")
    build = run_stage(BUILD, [url, f"month{month}", "none" if args.no_tests else "tests"], args.limit_mb)
    note = " (dbt reported failures: see national.json)" if build["failed"] else ""
    say(f"    month {month}: built in {build['seconds']:.1f} s, peak {build['peak_mb']:,.0f} MB{note}")
    return {"files": len(files), "rows": rows, "rows_per_feed": per_feed, "load_s": load["seconds"],
            "load_peak_mb": load["peak_mb"], "build_s": build["seconds"], "build_peak_mb": build["peak_mb"],
            "build_failed": build["failed"], "last_load_id": last_id}


def one_scale(scale: float, args, work: Path) -> dict:
    world = work / f"national_{scale:g}"
    shutil.rmtree(world, ignore_errors=True)
    say(f"scale {scale:g}: generating {MONTHS} months")
    gen = run_stage(GENERATE, [str(scale), str(MONTHS), START, str(SEED), str(DEFECTS), str(world)], args.limit_mb)
    result = {"scale": scale, "generate_s": gen["seconds"], "generate_peak_mb": gen["peak_mb"],
              "generate_rows": gen["rows"], "generate_files": gen["files"], "disk_mb": disk_mb(world)}
    say(f"  generated {gen['rows']:,} rows in {gen['files']:,} files in {gen['seconds']:.0f} s, peak "
        f"{gen['peak_mb']:,.0f} MB, {result['disk_mb']:,.0f} MB on disk")
    if args.generate_only:
        if not args.keep:
            shutil.rmtree(world, ignore_errors=True)
        return result
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_national_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    say(f"  database {database.database_name(url)}")
    try:
        landing = world / "landing"
        first = month_files(landing, START.replace("-", ""))
        rest = sorted(set(pipeline.pending(landing)) - set(first))
        m1 = one_month(url, landing, first, 1, args, work, 0)
        m2 = one_month(url, landing, rest, 2, args, work, m1["last_load_id"])
        result.update(month1=m1, month2=m2, active_cooperatives=active_cooperatives(url))
    finally:
        if not args.keep:
            database.drop_database(url)
            shutil.rmtree(world, ignore_errors=True)
    return result


def fit_growth(rows: list[float], seconds: list[float]) -> tuple[float, float]:
    """Least squares of log(seconds) = log(a) + b log(rows): returns (a, b). Needs two distinct sizes."""
    xs, ys = [math.log(r) for r in rows], [math.log(s) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("growth needs at least two different sizes")
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return math.exp(my - b * mx), b


def verdict(value: float, goal: float) -> str:
    return "PASS" if value <= goal else "MISS"


def report(results: list[dict]) -> dict:
    """Print the measured points, the fitted exponents and the projection of a full national month."""
    for r in results:
        print(f"generator, scale {r['scale']:g}, {MONTHS} months: {r['generate_s']:.0f} s, peak "
              f"{r['generate_peak_mb']:,.0f} MB, {r['disk_mb']:,.0f} MB on disk, {r['generate_rows']:,} rows")
    summary = {"points": results, "projection": {}}
    results = [r for r in results if "month1" in r]   # --generate-only: nothing loaded or built
    if not results:
        return summary
    print("\nMeasured (per month: rows loaded, seconds, peak MB)")
    print(f"{'scale':>6} {'month':>5} {'rows':>12} {'participants':>12} {'load s':>8} {'load MB':>8} "
          f"{'build s':>8} {'build MB':>8}")
    for r in results:
        for k in (1, 2):
            m = r[f"month{k}"]
            print(f"{r['scale']:>6g} {k:>5} {m['rows']:>12,} {m['rows_per_feed'].get('peserta', 0):>12,} "
                  f"{m['load_s']:>8.1f} {m['load_peak_mb']:>8,.0f} {m['build_s']:>8.1f} {m['build_peak_mb']:>8,.0f}")
    print("\nMonth 2 against month 1 (goal <= 1.1x)")
    for r in results:
        for stage in ("load_s", "build_s"):
            ratio = r["month2"][stage] / r["month1"][stage]
            print(f"  scale {r['scale']:g} {stage[:-2]:>5}: {ratio:.2f}x  {verdict(ratio, GOALS['month_ratio'])}")
    if len(results) < 2:
        print("\n(one scale only: no growth exponent or projection)")
        return summary
    largest = max(results, key=lambda r: r["scale"])
    print("\nGrowth exponent of seconds = a * rows^b (least squares on log-log over the scales; goal <= 1.0) "
          "and a full national month")
    for k in (1, 2):
        full_rows = largest[f"month{k}"]["rows"] / largest["scale"]
        participants = largest[f"month{k}"]["rows_per_feed"].get("peserta", 0) / largest["scale"]
        feeds = largest[f"month{k}"]["rows_per_feed"]
        print(f"  month {k}: a full month is {full_rows:,.0f} rows ({participants:,.0f} participant rows, "
              f"{feeds.get('badan_usaha', 0) / largest['scale']:,.0f} employers, "
              f"{feeds.get('kur', 0) / largest['scale']:,.0f} KUR facilities, "
              f"{(largest.get('active_cooperatives') or 0) / largest['scale']:,.0f} active cooperatives; "
              f"expected about {', '.join(f'{v:,} {n}' for n, v in FULL_MONTH.items())})")
        for stage in ("load_s", "build_s"):
            a, b = fit_growth([r[f"month{k}"]["rows"] for r in results], [r[f"month{k}"][stage] for r in results])
            projected = a * full_rows ** b
            summary["projection"][f"month{k}_{stage}"] = {"a": a, "b": b, "seconds": projected}
            print(f"    {stage[:-2]:>5}: b = {b:.2f} {verdict(b, GOALS['exponent'])}; projected "
                  f"{projected / 60:,.1f} min (goal <= {GOALS[stage] / 60:.0f} min) {verdict(projected, GOALS[stage])}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.03, 0.1])
    parser.add_argument("--keep", action="store_true", help="keep the databases and the worlds")
    parser.add_argument("--out", type=Path, help="where the worlds and national.json go (default: a temporary folder)")
    parser.add_argument("--no-tests", action="store_true", help="build seeds and models only (no dbt tests)")
    parser.add_argument("--limit-mb", type=float, default=16_000, help="stop a stage whose memory grows above this")
    parser.add_argument("--generate-only", action="store_true", help="only generate (time, memory, disk)")
    parser.add_argument("--report", type=Path, help="only print the report of an earlier run's national.json")
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        report(saved["points"] if isinstance(saved, dict) else saved)
        return
    os.environ.setdefault(settings.ENV_PSEUDONYM_KEY, uuid.uuid4().hex * 2)
    work = args.out or Path(tempfile.mkdtemp(prefix="sinergi_national_"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in args.scales:
        try:
            results.append(one_scale(scale, args, work))
        except TooBig as exc:  # a finding: the points measured so far are still reported
            say(f"scale {scale:g}: {exc}; this scale is left out")
        (work / "national.json").write_text(json.dumps(results, indent=2))
    summary = report(results)
    (work / "national.json").write_text(json.dumps(summary, indent=2))
    say(f"results in {work / 'national.json'}")


if __name__ == "__main__":
    main()
