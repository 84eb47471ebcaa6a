"""DDL for the raw layer, the load ledger (`audit`) and the personal-data vault, from the contracts.

Every statement is idempotent: `ensure()` runs before each load, and a contract that gains a column
gains it in its raw table.
"""
from __future__ import annotations

import hashlib

from . import vault_migration
from .contracts import IDENTITY, Contracts, Feed
from .pseudonym import Pseudonymiser

SQL_TYPES = {"date": "date", "timestamp": "timestamp", "month": "date", "amount": "numeric(18,2)",
             "int": "bigint", "rate": "numeric(6,2)"}

AUDIT = """
create schema if not exists audit;
create schema if not exists vault;
create sequence if not exists audit.load_id_seq;
create table if not exists audit.load (
    load_id bigint primary key,
    sender text not null,
    unit text not null,
    feed text,
    period text,
    file text not null,
    size_bytes bigint not null,
    sha256 text not null,
    received_at timestamptz not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    rows_read bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_quarantined bigint not null default 0,
    status text not null check (status in ('loaded', 'duplicate', 'superseded', 'rejected', 'held')),
    reason_code text,
    reason text,
    repairs text[] not null default '{}',
    control_totals jsonb,
    amounts_loaded jsonb,
    notes text,
    duplicate_of bigint references audit.load,
    superseded_by bigint references audit.load,
    archived_to text,
    quality text not null default 'pending'
        check (quality in ('pending', 'passed', 'warning', 'failed', 'none', 'error')),
    loader_version text not null,
    constraint rows_add_up check (status not in ('loaded', 'superseded')
                                  or rows_read = rows_loaded + rows_quarantined)
);
-- When the file left the landing folder: a ledger row without it was interrupted before its move.
-- Ledgers older than the column moved their files right after each commit: they count as moved.
do $$ begin
    if not exists (select 1 from information_schema.columns
                   where table_schema = 'audit' and table_name = 'load' and column_name = 'moved_at') then
        alter table audit.load add column moved_at timestamptz;
        update audit.load set moved_at = finished_at where archived_to is not null;
    end if;
end $$;
-- Why a batch's checks could not run (quality `error`: re-run by `sinergi check`), or what they left out
-- (the expectations an empty batch cannot meet). Older ledgers gain the column and the `error` value.
alter table audit.load add column if not exists quality_reason text;
do $$ begin
    if not exists (select 1 from pg_constraint where conrelid = 'audit.load'::regclass
                   and conname = 'load_quality_check' and pg_get_constraintdef(oid) like '%''error''%') then
        alter table audit.load drop constraint if exists load_quality_check;
        alter table audit.load add constraint load_quality_check
            check (quality in ('pending', 'passed', 'warning', 'failed', 'none', 'error'));
    end if;
end $$;
create index if not exists load_sha256 on audit.load (sha256);
create index if not exists load_family on audit.load (sender, unit, feed, period);
create table if not exists audit.quarantine (
    load_id bigint not null references audit.load deferrable initially deferred,
    line integer not null,
    reason text not null,
    column_name text,
    message text not null,
    primary key (load_id, line)
);
create table if not exists audit.repair (
    load_id bigint not null references audit.load deferrable initially deferred,
    line integer not null,
    column_name text not null,
    kind text not null,
    before text,
    after text
);
create index if not exists repair_load on audit.repair (load_id);
create table if not exists audit.release (
    sha256 text primary key,
    released_at timestamptz not null default now(),
    note text not null
);
-- A quarantined row an engineer corrected (`sinergi quarantine correct`), beside the row it answers;
-- the corrected delivery is a new file of the family, loaded like any re-delivery.
create table if not exists audit.correction (
    load_id bigint not null references audit.load,
    line integer not null,
    corrected_text text not null,
    corrected_file text not null,
    corrected_sha256 text not null,
    note text not null,
    made_by text not null default current_user,
    made_at timestamptz not null default now(),
    primary key (load_id, line, corrected_sha256)
);
create index if not exists correction_sha256 on audit.correction (corrected_sha256);
create table if not exists audit.expectation_result (
    load_id bigint not null references audit.load deferrable initially deferred,
    suite text not null,
    expectation text not null,
    column_name text,
    critical boolean not null,
    success boolean not null,
    observed text,
    run_id text not null,
    run_at timestamptz not null default now()
);
create index if not exists expectation_result_load on audit.expectation_result (load_id);
-- Auditors' decisions on candidate person links (the dashboard's review queue, "Tinjauan tautan"):
-- append-only; the latest per (record_feed, record_key, kpj) wins over the linkage model in the next build
-- (`terima` links the pair, `tolak` excludes that candidate). Auditors insert through the dashboard; nobody
-- updates or deletes (the owner, the loader role, aside).
create table if not exists audit.link_decision (
    decision_id bigserial primary key,
    record_feed text not null,
    record_key text not null,
    kpj text not null,
    decision text not null check (decision in ('terima', 'tolak')),
    note text,
    decided_by text not null,
    decided_at timestamptz not null default now()
);
-- Where on the dashboard the decision was made: the queue (`ragu`, `konflik`) or the clerical samples
-- (`sampel_tautan`: an automatic link, `sampel_bukan_tautan`: a non-link with a candidate), from which the
-- linkage quality report estimates precision and recall; null for a decision made elsewhere.
alter table audit.link_decision add column if not exists review_kind text;
do $$ begin
    if not exists (select 1 from pg_constraint where conrelid = 'audit.link_decision'::regclass
                   and conname = 'link_decision_review_kind_check') then
        alter table audit.link_decision add constraint link_decision_review_kind_check
            check (review_kind in ('ragu', 'konflik', 'sampel_tautan', 'sampel_bukan_tautan'));
    end if;
end $$;
create index if not exists link_decision_pair on audit.link_decision (record_feed, record_key, kpj, decision_id);
grant insert on audit.link_decision to sinergi_auditor;
grant usage on sequence audit.link_decision_decision_id_seq to sinergi_auditor;
-- Plain NIKs and names live here only; everything else carries the token (UU 27/2022). One row per NIK
-- and spelling of a name (its key, `identity`, is what a raw row of a person feed carries in `_identity`):
-- a monthly snapshot re-delivers nearly everyone, and the vault receives only the people and spellings it
-- does not hold yet. `first_load_id`: the batch that brought it first.
create table if not exists vault.identity (
    identity uuid primary key,
    nik_token text,
    nik text,
    nama text,
    first_load_id bigint not null
);
-- Looked up by token only (equality): a hash index is smaller and cheaper to maintain than a btree.
create index if not exists identity_token on vault.identity using hash (nik_token);
create table if not exists vault.quarantine_text (
    load_id bigint not null,
    line integer not null,
    raw_text text,
    primary key (load_id, line)
);
-- Marks a change of the stored layout after which the warehouse's month-keyed models are rebuilt once in
-- full (the build clears `rebuilt_at`): a migration that rewrote tokens leaves earlier months stale.
create table if not exists audit.layout_change (
    name text primary key,
    migrated_at timestamptz not null default now(),
    rebuilt_at timestamptz
);
"""


