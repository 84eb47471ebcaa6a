"""The first use of a brand-new PostgreSQL cluster: no sinergi role exists yet, and several loads start at once.

Roles are shared by the whole cluster while advisory locks hold in one database only, so the first loads of
several senders (one process each), and the set-up of two warehouses on the same cluster, all race to create
the same roles and memberships. This starts a throwaway cluster of its own (the shared test server already
has the roles after its first run, so it cannot show the race again).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingestion import access, pipeline
from simulator import Options, generate
from sinergi.warehouse import database

# A small clean world: one month, every sender and every file layout, a few thousand rows.
SMALL = Options(profile="seed", scale=0.02, months=1, start="2024-01", seed=7, defect_rate=0.0)
PROVINCES = ("35", "11")


def _pg_program(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_cluster():
    """A new PostgreSQL cluster (initdb) on a free port, trust authentication; stopped and removed at the end."""
    initdb, pg_ctl = _pg_program("initdb"), _pg_program("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("initdb/pg_ctl are not installed: cannot start a throwaway PostgreSQL cluster")
    # PostgreSQL refuses to run as root: the cluster belongs to `postgres` when the tests run as root.
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="sinergi_cluster_"))  # in /tmp: every user can reach it
    data, log = root / "data", root / "server.log"
    if as_owner:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    try:
        subprocess.run([*as_owner, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--locale=C", "--no-sync"], check=True, capture_output=True, text=True)
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=60")
        started = subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                                  "start"], capture_output=True, text=True)
        assert started.returncode == 0, f"pg_ctl start: {started.stderr}\n{log.read_text() if log.exists() else ''}"
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _ensure_at(start: float, what: str, url: str) -> str:
    """In a process of its own: wait for the common start time, then set up roles (and a province role)."""
    time.sleep(max(0.0, start - time.time()))
    if what == "ensure":
        access.ensure(url)
        return "ensure"
    return access.add_province_role(url, what)


def test_first_parallel_loads_on_a_new_cluster_create_roles_once_without_errors(fresh_cluster, tmp_path):
    generate(SMALL, tmp_path)
    landing = tmp_path / "landing"
    url_a, url_b = f"{fresh_cluster}/sinergi_a", f"{fresh_cluster}/sinergi_b"
    for url in (url_a, url_b):
        database.create_database(url)
    with psycopg.connect(f"{fresh_cluster}/postgres") as conn:
        assert conn.execute("select count(*) from pg_roles where rolname like 'sinergi%'").fetchone()[0] == 0
    files = pipeline.pending(landing)
    assert {f.split("/", 1)[0] for f in files} == {"bpjstk", "himbara", "kemenkop"}

    # Set-ups of both databases and province roles start together, as the senders' loads start.
    jobs = [(what, url) for url in (url_a, url_b, url_b) for what in ("ensure", *PROVINCES)]
    start = time.time() + 0.5
    with ProcessPoolExecutor(4) as pool:
        racing = [pool.submit(_ensure_at, start, what, url) for what, url in jobs]
        time.sleep(max(0.0, start - time.time() - 0.05))
        handled = pipeline.load_by_sender(url_a, landing, workers=3)
        results = [f.result() for f in racing]  # raises the first error of any of them

    assert handled == len(files)
    assert sorted(results) == sorted(["ensure" if w == "ensure" else f"sinergi_wilayah_{w}" for w, _ in jobs])
    assert pipeline.pending(landing) == []
    with psycopg.connect(url_a) as conn:
        ledger = dict(conn.execute("select file, status from audit.load").fetchall())
    assert sorted(ledger) == sorted(files)  # every file has its ledger row
    assert set(ledger.values()) <= {"loaded", "superseded"}, ledger

    with psycopg.connect(url_b) as conn:
        roles = {name: (inherit, login) for name, inherit, login in conn.execute(
            "select rolname, rolinherit, rolcanlogin from pg_roles where rolname like 'sinergi%'")}
        members = set(conn.execute("select g.rolname, m.rolname from pg_auth_members a join pg_roles g "
                                   "on g.oid = a.roleid join pg_roles m on m.oid = a.member "
                                   "where g.rolname like 'sinergi%'").fetchall())
    province_roles = {f"sinergi_wilayah_{p}" for p in PROVINCES}
    assert set(roles) == {access.LOADER, access.TRANSFORMER, *access.READER_ROLES, access.WEB, *province_roles}
    assert roles[access.WEB] == (False, True)
    assert members == ({(r, access.WEB) for r in (*access.READER_ROLES, *province_roles)}
                       | {(access.REGIONAL, r) for r in province_roles})
    for url, db in ((url_a, "sinergi_a"), (url_b, "sinergi_b")):
        with psycopg.connect(url) as conn:
            owners = dict(conn.execute("select nspname, pg_get_userbyid(nspowner) from pg_namespace").fetchall())
            scope = dict(conn.execute("select role_name, province_code from access.regional_scope").fetchall())
        assert {s: owners[s] for s in access.LOADER_SCHEMAS} == {s: access.LOADER for s in access.LOADER_SCHEMAS}, db
        assert {s: owners[s] for s in access.TRANSFORMER_SCHEMAS} == {
            s: access.TRANSFORMER for s in access.TRANSFORMER_SCHEMAS}, db
        assert scope == {f"sinergi_wilayah_{p}": p for p in PROVINCES}, db



def _waits_on_a_lock(base: str, db: str, timeout: float = 20.0) -> bool:
    """True once a session of `db` waits for a lock (another session's uncommitted catalogue row)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("select 1 from pg_stat_activity where datname = %s and wait_event_type = 'Lock'",
                            (db,)).fetchone():
                return True
            time.sleep(0.05)
    return False


