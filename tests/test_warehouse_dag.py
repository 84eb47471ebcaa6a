"""The warehouse DAG: Cosmos renders the dbt project from its manifest, scheduled on the raw Assets, and
a run with dag.test() builds the marts and publishes the metrics under the run's id."""
from __future__ import annotations

import json

import pandas as pd
import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym
from sinergi import airflow_local, orchestration, settings, transform

from landing import copy_landing


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag
    transform.manifest()
    return DagBag(dag_folder=str(settings.DAGS_DIR))


def test_warehouse_dag_imports_with_a_task_per_seed_and_model_and_their_tests(bag):
    assert bag.import_errors == {}
    dag = bag.dags[airflow_local.WAREHOUSE_DAG]
    nodes = json.loads(transform.MANIFEST.read_text(encoding="utf-8"))["nodes"].values()
    models = {n["name"] for n in nodes if n["resource_type"] == "model"}
    seeds = {n["name"] for n in nodes if n["resource_type"] == "seed"}
    assert {"fct_metrics", "fct_metrics_published"} <= models and "region_code_changes" in seeds
    # TestBehavior.BUILD: `dbt build --select <node>`, the node and the tests that read only it.
    assert set(dag.task_ids) == ({f"{m}_model_build" for m in models} | {f"{s}_seed_build" for s in seeds}
                                 | {"tests_across_models"})
    fct_metrics = dag.get_task("fct_metrics_model_build")
    assert fct_metrics.base_cmd == ["build"] and fct_metrics.indirect_selection == "cautious"
    upstream = {t.task_id for t in fct_metrics.get_flat_relatives(upstream=True)}
    assert {"region_code_changes_seed_build", "fct_metric_entities_model_build"} <= upstream
    assert "fct_metrics_model_build" in {t.task_id for t in
                                         dag.get_task("fct_metrics_published_model_build").upstream_list}
    # The tests reading several models run once, after every other task.
    across = dag.get_task("tests_across_models")
    assert {t.task_id for t in across.get_flat_relatives(upstream=True)} == set(dag.task_ids) - {across.task_id}
    assert any(name.startswith("relationships_") for name in across.select)


def test_warehouse_dag_runs_when_any_raw_table_is_updated(bag):
    from airflow.sdk.definitions.asset import AssetAny
    dag = bag.dags[airflow_local.WAREHOUSE_DAG]
    assert isinstance(dag.schedule, AssetAny)
    raw = {orchestration.raw_asset(feed) for feed in contracts.load().feeds}
    assert set(dag.schedule.objects) == raw
    # The ingestion DAGs publish exactly these Assets.
    published = {a for dag_id in airflow_local.INGEST_DAGS for a in bag.dags[dag_id].get_task("publish").outlets}
    assert published == raw
    assert dag.params["include_unchecked"] is False


@pytest.fixture(scope="module")
def warehouse_run(clean_world, tmp_path_factory, new_db):
    """The clean world loaded without Great Expectations (its batches stay `pending`), then the warehouse
    DAG run with include_unchecked so the pending batches count."""
    landing = copy_landing(clean_world, tmp_path_factory.mktemp("warehouse_dag") / "landing")
    url = new_db()
    pipeline.load_landing(url, landing, pseudonym.from_environment())
    env = airflow_local.environment(tmp_path_factory.mktemp("airflow_home"), url, landing)
    result = airflow_local.run([airflow_local.WAREHOUSE_DAG], env, conf={"include_unchecked": True})
    return url, result


def test_warehouse_dag_builds_the_marts_and_publishes_under_its_run_id(clean_world, warehouse_run):
    url, result = warehouse_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    state, run_id = airflow_local.outcomes(result.stdout)[airflow_local.WAREHOUSE_DAG]
    assert state == "success"
    truth = pd.read_csv(clean_world / "truth" / "metrics.csv")
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
