"""Great Expectations checkpoints on each loaded batch, with results kept in the ledger.

The suites are JSON in `expectations/suites/` (one per feed). Each batch is the rows of one load
(`_load_id`), checked in PostgreSQL. Expectations whose `meta.critical` is true decide whether the
warehouse may publish from the batch: `audit.load.quality` becomes `failed`, `warning` or `passed`.
A batch whose checks cannot run (a suite parameter the ledger cannot give, any Great Expectations
error) becomes `error`, with the reason in `audit.load.quality_reason`, and never stops the batches after
it; the warehouse leaves it out like a `pending` one, and `sinergi check` (or the next `sinergi load`)
runs its checks again. A batch without rows is checked too: expectations that need rows (a column's sum
or minimum) are recorded as skipped, with the reason.

The Great Expectations project (stores, validation results, Data Docs) lives in a runtime folder
(`SINERGI_GX_DIR`, default `.local/gx`), not in the repository; runs are serialised with a file lock
because its configuration files are shared.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import psycopg

from sinergi import settings

from . import access, contracts, pipeline, schema

SUITES_DIR = settings.PROJECT_ROOT / "expectations" / "suites"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def suites() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SUITES_DIR.glob("*.json"))}


# Expectations whose observed value is an aggregate of the rows: a batch without rows has none to compare.
NEEDS_ROWS = frozenset({
    "expect_column_sum_to_be_between", "expect_column_min_to_be_between", "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between", "expect_column_median_to_be_between",
    "expect_column_stdev_to_be_between", "expect_column_quantile_values_to_be_between",
    "expect_column_most_common_value_to_be_in_set", "expect_column_unique_value_count_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between"})
SKIPPED_EMPTY = "dilewati: muatan tanpa baris (0 baris dimuat), tidak ada nilai untuk dibandingkan"
SUM_PARAMETER = re.compile(r"sum_(?P<column>.+)_(?:min|max)")
# Batches whose checks are still owed: never checked, or checked without a verdict.
UNCHECKED = ("pending", "error")
log = logging.getLogger(__name__)


class CheckError(Exception):
    """The checks of one batch cannot run (the batch gets quality `error` with this as its reason)."""


def parameter_names(spec) -> set[str]:
    """The `$PARAMETER` names a suite (its JSON) refers to."""
    if isinstance(spec, dict):
        found = {spec["$PARAMETER"]} if isinstance(spec.get("$PARAMETER"), str) else set()
        return found.union(*(parameter_names(v) for v in spec.values()))
    if isinstance(spec, list):
        return set().union(*(parameter_names(v) for v in spec))
    return set()


def parameters(conn, load_id: int, needed: set[str] | frozenset[str] = frozenset()) -> dict:
    """Runtime values the suites compare against: the ledger's counts and sums, the previous delivery.

    A sum the ledger does not hold for a column (a batch without rows records no amounts) is 0. Raises
    CheckError naming any of `needed` that cannot be computed."""
    row = conn.execute("select sender, unit, feed, period, rows_loaded, coalesce(amounts_loaded, '{}'::jsonb) "
                       "from audit.load where load_id = %s", (load_id,)).fetchone()
    if row is None:
        raise CheckError(f"muatan {load_id} tidak ada di buku besar")
    sender, unit, feed, period, rows_loaded, sums = row
    prev = conn.execute(
        "select rows_loaded from audit.load where sender = %s and unit = %s and feed = %s and period < %s "
        "and status in ('loaded', 'superseded') order by period desc, load_id desc limit 1",
        (sender, unit, feed, period)).fetchone()
    params = {"rows_loaded": rows_loaded,
              "min_rows": math.floor(prev[0] * 0.5) if prev else 0,
              "max_rows": math.ceil(prev[0] * 2) + 100 if prev else 10 ** 12}
    sums = sums if isinstance(sums, dict) else {}
    for name in needed:
        match = SUM_PARAMETER.fullmatch(name)
        if match and match["column"] not in sums:
            sums = {**sums, match["column"]: 0}
    for col, total in sums.items():
        if isinstance(total, (int, float)) and not isinstance(total, bool) and math.isfinite(total):
            params[f"sum_{col}_min"], params[f"sum_{col}_max"] = total - 0.5, total + 0.5
    missing = sorted(n for n in needed if params.get(n) is None)
    if missing:
        raise CheckError(f"parameter suite tidak dapat dihitung dari buku besar: {', '.join(missing)}")
    return params


def unchecked(conn, sender: str | None = None) -> list[int]:
    """Batches whose checks are owed (quality `pending` or `error`), oldest first."""
    return [r[0] for r in conn.execute(
        "select load_id from audit.load where status in ('loaded', 'superseded') and quality = any(%s) "
        "and (%s::text is null or sender = %s) order by load_id", (list(UNCHECKED), sender, sender))]


def verdicts(conn, load_ids: list[int]) -> dict[int, dict]:
    """load id -> the ledger's file, feed, period, quality and quality reason."""
    rows = conn.execute("select load_id, file, feed, period, quality, quality_reason from audit.load "
                        "where load_id = any(%s) order by load_id", (list(load_ids),)).fetchall()
    return {r[0]: dict(zip(("load_id", "file", "feed", "period", "quality", "quality_reason"), r)) for r in rows}


