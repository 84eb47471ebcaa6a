"""The loader's parts one at a time, on a real warehouse: the ledger (`ingestion.ledger`), the decisions that
read it (`ingestion.planning`) and the checked COPY (`ingestion.checked_copy`). The whole loader, crash and
replay included, is tested in test_ingestion.py and test_operator_and_faults.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingestion import checked_copy, contracts, ledger, pipeline, planning, pseudonym, schema
from ingestion.readers import FileProblem

PESERTA = "bpjstk/K1301/K1301_peserta_{period}.csv"  # a monthly snapshot
KOPERASI = "kemenkop/ods/koperasi_20240131.csv"
T0 = datetime(2024, 2, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def rules():
    return contracts.load()


@pytest.fixture
def conn(new_db, rules):
    with pipeline.connect(new_db()) as conn:
        schema.ensure(conn, rules)
        yield conn


def _record(conn, rules, rel, sha="a" * 64, status="loaded", received=T0, rows=10, **counts):
    with conn.transaction():
        return ledger.record(conn, rel, rules.match(rel), 100, sha, received, received, status, None, None,
                             rows_read=rows, rows_loaded=rows, **counts)


def _status(conn, load_id) -> tuple:
    return conn.execute("select status, superseded_by from audit.load where load_id = %s", (load_id,)).fetchone()


def test_the_ledger_writes_a_row_and_reads_it_back(conn, rules):
    rel = PESERTA.format(period="202401")
    written = _record(conn, rules, rel, repairs=["bom_removed"])
    assert written.archived_to == f"_archive/bpjstk/K1301/{written.load_id:08d}_K1301_peserta_202401.csv"
    again = ledger.outcome(conn, written.load_id)
    assert (again.status, again.feed, again.period, again.rows_loaded, again.repairs) == (
        "loaded", "peserta", "202401", 10, ["bom_removed"])
    assert ledger.latest(conn, rel).recovered
    with pytest.raises(FileNotFoundError):
        ledger.latest(conn, "bpjstk/K1301/K1301_peserta_209901.csv")
    ledger.mark_moved(conn, written.load_id)
    assert conn.execute("select moved_at is not null from audit.load").fetchone()[0]


def test_a_twin_is_the_same_bytes_for_the_same_period_not_an_unchanged_snapshot(conn, rules):
    january = _record(conn, rules, PESERTA.format(period="202401"), sha="b" * 64)
    renamed = "bpjstk/K1301/K1301_peserta_202401 (1).csv"
    assert rules.match(renamed).period == "202401"
    assert planning.twin(conn, renamed, rules.match(renamed), "b" * 64) == (january.load_id, january.file)
    february = PESERTA.format(period="202402")
    assert planning.twin(conn, february, rules.match(february), "b" * 64) is None
    assert planning.twin(conn, renamed, rules.match(renamed), "c" * 64) is None


def test_the_delivery_made_last_stands_whatever_the_load_order(conn, rules):
    rel = PESERTA.format(period="202401")
    first = _record(conn, rules, rel, received=T0)
    correction = _record(conn, rules, "bpjstk/K1301/K1301_peserta_202401_v2.csv", received=T0 + timedelta(days=2))
    assert planning.supersede(conn, rules.match(correction.file), correction.load_id, T0 + timedelta(days=2)) == "loaded"
    assert _status(conn, first.load_id) == ("superseded", correction.load_id)
    late_original = _record(conn, rules, "bpjstk/K1301/K1301_peserta_202401 (1).csv", received=T0 + timedelta(days=1))
    assert planning.supersede(conn, rules.match(late_original.file), late_original.load_id,
                              T0 + timedelta(days=1)) == "superseded"
    assert _status(conn, late_original.load_id) == ("superseded", correction.load_id)
    assert _status(conn, correction.load_id) == ("loaded", None)


def test_a_snapshot_far_smaller_than_the_last_is_held_unless_released(conn, rules):
    _record(conn, rules, PESERTA.format(period="202401"), rows=100)
    february = rules.match(PESERTA.format(period="202402"))
    with pytest.raises(FileProblem) as held:
        planning.check_size(conn, february, 40, released=False, min_ratio=0.5)
    assert (held.value.kind, held.value.status, held.value.rows_read) == ("snapshot_shrunk", "held", 40)
    planning.check_size(conn, february, 40, released=True, min_ratio=0.5)
    planning.check_size(conn, february, 60, released=False, min_ratio=0.5)
    claims = rules.match("bpjstk/K1301/K1301_klaim_202402.csv")  # an increment may be small
    planning.check_size(conn, claims, 1, released=False, min_ratio=0.5)


def test_a_period_that_comes_after_a_later_one_is_noted(conn, rules):
    _record(conn, rules, PESERTA.format(period="202402"))
    assert planning.order_notes(conn, rules.match(PESERTA.format(period="202401"))) == [
        "datang sesudah periode 202402 (urutan terbalik)"]
    assert planning.order_notes(conn, rules.match(PESERTA.format(period="202403"))) == []


def test_the_checked_copy_loads_or_sets_aside_every_row(conn, rules, clean_world, tmp_path):
    path = tmp_path / "koperasi_20240131.csv"
    good = (clean_world / "landing" / KOPERASI).read_bytes()
    path.write_bytes(good + b"only,three,fields\n")  # a short record: set aside, not lost
    load_id = conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
    with conn.transaction():
        counts = checked_copy.copy_rows(conn, pseudonym.from_environment(), path, rules.match(KOPERASI), load_id)
        _record(conn, rules, KOPERASI, load_id=load_id, rows=counts.rows_loaded)
        raw = conn.execute(f"select count(*) from {rules.feeds['koperasi'].table} where _load_id = %s",
                           (load_id,)).fetchone()[0]
        set_aside = conn.execute("select reason, count(*) from audit.quarantine where load_id = %s group by 1",
                                 (load_id,)).fetchall()
    assert counts.rows_read == good.count(b"\n")  # header line off, the short record on
    assert counts.rows_read == counts.rows_loaded + counts.rows_quarantined
    assert raw == counts.rows_loaded
    assert sum(n for _, n in set_aside) == counts.rows_quarantined >= 1


def test_a_warehouse_made_before_drops_the_file_name_on_every_raw_row_once(conn, rules):
    """Raw rows carry their load id only (the file's name is the ledger's): an older warehouse's `_file`
    column goes the first time the loader runs, and the next run has nothing to do."""
    table = rules.feeds["koperasi"].table
    conn.execute(f"alter table {table} add column _file text")
    assert not schema._complete(conn, rules)
    schema.ensure(conn, rules)
    left = conn.execute("select count(*) from information_schema.columns where column_name = '_file' "
                        "and table_schema like 'raw\\_%'").fetchone()[0]
    assert left == 0 and schema._complete(conn, rules)
