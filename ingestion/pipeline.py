"""Load what waits in a landing folder: the entry point shared by `sinergi load` and the DAGs."""
from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable

import psycopg

from . import access
from . import contracts as contracts_mod
from . import landing as landing_mod
from .errors import TRANSIENT
from .landing import discover
from .loader import Loader, Outcome
from .pseudonym import Pseudonymiser

log = logging.getLogger(__name__)
# How long a run waits, in all, for a lost database to come back before it stops (seconds).
RETRY_SECONDS = float(os.environ.get("SINERGI_DB_RETRY_SECONDS", "60"))


class LoadRunning(RuntimeError):
    """Another load holds a sender's files (the message names it)."""


@contextmanager
def sender_lock(url: str, senders: list[str], wait: bool = True):
    """One load of a sender's files at a time: a session-level advisory lock per sender, held by a
    connection of its own (released by the server when the process dies, seen by every host that loads
    into this warehouse, and nothing written into the senders' folders). `wait=False` raises
    `LoadRunning` at once, naming the load that holds it (its pid, host and start)."""
    me = f"sinergi load pid {os.getpid()} di {socket.gethostname()} sejak {datetime.now():%Y-%m-%d %H:%M:%S}"
    with psycopg.connect(url, autocommit=True, application_name=me[:63]) as conn:
        for sender in sorted(set(senders)):
            key = conn.execute("select hashtext(%s)::bigint", (f"sinergi.load:{sender}",)).fetchone()[0]
            if wait:
                conn.execute("select pg_advisory_lock(%s)", (key,))
            elif not conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                raise LoadRunning(f"{_holder(conn, key)} sedang memuat berkas {sender}; tunggu sampai selesai, "
                                  f"lalu jalankan lagi")
        yield


def _holder(conn, key: int) -> str:
    row = conn.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a using (pid) "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.classid = %s::bigint::oid "
        "and l.objid = %s::bigint::oid", ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
    return row[0] if row and row[0] else "pemuatan lain"


class LoadInterrupted(psycopg.OperationalError):
    """The database stayed away: the files in `done` have their outcome, `file` was in flight
    (its transaction rolled back, it is still in the landing folder)."""

    def __init__(self, done: list[Outcome], file: str, cause: Exception):
        super().__init__(
            f"koneksi ke gudang data terputus saat memuat {file} dan tidak pulih dalam {RETRY_SECONDS:.0f} detik "
            f"({type(cause).__name__}); {len(done)} berkas sudah selesai. Berkas itu tetap di folder kiriman: "
            f"periksa server PostgreSQL, lalu jalankan `sinergi load` lagi")
        self.done, self.file, self.cause = done, file, cause


def connect(url: str) -> psycopg.Connection:
    """A connection acting as the loader role (it owns raw, audit and the vault)."""
    return access.connect(url, access.LOADER, autocommit=True)


def pending(landing: Path, sender: str | None = None) -> list[str]:
    return discover(Path(landing), sender)


def refused_links(landing: Path, sender: str | None = None) -> list[Outcome]:
    """Symbolic links in the landing folder: never followed nor moved, reported each run until replaced."""
    return [Outcome(rel, rel.split("/", 1)[0], "", None, None, "skipped", reason_code="symlink",
                    reason="tautan simbolik tidak dimuat (bisa menunjuk ke luar folder kiriman); ganti dengan "
                           "salinan berkas aslinya")
            for rel in landing_mod.links(Path(landing), sender)]


def load_files(url: str, landing: Path, files: list[str], pseudonymiser: Pseudonymiser,
               on_file: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Load each file in order; each one commits (or not) on its own. A connection lost midway is
    re-opened with backoff (for `RETRY_SECONDS` in all) and the file in flight is loaded again; a file
    that vanished meanwhile (another run archived it) is left out."""
    outcomes: list[Outcome] = []
    conn = connect(url)
    try:
        loader = Loader(conn, Path(landing), pseudonymiser)
        loader.ensure_schema()
        for rel in files:
            outcome, conn = _load_one(url, loader, rel, outcomes)
            if outcome is None:
                continue
            outcomes.append(outcome)
            if on_file:
                on_file(outcome)
        loader.summarise_new_ranges()
    finally:
        loader.conn.close()
        import pyarrow  # loaded by the loader already
        pyarrow.default_memory_pool().release_unused()   # the chunks' buffers, for what runs next (the checks)
    return outcomes


def _load_one(url: str, loader: Loader, rel: str, done: list[Outcome]):
    deadline, pause = time.monotonic() + RETRY_SECONDS, 0.5
    while True:
        try:
            return loader.load_and_finish(rel), loader.conn
        except TRANSIENT as exc:
            if time.monotonic() + pause > deadline:
                raise LoadInterrupted(done, rel, exc) from exc
            log.warning("koneksi ke gudang data gagal saat memuat %s (%s); dicoba lagi dalam %.1f detik",
                        rel, type(exc).__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, 10.0)
            try:
                loader.conn.close()
                loader.conn = connect(url)
            except TRANSIENT:
                continue


def load_in_order(url: str, landing: Path, rel: str, pseudonymiser: Pseudonymiser) -> Outcome:
    """Load one file, first loading any file of its family delivered before it that still waits.

    Airflow may run the mapped tasks of one DAG run in any order; this keeps a correction after its
    original and each snapshot after the one before, whichever task comes first. A file another task
    has already handled is answered from the ledger.
    """
    landing = Path(landing)
    contracts = contracts_mod.load()
    match = contracts.match(rel)
    waiting = pending(landing)
    if rel not in waiting:
        with connect(url) as conn:
            return Loader(conn, landing, pseudonymiser).latest(rel)
    family = [f for f in waiting[:waiting.index(rel) + 1]
              if match and (m := contracts.match(f)) and m.family_key == match.family_key] or [rel]
    if rel not in family:
        family.append(rel)
    outcomes = load_files(url, landing, family, pseudonymiser)
    if outcomes and outcomes[-1].file == rel:
        return outcomes[-1]
    with connect(url) as conn:
        return Loader(conn, landing, pseudonymiser).latest(rel)


def load_landing(url: str, landing: Path, pseudonymiser: Pseudonymiser, sender: str | None = None,
                 on_file: Callable[[Outcome], None] | None = None, wait: bool = True) -> list[Outcome]:
    """Everything waiting in a landing folder (or one sender's part of it), holding the senders' locks so
    that two runs never read the same file."""
    landing = Path(landing)
    contracts = contracts_mod.load()
    landing_mod.validate(landing, contracts)
    names = [sender] if sender else sorted(landing_mod.senders(contracts))
    with sender_lock(url, names, wait=wait):
        return load_files(url, landing, pending(landing, sender), pseudonymiser, on_file)


def _load_sender(job: tuple) -> int:
    url, landing, files, sender = job
    from .pseudonym import from_environment
    mine = [f for f in files if f.split("/", 1)[0] == sender]
    with sender_lock(url, [sender]):
        return len(load_files(url, landing, mine, from_environment()))


def load_by_sender(url: str, landing: Path, files: list[str] | None = None, workers: int = 2) -> int:
    """Load waiting files with one process per sender family at a time (each file still commits alone);
    the key comes from the environment in each process. Returns the number of files handled."""
    files = pending(landing) if files is None else files
    senders = sorted({f.split("/", 1)[0] for f in files})
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_load_sender, [(url, landing, files, s) for s in senders]))