@contextmanager
def _locked(gx_dir: Path):
    gx_dir.mkdir(parents=True, exist_ok=True)
    with open(gx_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def check_loads(url: str, load_ids: list[int], on_load: Callable | None = None) -> dict[int, str]:
    """Validate each load; return load id -> quality. A batch whose checks cannot run is marked `error`
    (with its reason) and the others are still checked; only a lost database connection stops the run."""
    if not load_ids:
        return {}
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    gx_dir = settings.gx_dir()
    out = {}
    with _locked(gx_dir), pipeline.connect(url) as conn:
        schema.ensure(conn, contracts.load())  # a ledger older than quality_reason gains it first
        try:
            import great_expectations as gx
            context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
            context.variables.progress_bars = {"globally": False}
            source = context.data_sources.add_or_update_postgres(
                name="warehouse", connection_string=access.role_url(url, access.LOADER))
            specs = suites()
            known = {name: context.suites.add_or_update(gx.ExpectationSuite(**spec)) for name, spec in specs.items()}
        except Exception as exc:  # the project itself cannot start: no batch can be checked
            reason = _reason("Great Expectations tidak dapat disiapkan", exc)
            for load_id in load_ids:
                _set_quality(conn, load_id, "error", reason)
                out[load_id] = "error"
                if on_load:
                    on_load(load_id, "error")
            return out
        needed = {name: frozenset(parameter_names(spec)) for name, spec in specs.items()}
        for load_id in load_ids:
            try:
                out[load_id] = _check_one(gx, context, source, known, needed, conn, load_id)
            except Exception as exc:
                if conn.closed or conn.broken or isinstance(exc, psycopg.OperationalError):
                    raise  # the database went away: not this batch's fault; the rest stay pending
                reason = str(exc) if isinstance(exc, CheckError) else _reason("pemeriksaan gagal berjalan", exc)
                log.warning("Great Expectations: muatan %s tidak dapat diperiksa: %s", load_id, reason)
                _set_quality(conn, load_id, "error", reason)
                out[load_id] = "error"
            if on_load:
                on_load(load_id, out[load_id])
        try:
            context.build_data_docs()  # once for the whole run: rebuilding per load costs more than the checks
        except Exception as exc:  # the verdicts are in the ledger already; the pages come with the next run
            log.warning("Great Expectations: Data Docs tidak dibuat: %s", _reason("", exc))
    return out


def _reason(what: str, exc: Exception) -> str:
    text = " ".join(str(exc).split())[:500]
    return f"{what + ': ' if what else ''}{type(exc).__name__}: {text}"


def _check_one(gx, context, source, known: dict, needed: dict, conn, load_id: int) -> str:
    row = conn.execute("select feed, rows_loaded from audit.load where load_id = %s", (load_id,)).fetchone()
    if row is None:
        raise CheckError(f"muatan {load_id} tidak ada di buku besar")
    feed, rows_loaded = row
    suite = known.get(feed)
    if suite is None:
        _set_quality(conn, load_id, "none")
        return "none"
    params = parameters(conn, load_id, needed.get(feed, frozenset()))
    name = f"{feed}_{load_id:08d}"
    _unwire(context, source, name)  # left by a run that stopped midway
    try:
        asset = source.add_query_asset(name=name, query=f"select * from {suite.meta['table']} where _load_id = {int(load_id)}")
        batch = asset.add_batch_definition_whole_table("batch")
        definition = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name=name, validation_definitions=[definition], result_format={"result_format": "SUMMARY"}, actions=[]))
        result = checkpoint.run(expectation_parameters=params)
    finally:
        # Results and Data Docs stay; the per-load wiring goes, so the project does not grow with every load.
        _unwire(context, source, name)
    rows, raised = [], []
    run_id = str(result.run_id.run_time.isoformat())
    for validation in result.run_results.values():
        for r in validation.results:
            cfg = r.expectation_config
            column, critical = cfg.kwargs.get("column"), bool(cfg.meta.get("critical"))
            if rows_loaded == 0 and cfg.type in NEEDS_ROWS:
                rows.append((load_id, suite.name, cfg.type, column, critical, True, SKIPPED_EMPTY, run_id))
                continue
            info = r.exception_info or {}
            if info.get("raised_exception"):
                message = " ".join(str(info.get("exception_message") or "").split())[:300]
                raised.append(f"{cfg.type}({column or ''}): {message}")
                rows.append((load_id, suite.name, cfg.type, column, critical, False, f"galat: {message}", run_id))
                continue
            observed = r.result.get("observed_value", r.result.get("unexpected_count"))
            rows.append((load_id, suite.name, cfg.type, column, critical,
                         bool(r.success), None if observed is None else str(observed), run_id))
    if not rows:
        raise CheckError(f"suite {suite.name} tidak menghasilkan satu pun hasil harapan")
    failed = [critical for (_, _, _, _, critical, success, _, _) in rows if not success]
    if raised:
        quality, reason = "error", "harapan gagal dijalankan: " + "; ".join(raised)
    else:
        quality = "failed" if any(failed) else ("warning" if failed else "passed")
        skipped = sum(1 for r in rows if r[6] == SKIPPED_EMPTY)
        reason = f"muatan tanpa baris: {skipped} harapan yang memerlukan baris dilewati" if skipped else None
    with conn.transaction():
        conn.execute("delete from audit.expectation_result where load_id = %s", (load_id,))
        with conn.cursor() as cur:
            cur.executemany("insert into audit.expectation_result (load_id, suite, expectation, column_name, critical, "
                            "success, observed, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        _set_quality(conn, load_id, quality, reason)
    return quality


def _unwire(context, source, name: str) -> None:
    """Remove one load's checkpoint, validation definition and query asset, those that exist."""
    for remove in (context.checkpoints.delete, context.validation_definitions.delete, source.delete_asset):
        try:
            remove(name)
        except Exception:  # not there (the normal case before a run)
            pass


def _set_quality(conn, load_id: int, quality: str, reason: str | None = None) -> None:
    conn.execute("update audit.load set quality = %s, quality_reason = %s where load_id = %s",
                 (quality, reason, load_id))


def data_docs_index() -> Path:
    return settings.gx_dir() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
