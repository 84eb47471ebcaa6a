"""Airflow wiring shared by the DAG files: assets, connections, the ingestion and warehouse DAG shapes.

Only wiring lives here; what each task does is a call into `ingestion` (the same calls `sinergi load`
makes) or a dbt command Cosmos runs on `dbt_project/`, so the DAG files stay a few lines each.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import operator
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, BaseHook, ExceptionRetryPolicy, Param, RetryAction, RetryRule, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from ingestion import access, contracts as contracts_mod
from ingestion.pipeline import TRANSIENT

from . import settings

PSEUDONYM_CONN_ID = "sinergi_pseudonym"
WAREHOUSE_DAG_ID = "sinergi_warehouse"

# Retry what may pass by itself (the database restarting, a lock, a dropped connection); a file problem
# is already in the ledger, so anything else fails at once for an engineer to read.
TRANSIENT_ONLY = ExceptionRetryPolicy(
    rules=[RetryRule(exception=list(TRANSIENT), action=RetryAction.RETRY, reason="database not reachable for a while")],
    default=RetryAction.FAIL)
DEFAULT_ARGS = dict(retries=4, retry_delay=timedelta(seconds=15), retry_exponential_backoff=True,
                    max_retry_delay=timedelta(minutes=10), retry_policy=TRANSIENT_ONLY)


def raw_asset(feed: str) -> Asset:
    """The raw table of one feed, as an Airflow Asset the warehouse DAG can be scheduled on."""
    table = contracts_mod.load().feeds[feed].table
    return Asset(name=table, uri=f"sinergi://warehouse/{table.replace('.', '/')}", group="raw")


def raw_assets(sender: str | None = None) -> list[Asset]:
    feeds = contracts_mod.load().feeds.values()
    return [raw_asset(f.name) for f in feeds if sender in (None, f.source)]


def warehouse_url() -> str:
    """The `sinergi_warehouse` connection when Airflow has one, else WAREHOUSE_URL."""
    try:
        return BaseHook.get_connection(settings.WAREHOUSE_CONN_ID).get_uri().replace("postgres://", "postgresql://", 1)
    except Exception:  # no such connection: a local run configured by environment
        return settings.warehouse_url()


def pseudonymiser():
    from ingestion import pseudonym
    if not os.environ.get(settings.ENV_PSEUDONYM_KEY):
        try:
            return pseudonym.Pseudonymiser(BaseHook.get_connection(PSEUDONYM_CONN_ID).password or "")
        except pseudonym.MissingKey:
            raise
        except Exception:
            pass
    return pseudonym.from_environment()


def ingest_dag(sender: str, schedule: str, doc_md: str):
    """find files -> load each (one mapped task per file, in delivery order) -> check quality -> publish."""

    @dag(dag_id=f"sinergi_ingest_{sender}", schedule=schedule, start_date=datetime(2024, 1, 1), catchup=False,
         max_active_runs=1, default_args=DEFAULT_ARGS, tags=["sinergi", "ingest", sender], doc_md=doc_md)
    def ingest():
        @task
        def find_files() -> list[str]:
            from ingestion import pipeline
            return pipeline.pending(settings.landing_dir(), sender)

        # Files of one family load in delivery order whatever order the mapped tasks run in (see load_in_order).
        @task(max_active_tis_per_dagrun=2)
        def load_file(rel: str) -> dict:
            from ingestion import pipeline
            outcome = pipeline.load_in_order(warehouse_url(), settings.landing_dir(), rel, pseudonymiser())
            print(f"{outcome.file}: {outcome.status}, {outcome.rows_loaded}/{outcome.rows_read} dimuat, "
                  f"{outcome.rows_quarantined} dikarantina. {outcome.reason or ''}")
            return outcome.as_dict()

        @task
        def check_quality(outcomes: list[dict]) -> dict:
            from ingestion import quality
            loaded = sorted({o["load_id"] for o in outcomes if o["status"] in ("loaded", "superseded")})
            return {str(k): v for k, v in quality.check_loads(warehouse_url(), loaded).items()}

        @task(outlets=raw_assets(sender))
        def publish(outcomes: list[dict], qualities: dict) -> dict:
            loaded = [o for o in outcomes if o["status"] == "loaded"]
            if not loaded:
                raise AirflowSkipException("tidak ada muatan baru: aset tidak diperbarui")
            return {"files": len(outcomes), "loaded": len(loaded),
                    "failed_quality": [k for k, v in qualities.items() if v == "failed"]}

        outcomes = load_file.expand(rel=find_files())
        publish(outcomes, check_quality(outcomes))

    return ingest()



def warehouse_dag(doc_md: str):
    """The dbt project as Airflow tasks (Cosmos): a task per seed and per model, each a `dbt build` of that
    node with its own tests, then one task for the tests that read several models (or only raw tables).

    Scheduled on the raw Assets: any ingestion DAG that loaded a new file triggers a rebuild. Rendered from
    dbt's manifest (`transform.manifest()`, parsed again only when a project file changed), so parsing the
    DAG runs no dbt command. Each task runs dbt in-process on a temporary copy of the project (Cosmos' local
    execution) against the `sinergi_warehouse` connection, with the dbt vars of `sinergi build`:
    `build_id` (this run's id), `code_version` and `include_unchecked` (the DAG param: false unless a run is
    triggered with it, so batches Great Expectations has not checked yet are left out).
    """
    from cosmos import (DbtDag, ExecutionConfig, ExecutionMode, LoadMode, ProfileConfig, ProjectConfig,
                        RenderConfig, TestBehavior)
    from cosmos.constants import TestIndirectSelection
    from cosmos.operators.local import DbtLocalBaseOperator, DbtTestLocalOperator

    from . import transform

    manifest = _manifest()
    warehouse = DbtDag(
        dag_id=WAREHOUSE_DAG_ID,
        schedule=functools.reduce(operator.or_, raw_assets()),  # any one raw table updated
        start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1,
        # A failed dbt command is a model or data problem to read in the log, not one a retry clears; after
        # the fix, clear the task (its downstream tasks follow) or wait for the next raw update.
        default_args=dict(retries=0),
        params={"include_unchecked": Param(False, type="boolean", description=(
            "Pakai juga muatan yang belum diperiksa Great Expectations (status mutu pending)"))},
        tags=["sinergi", "warehouse", "dbt"], doc_md=doc_md,
        project_config=ProjectConfig(
            dbt_project_path=transform.DBT_DIR, manifest_path=manifest, install_dbt_deps=False,
            # build_id is rendered per run; the other two are set as each task starts (_dbt_vars).
            dbt_vars={"build_id": "{{ run_id }}", "include_unchecked": False},
            env_vars=dict(transform.TELEMETRY_OFF)),
        profile_config=ProfileConfig(profile_name="sinergi", target_name="warehouse",
                                     profile_mapping=_warehouse_profile()),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, dbt_executable_path=transform.dbt_executable(),
            # A node's task runs the tests that read that node only; the others wait for the last task.
            test_indirect_selection=TestIndirectSelection.CAUTIOUS),
        # TestBehavior.BUILD: a model's tests (and unit tests) run in its task, before its dependants start.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                                   emit_datasets=False),
        operator_args={"interceptors": [_dbt_vars, _copies_beside_outside_paths, _cheap_behavior_flag_source]},
    )
    across = _tests_across_models(manifest)
    if across:
        # Cosmos would give each of these a task of its own (should_detach_multiple_parents_tests); one task
        # after everything else costs one dbt start instead of dozens. Same settings as the rendered tasks.
        like = next(t for t in warehouse.tasks if isinstance(t, DbtLocalBaseOperator))
        last = DbtTestLocalOperator(
            task_id="tests_across_models", dag=warehouse, select=across, **{k: getattr(like, k) for k in (
                "project_dir", "profile_config", "vars", "env", "cache_dir", "manifest_filepath",
                "partial_parse", "interceptors", "dbt_executable_path", "emit_datasets")})
        [t for t in warehouse.tasks if t is not last and not t.downstream_list] >> last
    return warehouse


def _tests_across_models(manifest: Path) -> list[str]:
    """Tests that do not read exactly one seed or model: relationships between models, singular tests over
    several marts, tests of raw tables (sources). No node's own task runs them (cautious selection)."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"]
    built = {key for key, node in nodes.items() if node["resource_type"] in ("model", "seed")}
    return sorted(node["name"] for node in nodes.values() if node["resource_type"] == "test"
                  and not (len(set(node["depends_on"]["nodes"])) == 1 and set(node["depends_on"]["nodes"]) <= built))


