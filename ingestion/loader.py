"""Load one delivered file into its raw table, exactly once, and account for every row.

A file's rows, its quarantine, its repairs, its vault entries and its ledger row commit in one
transaction; the file is moved out of the landing folder only after that commit, and a rerun that
finds a committed file still in place just finishes the move. So a crash at any point, followed by a
rerun, leaves the same warehouse as one clean load.
"""
from __future__ import annotations

import calendar
import csv
import hashlib
import io
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.json import Jsonb

from . import contracts as contracts_mod
from . import corrections, schema
from . import landing as landing_mod
from .contracts import Contracts, Match
from .pseudonym import Pseudonymiser
from .readers import FileProblem, raw_lines, reader_for
from .values import ChunkChecker, _lenient_sum

ARCHIVE, REJECTED, HELD = "_archive", "_rejected", "_held"
MOVED_TO = {"loaded": ARCHIVE, "duplicate": ARCHIVE, "superseded": ARCHIVE, "rejected": REJECTED, "held": HELD}
SPOOL_BYTES = 8 << 20


@dataclass
class Outcome:
    """What happened to one delivered file (the `--json` line of `sinergi load`)."""
    file: str
    sender: str
    unit: str
    feed: str | None
    period: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    reason_code: str | None = None
    load_id: int | None = None
    repairs: list[str] = field(default_factory=list)
    archived_to: str | None = None
    recovered: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def loader_version() -> str:
    """Package version plus a digest of the contracts: which rules a row was loaded under."""
    text = resources.files("ingestion").joinpath("contracts.yml").read_bytes()
    return f"{metadata.version('sinergi')}+contracts.{hashlib.sha256(text).hexdigest()[:10]}"


def digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def period_end(period: str) -> date:
    y, m = int(period[:4]), int(period[4:6])
    if len(period) == 8:
        return date(y, m, int(period[6:]))
    return date(y, m, calendar.monthrange(y, m)[1])


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
        counts = self._copy(path, rel, match, load_id)
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

    # --- rows ------------------------------------------------------------------------------------
    def _copy(self, path: Path, rel: str, match: Match, load_id: int) -> "_Counts":
        feed, fmt = match.feed, match.format
        reader = reader_for(path, feed, fmt)
        checker = ChunkChecker(feed, fmt, period_end(match.period), self.pseudo)
        counts = _Counts(feed.columns)
        spools = _Spools(load_id, feed.name)
        stored = [n for n, _ in schema.raw_columns(feed)]
        key = [feed.columns[k].stored_as for k in feed.key_columns]
        seen = np.empty(0, dtype=np.uint64)
        copy_sql = f"copy {feed.table} (_load_id, _file, _line, {', '.join(stored)}) from stdin (format csv)"
        try:
            # The writer thread sends each chunk while the next one is read and checked.
            with self.conn.cursor() as cur, cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
                for chunk in reader.chunks():
                    checked = checker.check(chunk.lines, chunk.columns)
                    seen = _drop_repeated_keys(checked, key, seen)
                    counts.add(checked, len(chunk.lines))
                    spools.add(checked)
                    if fmt.kind == "xlsx":
                        spools.cells(checked.quarantined, chunk)
                    if checked.table.num_rows:
                        copy.write(_csv_bytes(checked.table, checked.lines, load_id, rel))
        except FileProblem as problem:
            problem.rows_read = counts.rows_read + len(reader.facts.structural)
            raise
        facts = reader.facts
        counts.structural(facts.structural, getattr(reader, "positions", None), fmt)
        for col, total in getattr(facts, "set_aside_sums", {}).items():   # records set aside whole, amounts known
            counts.sums[col] = counts.sums.get(col, 0.0) + total
        spools.structural(facts.structural)
        counts.repairs += facts.repairs
        counts.notes += facts.notes + counts.flag_notes()
        counts.control_from_file = facts.control
        for line, text in raw_lines(path, fmt, facts.encoding, spools.lines_without_text()).items():
            spools.text(line, text)
        spools.copy_into(self.conn)
        counts.verify()
        return counts

    # --- ledger ----------------------------------------------------------------------------------
    def _record(self, rel, match: Match | None, size, sha, received, started, status, code, reason, *,
                load_id=None, rows_read=0, rows_loaded=0, rows_quarantined=0, repairs=(), duplicate_of=None,
                totals=(None, None)) -> Outcome:
        if load_id is None:
            load_id = self.conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
        sender = match.sender if match else rel.split("/")[0]
        unit = match.unit if match else (rel.split("/")[1] if rel.count("/") > 1 else "")
        target = self._target(rel, status, load_id)
        self.conn.execute(
            "insert into audit.load (load_id, sender, unit, feed, period, file, size_bytes, sha256, received_at, "
            "started_at, finished_at, rows_read, rows_loaded, rows_quarantined, status, reason_code, reason, "
            "repairs, notes, duplicate_of, archived_to, quality, loader_version, control_totals, amounts_loaded) values "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (load_id, sender, unit, match.feed.name if match else None, match.period if match else None, rel, size,
             sha, received, started, rows_read, rows_loaded, rows_quarantined, status, code,
             reason if status != "loaded" else None, list(repairs), reason if status == "loaded" else None,
             duplicate_of, target, "pending" if status == "loaded" else "none", loader_version(),
             *(Jsonb(t) if t is not None else None for t in totals)))
        outcome = Outcome(rel, sender, unit, match.feed.name if match else None, match.period if match else None,
                          status, rows_read, rows_loaded, rows_quarantined, reason, code, load_id, list(repairs), target)
        return outcome

    def latest(self, rel: str) -> Outcome:
        """The ledger's last word on a file (handled by another task or an earlier run)."""
        row = self.conn.execute("select max(load_id) from audit.load where file = %s", (rel,)).fetchone()
        if row[0] is None:
            raise FileNotFoundError(f"{rel} tidak ada di folder kiriman maupun di buku besar")
        outcome = self._outcome(row[0])
        outcome.recovered = True
        return outcome

    def _outcome(self, load_id: int) -> Outcome:
        r = self.conn.execute(
            "select file, sender, unit, feed, period, status, rows_read, rows_loaded, rows_quarantined, "
            "coalesce(reason, notes), reason_code, load_id, repairs, archived_to from audit.load where load_id = %s",
            (load_id,)).fetchone()
        return Outcome(*r[:12], list(r[12]), r[13])

    def _target(self, rel: str, status: str, load_id: int) -> str:
        folder, _, name = rel.rpartition("/")
        return f"{MOVED_TO[status]}/{folder}/{load_id:08d}_{name}"

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


