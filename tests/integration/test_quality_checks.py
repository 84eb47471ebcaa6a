"""Great Expectations per batch, against real PostgreSQL and a real Great Expectations project: an empty report
validates, a batch whose checks cannot run is marked `error` without stranding the others, `sinergi check`
(or the next `sinergi load`) checks again what was left pending or in error, and many small batches of one
feed are validated together with the same results per batch as alone, in a bounded number of runs."""
from __future__ import annotations

import json
import os
import shutil

import psycopg
import pytest
from typer.testing import CliRunner

from simulator import Options, generate

# One month of a small seed world is enough: a branch's real claims and contributions reports.
SMALL = Options(profile="seed", scale=0.02, months=1, start="2024-01", seed=7, defect_rate=0.0)
BRANCH = "K0307"
CLAIMS = f"bpjstk/{BRANCH}/{BRANCH}_klaim_202401.csv"
CONTRIBUTIONS = f"bpjstk/{BRANCH}/{BRANCH}_iuran_202401.csv"
EMPTY_CLAIMS = f"bpjstk/{BRANCH}/{BRANCH}_klaim_202402.csv"  # the branch paid no claim that month


def _invoke(url, *args):
    from sinergi.cli import app
    return CliRunner().invoke(app, list(args), env={"WAREHOUSE_URL": url, "COLUMNS": "200"}, catch_exceptions=False)


