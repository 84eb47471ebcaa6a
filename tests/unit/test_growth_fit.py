"""bench/national.py's growth exponent: seconds = a * rows^b fitted by least squares on log-log."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _national():
    spec = importlib.util.spec_from_file_location("bench_national", ROOT / "bench" / "national.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_exact_power_law_gives_back_its_exponent_and_factor():
    fit = _national().fit_growth
    a, b = fit([1e5, 3e5, 1e6], [2.0 * r ** 0.8 for r in (1e5, 3e5, 1e6)])
    assert b == pytest.approx(0.8)
    assert a == pytest.approx(2.0)


def test_two_points_give_the_exponent_of_their_ratio_and_one_size_is_refused():
    fit = _national().fit_growth
    _, b = fit([1_000, 10_000], [10.0, 50.0])
    assert b == pytest.approx(0.69897, abs=1e-5)   # log10(5)
    with pytest.raises(ValueError):
        fit([1_000, 1_000], [1.0, 2.0])
