"""Correct quarantined rows: an engineer fixes the lines a sender got wrong, and they load again.

`export()` writes the quarantined lines of one delivered file to a CSV (its reason, the raw text);
the engineer fills `teks_koreksi`; `apply()` writes a corrected delivery: the archived original with
those lines replaced, under the next `_vN` name of its family, into the landing folder, and records
each correction beside the quarantined row it answers (`audit.correction`). The next `sinergi load`
reads it like any re-delivery: it supersedes the original, and its rows are checked again.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import os
import re
from pathlib import Path

from .contracts import Contracts

COLUMNS = ["muatan", "baris", "alasan", "kolom", "keterangan", "teks_asli", "teks_koreksi"]


class CannotCorrect(ValueError):
    """The correction cannot be made (a message in Bahasa says why and what to do instead)."""


def export(conn, file: str, out: Path) -> int:
    """The quarantined lines of the latest load of `file`, with their raw text, as a CSV to fill in."""
    load_id = _latest_load(conn, file)
    rows = conn.execute(
        "select q.load_id, q.line, q.reason, q.column_name, q.message, t.raw_text from audit.quarantine q "
        "left join vault.quarantine_text t using (load_id, line) where q.load_id = %s order by q.line",
        (load_id,)).fetchall()
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows((*r, "") for r in rows)
    os.chmod(out, 0o600)  # the raw lines hold NIKs and names
    return len(rows)


def apply(conn, landing: Path, contracts: Contracts, corrections: Path, note: str) -> str:
    """Write the corrected delivery into the landing folder; return its path relative to the folder."""
    if not note.strip():
        raise CannotCorrect("isi --note: siapa yang mengonfirmasi koreksi ini dan atas dasar apa")
    fixes = _read(corrections)
    load_ids = {load_id for load_id, _ in fixes}
    if len(load_ids) != 1:
        raise CannotCorrect("satu berkas koreksi untuk satu muatan: kolom `muatan` harus sama di semua baris")
    (load_id,) = load_ids
    row = conn.execute("select file, status, archived_to, superseded_by from audit.load where load_id = %s",
                       (load_id,)).fetchone()
    if not row or row[1] not in ("loaded", "superseded"):
        raise CannotCorrect(f"muatan {load_id} tidak ada atau tidak dimuat; koreksi hanya untuk baris karantina "
                            f"dari berkas yang dimuat")
    file, _, archived_to, superseded_by = row
    if superseded_by is not None:
        raise CannotCorrect(f"{file} (muatan {load_id}) sudah digantikan muatan {superseded_by}; koreksi baris "
                            f"karantina berkas yang terbaru")
    quarantined = {r[0] for r in conn.execute("select line from audit.quarantine where load_id = %s", (load_id,))}
    stray = sorted(line for _, line in fixes if line not in quarantined)
    if stray:
        raise CannotCorrect(f"baris {', '.join(map(str, stray[:10]))} tidak dikarantina di muatan {load_id}; "
                            f"hanya baris karantina yang dapat dikoreksi")
    match = contracts.match(file)
    if match.format.kind == "xlsx":
        raise CannotCorrect("berkas Excel tidak dikoreksi per baris; minta pengirim mengirim ulang, atau perbaiki "
                            "berkasnya dan letakkan sebagai kiriman baru (`_vN`)")
    original = Path(landing) / archived_to
    if not original.exists():
        raise CannotCorrect(f"arsip {archived_to} tidak ditemukan di folder kiriman {landing}")
    data = _replace_lines(_read_bytes(original, match.format.gzip), fixes)
    target = _next_variant(landing, contracts, file)
    path = Path(landing) / target
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if match.format.gzip else data)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany("insert into audit.correction (load_id, line, corrected_text, corrected_file, "
                            "corrected_sha256, note) values (%s, %s, %s, %s, %s, %s)",
                            [(load_id, line, text, target, sha, note) for (_, line), text in fixes.items()])
        # Its control file (Mandiri's .ctl) and its size hold belong to the original: released.
        conn.execute("insert into audit.release (sha256, note) values (%s, %s) on conflict (sha256) do update "
                     "set note = excluded.note, released_at = now()", (sha, f"koreksi muatan {load_id}: {note}"))
    return target


def is_correction(conn, sha: str) -> bool:
    return conn.execute("select 1 from audit.correction where corrected_sha256 = %s limit 1", (sha,)).fetchone() \
        is not None


def _latest_load(conn, file: str) -> int:
    row = conn.execute("select max(load_id) from audit.load where file = %s and status in ('loaded', 'superseded')",
                       (file,)).fetchone()
    if row[0] is None:
        raise CannotCorrect(f"{file} belum pernah dimuat; lihat `sinergi ledger`")
    return row[0]


def _read(corrections: Path) -> dict[tuple[int, int], str]:
    fixes = {}
    with open(corrections, newline="", encoding="utf-8-sig") as f:
        for number, row in enumerate(csv.DictReader(f), start=2):
            text = (row.get("teks_koreksi") or "").strip("\r\n")
            if not text:
                continue
            try:
                fixes[(int(row["muatan"]), int(row["baris"]))] = text
            except (KeyError, TypeError, ValueError):
                raise CannotCorrect(f"baris {number} berkas koreksi: kolom `muatan` dan `baris` harus angka") from None
    if not fixes:
        raise CannotCorrect("tidak ada baris dengan `teks_koreksi` terisi; isi kolom itu untuk baris yang diperbaiki")
    return fixes


def _read_bytes(path: Path, gzipped: bool) -> bytes:
    return gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()


def _replace_lines(data: bytes, fixes: dict[tuple[int, int], str]) -> bytes:
    """The file's lines (numbered from 1, as the loader numbers them) with the corrected ones in place, in
    the file's own encoding and line ends."""
    try:
        data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    lines = data.splitlines(keepends=True)
    for (_, line), text in fixes.items():
        if line > len(lines):
            raise CannotCorrect(f"baris {line} tidak ada di berkas ({len(lines)} baris)")
        old = lines[line - 1]
        end = old[len(old.rstrip(b"\r\n")):] or b"\n"
        lines[line - 1] = text.encode(encoding, errors="strict") + end
    return b"".join(lines)


def _next_variant(landing: Path, contracts: Contracts, file: str) -> str:
    """`K1301_peserta_202401.csv` -> `K1301_peserta_202401_v2.csv` (or the next free `_vN`)."""
    match = contracts.match(file)
    folder, _, name = file.rpartition("/")
    stem_end = name.index(match.period) + len(match.period)
    stem, ext = name[:stem_end], re.sub(r"^(_v\d+| \(\d+\))", "", name[stem_end:])
    taken = {p.name for p in Path(landing).rglob(f"*{stem}*")}
    version = 2
    while any(f"{stem}_v{version}{ext}" in t for t in taken):
        version += 1
    return f"{folder}/{stem}_v{version}{ext}"
