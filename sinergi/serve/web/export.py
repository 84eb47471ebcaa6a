"""Drill-down lists as CSV or XLSX downloads (formula-safe: see sinergi/serve/spreadsheet.py)."""
from __future__ import annotations

from sinergi.serve.spreadsheet import to_csv, to_xlsx

__all__ = ["to_csv", "to_xlsx"]
