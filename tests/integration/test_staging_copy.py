"""`sinergi export-staging`: a copy of the warehouse in which no NIK, name or address of a real person is
left, the same person keeps the same stand-in, and what does not rest on persons is unchanged."""
from __future__ import annotations

from collections import defaultdict

import psycopg
import pytest
from typer.testing import CliRunner

from sinergi.cli import app
from sinergi.core import settings
from sinergi.warehouse import database

KEY = "staging-key-Xq81-vT0s-Pz4n-7Lm2-w9Kd"
# Figures that rest on no person's NIK or name: K1 and K3 whole, the participant and claim counts except
# their breakdown by group (`kelompok=pekerja_koperasi` needs officers linked to participants).
PERSONLESS = "(metric in ('K1', 'K3') or (metric in ('K8', 'K9', 'K9_rupiah') and breakdown not like 'kelompok=%'))"


def _run(url: str, out: str, key: str | None = KEY):
    env = {settings.ENV_WAREHOUSE_URL: url, "SINERGI_STAGING_KEY": key or ""}
    # The warehouse under test was built from unchecked batches too (tests/landing.py): so is its copy.
    return CliRunner().invoke(app, ["export-staging", "--out", out, "--include-unchecked"], env=env)


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def copy(defective_warehouse, new_db):
    out = new_db()
    database.drop_database(out)  # the command creates it
    result = _run(defective_warehouse, out)
    assert result.exit_code == 0, result.output
    assert "Selesai" in result.output
    return out


def test_no_nik_name_or_address_of_the_warehouse_is_left_and_each_keeps_one_stand_in(defective_warehouse, copy):
    query = "select load_id, line, feed, nik, nama from vault.person order by 1, 2, 3"
    real, stand_ins = _rows(defective_warehouse, query), _rows(copy, query)
    assert len(real) == len(stand_ins) > 1000
    real_niks = {r[3] for r in real if r[3]}
    assert not real_niks & {s[3] for s in stand_ins}
    same_person = defaultdict(set)
    for r, s in zip(real, stand_ins):
        assert r[:3] == s[:3]
        same_person[r[3]].add(s[3])
        assert (r[3] is None) == (s[3] is None) and (r[4] is None) == (s[4] is None)
    assert all(len(v) == 1 for v in same_person.values())                       # consistent stand-ins
    changed = sum(r[4] != s[4] for r, s in zip(real, stand_ins) if r[4])
    assert changed >= 0.99 * sum(1 for r in real if r[4])
    sample = [s[3] for s in stand_ins if s[3]][:50]
    assert all(len(n) == 16 and n.isdigit() for n in sample if len(n) == 16)
    # Each address changed (a stand-in may equal another cooperative's street: addresses name no one).
    addresses = "select _load_id, _line, alamat from raw_kemenkop.koperasi where alamat <> '' order by 1, 2"
    real, stand_ins = _rows(defective_warehouse, addresses), _rows(copy, addresses)
    assert len(real) == len(stand_ins) > 100
    assert all(r[:2] == s[:2] and r[2] != s[2] for r, s in zip(real, stand_ins))


def test_no_real_nik_or_name_reaches_any_table_of_the_copy(defective_warehouse, copy):
    niks = [r[0] for r in _rows(defective_warehouse, "select distinct nik from vault.person where nik ~ '^[0-9]{16}$' limit 300")]
    names = [r[0] for r in _rows(defective_warehouse,
                                 "select distinct nama from vault.person where length(nama) > 14 limit 300")]
    lines = [r[0] for r in _rows(defective_warehouse, "select raw_text from vault.quarantine_text where raw_text ~ '[0-9]{16}'")]
    with psycopg.connect(copy) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'text' and table_schema not in ('pg_catalog', 'information_schema')").fetchall()
        found = []
        for schema, table, column in columns:
            hit = conn.execute(f'select count(*) from "{schema}"."{table}" where "{column}" = any(%s) '
                               f'or "{column}" = any(%s)', (niks, names)).fetchone()[0]
            if hit:
                found.append((schema, table, column, hit))
        copied_lines = [r[0] for r in conn.execute("select raw_text from vault.quarantine_text")]
    assert len(columns) > 100 and found == []
    assert lines and not any(nik in text for text in copied_lines for nik in niks)


def test_what_rests_on_no_person_is_unchanged(defective_warehouse, copy):
    query = ("select as_of, metric, region, breakdown, numerator, denominator, value from marts.fct_metrics "
             f"where {PERSONLESS} order by 1, 2, 3, 4")
    assert _rows(copy, query) == _rows(defective_warehouse, query)
    ledger = "select file, status, rows_loaded, rows_quarantined from audit.load order by load_id"
    assert _rows(copy, ledger) == _rows(defective_warehouse, ledger)


def test_refusals_move_nothing(defective_warehouse, copy, new_db):
    same = _run(defective_warehouse, defective_warehouse)
    assert same.exit_code == 2 and "gudang data itu sendiri" in same.output
    not_empty = _run(defective_warehouse, copy)
    assert not_empty.exit_code == 2 and "sudah berisi" in not_empty.output
    out = new_db()
    database.drop_database(out)
    weak = _run(defective_warehouse, out, key="password-password-password")
    assert weak.exit_code == 2 and "SINERGI_STAGING_KEY" in weak.output
    assert database.create_database(out)  # it was still missing: the refusal created nothing
