"""Drill-down lists as CSV or XLSX downloads."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook


def to_csv(rows: list[dict], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_plain(r.get(c)) for c in columns])
    return out.getvalue().encode("utf-8-sig")  # BOM: Excel opens it as UTF-8


def to_xlsx(rows: list[dict], columns: list[str], sheet: str) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append(columns)
    for r in rows:
        ws.append([_cell(r.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _cell(value):
    # Identifiers stay text (a 16-digit NIK token or NIB must not become a float).
    if isinstance(value, Decimal):
        return float(value)
    return value
