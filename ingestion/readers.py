"""Stream a delivered file as chunks of text columns named by the contract, whatever its layout.

A reader maps the header to contract columns, yields `Chunk`s (line numbers and one Arrow string
array per column), collects rows it cannot split into fields (`structural`), and records what it
learns about the whole file in `facts` (control totals, repairs such as a BOM or another encoding).
Whole-file problems raise `FileProblem`. Nothing here holds more than one chunk of rows.

Nothing a sender delivers may stop a load with a traceback: a row the reader cannot pass on (a NUL
byte, a line longer than any real row) is set aside with its line number, a file that cannot be read
(not text, a decompression bomb, a duplicated column, an impossible period) raises `FileProblem`, and
any other error inside a reader becomes `FileProblem("unreadable")` naming the error's class, never its
text (which may hold a NIK or a name).
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from . import contracts as contracts_mod
from .contracts import Feed, Format, normalise_label

CHUNK_ROWS = 65_536
BLOCK_BYTES = 1 << 22
# Arrow's CSV reader is fed 1 MB blocks, gathered into chunks of CHUNK_ROWS: with larger blocks its
# memory grew with the file (measured: +48 MB from 0.5M to 1M rows with 4 MB blocks, flat with 1 MB).
CSV_BLOCK_BYTES = 1 << 20
# No real row comes near this; a longer line is set aside (`line_too_long`). It stays well below
# Arrow's block so that even a Windows-1252 line turned into UTF-8 (up to 3 bytes a byte) fits one block.
MAX_LINE_BYTES = 1 << 18
# What is kept of a line set aside for its length (the vault's raw text), in bytes.
PREFIX_BYTES = 200


class FileProblem(Exception):
    """The file as a whole cannot be taken: `status` is rejected or held, `kind` the reason code."""

    def __init__(self, kind: str, message: str, status: str = "rejected"):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


@dataclass
class Chunk:
    lines: np.ndarray
    columns: dict[str, pa.Array]


@dataclass
class Facts:
    encoding: str = "utf-8"                                  # utf-8 | cp1252 | mixed (each line its own)
    repairs: list[str] = field(default_factory=list)         # file-level repair kinds
    notes: list[str] = field(default_factory=list)           # what a person should know
    control: dict = field(default_factory=dict)              # {"records": n, "<column>": sum} as declared by the sender
    structural: list[tuple] = field(default_factory=list)    # (line, reason, message, raw text)
    # Amount sums of rows set aside whole that the reader could still parse (JSON records with a NUL):
    # they belong to the sender's control totals like any row read. CSV rows need none: the loader
    # sums their raw text by `positions`.
    set_aside_sums: dict = field(default_factory=dict)


def map_header(labels: list[str], feed: Feed, facts: Facts, skip: set[str] = frozenset(),
               excel: bool = False) -> dict[str, int]:
    """Contract column -> position. Unknown labels are noted; a missing column rejects the file, and so
    does a column given twice (which of the two holds the data is a guess)."""
    index, known = feed.label_index(), _known_spellings(feed)
    positions, extra = {}, []
    for pos, label in enumerate(labels):
        norm = normalise_label(label)
        if norm in skip or label is None or norm == "":
            continue
        col = index.get(norm)
        if col is None:
            extra.append(str(label))
            continue
        if col in positions:
            first = positions[col]
            raise FileProblem("duplicate_column",
                              f"kolom {col} muncul dua kali di baris judul: {labels[first]!r} (kolom "
                              f"{_column_name(first, excel)}) dan {label!r} (kolom {_column_name(pos, excel)}); "
                              f"tidak jelas mana yang berisi data. Minta pengirim menghapus kolom ganda lalu "
                              f"mengirim ulang")
        positions[col] = pos
        if _spelling(label) not in known:
            facts.repairs.append("header_renamed")
            facts.notes.append(f"label kolom {label!r} dibaca sebagai {col}")
    missing = [c for c in feed.columns if c not in positions]
    if missing:
        raise FileProblem("missing_column", f"kolom wajib tidak ada: {', '.join(missing)}")
    if extra:
        facts.repairs.append("column_added")
        facts.notes.append(f"kolom tambahan diabaikan: {', '.join(extra)}")
    return positions


def _column_name(pos: int, excel: bool) -> str:
    """Position as a person finds it: `ke-3` in a text file, `C` in Excel."""
    if not excel:
        return f"ke-{pos + 1}"
    name, n = "", pos + 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def _known_spellings(feed: Feed) -> set[str]:
    return {_spelling(label) for col in feed.columns.values() for label in (col.name, *col.labels)}


def _spelling(label) -> str:
    """Case and underscores are a branch's habit; other differences (spacing, wording) are a rename."""
    return str(label).strip().lower().replace("_", " ")


# --- bytes ------------------------------------------------------------------------------------------

