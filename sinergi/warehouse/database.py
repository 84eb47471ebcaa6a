"""The warehouse database: WAREHOUSE_URL, created when missing, or an embedded server as a fallback."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from sinergi.core import settings

EMBEDDED_DIR = settings.PROJECT_ROOT / ".local" / "pgdata"


def server_answers(url: str, timeout: int = 3) -> bool:
    try:
        with psycopg.connect(_maintenance_url(url), connect_timeout=timeout):
            return True
    except psycopg.OperationalError as exc:
        # A server that answers but refuses the database still answers.
        return "does not exist" in str(exc)


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def create_database(url: str) -> bool:
    """Create the database named in the URL if it is missing. True if it was created."""
    name = database_name(url)
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    with psycopg.connect(_maintenance_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database_name(url))))


def start_embedded(data_dir: Path | None = None, name: str = "sinergi") -> str:
    """Start (or reuse) an embedded PostgreSQL under .local/ and return a URL to its database."""
    import pgserver  # imported here: only needed when no server answers

    data_dir = data_dir or EMBEDDED_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    base = server.get_uri()
    url = urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    create_database(url)
    return url


def ensure(url: str | None = None, say=print) -> str:
    """A URL to a ready warehouse database: WAREHOUSE_URL (created if missing) or the embedded server."""
    url = url or settings.warehouse_url()
    if server_answers(url):
        if create_database(url):
            say(f"Basis data {database_name(url)} dibuat di {urlsplit(url).hostname}.")
        return url
    say(f"Tidak ada server PostgreSQL di {urlsplit(url).hostname}:{urlsplit(url).port or 5432}; "
        f"memakai PostgreSQL tertanam di {EMBEDDED_DIR}.")
    return start_embedded()
