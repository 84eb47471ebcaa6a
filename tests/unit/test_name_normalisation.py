"""The person-name rules' data (dbt_project/seeds/ref_name_*.csv), read without a database.

The rules themselves are tested inside every `dbt build` by the singular test
assert_name_variant_examples (the example pairs through macros name_key and name_agreement_level);
these tests keep the examples and the lists fit for that: every variant class has examples, one-pass
lookups cannot chain, and the macro applies every spelling rewrite.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

DBT = Path(__file__).resolve().parents[2] / "dbt_project"
SEEDS = DBT / "seeds"

# The variant classes of issue 17, item 1, and the two kinds of pairs that must stay apart.
SAME_PERSON_CLASSES = {"gelar", "gelar_akademik", "bin_binti", "nama_umum", "ejaan_lama", "huruf_tanda_baca",
                       "urutan", "mononim", "inisial", "salah_ketik"}
TWO_PEOPLE_CLASSES = {"beda_nama_depan", "beda_nama_umum"}


def _rows(name: str) -> list[dict]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_examples_cover_every_variant_class_and_both_answers():
    rows = _rows("ref_name_variant_examples")
    assert len(rows) >= 60
    same = {r["class"] for r in rows if r["same_person"] == "true"}
    apart = {r["class"] for r in rows if r["same_person"] == "false"}
    assert SAME_PERSON_CLASSES <= same
    assert TWO_PEOPLE_CLASSES <= apart
    assert all(r["same_person"] in ("true", "false") for r in rows)
    # The pair that a shared family name once linked (tests/integration/test_truth_sweep.py, seed 31).
    assert {"class": "beda_nama_depan", "name_a": "Latika Laksmiwati", "name_b": "Yuni Laksmiwati",
            "same_person": "false"} in rows


def test_spellings_are_one_lookup_deep():
    # Each word is looked up once: a canonical spelling that is itself a listed spelling would need two.
    rows = _rows("ref_name_spellings")
    spellings = {r["spelling"] for r in rows}
    assert len(spellings) == len(rows)
    for r in rows:
        assert not set(r["canonical"].split()) & spellings, r


def test_affixes_are_written_as_letters_and_dots():
    rows = _rows("ref_name_affixes")
    assert {r["rule"] for r in rows} == {"title", "degree", "patronymic"}
    letters = [(r["rule"], r["affix"].replace(".", "").upper()) for r in rows]
    assert len(set(letters)) == len(letters), "two rows of one rule with the same letters"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z.]*", r["affix"]) for r in rows)
    # Titles are dropped by their letters alone (macro person_name_key): none can be ambiguous.
    assert not [r for r in rows if r["rule"] == "title" and r["ambiguous"] == "true"]


def test_the_macro_applies_every_spelling_rewrite():
    rows = _rows("ref_name_spelling_rewrites")
    steps = [int(r["step"]) for r in rows]
    assert len(set(steps)) == len(steps)
    applied = re.search(r"macro name_rewrite_steps\(\) -%\}(\d+)\{%", (DBT / "macros" / "names.sql").read_text())
    assert applied and len(rows) <= int(applied.group(1))
    # The 1972 reform's rewrites, in an order that makes old and new spellings meet.
    order = {r["old"]: int(r["step"]) for r in rows}
    assert order["TJ"] < order["J"] and order["DJ"] < order["J"] and order["CH"] < order["KH"]
