"""Dashboard accounts, their server-side sessions and the access log: tables in the `access` schema.

- `access.web_user`: each account is mapped to one database role; passwords are scrypt hashes with a
  per-user salt. Changing an account's password or role, or removing it, ends its sessions at once.
- `access.web_session`: a session is a row the server owns. The browser's cookie holds a random id only;
  the table holds that id's keyed hash (SINERGI_WEB_SECRET), so reading the table gives no usable cookie.
  The user's role is read from `web_user` on every request, never from the cookie.
- `access.access_log`: sign-ins, failed and throttled sign-ins, sign-outs, downloads (with their row
  count) and pages that showed names (UU 27/2022: who read which personal data, when). Auditors read it;
  the dashboard's login only appends to it, and rows older than the configured retention are pruned by
  `access.prune_access_log()` (never fewer than 30 days are kept).

The tables are created idempotently by whoever administers the warehouse (`sinergi user add/remove/list`,
the demo), never by the dashboard's own login.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

import psycopg

from sinergi.serve import campaigns
from sinergi.warehouse import roles, targets

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 12
MIN_RETENTION_DAYS = 30

TABLES = f"""
create table if not exists access.web_user (
    username text primary key,
    password_hash text not null,
    role_name text not null,
    created_at timestamptz not null default now()
);
alter table access.web_user add column if not exists changed_at timestamptz not null default now();
create table if not exists access.web_session (
    id_hash text primary key,
    username text not null references access.web_user (username) on delete cascade on update cascade,
    created_at timestamptz not null default now(),
    last_seen timestamptz not null default now(),
    client text
);
create index if not exists web_session_username on access.web_session (username);
create table if not exists access.access_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    event text not null,
    username text,
    role_name text,
    client text,
    path text,
    rows bigint,
    detail text
);
create index if not exists access_log_at on access.access_log (at);
create index if not exists access_log_username on access.access_log (username, event, at);
create index if not exists access_log_client on access.access_log (client, event, at);
comment on table access.access_log is
    'Who signed in, failed to, downloaded or saw names on the dashboard, and when (UU 27/2022).';
-- Retention: the dashboard prunes through this function only, and can never drop the last 30 days.
create or replace function access.prune_access_log(keep_days integer) returns bigint
language sql security definer set search_path = pg_catalog, pg_temp as $$
    with gone as (
        delete from access.access_log
        where at < now() - make_interval(days => greatest(keep_days, {MIN_RETENTION_DAYS}))
        returning 1)
    select count(*) from gone
$$;
revoke all on function access.prune_access_log(integer) from public;
grant usage on schema access to sinergi_web, sinergi_auditor;
grant select on access.web_user to sinergi_web;
grant select, insert, update, delete on access.web_session to sinergi_web;
grant select, insert on access.access_log to sinergi_web;
grant select on access.access_log to sinergi_auditor;
grant execute on function access.prune_access_log(integer) to sinergi_web;
"""
NEEDED = ("access.web_user", "access.web_session", "access.access_log")
_SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)


@dataclass(frozen=True)
class User:
    username: str
    role: str

    @property
    def province(self) -> str | None:
        """The province a regional analyst is limited to (None for national roles)."""
        return roles.province_of(self.role)

    @property
    def branch(self) -> str | None:
        """The BPJS branch office a branch user is limited to (its service area), else None."""
        return roles.branch_of(self.role)

    @property
    def limited(self) -> bool:
        """A regional or branch user: row-level security shows part of the country only."""
        return bool(self.province or self.branch)

    @property
    def sees_names(self) -> bool:
        return self.role == roles.AUDITOR

    @property
    def is_auditor(self) -> bool:
        return self.role == roles.AUDITOR

    @property
    def kind(self) -> str:
        return roles.kind(self.role)


valid_role = roles.is_reader  # a dashboard account's role: a reader role only


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    return salt.hex() + "$" + hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT).hex()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(os.urandom(16).hex())


def verify(password: str, stored: str | None) -> bool:
    """Does the password match the stored hash? Costs one scrypt whether or not there is a hash, so an
    unknown user takes as long as a known one (no enumeration by timing)."""
    salt_hex, sep, _ = (stored or "").partition("$")
    try:
        salt = bytes.fromhex(salt_hex) if sep and salt_hex else None
    except ValueError:
        salt = None
    real = salt is not None
    target = stored if real else _dummy_hash()
    if not real:
        salt = bytes.fromhex(target.partition("$")[0])
    matches = hmac.compare_digest(target, hash_password(password, salt))
    return real and matches


def ensure_tables(url: str) -> None:
    """Create the account, session and access-log tables, the targets table and their grants (idempotent; as
    administrator)."""
    roles.ensure(url)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('sinergi.web'))")
        conn.execute(TABLES)
    targets.ensure_table(url)  # the targets the dashboard shows and analysts upload (audit.target)
    campaigns.ensure_tables(url)  # the follow-up campaigns (issue 20): user data beside the accounts


def tables_missing(conn) -> list[str]:
    """The access tables not yet made (read from the catalogue: needs no privilege on the schema)."""
    found = {f"{r[0]}.{r[1]}" for r in conn.execute(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'access' and c.relkind in ('r', 'p')")}
    return [t for t in NEEDED if t not in found]


def add(url: str, username: str, password: str, role: str) -> User:
    """Create or update an account (idempotent). Updating it (a new password, another role) ends every
    session it has."""
    if not USERNAME.match(username):
        raise ValueError("Nama pengguna: huruf, angka, titik, garis bawah atau tanda hubung (maksimal 64), "
                         "diawali huruf atau angka.")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"Kata sandi minimal {MIN_PASSWORD} karakter.")
    if password.lower() in (username.lower(), "kata-sandi", "password"):
        raise ValueError("Kata sandi terlalu mudah ditebak.")
    ensure_tables(url)
    db_role = roles.resolve(url, role)
    with psycopg.connect(url) as conn:
        conn.execute("insert into access.web_user (username, password_hash, role_name) values (%s, %s, %s) "
                     "on conflict (username) do update set password_hash = excluded.password_hash, "
                     "role_name = excluded.role_name, changed_at = now()",
                     (username, hash_password(password), db_role))
        conn.execute("delete from access.web_session where username = %s", (username,))
    return User(username, db_role)


def remove(url: str, username: str) -> bool:
    """Remove an account; its sessions end with it. False when there was no such account."""
    ensure_tables(url)
    with psycopg.connect(url) as conn:
        conn.execute("delete from access.web_session where username = %s", (username,))
        return conn.execute("delete from access.web_user where username = %s", (username,)).rowcount > 0


def listed(url: str) -> list[dict]:
    """Every account with its role and open sessions."""
    ensure_tables(url)
    with psycopg.connect(url) as conn:
        rows = conn.execute("""
            select u.username, u.role_name, u.changed_at, count(s.id_hash) as sessions, max(s.last_seen) as last_seen
            from access.web_user u left join access.web_session s using (username)
            group by u.username, u.role_name, u.changed_at order by u.username""").fetchall()
    return [dict(zip(("username", "role", "changed_at", "sessions", "last_seen"), r)) for r in rows]
