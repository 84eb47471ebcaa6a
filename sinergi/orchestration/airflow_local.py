"""Run the DAGs in-process (`dag.test()`) against a local Airflow home: for `make demo` and the tests.

`python -m sinergi.orchestration.airflow_local [--conf JSON] DAG_ID...` runs each DAG once, in the order given, and
exits non-zero if a run fails. Asset-triggered DAGs (the warehouse) do not start by themselves under
`dag.test()`, so they are named after the ingestion DAGs. The environment (`environment()`) points
Airflow at a SQLite metadata database under the given home, at this project's `dags/`, and at the
warehouse through the `sinergi_warehouse` connection.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from sinergi.core import settings

INGEST_DAGS = ["sinergi_ingest_kemenkop", "sinergi_ingest_bpjstk", "sinergi_ingest_himbara"]
WAREHOUSE_DAG = "sinergi_warehouse"


def environment(home: Path, warehouse_url: str, landing: Path) -> dict[str, str]:
    home = Path(home).resolve()
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_SINERGI_WAREHOUSE": warehouse_url,
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        settings.ENV_LANDING_DIR: str(Path(landing).resolve()),
        "SCARF_NO_ANALYTICS": "true", "DO_NOT_TRACK": "1", "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    })
    return env


def prepare(env: dict[str, str]) -> None:
    """Create the metadata database once per Airflow home."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".migrated"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        marker.touch()


def run(dag_ids: list[str], env: dict[str, str], conf: dict | None = None) -> subprocess.CompletedProcess:
    """Run the DAGs one after the other; `conf` is each run's configuration (DAG params, e.g. include_unchecked).
    Prints `DAG_ID: STATE (RUN_ID)` per DAG."""
    prepare(env)
    options = ["--conf", json.dumps(conf)] if conf else []
    return subprocess.run([sys.executable, "-m", "sinergi.orchestration.airflow_local", *options, *dag_ids], env=env,
                          capture_output=True, text=True)


