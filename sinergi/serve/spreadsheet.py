"""Every CSV and XLSX the project writes for people to open (dashboard downloads, the report's entity lists).

A spreadsheet program reads a text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return
before one) as a formula: a cooperative named `=HYPERLINK("http://…","klik")` would become a live link, or
worse, in the reader's Excel. Following OWASP's advice on CSV injection, `safe()` prefixes such text with a
single quote, so it is shown as written and never evaluated. Numbers, dates and booleans are left as they
are (a number stays a number). This module is the one place that does it: write spreadsheets through it.
"""
from __future__ import annotations

import csv
import io
import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

# The characters that start a formula (and their full-width forms, which some Excel locales accept too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Characters an XLSX cell cannot hold (openpyxl refuses them): control characters except tab, LF and CR.
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe(value):
    """The value as a spreadsheet should hold it: text that would start a formula gets a leading `'`."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return safe(value)


def _xlsx_cell(value):
    # Identifiers stay text (a 16-digit token or NIB must not become a float); amounts become numbers.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return safe(_ILLEGAL_XLSX.sub("", value))
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    # CRLF (RFC 4180): Python's writer quotes a field holding a character of the line terminator only, so
    # with "\n" alone a bare CR inside a name would split the row in the reader.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(c) for c in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def to_csv(rows: list[dict], columns: list[str]) -> bytes:
    """Dict rows as CSV bytes, with a BOM so that Excel opens it as UTF-8."""
    return csv_text(columns, ([r.get(c) for c in columns] for r in rows)).encode("utf-8-sig")


def to_xlsx(rows: list[dict], columns: list[str], sheet: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(_ILLEGAL_XLSX.sub("", sheet)[:31])
    ws.append([_xlsx_cell(c) for c in columns])
    for r in rows:
        ws.append([_xlsx_cell(r.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence], private: bool = False) -> Path:
    """Write a CSV file (UTF-8, no BOM); `private` makes it readable by its owner only."""
    path.write_text(csv_text(header, rows), encoding="utf-8", newline="")
    if private:
        os.chmod(path, 0o600)
    return path
