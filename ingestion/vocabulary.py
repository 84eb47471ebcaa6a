"""The project's code lists with their Bahasa Indonesia labels, as data: the dbt seed `ref_labels.csv`
(vocabulary, code, label), one file read by the loader (quarantine reasons), the warehouse (the seed
`reference.ref_labels`, its tests tie the marts' codes to it), the dashboard and the report
(`sinergi.core.labels`). Order is the file's: screens list codes in it.
"""
from __future__ import annotations

import csv
from functools import lru_cache

from .config import PROJECT_ROOT

SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "ref_labels.csv"


@lru_cache(maxsize=1)
def _all() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    with SEED.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            found.setdefault(row["vocabulary"], {})[row["code"]] = row["label"]
    return found


def labels(vocabulary: str) -> dict[str, str]:
    """Code -> label of one vocabulary, in the seed's order (a KeyError names an unknown vocabulary)."""
    return dict(_all()[vocabulary])


def vocabularies() -> list[str]:
    return list(_all())
