"""The loader's contract and the warehouse's staging tests state the same rules, so they cannot drift.

A staging test that fails skips every model after it (and every metric); a row that would fail one must
therefore be quarantined at load, with its reason. Each `not_null`, `accepted_values`, `unique` and
identifier `matches_pattern` test in dbt_project/models/staging (models and raw sources) must be backed by
a rule of the feed column it comes from in ingestion/contracts.yml (`required` or the key, `values`, the
key, the identifier's type), and each `required` and `values` rule must be one a staging test asserts.
Staging models are read to know which raw columns a staging column is computed from. No database needed.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from ingestion import contracts as contracts_mod
from ingestion.pseudonym import TOKEN_PATTERN, Pseudonymiser
from ingestion.values import ID_PATTERNS, VOCABULARY_CHANGE_SHARE, ChunkChecker

STAGING = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging"
# Staging columns computed from a raw column whose NULL the expression handles (so that raw column need
# not be required): (model, column) -> raw columns.
NULL_TOLERANT = {
    # `tgl_selesai is null` means still in office.
    ("stg_kemenkop__officers", "in_office_at_month_end"): {"tgl_selesai"},
}


@dataclasses.dataclass
class StagingTest:
    """One dbt test on a staging column (or, for unique_combination, on several)."""
    where: str                     # model or source table, for messages
    feed: str
    column: str                    # the staging (or raw) column
    kind: str                      # not_null | accepted_values | unique | matches_pattern
    raw: set[str]                  # contract column names it is computed from
    direct: bool                   # the column is a raw column as loaded (maybe renamed)
    args: dict
    expression: str = ""


# --- reading dbt -------------------------------------------------------------------------------------

def _tests_of(entry: dict) -> list[tuple[str, dict]]:
    out = []
    for t in entry.get("data_tests", entry.get("tests", [])) or []:
        if isinstance(t, str):
            out.append((t, {}))
        else:
            (name, spec), = t.items()
            spec = spec or {}
            out.append((name, {**spec.get("arguments", {}), **{k: v for k, v in spec.items() if k != "arguments"}}))
    return out


def _split_top_level(text: str) -> list[str]:
    items, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "({":
            depth += 1
        elif not quoted and ch in ")}":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [i.strip() for i in items if i.strip()]


def select_list(sql: str) -> dict[str, str]:
    """Output column -> its expression, from the model's last top-level `select ... from`."""
    sql = re.sub(r"--[^\n]*", "", sql)
    body = re.findall(r"^select\b(.*?)^from\b", sql, flags=re.S | re.M)[-1]
    out = {}
    for item in _split_top_level(body):
        m = re.fullmatch(r"(.*\S)\s+as\s+(\w+)", item, flags=re.S)
        expr, alias = (m.group(1), m.group(2)) if m else (item, item.split(".")[-1])
        out[alias] = " ".join(expr.split())
    return out


def _identifiers(expr: str) -> set[str]:
    # Macro arguments name columns in quotes (`{{ name_key('nama_koperasi', ...) }}`); SQL literals do not.
    jinja = " ".join(" ".join(re.findall(r"'([^']*)'", m)) for m in re.findall(r"\{\{(.*?)\}\}", expr))
    sql = re.sub(r"'[^']*'", " ", re.sub(r"\{\{.*?\}\}", " ", expr))
    return set(re.findall(r"[A-Za-z_]\w*", jinja + " " + sql))


def _direct(expr: str) -> str | None:
    m = re.fullmatch(r"(?:\w+\.)?(\w+)|nullif\((?:\w+\.)?(\w+), ''\)", expr)
    return (m.group(1) or m.group(2)) if m else None


