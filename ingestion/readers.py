"""Stream a delivered file as chunks of text columns named by the contract, whatever its layout.

A reader maps the header to contract columns, yields `Chunk`s (line numbers and one Arrow string
array per column), collects rows it cannot split into fields (`structural`), and records what it
learns about the whole file in `facts` (control totals, repairs such as a BOM or another encoding).
Whole-file problems raise `FileProblem`. Nothing here holds more than one chunk of rows.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from .contracts import Feed, Format, normalise_label

CHUNK_ROWS = 65_536
BLOCK_BYTES = 1 << 22
# Arrow's CSV reader is fed 1 MB blocks, gathered into chunks of CHUNK_ROWS: with larger blocks its
# memory grew with the file (measured: +48 MB from 0.5M to 1M rows with 4 MB blocks, flat with 1 MB).
CSV_BLOCK_BYTES = 1 << 20


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
    encoding: str = "utf-8"
    repairs: list[str] = field(default_factory=list)         # file-level repair kinds
    notes: list[str] = field(default_factory=list)           # what a person should know
    control: dict = field(default_factory=dict)              # {"records": n, "<column>": sum} as declared by the sender
    structural: list[tuple] = field(default_factory=list)    # (line, reason, message, raw text)


def map_header(labels: list[str], feed: Feed, facts: Facts, skip: set[str] = frozenset()) -> dict[str, int]:
    """Contract column -> position. Unknown labels are noted; a missing column rejects the file."""
    index, known = feed.label_index(), _known_spellings(feed)
    positions, extra = {}, []
    for pos, label in enumerate(labels):
        norm = normalise_label(label)
        if norm in skip or label is None or norm == "":
            continue
        col = index.get(norm)
        if col is None or col in positions:
            extra.append(str(label))
            continue
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


def _known_spellings(feed: Feed) -> set[str]:
    return {_spelling(label) for col in feed.columns.values() for label in (col.name, *col.labels)}


def _spelling(label) -> str:
    """Case and underscores are a branch's habit; other differences (spacing, wording) are a rename."""
    return str(label).strip().lower().replace("_", " ")


def open_bytes(path: Path, fmt: Format):
    """The file's decompressed bytes as a stream."""
    return gzip.open(path, "rb") if fmt.gzip else open(path, "rb")


def detect_encoding(path: Path, fmt: Format, facts: Facts) -> str:
    """UTF-8 when the bytes are valid UTF-8, else Windows-1252 (a repair if the sender declared UTF-8)."""
    decoder = __import__("codecs").getincrementaldecoder("utf-8")()
    with open_bytes(path, fmt) as f:
        try:
            while block := f.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            raise FileProblem("file_truncated", f"berkas terpotong atau rusak ({exc})") from None
    if fmt.encoding != "auto":
        facts.repairs.append("encoding_wrong")
        facts.notes.append("berkas ditulis dalam Windows-1252, bukan UTF-8; dibaca sebagai Windows-1252")
    return "cp1252"


def check_complete(path: Path, fmt: Format) -> None:
    """A text file that does not end with a line end was cut off mid-row."""
    if fmt.gzip or fmt.kind == "xlsx" or path.stat().st_size == 0:
        return
    with open(path, "rb") as f:
        f.seek(-1, 2)
        if f.read(1) != b"\n":
            raise FileProblem("file_truncated", "berkas terpotong di tengah baris (baris terakhir tanpa akhir baris)")


