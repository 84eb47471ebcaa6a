"""What ingestion reads from its environment: the pseudonym key and Great Expectations' folders.

Ingestion imports nothing from `sinergi` (import-linter's contracts in pyproject.toml); `sinergi.settings`
re-exports these names (and the month's pattern) for the rest of the project.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

ENV_PSEUDONYM_KEY = "SINERGI_PSEUDONYM_KEY"
ENV_GX_DIR = "SINERGI_GX_DIR"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A month as people and the contracts write it, `YYYY-MM` (the command line, the dashboard's `bulan`,
# the contracts' earliest period).
MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"


def is_month(text: str | None) -> bool:
    return bool(text) and re.fullmatch(MONTH_PATTERN, text) is not None


def gx_dir() -> Path:
    """Great Expectations' runtime project (stores, results, Data Docs): outside version control."""
    return Path(os.environ.get(ENV_GX_DIR, PROJECT_ROOT / ".local" / "gx"))


def gx_data_docs_dir() -> Path:
    """Where Great Expectations writes its Data Docs site (ingestion/quality.py) and the dashboard serves it
    from: the local site of the file-mode project that Great Expectations keeps in a `gx/` folder of
    gx_dir()."""
    return gx_dir() / "gx" / "uncommitted" / "data_docs" / "local_site"
