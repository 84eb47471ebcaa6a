"""File names' periods, the contract's window and inflate settings, and what a misnamed file really is:
read without a database (the poison files themselves load in tests/integration/test_poison_files.py)."""
from __future__ import annotations

from datetime import date

import pytest

from ingestion import contracts, readers


def test_period_window_and_impossible_periods():
    c = contracts.load()
    today = date(2026, 12, 2)
    c.check_period("202701", today)
    c.check_period("20240229", today)
    c.check_period(c.periods.earliest.replace("-", ""), today)
    for period, status, kind in (("202413", "rejected", "period_invalid"), ("202400", "rejected", "period_invalid"),
                                 ("20230229", "rejected", "period_invalid"), ("202702", "held", "period_out_of_window"),
                                 ("201912", "held", "period_out_of_window")):
        with pytest.raises(contracts.PeriodProblem) as problem:
            c.check_period(period, today)
        assert (problem.value.status, problem.value.kind) == (status, kind), period


def test_window_and_inflate_settings_are_validated():
    assert contracts._periods({"earliest": "2021-03", "months_ahead": 2}) == contracts.PeriodWindow("2021-03", 2)
    for bad in ({"earliest": "2021-13"}, {"earliest": "2021"}, {"months_ahead": -1}, {"months_ahead": "1"},
                {"earliest": "2020-01", "ahead": 1}, "2020-01"):
        with pytest.raises(ValueError):
            contracts._periods(bad)
    assert contracts._inflate({"max_gb": 1, "max_ratio": 50}).max_bytes == 1 << 30
    for bad in ({"max_gb": 0}, {"max_ratio": 1}, {"max_ratio": True}, {"gb": 1}):
        with pytest.raises(ValueError):
            contracts._inflate(bad)


def test_sniff_names_what_a_file_is():
    assert readers.sniff(b"%PDF-1.7\n") == "PDF"
    assert readers.sniff(b"PK\x03\x04rest") == "arsip ZIP atau Excel .xlsx"
    assert readers.sniff(b"No KPJ;NIK;Nama\n123;456;BUDI\x00\n") is None
    assert readers.sniff(b"  <!DOCTYPE html><html>") == "halaman HTML"
