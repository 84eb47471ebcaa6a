"""What becomes of a delivered file, decided around its rows: its digest, a twin of an earlier delivery,
its control file, a snapshot that shrank, a period that came late, and which delivery of a family stands.

Each decision is a small function: the pure ones (digest, control file, quiet day) need only the file,
the others read or update the ledger (`audit.load`) in the caller's transaction. `loader.py` calls them in
order; a decision that stops a file raises `FileProblem` with its status (`rejected` or `held`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .contracts import Match
from .readers import FileProblem


def digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in 4 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def twin(conn, rel: str, match: Match, sha: str) -> tuple[int, str] | None:
    """An earlier delivery with the same bytes for the same family and period (or under the same name):
    its load id and file. A snapshot that did not change since yesterday has yesterday's bytes but is
    today's delivery (another period): it is no twin, it loads."""
    return conn.execute(
        "select load_id, file from audit.load where sha256 = %s and status in ('loaded', 'superseded') "
        "and (file = %s or (sender, unit, feed, period) = (%s, %s, %s, %s)) order by load_id limit 1",
        (sha, rel, match.sender, match.unit, match.feed.name, match.period)).fetchone()


def quiet_day_possible(match: Match) -> bool:
    """An increment in JSON Lines without a control line has no header: on a quiet day it is empty."""
    fmt = match.format
    return fmt.kind == "jsonl" and not fmt.control_line and match.feed.kind == "increment"


def control_totals(path: Path, match: Match, sha: str, released: bool) -> dict:
    """The totals a separate control file declares (`<file><suffix>`: `sha256=` and `records=`). A file
    whose control file has not come yet is held until it comes, unless an engineer released it."""
    spec = match.format.control_file
    if not spec:
        return {}
    ctl = Path(str(path) + spec.suffix)
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


def check_size(conn, match: Match, rows_read: int, released: bool, min_ratio: float) -> None:
    """A snapshot far smaller than the family's previous one is most likely a broken export: held until
    an engineer confirms it (`sinergi release`)."""
    if match.feed.kind != "snapshot" or released:
        return
    prev = conn.execute(
        "select rows_read, file from audit.load where sender = %s and unit = %s and feed = %s "
        "and status in ('loaded', 'superseded') and period < %s order by period desc, load_id desc limit 1",
        (match.sender, match.unit, match.feed.name, match.period)).fetchone()
    if prev and rows_read < min_ratio * prev[0]:
        problem = FileProblem("snapshot_shrunk",
                              f"snapshot hanya {rows_read} baris, sebelumnya {prev[0]} ({prev[1]}): kemungkinan "
                              f"ekspor rusak; ditahan sampai dikonfirmasi", status="held")
        problem.rows_read = rows_read
        raise problem


def order_notes(conn, match: Match) -> list[str]:
    """A note when a later period of the family has loaded already (deliveries out of order)."""
    later = conn.execute(
        "select max(period) from audit.load where sender = %s and unit = %s and feed = %s "
        "and status = 'loaded' and period > %s", (match.sender, match.unit, match.feed.name, match.period)
    ).fetchone()[0]
    return [f"datang sesudah periode {later} (urutan terbalik)"] if later else []


def supersede(conn, match: Match, load_id: int, received) -> str:
    """Of the files loaded for one family and period, the one delivered last stands; the others stay,
    marked superseded. Delivery time decides, not load order, so a late-loaded original cannot win.
    Returns the new load's status: `superseded` when a later delivery is already loaded, else `loaded`."""
    family = (match.sender, match.unit, match.feed.name, match.period)
    newer = conn.execute(
        "select load_id, file from audit.load where sender = %s and unit = %s and feed = %s and period = %s "
        "and status = 'loaded' and load_id <> %s and received_at > %s order by received_at desc limit 1",
        (*family, load_id, received)).fetchone()
    if newer:
        conn.execute("update audit.load set status = 'superseded', superseded_by = %s, notes = "
                     "concat_ws('; ', notes, %s::text) where load_id = %s",
                     (newer[0], f"sudah digantikan {newer[1]} yang dikirim kemudian", load_id))
        return "superseded"
    older = conn.execute(
        "update audit.load set status = 'superseded', superseded_by = %s where sender = %s and unit = %s "
        "and feed = %s and period = %s and status = 'loaded' and load_id <> %s returning file",
        (load_id, *family, load_id)).fetchall()
    if older:
        conn.execute("update audit.load set notes = concat_ws('; ', notes, %s::text) where load_id = %s",
                     (f"menggantikan {', '.join(r[0] for r in older)}", load_id))
    return "loaded"