def test_a_set_up_meeting_another_databases_uncommitted_roles_waits_then_succeeds(fresh_cluster):
    """The race made certain: another database's session has created the roles (then granted a membership)
    and not committed yet; the set-up here waits for it, loses on the unique index, and must still succeed."""
    url, role = f"{fresh_cluster}/sinergi_c", f"sinergi_wilayah_{PROVINCES[0]}"
    database.create_database(url)
    ident = sql.Identifier
    with psycopg.connect(f"{fresh_cluster}/postgres") as other, ThreadPoolExecutor(1) as pool:
        for name in (access.LOADER, access.TRANSFORMER, *access.READER_ROLES):
            other.execute(sql.SQL("create role {} nologin").format(ident(name)))
        other.execute(sql.SQL("create role {} login noinherit").format(ident(access.WEB)))
        for name in access.READER_ROLES:
            other.execute(sql.SQL("grant {} to {}").format(ident(name), ident(access.WEB)))
        setting_up = pool.submit(access.ensure, url)
        assert _waits_on_a_lock(fresh_cluster, "sinergi_c")
        other.commit()
        setting_up.result(timeout=60)

        other.execute(sql.SQL("create role {} nologin").format(ident(role)))
        other.commit()
        other.execute(sql.SQL("grant {} to {}").format(ident(access.REGIONAL), ident(role)))
        adding = pool.submit(access.add_province_role, url, PROVINCES[0])
        assert _waits_on_a_lock(fresh_cluster, "sinergi_c")
        other.commit()
        assert adding.result(timeout=60) == role

    with psycopg.connect(url) as conn:
        members = set(conn.execute("select g.rolname, m.rolname from pg_auth_members a join pg_roles g "
                                   "on g.oid = a.roleid join pg_roles m on m.oid = a.member "
                                   "where g.rolname like 'sinergi%'").fetchall())
        scope = dict(conn.execute("select role_name, province_code from access.regional_scope").fetchall())
    assert members == {(r, access.WEB) for r in (*access.READER_ROLES, role)} | {(access.REGIONAL, role)}
    assert scope == {role: PROVINCES[0]}
