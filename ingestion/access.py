"""Database roles and what each may read (UU 27/2022: each role gets only what it needs).

`ensure()` runs as the database's administrator (the login in WAREHOUSE_URL) and is idempotent; every
connection the project makes then assumes a role, so the database, not the code, decides what a job
or a dashboard user can see:

- `sinergi_loader` owns the raw layer, the ledger (`audit`) and the vault (plain NIKs and names);
- `sinergi_transformer` (dbt) reads raw and audit, and of the vault only the matching view
  (names and NIK halves, never a plain NIK); it owns the warehouse schemas;
- `sinergi_analyst` reads the marts;
- `sinergi_auditor` reads the marts and the evidence: ledger, quarantine, expectation results,
  identity links, published metrics, reference data, and the names behind tokens;
- `sinergi_regional` is the group of the province roles `sinergi_wilayah_<PP>`: the marts, limited by
  row-level security to the provinces in `access.regional_scope`;
- `sinergi_branch` is the group of the branch-office roles `sinergi_cabang_<kode>`: the marts, limited by
  row-level security to the branch in `access.branch_scope` and the regencies/cities of its service area
  (`marts.dim_branch_area`);
- `sinergi_web` is the dashboard's login: NOINHERIT, so it can read nothing until it sets the role of
  the user it serves.
"""
from __future__ import annotations

import random
import re
import time
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

LOADER, TRANSFORMER = "sinergi_loader", "sinergi_transformer"
ANALYST, AUDITOR, REGIONAL, WEB = "sinergi_analyst", "sinergi_auditor", "sinergi_regional", "sinergi_web"
BRANCH = "sinergi_branch"
READER_ROLES = (ANALYST, AUDITOR, REGIONAL, BRANCH)

RAW_SCHEMAS = ("raw_kemenkop", "raw_bpjstk", "raw_himbara")
LOADER_SCHEMAS = (*RAW_SCHEMAS, "audit", "vault")
TRANSFORMER_SCHEMAS = ("reference", "staging", "restricted", "intermediate", "identity", "marts", "published")
# Who reads which schema besides its owner.
READERS = {
    **{s: (TRANSFORMER,) for s in RAW_SCHEMAS},
    "audit": (TRANSFORMER, AUDITOR),
    "marts": (ANALYST, AUDITOR, REGIONAL, BRANCH),
    "published": (AUDITOR,),
    "identity": (AUDITOR,),
    "reference": (AUDITOR,),
}
T = TypeVar("T")
PROVINCE_ROLE = re.compile(r"^sinergi_wilayah_(\d{2})$")
# A BPJS Ketenagakerjaan branch office's code (K1301) and its role (sinergi_cabang_k1301: role names are
# lower case, the code is kept as written in access.branch_scope).
BRANCH_CODE = re.compile(r"^[A-Z][0-9]{4}$")
BRANCH_ROLE = re.compile(r"^sinergi_cabang_([a-z][0-9]{4})$")


ACCESS_SCHEMA = """
create schema if not exists access;
create table if not exists access.regional_scope (
    role_name text primary key,
    province_code text not null check (province_code ~ '^[0-9]{2}$')
);
-- The provinces the current role may see rows of (row-level security policies call this).
create or replace function access.visible_provinces() returns setof text
language sql stable as $$
    select province_code from access.regional_scope where pg_has_role(current_user, role_name, 'member')
$$;
create table if not exists access.branch_scope (
    role_name text primary key,
    branch_code text not null check (branch_code ~ '^[A-Z][0-9]{4}$')
);
-- The branch offices the current role may see rows of (row-level security policies call this).
create or replace function access.visible_branches() returns setof text
language sql stable as $$
    select branch_code from access.branch_scope where pg_has_role(current_user, role_name, 'member')
$$;
-- The regencies/cities of those branches' service areas. PL/pgSQL, so that the function can exist before
-- the warehouse is built (its body is checked when it runs); it reads marts.dim_branch_area as the caller,
-- whose row-level security there follows visible_branches().
create or replace function access.visible_regencies() returns setof text
language plpgsql stable as $$
begin
    return query select a.regency_code::text from marts.dim_branch_area as a
        where a.branch_code in (select access.visible_branches());
end
$$;
"""


