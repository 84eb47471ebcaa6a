"""Queries as the signed-in user's database role: the database, not the page, decides what is read.

Each request's transaction starts with `set local role`, so a query runs with exactly that role's grants
and row-level security, whatever the login behind the pool (in a deployment the NOINHERIT `sinergi_web`).
Every value is a bound parameter; SQL text is never assembled from user input.
"""
from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ingestion import access


class Database:
    def __init__(self, url: str):
        access.ensure(url)
        self.url = url

    def rows(self, role: str, query: str, params: dict | None = None) -> list[dict]:
        with psycopg.connect(self.url, row_factory=dict_row) as conn, conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            conn.execute("set local statement_timeout = '10s'")
            return conn.execute(query, params or {}).fetchall()

    def can_read(self, role: str, relation: str) -> bool:
        with psycopg.connect(self.url) as conn:
            return bool(conn.execute("select has_table_privilege(%s, %s, 'select')", (role, relation)).fetchone()[0])