def staging_tests(contracts) -> list[StagingTest]:
    schemas = {spec["schema"]: name for name, spec in contracts.sources.items()}
    found = []
    for path in sorted(STAGING.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in doc.get("sources", []):
            if source.get("schema", source["name"]) not in schemas:
                continue  # the ledger and the vault: not a feed
            for table in source.get("tables", []):
                feed = contracts.feeds[table["name"]]
                stored = {c.stored_as: c.name for c in feed.columns.values() if c.stored_as}
                for col in table.get("columns", []):
                    if col["name"] not in stored:
                        assert col["name"].startswith("_"), f"{path.name}: {table['name']}.{col['name']} is no contract column"
                        continue
                    for kind, args in _tests_of(col):
                        found.append(StagingTest(f"source {table['name']}", feed.name, col["name"], kind,
                                          {stored[col["name"]]}, True, args, col["name"]))
        for model in doc.get("models", []):
            sql = next(STAGING.rglob(f"{model['name']}.sql")).read_text(encoding="utf-8")
            feeds = set(re.findall(r"source\('raw_\w+',\s*'(\w+)'\)", sql))
            if not feeds:
                continue  # reads the ledger or the vault
            (feed_name,) = feeds
            feed = contracts.feeds[feed_name]
            stored = {c.stored_as: c.name for c in feed.columns.values() if c.stored_as}
            select = select_list(sql)

            def test(column, kind, args):
                expr = select[column]
                raw = {stored[i] for i in _identifiers(expr) if i in stored}
                direct = _direct(expr)
                return StagingTest(model["name"], feed.name, column, kind, raw, direct in stored, args, expr)

            for col in model.get("columns", []):
                assert col["name"] in select, f"{model['name']}.{col['name']} is documented but not selected"
                found += [test(col["name"], kind, args) for kind, args in _tests_of(col)]
            for kind, args in _tests_of(model):
                if kind == "unique_combination":
                    t = test(args["columns"][0], kind, args)
                    t.raw = set().union(*(test(c, kind, args).raw for c in args["columns"]))
                    t.column, t.direct = ", ".join(args["columns"]), False
                    found.append(t)
    return found


# --- the rules ---------------------------------------------------------------------------------------

def _same_pattern(a: str, b: str) -> bool:
    return a.replace(r"\d", "[0-9]") == b.replace(r"\d", "[0-9]")


def drift(contracts, tests: list[StagingTest]) -> list[str]:
    """Every way the staging tests and the contract disagree, as sentences."""
    problems = []
    asserted_required, asserted_values = set(), set()
    for t in tests:
        feed = contracts.feeds[t.feed]
        at = f"{t.where}.{t.column} ({t.kind})"
        if t.kind == "not_null":
            tolerated = NULL_TOLERANT.get((t.where, t.column), set())
            raws = t.raw - tolerated
            for raw in sorted(raws):
                asserted_required.add((t.feed, raw))
                if feed.columns[raw].required or (raw in feed.key and raw not in feed.stand_ins):
                    continue
                if _blank_stood_in_for(feed, raw, raws):
                    continue
                problems.append(f"{at}: staging requires {t.feed}.{raw}, the contract does not (required: true)")
        elif t.kind == "accepted_values":
            allowed = set(t.args["values"])
            if t.direct:
                (raw,) = t.raw
                asserted_values.add((t.feed, raw))
                declared = feed.columns[raw].values
                if declared is None or set(declared) != allowed:
                    problems.append(f"{at}: staging accepts {sorted(allowed)}, the contract's {t.feed}.{raw} "
                                    f"values are {sorted(declared) if declared else 'not listed'}")
            elif t.raw:
                outcomes = set(re.findall(r"(?:then|else)\s+'([^']*)'", t.expression))
                if not t.expression.startswith("case") or not outcomes <= allowed:
                    problems.append(f"{at}: computed from {sorted(t.raw)} but not a CASE of accepted values")
        elif t.kind in ("unique", "unique_combination"):
            if not t.raw or not t.raw <= set(feed.key_columns):
                problems.append(f"{at}: unique over {sorted(t.raw)}, not the feed's key {list(feed.key_columns)}")
        elif t.kind == "matches_pattern" and t.direct:
            (raw,) = t.raw
            col = feed.columns[raw]
            expected = TOKEN_PATTERN if col.personal and col.type == "nik" else ID_PATTERNS.get(col.type)
            if expected and not _same_pattern(t.args["pattern"], expected):
                problems.append(f"{at}: pattern {t.args['pattern']} but the loader checks {col.type} as {expected}")
    for feed in contracts.feeds.values():
        for col in feed.columns.values():
            if col.required and (feed.name, col.name) not in asserted_required:
                problems.append(f"contract {feed.name}.{col.name} is required but no staging test needs it")
            if col.values and (feed.name, col.name) not in asserted_values:
                problems.append(f"contract {feed.name}.{col.name} lists values that no staging test accepts")
    return problems


def _blank_stood_in_for(feed, raw: str, raws: set[str]) -> bool:
    """A key column that may be blank and its stand-in are never blank together: a staging column computed
    from both (the key with the stand-in in the blank's place) is never NULL; from only one of them it may be."""
    col = feed.columns[raw]
    pair = {raw, feed.stand_ins[raw].name} if raw in feed.stand_ins else {raw, col.stands_in_for}
    return (raw in feed.stand_ins or col.stands_in_for is not None) and pair <= raws


@pytest.fixture(scope="module")
def contracts():
    return contracts_mod.load()


def test_every_staging_rule_is_a_contract_rule_and_back(contracts):
    tests = staging_tests(contracts)
    kinds = {t.kind for t in tests}
    assert {"not_null", "accepted_values", "unique", "unique_combination", "matches_pattern"} <= kinds
    # Each feed's staging model is read.
    assert {t.feed for t in tests if not t.where.startswith("source")} == set(contracts.feeds)
    assert drift(contracts, tests) == []


def test_the_check_sees_a_rule_missing_on_either_side(contracts):
    tests = staging_tests(contracts)
    feeds = dict(contracts.feeds)

    def changed(feed, column, **kw):
        f = feeds[feed]
        cols = {**f.columns, column: dataclasses.replace(f.columns[column], **kw)}
        return dataclasses.replace(contracts, feeds={**feeds, feed: dataclasses.replace(f, columns=cols)})

    assert drift(changed("koperasi", "status_koperasi", required=False), tests) == [
        "stg_kemenkop__cooperatives.status_koperasi (not_null): staging requires koperasi.status_koperasi, "
        "the contract does not (required: true)"]
    # A name is needed for the matching key computed from it.
    assert any("nama_badan_usaha" in p for p in drift(changed("badan_usaha", "nama_badan_usaha", required=False), tests))
    assert any("skala_usaha" in p for p in drift(changed("umkm", "skala_usaha", values=("Mikro", "Kecil")), tests))
    assert drift(changed("umkm", "nik_pemilik", required=True), tests) == [
        "contract umkm.nik_pemilik is required but no staging test needs it"]
    # The blank-owner-NIK decision: the staging model keeps a NULL token, the loader keeps the row.
    owner = [t for t in tests if t.where == "stg_kemenkop__umkm" and t.column == "nik_token"]
    assert [t.kind for t in owner] == ["matches_pattern"]
    # Likewise for a debtor's NIK, and for an officer's, where the name stands in for it in the key: the
    # key computed from both is never NULL, the token alone may be.
    assert drift(changed("kur", "nik_debitur", required=True), tests) == [
        "contract kur.nik_debitur is required but no staging test needs it"]
    officer_key = [t for t in tests if t.where == "stg_kemenkop__officers" and t.column == "officer_key"]
    assert [(t.kind, t.raw) for t in officer_key] == [("not_null", {"nik_koperasi", "nik", "nama_lengkap", "jabatan"})]
    token_alone = StagingTest("stg_kemenkop__officers", "pengurus", "nik_token", "not_null", {"nik"}, True, {})
    assert drift(contracts, tests + [token_alone]) == [
        "stg_kemenkop__officers.nik_token (not_null): staging requires pengurus.nik, the contract does not "
        "(required: true)"]


def test_select_lists_are_read_with_their_raw_columns(contracts):
    sql = (STAGING / "kemenkop" / "stg_kemenkop__cooperatives.sql").read_text(encoding="utf-8")
    select = select_list(sql)
    assert select["nik_koperasi"] == "nik_koperasi"
    assert _identifiers(select["name_key"]) >= {"nama_koperasi"}
    assert "Dinas" not in _identifiers(select["jenis_badan_hukum"])
    assert _direct("nullif(r.kpj, '')") == "kpj" and _direct("r.nik_debitur_token") == "nik_debitur_token"


# --- the loader enforces them ------------------------------------------------------------------------

def _check(contracts, feed_name: str, rows: list[dict], period_end=date(2024, 1, 31)):
    feed = contracts.feeds[feed_name]
    fmt = contracts.formats["ods_csv"]
    checker = ChunkChecker(feed, fmt, period_end, Pseudonymiser("k" * 32))
    raw = {c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in feed.columns}
    return checker.check(np.arange(2, len(rows) + 2), raw)


def _cooperative(i: int, **kw) -> dict:
    return {"nik_koperasi": f"351301{i:07d}", "nama_koperasi": f"Koperasi {i}", "status_koperasi": "Aktif",
            "jenis_koperasi": "Jasa", **kw}


def test_rows_the_staging_tests_would_fail_are_quarantined_with_their_reason(contracts):
    rows = [_cooperative(i) for i in range(30)]
    rows[1] = _cooperative(1, nama_koperasi="  ")
    rows[2] = _cooperative(2, status_koperasi="")
    rows[3] = _cooperative(3, status_koperasi="Beku")
    rows[4] = _cooperative(4, jenis_koperasi="Serba Usaha")
    rows[5] = {k: "" for k in rows[0]}  # an empty line stays an empty line
    checked = _check(contracts, "koperasi", rows)
    got = {line: (reason, column) for line, reason, column, _ in checked.quarantined}
    assert got == {3: ("value_missing", "nama_koperasi"), 4: ("value_missing", "status_koperasi"),
                   5: ("value_not_allowed", "status_koperasi"), 6: ("value_not_allowed", "jenis_koperasi"),
                   7: ("empty_line", None)}
    messages = {line: message for line, _, _, message in checked.quarantined}
    assert messages[3] == "nama_koperasi wajib diisi tetapi kosong"
    assert "'Beku' tidak termasuk nilai yang sah menurut kontrak (Aktif, Tidak Aktif, Dibubarkan)" in messages[5]
    assert checked.table.num_rows == 25


def test_a_vocabulary_the_contract_does_not_know_is_left_to_the_expectation_suite(contracts):
    # Most rows with a new value: the sender changed its vocabulary (a contract change, judged per batch by
    # the Great Expectations suite), not that many bad rows.
    n = 20
    many = int(n * VOCABULARY_CHANGE_SHARE) + 1
    rows = [_cooperative(i, status_koperasi="Beku" if i < many else "Aktif") for i in range(n)]
    checked = _check(contracts, "koperasi", rows)
    assert checked.quarantined == [] and checked.table.num_rows == n


def test_a_blank_umkm_owner_nik_loads_and_a_blank_participant_nik_does_not(contracts):
    owner = {"nib": "1234567890123", "nama_usaha": "Toko A", "nik_pemilik": "", "nama_pemilik": "Siti",
             "skala_usaha": "Mikro"}
    checked = _check(contracts, "umkm", [owner])
    assert checked.quarantined == [] and checked.table.column("nik_pemilik_token").to_pylist() == [None]
    participant = {"kpj": "12345678901", "nik": "", "segmen": "BPU", "program": "JKK, JKM",
                   "tgl_kepesertaan": "2020-01-02", "status": "Aktif"}
    checked = _check(contracts, "peserta", [participant])
    assert [(r, c) for _, r, c, _ in checked.quarantined] == [("value_missing", "nik")]


def test_a_blank_debtor_nik_loads_and_an_officer_without_nik_is_keyed_by_name(contracts):
    debtor = {"id_fasilitas": "F1", "nik_debitur": "", "nama_debitur": "Siti", "skema": "KUR Kecil",
              "plafon": "150000000", "tgl_pencairan": "2024-01-05", "status_bpjstk": "Belum"}
    checked = _check(contracts, "kur", [debtor])
    assert checked.quarantined == [] and checked.table.column("nik_debitur_token").to_pylist() == [None]
    post = {"nik_koperasi": "3513010000001", "jabatan": "Ketua", "tgl_mulai": "2020-01-01"}
    rows = [dict(post, nik="", nama_lengkap="Siti  Aminah"), dict(post, nik="", nama_lengkap="SITI AMINAH"),
            dict(post, nik="", nama_lengkap="Budi"), dict(post, nik="3513014101800001", nama_lengkap="Siti Aminah"),
            dict(post, nik="", nama_lengkap="")]
    checked = _check(contracts, "pengurus", rows)
    # The name, written the same way, stands in for the blank NIK: the same post twice is a repeated key
    # (the loader drops the second copy of a key, see checked_copy.drop_repeated_keys), another name is another
    # post, and a post with neither has no key.
    assert [(line, r, c) for line, r, c, _ in checked.quarantined] == [(6, "key_missing", "nik")]
    names = checked.table.column("nama_lengkap_token").to_pylist()
    assert names[0] == names[1] and names[2] not in (None, names[0]) and names[3] is None
    assert checked.table.column("nik_token").to_pylist()[:3] == [None] * 3
    assert names[0] not in checked.table.column("nik_token").to_pylist()


def test_an_unknown_region_of_a_person_feed_is_emptied_and_logged_elsewhere_the_row_is_set_aside(contracts):
    """A participant's, a facility's or a business's unknown region empties the value (a repair with the
    reason and the value as sent) and the row loads; a cooperative's row is still set aside. A row with
    another problem is set aside for that one, and its repair goes with it."""
    participant = {"kpj": "12345678901", "nik": "3513010101900001", "segmen": "BPU", "program": "JKK, JKM",
                   "tgl_lahir": "1990-01-01", "tgl_kepesertaan": "2020-01-02", "status": "Aktif"}
    rows = [dict(participant, kode_wilayah="99.99.99"), dict(participant, kpj="12345678902", kode_wilayah="35.13"),
            dict(participant, kpj="12345678903", kode_wilayah="99.99.99", tgl_kepesertaan="1980-01-01")]
    checked = _check(contracts, "peserta", rows)
    assert [(line, r, c) for line, r, c, _ in checked.quarantined] == [(4, "date_before_birth", "tgl_kepesertaan")]
    assert checked.lines.tolist() == [2, 3]
    assert checked.table.column("kode_wilayah").to_pylist() == [None, "35.13"]
    assert checked.repairs == [(2, "kode_wilayah", "region_unknown", "99.99.99", None)]
    for feed in ("umkm", "kur"):
        base, key, keys = PERSON_ROWS[feed]
        checked = _check(contracts, feed, [{**base, key: keys[0], "kode_wilayah": "9999"}])
        assert checked.quarantined == [] and checked.table.column("kode_wilayah").to_pylist() == [None]
        assert checked.repairs == [(2, "kode_wilayah", "region_unknown", "9999", None)]
    checked = _check(contracts, "koperasi", [_cooperative(1, kode_wilayah="99.99.99")])
    assert [(r, c) for _, r, c, _ in checked.quarantined] == [("region_unknown", "kode_wilayah")]
    assert checked.repairs == [] and checked.table.num_rows == 0


def test_a_plafon_above_its_schemes_ceiling_sets_the_row_aside_unless_the_contract_empties_it(contracts):
    base, key, keys = PERSON_ROWS["kur"]
    over = {**base, key: keys[0], "skema": "KUR Super Mikro", "plafon": "27000000"}
    checked = _check(contracts, "kur", [over])
    assert [(r, c) for _, r, c, _ in checked.quarantined] == [("amount_out_of_limits", "plafon")]
    # The code path a contract with `empty_on: [amount_out_of_limits]` takes (plafon itself is required, so
    # the project's contract cannot say it: scheme and plafon decide K4's denominator together).
    kur = contracts.feeds["kur"]
    plafon = dataclasses.replace(kur.columns["plafon"], required=False, empty_on=("amount_out_of_limits",))
    emptying = dataclasses.replace(contracts, feeds={**contracts.feeds,
                                                      "kur": dataclasses.replace(kur, columns={**kur.columns,
                                                                                               "plafon": plafon})})
    checked = _check(emptying, "kur", [over, {**base, key: keys[1]}])
    assert checked.quarantined == [] and checked.table.column("plafon").to_pylist() == [None, "1000000"]
    assert checked.repairs == [(2, "plafon", "amount_out_of_limits", "27000000", None)]


# One row of each person feed, and its key column with three values.
PERSON_ROWS = {
    "pengurus": ({"nik_koperasi": "3513010000001", "tgl_mulai": "2020-01-01"}, "jabatan",
                 ["Ketua", "Sekretaris", "Bendahara"]),
    "umkm": ({}, "nib", ["1234567890121", "1234567890122", "1234567890123"]),
    "peserta": ({"segmen": "BPU", "program": "JKK, JKM", "tgl_kepesertaan": "2020-01-02", "status": "Aktif"},
                "kpj", ["12345678901", "12345678902", "12345678903"]),
    "klaim": ({"kpj": "12345678901", "program": "JHT", "nominal": "1000"}, "no_klaim", ["K1", "K2", "K3"]),
    "kur": ({"skema": "KUR Mikro", "plafon": "1000000", "tgl_pencairan": "2024-01-05", "status_bpjstk": "Belum"},
            "id_fasilitas", ["F1", "F2", "F3"]),
}


@pytest.mark.parametrize("feed, column", [("pengurus", "nik"), ("umkm", "nik_pemilik"), ("peserta", "nik"),
                                          ("klaim", "nik"), ("kur", "nik_debitur")])
def test_a_nik_with_an_impossible_birth_date_loads_flagged_in_every_person_feed(contracts, feed, column):
    """The person is real and can still be found (a one-keystroke slip, or name, birth date and region)."""
    base, key, keys = PERSON_ROWS[feed]
    niks = ["3513017513900001", "3513011212900001", "3513014101800002"]   # day 75 and month 13; possible; day 41
    checked = _check(contracts, feed, [{**base, key: k, column: nik} for k, nik in zip(keys, niks)])
    assert checked.quarantined == []
    assert checked.table.column(f"{column}_bad_date").to_pylist() == [True, False, False]
    assert checked.table.column(f"{column}_token").null_count == 0


def test_months_after_the_period_are_quarantined(contracts):
    base = {"kpj": "12345678901", "nik": "3513010101900001", "segmen": "BPU", "program": "JKK, JKM",
            "tgl_kepesertaan": "2020-01-02", "status": "Aktif"}
    checked = _check(contracts, "peserta", [dict(base, iuran_terakhir="01/2024"),
                                            dict(base, kpj="12345678902", iuran_terakhir="02/2024"),
                                            dict(base, kpj="12345678903", tgl_kepesertaan="2024-02-01")])
    assert [(line, r, c) for line, r, c, _ in checked.quarantined] == [
        (3, "date_future", "iuran_terakhir"), (4, "date_future", "tgl_kepesertaan")]
