"""A warehouse loaded before issue 19 (a vault row per record, 64-character tokens) is migrated once by
the next load: every record keeps its NIK and name, tokens are shortened, the vault keeps each person and
spelling once, and the next build gives the same figures."""
from __future__ import annotations

import hashlib
import hmac
import os

import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym
from sinergi.warehouse import dbt_runner

RECORDS = "select feed, load_id, line, nik, nama, nik_token from vault.person order by 1, 2, 3"
METRICS = "select * from marts.fct_metrics order by 1, 2, 3, 4"


def _rows(url, query):
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _legacify(url: str) -> None:
    """Turn today's layout back into the one warehouses had before: per-record vault table, whole digests."""
    key = os.environ["SINERGI_PSEUDONYM_KEY"].encode()
    feeds = contracts.load().feeds.values()
    with psycopg.connect(url) as conn:
        niks = [r[0] for r in conn.execute("select distinct nik from vault.identity where nik is not null")]
        conn.execute("create temp table whole (short text primary key, long text)")
        with conn.cursor().copy("copy whole from stdin") as copy:
            for nik in niks:
                digest = hmac.new(key, nik.encode(), hashlib.sha256).hexdigest()
                copy.write_row((digest[:24], digest))
        conn.execute("create table vault.legacy as select p.load_id, p.line, p.feed, w.long as nik_token, p.nik, "
                     "p.nama from vault.person as p left join whole as w on w.short = p.nik_token")
        conn.execute("drop view vault.person, vault.record_names, vault.person_names, vault.person_for_matching, "
                     "vault.person_records")
        conn.execute("drop table vault.identity, audit.layout_change")
        conn.execute("alter table vault.legacy rename to person")
        for feed in feeds:
            for col in (c.stored_as for c in feed.columns.values() if c.stored_as and c.stored_as.endswith("_token")):
                conn.execute(f"update {feed.table} as r set {col} = w.long from whole as w where w.short = r.{col}")
            conn.execute(f"alter table {feed.table} drop column if exists _identity")


def test_a_legacy_vault_is_migrated_by_the_next_load_and_the_figures_stay(clean_world, tmp_path_factory, new_db):
    from landing import load_and_build
    url = load_and_build(clean_world, tmp_path_factory, new_db, "migration", with_tests=False)
    records, metrics = _rows(url, RECORDS), _rows(url, METRICS)
    _legacify(url)
    assert _rows(url, "select count(*) from vault.person where length(nik_token) = 64")[0][0] > 0

    empty = tmp_path_factory.mktemp("nothing_to_load")
    pipeline.load_files(url, empty, [], pseudonym.from_environment())   # its first step migrates

    assert _rows(url, RECORDS) == records
    assert _rows(url, "select count(*), count(distinct (nik, nama)) from vault.identity")[0] == \
        _rows(url, "select count(distinct (nik, nama)), count(distinct (nik, nama)) from vault.person")[0]
    assert _rows(url, "select count(*) from raw_bpjstk.peserta where length(nik_token) <> 24")[0][0] == 0
    assert _rows(url, "select count(*) from audit.layout_change where rebuilt_at is null")[0][0] == 1
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
    assert _rows(url, "select count(*) from audit.layout_change where rebuilt_at is null")[0][0] == 0
    assert _rows(url, METRICS) == metrics
    assert _rows(url, "select count(*) from restricted.int_identity__person_records "
                      "where length(nik_token) <> 24")[0][0] == 0


def test_the_migration_refuses_without_the_key_and_changes_nothing(clean_world, tmp_path_factory, new_db):
    from ingestion import schema

    from landing import copy_landing
    url = new_db()
    landing = copy_landing(clean_world, tmp_path_factory.mktemp("refuse") / "landing")
    first = sorted(str(p.relative_to(landing)) for p in landing.rglob("*peserta*.csv"))[:1]
    pipeline.load_files(url, landing, first, pseudonym.from_environment())
    _legacify(url)
    before = _rows(url, "select count(*), min(nik_token) from vault.person")
    with pipeline.connect(url) as conn, pytest.raises(Exception, match="SINERGI_PSEUDONYM_KEY"):
        schema.ensure(conn, contracts.load())
    assert _rows(url, "select count(*), min(nik_token) from vault.person") == before
    assert _rows(url, "select to_regclass('vault.identity') is null")[0][0]