class DelimitedReader:
    def __init__(self, path: Path, feed: Feed, fmt: Format):
        self.path, self.feed, self.fmt, self.facts = path, feed, fmt, Facts()
        self.positions: dict[str, int] | None = None

    def _header(self) -> tuple[list[str], bytes]:
        with open_bytes(self.path, self.fmt) as f:
            first = f.readline()
        if first.startswith(b"\xef\xbb\xbf"):
            if self.fmt.bom == "no":
                self.facts.repairs.append("bom")
                self.facts.notes.append("penanda BOM UTF-8 di awal berkas diabaikan")
            first = first[3:]
        if first.endswith(b"\r\n") and self.fmt.kind == "csv":
            self.facts.repairs.append("crlf")
            self.facts.notes.append("akhir baris Windows (CRLF) dibaca biasa")
        text = first.decode(self.facts.encoding).rstrip("\r\n")
        return next(csv.reader([text], delimiter=self.fmt.delimiter)), first

    def chunks(self) -> Iterator[Chunk]:
        check_complete(self.path, self.fmt)
        self.facts.encoding = detect_encoding(self.path, self.fmt, self.facts)
        labels, _ = self._header()
        positions = self.positions = map_header(labels, self.feed, self.facts)
        width = len(labels)
        names = [f"c{i}" for i in range(width)]
        invalid: list[int] = []
        trailer = self.fmt.trailer

        def on_invalid(row) -> str:
            text = row.text or ""
            if trailer and text.startswith(trailer["prefix"] + self.fmt.delimiter):
                self._trailer(row.number, text)
                return "skip"
            invalid.append(row.number)
            reason = "too_many_fields" if row.actual_columns > row.expected_columns else "too_few_fields"
            self.facts.structural.append((row.number, reason,
                                          f"{row.actual_columns} kolom, seharusnya {row.expected_columns}", text))
            return "skip"

        # A Python file object: given Arrow's own file stream, the reader reads ahead of the consumer
        # and its memory grows with the file.
        source = open_bytes(self.path, self.fmt)
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(use_threads=False, skip_rows=1, column_names=names,
                                          block_size=CSV_BLOCK_BYTES, encoding=self.facts.encoding),
            parse_options=pcsv.ParseOptions(delimiter=self.fmt.delimiter, newlines_in_values=False,
                                            ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=True, null_values=[""]))
        cursor = 2
        batches, numbers = [], []
        try:
            for batch in reader:
                lines, cursor = _next_lines(cursor, batch.num_rows, invalid)
                batches.append(batch)
                numbers.append(lines)
                if sum(len(n) for n in numbers) >= CHUNK_ROWS:
                    yield _gathered(batches, numbers, positions)
                    batches, numbers = [], []
            if batches:
                yield _gathered(batches, numbers, positions)
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise FileProblem("file_truncated" if self.fmt.gzip else "unreadable",
                              f"berkas tidak dapat dibaca sampai selesai: {exc}") from None
        finally:
            source.close()
        if trailer and "records" not in self.facts.control:
            raise FileProblem("trailer_mismatch", "baris penutup (trailer) tidak ada")

    def _trailer(self, line: int, text: str) -> None:
        parts = text.split(self.fmt.delimiter)[1:]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise FileProblem("trailer_mismatch", f"trailer tidak terbaca di baris {line}: {text!r}") from None
        self.facts.control = dict(zip(self.fmt.trailer["fields"], values))


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


class JsonLinesReader:
    def __init__(self, path: Path, feed: Feed, fmt: Format):
        self.path, self.feed, self.fmt, self.facts = path, feed, fmt, Facts()
        self.paths = fmt.paths or {c: c for c in feed.columns}

    def chunks(self) -> Iterator[Chunk]:
        check_complete(self.path, self.fmt)
        control = self.fmt.control_line
        lines, rows = [], []
        checked_keys = False
        try:
            with open_bytes(self.path, self.fmt) as f:
                for number, raw in enumerate(f, start=1):
                    text = raw.decode("utf-8").rstrip("\r\n")
                    try:
                        record = json.loads(text)
                    except ValueError as exc:
                        self.facts.structural.append((number, "json_invalid", f"JSON tidak sah: {exc.msg}", text))
                        continue
                    if control and isinstance(record, dict) and control["key"] in record:
                        body = record[control["key"]]
                        self.facts.control = {name: float(body[k]) for k, name in control["fields"].items()}
                        continue
                    if not isinstance(record, dict):
                        self.facts.structural.append((number, "json_invalid", "baris bukan objek JSON", text))
                        continue
                    if not checked_keys:
                        self._check_keys(record)
                        checked_keys = True
                    lines.append(number)
                    rows.append([_text(_dig(record, p)) for p in self.paths.values()])
                    if len(rows) == CHUNK_ROWS:
                        yield self._chunk(lines, rows)
                        lines, rows = [], []
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            raise FileProblem("file_truncated", f"berkas terpotong atau rusak ({exc})") from None
        except UnicodeDecodeError:
            raise FileProblem("encoding", "berkas JSON bukan UTF-8") from None
        if rows:
            yield self._chunk(lines, rows)
        if control and not self.facts.control:
            raise FileProblem("trailer_mismatch", "baris kontrol (_control) tidak ada")

    def _check_keys(self, record: dict) -> None:
        missing = [c for c, p in self.paths.items() if not _has(record, p)]
        if missing:
            raise FileProblem("missing_column", f"kolom wajib tidak ada: {', '.join(missing)}")

    def _chunk(self, lines: list[int], rows: list[list]) -> Chunk:
        cols = list(zip(*rows))
        return Chunk(np.asarray(lines, dtype=np.int64),
                     {c: pa.array(v, pa.string()) for c, v in zip(self.paths, cols)})


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