def role_url(url: str, role: str) -> str:
    """The URL with the role set at connection start (libpq `options`), for SQLAlchemy and psql."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"] + [("options", f"-c role={role}")]
    return urlunsplit(parts._replace(query=urlencode(query)))


_ready: set[str] = set()


def connect(url: str, role: str, **kwargs) -> psycopg.Connection:
    """A connection acting as `role`, after making sure the roles exist (once per process and URL)."""
    if url not in _ready:
        ensure(url)
        _ready.add(url)
    conn = psycopg.connect(url, **kwargs)
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    if not kwargs.get("autocommit"):
        conn.commit()
    return conn


# Roles and memberships belong to the whole server, while an advisory lock holds in one database only:
# two databases of one server (two warehouses, parallel test databases) can still race on them. The loser
# of such a race gets one of these; the whole set-up then runs again, and finds the work done.
RACE_STATES = {"23505",  # unique_violation: pg_authid / pg_auth_members rows inserted by another session
               "42710",  # duplicate_object: the role exists already
               "40P01",  # deadlock_detected
               "40001"}  # serialization_failure
ATTEMPTS = 8
LOCK = "select pg_advisory_xact_lock(hashtext('sinergi.access'))"


def _raced(exc: Exception) -> bool:
    state = getattr(exc, "sqlstate", None)
    # XX000 "tuple concurrently updated": two sessions granting on the same catalogue row at once.
    return state in RACE_STATES or (state == "XX000" and "concurrently" in str(exc))


def _retrying(url: str, work: Callable[[psycopg.Connection], T]) -> T:
    """Run `work` in one transaction holding this database's access lock; again, after a short random
    pause, when another session (of this database or another one) raced it on the server's roles."""
    for attempt in range(ATTEMPTS):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                with conn.transaction():
                    conn.execute(LOCK)
                    return work(conn)
        except psycopg.Error as exc:
            if attempt == ATTEMPTS - 1 or not _raced(exc):
                raise
            time.sleep(min(2.0, 0.05 * 2 ** attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def _create_role(conn, name: str, options: str, member_of: tuple[str, ...] = ()) -> None:
    """Create the role unless it exists, and make it a member of each group it is not yet in (run under the
    access lock, inside the set-up transaction)."""
    if not conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("create role {} " + options).format(sql.Identifier(name)))
    for group in member_of:
        _grant_role(conn, group, name)


def _grant_role(conn, group: str, member: str) -> None:
    if not conn.execute("select 1 from pg_auth_members a join pg_roles g on g.oid = a.roleid "
                        "join pg_roles m on m.oid = a.member where g.rolname = %s and m.rolname = %s",
                        (group, member)).fetchone():
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(member)))


def _roles(conn) -> None:
    for role in (LOADER, TRANSFORMER, *READER_ROLES):
        _create_role(conn, role, "nologin")
    _create_role(conn, WEB, "login noinherit", member_of=READER_ROLES)


def _acting_as_role(conn) -> bool:
    """True when the login is itself one of the project roles (a deployment): nothing to administer."""
    user = conn.execute("select current_user").fetchone()[0]
    return user.startswith("sinergi_")


def ensure(url: str) -> None:
    """Create the roles, schemas, ownership and grants (idempotent; safe to run concurrently, also from
    several databases of one server): everything in one transaction under this database's access lock,
    run again when a session of another database raced it on the roles."""
    with psycopg.connect(url, autocommit=True) as conn:
        if _acting_as_role(conn):
            return

    def work(conn) -> None:
        _roles(conn)
        _database(conn)
        _schemas(conn)
        _fix_owners(conn)
        _grants(conn)

    _retrying(url, work)


def _database(conn) -> None:
    db = sql.Identifier(conn.info.dbname)
    conn.execute(sql.SQL("revoke all on database {} from public").format(db))
    conn.execute(sql.SQL("grant connect, temporary on database {} to {}").format(
        db, sql.SQL(", ").join(map(sql.Identifier, (LOADER, TRANSFORMER, *READER_ROLES, WEB)))))
    conn.execute(sql.SQL("grant create on database {} to {}, {}").format(
        db, sql.Identifier(LOADER), sql.Identifier(TRANSFORMER)))
    # Matching by name needs these; both are trusted extensions, but create them once here.
    conn.execute("create extension if not exists pg_trgm")
    conn.execute("create extension if not exists fuzzystrmatch")
    conn.execute("revoke create on schema public from public")


def _schemas(conn) -> None:
    for schemas, owner in ((LOADER_SCHEMAS, LOADER), (TRANSFORMER_SCHEMAS, TRANSFORMER)):
        for schema in schemas:
            conn.execute(sql.SQL("create schema if not exists {s} authorization {o}; alter schema {s} owner to {o}")
                         .format(s=sql.Identifier(schema), o=sql.Identifier(owner)))
    conn.execute(ACCESS_SCHEMA)


