"""Load what waits in a landing folder: the entry point shared by `sinergi load` and the DAGs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import psycopg

from . import contracts as contracts_mod
from .loader import Loader, Outcome, discover
from .pseudonym import Pseudonymiser

# Errors worth a retry: the server went away or refused for a while, not a problem with the file.
TRANSIENT = (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


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


def load_landing(url: str, landing: Path, pseudonymiser: Pseudonymiser, sender: str | None = None,
                 on_file: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    return load_files(url, landing, pending(landing, sender), pseudonymiser, on_file)
