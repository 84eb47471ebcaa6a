"""Great Expectations checkpoints on each loaded batch, with results kept in the ledger.

The suites are JSON in `expectations/suites/` (one per feed). Each batch is the rows of one load
(`_load_id`), checked in PostgreSQL. Expectations whose `meta.critical` is true decide whether the
warehouse may publish from the batch: `audit.load.quality` becomes `failed`, `warning` or `passed`.
A batch whose checks cannot run (a suite parameter the ledger cannot give, any Great Expectations
error) becomes `error`, with the reason in `audit.load.quality_reason`, and never stops the batches after
it; the warehouse leaves it out like a `pending` one, and `sinergi check` (or the next `sinergi load`)
runs its checks again. A batch without rows is checked too: expectations that need rows (a column's sum
or minimum) are recorded as skipped, with the reason.

Checking costs what the data costs, not what the number of files costs: the small batches of one feed (a
month of BPJS branch reports) are validated together, in one checkpoint run (see `_Feed`), and each batch
still gets its own verdict and its own result rows, the same as validating it alone: a batch the group run
finds failing anything is validated again alone, so every failure comes from its own run. A large batch is
validated alone.

The Great Expectations project (stores, validation results, Data Docs) lives in a runtime folder
(`SINERGI_GX_DIR`, default `.local/gx`), not in the repository; runs are serialised with a file lock
because its configuration files are shared. Data Docs are built once per run, for that run's results.
"""
from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from . import access, config, contracts, pipeline, schema

SUITES_DIR = config.PROJECT_ROOT / "expectations" / "suites"
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


# Each batch's feed, rows, sums and the rows of its previous delivery (same sender, unit and feed, earlier period).
LEDGER = ("select l.load_id, l.feed, l.rows_loaded, coalesce(l.amounts_loaded, '{}'::jsonb), p.rows_loaded "
          "from audit.load as l left join lateral (select q.rows_loaded from audit.load as q where q.sender = l.sender "
          "and q.unit = l.unit and q.feed = l.feed and q.period < l.period and q.status in ('loaded', 'superseded') "
          "order by q.period desc, q.load_id desc limit 1) as p on true where l.load_id = any(%s)")


def parameters(conn, load_id: int, needed: set[str] | frozenset[str] = frozenset()) -> dict:
    """Runtime values the suites compare against: the ledger's counts and sums, the previous delivery.

    A sum the ledger does not hold for a column (a batch without rows records no amounts) is 0. Raises
    CheckError naming any of `needed` that cannot be computed."""
    row = conn.execute(LEDGER, ([load_id],)).fetchone()
    if row is None:
        raise CheckError(f"muatan {load_id} tidak ada di buku besar")
    return _parameters(row[2], row[3], row[4], needed)


def _parameters(rows_loaded: int, sums, previous: int | None, needed) -> dict:
    """`parameters` from a LEDGER row: rows loaded, amounts loaded, rows of the previous delivery (or None)."""
    params = {"rows_loaded": rows_loaded,
              "min_rows": math.floor(previous * 0.5) if previous is not None else 0,
              "max_rows": math.ceil(previous * 2) + 100 if previous is not None else 10 ** 12}
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


# Files up to this size in all: Great Expectations is imported while they load. Its import holds about 150 MB;
# with a large file the loader's own working set comes first, and the import waits until the rows are in
# (then both never add up: the load's peak memory stays flat and under 500 MB, see bench/ingest.py).
OVERLAP_BYTES = 64 << 20


# Batches above this many rows are validated through a temporary table (see check_loads).
TEMP_TABLE_ROWS = 50_000


def _largest_batch(conn, load_ids: list[int]) -> int:
    return conn.execute("select coalesce(max(rows_loaded), 0) from audit.load where load_id = any(%s)",
                        (list(load_ids),)).fetchone()[0]


def prepare() -> None:
    """Import Great Expectations (several seconds of CPU), for a thread to run while files load, so that
    `check_loads` afterwards starts at once. An import that fails here fails again, and is reported, there."""
    try:
        import great_expectations  # noqa: F401
    except Exception:
        pass