class _Inflated(io.RawIOBase):
    """A gzip member stream that refuses to inflate past its limit (`decompression_bomb`)."""

    def __init__(self, path: Path, limit: int, compressed: int):
        self.gz = gzip.GzipFile(path, "rb")
        self.limit, self.compressed, self.total = limit, compressed, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.gz.readinto(buffer)
        self.total += n
        if self.total > self.limit:
            raise FileProblem(
                "decompression_bomb",
                f"berkas gzip mengembang lebih dari {_size(self.limit)} (lebih dari "
                f"{self.limit / max(self.compressed, 1):,.0f} kali ukuran terkompresinya, {_size(self.compressed)}); "
                f"pembacaan dihentikan. Kemungkinan bom dekompresi atau ekspor rusak: jangan dibuka manual, "
                f"minta pengirim memeriksa dan mengirim ulang (batas di `inflate:` ingestion/contracts.yml)")
        return n

    def close(self) -> None:
        self.gz.close()
        super().close()


def _size(n: float) -> str:
    for unit in ("byte", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "byte" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def open_bytes(path: Path, fmt: Format):
    """The file's decompressed bytes as a stream; a gzip stream stops at the limits of `inflate:`."""
    if not fmt.gzip:
        return open(path, "rb")
    compressed = os.path.getsize(path)
    limit = contracts_mod.load().inflate.limit(compressed)
    return io.BufferedReader(_Inflated(Path(path), limit, compressed), buffer_size=1 << 20)


def _read_line(f, limit: int = MAX_LINE_BYTES) -> tuple[bytes, int]:
    """The next line (with its line end) and its length; a line longer than `limit` is read past in
    bounded pieces and only its first `limit` bytes are returned. b"" at the end."""
    line = f.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return line, len(line)
    length = len(line)
    while piece := f.readline(1 << 20):
        length += len(piece)
        if piece.endswith(b"\n"):
            break
    return line[:limit], length


_MAGIC = ((b"%PDF", "PDF"), (b"PK\x03\x04", "arsip ZIP atau Excel .xlsx"),
          (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel lama .xls atau dokumen Office"),
          (b"\x1f\x8b", "arsip gzip"), (b"\x89PNG", "gambar PNG"), (b"\xff\xd8\xff", "gambar JPEG"),
          (b"Rar!", "arsip RAR"), (b"7z\xbc\xaf", "arsip 7z"), (b"\xff\xfe", "teks UTF-16"),
          (b"\xfe\xff", "teks UTF-16"))
_TEXT_CONTROLS = set(b"\t\n\r\f\x1a")


def sniff(head: bytes) -> str | None:
    """What a file that should be text is instead, from its first bytes; None when it looks like text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "halaman HTML"
    if head:
        controls = sum(1 for b in head if b < 32 and b not in _TEXT_CONTROLS)
        if controls > len(head) // 10:
            return "berkas biner"
    return None


def check_text(path: Path, fmt: Format, what: str) -> None:
    """Refuse, with what it seems to be, a file that is not the text its format says (`not_text`)."""
    if fmt.gzip:
        with open(path, "rb") as f:
            raw = f.read(8192)
        if raw and not raw.startswith(b"\x1f\x8b"):
            seems = sniff(raw) or "teks biasa tanpa kompresi"
            raise FileProblem("not_text", f"berkas bukan {what} terkompresi gzip (tampaknya {seems}); minta "
                                          f"pengirim mengirim ulang dalam format yang disepakati")
    try:
        with open_bytes(path, fmt) as f:
            head = f.read(8192)
    except (EOFError, OSError, zlib_error) as exc:
        raise FileProblem("file_truncated", f"berkas terpotong atau rusak ({_describe(exc)})") from None
    seems = sniff(head)
    if seems:
        raise FileProblem("not_text", f"berkas bukan {what} teks (tampaknya {seems}); minta pengirim mengekspor "
                                      f"ulang laporan sebagai {what} lalu mengirim ulang")


try:
    from zlib import error as zlib_error
except ImportError:  # pragma: no cover
    zlib_error = OSError


def detect_encoding(path: Path, fmt: Format, facts: Facts) -> str:
    """UTF-8 when the bytes are valid UTF-8; else Windows-1252 (a repair if the sender declared UTF-8);
    `mixed` when some lines are UTF-8 and others Windows-1252: each line is then read in its own, so no
    name becomes mojibake (`JOSÃ‰`)."""
    decoder = __import__("codecs").getincrementaldecoder("utf-8")()
    with open_bytes(path, fmt) as f:
        try:
            while block := f.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        except (EOFError, OSError, zlib_error) as exc:
            raise FileProblem("file_truncated", f"berkas terpotong atau rusak ({_describe(exc)})") from None
    utf8, cp1252 = 0, []
    with open_bytes(path, fmt) as f:
        for number, line in _lines_of(f):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8 += 1
            except UnicodeDecodeError:
                cp1252.append(number)
    if utf8 and cp1252:
        shown = ", ".join(str(n) for n in cp1252[:5]) + (", ..." if len(cp1252) > 5 else "")
        facts.repairs.append("encoding_mixed")
        facts.notes.append(f"{len(cp1252)} baris ditulis dalam Windows-1252 (baris {shown}), baris lain dalam "
                           f"UTF-8; tiap baris dibaca dengan pengodeannya sendiri")
        return "mixed"
    if fmt.encoding != "auto":
        facts.repairs.append("encoding_wrong")
        facts.notes.append("berkas ditulis dalam Windows-1252, bukan UTF-8; dibaca sebagai Windows-1252")
    return "cp1252"


def _lines_of(f) -> Iterator[tuple[int, bytes]]:
    """(number, line) of a byte stream split at LF, read in blocks; a line longer than MAX_LINE_BYTES is
    passed over (memory stays flat whatever the file)."""
    number, carry, skipping = 0, b"", False
    while block := f.read(BLOCK_BYTES):
        if skipping:
            end = block.find(b"\n")
            if end < 0:
                continue
            number += 1
            block, skipping = block[end + 1:], False
        data = carry + block if carry else block
        cut = data.rfind(b"\n") + 1
        lines, carry = data[:cut].split(b"\n")[:-1], data[cut:]
        for i, line in enumerate(lines, start=number + 1):
            if len(line) <= MAX_LINE_BYTES:
                yield i, line
        number += len(lines)
        if len(carry) > MAX_LINE_BYTES:
            carry, skipping = b"", True
    if carry and not skipping:
        yield number + 1, carry


def decode_line(raw: bytes, encoding: str) -> str:
    """One line as text: `mixed` reads it as UTF-8 when it is valid UTF-8, else as Windows-1252."""
    if encoding == "mixed":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")
    return raw.decode(encoding, errors="replace")


def safe_text(text: str) -> str:
    """Text PostgreSQL can store: a NUL (never meaningful in text) becomes U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _to_utf8(segment: bytes, encoding: str) -> bytes:
    if encoding == "utf-8" or segment.isascii():
        return segment
    if encoding == "cp1252":
        return segment.decode("cp1252", errors="replace").encode("utf-8")
    try:
        segment.decode("utf-8")
        return segment
    except UnicodeDecodeError:
        return b"\n".join(decode_line(line, "mixed").encode("utf-8") for line in segment.split(b"\n"))


def check_complete(path: Path, fmt: Format) -> None:
    """A text file that does not end with a line end was cut off mid-row."""
    if fmt.gzip or fmt.kind == "xlsx" or path.stat().st_size == 0:
        return
    with open(path, "rb") as f:
        f.seek(-1, 2)
        if f.read(1) != b"\n":
            raise FileProblem("file_truncated", "berkas terpotong di tengah baris (baris terakhir tanpa akhir baris)")


# What Arrow sees in place of a line set aside for its length: a one-field row, so its invalid-row
# handler reports it with its line number (no line counting here, which would cost a pass per block).
_LONG_MARK = "\x1fsinergi:line-too-long\x1f"


class _LineGuard(io.RawIOBase):
    """The bytes Arrow parses, as UTF-8, with the lines no parser should see taken out.

    A line longer than `limit` bytes is replaced by `_LONG_MARK` and kept in `long` as (first bytes,
    length), in file order; Arrow would otherwise stop the whole file at it ("straddling object").
    Lines end at LF, CR LF or a lone CR, as for Arrow. `saw_nul` tells whether a NUL byte went through
    (the reader then looks for the rows that hold one).
    """

    def __init__(self, source, encoding: str, limit: int = MAX_LINE_BYTES):
        self.source, self.encoding, self.limit = source, encoding, limit
        self.pending = b""
        self.skipping: list | None = None   # [prefix, length so far] of a line being set aside
        self.drop_lf = False
        self.ready: list[bytes] = []
        self.leftover = b""
        self.eof = False
        self.long: collections.deque = collections.deque()
        self.saw_nul = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        parts, size = [], 0
        if self.leftover:
            parts.append(self.leftover)
            size, self.leftover = len(self.leftover), b""
        while (n < 0 or size < n) and not (self.eof and not self.ready):
            if not self.ready:
                self._fill()
                continue
            segment = self.ready.pop(0)
            parts.append(segment)
            size += len(segment)
        data = b"".join(parts)
        if 0 <= n < len(data):
            data, self.leftover = data[:n], data[n:]
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _fill(self) -> None:
        block = self.source.read(self.limit)
        if not block:
            self.eof = True
            if self.skipping:
                self._set_aside(*self.skipping)
            elif self.pending:
                self._emit(self.pending)
            self.pending = b""
            return
        if self.drop_lf:
            self.drop_lf = False
            if block.startswith(b"\n"):
                block = block[1:]
        if self.skipping:
            end = _first_eol(block, 0, len(block))
            if end < 0:
                self.skipping[1] += len(block)
                return
            self._set_aside(self.skipping[0], self.skipping[1] + end)
            self.skipping = None
            stop = end + 1
            if block[end:end + 2] == b"\r\n":
                stop += 1
            elif block[end:end + 1] == b"\r" and end == len(block) - 1:
                self.drop_lf = True
            block = block[stop:]
        data = self.pending + block if self.pending else block
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last == len(data) - 1 and data.endswith(b"\r"):
            # Hold a final CR back: the next block may start with its LF.
            last = max(data.rfind(b"\n", 0, last), data.rfind(b"\r", 0, last))
        if last < 0:
            body = len(data) - data.endswith(b"\r")
            if body <= self.limit:
                self.pending = data
            elif body < len(data):    # a long line ending at the block's final CR (an LF may follow)
                self._set_aside(data[:min(PREFIX_BYTES, body)], body)
                self.pending, self.drop_lf = b"", True
            else:
                self.skipping, self.pending = [data[:PREFIX_BYTES], len(data)], b""
            return
        start = 0
        first = _first_eol(data, 0, last + 1)
        if first > self.limit:
            # Lines after the first lie inside this block, shorter than the limit: only the first can be long.
            self._set_aside(data[:min(PREFIX_BYTES, first)], first)
            start = first + (2 if data[first:first + 2] == b"\r\n" else 1)
        if start <= last:
            self._emit(data[start:last + 1] if start or last + 1 < len(data) else data)
        self.pending = data[last + 1:]

    def _emit(self, segment: bytes) -> None:
        if b"\x00" in segment:
            self.saw_nul = True
        self.ready.append(_to_utf8(segment, self.encoding))

    def _set_aside(self, prefix: bytes, length: int) -> None:
        self.long.append((prefix, length))
        self.ready.append(_LONG_MARK.encode() + b"\n")


def _first_eol(data: bytes, start: int, stop: int) -> int:
    lf, cr = data.find(b"\n", start, stop), data.find(b"\r", start, stop)
    return lf if cr < 0 else cr if lf < 0 else min(lf, cr)


def _too_long(line: int, length: int) -> str:
    return (f"baris {line} sepanjang {_size(length)}, jauh melebihi baris mana pun ({_size(MAX_LINE_BYTES)} paling "
            f"banyak); kemungkinan akhir baris hilang atau isi rusak. Baris disisihkan, baris lain dimuat: minta "
            f"pengirim memeriksa baris ini")


# --- readers ---------------------------------------------------------------------------------------

class _Reader:
    """What every reader shares: any error it did not foresee becomes `FileProblem("unreadable")`."""

    def __init__(self, path: Path, feed: Feed, fmt: Format):
        self.path, self.feed, self.fmt, self.facts = Path(path), feed, fmt, Facts()
        self.last_line = 0

    def chunks(self) -> Iterator[Chunk]:
        try:
            for chunk in self._chunks():
                if len(chunk.lines):
                    self.last_line = int(chunk.lines[-1])
                yield chunk
        except (FileProblem, MemoryError):
            raise
        except Exception as exc:
            after = f" sesudah baris {self.last_line}" if self.last_line else ""
            raise FileProblem("unreadable", f"berkas tidak dapat dibaca{after}: galat tak terduga di pembaca "
                                            f"({_describe(exc)}). Periksa apakah berkas utuh dan sesuai format; jika "
                                            f"tampak benar, laporkan ke tim data beserta berkas di "
                                            f"_rejected/") from None

    def _chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError


_SAFE_MESSAGES = (EOFError, OSError, zlib_error, zipfile.BadZipFile, gzip.BadGzipFile)


def _describe(exc: BaseException) -> str:
    """The error's class and where it arose; its text only for errors that carry no row content
    (a NIK or a name must not reach the ledger, UU 27/2022)."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        where = f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    text = f"{type(exc).__name__}"
    if isinstance(exc, _SAFE_MESSAGES) and not isinstance(exc, UnicodeError):
        text += f": {str(exc)[:120]}"
    return f"{text} di {where}" if where and not isinstance(exc, _SAFE_MESSAGES) else text


class DelimitedReader(_Reader):
    def __init__(self, path: Path, feed: Feed, fmt: Format):
        super().__init__(path, feed, fmt)
        self.positions: dict[str, int] | None = None

    def _header(self) -> tuple[list[str], bytes]:
        with open_bytes(self.path, self.fmt) as f:
            first, length = _read_line(f)
        if length > MAX_LINE_BYTES:
            raise FileProblem("line_too_long", f"baris judul kolom (baris 1) sepanjang {_size(length)}: bukan "
                                               f"baris judul CSV; minta pengirim mengekspor ulang")
        if first.startswith(b"\xef\xbb\xbf"):
            if self.fmt.bom == "no":
                self.facts.repairs.append("bom")
                self.facts.notes.append("penanda BOM UTF-8 di awal berkas diabaikan")
            first = first[3:]
        if first.endswith(b"\r\n") and self.fmt.kind == "csv":
            self.facts.repairs.append("crlf")
            self.facts.notes.append("akhir baris Windows (CRLF) dibaca biasa")
        text = safe_text(decode_line(first, self.facts.encoding)).rstrip("\r\n")
        try:
            return next(csv.reader([text], delimiter=self.fmt.delimiter)), first
        except (csv.Error, StopIteration):
            raise FileProblem("missing_column", "baris judul kolom (baris 1) tidak terbaca sebagai CSV; minta "
                                                "pengirim mengekspor ulang") from None

    def _chunks(self) -> Iterator[Chunk]:
        check_text(self.path, self.fmt, "CSV")
        check_complete(self.path, self.fmt)
        self.facts.encoding = detect_encoding(self.path, self.fmt, self.facts)
        labels, _ = self._header()
        positions = self.positions = map_header(labels, self.feed, self.facts)
        width = len(labels)
        names = [f"c{i}" for i in range(width)]
        invalid: list[int] = []
        trailer = self.fmt.trailer
        guard: _LineGuard | None = None

        def on_invalid(row) -> str:
            text = row.text or ""
            if text.startswith(_LONG_MARK) and guard is not None and guard.long:
                invalid.append(row.number)
                prefix, length = guard.long.popleft()
                self.facts.structural.append((row.number, "line_too_long", _too_long(row.number, length),
                                              safe_text(decode_line(prefix, self.facts.encoding)) + " ..."))
                return "skip"
            if trailer and text.startswith(trailer.prefix + self.fmt.delimiter):
                self._trailer(row.number, text)
                return "skip"
            invalid.append(row.number)
            reason = "too_many_fields" if row.actual_columns > row.expected_columns else "too_few_fields"
            self.facts.structural.append((row.number, reason,
                                          f"{row.actual_columns} kolom, seharusnya {row.expected_columns}",
                                          safe_text(text)))
            return "skip"

        # A Python file object: given Arrow's own file stream, the reader reads ahead of the consumer
        # and its memory grows with the file. The guard hands Arrow UTF-8 whatever the file's encoding.
        source = open_bytes(self.path, self.fmt)
        guard = _LineGuard(source, self.facts.encoding)
        reader = pcsv.open_csv(
            guard,
            read_options=pcsv.ReadOptions(use_threads=False, skip_rows=1, column_names=names,
                                          block_size=CSV_BLOCK_BYTES, encoding="utf-8"),
            parse_options=pcsv.ParseOptions(delimiter=self.fmt.delimiter, newlines_in_values=False,
                                            ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=True, null_values=[""]))
        cursor = 2
        batches, numbers = [], []
        try:
            for batch in reader:
                lines, cursor = _next_lines(cursor, batch.num_rows, invalid)
                if guard.saw_nul:
                    batch, lines = self._set_aside(batch, lines, positions)
                batches.append(batch)
                numbers.append(lines)
                if sum(len(n) for n in numbers) >= CHUNK_ROWS:
                    yield _gathered(batches, numbers, positions)
                    batches, numbers = [], []
            if batches:
                yield _gathered(batches, numbers, positions)
        except (pa.ArrowInvalid, OSError, EOFError, zlib_error) as exc:
            raise FileProblem("file_truncated" if self.fmt.gzip else "unreadable",
                              f"berkas tidak dapat dibaca sampai selesai (sesudah baris {self.last_line}): "
                              f"{_arrow_reason(exc)}") from None
        finally:
            source.close()
        if guard.long:  # never seen by Arrow's handler: cannot be numbered, so the file is not taken
            raise FileProblem("line_too_long", f"{len(guard.long)} baris terlalu panjang tidak dapat dinomori; minta "
                                               f"pengirim memeriksa berkas dan mengirim ulang")
        if trailer and "records" not in self.facts.control:
            raise FileProblem("trailer_mismatch", "baris penutup (trailer) tidak ada")

    def _set_aside(self, batch, lines: np.ndarray, positions: dict[str, int]):
        """Take out of a parsed batch the rows with a NUL byte in a column that is stored (PostgreSQL text
        cannot hold one)."""
        nul = np.zeros(len(lines), dtype=bool)
        for pos in positions.values():
            nul |= pc.fill_null(pc.match_substring(batch.column(pos), "\x00"), False).to_numpy(zero_copy_only=False)
        if not nul.any():
            return batch, lines
        for i in np.flatnonzero(nul):
            values = [batch.column(j)[i].as_py() for j in range(batch.num_columns)]
            bad = [col for col, pos in positions.items() if values[pos] is not None and "\x00" in values[pos]]
            text = self.fmt.delimiter.join("" if v is None else v for v in values)
            self.facts.structural.append((int(lines[i]), "bad_bytes",
                                          f"karakter NUL (byte 0) di kolom {', '.join(bad)}, tidak dapat disimpan; "
                                          f"baris disisihkan, baris lain dimuat: minta pengirim memperbaiki "
                                          f"baris ini", safe_text(text)))
        return batch.filter(pa.array(~nul)), lines[~nul]

    def _trailer(self, line: int, text: str) -> None:
        parts = text.split(self.fmt.delimiter)[1:]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise FileProblem("trailer_mismatch",
                              f"trailer tidak terbaca di baris {line}: {safe_text(text)[:80]!r}") from None
        self.facts.control = dict(zip(self.fmt.trailer.fields, values))


def _arrow_reason(exc: BaseException) -> str:
    """Arrow's message without the row it quotes (which may hold personal data)."""
    if not isinstance(exc, pa.ArrowInvalid):
        return _describe(exc)
    text = ": ".join(str(exc).split("\n")[0].split(": ", 2)[:2])
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", text)[:160]


def _gathered(batches: list, numbers: list, positions: dict[str, int]) -> Chunk:
    """One chunk of the consecutive record batches read."""
    return Chunk(np.concatenate(numbers), {c: pa.concat_arrays([b.column(p) for b in batches])
                                           for c, p in positions.items()})


def _next_lines(cursor: int, n: int, invalid: list[int]) -> tuple[np.ndarray, int]:
    """Line numbers of the next n parsed rows: physical lines from cursor, skipping rows set aside."""
    if not n:
        return np.empty(0, dtype=np.int64), cursor
    candidates = np.arange(cursor, cursor + n + len(invalid), dtype=np.int64)
    lines = candidates[~np.isin(candidates, np.asarray(invalid, dtype=np.int64))][:n]
    return lines, int(lines[-1]) + 1


class JsonLinesReader(_Reader):
    def __init__(self, path: Path, feed: Feed, fmt: Format):
        super().__init__(path, feed, fmt)
        self.paths = fmt.paths or {c: c for c in feed.columns}

    def _chunks(self) -> Iterator[Chunk]:
        check_text(self.path, self.fmt, "JSON Lines")
        check_complete(self.path, self.fmt)
        control = self.fmt.control_line
        lines, rows = [], []
        checked_keys = False
        number = 0
        try:
            with open_bytes(self.path, self.fmt) as f:
                while True:
                    raw, length = _read_line(f)
                    if not raw:
                        break
                    number += 1
                    if length > MAX_LINE_BYTES:
                        prefix = safe_text(raw[:PREFIX_BYTES].decode("utf-8", "replace")) + " ..."
                        self.facts.structural.append((number, "line_too_long", _too_long(number, length), prefix))
                        continue
                    text = raw.decode("utf-8").rstrip("\r\n")
                    try:
                        record = json.loads(text)
                    except ValueError as exc:
                        self.facts.structural.append((number, "json_invalid", f"JSON tidak sah: {exc.msg}",
                                                      safe_text(text)))
                        continue
                    if control and isinstance(record, dict) and control.key in record:
                        self.facts.control = self._control(record[control.key], number)
                        continue
                    if not isinstance(record, dict):
                        self.facts.structural.append((number, "json_invalid", "baris bukan objek JSON",
                                                      safe_text(text)))
                        continue
                    if not checked_keys:
                        self._check_keys(record)
                        checked_keys = True
                    values = [_text(_dig(record, p)) for p in self.paths.values()]
                    bad = _unstorable(values, self.paths)
                    if bad:
                        self._set_aside(number, bad, values, text)
                        continue
                    lines.append(number)
                    rows.append(values)
                    if len(rows) == CHUNK_ROWS:
                        yield self._chunk(lines, rows)
                        lines, rows = [], []
        except (EOFError, OSError, zlib_error) as exc:
            raise FileProblem("file_truncated", f"berkas terpotong atau rusak ({_describe(exc)})") from None
        except UnicodeDecodeError:
            raise FileProblem("encoding", f"berkas JSON bukan UTF-8 (baris {number}); minta pengirim mengirim "
                                          f"ulang dalam UTF-8") from None
        if rows:
            yield self._chunk(lines, rows)
        if control and not self.facts.control:
            raise FileProblem("trailer_mismatch", "baris kontrol (_control) tidak ada")

    def _control(self, body, number: int) -> dict:
        """The control line's totals, each one present and a number (`control_invalid` otherwise)."""
        key, fields = self.fmt.control_line.key, self.fmt.control_line.fields
        if not isinstance(body, dict):
            raise FileProblem("control_invalid", f"baris kontrol {key} di baris {number} bukan objek JSON berisi "
                                                 f"{', '.join(fields)}; minta pengirim mengirim ulang berkas lengkap")
        missing = [k for k in fields if body.get(k) is None]
        if missing:
            raise FileProblem("control_invalid", f"baris kontrol {key} di baris {number} tidak memuat "
                                                 f"{', '.join(missing)}; isi berkas tidak dapat dicocokkan. Minta "
                                                 f"pengirim mengirim ulang berkas dengan baris kontrol lengkap")
        control = {}
        for k, name in fields.items():
            value = body[k]
            try:
                if isinstance(value, bool):
                    raise ValueError
                control[name] = float(value)
            except (TypeError, ValueError):
                raise FileProblem("control_invalid", f"baris kontrol {key} di baris {number}: {k} bukan angka; minta "
                                                     f"pengirim mengirim ulang berkas dengan baris kontrol yang "
                                                     f"benar") from None
        return control

    def _set_aside(self, number: int, bad: list[str], values: list, text: str) -> None:
        what = ("karakter NUL (\\u0000)" if any("\x00" in (v or "") for v in values)
                else "surrogate Unicode tanpa pasangan")
        self.facts.structural.append((number, "bad_bytes",
                                      f"{what} di kolom {', '.join(bad)}, tidak dapat disimpan; baris disisihkan, "
                                      f"baris lain dimuat: minta pengirim memperbaiki baris ini", safe_text(text)))
        for col, value in zip(self.paths, values):
            if self.feed.columns[col].type == "amount" and value is not None:
                try:
                    self.facts.set_aside_sums[col] = self.facts.set_aside_sums.get(col, 0.0) + float(value)
                except ValueError:
                    pass

    def _check_keys(self, record: dict) -> None:
        missing = [c for c, p in self.paths.items() if not _has(record, p)]
        if missing:
            raise FileProblem("missing_column", f"kolom wajib tidak ada: {', '.join(missing)}")

    def _chunk(self, lines: list[int], rows: list[list]) -> Chunk:
        cols = list(zip(*rows))
        return Chunk(np.asarray(lines, dtype=np.int64),
                     {c: pa.array(v, pa.string()) for c, v in zip(self.paths, cols)})


def _unstorable(values: list, paths: dict) -> list[str]:
    """Columns whose text PostgreSQL cannot store: a NUL (`\\u0000` is legal JSON) or a lone surrogate."""
    bad = []
    for col, value in zip(paths, values):
        if value is None or value.isascii() and "\x00" not in value:
            continue
        if "\x00" in value:
            bad.append(col)
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad.append(col)
    return bad


def _dig(record: dict, path: str):
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def _has(record: dict, path: str) -> bool:
    *parents, last = path.split(".")
    for part in parents:
        record = record.get(part) if isinstance(record, dict) else None
    return isinstance(record, dict) and last in record


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ExcelReader(_Reader):
    """Every sheet with the contract's header (the named sheet first when the format names one), streamed
    with openpyxl's read-only mode. Sheets without a header and without data rows (a cover note) are
    skipped; a sheet with data rows but no header holds the file (`extra_sheet`): its rows must not be
    lost silently, nor guessed at.

    Line numbers run on across sheets: a row of a later sheet is numbered after the last row of the
    sheets before it (the ledger note says by how much), so every row keeps its own number.
    """

    def _chunks(self) -> Iterator[Chunk]:
        import openpyxl
        with open(self.path, "rb") as f:
            head = f.read(8)
        if head and not head.startswith(b"PK\x03\x04"):
            raise FileProblem("unreadable", f"berkas bukan Excel .xlsx (tampaknya {sniff(head) or 'teks atau CSV'}); "
                                            f"minta pengirim mengekspor ulang ke Excel (.xlsx) lalu mengirim ulang")
        _check_zip(self.path)
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # a zip or XML error: the file is damaged or not Excel
            raise FileProblem("unreadable", f"berkas Excel tidak dapat dibuka ({_describe(exc)}); minta pengirim "
                                            f"mengekspor ulang") from None
        try:
            if self.fmt.sheet:
                if self.fmt.sheet not in book.sheetnames:
                    raise FileProblem("missing_column", f"lembar {self.fmt.sheet!r} tidak ada")
                sheets = [book[self.fmt.sheet]] + [s for s in book.worksheets if s.title != self.fmt.sheet]
            else:
                sheets = list(book.worksheets)
            yield from self._sheets(sheets)
        finally:
            book.close()

    def _sheets(self, sheets: list) -> Iterator[Chunk]:
        offset, read, closed_in = 0, [], None
        for sheet in sheets:
            seen = _SheetSeen()
            yield from self._rows(sheet, offset, seen)
            if seen.header:
                if read and closed_in and seen.rows:
                    raise FileProblem("extra_sheet", f"lembar {sheet.title!r} masih berisi data sesudah baris "
                                                     f"penutup {self.fmt.closing.label!r} di lembar {closed_in!r}: "
                                                     f"tidak jelas mana total yang berlaku. Periksa dengan pengirim; "
                                                     f"minta satu lembar data dengan satu baris penutup",
                                      status="held")
                if read:
                    self.facts.notes.append(f"data berlanjut di lembar {sheet.title!r}: baris Excel n di lembar itu "
                                            f"tercatat sebagai baris {offset} + n")
                read.append(sheet.title)
                closed_in = sheet.title if seen.closing else closed_in
                offset += seen.last
            elif seen.data_rows:
                raise FileProblem("extra_sheet", f"lembar {sheet.title!r} berisi {seen.data_rows} baris data tanpa "
                                                 f"baris judul kolom yang dikenali; baris itu tidak dimuat diam-diam. "
                                                 f"Minta pengirim menyalin baris judul ke lembar itu (atau menggabung "
                                                 f"ke satu lembar) lalu mengirim ulang", status="held")
            elif seen.last:
                self.facts.notes.append(f"lembar {sheet.title!r} tanpa baris judul kolom (sampul atau catatan) "
                                        f"dilewati")
        if not read:
            raise FileProblem("file_empty", "tidak ada lembar kerja dengan baris judul kolom (berkas kosong?)")
        if self.fmt.closing and not self.facts.control:
            raise FileProblem("trailer_mismatch", f"baris penutup {self.fmt.closing.label!r} tidak ada")

    def _rows(self, sheet, offset: int, seen: "_SheetSeen") -> Iterator[Chunk]:
        skip = {normalise_label(self.fmt.number_column)} if self.fmt.number_column else set()
        positions, kinds = None, None
        closing = normalise_label(self.fmt.closing.label) if self.fmt.closing else None
        wide = max(3, len(self.feed.columns) // 2)
        lines, rows = [], []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            seen.last = number
            if positions is None:
                if self._is_header(row, skip):
                    positions = map_header([_label(v) for v in row], self.feed, self.facts, skip, excel=True)
                    kinds = {c: self.feed.columns[c].type for c in positions}
                    seen.header = True
                elif sum(1 for v in row if v is not None and str(v).strip() != "") >= wide:
                    seen.data_rows += 1
                continue
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            first = next((v for v in row if v is not None and str(v).strip() != ""), None)
            if closing and isinstance(first, str) and normalise_label(first) == closing:
                if self.facts.control:
                    raise FileProblem("extra_sheet", f"baris penutup {self.fmt.closing.label!r} muncul lagi di "
                                                     f"lembar {sheet.title!r}: tidak jelas mana total yang berlaku. "
                                                     f"Periksa dengan pengirim", status="held")
                self._closing(row, positions)
                seen.closing = True
                break
            seen.rows += 1
            lines.append(offset + number)
            rows.append([_cell(row[p] if p < len(row) else None, kinds[c], self.fmt) for c, p in positions.items()])
            if len(rows) == CHUNK_ROWS:
                yield self._chunk(lines, rows, positions)
                lines, rows = [], []
        if rows:
            yield self._chunk(lines, rows, positions)

    def _is_header(self, row: tuple, skip: set) -> bool:
        index = self.feed.label_index()
        hits = sum(1 for v in row if v is not None and normalise_label(v) in index)
        return hits >= max(2, len(self.feed.columns) // 2)

    def _closing(self, row: tuple, positions: dict[str, int]) -> None:
        sums = self.fmt.closing.sums
        wanted = [c for c in positions if (sums == "all_amounts" and self.feed.columns[c].type == "amount") or
                  (isinstance(sums, list) and c in sums)]
        control = {}
        for c in wanted:
            v = row[positions[c]] if positions[c] < len(row) else None
            try:
                control[c] = float(v)
            except (TypeError, ValueError):
                raise FileProblem("trailer_mismatch", f"baris penutup tanpa jumlah {c}") from None
        self.facts.control = control or {"_present": 1.0}

    def _chunk(self, lines, rows, positions) -> Chunk:
        cols = list(zip(*rows))
        return Chunk(np.asarray(lines, dtype=np.int64), {c: pa.array(v, pa.string()) for c, v in zip(positions, cols)})


@dataclass
class _SheetSeen:
    header: bool = False
    closing: bool = False
    rows: int = 0          # data rows read under the header
    data_rows: int = 0     # rows that look like data in a sheet without a header
    last: int = 0          # last row number of the sheet


def _check_zip(path: Path) -> None:
    """An .xlsx is a zip: refuse one whose members would inflate past the limits of `inflate:`."""
    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileProblem("unreadable", f"berkas Excel tidak dapat dibuka ({_describe(exc)}); minta pengirim "
                                        f"mengekspor ulang") from None
    compressed = path.stat().st_size
    limit = contracts_mod.load().inflate.limit(compressed)
    if inflated > limit:
        raise FileProblem("decompression_bomb", f"berkas Excel mengembang menjadi {_size(inflated)} dari "
                                                f"{_size(compressed)} (batas {_size(limit)}); kemungkinan bom "
                                                f"dekompresi atau ekspor rusak: jangan dibuka manual, minta pengirim "
                                                f"memeriksa dan mengirim ulang")


def _label(v) -> str:
    return "" if v is None else str(v)


def _cell(v, kind: str, fmt: Format) -> str | None:
    """An Excel cell as the text the checks expect: dates in the declared format, numbers plain.

    An identifier typed into a numeric cell is written the way Excel shows it (`3.51301E+15`), which
    the identifier check recognises as a number that has lost digits.
    """
    if v is None:
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime(fmt.dates[0])
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if kind in ("amount", "int", "rate"):
            return str(int(v)) if float(v).is_integer() else repr(float(v))
        if kind in ("nik", "nik_koperasi", "nib", "npwp", "kpj", "npp"):
            return f"{float(v):.5E}"
        return str(int(v)) if float(v).is_integer() else str(v)
    return safe_text(str(v))


_READERS = {"csv": DelimitedReader, "jsonl": JsonLinesReader, "xlsx": ExcelReader}


def reader_for(path: Path, feed: Feed, fmt: Format):
    """The reader of a delivered file. A file whose name carries a period no calendar has, or one outside
    the window of `periods:` in the contracts, is refused here, before anything reads it."""
    check_period_of(Path(path))
    return _READERS[fmt.kind](path, feed, fmt)


def check_period_of(path: Path) -> None:
    """`contracts.check_period` for the period in a landing file's name, as a `FileProblem`."""
    contracts = contracts_mod.load()
    parts = path.parts
    for depth in (3, 2, 4):
        if len(parts) < depth:
            continue
        match = contracts.match("/".join(parts[-depth:]))
        if match is None:
            continue
        try:
            contracts.check_period(match.period)
        except contracts_mod.PeriodProblem as problem:
            raise FileProblem(problem.kind, problem.message, problem.status) from None
        return


# The raw text of a line, for the quarantine (read again only for the few lines set aside).
def raw_lines(path: Path, fmt: Format, encoding: str, wanted: set[int]) -> dict[int, str]:
    if not wanted or fmt.kind == "xlsx":
        return {}
    out = {}
    last = max(wanted)
    number = 0
    with open_bytes(path, fmt) as f:
        # Lines end as Arrow ends them (LF, CR LF or a lone CR); none is held whole if it is very long.
        text = io.TextIOWrapper(f, encoding="utf-8" if encoding == "mixed" else encoding,
                                errors="sinergi_mixed" if encoding == "mixed" else "replace", newline="")
        while number < last:
            line = text.readline(MAX_LINE_BYTES)
            if not line:
                break
            number += 1
            cut = len(line) >= MAX_LINE_BYTES and not line.endswith(("\n", "\r"))
            while cut and (more := text.readline(1 << 20)) and not more.endswith(("\n", "\r")):
                pass
            if number in wanted:
                out[number] = safe_text(line.rstrip("\r\n").lstrip("\ufeff")) + (" ..." if cut else "")
    return out


def _mixed_errors(exc: UnicodeDecodeError):
    """Codec error handler: bytes that are not UTF-8 are read as Windows-1252 (the quarantine's raw text
    of a `mixed` file)."""
    return exc.object[exc.start:exc.end].decode("cp1252", errors="replace"), exc.end


__import__("codecs").register_error("sinergi_mixed", _mixed_errors)
