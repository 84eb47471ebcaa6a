"""A large BPJS `peserta` CSV made by repeating a generated one with fresh card numbers.

For the ingestion benchmark and the crash test: they need one file of a million rows without
generating a whole national world.
"""
from __future__ import annotations

from pathlib import Path


def big_peserta(source: Path, target: Path, rows: int) -> int:
    """Write `rows` data rows to `target` (same header, encoding and layout as `source`); return rows."""
    raw = Path(source).read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    header, *body = raw[len(bom):].split(b"\n")
    body = [line for line in body if line]
    written = 0
    with open(target, "wb") as out:
        out.write(bom + header + b"\n")
        while written < rows:
            for line in body[: rows - written]:
                kpj, rest = line.split(b";", 1)
                # 15-digit card numbers never used by the generator (11 digits): unique per copy and row.
                out.write(b"%015d;" % (10**14 + written) + rest + b"\n")
                written += 1
    return written
