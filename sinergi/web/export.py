"""Drill-down lists as CSV or XLSX downloads (formula-safe: see sinergi/spreadsheet.py)."""
from __future__ import annotations

from ..spreadsheet import to_csv, to_xlsx

__all__ = ["to_csv", "to_xlsx"]