def latest_runs(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{dag_id: (state, run_id)} of each DAG's latest run, read from Airflow's own metadata database (the
    SQLite file `environment()` configures); the warehouse's run id is its build id."""
    import sqlite3
    path = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("select dag_id, state, run_id from dag_run order by id").fetchall()
    return {dag_id: (state, run_id) for dag_id, state, run_id in rows}


def main(args: list[str]) -> int:
    from airflow.dag_processing.dagbag import DagBag

    conf = None
    if args[:1] == ["--conf"]:
        conf, args = json.loads(args[1]), args[2:]
    bag = DagBag(dag_folder=str(settings.DAGS_DIR))
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
    if missing := [dag_id for dag_id in args if dag_id not in bag.dags]:
        print(f"DAGs not found (see the import errors above): {', '.join(missing)}", file=sys.stderr)
        return 1
    failed = []
    for dag_id in args:
        run = bag.dags[dag_id].test(run_conf=conf)
        print(f"{dag_id}: {run.state} ({run.run_id})")
        if str(run.state) != "success":
            failed.append(dag_id)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- the real scheduler ---------------------------------------------------------------------------

SERVICES = ("scheduler", "dag-processor", "triggerer", "api-server")


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scheduler:
    """Airflow's own processes (scheduler, dag-processor, triggerer, api-server, and optionally a Celery
    worker), started from this project's `dags/` against a PostgreSQL metadata database made for the
    run and dropped after: what a deployment runs, without containers. For the tests and bench/scheduler.py.

        with Scheduler(home, warehouse_url, landing) as airflow:
            airflow.wait_for_run("sinergi_warehouse")
    """

    def __init__(self, home: Path, warehouse_url: str, landing: Path, executor: str = "LocalExecutor",
                 broker_url: str | None = None, parallelism: int = 4, poke_seconds: float = 5.0,
                 settle_seconds: float = 2.0):
        import secrets
        import uuid
        self.home = Path(home).resolve()
        self.meta_db = f"sinergi_airflow_{uuid.uuid4().hex[:10]}"
        self.meta_url = warehouse_url.rsplit("/", 1)[0] + "/" + self.meta_db
        self.port = _free_port()
        self.env = environment(self.home, warehouse_url, landing)
        self.env.update({
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.meta_url.replace("postgresql://", "postgresql+psycopg2://", 1),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # As docker-compose.yml, sooner: a task whose Celery message was lost is sent again.
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "15",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",  # as docker-compose.yml
            # A task's calls to the api-server wait longer than the default 5 s on a loaded machine.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "SINERGI_LANDING_POKE_SECONDS": str(poke_seconds),
            "SINERGI_LANDING_SETTLE_SECONDS": str(settle_seconds),
        })
        if broker_url:
            self.env.update({"AIRFLOW__CELERY__BROKER_URL": broker_url,
                             "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.meta_url.replace(
                                 "postgresql://", "postgresql+psycopg2://", 1),
                             "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(parallelism)})
        self.services = SERVICES + (("celery worker",) if executor == "CeleryExecutor" else ())
        self.procs: dict[str, subprocess.Popen] = {}

    # -- lifecycle --
    def __enter__(self) -> "Scheduler":
        from sinergi.warehouse import database
        self.home.mkdir(parents=True, exist_ok=True)
        database.create_database(self.meta_url)
        try:
            subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=self.env, check=True,
                           capture_output=True, text=True)
            for name in self.services:
                log = open(self.home / f"{name.replace(' ', '-')}.log", "w")
                self.procs[name] = subprocess.Popen([sys.executable, "-m", "airflow", *name.split()], env=self.env,
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._wait_for_api()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        import signal
        import time

        from sinergi.warehouse import database
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        database.drop_database(self.meta_url)

    def _wait_for_api(self, timeout: float = 180) -> None:
        import time
        import urllib.request
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=5):
                    return
            except OSError:
                time.sleep(1)
        raise TimeoutError(f"Airflow api-server did not answer on port {self.port} within {timeout:.0f} s")

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow processes exited: {dead}; logs in {self.home}")

    def cpu_share(self, service: str, seconds: float = 60) -> float:
        """Share of one core a service (with the processes it forked) used over the next `seconds`."""
        import time

        def ticks() -> int:
            total = 0
            for path in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = path.read_text().rsplit(")", 1)[1].split()
                    group = os.getpgid(int(path.parent.name))
                except (OSError, ProcessLookupError):
                    continue
                if group == self.procs[service].pid:  # started in a session of its own
                    total += sum(int(f) for f in fields[11:15])
            return total

        before = ticks()
        time.sleep(seconds)
        return (ticks() - before) / os.sysconf("SC_CLK_TCK") / seconds

    # -- Airflow's own records --
    def query(self, sql: str, params=()) -> list[tuple]:
        import psycopg
        with psycopg.connect(self.meta_url) as conn:
            return conn.execute(sql, params).fetchall()

    def runs(self, dag_id: str) -> list[tuple[str, str, str]]:
        """(run_id, run_type, state) of each run of a DAG, oldest first."""
        return self.query("select run_id, run_type, state from dag_run where dag_id = %s order by id", (dag_id,))

    def wait_for_run(self, dag_id: str, timeout: float, count: int = 1) -> list[tuple[str, str, str]]:
        """Wait until `count` runs of the DAG have finished (success or failed); return all its runs."""
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check_alive()
            runs = self.runs(dag_id)
            if len([r for r in runs if r[2] in ("success", "failed")]) >= count and \
                    not [r for r in runs if r[2] in ("queued", "running")]:
                return runs
            time.sleep(3)
        raise TimeoutError(f"{dag_id}: {count} finished run(s) not seen in {timeout:.0f} s: {self.runs(dag_id)}; "
                           f"logs in {self.home}")

    def task_states(self, dag_id: str) -> list[tuple[str, str, str]]:
        return self.query("select run_id, task_id, state from task_instance where dag_id = %s order by run_id, task_id",
                          (dag_id,))

    def import_errors(self) -> list[tuple]:
        return self.query("select filename, stacktrace from import_error")

    def logs(self) -> str:
        """Everything the processes and tasks wrote (to search for timeouts or personal data)."""
        parts = []
        for path in sorted(self.home.rglob("*.log")):
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)