def _csv_bytes(table: pa.Table, lines: np.ndarray, load_id: int, rel: str) -> bytes:
    """Rows as COPY csv: the load id, file and line first, then the stored columns."""
    n = table.num_rows
    prefix = [pa.array(np.full(n, load_id, dtype=np.int64)), pa.nulls(n, pa.string()).fill_null(rel), pa.array(lines)]
    full = pa.Table.from_arrays(prefix + table.columns, names=["_load_id", "_file", "_line"] + table.column_names)
    buf = io.BytesIO()
    pcsv.write_csv(full, buf, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


class _Counts:
    """Rows read, loaded and set aside, and the sums the sender's control totals are checked against."""

    def __init__(self, columns):
        self.columns = columns
        self.rows_read = self.rows_loaded = self.rows_quarantined = 0
        self.sums: dict[str, float] = {}
        self.loaded_sums: dict[str, float] = {}
        self.repairs: list[str] = []
        self.notes: list[str] = []
        self.control_from_file: dict = {}
        self.bad_dates: dict[str, int] = {}   # NIK column -> rows loaded with an impossible date part

    def add(self, checked, rows: int) -> None:
        self.rows_read += rows
        self.rows_loaded += checked.table.num_rows
        self.rows_quarantined += len(checked.quarantined)
        for col, total in checked.amounts.items():
            self.sums[col] = self.sums.get(col, 0.0) + total
            kept = pc.sum(pc.cast(checked.table.column(col), pa.float64())).as_py() or 0.0
            self.loaded_sums[col] = self.loaded_sums.get(col, 0.0) + kept
        self.repairs += sorted({r[2] for r in checked.repairs})
        for col in self.columns.values():
            if col.bad_date_flag and col.bad_date_flag in checked.table.column_names:
                flagged = pc.sum(pc.cast(checked.table.column(col.bad_date_flag), pa.int64())).as_py() or 0
                self.bad_dates[col.name] = self.bad_dates.get(col.name, 0) + flagged

    def flag_notes(self) -> list[str]:
        """What a person should know of the rows loaded with a flag: how many NIKs have an impossible date."""
        return [f"{n} baris dengan bagian tanggal lahir {name} yang mustahil dimuat dan ditandai "
                f"({name}_bad_date); orangnya dicari lewat nama, tanggal lahir dan wilayah"
                for name, n in self.bad_dates.items() if n]

    def structural(self, rows: list[tuple], positions: dict | None, fmt) -> None:
        """Rows that could not be split into fields still count, and their amounts are in the trailer."""
        self.rows_read += len(rows)
        self.rows_quarantined += len(rows)
        if not rows or not positions:
            return
        for col, pos in positions.items():
            if col in self.sums:
                fields = [r[3].split(fmt.delimiter) for r in rows]
                text = pa.array([f[pos] if pos < len(f) else None for f in fields], pa.string())
                self.sums[col] += _lenient_sum(text, fmt.decimal)

    def check_control(self, control: dict) -> None:
        for name, declared in control.items():
            if name == "records":
                actual = self.rows_read
            elif name in self.sums:
                actual = self.sums[name]
            else:
                continue
            if abs(actual - declared) > 0.5:
                problem = FileProblem("trailer_mismatch", f"total kontrol {name} dari pengirim {declared:,.0f} "
                                                          f"tidak sama dengan isi berkas {actual:,.0f}")
                problem.rows_read = self.rows_read
                raise problem

    def verify(self) -> None:
        if self.rows_read != self.rows_loaded + self.rows_quarantined:
            raise AssertionError(f"rows do not add up: {self.rows_read} read, {self.rows_loaded} loaded, "
                                 f"{self.rows_quarantined} quarantined")


class _Spools:
    """Quarantine, repairs and vault rows wait on disk-backed spools while the raw COPY runs
    (one COPY at a time per connection), then follow it into the same transaction."""

    def __init__(self, load_id: int, feed: str):
        self.load_id, self.feed = load_id, feed
        self.quarantine = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.repairs = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.vault = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+b")
        self.texts = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.with_text: set[int] = set()
        self.quarantined: set[int] = set()

    def add(self, checked) -> None:
        q, r = csv.writer(self.quarantine), csv.writer(self.repairs)
        for line, reason, column, message in checked.quarantined:
            q.writerow((self.load_id, line, reason, column, message))
            self.quarantined.add(line)
        r.writerows((self.load_id, *rep) for rep in checked.repairs)
        if checked.vault is not None and checked.vault.num_rows:
            n = checked.vault.num_rows
            rows = pa.table({"load_id": pa.array(np.full(n, self.load_id, dtype=np.int64)),
                             "line": checked.vault["line"], "feed": pa.nulls(n, pa.string()).fill_null(self.feed),
                             "nik_token": checked.vault["nik_token"], "nik": checked.vault["nik"],
                             "nama": checked.vault["nama"]})
            pcsv.write_csv(rows, self.vault, pcsv.WriteOptions(include_header=False, quoting_style="needed"))

    def structural(self, rows: list[tuple]) -> None:
        q = csv.writer(self.quarantine)
        for line, reason, message, text in rows:
            q.writerow((self.load_id, line, reason, None, message))
            self.text(line, text)

    def text(self, line: int, text: str) -> None:
        csv.writer(self.texts).writerow((self.load_id, line, text))
        self.with_text.add(line)

    def cells(self, quarantined: list[tuple], chunk) -> None:
        """Excel rows have no text line: keep their cells, separated by ` | `."""
        at = {int(line): i for i, line in enumerate(chunk.lines)}
        for line, *_ in quarantined:
            i = at[line]
            self.text(line, " | ".join("" if a[i].as_py() is None else a[i].as_py() for a in chunk.columns.values()))

    def lines_without_text(self) -> set[int]:
        return self.quarantined - self.with_text

    def copy_into(self, conn) -> None:
        targets = [(self.quarantine, "audit.quarantine (load_id, line, reason, column_name, message)"),
                   (self.repairs, "audit.repair (load_id, line, column_name, kind, before, after)"),
                   (self.vault, "vault.person (load_id, line, feed, nik_token, nik, nama)"),
                   (self.texts, "vault.quarantine_text (load_id, line, raw_text)")]
        with conn.cursor() as cur:
            for spool, table in targets:
                if not spool.tell():  # nothing was written: no round trip (most small files)
                    spool.close()
                    continue
                spool.seek(0)
                with cur.copy(f"copy {table} from stdin (format csv)") as copy:
                    while block := spool.read(1 << 20):
                        copy.write(block)
                spool.close()


def _drop_repeated_keys(checked, key: list[str], seen: np.ndarray) -> np.ndarray:
    """Quarantine the second and later rows with a key already seen in this file; return the keys seen
    (64-bit hashes, sorted: eight bytes a row)."""
    n = checked.table.num_rows
    if not n:
        return seen
    frame = pd.DataFrame({k: checked.table.column(k).to_pandas() for k in key})
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    repeated = np.zeros(n, dtype=bool)
    repeated[order[1:]] = ordered[1:] == ordered[:-1]
    if len(seen):
        at = np.minimum(np.searchsorted(seen, hashes), len(seen) - 1)
        repeated |= seen[at] == hashes
    if repeated.any():
        lines = checked.lines[repeated]
        checked.quarantined += [(int(line), "duplicate_key", ",".join(key), "kunci sudah muncul di baris sebelumnya "
                                 "dalam berkas yang sama") for line in lines]
        keep = ~repeated
        checked.table = checked.table.filter(pa.array(keep))
        if checked.vault is not None:
            checked.vault = checked.vault.filter(pa.array(keep))
        gone = set(lines.tolist())
        checked.repairs = [r for r in checked.repairs if r[0] not in gone]
        checked.lines = checked.lines[keep]
    return np.concatenate([seen, ordered]) if not len(seen) else np.sort(np.concatenate([seen, ordered]), kind="mergesort")
