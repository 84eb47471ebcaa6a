"""Benchmark (not a test): a national month from delivery to marts under Airflow's real scheduler, against
`sinergi load && sinergi build` on the same world, in one run.

    .venv/bin/python bench/scheduler.py [--scale 0.0002] [--seed 3] [--executor LocalExecutor|CeleryExecutor]

The world (national profile: 514 regencies/cities, 267 BPJS branches, ~1,370 files in one month) is
generated once. The plain path runs the two commands as an operator would (process start included).
The scheduled path starts scheduler, dag-processor, triggerer and api-server (and a Celery worker on the
local Redis with --executor CeleryExecutor) with an empty landing folder, waits until the DAGs are
registered, then delivers every file at once and times until the warehouse DAG's run has succeeded:
the landing watchers start the ingestion DAGs, each sender's cycle completes, the warehouse builds once.
Prints both times and the ratio; goal: <= 1.5x. Needs SINERGI_PSEUDONYM_KEY (any value of 16+ characters).
"""
from __future__ import annotations

import argparse
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
from sinergi.core import settings  # noqa: E402
from sinergi.orchestration import airflow_local  # noqa: E402
from sinergi.warehouse import database  # noqa: E402

GOAL = 1.5


def _new_db() -> str:
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_bench_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    return url


def plain(world: Path, work: Path) -> float:
    landing = shutil.copytree(world / "landing", work / "plain" / "landing")
    url = _new_db()
    env = {**os.environ, settings.ENV_WAREHOUSE_URL: url, settings.ENV_GX_DIR: str(work / "gx_plain")}
    sinergi = str(Path(sys.executable).with_name("sinergi"))
    try:
        start = time.perf_counter()
        subprocess.run([sinergi, "load", str(landing), "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sinergi, "build"], env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        database.drop_database(url)


def scheduled(world: Path, work: Path, executor: str) -> float:
    landing = work / "scheduled" / "landing"
    for sender in ("kemenkop", "bpjstk", "himbara"):
        (landing / sender).mkdir(parents=True)
    url = _new_db()
    os.environ[settings.ENV_GX_DIR] = str(work / "gx_scheduled")
    broker = "redis://127.0.0.1:6379/7" if executor == "CeleryExecutor" else None
    try:
        with airflow_local.Scheduler(work / "airflow", url, landing, executor=executor, broker_url=broker) as airflow:
            while len(airflow.query("select dag_id from dag where not is_paused")) < 4:
                time.sleep(2)
            start = time.perf_counter()
            for sender in ("kemenkop", "bpjstk", "himbara"):  # a sender moves its files in when complete
                for entry in (world / "landing" / sender).iterdir():
                    shutil.copytree(entry, landing / sender / entry.name, dirs_exist_ok=True)
            runs = airflow.wait_for_run(airflow_local.WAREHOUSE_DAG, timeout=3600)
            elapsed = time.perf_counter() - start
            print_timeline(airflow)
            if runs[-1][2] != "success":
                raise SystemExit(f"warehouse run failed: {runs}; logs in {work / 'airflow'}")
            idle = airflow.cpu_share("dag-processor", seconds=120)
            print(f"dag-processor while idle: {idle:.1%} of a core (goal < 5%)")
            return elapsed
    finally:
        database.drop_database(url)


def print_timeline(airflow) -> None:
    """Each task's queue wait and run time, from the first run's start: where the overhead is."""
    rows = airflow.query(
        "select dag_id, task_id, queued_dttm, start_date, end_date, state from task_instance "
        "where start_date is not null order by start_date")
    first = airflow.query("select min(queued_at) from dag_run")[0][0]
    for dag_id, task_id, queued, started, ended, state in rows:
        print(f"  {dag_id:<24} {task_id:<28} queued {(queued - first).total_seconds():6.1f} s  "
              f"start {(started - first).total_seconds():6.1f} s  end {(ended - first).total_seconds():6.1f} s  {state}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.0002)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--executor", default="LocalExecutor", choices=["LocalExecutor", "CeleryExecutor"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sinergi_bench_scheduler_"))
    try:
        result = generate(Options(profile="national", scale=args.scale, months=1, seed=args.seed,
                                  defect_rate=0.002), work / "world")
        print(f"world: national, scale {args.scale}, {result.files:,} files, {result.rows:,} rows")
        t_plain = plain(work / "world", work)
        print(f"sinergi load && sinergi build : {t_plain:7.1f} s")
        t_sched = scheduled(work / "world", work, args.executor)
        print(f"Airflow ({args.executor:<14}): {t_sched:7.1f} s  (delivery to marts)")
        ratio = t_sched / t_plain
        print(f"ratio {ratio:.2f}x (goal <= {GOAL}x): {'met' if ratio <= GOAL else 'NOT met'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
