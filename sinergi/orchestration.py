"""Airflow wiring shared by the DAG files: assets, connections, the ingestion DAG shape.

Only wiring lives here; what each task does is a call into `ingestion` (the same calls `sinergi load`
makes), so the DAG files stay a few lines each.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Asset, BaseHook, ExceptionRetryPolicy, RetryAction, RetryRule, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from ingestion import contracts as contracts_mod
from ingestion.pipeline import TRANSIENT

from . import settings

PSEUDONYM_CONN_ID = "sinergi_pseudonym"

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