VAULT_INCOMING = "pg_temp.vault_incoming"
# A load's vault rows wait here (no WAL, no index) until the new ones move on; the table goes with the
# transaction.
VAULT_INCOMING_TABLE = ("create temp table if not exists vault_incoming (identity uuid, nik_token text, nik text, "
                        "nama text) on commit drop")
# The new ones move on in key order (the primary key's pages are met in order) with plain inserts: an anti-join,
# not `on conflict`, whose speculative insertion per row cost twice as much. Loads of different senders
# may bring the same person: the lock (held to the commit) makes the second see what the first added.
VAULT_LOCK = "select pg_advisory_xact_lock(hashtext('sinergi.vault'))"
VAULT_ADD_NEW = (f"insert into vault.identity (identity, nik_token, nik, nama, first_load_id) "
                 f"select distinct on (identity) identity, nik_token, nik, nama, %(load_id)s from {VAULT_INCOMING} as i "
                 f"where not exists (select from vault.identity as v where v.identity = i.identity) order by identity")


def vault_views(contracts: Contracts) -> str:
    """The vault's per-record views, over the person feeds' raw rows (their `_identity`) and the vault:
    what dbt, the review queue and the report read, unchanged by the vault keeping each person once.
    A filter on `load_id` reaches every raw table's BRIN index."""
    records = "\nunion all\n".join(
        f"select _load_id as load_id, _line as line, '{f.name}'::text as feed, {IDENTITY} as identity "
        f"from {f.table} where {IDENTITY} is not null"
        for f in sorted(contracts.feeds.values(), key=lambda f: f.name) if f.nik_column)
    return f"""
create or replace view vault.person_records as
{records};
-- What matching needs from the vault: the name, never the NIK. `nik_sex`: the sex the NIK's day digits
-- carry (day + 40 for women: `P`, else `L`; NULL when the NIK is not 16 digits or its day is impossible),
-- for the linkage report's bias check: the UMKM and KUR feeds have no sex column. One letter, not a digit.
create or replace view vault.person_for_matching as
select r.load_id, r.line, r.feed, i.nik_token, i.nama,
    case when i.nik !~ '^[0-9]{{16}}$' then null
         when substr(i.nik, 7, 2)::int between 41 and 71 then 'P'
         when substr(i.nik, 7, 2)::int between 1 and 31 then 'L' end as nik_sex
from vault.person_records as r join vault.identity as i using (identity);
-- How far apart two tokens' NIKs are: 0 the same, 1 one keystroke (one digit wrong, or two digits
-- swapped), else the number of digits that differ; NULL unless both are 16 digits. The evidence that one
-- NIK is a slip of another, without the NIK leaving the vault: it runs as the vault's owner, and the
-- transformer learns a distance between two pseudonyms it already holds, never a digit.
create or replace function vault.nik_distance(a text, b text) returns integer
language sql stable parallel safe security definer set search_path = pg_catalog, pg_temp as $fn$
    select case
        when d.positions is null then null
        when cardinality(d.positions) = 2
             and substr(d.x, d.positions[1], 1) = substr(d.y, d.positions[2], 1)
             and substr(d.x, d.positions[2], 1) = substr(d.y, d.positions[1], 1) then 1
        else cardinality(d.positions)
    end
    from (
        select x.nik as x, y.nik as y,
               case when x.nik ~ '^[0-9]{{16}}$' and y.nik ~ '^[0-9]{{16}}$' then
                   array(select i from generate_series(1, 16) as i where substr(x.nik, i, 1) <> substr(y.nik, i, 1))
               end as positions
        from (select nik from vault.identity where nik_token = a limit 1) as x,
             (select nik from vault.identity where nik_token = b limit 1) as y
    ) as d
$fn$;
revoke all on function vault.nik_distance(text, text) from public;
-- The name behind a token, for the drill-downs of the roles allowed to see names (auditors): the spelling
-- the vault learnt last.
create or replace view vault.person_names as
select distinct on (nik_token) nik_token, nama from vault.identity
where nik_token is not null and nama is not null
order by nik_token, first_load_id desc, nama;
grant select on vault.person_for_matching to sinergi_transformer;
grant execute on function vault.nik_distance(text, text) to sinergi_transformer;
-- The name on one delivered record (by its batch and line), for the auditors' review of candidate links:
-- a conflict is one token with two people behind it, so the name by token alone cannot show both.
create or replace view vault.record_names as
select load_id, line, feed, nik_token, nama from vault.person_for_matching;
-- Every delivered record with its plain NIK and name, for the loader role only (engineers tracing a record,
-- the staging copy's checks): what the vault held per record before it kept each person once.
create or replace view vault.person as
select r.load_id, r.line, r.feed, i.nik_token, i.nik, i.nama
from vault.person_records as r join vault.identity as i using (identity);
-- The name on one record, as `vault.record_names` gives it, found through the token's hash index when the
-- token has one spelling (nearly always); only a token with several (a conflict, a renamed person) or none
-- (a blank NIK) reads the record's batch. The review queue asks this for every row it shows.
create or replace function vault.record_name(token text, batch bigint, record_line integer) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $fn$
    select coalesce(
        (select min(nama) from vault.identity where token is not null and nik_token = token having count(*) = 1),
        (select nama from vault.record_names
         where load_id = batch and line = record_line and nik_token is not distinct from token limit 1))
$fn$;
revoke all on function vault.record_name(text, bigint, integer) from public;
grant select on vault.person_names to sinergi_auditor;
grant select on vault.record_names to sinergi_auditor;
grant execute on function vault.record_name(text, bigint, integer) to sinergi_auditor;
"""


