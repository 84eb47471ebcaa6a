"""Run the DAGs in-process (`dag.test()`) against a local Airflow home: for `make demo` and the tests.

`python -m sinergi.airflow_local [--conf JSON] DAG_ID...` runs each DAG once, in the order given, and
exits non-zero if a run fails. Asset-triggered DAGs (the warehouse) do not start by themselves under
`dag.test()`, so they are named after the ingestion DAGs. The environment (`environment()`) points
Airflow at a SQLite metadata database under the given home, at this project's `dags/`, and at the
warehouse through the `sinergi_warehouse` connection.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from . import settings

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
    return subprocess.run([sys.executable, "-m", "sinergi.airflow_local", *options, *dag_ids], env=env,
                          capture_output=True, text=True)


def outcomes(stdout: str) -> dict[str, tuple[str, str]]:
    """{dag_id: (state, run_id)} from what `run()` printed; the warehouse's run id is its build id."""
    return {m["dag"]: (m["state"], m["run"]) for m in re.finditer(r"^(?P<dag>\w+): (?P<state>\w+) \((?P<run>[^)]+)\)$",
                                                                  stdout, re.MULTILINE)}


def main(args: list[str]) -> int:
    from airflow.dag_processing.dagbag import DagBag

    from . import transform
    conf = None
    if args[:1] == ["--conf"]:
        conf, args = json.loads(args[1]), args[2:]
    # The warehouse DAG is rendered from dbt's manifest: parse the project now if it changed, rather than
    # inside the DAG file's import (which has a time limit).
    try:
        transform.manifest()
    except transform.DbtFailed as exc:
        print(exc, file=sys.stderr)
        if WAREHOUSE_DAG in args:
            return 1
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
