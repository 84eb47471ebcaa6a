"""A large BPJS `peserta` CSV made by repeating a generated one with fresh card numbers and NIKs.

For the ingestion benchmark and the crash test: they need one file of a million rows without
generating a whole national world. Each copy carries its own KPJs and its own NIKs (the names repeat,
as names do): a file of repeated people would flatter a loader that keeps one vault row per person.
"""
from __future__ import annotations

from pathlib import Path

# The NIK column's names in a BPJS file (ingestion/contracts.yml's aliases; the simulator does not
# import the product).
NIK_HEADERS = (b"NIK", b"No NIK")
SERIAL_DIGITS = 4  # NIK = PPKKCC + DDMMYY + SSSS: only the serial changes, the NIK stays valid-looking


def big_peserta(source: Path, target: Path, rows: int) -> int:
    """Write `rows` data rows to `target` (same header, encoding and layout as `source`); return rows."""
    raw = Path(source).read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    header, *body = raw[len(bom):].split(b"\n")
    body = [line for line in body if line]
    nik_at = _nik_column(header)
    stride = _serial_stride(body, nik_at, copies=-(-rows // len(body)))
    written = 0
    with open(target, "wb") as out:
        out.write(bom + header + b"\n")
        copy = 0
        while written < rows:
            for line in body[: rows - written]:
                fields = line.split(b";")
                # 15-digit card numbers never used by the generator (11 digits): unique per copy and row.
                fields[0] = b"%015d" % (10**14 + written)
                fields[nik_at] = _copy_nik(fields[nik_at], copy * stride)
                out.write(b";".join(fields) + b"\n")
                written += 1
            copy += 1
    return written


def _nik_column(header: bytes) -> int:
    names = [name.strip().strip(b'"') for name in header.rstrip(b"\r").split(b";")]
    return next(i for i, name in enumerate(names) if name in NIK_HEADERS)


def _serial_stride(body: list[bytes], nik_at: int, copies: int) -> int:
    """One more than the source's largest NIK serial: copy c adds c * stride to every serial, so no two
    copies share a NIK and copy 0 keeps the source's own. Fails if the copies do not fit in 4 digits."""
    nik_fields = (line.split(b";")[nik_at] for line in body)
    stride = 1 + max((int(f[-SERIAL_DIGITS:]) for f in nik_fields if _is_nik(f)), default=0)
    if stride * copies > 10**SERIAL_DIGITS:
        raise ValueError(f"{copies} copies do not fit distinct NIK serials (source serials up to {stride - 1})")
    return stride


def _copy_nik(nik: bytes, shift: int) -> bytes:
    if not shift or not _is_nik(nik):  # a malformed NIK stays as the source has it
        return nik
    return nik[:-SERIAL_DIGITS] + b"%04d" % (int(nik[-SERIAL_DIGITS:]) + shift)


def _is_nik(field: bytes) -> bool:
    return len(field) == 16 and field.isdigit()