def prepare_while_loading(landing: Path, files: list[str]) -> None:
    """`prepare` in a thread when the files to load are small (see OVERLAP_BYTES)."""
    import threading
    if sum((landing / f).stat().st_size for f in files if (landing / f).exists()) <= OVERLAP_BYTES:
        threading.Thread(target=prepare, daemon=True, name="gx-import").start()


def check_loads(url: str, load_ids: list[int], on_load: Callable | None = None) -> dict[int, str]:
    """Validate each load; return load id -> quality. A batch whose checks cannot run is marked `error`
    (with its reason) and the others are still checked; only a lost database connection stops the run.

    Small batches of one feed are validated together (see `_Feed`); each still gets its own verdict and its
    own results, the same as validating it alone. `on_load(load_id, quality)` is called once per batch."""
    load_ids = list(dict.fromkeys(load_ids))
    if not load_ids:
        return {}
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    gx_dir = config.gx_dir()
    out = {}

    def done(load_id: int, quality: str) -> None:
        out[load_id] = quality
        if on_load:
            on_load(load_id, quality)

    with _locked(gx_dir), pipeline.connect(url) as conn:
        schema.ensure(conn, contracts.load())  # a ledger older than quality_reason gains it first
        try:
            import great_expectations as gx
            context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
            context.variables.progress_bars = {"globally": False}
            # Temporary tables for large batches: Great Expectations reads a query batch's column names by
            # running the whole query (column_reflection_fallback), and psycopg fetches every row of it (a
            # million rows held to read fourteen names: memory grew with the file). On a temporary table made
            # from the query it reads the catalogue instead; small batches skip the table's cost.
            large = _largest_batch(conn, load_ids) > TEMP_TABLE_ROWS
            source = context.data_sources.add_or_update_postgres(
                name="warehouse", connection_string=_validator_url(url), create_temp_table=large)
            specs = suites()
            known = {name: context.suites.add_or_update(gx.ExpectationSuite(**spec)) for name, spec in specs.items()}
        except Exception as exc:  # the project itself cannot start: no batch can be checked
            reason = _reason("Great Expectations tidak dapat disiapkan", exc)
            for load_id in load_ids:
                _set_quality(conn, load_id, "error", reason)
                done(load_id, "error")
            return out
        run = _Run(gx, context, source, conn)
        needed = {name: frozenset(parameter_names(spec)) for name, spec in specs.items()}
        ledger = {r[0]: r[1:] for r in conn.execute(LEDGER, (load_ids,))}
        by_feed: dict[str, list[_Batch]] = {}
        for load_id in load_ids:  # what can be settled without running an expectation
            try:
                if load_id not in ledger:
                    raise CheckError(f"muatan {load_id} tidak ada di buku besar")
                feed, rows_loaded, sums, previous = ledger[load_id]
                if known.get(feed) is None:
                    _set_quality(conn, load_id, "none")
                    done(load_id, "none")
                    continue
                params = _parameters(rows_loaded, sums, previous, needed.get(feed, frozenset()))
                by_feed.setdefault(feed, []).append(_Batch(load_id, rows_loaded, params))
            except Exception as exc:
                _failed(conn, load_id, exc, done)
        for feed, batches in by_feed.items():
            run.suite_names.add(known[feed].name)
            plan = None
            try:
                if len(batches) > 1:
                    plan = _Feed(gx, context, known[feed], specs[feed])
                    run.suite_names.update(s.name for s in plan.derived.values())
            except Exception as exc:  # the suite cannot be split: each batch is validated alone
                if _lost(conn, exc):
                    raise
                log.warning("Great Expectations: suite %s diperiksa per muatan: %s", feed, _reason("", exc))
            groups = _groups(batches) if plan is not None and plan.groupable else [[b] for b in batches]
            for group in groups:
                if len(group) > 1:
                    try:
                        passed = run.group(plan, group)
                        _store(conn, passed)
                        for load_id, rows in passed.items():
                            done(load_id, _verdict(rows)[0])
                    except Exception as exc:  # validated again batch by batch: each gets its own outcome
                        if _lost(conn, exc):
                            raise
                        log.warning("Great Expectations: grup %s (%d muatan) diperiksa per muatan: %s",
                                    feed, len(group), _reason("", exc))
                for batch in group:
                    if batch.load_id not in out:  # alone, or named by a failure in its group
                        _check_alone(run, known[feed], conn, batch, done)
        run.build_docs(gx_dir)
    return {load_id: out[load_id] for load_id in load_ids if load_id in out}