def _rows(url, query, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _quality(url) -> dict[str, tuple]:
    return {file: (q, reason) for file, q, reason in _rows(url, "select file, quality, quality_reason from audit.load")}


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    world = tmp_path_factory.mktemp("quality_world")
    generate(SMALL, world)
    return world


@pytest.fixture(scope="module")
def landing(small_world, tmp_path_factory):
    """A claims report, a contributions report, and a claims report with its header and no row (as BPJS sends
    it for a month without claims), delivered in that order."""
    world = small_world
    landing = tmp_path_factory.mktemp("quality") / "landing"
    (landing / "bpjstk" / BRANCH).mkdir(parents=True)
    for rel in (CLAIMS, CONTRIBUTIONS):
        shutil.copy2(world / "landing" / rel, landing / rel)
    real = (world / "landing" / CLAIMS).read_bytes()
    (landing / EMPTY_CLAIMS).write_bytes(real[:real.index(b"\n") + 1])  # the real header (BOM, line end) only
    start = os.stat(landing / CLAIMS).st_mtime
    for i, rel in enumerate((CLAIMS, CONTRIBUTIONS, EMPTY_CLAIMS)):
        os.utime(landing / rel, (start + i, start + i))
    return landing


@pytest.fixture(scope="module")
def first_load(landing, tmp_path_factory, new_db, gx_dir):
    """`sinergi load --json` of the three files, with the checks of the first batch raising a Great Expectations
    error (as an uncomputable suite parameter did): returns the URL, the JSON lines and the broken load id.

    The error is raised by every checkpoint run that validates the first batch: its group's run (then each
    batch of the group is validated alone) and its own."""
    import great_expectations as gx

    from ingestion import quality

    copy = shutil.copytree(landing, tmp_path_factory.mktemp("first_load") / "landing", copy_function=shutil.copy2)
    url = new_db()
    broken = []
    run = quality._run_checkpoint

    def raising_for_the_first_batch(checkpoint, load_ids, **kwargs):
        if not broken:
            broken.append(load_ids[0])
        if broken[0] in load_ids:
            raise gx.exceptions.SuiteParameterError("No value found for $PARAMETER sum_nominal_min")
        return run(checkpoint, load_ids, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quality, "_run_checkpoint", raising_for_the_first_batch)
        result = _invoke(url, "load", str(copy), "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return url, lines, broken[0]


def test_an_empty_claims_report_loads_and_validates_with_the_row_checks_skipped(first_load):
    url, lines, _ = first_load
    empty = next(line for line in lines if line["file"] == EMPTY_CLAIMS)
    assert (empty["status"], empty["rows_read"], empty["rows_loaded"]) == ("loaded", 0, 0)
    assert empty["quality"] in ("passed", "warning")
    results = _rows(url, "select expectation, column_name, success, observed from audit.expectation_result "
                         "where load_id = %s", empty["load_id"])
    skipped = {(e, c) for e, c, success, observed in results if success and (observed or "").startswith("dilewati")}
    assert {("expect_column_sum_to_be_between", "nominal"), ("expect_column_min_to_be_between", "nominal")} <= skipped
    assert ("expect_table_row_count_to_equal", None, True, "0") in results  # what can be checked still is
    assert "tanpa baris" in _quality(url)[EMPTY_CLAIMS][1]


def test_a_batch_whose_checks_raise_is_marked_error_and_the_batches_after_it_are_checked(first_load):
    url, lines, broken = first_load
    assert {line["file"] for line in lines} == {CLAIMS, CONTRIBUTIONS, EMPTY_CLAIMS}  # one JSON object per file
    by_file = {line["file"]: line for line in lines}
    assert by_file[CLAIMS]["load_id"] == broken  # the first batch checked, before the others
    assert by_file[CLAIMS]["quality"] == "error"
    assert "SuiteParameterError" in by_file[CLAIMS]["quality_reason"]
    assert "sum_nominal_min" in by_file[CLAIMS]["quality_reason"]
    assert by_file[CONTRIBUTIONS]["quality"] == "passed"
    ledger = _quality(url)
    assert ledger[CLAIMS] == ("error", by_file[CLAIMS]["quality_reason"])
    assert ledger[CONTRIBUTIONS][0] == "passed" and ledger[EMPTY_CLAIMS][0] in ("passed", "warning")
    checked = {r[0] for r in _rows(url, "select distinct load_id from audit.expectation_result")}
    assert checked == {by_file[CONTRIBUTIONS]["load_id"], by_file[EMPTY_CLAIMS]["load_id"]}


def test_sinergi_check_rechecks_pending_and_error_batches_and_stores_why_one_cannot_be_checked(first_load):
    url, lines, broken = first_load
    by_file = {line["file"]: line["load_id"] for line in lines}
    with psycopg.connect(url) as conn:
        # A batch stranded `pending` (as an exception in an earlier batch's checks used to leave them), and
        # a ledger that cannot give one of the suite's parameters.
        conn.execute("update audit.load set quality = 'pending', quality_reason = null where load_id = %s",
                     (by_file[CONTRIBUTIONS],))
        conn.execute("update audit.load set amounts_loaded = '{\"nominal\": null}' where load_id = %s", (broken,))
    result = _invoke(url, "check", "--json")
    assert result.exit_code == 1, result.stdout + result.stderr  # a batch still in error
    verdicts = {r["file"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(verdicts) == {CLAIMS, CONTRIBUTIONS}
    assert verdicts[CONTRIBUTIONS]["quality"] == "passed"
    assert verdicts[CLAIMS]["quality"] == "error"
    assert "sum_nominal_min" in verdicts[CLAIMS]["quality_reason"]
    assert _quality(url)[CLAIMS] == ("error", verdicts[CLAIMS]["quality_reason"])

    with psycopg.connect(url) as conn:  # the engineer puts the ledger's control total right
        conn.execute("update audit.load set amounts_loaded = jsonb_build_object('nominal', "
                     "(select sum(nominal) from raw_bpjstk.klaim where _load_id = %s)) where load_id = %s",
                     (broken, broken))
    again = _invoke(url, "check")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "Pemeriksaan mutu ulang" in again.stdout
    assert _quality(url)[CLAIMS] == ("passed", None)
    assert _rows(url, "select count(*) from audit.load where quality in ('pending', 'error')") == [(0,)]
    nothing = _invoke(url, "check", "--json")
    assert (nothing.exit_code, nothing.stdout) == (0, "")


def test_a_rerun_of_load_heals_a_batch_an_earlier_run_left_unchecked(landing, tmp_path, new_db, gx_dir):
    url = new_db()
    copy = shutil.copytree(landing, tmp_path / "landing", copy_function=shutil.copy2)
    first = _invoke(url, "load", str(copy), "--json", "--no-checks")
    assert first.exit_code == 0, first.stdout + first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert {line["quality"] for line in lines} == {"pending"}
    with psycopg.connect(url) as conn:  # as if the first run had checked all but one batch
        conn.execute("update audit.load set quality = 'passed' where file <> %s", (CLAIMS,))
    rerun = _invoke(url, "load", str(copy))
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert "Tidak ada berkas baru" in rerun.stdout and "diperiksa ulang" in rerun.stdout
    assert _quality(url)[CLAIMS] == ("passed", None)


def test_an_older_ledger_gains_the_quality_reason_column_and_the_error_value(new_db):
    from ingestion import contracts, pipeline, schema
    url = new_db()
    with pipeline.connect(url) as conn:
        schema.ensure(conn, contracts.load())
        # The ledger as it was before: no quality_reason, and `error` not an allowed quality.
        conn.execute("alter table audit.load drop column quality_reason")
        conn.execute("alter table audit.load drop constraint load_quality_check")
        conn.execute("alter table audit.load add constraint load_quality_check "
                     "check (quality in ('pending', 'passed', 'warning', 'failed', 'none'))")
    with pipeline.connect(url) as conn:
        schema.ensure(conn, contracts.load())
        columns = {r[0] for r in conn.execute("select column_name from information_schema.columns "
                                              "where table_schema = 'audit' and table_name = 'load'")}
        check = conn.execute("select pg_get_constraintdef(oid) from pg_constraint "
                             "where conrelid = 'audit.load'::regclass and conname = 'load_quality_check'").fetchone()
        schema.ensure(conn, contracts.load())  # complete now: nothing more to do
    assert "quality_reason" in columns
    assert "'error'" in check[0] and "'pending'" in check[0]


def test_load_json_prints_every_file_even_when_the_checks_cannot_run_at_all(landing, tmp_path, new_db, monkeypatch):
    from ingestion import quality

    def unavailable(*args, **kwargs):
        raise RuntimeError("Great Expectations tidak tersedia")

    monkeypatch.setattr(quality, "check_loads", unavailable)
    url = new_db()
    copy = shutil.copytree(landing, tmp_path / "landing", copy_function=shutil.copy2)
    result = _invoke(url, "load", str(copy), "--json")
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # stdout is JSON only
    assert sorted(line["file"] for line in lines) == sorted([CLAIMS, CONTRIBUTIONS, EMPTY_CLAIMS])
    assert {line["quality"] for line in lines} == {"pending"}
    assert "sinergi check" in result.stderr


# --- Many small batches of one feed ---------------------------------------------------------------------------

def _results(url, load_ids) -> set[tuple]:
    return set(_rows(url, "select load_id, suite, expectation, column_name, critical, success, observed "
                          "from audit.expectation_result where load_id = any(%s)", list(load_ids)))


def _ledger(url, load_ids) -> dict[int, tuple]:
    return {r[0]: (r[1], r[2]) for r in _rows(url, "select load_id, quality, quality_reason from audit.load "
                                                   "where load_id = any(%s)", list(load_ids))}


def _counting(monkeypatch) -> list[list[int]]:
    """The load ids of each Great Expectations checkpoint run of `check_loads`."""
    from ingestion import quality
    runs, run = [], quality._run_checkpoint

    def counting(checkpoint, load_ids, **kwargs):
        runs.append(sorted(load_ids))
        return run(checkpoint, load_ids, **kwargs)

    monkeypatch.setattr(quality, "_run_checkpoint", counting)
    return runs


@pytest.fixture(scope="module")
def claims(small_world, tmp_path_factory, new_db, gx_dir):
    """Every branch's claims report of the month, one report without any claim and copies of the reports
    (as a branch sending its report again: the same claim numbers in another batch), loaded unchecked; then
    rows and ledger entries broken so that some batches fail. Returns the URL, the load ids, and load id ->
    the quality each broken batch must get."""
    landing = tmp_path_factory.mktemp("claims") / "landing"
    reports = sorted(p for p in (small_world / "landing" / "bpjstk").glob("*/*_klaim_202401.*"))
    assert len(reports) >= 4
    for path in reports:
        (landing / "bpjstk" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, landing / "bpjstk" / path.parent.name / path.name)
    real = (small_world / "landing" / CLAIMS).read_bytes()
    (landing / EMPTY_CLAIMS).write_bytes(real[:real.index(b"\n") + 1])
    url = new_db()
    result = _invoke(url, "load", str(landing), "--json", "--no-checks")
    assert result.exit_code == 0, result.stdout + result.stderr
    ids = sorted(line["load_id"] for line in map(json.loads, result.stdout.splitlines()) if line["status"] == "loaded")
    with psycopg.connect(url) as conn:
        full = [r[0] for r in conn.execute("select load_id from audit.load where load_id = any(%s) and rows_loaded > 1 "
                                           "order by load_id", (ids,))]
        assert len(full) >= 2
        for k in range(8):
            new = conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
            conn.execute("insert into audit.load select (jsonb_populate_record(null::audit.load, to_jsonb(l) || "
                         "jsonb_build_object('load_id', %s::bigint, 'file', l.file || '.salinan' || %s::text))).* "
                         "from audit.load as l where l.load_id = %s", (new, k, full[k % len(full)]))
            conn.execute("insert into raw_bpjstk.klaim select (jsonb_populate_record(null::raw_bpjstk.klaim, to_jsonb(r) "
                         "|| jsonb_build_object('_load_id', %s::bigint))).* from raw_bpjstk.klaim as r "
                         "where r._load_id = %s", (new, full[k % len(full)]))
            ids.append(new)
        copies = ids[-8:]

        def first_line(load_id, offset=0):
            return conn.execute("select _line from raw_bpjstk.klaim where _load_id = %s order by _line offset %s "
                                "limit 1", (load_id, offset)).fetchone()[0]

        for load_id, lines in ((full[0], 2), (copies[5], 1)):  # values outside the set: critical
            conn.execute("update raw_bpjstk.klaim set program = 'XXX' where _load_id = %s and _line <= %s",
                         (load_id, first_line(load_id, lines - 1)))
        conn.execute("update raw_bpjstk.klaim set no_klaim = (select no_klaim from raw_bpjstk.klaim where _load_id = %s "
                     "and _line = %s) where _load_id = %s and _line = %s",
                     (copies[3], first_line(copies[3]), copies[3], first_line(copies[3], 1)))  # a key twice in its batch
        conn.execute("update raw_bpjstk.klaim set nominal = -nominal where _load_id = %s and _line = %s",
                     (copies[4], first_line(copies[4])))  # a negative amount (not critical), the ledger's sum agreeing
        conn.execute("update audit.load set amounts_loaded = jsonb_build_object('nominal', (select sum(nominal)::float8 "
                     "from raw_bpjstk.klaim where _load_id = %s)) where load_id = %s", (copies[4], copies[4]))
        conn.execute("update audit.load set amounts_loaded = jsonb_build_object('nominal', "
                     "(amounts_loaded->>'nominal')::float8 + 1) where load_id = %s", (copies[0],))  # control total off
        conn.execute("update audit.load set rows_loaded = rows_loaded - 1, rows_quarantined = rows_quarantined + 1 "
                     "where load_id = %s", (copies[1],))  # the ledger counts a row fewer than the table holds
        conn.execute("update raw_bpjstk.klaim set no_klaim = null where _load_id = %s and _line = %s",
                     (copies[2], first_line(copies[2])))  # a key missing
    broken = {full[0]: "failed", copies[0]: "failed", copies[1]: "failed", copies[2]: "failed", copies[3]: "failed",
              copies[4]: "warning", copies[5]: "failed"}
    return url, ids, broken


def test_many_small_batches_of_one_feed_are_validated_together_with_the_results_each_gets_alone(claims, monkeypatch):
    from ingestion import quality
    url, ids, broken = claims
    runs = _counting(monkeypatch)
    seen = []
    together = quality.check_loads(url, ids, on_load=lambda load_id, verdict: seen.append((load_id, verdict)))
    # One run for the whole group, then one for each batch that failed something in it (its exact results).
    assert runs == [sorted(ids)] + sorted([i] for i in broken)
    assert {i: together[i] for i in broken} == broken
    assert {together[i] for i in ids if i not in broken} == {"passed"}
    assert sorted(seen) == sorted(together.items()) and list(together) == ids  # once per batch, in the given order
    grouped = (_ledger(url, ids), _results(url, ids))
    expectations = len(quality.suites()["klaim"]["expectations"])
    assert len(grouped[1]) == len(ids) * expectations  # one row per expectation per batch, as alone
    empty = _rows(url, "select load_id from audit.load where load_id = any(%s) and rows_loaded = 0", ids)
    assert empty and all(grouped[0][i][0] == "passed" and "tanpa baris" in grouped[0][i][1] for (i,) in empty)

    runs.clear()
    monkeypatch.setattr(quality, "GROUP_BATCHES", 1)  # every batch alone: the reference
    alone = quality.check_loads(url, ids)
    assert runs == [[i] for i in ids]
    assert alone == together
    assert (_ledger(url, ids), _results(url, ids)) == grouped


def test_a_group_whose_failures_are_not_all_named_at_once_is_narrowed_down(claims, monkeypatch):
    """Great Expectations names at most NAMED_ROWS unexpected rows per expectation: with one, the batches named
    are validated alone and the rest of the group again, until every failure is attributed."""
    from ingestion import quality
    url, ids, broken = claims
    quality.check_loads(url, ids)  # as each batch alone (the test above)
    reference = (_ledger(url, ids), _results(url, ids))
    monkeypatch.setattr(quality, "NAMED_ROWS", 1)
    runs = _counting(monkeypatch)
    quality.check_loads(url, ids)
    groups = [r for r in runs if len(r) > 1]
    assert 2 <= len(groups) <= quality.ROUNDS and sorted(r for r in runs if len(r) == 1) == sorted([i] for i in broken)
    assert (_ledger(url, ids), _results(url, ids)) == reference


def test_checking_clean_small_batches_takes_one_run_however_many_there_are(claims, monkeypatch):
    from ingestion import quality
    url, ids, broken = claims
    clean = [i for i in ids if i not in broken]
    runs = _counting(monkeypatch)
    assert set(quality.check_loads(url, clean).values()) == {"passed"}
    assert runs == [sorted(clean)]


def test_groups_hold_a_bounded_number_of_batches_and_rows_and_a_large_batch_is_alone(monkeypatch):
    from ingestion import quality
    monkeypatch.setattr(quality, "GROUP_BATCHES", 3)
    monkeypatch.setattr(quality, "GROUP_ROWS", 100)
    batches = [quality._Batch(i, rows, {}) for i, rows in enumerate([10, 0, 20, 30, 500, 40, 0, 60, 5])]
    groups = [[b.load_id for b in g] for g in quality._groups(batches)]
    assert groups == [[0, 1, 2], [3], [4], [5, 6, 7], [8]]


def test_great_expectations_validates_as_the_loader_without_nested_loop_joins():
    from urllib.parse import parse_qs, urlsplit

    from ingestion import access, quality
    url = quality._validator_url("postgresql://postgres@127.0.0.1:5432/gudang?sslmode=prefer")
    query = parse_qs(urlsplit(url).query)
    assert query["sslmode"] == ["prefer"]
    assert query["options"] == [f"-c role={access.LOADER} -c enable_nestloop=off"]