def _manifest() -> Path:
    """The manifest, refreshed if the project changed; the previous one while the project does not parse."""
    from . import transform
    try:
        return transform.manifest()
    except transform.DbtFailed as exc:
        if not transform.MANIFEST.exists():
            raise
        logging.getLogger(__name__).warning("The warehouse DAG keeps the previous manifest: %s", exc)
        return transform.MANIFEST


def _warehouse_profile():
    """`sinergi_warehouse` as the dbt profile's postgres target, schema `warehouse`.

    Cosmos requires a password, and a local server with trust authentication has none in its URL: a
    placeholder then stands in (the server ignores it). A URL's own password is always used as is.
    """
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    class WarehouseProfile(PostgresUserPasswordProfileMapping):
        def get_dbt_value(self, name: str):
            value = super().get_dbt_value(name)
            return "not-used" if name == "password" and not value else value

    return WarehouseProfile(conn_id=settings.WAREHOUSE_CONN_ID, profile_args={"schema": "warehouse", "role": access.TRANSFORMER})


def _dbt_vars(context, op) -> None:
    """Cosmos interceptor, as a task starts: the dbt vars a template cannot give. A rendered template is a
    string, and dbt takes the string 'False' as true, so `include_unchecked` is the param's boolean; the
    code version is that of the code this task runs."""
    op.vars = {**(op.vars or {}), "include_unchecked": bool(context["params"].get("include_unchecked")),
               "code_version": _code_version(context["run_id"])}


