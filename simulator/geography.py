"""Where things are: regencies of a profile, their villages, and the BPJS branch offices serving them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion import regions

from .profiles import District

# The seed districts' branch offices, with the layout each is known to use.
SEED_BRANCHES = {
    "35.13": ("K1305", "xlsx", "excel"),
    "74.01": ("K1902", "xlsx", "text"),
    "36.74": ("K0307", "csv", "utf-8-sig"),
    "33.11": ("K0921", "csv", "cp1252"),
    "35.78": ("K1301", "csv", "utf-8"),
}
_CSV_ENCODINGS = np.array(["utf-8", "utf-8-sig", "cp1252"])
_XLSX_DATES = np.array(["excel", "text"])
# Keep XLSX to branches well below Excel's 1,048,576 rows (and quick to write).
XLSX_MAX_ROWS = 50_000


@dataclass
class Geography:
    regencies: np.ndarray        # PP.KK of each district, in profile order
    branch_of: dict[str, str]    # regency -> branch code
    branches: pd.DataFrame       # code, layout (csv|xlsx), style (encoding or date style), seed

    def __post_init__(self) -> None:
        flat, offsets, counts = [], [], []
        villages = np.array(sorted(regions.villages()))
        prefix = np.array([v[:5] for v in villages])
        for code in self.regencies:
            lo, hi = np.searchsorted(prefix, code, "left"), np.searchsorted(prefix, code, "right")
            offsets.append(len(flat))
            counts.append(hi - lo)
            flat.extend(villages[lo:hi])
        self._villages = np.array(flat, dtype=object)
        self._offsets = np.array(offsets)
        self._counts = np.array(counts)

    def random_villages(self, rng: np.random.Generator, regency_idx: np.ndarray) -> np.ndarray:
        pick = (rng.random(len(regency_idx)) * self._counts[regency_idx]).astype(int)
        return self._villages[self._offsets[regency_idx] + pick]


def build(profile: str, districts: list[District], seed: int) -> Geography:
    rng = np.random.default_rng([seed, 11])
    codes = np.array([d.regency for d in districts], dtype=object)
    rows, branch_of = [], {}
    if profile == "seed":
        for i, d in enumerate(districts):
            code, layout, style = SEED_BRANCHES[d.regency]
            if layout == "xlsx" and d.workforce * 1.6 >= XLSX_MAX_ROWS:
                layout, style = "csv", "utf-8"  # never past what a sheet can hold
            branch_of[d.regency] = code
            rows.append((code, layout, style, i))
    else:
        # Two neighbouring regencies of a province share a branch office.
        by_province: dict[str, list[District]] = {}
        for d in districts:
            by_province.setdefault(d.regency[:2], []).append(d)
        for province, ds in by_province.items():
            for k in range(0, len(ds), 2):
                code = f"K{province}{k // 2 + 1:02d}"
                group = ds[k:k + 2]
                size = sum(g.workforce for g in group) * 1.6
                if size < XLSX_MAX_ROWS and rng.random() < 0.35:
                    layout, style = "xlsx", str(rng.choice(_XLSX_DATES))
                else:
                    layout, style = "csv", str(rng.choice(_CSV_ENCODINGS))
                rows.append((code, layout, style, len(rows)))
                for g in group:
                    branch_of[g.regency] = code
    branches = pd.DataFrame(rows, columns=["code", "layout", "style", "seed"])
    return Geography(codes, branch_of, branches)
