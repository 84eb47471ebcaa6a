"""Load one delivered file into its raw table, exactly once, and account for every row.

A file's rows, its quarantine, its repairs, its vault entries and its ledger row commit in one
transaction; the file is moved out of the landing folder only after that commit, and a rerun that
finds a committed file still in place just finishes the move. So a crash at any point, followed by a
rerun, leaves the same warehouse as one clean load.

This module decides what becomes of a file (twins, supersede, control files, holds, the move);
`checked_copy` reads, checks and writes its rows, and `ledger` writes and reads its ledger row.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from . import checked_copy, corrections, ledger, schema
from . import contracts as contracts_mod
from . import landing as landing_mod
from .contracts import Contracts, Match
from .ledger import Outcome
from .pseudonym import Pseudonymiser
from .readers import FileProblem


def digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def discover(landing: Path, contracts: Contracts | None = None, sender: str | None = None) -> list[str]:
    """Files waiting in the landing folder, oldest delivery first (see `landing.discover`)."""
    return landing_mod.discover(Path(landing), sender)


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
        schema.ensure(self.conn, self.contracts)

    # --- one file --------------------------------------------------------------------------------
    def load(self, rel: str) -> Outcome | None:
        """Load one file and return its outcome; None when the file vanished (another run handled it)."""
        path = self.landing / rel
        match = self.contracts.match(rel)
        try:
            before = landing_mod.signature(path)
            size, sha = digest(path)
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
            # A twin is the same bytes for the same family and period (or under the same name). A snapshot
            # that did not change since yesterday has yesterday's bytes but is today's delivery: it loads.
            twin = self.conn.execute(
                "select load_id, file from audit.load where sha256 = %s and status in ('loaded', 'superseded') "
                "and (file = %s or (sender, unit, feed, period) = (%s, %s, %s, %s)) order by load_id limit 1",
                (sha, rel, match.sender, match.unit, match.feed.name, match.period)).fetchone()
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
        if size == 0 and not _quiet_day_possible(match):
            raise FileProblem("file_empty", "berkas kosong (0 byte)")
        released = self.conn.execute("select 1 from audit.release where sha256 = %s", (sha,)).fetchone()
        control = self._control_file(path, match, sha, released)
        load_id = self.conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
        counts = checked_copy.copy_rows(self.conn, self.pseudo, path, rel, match, load_id)
        corrected = corrections.is_correction(self.conn, sha)
        if not corrected:
            counts.check_control({**counts.control_from_file, **control})
        self._check_size(match, counts.rows_read, released)
        notes = counts.notes + self._order_note(match) + (
            ["berkas koreksi baris karantina (audit.correction); total kontrol pengirim tidak dibandingkan"]
            if corrected else [])
        outcome = self._record(rel, match, size, sha, received, started, "loaded", None,
                               "; ".join(notes) or None, load_id=load_id, rows_read=counts.rows_read,
                               rows_loaded=counts.rows_loaded, rows_quarantined=counts.rows_quarantined,
                               repairs=sorted(set(counts.repairs)),
                               totals=({**counts.control_from_file, **control}, counts.loaded_sums))
        self._supersede(match, load_id, received, outcome)
        return outcome

    def _supersede(self, match: Match, load_id: int, received, outcome: Outcome) -> None:
        """Of the files loaded for one family and period, the one delivered last stands; the others stay,
        marked superseded. Delivery time decides, not load order, so a late-loaded original cannot win."""
        family = (match.sender, match.unit, match.feed.name, match.period)
        newer = self.conn.execute(
            "select load_id, file from audit.load where sender = %s and unit = %s and feed = %s and period = %s "
            "and status = 'loaded' and load_id <> %s and received_at > %s order by received_at desc limit 1",
            (*family, load_id, received)).fetchone()
        if newer:
            self.conn.execute("update audit.load set status = 'superseded', superseded_by = %s, notes = "
                              "concat_ws('; ', notes, %s::text) where load_id = %s",
                              (newer[0], f"sudah digantikan {newer[1]} yang dikirim kemudian", load_id))
            outcome.status = "superseded"
            return
        older = self.conn.execute(
            "update audit.load set status = 'superseded', superseded_by = %s where sender = %s and unit = %s "
            "and feed = %s and period = %s and status = 'loaded' and load_id <> %s returning file",
            (load_id, *family, load_id)).fetchall()
        if older:
            self.conn.execute("update audit.load set notes = concat_ws('; ', notes, %s::text) where load_id = %s",
                              (f"menggantikan {', '.join(r[0] for r in older)}", load_id))

    def _control_file(self, path: Path, match: Match, sha: str, released) -> dict:
        spec = match.format.control_file
        if not spec:
            return {}
        ctl = Path(str(path) + spec["suffix"])
        if not ctl.exists():
            if released:
                return {}
            raise FileProblem("control_missing", f"berkas kontrol {ctl.name} belum ada; berkas ditahan sampai "
                                                 f"kontrolnya dikirim", status="held")
        fields = dict(line.split("=", 1) for line in ctl.read_text(encoding="ascii").split() if "=" in line)
        if fields.get("sha256", "").lower() != sha:
            raise FileProblem("control_mismatch", f"SHA-256 di {ctl.name} tidak sama dengan isi berkas")
        try:
            return {"records": float(fields["records"])}
        except (KeyError, ValueError):
            raise FileProblem("control_mismatch", f"{ctl.name} tanpa jumlah baris (records=)") from None

    def _check_size(self, match: Match, rows_read: int, released) -> None:
        if match.feed.kind != "snapshot" or released:
            return
        prev = self.conn.execute(
            "select rows_read, file from audit.load where sender = %s and unit = %s and feed = %s "
            "and status in ('loaded', 'superseded') and period < %s order by period desc, load_id desc limit 1",
            (match.sender, match.unit, match.feed.name, match.period)).fetchone()
        if prev and rows_read < self.contracts.snapshot_min_ratio * prev[0]:
            problem = FileProblem("snapshot_shrunk",
                                  f"snapshot hanya {rows_read} baris, sebelumnya {prev[0]} ({prev[1]}): kemungkinan "
                                  f"ekspor rusak; ditahan sampai dikonfirmasi", status="held")
            problem.rows_read = rows_read
            raise problem

    def _order_note(self, match: Match) -> list[str]:
        later = self.conn.execute(
            "select max(period) from audit.load where sender = %s and unit = %s and feed = %s "
            "and status = 'loaded' and period > %s", (match.sender, match.unit, match.feed.name, match.period)
        ).fetchone()[0]
        return [f"datang sesudah periode {later} (urutan terbalik)"] if later else []

    # --- ledger (ledger.py) ---------------------------------------------------------------------
    def _record(self, rel, match: Match | None, size, sha, received, started, status, code, reason, **counts) -> Outcome:
        return ledger.record(self.conn, rel, match, size, sha, received, started, status, code, reason, **counts)

    def latest(self, rel: str) -> Outcome:
        """The ledger's last word on a file (handled by another task or an earlier run)."""
        return ledger.latest(self.conn, rel)

    def _outcome(self, load_id: int) -> Outcome:
        return ledger.outcome(self.conn, load_id)

    def finish(self, outcome: Outcome | None) -> Outcome | None:
        """After the commit: move the file (and its control file) where the ledger says it went."""
        if outcome is None or outcome.recovered or not outcome.archived_to:
            return outcome
        self._move(outcome.load_id, outcome.file, outcome.archived_to)
        if outcome.status in ("rejected", "held"):
            note = self.landing / (outcome.archived_to + ".alasan.txt")
            note.write_text(f"Berkas: {outcome.file}\nStatus: {outcome.status}\nAlasan ({outcome.reason_code}): "
                            f"{outcome.reason}\nMuatan: {outcome.load_id}\n"
                            f"Lihat docs/runbooks.md untuk langkah berikutnya.\n", encoding="utf-8")
        return outcome

    def _move(self, load_id: int, rel: str, target: str) -> None:
        landing_mod.move(self.landing, rel, target)
        self.conn.execute("update audit.load set moved_at = now() where load_id = %s", (load_id,))

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

def _quiet_day_possible(match: Match) -> bool:
    """An increment in JSON Lines without a control line has no header: on a quiet day it is empty."""
    fmt = match.format
    return fmt.kind == "jsonl" and not fmt.control_line and match.feed.kind == "increment"
