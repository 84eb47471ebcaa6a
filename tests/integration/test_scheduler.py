"""A national month through Airflow's real processes, as deployed: scheduler, dag-processor, triggerer and
api-server on a PostgreSQL metadata database, files picked up by the landing watchers, the warehouse
built once when every sender's cycle is done. Its marts must equal a plain `sinergi load && sinergi
build` of the same world (conftest.national_month_warehouse, which tests/integration/test_warehouse.py compares with
the truth). Then a smaller defective world the same way under CeleryExecutor, compose's executor, with a
Celery worker on the machine's Redis. All of it is part of `make test`."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym, quality
from ingestion import landing as landing_mod
from simulator import Options, generate
from sinergi.orchestration import airflow_local
from sinergi.warehouse import dbt_runner

MAX_MAP_LENGTH = 1024
INGEST = airflow_local.INGEST_DAGS
WAREHOUSE = airflow_local.WAREHOUSE_DAG
# The marts compared with the plain commands' (every figure, and the entities behind them).
MARTS = ("fct_metrics", "fct_metric_entities", "fct_officer_coverage")


# Which load a row came from differs between two loads of the same files, not what the row says.
LOAD_COLUMNS = ("load_id", "build_id", "built_at")


def _fingerprint(url: str, mart: str) -> tuple[int, str]:
    """Row count and a digest of the sorted rows (without the load columns), computed in the database:
    comparing the digests is seconds where comparing the frames in pandas was half a minute."""
    with psycopg.connect(url) as conn:
        columns = [c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s "
            "order by ordinal_position", (mart,)) if c not in LOAD_COLUMNS]
        row = "row(" + ", ".join(f'"{c}"' for c in columns) + ")::text"
        return conn.execute(f"select count(*), md5(coalesce(string_agg(r, E'\\n' order by r), '')) "
                            f"from (select {row} as r from marts.{mart}) as t").fetchone()


def _mart(url: str, mart: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(f"select * from marts.{mart}")
        frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    frame = frame.drop(columns=[c for c in frame.columns if c in LOAD_COLUMNS])
    order = frame.astype(str).apply("|".join, axis=1).sort_values().index
    return frame.loc[order].reset_index(drop=True)


def _waiting(landing: Path) -> list[str]:
    return landing_mod.discover(landing)


@pytest.fixture(scope="module")
def scheduled(national_month_world, tmp_path_factory, new_db, gx_dir):
    landing = shutil.copytree(national_month_world / "landing", tmp_path_factory.mktemp("scheduled") / "landing")
    delivered = _waiting(landing)
    url = new_db()
    home = tmp_path_factory.mktemp("airflow_scheduler")
    with airflow_local.Scheduler(home, url, landing) as airflow:
        runs = {dag_id: airflow.wait_for_run(dag_id, timeout=900) for dag_id in INGEST}
        runs[WAREHOUSE] = airflow.wait_for_run(WAREHOUSE, timeout=900)
        tasks = {dag_id: airflow.task_states(dag_id) for dag_id in (*INGEST, WAREHOUSE)}
        errors = airflow.import_errors()
        logs = airflow.logs()
        events = dict(airflow.query("select a.name, count(*) from asset_event e join asset a on a.id = e.asset_id "
                                    "group by a.name"))
    return dict(url=url, landing=landing, delivered=delivered, runs=runs, tasks=tasks, errors=errors, logs=logs,
                events=events)


@pytest.mark.slow
def test_a_national_month_is_more_files_than_airflow_can_map(national_month_world):
    assert len(_waiting(national_month_world / "landing")) > MAX_MAP_LENGTH


@pytest.mark.slow
def test_every_file_is_picked_up_by_the_watchers_loaded_and_checked(scheduled, national_month_world):
    for dag_id in INGEST:
        assert [state for _, _, state in scheduled["runs"][dag_id]] == ["success"], dag_id
        # Picked up by the landing watcher (an asset event), not a timetable or a manual trigger.
        assert {run_type for _, run_type, _ in scheduled["runs"][dag_id]} == {"asset_triggered"}
    assert _waiting(scheduled["landing"]) == []
    assert [p for p in scheduled["landing"].rglob("*") if p.is_file() and "_archive" not in p.parts] == []
    with psycopg.connect(scheduled["url"]) as conn:
        ledger = pd.DataFrame(conn.execute("select file, status, quality from audit.load").fetchall(),
                              columns=["file", "status", "quality"])
        failed = conn.execute("select count(*) from audit.expectation_result where not success").fetchone()[0]
        checked = conn.execute("select count(distinct load_id) from audit.expectation_result").fetchone()[0]
    delivered = pd.read_csv(national_month_world / "truth" / "deliveries.csv")
    assert sorted(ledger["file"]) == sorted(scheduled["delivered"]) == sorted(delivered["file"])
    # A clean world: every file loads and passes its checks; the Data Docs are written.
    assert set(ledger["status"]) == {"loaded"}
    assert set(ledger["quality"]) == {"passed"} and failed == 0 and checked == len(ledger)
    assert quality.data_docs_index().exists()


@pytest.mark.slow
def test_tasks_are_bounded_whatever_the_number_of_files(scheduled):
    for dag_id in INGEST:
        assert [(task, state) for _, task, state in scheduled["tasks"][dag_id]] == [("load", "success")], dag_id


@pytest.mark.slow
def test_every_feed_that_loaded_has_its_raw_asset_event_and_each_cycle_one(scheduled):
    feeds = contracts.load().feeds
    with psycopg.connect(scheduled["url"]) as conn:
        loaded = {feeds[feed].table for (feed,) in conn.execute(
            "select distinct feed from audit.load where status in ('loaded', 'superseded')")}
    events = scheduled["events"]
    assert loaded and {name for name in events if name in {f.table for f in feeds.values()}} == loaded
    assert {name: events.get(name) for name in ("cycle_kemenkop", "cycle_bpjstk", "cycle_himbara")} == \
        dict.fromkeys(("cycle_kemenkop", "cycle_bpjstk", "cycle_himbara"), 1)


@pytest.mark.slow
def test_the_warehouse_builds_once_by_itself_after_every_sender(scheduled):
    runs = scheduled["runs"][WAREHOUSE]
    assert [(run_type, state) for _, run_type, state in runs] == [("asset_triggered", "success")]
    with psycopg.connect(scheduled["url"]) as conn:
        builds = conn.execute("select distinct build_id, code_version from published.fct_metrics_published").fetchall()
        months = conn.execute("select as_of, status from marts.fct_month_status").fetchall()
    assert [build for build, _ in builds] == [runs[0][0]]
    assert all(version and version != "unknown" for _, version in builds)
    assert [status for _, status in months] and all(s in ("lengkap", "tenggat_lewat") for _, s in months)


@pytest.mark.slow
def test_every_model_and_test_is_reported_by_the_build_task(scheduled):
    reported = set(re.findall(r"\b(model|test|seed|unit_test) ([\w.]+): (success|pass|error|fail|skipped|warn)\b",
                              scheduled["logs"]))
    kinds = {kind for kind, _, _ in reported}
    assert {"model", "test", "seed"} <= kinds
    assert all(status in ("success", "pass") for _, _, status in reported)
    assert any(name.endswith("fct_metrics") for kind, name, _ in reported if kind == "model")


@pytest.mark.slow
def test_no_dag_import_error_or_timeout(scheduled):
    assert scheduled["errors"] == []
    assert "DagBag import timeout" not in scheduled["logs"]
    assert "AirflowTaskTimeout" not in scheduled["logs"]


@pytest.mark.slow
@pytest.mark.parametrize("mart", MARTS)
def test_the_scheduled_marts_equal_the_plain_commands(scheduled, national_month_warehouse, mart):
    _assert_same_mart(scheduled["url"], national_month_warehouse, mart)


def _assert_same_mart(url: str, reference: str, mart: str) -> None:
    ours = _fingerprint(url, mart)
    assert ours[0] > 0
    if ours != _fingerprint(reference, mart):  # show which rows differ
        pd.testing.assert_frame_equal(_mart(url, mart), _mart(reference, mart))
        pytest.fail(f"{mart}: same rows by pandas, different digests (row text): {ours}")


# --- the compose executor: Celery on the machine's Redis ----------------------------------------

# Defective: some files are rejected or held, as ledger outcomes, not failed tasks.
SMALL = Options(profile="seed", scale=0.05, months=1, start="2024-03", seed=23, defect_rate=0.01)


@pytest.fixture(scope="module")
def celery_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("celery_world")
    generate(SMALL, out)
    return out


@pytest.mark.slow
def test_under_celery_a_delivery_loads_and_builds_once_like_the_plain_commands(celery_world, tmp_path_factory,
                                                                               new_db, gx_dir, redis_db):
    landing = shutil.copytree(celery_world / "landing", tmp_path_factory.mktemp("celery") / "landing")
    delivered = _waiting(landing)
    url, reference = new_db(), new_db()
    broker = f"redis://127.0.0.1:6379/{redis_db}"
    with airflow_local.Scheduler(tmp_path_factory.mktemp("airflow_celery"), url, landing,
                                 executor="CeleryExecutor", broker_url=broker) as airflow:
        for dag_id in INGEST:
            assert [s for _, _, s in airflow.wait_for_run(dag_id, timeout=600)] == ["success"], dag_id
        runs = airflow.wait_for_run(WAREHOUSE, timeout=600)
    assert [(t, s) for _, t, s in runs] == [("asset_triggered", "success")]
    with psycopg.connect(url) as conn:
        assert {f for (f,) in conn.execute("select file from audit.load")} == set(delivered)
        assert {s for (s,) in conn.execute("select status from audit.load")} & {"rejected", "held"}
    plain = shutil.copytree(celery_world / "landing", tmp_path_factory.mktemp("celery_plain") / "landing")
    from ingestion import quality
    outcomes = pipeline.load_landing(reference, plain, pseudonym.from_environment())
    quality.check_loads(reference, [o.load_id for o in outcomes if o.status in ("loaded", "superseded")])
    dbt_runner.build(reference, quiet=True)
    for mart in MARTS:
        _assert_same_mart(url, reference, mart)