def raw_columns(feed: Feed) -> list[tuple[str, str]]:
    """(name, SQL type) of the stored columns, in COPY order (after _load_id, _line)."""
    out = []
    for col in feed.columns.values():
        if col.stored_as:
            out.append((col.stored_as, SQL_TYPES.get(col.type, "text")))
        if col.bad_date_flag:
            out.append((col.bad_date_flag, "boolean"))
    if feed.nik_column:
        out.append((IDENTITY, "uuid"))
    return out


def raw_table(feed: Feed) -> str:
    cols = ",\n    ".join(f"{n} {t}" for n, t in raw_columns(feed))
    adds = "\n".join(f"alter table {feed.table} add column if not exists {n} {t};" for n, t in raw_columns(feed))
    return f"""
create schema if not exists {feed.schema};
create table if not exists {feed.table} (
    _load_id bigint not null,
    _line integer not null,
    {cols}
);
{adds}
-- Migration: raw rows carry their load id only; the file's name is the ledger's (audit.load.file).
alter table {feed.table} drop column if exists _file;
create index if not exists {feed.name}_load on {feed.table} using brin (_load_id);
"""


def _complete(conn, contracts: Contracts) -> bool:
    """Every raw column and the ledger already exist (read from the catalogue, without locks)."""
    wanted = {(f.schema, f.name, c) for f in contracts.feeds.values() for c, _ in raw_columns(f)}
    wanted |= {("audit", "load", "moved_at"), ("audit", "load", "quality_reason"), ("audit", "correction", "note"),
               ("audit", "expectation_result", "run_id"),
               ("audit", "link_decision", "review_kind"), ("audit", "layout_change", "rebuilt_at"),
               ("vault", "quarantine_text", "raw_text"), ("vault", "identity", "first_load_id"),
               ("vault", "person_for_matching", "nama"), ("vault", "person_for_matching", "nik_sex"),
               ("vault", "person_names", "nama"), ("vault", "record_names", "nama")}
    found = set(conn.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = any(%s)", ([s for s, _, _ in wanted],)).fetchall())
    stale = vault_migration.needed(conn) or any(
        column == "_file" for schema, _, column in found if schema.startswith("raw_"))  # before the migration
    views = conn.execute("select obj_description(to_regclass('vault.person_records'), 'pg_class')").fetchone()[0]
    return wanted <= found and not stale and views == _views_version(contracts)


def _views_version(contracts: Contracts) -> str:
    """The vault views are made from the contracts (one branch per person feed): a digest of their text
    tells whether the ones in the database are current."""
    return hashlib.sha256(vault_views(contracts).encode()).hexdigest()[:16]


def summarise_new_ranges(conn, feed: Feed) -> None:
    """Summarise the block ranges written since the last summary in the BRIN index a batch's rows went
    into. A BRIN index lists unsummarised ranges as matching every lookup, so until autovacuum gets to
    them the warehouse's read of one month's batches would scan every recent block."""
    conn.execute("select brin_summarize_new_values(%s::regclass)", (f"{feed.schema}.{feed.name}_load",))


def ensure(conn, contracts: Contracts, pseudonymiser: Pseudonymiser | None = None) -> None:
    """Create or complete every schema and table (safe to run concurrently and repeatedly), and migrate a
    warehouse of an older layout once (vault_migration: it needs the pseudonym key).

    DDL runs only when something is missing: `alter table` takes an exclusive lock even when it has
    nothing to do, and would deadlock with another sender's load running at the same time.
    """
    if _complete(conn, contracts):
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('sinergi.schema'))")
        if _complete(conn, contracts):
            return
        conn.execute(AUDIT)
        for feed in contracts.feeds.values():
            conn.execute(raw_table(feed))
        if vault_migration.needed(conn):
            vault_migration.migrate(conn, contracts, pseudonymiser)
        conn.execute(vault_views(contracts))
        conn.execute(f"comment on view vault.person_records is '{_views_version(contracts)}'")