# Batches of one feed validated together: at most this many, and this many rows (a larger batch alone).
GROUP_BATCHES = 2000
GROUP_ROWS = 250_000
# Great Expectations names at most this many unexpected rows of an expectation; when a group has more, the
# batches named are taken out and the rest validated again, at most this many times (then batch by batch).
NAMED_ROWS = 200
ROUNDS = 6
# GX map expectations whose verdict on a row depends on that row alone: a row unexpected in a batch is
# unexpected in the union of batches, and a batch none of whose rows is unexpected passes (whatever `mostly`).
ROW_LEVEL = frozenset({
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between", "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex", "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern", "expect_column_value_lengths_to_equal",
    "expect_column_value_lengths_to_be_between", "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_in_set"})
# Uniqueness within a batch is uniqueness of (_load_id, key) in the union.
UNIQUE = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
# Expectations on one aggregate of the batch, compared with bounds: checked on one row per batch.
AGGREGATES = {"expect_table_row_count_to_equal": "count(*)", "expect_table_row_count_to_be_between": "count(*)",
              "expect_column_sum_to_be_between": "sum", "expect_column_min_to_be_between": "min",
              "expect_column_max_to_be_between": "max", "expect_column_mean_to_be_between": "avg"}
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Batch:
    __slots__ = ("load_id", "rows_loaded", "params")

    def __init__(self, load_id: int, rows_loaded: int, params: dict):
        self.load_id, self.rows_loaded, self.params = load_id, rows_loaded, params


def _groups(batches: list[_Batch]) -> list[list[_Batch]]:
    """Consecutive runs of batches within GROUP_BATCHES and GROUP_ROWS; a batch above GROUP_ROWS alone."""
    groups: list[list[_Batch]] = []
    rows = 0
    for batch in batches:
        if not groups or len(groups[-1]) >= GROUP_BATCHES or rows + batch.rows_loaded > GROUP_ROWS:
            groups.append([])
            rows = 0
        groups[-1].append(batch)
        rows += batch.rows_loaded
    return groups


