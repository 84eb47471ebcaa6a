"""DDL for the raw layer, the load ledger (`audit`) and the personal-data vault, from the contracts.

Every statement is idempotent: `ensure()` runs before each load, and a contract that gains a column
gains it in its raw table.
"""
from __future__ import annotations

from .contracts import Contracts, Feed

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
-- Plain NIKs and names live here only; everything else carries the token (UU 27/2022).
create table if not exists vault.person (
    load_id bigint not null,
    line integer not null,
    feed text not null,
    nik_token text,
    nik text,
    nama text
);
-- Looked up by token only (equality): a hash index costs a COPY ~40% less than a btree.
create index if not exists person_token on vault.person using hash (nik_token);
-- Read by batch: a month's build reads only the blocks of the batches loaded since its first one.
create index if not exists person_load on vault.person using brin (load_id);
create table if not exists vault.quarantine_text (
    load_id bigint not null,
    line integer not null,
    raw_text text,
    primary key (load_id, line)
);
-- What matching needs from the vault: the name and the two halves of the NIK that tell a typing slip
-- from another person (a hash of the district-and-birth digits, and the serial), never the NIK.
create or replace view vault.person_for_matching as
select load_id, line, feed, nik_token, nama, md5(left(nik, 12)) as nik_prefix_hash,
    substr(nik, 13, 4) as nik_serial
from vault.person;
-- The name behind a token, for the drill-downs of the roles allowed to see names (auditors).
create or replace view vault.person_names as
select distinct on (nik_token) nik_token, nama from vault.person
where nik_token is not null and nama is not null
order by nik_token, load_id desc, line;
grant select on vault.person_for_matching to sinergi_transformer;
grant select on vault.person_names to sinergi_auditor;
"""


def raw_columns(feed: Feed) -> list[tuple[str, str]]:
    """(name, SQL type) of the stored columns, in COPY order (after _load_id, _file, _line)."""
    out = []
    for col in feed.columns.values():
        if col.stored_as:
            out.append((col.stored_as, SQL_TYPES.get(col.type, "text")))
    return out


def raw_table(feed: Feed) -> str:
    cols = ",\n    ".join(f"{n} {t}" for n, t in raw_columns(feed))
    adds = "\n".join(f"alter table {feed.table} add column if not exists {n} {t};" for n, t in raw_columns(feed))
    return f"""
create schema if not exists {feed.schema};
create table if not exists {feed.table} (
    _load_id bigint not null,
    _file text not null,
    _line integer not null,
    {cols}
);
{adds}
create index if not exists {feed.name}_load on {feed.table} using brin (_load_id);
"""


def _complete(conn, contracts: Contracts) -> bool:
    """Every raw column and the ledger already exist (read from the catalogue, without locks)."""
    wanted = {(f.schema, f.name, c) for f in contracts.feeds.values() for c, _ in raw_columns(f)}
    wanted |= {("audit", "load", "moved_at"), ("audit", "load", "quality_reason"), ("audit", "correction", "note"),
               ("audit", "expectation_result", "run_id"),
               ("vault", "quarantine_text", "raw_text"), ("vault", "person_for_matching", "nik_serial"),
               ("vault", "person_names", "nama")}
    found = set(conn.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = any(%s)", ([s for s, _, _ in wanted],)).fetchall())
    indexes = {r[0] for r in conn.execute(
        "select indexname from pg_indexes where schemaname = 'vault'").fetchall()}
    return wanted <= found and "person_load" in indexes


def summarise_new_ranges(conn, feed: Feed) -> None:
    """Summarise the block ranges written since the last summary in the BRIN indexes a batch's rows went
    into. A BRIN index lists unsummarised ranges as matching every lookup, so until autovacuum gets to
    them the warehouse's read of one month's batches would scan every recent block."""
    for index in (f"{feed.schema}.{feed.name}_load", "vault.person_load"):
        conn.execute("select brin_summarize_new_values(%s::regclass)", (index,))


def ensure(conn, contracts: Contracts) -> None:
    """Create or complete every schema and table (safe to run concurrently and repeatedly).

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
