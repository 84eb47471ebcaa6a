"""Database roles against the real warehouse: each reads what it should and is refused the rest."""
from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

from ingestion import access

PROVINCE = "35"  # Jawa Timur: a seed-world province with rows in every mart
# Marts that hold no regional rows (reference lists and the ledger's delivery records).
NOT_REGIONAL = {"dim_bank", "dim_month", "fct_month_status", "dim_programme", "fct_deliveries", "fct_quarantine_reasons",
                "fct_expectation_results"}


def _as(url, role, query, params=()):
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        return conn.execute(query, params).fetchall()


def _refused(url, role, query) -> bool:
    try:
        _as(url, role, query)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def _tables(url, schema):
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,))]


def test_roles_are_created_idempotently_and_own_their_schemas(defective_warehouse):
    access.ensure(defective_warehouse)
    access.ensure(defective_warehouse)  # a second run changes nothing and does not fail
    with psycopg.connect(defective_warehouse) as conn:
        owners = dict(conn.execute("select nspname, pg_get_userbyid(nspowner) from pg_namespace").fetchall())
        web = conn.execute("select rolinherit, rolcanlogin from pg_roles where rolname = 'sinergi_web'").fetchone()
    assert {s: owners[s] for s in access.LOADER_SCHEMAS} == {s: access.LOADER for s in access.LOADER_SCHEMAS}
    assert {s: owners[s] for s in access.TRANSFORMER_SCHEMAS} == {s: access.TRANSFORMER for s in access.TRANSFORMER_SCHEMAS}
    assert web == (False, True)  # the dashboard's login holds nothing until it sets a user's role


@pytest.mark.parametrize("role, allowed, refused", [
    (access.ANALYST, ["marts.fct_metrics", "marts.dim_region", "marts.fct_deliveries"],
     ["audit.load", "published.fct_metrics_published", "identity.int_identity__person_links", "vault.person",
      "vault.person_names", "raw_bpjstk.peserta", "staging.stg_bpjstk__participants"]),
    (access.AUDITOR, ["marts.fct_metrics", "audit.load", "audit.quarantine", "audit.expectation_result",
                      "identity.int_identity__person_links", "published.fct_metrics_published", "vault.person_names"],
     ["vault.person", "vault.person_for_matching", "vault.quarantine_text", "raw_bpjstk.peserta",
      "restricted.stg_vault__person_names"]),
    (access.TRANSFORMER, ["raw_bpjstk.peserta", "audit.load", "vault.person_for_matching"],
     ["vault.person", "vault.person_names", "vault.quarantine_text"]),
    (access.LOADER, ["raw_bpjstk.peserta", "vault.person", "audit.load"], ["marts.fct_metrics"]),
])
def test_each_role_reads_what_it_should_and_is_refused_the_rest(defective_warehouse, role, allowed, refused):
    for relation in allowed:
        _as(defective_warehouse, role, f"select 1 from {relation} limit 1")
    assert [r for r in refused if not _refused(defective_warehouse, role, f"select 1 from {r} limit 1")] == []


def test_only_the_vault_owner_reads_plain_niks(defective_warehouse):
    for role in (access.TRANSFORMER, access.ANALYST, access.AUDITOR, access.REGIONAL):
        assert _refused(defective_warehouse, role, "select nik from vault.person limit 1"), role
    niks = _as(defective_warehouse, access.LOADER, "select count(nik) from vault.person")[0][0]
    assert niks > 0


def test_no_mart_column_holds_a_plain_nik(defective_warehouse):
    """Scan every text column of every mart and published table for a value that is a NIK in the vault."""
    with psycopg.connect(defective_warehouse) as conn:
        niks = {r[0] for r in conn.execute("select distinct nik from vault.person where nik is not null")}
        columns = conn.execute("""
            select table_schema, table_name, column_name from information_schema.columns
            where table_schema in ('marts', 'published', 'identity', 'intermediate', 'staging')
              and data_type in ('text', 'character varying')""").fetchall()
        found = []
        for schema, table, column in columns:
            values = conn.execute(sql.SQL("select distinct {c}::text from {s}.{t} where {c} ~ '^[0-9]{{16}}$'").format(
                c=sql.Identifier(column), s=sql.Identifier(schema), t=sql.Identifier(table))).fetchall()
            hits = {v[0] for v in values} & niks
            if hits:
                found.append((schema, table, column, len(hits)))
    assert len(niks) > 1000
    assert found == []


def test_a_regional_role_sees_no_row_of_another_province_in_any_mart(defective_warehouse):
    role = access.add_province_role(defective_warehouse, PROVINCE)
    assert access.add_province_role(defective_warehouse, PROVINCE) == role  # idempotent
    checked = {}
    for table in _tables(defective_warehouse, "marts"):
        with psycopg.connect(defective_warehouse) as conn:
            cols = [r[0] for r in conn.execute("select column_name from information_schema.columns "
                                               "where table_schema = 'marts' and table_name = %s", (table,))]
        column = next((c for c in ("province_code", "regency_code", "region_code", "region") if c in cols), None)
        if column:
            seen = _as(defective_warehouse, role,
                       sql.SQL("select left({c}, 2), count(*) from marts.{t} group by 1").format(
                           c=sql.Identifier(column), t=sql.Identifier(table)))
        elif "branch_code" in cols:
            seen = _as(defective_warehouse, role, sql.SQL(
                "select b.province_code, count(*) from marts.{t} as f "
                "left join marts.dim_branch as b using (branch_code) group by 1").format(t=sql.Identifier(table)))
        else:
            assert table in NOT_REGIONAL, f"marts.{table} has no province column and no row-level security"
            continue
        checked[table] = dict(seen)
    leaks = {t: sorted(p for p in seen if p != PROVINCE) for t, seen in checked.items() if set(seen) - {PROVINCE}}
    assert leaks == {}
    # It does see its own province's rows (the policy is not simply empty) in the main marts.
    for table in ("fct_metrics", "fct_cooperative_coverage", "fct_kur_coverage", "dim_region", "fct_contributions"):
        assert checked[table].get(PROVINCE, 0) > 0, table
    # And a national analyst sees other provinces in the same tables.
    provinces = {r[0] for r in _as(defective_warehouse, access.ANALYST,
                                   "select distinct left(region, 2) from marts.fct_metrics")}
    assert {PROVINCE, "ID"} < provinces and len(provinces) > 2


def test_the_regional_role_is_refused_the_audit_evidence(defective_warehouse):
    role = access.add_province_role(defective_warehouse, PROVINCE)
    assert _refused(defective_warehouse, role, "select 1 from audit.load")
    assert _refused(defective_warehouse, role, "select 1 from published.fct_metrics_published")
    assert re.fullmatch(r"sinergi_wilayah_\d{2}", role)
