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


BRANCH = "K1301"  # Kota Surabaya (35.78); the other branch of Jawa Timur, K1305, serves 35.13


def test_a_branch_role_sees_only_its_service_area_in_every_mart(defective_warehouse):
    role = access.add_branch_role(defective_warehouse, BRANCH.lower())
    assert role == "sinergi_cabang_k1301" and access.add_branch_role(defective_warehouse, BRANCH) == role
    area = {r[0] for r in _as(defective_warehouse, access.ANALYST,
                              "select regency_code from marts.dim_branch_area where branch_code = %s", (BRANCH,))}
    assert area == {"35.78"}
    leaks, seen = {}, {}
    for table in _tables(defective_warehouse, "marts"):
        with psycopg.connect(defective_warehouse) as conn:
            cols = [r[0] for r in conn.execute("select column_name from information_schema.columns "
                                               "where table_schema = 'marts' and table_name = %s", (table,))]
        t = sql.Identifier(table)
        if table in ("dim_branch", "dim_branch_area") or ("branch_code" in cols and "regency_code" not in cols):
            found = {r[0] for r in _as(defective_warehouse, role, sql.SQL("select distinct branch_code from marts.{}").format(t))}
            bad = found - {BRANCH}
        elif column := next((c for c in ("regency_code", "region_code", "region") if c in cols), None):
            found = {r[0] for r in _as(defective_warehouse, role,
                                       sql.SQL("select distinct {} from marts.{}").format(sql.Identifier(column), t))}
            bad = found - area                      # never a province's or the nation's total, never 35.13
        elif "sender_region" in cols:
            found = {tuple(r) for r in _as(defective_warehouse, role, sql.SQL(
                "select distinct sender, unit, sender_region from marts.{}").format(t))}
            bad = {f for f in found if f[2] != "ID" and (f[0], f[1]) != ("bpjstk", BRANCH)}
        elif "province_code" in cols:               # province-level aggregates only: none of them
            found = {r[0] for r in _as(defective_warehouse, role, sql.SQL("select province_code from marts.{}").format(t))}
            bad = found
        else:
            continue
        seen[table] = found
        if bad:
            leaks[table] = sorted(map(str, bad))[:5]
    assert leaks == {}
    for table in ("fct_metrics", "fct_cooperative_coverage", "dim_region", "fct_contributions", "dim_branch_area"):
        assert seen[table], table                   # the policies are not simply empty
    assert _as(defective_warehouse, role, "select count(*) from marts.fct_metrics where region in ('35', '35.13', 'ID')") == [(0,)]
    assert _refused(defective_warehouse, role, "select 1 from audit.load")
    assert _refused(defective_warehouse, role, "select 1 from published.fct_metrics_published")


def test_every_mart_with_row_level_security_has_a_rule_for_the_branch_roles(defective_warehouse):
    with psycopg.connect(defective_warehouse) as conn:
        rows = conn.execute("""
            select c.relname, c.relrowsecurity,
                array(select p.policyname from pg_policies p where p.schemaname = 'marts' and p.tablename = c.relname
                      and 'sinergi_branch' = any(p.roles)) as branch,
                array(select distinct r from pg_policies p, unnest(p.roles) r
                      where p.schemaname = 'marts' and p.tablename = c.relname) as readers
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'marts' and c.relkind in ('r', 'p')""").fetchall()
    missing = [name for name, rls, branch, readers in rows
               if rls and branch != ["cabang"] and readers != ["sinergi_auditor"]]   # the auditors-only queue
    assert missing == []
    assert {name for name, rls, *_ in rows if not rls} <= NOT_REGIONAL


def test_an_unknown_branch_is_refused_in_bahasa(defective_warehouse):
    with pytest.raises(access.UnknownBranch, match="Kantor cabang K9999 tidak dikenal di gudang data"):
        access.add_branch_role(defective_warehouse, "K9999")
    with psycopg.connect(defective_warehouse) as conn:
        assert conn.execute("select count(*) from pg_roles where rolname = 'sinergi_cabang_k9999'").fetchone() == (0,)
