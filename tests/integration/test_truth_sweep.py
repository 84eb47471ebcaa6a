"""The warehouse equals the truth on worlds the other tests do not use (a small `bench/truth.py`): clean
seed-profile worlds over other seeds, scales and start months, among them the seed 31 that linked an
uncovered UMKM owner to a neighbour born the same day. The clean national-profile world of the sweep is
conftest.NATIONAL_MONTH, compared figure for figure in tests/integration/test_warehouse.py after the plain commands and
in tests/integration/test_scheduler.py after the real scheduler (one national world keeps `make test` in its time)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import truth as sweep  # noqa: E402

from simulator import Options  # noqa: E402

WORLDS = [
    Options(profile="seed", scale=0.05, months=2, start="2024-04", seed=31, defect_rate=0.0),
    Options(profile="seed", scale=0.05, months=1, start="2025-02", seed=104, defect_rate=0.0),
    Options(profile="seed", scale=0.03, months=1, start="2024-10", seed=107, defect_rate=0.0),
]


@pytest.mark.slow
@pytest.mark.parametrize("opts", WORLDS, ids=lambda o: f"{o.profile}-seed{o.seed}-{o.start}")
def test_a_clean_world_equals_the_truth_in_every_figure(opts, tmp_path):
    print(sweep.replay(opts))
    figures, differences, unexplained = sweep.check(opts, tmp_path)
    assert figures > 0
    assert unexplained == [] and differences == 0
