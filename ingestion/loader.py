"""Load one delivered file into its raw table, exactly once, and account for every row.

A file's rows, its quarantine, its repairs, its vault entries and its ledger row commit in one
transaction; the file is moved out of the landing folder only after that commit, and a rerun that
finds a committed file still in place just finishes the move. So a crash at any point, followed by a
rerun, leaves the same warehouse as one clean load.

This module carries one file through its steps, each done by the module that holds that job:
`planning` decides (twins, control files, holds, supersede), `checked_copy` reads, checks and writes its
rows, `ledger` writes and reads its ledger row, and `landing` moves it out of the landing folder.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import psycopg

from . import checked_copy, corrections, ledger, planning, schema
from . import contracts as contracts_mod
from . import landing as landing_mod
from .contracts import Contracts, Match
from .ledger import Outcome
from .pseudonym import Pseudonymiser
from .readers import FileProblem


class FileChanged(Exception):
    """The file changed while it was read (still being written): nothing is recorded, it waits."""


class Loader:
    """Loads files from one landing folder into one warehouse connection (psycopg 3)."""

    def __init__(self, conn, landing: Path, pseudonymiser: Pseudonymiser, contracts: Contracts | None = None):
        self.conn, self.landing, self.pseudo = conn, Path(landing), pseudonymiser
        self.contracts = contracts or contracts_mod.load()
        self.summarise: set[str] = set()  # feeds whose BRIN indexes have new block ranges

    def summarise_new_ranges(self) -> None:
        """After a run of loads (once per feed, not per file): see `schema.summarise_new_ranges`."""
        for feed in sorted(self.summarise):
            schema.summarise_new_ranges(self.conn, self.contracts.feeds[feed])
        self.summarise.clear()

    def ensure_schema(self) -> None:
        schema.ensure(self.conn, self.contracts, self.pseudo)

    # --- one file --------------------------------------------------------------------------------
    def load(self, rel: str) -> Outcome | None:
        """Load one file and return its outcome; None when the file vanished (another run handled it)."""
        path = self.landing / rel
        match = self.contracts.match(rel)
        try:
            before = landing_mod.signature(path)
            size, sha = planning.digest(path)
        except FileNotFoundError:
            return None
        received = datetime.fromtimestamp(before[1] / 1e9, timezone.utc)
        started = datetime.now(timezone.utc)
        lock = match.family_key if match else rel
        with self.conn.transaction():
            self.conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
            done = self._already_committed(rel, sha)
            if done:
                return done
            if match is None:
                return self._record(rel, None, size, sha, received, started, "rejected", "unknown_file",
                                    "nama atau folder berkas tidak dikenal kontrak mana pun; tambahkan kontrak "
                                    "di ingestion/contracts.yml atau minta pengirim memakai nama baku")
            twin = planning.twin(self.conn, rel, match, sha)
            if twin:
                return self._record(rel, match, size, sha, received, started, "duplicate", "duplicate_delivery",
                                    f"isi sama persis dengan {twin[1]} (muatan {twin[0]}); tidak dimuat lagi",
                                    duplicate_of=twin[0])
        try:
            with self.conn.transaction():
                self.conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (lock,))
                outcome = self._load_rows(rel, match, size, sha, received, started)
                if landing_mod.signature(path) != before:
                    raise FileChanged(rel)
            self.summarise.add(match.feed.name)
            return outcome
        except FileChanged:
            return Outcome(rel, match.sender, match.unit, match.feed.name, match.period, "skipped",
                           reason="berkas berubah saat dibaca (mungkin masih ditulis); dicoba lagi pada putaran "
                                  "berikutnya", reason_code="file_changing")
        except FileNotFoundError:
            return None  # archived by another run while this one read it
        except FileProblem as problem:
            return self._record_problem(rel, match, size, sha, received, started, problem)
        except Exception as exc:
            if isinstance(exc, psycopg.OperationalError) or not _about_the_file(exc):
                raise
            return self._record_problem(rel, match, size, sha, received, started, _as_problem(exc))

    def _record_problem(self, rel, match, size, sha, received, started, problem: FileProblem) -> Outcome:
        with self.conn.transaction():
            return self._record(rel, match, size, sha, received, started, problem.status, problem.kind,
                                problem.message, rows_read=getattr(problem, "rows_read", 0))

    def _already_committed(self, rel: str, sha: str) -> Outcome | None:
        """A file whose ledger row committed but which is still in the landing folder: a crash (or another
        run, between its commit and its move) left it there, and the move is finished here. A file that
        had been moved out and is back (an engineer put it back after a fix) is read again."""
        row = self.conn.execute(
            "select load_id, status, archived_to, moved_at from audit.load l where file = %s and sha256 = %s "
            "and not exists (select 1 from audit.release r where r.sha256 = l.sha256 "
            "and r.released_at > l.finished_at) order by load_id desc limit 1", (rel, sha)).fetchone()
        if not row or row[2] is None or row[3] is not None:
            return None
        if (self.landing / row[2]).exists():
            return None  # a ledger row from before moves were recorded, and the file came back
        self._move(row[0], rel, row[2])
        outcome = self._outcome(row[0])
        outcome.recovered = True
        return outcome

    def _load_rows(self, rel, match: Match, size, sha, received, started) -> Outcome:
        path = self.landing / rel
        if size == 0 and not planning.quiet_day_possible(match):
            raise FileProblem("file_empty", "berkas kosong (0 byte)")
        released = self.conn.execute("select 1 from audit.release where sha256 = %s", (sha,)).fetchone()
        control = planning.control_totals(path, match, sha, bool(released))
        load_id = self.conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
        counts = checked_copy.copy_rows(self.conn, self.pseudo, path, match, load_id)
        corrected = corrections.is_correction(self.conn, sha)
        if not corrected:
            counts.check_control({**counts.control_from_file, **control})
        planning.check_size(self.conn, match, counts.rows_read, bool(released), self.contracts.snapshot_min_ratio)
        notes = counts.notes + planning.order_notes(self.conn, match) + (
            ["berkas koreksi baris karantina (audit.correction); total kontrol pengirim tidak dibandingkan"]
            if corrected else [])
        outcome = self._record(rel, match, size, sha, received, started, "loaded", None,
                               "; ".join(notes) or None, load_id=load_id, rows_read=counts.rows_read,
                               rows_loaded=counts.rows_loaded, rows_quarantined=counts.rows_quarantined,
                               repairs=sorted(set(counts.repairs)),
                               totals=({**counts.control_from_file, **control}, counts.loaded_sums))
        outcome.status = planning.supersede(self.conn, match, load_id, received)
        return outcome

    # --- ledger (ledger.py) ---------------------------------------------------------------------
    def _record(self, rel, match: Match | None, size, sha, received, started, status, code, reason, **counts) -> Outcome:
        return ledger.record(self.conn, rel, match, size, sha, received, started, status, code, reason, **counts)

    def latest(self, rel: str) -> Outcome:
        """The ledger's last word on a file (handled by another task or an earlier run)."""
        return ledger.latest(self.conn, rel)

    def _outcome(self, load_id: int) -> Outcome:
        return ledger.outcome(self.conn, load_id)

    def finish(self, outcome: Outcome | None) -> Outcome | None:
        """After the commit: move the file (and its control file) where the ledger says it went; a file
        rejected or held gets a note beside it saying why and what to do."""
        if outcome is None or outcome.recovered or not outcome.archived_to:
            return outcome
        self._move(outcome.load_id, outcome.file, outcome.archived_to)
        if outcome.status in ("rejected", "held"):
            landing_mod.write_reason(self.landing, outcome.archived_to,
                                     f"Berkas: {outcome.file}\nStatus: {outcome.status}\nAlasan "
                                     f"({outcome.reason_code}): {outcome.reason}\nMuatan: {outcome.load_id}\n"
                                     f"Lihat docs/runbooks.md untuk langkah berikutnya.\n")
        return outcome

    def _move(self, load_id: int, rel: str, target: str) -> None:
        landing_mod.move(self.landing, rel, target)
        ledger.mark_moved(self.conn, load_id)

    def load_and_finish(self, rel: str) -> Outcome | None:
        return self.finish(self.load(rel))


