"""Read the load ledger and the quarantine, and release held files: what engineers and auditors ask."""
from __future__ import annotations

import shutil
from pathlib import Path

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
