"""Airflow wiring shared by the DAG files: assets, schedules, the ingestion and warehouse DAG shapes.

Only wiring lives here, and only light modules are imported at parse time (the dag-processor parses
every DAG file every 30 s): what each task does is a call into `ingestion` or `sinergi.warehouse`, the
same calls `sinergi load` and `sinergi build` make, imported inside the task.

- Each ingestion DAG has one task whatever the number of files, `load` (`load_check_publish`): it loads
  every waiting file of its sender in one process, in delivery order (the loader's own ordering, lock and
  retries), runs Great Expectations on the new batches, then emits the raw asset of each feed that loaded
  something and the sender's cycle asset. A rejected, held or skipped file is a ledger outcome, not a failed
  task, so a file that failed never hides the others.
- A run starts on the sender's timetable (Asia/Jakarta) or within a minute or two of a file landing
  (an asset watcher on the landing folder, `landing_watch.LandingTrigger`).
- The warehouse DAG runs once all three senders have completed a cycle since its last run (an asset
  condition over the `cycle_*` assets): one build per delivery cycle, never from one sender's data alone.
  It runs one `dbt build` (`dbt_runner.build`, exactly `sinergi build`) and logs every node's result.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from airflow.sdk import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetOrTimeSchedule,
    AssetWatcher,
    BaseHook,
    CronTriggerTimetable,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    dag,
    task,
)

from ingestion import contracts as contracts_mod
from ingestion.errors import TRANSIENT
from sinergi.core import settings
from sinergi.orchestration.landing_watch import LandingTrigger

PSEUDONYM_CONN_ID = "sinergi_pseudonym"
WAREHOUSE_DAG_ID = "sinergi_warehouse"
TIMEZONE = "Asia/Jakarta"
NO_CATCH_UP = timedelta(0)  # run_immediately: a deployment waits for the next time on the timetable
SENDERS = ("kemenkop", "bpjstk", "himbara")

# Retry what may pass by itself (the database restarting, a lock, a dropped connection); a file problem
# is already in the ledger, so anything else fails at once for an engineer to read.
TRANSIENT_ONLY = ExceptionRetryPolicy(
    rules=[RetryRule(exception=list(TRANSIENT), action=RetryAction.RETRY, reason="database not reachable for a while")],
    default=RetryAction.FAIL)
DEFAULT_ARGS = dict(retries=4, retry_delay=timedelta(seconds=15), retry_exponential_backoff=True,
                    max_retry_delay=timedelta(minutes=10), retry_policy=TRANSIENT_ONLY)


def raw_asset(feed: str) -> Asset:
    """The raw table of one feed, as an Airflow Asset (what a feed's new batches update)."""
    table = contracts_mod.load().feeds[feed].table
    return Asset(name=table, uri=f"sinergi://warehouse/{table.replace('.', '/')}", group="raw")


def raw_assets(sender: str | None = None) -> list[Asset]:
    feeds = contracts_mod.load().feeds.values()
    return [raw_asset(f.name) for f in feeds if sender in (None, f.source)]


def sender_feeds(sender: str) -> list[str]:
    return [f.name for f in contracts_mod.load().feeds.values() if f.source == sender]


def cycle_asset(sender: str) -> Asset:
    """A sender's delivery cycle was looked at (its ingestion DAG ran to the end)."""
    return Asset(name=f"cycle_{sender}", uri=f"sinergi://cycle/{sender}", group="cycle")


def landing_asset(sender: str) -> Asset:
    """Files waiting in the sender's landing folder, watched by the triggerer."""
    trigger = LandingTrigger(landing=str(settings.landing_dir().resolve()), sender=sender,
                             poke_interval=settings.landing_poke_seconds(),
                             settle_seconds=settings.landing_settle_seconds())
    return Asset(name=f"landing_{sender}", uri=f"sinergi://landing/{sender}", group="landing",
                 watchers=[AssetWatcher(name=f"landing_{sender}_watcher", trigger=trigger)])


def warehouse_url() -> str:
    """The `sinergi_warehouse` connection when Airflow has one, else WAREHOUSE_URL."""
    try:
        return BaseHook.get_connection(settings.WAREHOUSE_CONN_ID).get_uri().replace("postgres://", "postgresql://", 1)
    except Exception:  # no such connection: a local run configured by environment
        return settings.warehouse_url()


def pseudonymiser():
    import os

    from ingestion import pseudonym
    if not os.environ.get(settings.ENV_PSEUDONYM_KEY):
        try:
            return pseudonym.Pseudonymiser(BaseHook.get_connection(PSEUDONYM_CONN_ID).password or "")
        except pseudonym.MissingKey:
            raise
        except Exception:
            pass
    return pseudonym.from_environment()


def load_summary(outcomes) -> dict:
    """What a load task hands on (small whatever the number of files): counts, the feeds with new
    batches, their load ids, and the files that did not load, each named in the log."""
    import logging
    log = logging.getLogger(__name__)
    loaded = [o for o in outcomes if o.status in ("loaded", "superseded") and o.feed]
    problems = [o for o in outcomes if o.status in ("rejected", "held", "skipped")]
    for o in problems:
        log.warning("%s: %s (%s) %s", o.file, o.status, o.reason_code, o.reason or "")
    return {"files": len(outcomes), "by_status": dict(Counter(o.status for o in outcomes)),
            "feeds_loaded": sorted({o.feed for o in loaded}),
            "load_ids": sorted({o.load_id for o in loaded if not o.recovered}),
            "not_loaded": [f"{o.file}: {o.status} ({o.reason_code})" for o in problems[:200]]}


def ingest_dag(sender: str, schedule: str, doc_md: str):
    """One task, `load`: the sender's waiting files loaded, checked and published (`load_check_publish`)."""

    # No start date: the timetable's first run is its next time, not a catch-up run at deployment
    # (`run_immediately=False` would still run the past time if it was less than 2.4 hours ago).
    @dag(dag_id=f"sinergi_ingest_{sender}", catchup=False, max_active_runs=1,
         schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(schedule, timezone=TIMEZONE,
                                                                     run_immediately=NO_CATCH_UP),
                                      assets=landing_asset(sender)),
         default_args=DEFAULT_ARGS, tags=["sinergi", "ingest", sender], doc_md=doc_md)
    def ingest():
        @task(outlets=[cycle_asset(sender), raw_alias(sender)])
        def load(*, outlet_events=None) -> dict:
            return load_check_publish(sender, outlet_events)

        load()

    return ingest()