class ExcelReader:
    """First sheet (or the named one), streamed with openpyxl's read-only mode."""

    def __init__(self, path: Path, feed: Feed, fmt: Format):
        self.path, self.feed, self.fmt, self.facts = path, feed, fmt, Facts()

    def chunks(self) -> Iterator[Chunk]:
        import openpyxl
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # a zip or XML error: the file is damaged or not Excel
            raise FileProblem("unreadable", f"berkas Excel tidak dapat dibuka: {exc}") from None
        try:
            sheet = book[self.fmt.sheet] if self.fmt.sheet else book.worksheets[0]
        except KeyError:
            raise FileProblem("missing_column", f"lembar {self.fmt.sheet!r} tidak ada") from None
        try:
            yield from self._rows(sheet)
        finally:
            book.close()

    def _rows(self, sheet) -> Iterator[Chunk]:
        skip = {normalise_label(self.fmt.number_column)} if self.fmt.number_column else set()
        positions, kinds = None, None
        closing = normalise_label(self.fmt.closing["label"]) if self.fmt.closing else None
        lines, rows = [], []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if positions is None:
                if self._is_header(row, skip):
                    positions = map_header([_label(v) for v in row], self.feed, self.facts, skip)
                    kinds = {c: self.feed.columns[c].type for c in positions}
                continue
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            first = next((v for v in row if v is not None and str(v).strip() != ""), None)
            if closing and isinstance(first, str) and normalise_label(first) == closing:
                self._closing(row, positions)
                break
            lines.append(number)
            rows.append([_cell(row[p] if p < len(row) else None, kinds[c], self.fmt) for c, p in positions.items()])
            if len(rows) == CHUNK_ROWS:
                yield self._chunk(lines, rows, positions)
                lines, rows = [], []
        if positions is None:
            raise FileProblem("file_empty", "lembar kerja tanpa baris judul kolom (berkas kosong?)")
        if rows:
            yield self._chunk(lines, rows, positions)
        if closing and not self.facts.control:
            raise FileProblem("trailer_mismatch", f"baris penutup {self.fmt.closing['label']!r} tidak ada")

    def _is_header(self, row: tuple, skip: set) -> bool:
        index = self.feed.label_index()
        hits = sum(1 for v in row if v is not None and normalise_label(v) in index)
        return hits >= max(2, len(self.feed.columns) // 2)

    def _closing(self, row: tuple, positions: dict[str, int]) -> None:
        sums = self.fmt.closing["sums"]
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
    return str(v)


def reader_for(path: Path, feed: Feed, fmt: Format):
    return {"csv": DelimitedReader, "jsonl": JsonLinesReader, "xlsx": ExcelReader}[fmt.kind](path, feed, fmt)


# The raw text of a line, for the quarantine (read again only for the few lines set aside).
def raw_lines(path: Path, fmt: Format, encoding: str, wanted: set[int]) -> dict[int, str]:
    if not wanted or fmt.kind == "xlsx":
        return {}
    out = {}
    last = max(wanted)
    with open_bytes(path, fmt) as f:
        for number, raw in enumerate(io.TextIOWrapper(f, encoding=encoding, errors="replace", newline=""), start=1):
            if number in wanted:
                out[number] = raw.rstrip("\r\n").lstrip("\ufeff")
            if number >= last:
                break
    return out
