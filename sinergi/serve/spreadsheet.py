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
from dataclasses import dataclass, field
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


@dataclass
class PrintSheet:
    """A sheet laid out to print: a title and a few lines above the table, the header row repeated on every
    page, given column widths (characters) and number formats (None: as the value is)."""
    name: str
    title: str
    lines: list[str]
    header: list[str]
    rows: list[list]
    widths: list[int]
    formats: list[str | None] = field(default_factory=list)


def to_print_xlsx(sheets: list[PrintSheet]) -> bytes:
    """A workbook to print (A4 landscape, fit to the page's width, header row repeated, page numbers in
    the footer); every text cell formula-safe, as in to_xlsx."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(_ILLEGAL_XLSX.sub("", sheet.name)[:31] or "Lembar")
        ws.append([_xlsx_cell(sheet.title)])
        ws["A1"].font = Font(bold=True, size=14)
        for line in sheet.lines:
            ws.append([_xlsx_cell(line)])
        ws.append([])
        header_row = len(sheet.lines) + 3
        ws.append([_xlsx_cell(h) for h in sheet.header])
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in sheet.rows:
            ws.append([_xlsx_cell(v) for v in row])
        for i, width in enumerate(sheet.widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        for i, number_format in enumerate(sheet.formats, 1):
            if number_format:
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=i, max_col=i):
                    cell.number_format = number_format
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.freeze_panes = f"A{header_row + 1}"
        ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = True
        ws.oddFooter.center.text = "Halaman &P dari &N"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence], private: bool = False) -> Path:
    """Write a CSV file (UTF-8, no BOM); `private` makes it readable by its owner only."""
    path.write_text(csv_text(header, rows), encoding="utf-8", newline="")
    if private:
        os.chmod(path, 0o600)
    return path
