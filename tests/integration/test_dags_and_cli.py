"""The DAGs import and run end to end (dag.test()); the command line reports what they would."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import psycopg
import pytest

from ingestion import quality
from sinergi.core import settings
from sinergi.orchestration import airflow_local

from landing import copy_landing

DAG_IDS = ["sinergi_ingest_kemenkop", "sinergi_ingest_bpjstk", "sinergi_ingest_himbara"]


def test_dags_import_cleanly_with_one_load_task_retries_and_assets():
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=str(settings.DAGS_DIR))
    assert bag.import_errors == {}
    assert sorted(bag.dags) == sorted([*DAG_IDS, "sinergi_warehouse"])  # the warehouse: test_warehouse_dag.py
    for dag_id in DAG_IDS:
        dag = bag.dags[dag_id]
        load = dag.get_task("load")
        assert load.retries >= 3 and load.retry_exponential_backoff and load.retry_policy is not None
        # One task whatever the number of files: no mapped task per file.
        assert [t.task_id for t in dag.tasks] == ["load"] and not getattr(load, "expand_input", None)
        # It completes the sender's cycle and resolves the alias of its feeds' raw assets at run time.
        sender = dag_id.rsplit("_", 1)[1]
        assert {(type(a).__name__, a.name) for a in load.outlets} == {("Asset", f"cycle_{sender}"),
                                                                      ("AssetAlias", f"raw_{sender}")}


def test_dag_files_parse_without_the_loader_dbt_or_data_libraries():
    """The dag-processor parses every file every 30 s: a DAG file imports wiring only."""
    heavy = ["pandas", "pyarrow", "numpy", "dbt", "cosmos", "great_expectations", "ingestion.loader",
             "sinergi.warehouse.dbt_runner", "openpyxl"]
    probe = ("import runpy, sys, json; import airflow.sdk; before = set(sys.modules); "
             f"[runpy.run_path(p) for p in sys.argv[1:]]; "
             f"print(json.dumps(sorted(m for m in set(sys.modules) - before "
             f"if m.split('.')[0] in {heavy!r} or m in {heavy!r})))")
    files = sorted(str(p) for p in settings.DAGS_DIR.glob("*.py"))
    result = subprocess.run([sys.executable, "-c", probe, *files], capture_output=True, text=True,
                            env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.fixture(scope="module")
def dag_run(small_world, tmp_path_factory, new_db, gx_dir):
    landing = copy_landing(small_world, tmp_path_factory.mktemp("dags") / "landing")
    url = new_db()
    env = airflow_local.environment(tmp_path_factory.mktemp("airflow_home"), url, landing)
    result = airflow_local.run(DAG_IDS, env)
    return url, landing, result, env


# The same assertions hold under the real scheduler in make test (test_scheduler.py, a national month);
# this dag.test() run of each DAG is in make test-scheduler, for the suite's time budget.
@pytest.mark.scheduler
def test_each_dag_runs_end_to_end_and_loads_its_senders_files(small_world, dag_run):
    url, landing, result, env = dag_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = airflow_local.latest_runs(env)  # Airflow's own records, as `make demo` reads them
    assert all(runs[dag_id][0] == "success" for dag_id in DAG_IDS), runs
    with psycopg.connect(url) as conn:
        ledger = pd.DataFrame(conn.execute("select file, status, quality from audit.load").fetchall(),
                              columns=["file", "status", "quality"])
        failed = conn.execute("select count(*) from audit.expectation_result where not success").fetchone()[0]
        ran = conn.execute("select count(distinct load_id) from audit.expectation_result").fetchone()[0]
    delivered = pd.read_csv(small_world / "truth" / "deliveries.csv")
    assert sorted(ledger["file"]) == sorted(delivered["file"])
    assert set(ledger["status"]) == {"loaded"}
    assert set(ledger["quality"]) == {"passed"} and failed == 0 and ran == len(ledger)
    assert [p for p in landing.rglob("*") if p.is_file() and "_archive" not in p.parts] == []
    assert quality.data_docs_index().exists()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "sinergi.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_load_json_reports_every_file_and_ledger_and_quarantine_show_them(defective_world, tmp_path, new_db):
    landing = copy_landing(defective_world, tmp_path / "landing")
    env = {"WAREHOUSE_URL": new_db(), "COLUMNS": "200"}
    result = _cli("load", str(landing), "--json", "--sender", "himbara", "--no-checks", env=env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(line["sender"] == "himbara" for line in lines)
    for key in ("file", "sender", "feed", "period", "status", "rows_read", "rows_loaded", "rows_quarantined", "reason"):
        assert all(key in line for line in lines)
    assert {line["status"] for line in lines} >= {"loaded", "rejected", "held"}
    ledger = _cli("ledger", env=env)
    assert ledger.returncode == 0 and "ditolak" in ledger.stdout and "ditahan" in ledger.stdout
    quarantined = [line for line in lines if line["rows_quarantined"]]
    summary = _cli("quarantine", env=env)
    assert quarantined[0]["file"] in summary.stdout
    rows = _cli("quarantine", "--file", quarantined[0]["file"], env=env)
    assert rows.returncode == 0 and "Baris" in rows.stdout


def test_a_held_file_released_by_an_engineer_loads_on_the_next_run(defective_world, tmp_path, new_db):
    landing = copy_landing(defective_world, tmp_path / "landing")
    env = {"WAREHOUSE_URL": new_db()}
    _cli("load", str(landing), "--sender", "kemenkop", "--no-checks", env=env)
    with psycopg.connect(env["WAREHOUSE_URL"]) as conn:
        held = conn.execute("select file from audit.load where reason_code = 'snapshot_shrunk' limit 1").fetchone()[0]
    released = _cli("release", held, "--note", "dicek dengan ODS: ekspor memang kecil", "--landing", str(landing), env=env)
    assert released.returncode == 0, released.stdout + released.stderr
    assert (landing / held).exists()
    again = _cli("load", str(landing), "--json", "--sender", "kemenkop", "--no-checks", env=env)
    statuses = {json.loads(line)["file"]: json.loads(line)["status"] for line in again.stdout.splitlines()}
    assert statuses == {held: "loaded"}


def test_load_without_a_key_says_what_to_do(tmp_path):
    (tmp_path / "landing").mkdir()
    result = _cli("load", str(tmp_path / "landing"), env={"SINERGI_PSEUDONYM_KEY": ""})
    assert result.returncode == 2
    assert "SINERGI_PSEUDONYM_KEY" in result.stdout