class _Feed:
    """One suite split for validating many batches at once, with the same verdict per batch as alone.

    - row-level expectations (ROW_LEVEL, uniqueness rewritten over `_load_id`) run once on the union of the
      batches (`<suite>.grup_baris`); the unexpected rows Great Expectations names carry their `_load_id`;
    - aggregate expectations (AGGREGATES) run on one row per batch holding its aggregate and its bounds (its
      `$PARAMETER`s), as column-pair expectations (`<suite>.grup_agregat`), failures named by `_load_id`;
    - the row-level expectations as written run on an empty selection of the table (`<suite>.grup_kosong`):
      what a batch without rows gets.
    A batch named by any of them, or whose aggregate is null, is validated alone. A suite with any other
    expectation (or an aggregate with a row condition or bounds that are not numbers) is validated per batch.
    """

    def __init__(self, gx, context, suite, spec: dict):
        self.suite, self.table = suite, suite.meta["table"]
        self.configs = configs = [e.configuration for e in suite.expectations]
        specs = spec["expectations"]
        if len(configs) != len(specs) or [c.type for c in configs] != [s["type"] for s in specs]:
            raise CheckError(f"suite {suite.name} tidak sama dengan berkasnya")
        self.kinds, self.rows, self.aggs, self.empty = [], [], [], []
        for i, (cfg, s) in enumerate(zip(configs, specs)):
            kwargs = {k: v for k, v in s["kwargs"].items() if k != "result_format"}
            kind = self._kind(cfg.type, kwargs)
            self.kinds.append(kind)
            if kind == "row":
                self.empty.append({"type": cfg.type, "kwargs": kwargs, "meta": {"asal": i}})
                if cfg.type == "expect_column_values_to_be_unique":  # nulls are left out, as per batch
                    kwargs = {"column_list": ["_load_id", kwargs["column"]], "ignore_row_if": "any_value_is_missing",
                              **{k: v for k, v in kwargs.items() if k in ("mostly",)}}
                    self.rows.append({"type": "expect_compound_columns_to_be_unique", "kwargs": kwargs, "meta": {"asal": i}})
                elif cfg.type == "expect_compound_columns_to_be_unique":
                    kwargs = {**kwargs, "column_list": ["_load_id", *kwargs["column_list"]]}
                    self.rows.append({"type": cfg.type, "kwargs": kwargs, "meta": {"asal": i}})
                else:
                    self.rows.append({"type": cfg.type, "kwargs": kwargs, "meta": {"asal": i}})
            elif kind == "agg":
                self.aggs.append((i, cfg.type, kwargs))
        self.groupable = "other" not in self.kinds
        self.checks = []  # pair expectations on the aggregate rows
        for i, type_, kwargs in self.aggs:
            if type_ == "expect_table_row_count_to_equal":
                self.checks.append(("expect_column_pair_values_to_be_equal", {"column_A": f"m{i}", "column_B": f"eq{i}"}, i))
                continue
            if kwargs.get("min_value") is not None:
                self.checks.append(("expect_column_pair_values_a_to_be_greater_than_b", {
                    "column_A": f"m{i}", "column_B": f"lo{i}", "or_equal": not kwargs.get("strict_min")}, i))
            if kwargs.get("max_value") is not None:
                self.checks.append(("expect_column_pair_values_a_to_be_greater_than_b", {
                    "column_A": f"hi{i}", "column_B": f"m{i}", "or_equal": not kwargs.get("strict_max")}, i))
        self.derived = {}
        if not self.groupable:
            return
        for part, expectations in (("grup_baris", self.rows), ("grup_kosong", self.empty), ("grup_agregat", [
                {"type": t, "kwargs": k, "meta": {"asal": i}} for t, k, i in self.checks])):
            if expectations:
                self.derived[part] = context.suites.add_or_update(gx.ExpectationSuite(
                    name=f"{suite.name}.{part}", expectations=expectations,
                    meta={"feed": suite.meta.get("feed"), "table": self.table, "dari": suite.name}))

    @staticmethod
    def _kind(type_: str, kwargs: dict) -> str:
        """`row`, `agg` or `other` (validated batch by batch)."""
        if type_ in ROW_LEVEL or type_ in UNIQUE:  # the union is validated once, with no batch's parameters
            return "other" if parameter_names(kwargs) or (type_ in UNIQUE and "row_condition" in kwargs) else "row"
        if "row_condition" in kwargs:
            return "other"
        if type_ in AGGREGATES:
            if AGGREGATES[type_] != "count(*)" and "column" not in kwargs:
                return "other"
            bounds = [kwargs.get("value")] if type_ == "expect_table_row_count_to_equal" else \
                [kwargs.get("min_value"), kwargs.get("max_value")]
            if all(b is None for b in bounds):
                return "other"
            for b in bounds:
                if isinstance(b, dict):
                    if not (isinstance(b.get("$PARAMETER"), str) and PLAIN_NAME.fullmatch(b["$PARAMETER"])):
                        return "other"
                elif b is not None and not _number(b):
                    return "other"
            return "agg"
        return "other"

    def bounds(self, batch: _Batch) -> dict[str, object]:
        """Column -> this batch's bound (its `$PARAMETER` values resolved). Raises CheckError if not a number."""
        out = {}
        for i, type_, kwargs in self.aggs:
            names = {"value": f"eq{i}"} if type_ == "expect_table_row_count_to_equal" else \
                {"min_value": f"lo{i}", "max_value": f"hi{i}"}
            for key, column in names.items():
                value = kwargs.get(key)
                if value is None:
                    continue
                if isinstance(value, dict):
                    value = batch.params.get(value["$PARAMETER"])
                if not _number(value):
                    raise CheckError(f"batas {key} harapan {type_} bukan angka: {value!r}")
                out[column] = value
        return out

    def aggregate_query(self, conn, batches: list[_Batch]) -> str:
        """One row per batch: `_load_id`, each aggregate `m<i>` and its bounds."""
        ident = lambda name: psycopg.sql.Identifier(name).as_string(conn)  # noqa: E731
        metrics = [("_rows", "count(*)")]
        for i, type_, kwargs in self.aggs:
            fn = AGGREGATES[type_]
            metrics.append((f"m{i}", "count(*)" if fn == "count(*)" else f"{fn}({ident(kwargs['column'])})"))
        bounds = [self.bounds(b) for b in batches]
        columns = list(bounds[0]) if bounds else []
        values = ", ".join(
            "(" + ", ".join([f"{b.load_id}::bigint"] + [_literal(bs[c]) for c in columns]) + ")"
            for b, bs in zip(batches, bounds))
        inner = ", ".join(f"{expr} as {name}" for name, expr in metrics)
        outer = ", ".join(f"coalesce(a.{name}, 0) as {name}" if expr == "count(*)" else f"a.{name}"
                          for name, expr in metrics)
        return (f"select b._load_id{''.join(', b.' + c for c in columns)}, {outer} "
                f"from (values {values}) as b(_load_id{''.join(', ' + c for c in columns)}) "
                f"left join (select _load_id, {inner} from {self.table} "
                f"where {_where(batches)} group by _load_id) as a on a._load_id = b._load_id")

    def union_query(self, batches: list[_Batch]) -> str:
        return f"select * from {self.table} where {_where(batches)}"