@functools.lru_cache(maxsize=4)
def _code_version(run_id: str) -> str:
    """Once per run in a process (dag.test() runs every task in one): two git calls each time otherwise."""
    from . import transform
    return transform.code_version()


# Cosmos runs dbt in a temporary copy of the project made of symlinks to its top-level entries, so a path
# dbt_project.yml gives outside the project (the seeds in `../ingestion/reference`) would resolve beside
# that copy, where there is nothing. The copies are made in a folder of ours that has those neighbours.
_COPIES_DIR = (Path(tempfile.gettempdir()) /
               f"sinergi-dbt-{os.getuid()}-{hashlib.sha256(bytes(settings.PROJECT_ROOT)).hexdigest()[:10]}")


def _copies_beside_outside_paths(context, op) -> None:
    """Cosmos interceptor, as a task starts: see _COPIES_DIR. Nothing to do when all paths are inside."""
    from . import transform
    outside = transform.outside_paths()
    if not outside:
        return
    _COPIES_DIR.mkdir(exist_ok=True)
    for top in {p.relative_to(settings.PROJECT_ROOT).parts[0] for p in outside}:
        try:
            (_COPIES_DIR / top).symlink_to(settings.PROJECT_ROOT / top, target_is_directory=True)
        except FileExistsError:
            pass
    tempfile.tempdir = str(_COPIES_DIR)  # for this task's process; Cosmos calls TemporaryDirectory()


def _cheap_behavior_flag_source(context, op) -> None:
    """Cosmos interceptor, as a task starts: dbt runs in the task's process (dbtRunner), where dbt-common's
    search for the module declaring each adapter behaviour flag (`inspect.stack()`: the source of every
    frame, and a scan of sys.modules per frame) meets Airflow's ~3,000 modules and deep stack. Measured on
    the warehouse DAG (53 tasks): 2 min 35 s without this, 1 min 51 s with it. The frames' globals give the
    same module name; it only labels dbt's behaviour-change log messages."""
    from dbt_common import behavior_flags

    def _default_source() -> str:
        frame = sys._getframe(1)
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name and name != behavior_flags.__name__:
                return name
            frame = frame.f_back
        return "Unknown"

    behavior_flags.BehaviorFlagRendered._default_source = staticmethod(_default_source)
