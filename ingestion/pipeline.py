"""Load what waits in a landing folder: the entry point shared by `sinergi load` and the DAGs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import psycopg

from . import access, contracts as contracts_mod
from .loader import Loader, Outcome, discover
from .pseudonym import Pseudonymiser

# Errors worth a retry: the server went away or refused for a while, not a problem with the file.
TRANSIENT = (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


def connect(url: str) -> psycopg.Connection:
    """A connection acting as the loader role (it owns raw, audit and the vault)."""
    return access.connect(url, access.LOADER, autocommit=True)


def pending(landing: Path, sender: str | None = None) -> list[str]:
    return discover(Path(landing), contracts_mod.load(), sender)


def load_files(url: str, landing: Path, files: list[str], pseudonymiser: Pseudonymiser,
               on_file: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Load each file in order; each one commits (or not) on its own."""
    outcomes = []
    with connect(url) as conn:
        loader = Loader(conn, Path(landing), pseudonymiser)
        loader.ensure_schema()
        for rel in files:
            outcome = loader.load_and_finish(rel)
            outcomes.append(outcome)
            if on_file:
                on_file(outcome)
    return outcomes


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
    return load_files(url, landing, family, pseudonymiser)[-1]


def load_landing(url: str, landing: Path, pseudonymiser: Pseudonymiser, sender: str | None = None,
                 on_file: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    return load_files(url, landing, pending(landing, sender), pseudonymiser, on_file)


def _load_sender(job: tuple) -> int:
    url, landing, files, sender = job
    from .pseudonym import from_environment
    mine = [f for f in files if f.split("/", 1)[0] == sender]
    return len(load_files(url, landing, mine, from_environment()))


def load_by_sender(url: str, landing: Path, files: list[str] | None = None, workers: int = 2) -> int:
    """Load waiting files with one process per sender family at a time (each file still commits alone);
    the key comes from the environment in each process. Returns the number of files handled."""
    files = pending(landing) if files is None else files
    senders = sorted({f.split("/", 1)[0] for f in files})
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_load_sender, [(url, landing, files, s) for s in senders]))
