"""Queries as the signed-in user's database role: the database, not the page, decides what is read.

Each request's transaction starts with `set local role`, so a query runs with exactly that role's grants
and row-level security, whatever the login behind the pool (in a deployment the NOINHERIT `sinergi_web`).
`set local` ends with the transaction, so a pooled connection never carries a role to the next user.
Every value is a bound parameter; SQL text is never assembled from user input.
"""
from __future__ import annotations

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ingestion import access

POOL_SIZE = 4  # a page runs its queries one after another; a few pages at once is plenty on 2 cores


class Database:
    def __init__(self, url: str):
        access.ensure(url)
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs={"row_factory": dict_row},
                                   name="sinergi-web", open=True)

    def rows(self, role: str, query: str, params: dict | None = None) -> list[dict]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            conn.execute("set local statement_timeout = '10s'")
            return conn.execute(query, params or {}).fetchall()

    def close(self) -> None:
        self.pool.close()