# --- helpers -------------------------------------------------------------------------------------

# Database errors caused by what a file holds (bytes PostgreSQL refuses, a value out of range), as
# opposed to the server or the connection: the file is rejected, the run goes on.
_FILE_SQLSTATE_CLASSES = ("22", "23")


def _about_the_file(exc: Exception) -> bool:
    if isinstance(exc, psycopg.Error):
        return (exc.sqlstate or "")[:2] in _FILE_SQLSTATE_CLASSES
    return not isinstance(exc, (KeyboardInterrupt, SystemExit))


def _as_problem(exc: Exception) -> FileProblem:
    """An unforeseen failure on one file, as that file's outcome. The message names the kind of error
    and the line where PostgreSQL gives one, never the values (they may be personal data)."""
    where = ""
    if isinstance(exc, psycopg.Error) and exc.diag.context:
        line = next((w for w in exc.diag.context.replace(",", " ").split() if w.isdigit()), None)
        where = f" dekat baris {line} kiriman" if line else ""
        kind = f"gudang data menolak isinya (SQLSTATE {exc.sqlstate}){where}"
    elif isinstance(exc, MemoryError):
        kind = "berkas terlalu besar untuk dibaca dengan memori yang ada"
    else:
        kind = f"kesalahan tak terduga saat membaca ({type(exc).__name__})"
    return FileProblem("unreadable", f"{kind}; berkas lain tetap dimuat. Periksa berkasnya atau minta pengirim "
                                     f"mengirim ulang; laporkan ke tim data bila berkas tampak benar")