def _where(batches: list[_Batch]) -> str:
    """The batches' rows: the range first (the raw tables' BRIN index on `_load_id`), then the list."""
    ids = sorted(b.load_id for b in batches)
    return f"_load_id between {ids[0]} and {ids[-1]} and _load_id = any('{{{','.join(map(str, ids))}}}'::bigint[])"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _literal(value) -> str:
    """A bound as an exact SQL numeric (a float's exact value: compared as Great Expectations compares it)."""
    return f"{int(value)}::numeric" if isinstance(value, int) else f"'{Decimal(value)}'::numeric"


class _Run:
    """Great Expectations runs of one `check_loads` call, and the results they stored (for Data Docs)."""

    def __init__(self, gx, context, source, conn):
        self.gx, self.context, self.source, self.conn = gx, context, source, conn
        self.results: list = []  # validation result identifiers stored by this run
        self.suite_names: set[str] = set()

    def build_docs(self, gx_dir: Path) -> None:
        """Data Docs, once per run: the pages of this run's results and suites, and the index (every page
        when there is no site yet or the last build did not finish)."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
        unfinished = gx_dir / ".data_docs_unfinished"
        try:
            every = unfinished.exists() or not data_docs_index().exists()
            unfinished.touch()
            self.context.build_data_docs(resource_identifiers=None if every else [
                *self.results, *(ExpectationSuiteIdentifier(name=n) for n in sorted(self.suite_names))])
            unfinished.unlink()
        except Exception as exc:  # the verdicts are in the ledger already; the pages come with the next run
            log.warning("Great Expectations: Data Docs tidak dibuat: %s", _reason("", exc))

    def checkpoint(self, name: str, parts: list[tuple[str, str, object]], result_format: dict):
        """Wire query assets (name suffix, query, suite) into one checkpoint; `unwire` removes them."""
        definitions = []
        for suffix, query, suite in parts:
            asset = self.source.add_query_asset(name=name + suffix, query=query)
            batch = asset.add_batch_definition_whole_table("batch")
            definitions.append(self.context.validation_definitions.add_or_update(
                self.gx.ValidationDefinition(name=name + suffix, data=batch, suite=suite)))
        return self.context.checkpoints.add_or_update(self.gx.Checkpoint(
            name=name, validation_definitions=definitions, result_format=result_format, actions=[]))

    def unwire(self, name: str, suffixes) -> None:
        """Remove a checkpoint, its validation definitions and query assets, those that exist."""
        for remove, names in ((self.context.checkpoints.delete, [name]),
                              (self.context.validation_definitions.delete, [name + s for s in suffixes]),
                              (self.source.delete_asset, [name + s for s in suffixes])):
            for n in names:
                try:
                    remove(n)
                except Exception:  # not there (the normal case before a run)
                    pass

    def run(self, checkpoint, load_ids: list[int], **kwargs):
        result = _run_checkpoint(checkpoint, load_ids, **kwargs)
        self.results.extend(result.run_results)
        return result

    def group(self, plan: _Feed, group: list[_Batch]) -> dict[int, list[tuple]]:
        """Validate a group's batches together; load id -> result rows of each batch that passed every
        expectation. Batches named by a failure (or whose bounds are not numbers) are left out: the caller
        validates them alone. Raises on any Great Expectations error (the caller then validates each alone)."""
        passed: dict[int, list[tuple]] = {}
        pending = []
        for batch in group:
            try:
                plan.bounds(batch)
                pending.append(batch)
            except CheckError:
                pass
        for _ in range(ROUNDS):
            if not pending:
                break
            named, complete, rows = self._round(plan, pending)
            if complete:
                passed.update({i: r for i, r in rows.items() if i not in named})
                break
            if not named:
                break  # cannot narrow the group down: its batches are validated alone
            pending = [b for b in pending if b.load_id not in named]
        return passed

    def _round(self, plan: _Feed, batches: list[_Batch]) -> tuple[set[int], bool, dict[int, list[tuple]]]:
        """One checkpoint run over these batches: (the load ids of batches that did not pass everything,
        whether every unexpected row was named, each batch's result rows)."""
        aggregate = plan.aggregate_query(self.conn, batches)
        cur = self.conn.execute(aggregate)
        names = [d.name for d in cur.description]
        metrics = {r[0]: dict(zip(names, r)) for r in cur}
        parts = []
        if "grup_baris" in plan.derived:
            parts.append(("_baris", plan.union_query(batches), plan.derived["grup_baris"]))
        if "grup_agregat" in plan.derived:
            parts.append(("_agregat", aggregate, plan.derived["grup_agregat"]))
        if "grup_kosong" in plan.derived and any(metrics[b.load_id]["_rows"] == 0 for b in batches):
            parts.append(("_kosong", f"select * from {plan.table} where false", plan.derived["grup_kosong"]))
        name = f"{plan.suite.meta.get('feed') or plan.suite.name}_grup_{batches[0].load_id:08d}"
        suffixes = [p[0] for p in parts]
        self.unwire(name, suffixes)  # left by a run that stopped midway
        try:
            checkpoint = self.checkpoint(name, parts, {
                "result_format": "COMPLETE", "unexpected_index_column_names": ["_load_id"],
                "partial_unexpected_count": NAMED_ROWS, "return_unexpected_index_query": False})
            result = self.run(checkpoint, [b.load_id for b in batches])
        finally:
            self.unwire(name, suffixes)
        run_id = str(result.run_id.run_time.isoformat())
        ids = {b.load_id for b in batches}
        named: set[int] = set()
        complete = True
        failing: dict[int, set[int]] = {}  # aggregate expectation -> load ids whose aggregate is out of bounds
        empty: dict[int, tuple[bool, str | None]] = {}  # row-level expectation -> its outcome without rows
        for validation in result.run_results.values():
            part = validation.suite_name.rsplit(".", 1)[-1]
            for r in validation.results:
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    raise CheckError(f"{r.expectation_config.type}: {info.get('exception_message')}")
                i = r.expectation_config.meta["asal"]
                if part == "grup_kosong":
                    observed = r.result.get("observed_value", r.result.get("unexpected_count"))
                    empty[i] = (bool(r.success), None if observed is None else str(observed))
                    continue
                found, whole = _named(r.result, ids)
                complete = complete and whole
                if part == "grup_agregat":
                    failing.setdefault(i, set()).update(found)
                else:
                    named |= found
        rows: dict[int, list[tuple]] = {}
        for batch in batches:
            m = metrics[batch.load_id]
            out = []
            for i, cfg in enumerate(plan.configs):
                row = (batch.load_id, plan.suite.name, cfg.type, cfg.kwargs.get("column"), bool(cfg.meta.get("critical")))
                if batch.rows_loaded == 0 and cfg.type in NEEDS_ROWS:
                    out.append(row + (True, SKIPPED_EMPTY, run_id))
                elif plan.kinds[i] == "row":  # no row of the batch was unexpected
                    out.append(row + (empty.get(i, (False, None)) if m["_rows"] == 0 else (True, "0")) + (run_id,))
                else:  # an aggregate within its bounds: its value, as Great Expectations reports it
                    value = m[f"m{i}"]
                    ok = value is not None and batch.load_id not in failing.get(i, ())
                    out.append(row + (ok, None if value is None else str(_observed(value)), run_id))
            rows[batch.load_id] = out
            if not all(r[5] for r in out):
                named.add(batch.load_id)
        return named, complete, rows


def _named(result: dict, ids: set[int]) -> tuple[set[int], bool]:
    """The batches (load ids) of the unexpected rows Great Expectations names in a group result, and
    whether it named them all."""
    count = result.get("unexpected_count") or 0
    if not count:
        return set(), True
    rows = result.get("unexpected_index_list")
    if rows is None:  # multicolumn expectations name no index, but their values hold `_load_id` first
        rows = result.get("unexpected_list")
    found = {int(r["_load_id"]) for r in rows or [] if isinstance(r, dict) and r.get("_load_id") in ids}
    whole = rows is not None and len(rows) >= count and all(isinstance(r, dict) and "_load_id" in r for r in rows)
    return found, whole


def _observed(value):
    """A value as Great Expectations reports it (a decimal as a float)."""
    if isinstance(value, Decimal):
        return float(value)  # what convert_to_json_serializable gives, without its per-call stack inspection
    from great_expectations.util import convert_to_json_serializable
    return convert_to_json_serializable(value)


def _validator_url(url: str) -> str:
    """The URL Great Expectations validates through: the loader role, and no nested-loop joins. Its queries
    join a batch's rows with themselves (compound uniqueness); the planner cannot estimate a selection of
    `_load_id`s it has no statistics for (a batch just loaded) and, guessing one row, would join them in a
    nested loop: minutes for a few thousand rows, where a hash join takes milliseconds."""
    parts = urlsplit(access.role_url(url, access.LOADER))
    query = [(k, f"{v} -c enable_nestloop=off" if k == "options" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _run_checkpoint(checkpoint, load_ids: list[int], **kwargs):
    """Every Great Expectations run of `check_loads` (one per group of batches, or per batch alone)."""
    return checkpoint.run(**kwargs)


def _lost(conn, exc: Exception) -> bool:
    """The database went away: not a batch's fault; the batches not yet checked stay as they are."""
    return conn.closed or conn.broken or isinstance(exc, psycopg.OperationalError)


def _failed(conn, load_id: int, exc: Exception, done) -> None:
    if _lost(conn, exc):
        raise exc
    reason = str(exc) if isinstance(exc, CheckError) else _reason("pemeriksaan gagal berjalan", exc)
    log.warning("Great Expectations: muatan %s tidak dapat diperiksa: %s", load_id, reason)
    _set_quality(conn, load_id, "error", reason)
    done(load_id, "error")


def _reason(what: str, exc: Exception) -> str:
    text = " ".join(str(exc).split())[:500]
    return f"{what + ': ' if what else ''}{type(exc).__name__}: {text}"


def _check_alone(run: _Run, suite, conn, batch: _Batch, done) -> None:
    """Validate one batch by itself (the whole suite on its rows); its outcome, or `error` with the reason."""
    try:
        name = f"{suite.meta.get('feed') or suite.name}_{batch.load_id:08d}"
        run.unwire(name, [""])  # left by a run that stopped midway
        try:
            checkpoint = run.checkpoint(name, [("", f"select * from {suite.meta['table']} where _load_id = "
                                                    f"{int(batch.load_id)}", suite)], {"result_format": "SUMMARY"})
            result = run.run(checkpoint, [batch.load_id], expectation_parameters=batch.params)
        finally:
            # Results and Data Docs stay; the per-load wiring goes, so the project does not grow with every load.
            run.unwire(name, [""])
        rows = []
        run_id = str(result.run_id.run_time.isoformat())
        for validation in result.run_results.values():
            for r in validation.results:
                cfg = r.expectation_config
                column, critical = cfg.kwargs.get("column"), bool(cfg.meta.get("critical"))
                if batch.rows_loaded == 0 and cfg.type in NEEDS_ROWS:
                    rows.append((batch.load_id, suite.name, cfg.type, column, critical, True, SKIPPED_EMPTY, run_id))
                    continue
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    message = " ".join(str(info.get("exception_message") or "").split())[:300]
                    rows.append((batch.load_id, suite.name, cfg.type, column, critical, False, f"galat: {message}",
                                 run_id))
                    continue
                observed = r.result.get("observed_value", r.result.get("unexpected_count"))
                rows.append((batch.load_id, suite.name, cfg.type, column, critical,
                             bool(r.success), None if observed is None else str(observed), run_id))
        if not rows:
            raise CheckError(f"suite {suite.name} tidak menghasilkan satu pun hasil harapan")
        _store(conn, {batch.load_id: rows})
        done(batch.load_id, _verdict(rows)[0])
    except Exception as exc:
        _failed(conn, batch.load_id, exc, done)


GALAT = "galat: "


def _verdict(rows: list[tuple]) -> tuple[str, str | None]:
    """A batch's quality and reason from its result rows."""
    raised = [f"{r[2]}({r[3] or ''}): {r[6][len(GALAT):]}" for r in rows
              if not r[5] and (r[6] or "").startswith(GALAT)]
    if raised:
        return "error", "harapan gagal dijalankan: " + "; ".join(raised)
    failed = [r[4] for r in rows if not r[5]]
    quality = "failed" if any(failed) else ("warning" if failed else "passed")
    skipped = sum(1 for r in rows if r[6] == SKIPPED_EMPTY)
    return quality, (f"muatan tanpa baris: {skipped} harapan yang memerlukan baris dilewati" if skipped else None)


def _store(conn, results: dict[int, list[tuple]]) -> None:
    """Each batch's result rows (replacing earlier ones) and verdict, in one transaction."""
    if not results:
        return
    verdicts = [(*_verdict(rows), load_id) for load_id, rows in results.items()]
    with conn.transaction():
        conn.execute("delete from audit.expectation_result where load_id = any(%s)", (list(results),))
        with conn.cursor() as cur:
            cur.executemany("insert into audit.expectation_result (load_id, suite, expectation, column_name, critical, "
                            "success, observed, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                            [row for rows in results.values() for row in rows])
            cur.executemany("update audit.load set quality = %s, quality_reason = %s where load_id = %s", verdicts)


def _set_quality(conn, load_id: int, quality: str, reason: str | None = None) -> None:
    conn.execute("update audit.load set quality = %s, quality_reason = %s where load_id = %s",
                 (quality, reason, load_id))


def data_docs_index() -> Path:
    return config.gx_data_docs_dir() / "index.html"
