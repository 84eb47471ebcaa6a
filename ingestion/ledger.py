"""The load ledger (`audit.load`): a file's row written once it is decided (`record`), what engineers and auditors
read of it and of the quarantine, and the release of held files."""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

from psycopg.types.json import Jsonb

ARCHIVE, REJECTED, HELD = "_archive", "_rejected", "_held"
MOVED_TO = {"loaded": ARCHIVE, "duplicate": ARCHIVE, "superseded": ARCHIVE, "rejected": REJECTED, "held": HELD}


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


def record(conn, rel, match, size, sha, received, started, status, code, reason, *,
           load_id=None, rows_read=0, rows_loaded=0, rows_quarantined=0, repairs=(), duplicate_of=None,
           totals=(None, None)) -> Outcome:
    """Write a file's ledger row (in the caller's transaction) and return its outcome."""
    if load_id is None:
        load_id = conn.execute("select nextval('audit.load_id_seq')").fetchone()[0]
    sender = match.sender if match else rel.split("/")[0]
    unit = match.unit if match else (rel.split("/")[1] if rel.count("/") > 1 else "")
    target = archive_path(rel, status, load_id)
    conn.execute(
        "insert into audit.load (load_id, sender, unit, feed, period, file, size_bytes, sha256, received_at, "
        "started_at, finished_at, rows_read, rows_loaded, rows_quarantined, status, reason_code, reason, "
        "repairs, notes, duplicate_of, archived_to, quality, loader_version, control_totals, amounts_loaded) values "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (load_id, sender, unit, match.feed.name if match else None, match.period if match else None, rel, size,
         sha, received, started, rows_read, rows_loaded, rows_quarantined, status, code,
         reason if status != "loaded" else None, list(repairs), reason if status == "loaded" else None,
         duplicate_of, target, "pending" if status == "loaded" else "none", loader_version(),
         *(Jsonb(t) if t is not None else None for t in totals)))
    return Outcome(rel, sender, unit, match.feed.name if match else None, match.period if match else None,
                   status, rows_read, rows_loaded, rows_quarantined, reason, code, load_id, list(repairs), target)


def latest(conn, rel: str) -> Outcome:
    """The ledger's last word on a file (handled by another task or an earlier run)."""
    row = conn.execute("select max(load_id) from audit.load where file = %s", (rel,)).fetchone()
    if row[0] is None:
        raise FileNotFoundError(f"{rel} tidak ada di folder kiriman maupun di buku besar")
    found = outcome(conn, row[0])
    found.recovered = True
    return found


def outcome(conn, load_id: int) -> Outcome:
    r = conn.execute(
        "select file, sender, unit, feed, period, status, rows_read, rows_loaded, rows_quarantined, "
        "coalesce(reason, notes), reason_code, load_id, repairs, archived_to from audit.load where load_id = %s",
        (load_id,)).fetchone()
    return Outcome(*r[:12], list(r[12]), r[13])


def mark_moved(conn, load_id: int) -> None:
    """The file has left the landing folder: a rerun that finds it committed has nothing to finish."""
    conn.execute("update audit.load set moved_at = now() where load_id = %s", (load_id,))


def archive_path(rel: str, status: str, load_id: int) -> str:
    folder, _, name = rel.rpartition("/")
    return f"{MOVED_TO[status]}/{folder}/{load_id:08d}_{name}"


LEDGER_COLUMNS = ["load_id", "sender", "unit", "feed", "period", "file", "status", "rows_read", "rows_loaded",
                  "rows_quarantined", "quality", "reason_code", "reason", "sha256", "finished_at"]


def ledger(conn, status: str | None = None, sender: str | None = None, limit: int = 200) -> list[dict]:
    rows = conn.execute(
        f"select {', '.join(LEDGER_COLUMNS[:-3])}, coalesce(reason, notes), sha256, finished_at from audit.load "
        "where (%(status)s::text is null or status = %(status)s) and (%(sender)s::text is null or sender = %(sender)s) "
        "order by load_id desc limit %(limit)s", dict(status=status, sender=sender, limit=limit)).fetchall()
    return [dict(zip(LEDGER_COLUMNS, r)) for r in rows]


def summary(conn) -> list[dict]:
    """Per sender and status: files and rows."""
    rows = conn.execute(
        "select sender, status, count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from audit.load "
        "group by sender, status order by sender, status").fetchall()
    return [dict(zip(["sender", "status", "files", "rows_read", "rows_loaded", "rows_quarantined"], r)) for r in rows]


def quarantine_by_reason(conn, file: str | None = None) -> list[dict]:
    rows = conn.execute(
        "select l.file, q.reason, count(*), min(q.message) from audit.quarantine q join audit.load l using (load_id) "
        "where %(file)s::text is null or l.file = %(file)s group by l.file, q.reason order by l.file, q.reason",
        dict(file=file)).fetchall()
    return [dict(zip(["file", "reason", "rows", "example"], r)) for r in rows]


def quarantined_rows(conn, file: str, reason: str | None = None, limit: int = 100) -> list[dict]:
    rows = conn.execute(
        "select q.line, q.reason, q.column_name, q.message from audit.quarantine q join audit.load l using (load_id) "
        "where l.file = %(file)s and (%(reason)s::text is null or q.reason = %(reason)s) order by q.line limit %(limit)s",
        dict(file=file, reason=reason, limit=limit)).fetchall()
    return [dict(zip(["line", "reason", "column", "message"], r)) for r in rows]


class NotHeld(LookupError):
    pass


def release(conn, landing: Path, file: str, note: str) -> str:
    """Put a held file back in the landing folder and let its hold checks pass on the next load."""
    row = conn.execute("select sha256, archived_to from audit.load where file = %s and status = 'held' "
                       "order by load_id desc limit 1", (file,)).fetchone()
    if not row:
        raise NotHeld(f"{file} tidak sedang ditahan; lihat `sinergi ledger --status held`")
    sha, held_at = row
    with conn.transaction():
        conn.execute("insert into audit.release (sha256, note) values (%s, %s) on conflict (sha256) do update "
                     "set note = excluded.note, released_at = now()", (sha, note))
    src, dst = Path(landing) / held_at, Path(landing) / file
    if src.exists():
        shutil.move(str(src), str(dst))
        for extra in (".ctl", ".alasan.txt"):
            side = Path(str(src) + extra)
            if side.exists() and extra == ".ctl":
                shutil.move(str(side), str(dst) + extra)
            elif side.exists():
                side.unlink()
    return str(dst)
