"""Queries as the signed-in user's database role: the database, not the page, decides what is read.

Each request's transaction starts with `set local role`, so a query runs with exactly that role's grants
and row-level security, whatever the login behind the pool (the NOINHERIT `sinergi_web`, which reads
nothing by itself). `set local` ends with the transaction, so a pooled connection never carries a role to
the next user. Every value is a bound parameter; SQL text is never assembled from user input.

The login itself reads and writes only the session and access-log tables (`as_login`). It must not be
able to bypass row-level security: `refuse_unsafe_login()` turns away a superuser, a BYPASSRLS login and
one holding the privileges of the roles that own the warehouse's tables.
"""
from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from sinergi.warehouse import roles

POOL_SIZE = 4  # a page runs its queries one after another; a few pages at once is plenty on 2 cores
OWNERS = (roles.LOADER, roles.TRANSFORMER)


class UnsafeSetup(RuntimeError):
    """The dashboard refuses to start (the message, in Bahasa Indonesia, says why and what to do)."""


def refuse_unsafe_login(url: str) -> str:
    """The login's name, if it is fit to serve the dashboard; UnsafeSetup otherwise."""
    from . import users

    with psycopg.connect(url, connect_timeout=10) as conn:
        login, superuser, bypass = conn.execute(
            "select rolname, rolsuper, rolbypassrls from pg_roles where rolname = session_user").fetchone()
        owners = [r for r in OWNERS if conn.execute(
            "select to_regrole(%s) is not null and pg_has_role(session_user, %s, 'usage')", (r, r)).fetchone()[0]]
        missing = users.tables_missing(conn)
    if superuser or bypass:
        raise UnsafeSetup(
            f"Dasbor menolak melayani lewat login basis data {login!r}: login ini "
            f"{'superuser' if superuser else 'BYPASSRLS'}, jadi keamanan baris (row-level security) tidak berlaku "
            f"baginya. Jalankan dasbor sebagai {roles.WEB} (NOINHERIT), misalnya "
            f"WAREHOUSE_URL=postgresql://{roles.WEB}:KATA_SANDI@host:5432/sinergi.")
    if owners:
        raise UnsafeSetup(
            f"Dasbor menolak melayani lewat login basis data {login!r}: login ini memegang hak pemilik tabel "
            f"({', '.join(owners)}), yang melewati keamanan baris. Jalankan dasbor sebagai {roles.WEB}.")
    if missing:
        raise UnsafeSetup(
            f"Tabel akses dasbor belum ada ({', '.join(missing)}). Jalankan sekali, sebagai pemilik gudang data: "
            "`sinergi user list` (atau buat akun dengan `sinergi user add`).")
    return login


class Database:
    def __init__(self, url: str):
        roles.ensure(url)  # nothing to do for a project login such as sinergi_web
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs={"row_factory": dict_row},
                                   name="sinergi-web", open=True)

    def rows(self, role: str, query: str, params: dict | None = None) -> list[dict]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            conn.execute("set local statement_timeout = '10s'")
            return conn.execute(query, params or {}).fetchall()

    def as_login(self, query: str, params: dict | tuple | None = None) -> list[dict]:
        """A statement on the session and access-log tables, as the pool's login (no user's role)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("set local statement_timeout = '10s'")
            cur = conn.execute(query, params or {})
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        self.pool.close()