def _fix_owners(conn) -> None:
    """Objects made before the roles existed (an older warehouse) pass to the role that owns their schema."""
    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "S": "sequence"}
    rows = conn.execute("""
        select n.nspname, c.relname, c.relkind,
            case when n.nspname = any(%s) then %s else %s end as owner
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind = any(%s)
          and pg_get_userbyid(c.relowner) <> case when n.nspname = any(%s) then %s else %s end
          -- a sequence owned by a column follows its table
          and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i'))
    """, (list(LOADER_SCHEMAS), LOADER, TRANSFORMER, list(LOADER_SCHEMAS + TRANSFORMER_SCHEMAS),
          list(kinds), list(LOADER_SCHEMAS), LOADER, TRANSFORMER)).fetchall()
    for schema, name, kind, owner in rows:
        conn.execute(sql.SQL("alter {} {}.{} owner to {}").format(
            sql.SQL(kinds[kind]), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)))


def _grants(conn) -> None:
    owner_of = {**{s: LOADER for s in LOADER_SCHEMAS}, **{s: TRANSFORMER for s in TRANSFORMER_SCHEMAS}}
    for schema, readers in READERS.items():
        ids = sql.SQL(", ").join(map(sql.Identifier, readers))
        s, o = sql.Identifier(schema), sql.Identifier(owner_of[schema])
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, ids))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, ids))
        conn.execute(sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}")
                     .format(o, s, ids))
    # The vault: its owner grants the transformer the matching view and the auditor names by token.
    conn.execute("grant usage on schema vault to sinergi_transformer, sinergi_auditor")
    # The dashboard's login reads its accounts (access.web_user) before it sets any user's role.
    conn.execute("grant usage on schema access to sinergi_regional, sinergi_branch, sinergi_transformer, sinergi_web")
    conn.execute("grant select on access.regional_scope to sinergi_regional, sinergi_auditor")
    conn.execute("grant select on access.branch_scope to sinergi_branch, sinergi_auditor")
    conn.execute("grant execute on function access.visible_provinces(), access.visible_branches(), "
                 "access.visible_regencies() to sinergi_regional, sinergi_branch, sinergi_transformer")


def add_province_role(url: str, province_code: str) -> str:
    """The role of a regional analyst limited to one province (created if missing)."""
    if not re.fullmatch(r"\d{2}", province_code):
        raise ValueError(f"Kode provinsi harus dua angka (mis. 35), bukan {province_code!r}.")
    ensure(url)
    role = f"sinergi_wilayah_{province_code}"

    def work(conn) -> None:
        _create_role(conn, role, "nologin", member_of=(REGIONAL,))
        _grant_role(conn, role, WEB)
        conn.execute("insert into access.regional_scope values (%s, %s) "
                     "on conflict (role_name) do update set province_code = excluded.province_code",
                     (role, province_code))

    _retrying(url, work)
    return role


class UnknownBranch(ValueError):
    """A branch code that is malformed or that the warehouse does not know (message in Bahasa)."""


def known_branches(url: str) -> list[str] | None:
    """The branch offices of the built warehouse (`marts.dim_branch`), or None before the first build."""
    with psycopg.connect(url) as conn:
        if not conn.execute("select to_regclass('marts.dim_branch') is not null").fetchone()[0]:
            return None
        return [r[0] for r in conn.execute("select branch_code from marts.dim_branch order by 1")]


def add_branch_role(url: str, branch_code: str) -> str:
    """The role of a BPJS Ketenagakerjaan branch office limited to its service area (created if missing).
    The code must be a branch the warehouse knows (`marts.dim_branch`), once it has been built."""
    code = (branch_code or "").strip().upper()
    if not BRANCH_CODE.match(code):
        raise UnknownBranch(f"Kode kantor cabang harus satu huruf dan empat angka (mis. K1301), bukan {branch_code!r}.")
    ensure(url)
    known = known_branches(url)
    if known is not None and code not in known:
        shown = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        raise UnknownBranch(f"Kantor cabang {code} tidak dikenal di gudang data. Kantor cabang yang ada: {shown}.")
    role = f"sinergi_cabang_{code.lower()}"

    def work(conn) -> None:
        _create_role(conn, role, "nologin", member_of=(BRANCH,))
        _grant_role(conn, role, WEB)
        conn.execute("insert into access.branch_scope values (%s, %s) "
                     "on conflict (role_name) do update set branch_code = excluded.branch_code", (role, code))

    _retrying(url, work)
    return role
