"""Great Expectations checkpoints on each loaded batch, with results kept in the ledger.

The suites are JSON in `expectations/suites/` (one per feed). Each batch is the rows of one load
(`_load_id`), checked in PostgreSQL. Expectations whose `meta.critical` is true decide whether the
warehouse may publish from the batch: `audit.load.quality` becomes `failed`, `warning` or `passed`.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from sinergi import settings

from . import access, pipeline

SUITES_DIR = settings.PROJECT_ROOT / "expectations" / "suites"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def suites() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SUITES_DIR.glob("*.json"))}


def parameters(conn, load_id: int) -> dict:
    """Runtime values the suites compare against: the ledger's counts and sums, the previous delivery."""
    row = conn.execute("select sender, unit, feed, period, rows_loaded, coalesce(amounts_loaded, '{}'::jsonb) "
                       "from audit.load where load_id = %s", (load_id,)).fetchone()
    sender, unit, feed, period, rows_loaded, sums = row
    prev = conn.execute(
        "select rows_loaded from audit.load where sender = %s and unit = %s and feed = %s and period < %s "
        "and status in ('loaded', 'superseded') order by period desc, load_id desc limit 1",
        (sender, unit, feed, period)).fetchone()
    params = {"rows_loaded": rows_loaded,
              "min_rows": math.floor(prev[0] * 0.5) if prev else 0,
              "max_rows": math.ceil(prev[0] * 2) + 100 if prev else 10 ** 12}
    for col, total in sums.items():
        params[f"sum_{col}_min"], params[f"sum_{col}_max"] = total - 0.5, total + 0.5
    return params


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
    """Validate each load; return load id -> quality."""
    if not load_ids:
        return {}
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    gx_dir = settings.gx_dir()
    out = {}
    with _locked(gx_dir), pipeline.connect(url) as conn:
        context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
        context.variables.progress_bars = {"globally": False}
        source = context.data_sources.add_or_update_postgres(
            name="warehouse", connection_string=access.role_url(url, access.LOADER))
        known = {name: context.suites.add_or_update(gx.ExpectationSuite(**spec)) for name, spec in suites().items()}
        for load_id in load_ids:
            out[load_id] = _check_one(gx, context, source, known, conn, load_id)
            if on_load:
                on_load(load_id, out[load_id])
        context.build_data_docs()  # once for the whole run: rebuilding per load costs more than the checks
    return out


def _check_one(gx, context, source, known: dict, conn, load_id: int) -> str:
    feed = conn.execute("select feed from audit.load where load_id = %s", (load_id,)).fetchone()[0]
    suite = known.get(feed)
    if suite is None:
        _set_quality(conn, load_id, "none")
        return "none"
    name = f"{feed}_{load_id:08d}"
    asset = source.add_query_asset(name=name, query=f"select * from {suite.meta['table']} where _load_id = {int(load_id)}")
    batch = asset.add_batch_definition_whole_table("batch")
    definition = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[definition], result_format={"result_format": "SUMMARY"}, actions=[]))
    result = checkpoint.run(expectation_parameters=parameters(conn, load_id))
    rows = []
    run_id = str(result.run_id.run_time.isoformat())
    for validation in result.run_results.values():
        for r in validation.results:
            cfg = r.expectation_config
            observed = r.result.get("observed_value", r.result.get("unexpected_count"))
            rows.append((load_id, suite.name, cfg.type, cfg.kwargs.get("column"), bool(cfg.meta.get("critical")),
                         bool(r.success), None if observed is None else str(observed), run_id))
    failed = [(critical, success) for (_, _, _, _, critical, success, _, _) in rows if not success]
    quality = "failed" if any(critical for critical, _ in failed) else ("warning" if failed else "passed")
    with conn.transaction():
        conn.execute("delete from audit.expectation_result where load_id = %s", (load_id,))
        with conn.cursor() as cur:
            cur.executemany("insert into audit.expectation_result (load_id, suite, expectation, column_name, critical, "
                            "success, observed, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        _set_quality(conn, load_id, quality)
    # Results and Data Docs stay; the per-load wiring goes, so the project does not grow with every load.
    context.checkpoints.delete(name)
    context.validation_definitions.delete(name)
    source.delete_asset(name)
    return quality


def _set_quality(conn, load_id: int, quality: str) -> None:
    conn.execute("update audit.load set quality = %s where load_id = %s", (quality, load_id))


def data_docs_index() -> Path:
    return settings.gx_dir() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