def raw_alias(sender: str) -> AssetAlias:
    """The raw assets of a sender's feeds that a run updated, resolved at run time."""
    return AssetAlias(name=f"raw_{sender}", group="raw")


def load_check_publish(sender: str, outlet_events) -> dict:
    """What `sinergi load --sender S` does, in one task process: load the waiting files, run Great
    Expectations on the new batches and on any left `pending` or `error` by earlier runs, then emit the raw
    asset of each feed with such batches (the cycle asset is emitted when the task succeeds).

    One task, not load -> check -> publish per feed: each task start cost seconds and each check task
    its own Great Expectations import (~9 s of CPU); the import now runs in a thread while small files load."""
    from ingestion import pipeline, quality
    quality.prepare_while_loading(settings.landing_dir(), pipeline.pending(settings.landing_dir(), sender))
    url = warehouse_url()
    outcomes = pipeline.load_landing(url, settings.landing_dir(), pseudonymiser(), sender=sender)
    outcomes = pipeline.refused_links(settings.landing_dir(), sender) + outcomes
    summary = load_summary(outcomes)
    print(f"{summary['files']} berkas: {summary['by_status']}")
    with pipeline.connect(url) as conn:
        # This run's batches are `pending`; a retry after a lost connection finds its first attempt's
        # batches here too, so their checks run and their assets are still emitted.
        batches = sorted(set(summary["load_ids"]) | set(quality.unchecked(conn, sender)))
    results = quality.check_loads(url, batches)  # a batch that cannot be checked is `error`, not a raise
    with pipeline.connect(url) as conn:
        feeds = sorted({v["feed"] for v in quality.verdicts(conn, batches).values()})
    for feed in feeds:
        outlet_events[raw_alias(sender)].add(raw_asset(feed))
    summary.update(quality=dict(Counter(results.values())), feeds_published=feeds)
    print(f"mutu {len(results)} muatan: {summary['quality']}; aset diperbarui: {', '.join(feeds) or '-'}")
    return summary


def warehouse_dag(doc_md: str):
    """One `dbt build` per delivery cycle, through `dbt_runner.build` (the code path of `sinergi build`).

    A single build lets dbt parallelise over its own threads and parse the project once (partial parse
    from the prepared target folder), where a task per model paid an Airflow task start and a dbt parse
    each; every node's result, models and tests, is logged by the task and kept in the returned summary.
    Months whose expected deliveries have not all arrived (and are not past their deadline) are built
    but marked provisional and kept out of the published history (`int_publication__months`).
    """

    @dag(dag_id=WAREHOUSE_DAG_ID, catchup=False, max_active_runs=1,
         schedule=AssetAll(*(cycle_asset(s) for s in SENDERS)),
         # A build that lost its database is retried; a failed model or test is for an engineer to read.
         default_args=dict(DEFAULT_ARGS, retries=2),
         params={"include_unchecked": Param(False, type="boolean", description=(
             "Pakai juga muatan yang belum diperiksa Great Expectations (status mutu pending)"))},
         tags=["sinergi", "warehouse", "dbt"], doc_md=doc_md)
    def warehouse():
        @task
        def build(params: dict | None = None, run_id: str | None = None) -> dict:
            from sinergi.warehouse import dbt_runner
            include = bool((params or {}).get("include_unchecked"))
            try:
                dbt_runner.build(warehouse_url(), include_unchecked=include, quiet=True, build_id=run_id)
            finally:
                results = dbt_runner.node_results()
                for line in results["lines"]:
                    print(line)
            return {"build_id": run_id, "nodes": results["counts"]}

        build()

    return warehouse()
