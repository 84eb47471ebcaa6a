"""Vectorised generation of Indonesian identifiers with the structure `domain.md` describes."""
from __future__ import annotations

import numpy as np
import pandas as pd


def unique_numbers(rng: np.random.Generator, n: int, digits: int, first: str = "") -> np.ndarray:
    """n distinct digit strings of the given length, optionally with a fixed leading part."""
    free = digits - len(first)
    space = 10 ** min(free, 17)
    # Draw with a small surplus, drop repeats, keep the first n in draw order (deterministic).
    draw = rng.integers(space // 10 if not first else 0, space, size=int(n * 1.05) + 16, dtype=np.int64)
    _, idx = np.unique(draw, return_index=True)
    picked = draw[np.sort(idx)][:n]
    if len(picked) < n:  # pragma: no cover - astronomically unlikely for the sizes used
        raise RuntimeError("identifier space exhausted")
    return np.char.add(first, np.char.zfill(picked.astype(str), free)).astype(object)


def niks(district: np.ndarray, birth: np.ndarray, female: np.ndarray) -> np.ndarray:
    """NIK = PPKKCC + DDMMYY (+40 on the day for women) + SSSS, the serial unique per prefix and date."""
    b = pd.DatetimeIndex(birth)
    day = b.day.to_numpy() + np.where(female, 40, 0)
    stem = (pd.Series(district, dtype=object)
            + pd.Series(day).map("{:02d}".format)
            + pd.Series(b.month).map("{:02d}".format)
            + pd.Series(b.year % 100).map("{:02d}".format))
    serial = stem.groupby(stem, sort=False).cumcount() + 1
    return (stem + serial.map("{:04d}".format)).to_numpy(dtype=object)


def nik_koperasi(regency: np.ndarray) -> np.ndarray:
    """13 digits: the 4-digit regency/city code, then a running number within it."""
    stem = pd.Series(regency, dtype=object).str.replace(".", "", regex=False)
    seq = stem.groupby(stem, sort=False).cumcount() + 1
    return (stem + "007" + seq.map("{:06d}".format)).to_numpy(dtype=object)


def npwp15_dotted(npwp15: str) -> str:
    """`XX.XXX.XXX.X-XXX.XXX`."""
    d = npwp15
    return f"{d[0:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:15]}"


def badan_hukum(rng: np.random.Generator, founded: np.ndarray) -> np.ndarray:
    """Old Dinas style before 2013, Kemenkumham AHU style after."""
    years = pd.DatetimeIndex(founded).year.to_numpy()
    months = pd.DatetimeIndex(founded).month.to_numpy()
    roman = np.array(["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"])
    n = len(years)
    num = rng.integers(1, 9_999_999, n)
    old = [f"518.{a:02d}/{b}/BH/XIV.{c}/{roman[m - 1]}/{y}"
           for a, b, c, m, y in zip(rng.integers(1, 30, n), num % 999 + 1, rng.integers(1, 30, n), months, years)]
    new = [f"AHU-{x:07d}.AH.01.26.Tahun {y}" for x, y in zip(num, years)]
    return np.where(years < 2013, old, new).astype(object)
