"""The warehouse DAG: one dbt build once every sender has completed a delivery cycle; a run with dag.test()
builds the marts and publishes the metrics under the run's id."""
from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from ingestion import pipeline, pseudonym
from sinergi.core import settings
from sinergi.orchestration import airflow_local, wiring

from landing import copy_landing


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag
    return DagBag(dag_folder=str(settings.DAGS_DIR))


def test_warehouse_dag_is_one_dbt_build_retried_only_for_a_lost_database(bag):
    assert bag.import_errors == {}
    dag = bag.dags[airflow_local.WAREHOUSE_DAG]
    assert dag.task_ids == ["build"]
    build = dag.get_task("build")
    assert build.retries >= 1 and build.retry_policy is not None
    assert dag.max_active_runs == 1


def test_warehouse_dag_runs_once_every_sender_has_completed_a_cycle(bag):
    from airflow.sdk.definitions.asset import AssetAll
    dag = bag.dags[airflow_local.WAREHOUSE_DAG]
    assert isinstance(dag.schedule, AssetAll)
    cycles = {wiring.cycle_asset(sender) for sender in wiring.SENDERS}
    assert set(dag.schedule.objects) == cycles
    # Each ingestion DAG's one task completes its own sender's cycle.
    emitted = {a for dag_id in airflow_local.INGEST_DAGS for a in bag.dags[dag_id].get_task("load").outlets
               if a.name.startswith("cycle_")}
    assert emitted == cycles
    assert dag.params["include_unchecked"] is False


@pytest.fixture(scope="module")
def warehouse_run(small_world, tmp_path_factory, new_db):
    """The clean world loaded without Great Expectations (its batches stay `pending`), then the warehouse
    DAG run with include_unchecked so the pending batches count."""
    landing = copy_landing(small_world, tmp_path_factory.mktemp("warehouse_dag") / "landing")
    url = new_db()
    pipeline.load_landing(url, landing, pseudonym.from_environment())
    env = airflow_local.environment(tmp_path_factory.mktemp("airflow_home"), url, landing)
    result = airflow_local.run([airflow_local.WAREHOUSE_DAG], env, conf={"include_unchecked": True})
    return url, result, env


# The real scheduler's warehouse run (make test, test_scheduler.py) checks the build id and code version;
# this dag.test() run adds `include_unchecked` from the run's conf, in make test-scheduler for time.
@pytest.mark.scheduler
def test_warehouse_dag_builds_the_marts_and_publishes_under_its_run_id(small_world, warehouse_run):
    url, result, env = warehouse_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    state, run_id = airflow_local.latest_runs(env)[airflow_local.WAREHOUSE_DAG]
    assert state == "success"
    truth = pd.read_csv(small_world / "truth" / "metrics.csv")
    with psycopg.connect(url) as conn:
        months = {str(m)[:7] for (m,) in conn.execute("select distinct as_of from marts.fct_metrics")}
        builds = conn.execute("select build_id, code_version, count(*) from published.fct_metrics_published "
                              "group by 1, 2").fetchall()
        quality = {q for (q,) in conn.execute("select distinct quality from audit.load")}
    assert months == {str(m)[:7] for m in truth["as_of"]}
    assert quality == {"pending"}  # counted only because the run asked for include_unchecked
    assert len(builds) == 1
    build_id, code_version, rows = builds[0]
    assert build_id == run_id and rows > 0
    assert code_version and code_version != "unknown"
