"""A corpus of malformed files, at least one per item of feeds.md "What real deliveries get wrong".

Each file is built from a real generated file and broken in one known way; all are loaded together,
and each must end as a repair, a flag, a quarantine or a rejection with its reason, nothing lost, the rest
loaded.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from ingestion import pipeline, pseudonym, quality, regions

from landing import Deliveries

ODS = "kemenkop/ods"
BRANCH = "bpjstk/K1301"
MANDIRI = "himbara/mandiri"
BRI = "himbara/bri"


def _lines(world: Path, rel: str, n: int, encoding="utf-8") -> list[str]:
    text = (world / "landing" / rel).read_bytes().decode(encoding).lstrip("\ufeff")
    return text.split("\n")[:n]


def _field(line: str, i: int, value: str, sep=";") -> str:
    parts = line.split(sep)
    parts[i] = value
    return sep.join(parts)


@pytest.fixture(scope="module")
def corpus(clean_world, tmp_path_factory, new_db, gx_dir):
    root = tmp_path_factory.mktemp("corpus") / "landing"
    c = Deliveries(root)
    kop = _lines(clean_world, f"{ODS}/koperasi_20240107.csv", 11)
    kop_text = "\n".join(kop) + "\n"
    expect = {}

    # --- BPJS peserta: one row problem per line (CSV, `;`, decimal comma, dd/mm/yyyy) -------------
    pes = _lines(clean_world, f"{BRANCH}/K1301_peserta_202401.csv", 40)
    header, rows = pes[0], pes[1:]
    nik = rows[2].split(";")[1]
    old, current = next((o, n) for o, n in regions.code_changes().items())
    broken = {
        2: (_field(rows[0], 0, rows[0].split(";")[0][:4] + " " + rows[0].split(";")[0][4:]), "repair:id_separators"),
        3: (_field(rows[1], 1, rows[1].split(";")[1][:15]), "nik_length"),
        4: (_field(rows[2], 1, nik + "7"), "nik_length"),
        # A NIK whose date is impossible is mistyped, and the participant is real: loaded, flagged.
        5: (_field(rows[3], 1, rows[3].split(";")[1][:6] + "35" + rows[3].split(";")[1][8:]), "flagged:nik_bad_date"),
        6: (_field(rows[4], 1, "3.51301E+15"), "id_excel_number"),
        7: (_field(rows[5], 10, rows[5].split(";")[10].replace(".", "")), "repair:region_undotted"),
        8: (_field(rows[6], 10, old), "repair:region_old_code"),
        # A participant's unknown region says nothing about who they are or whether they participate: the
        # row loads with the region emptied, the value as sent in the repair.
        9: (_field(rows[7], 10, "99.99.99"), "emptied:region_unknown"),
        10: (_field(rows[8], 3, "1981-07-28"), "repair:date_format"),
        11: (_field(rows[9], 3, "28/07/2091"), "date_future"),
        12: (_field(rows[10], 11, "01/01/1900"), "date_before_birth"),
        13: (_field(rows[11], 8, "-" + rows[11].split(";")[8]), "amount_negative"),
        14: (_field(rows[12], 8, "2,668,000.00"), "repair:amount_separator"),
        15: (rows[13], "loaded"),
        16: (rows[13], "duplicate_key"),
        17: (rows[14] + ";EXTRA", "too_many_fields"),
        18: (rows[15].rsplit(";", 1)[0], "too_few_fields"),
        19: (_field(rows[16], 2, rows[16].split(";")[2].replace("A", "AA", 1)), "loaded"),  # name spelt differently
        # Emptying the region does not save a row with another problem: it is set aside for that one.
        20: (_field(_field(rows[17], 10, "99.99.99"), 11, "01/01/1900"), "date_before_birth"),
    }
    body = [header] + [line for line, _ in broken.values()] + rows[18:30]
    expect["rows"] = c.write(f"{BRANCH}/K1301_peserta_202501.csv", ("\n".join(body) + "\n").encode())
    expect["row_lines"] = {line: what for line, (_, what) in broken.items()}
    expect["row_old"] = (old, current)

    # --- whole-file problems --------------------------------------------------------------------
    files = expect["files"] = {}
    files[c.write(f"{ODS}/koperasi_20250101.csv", kop_text.encode())] = ("loaded", None)
    files[c.write(f"{ODS}/koperasi_20250102.csv", kop_text.encode()[:-40])] = ("rejected", "file_truncated")
    files[c.write(f"{ODS}/koperasi_20250103.csv", b"")] = ("rejected", "file_empty")
    files[c.write(f"{ODS}/koperasi_20250104.csv", ("\ufeff" + kop_text).encode())] = ("loaded", "bom")
    files[c.write(f"{ODS}/koperasi_20250105.csv", kop_text.replace("\n", "\r\n").encode())] = ("loaded", "crlf")
    cafe = kop_text.replace("Jl. ", "Jl. Café ", 1)
    files[c.write(f"{ODS}/koperasi_20250106.csv", cafe.encode("cp1252"))] = ("loaded", "encoding_wrong")
    added = "\n".join(line + ',"x"' for line in kop) + "\n"
    files[c.write(f"{ODS}/koperasi_20250107.csv", added.encode())] = ("loaded", "column_added")
    renamed = kop_text.replace('"nama_koperasi"', '"NAMA  KOPERASI"', 1)
    files[c.write(f"{ODS}/koperasi_20250108.csv", renamed.encode())] = ("loaded", "header_renamed")
    missing = "\n".join(",".join(line.split(",")[:-1]) for line in kop) + "\n"
    files[c.write(f"{ODS}/koperasi_20250109.csv", missing.encode())] = ("rejected", "missing_column")
    files[c.write(f"{ODS}/koperasi_20250110.csv", "\n".join(kop[:3]).encode() + b"\n")] = ("held", "snapshot_shrunk")
    beku = kop_text.replace('"Aktif"', '"Beku"')
    files[c.write(f"{ODS}/koperasi_20250111.csv", beku.encode())] = ("loaded", "quality_failed")
    files[c.write(f"{ODS}/koperasi_20250111 (1).csv", beku.encode())] = ("duplicate", "duplicate_delivery")
    files[c.write(f"{ODS}/daftar_koperasi_final.xlsx", b"PK\x03\x04 not really")] = ("rejected", "unknown_file")

    gz = (clean_world / "landing" / "kemenkop/sidt/umkm_202401.csv.gz").read_bytes()
    files[c.write("kemenkop/sidt/umkm_202501.csv.gz", gz[: len(gz) // 2])] = ("rejected", "file_truncated")

    bri = _lines(clean_world, f"{BRI}/KUR_BRI_202401.txt", 8)
    data = bri[1:7]
    over = data[0].split("|")
    over[5], over[6] = "KUR Super Mikro", "25000000"
    data[0] = "|".join(over)
    total = sum(int(line.split("|")[6]) for line in data)
    good = "\n".join([bri[0], *data, f"TRL|{len(data)}|{total}"]) + "\n"
    files[c.write(f"{BRI}/KUR_BRI_202502.txt", good.encode())] = ("loaded", "amount_out_of_limits")
    plain = bri[1:7]
    plain_text = "\n".join([bri[0], *plain, f"TRL|{len(plain)}|{sum(int(x.split('|')[6]) for x in plain)}"]) + "\n"
    files[c.write(f"{BRI}/KUR_BRI_202501.txt", plain_text.encode())] = ("loaded", "out_of_order")
    bad = "\n".join([bri[0], *data, f"TRL|{len(data) + 1}|{total}"]) + "\n"
    files[c.write(f"{BRI}/KUR_BRI_202503.txt", bad.encode())] = ("rejected", "trailer_mismatch")

    man = (clean_world / "landing" / MANDIRI / "kur_mandiri_202401.csv").read_bytes()
    files[c.write(f"{MANDIRI}/kur_mandiri_202501.csv", man)] = ("held", "control_missing")
    c.write(f"{MANDIRI}/kur_mandiri_202502.csv.ctl", f"records=1\nsha256={'0' * 64}\n".encode())
    files[c.write(f"{MANDIRI}/kur_mandiri_202502.csv", man)] = ("rejected", "control_mismatch")
    first = man.replace(b'"44000000.00"', b'"440000000.00"', 1)
    records = man.count(b"\n") - 1
    c.write(f"{MANDIRI}/kur_mandiri_202503.csv.ctl",
            f"records={records}\nsha256={hashlib.sha256(first).hexdigest()}\n".encode())
    files[c.write(f"{MANDIRI}/kur_mandiri_202503.csv", first)] = ("superseded", "corrected_file")
    c.write(f"{MANDIRI}/kur_mandiri_202503_v2.csv.ctl",
            f"records={records}\nsha256={hashlib.sha256(man).hexdigest()}\n".encode())
    files[c.write(f"{MANDIRI}/kur_mandiri_202503_v2.csv", man)] = ("loaded", None)

    url = new_db()
    outcomes = {o.file: o for o in pipeline.load_landing(url, root, pseudonym.from_environment())}
    quality.check_loads(url, [o.load_id for o in outcomes.values() if o.status == "loaded"])
    return url, root, outcomes, expect


def _one(url, sql, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_each_row_problem_is_repaired_or_quarantined_with_its_reason(corpus):
    url, _, outcomes, expect = corpus
    o = outcomes[expect["rows"]]
    assert o.status == "loaded" and o.rows_read == o.rows_loaded + o.rows_quarantined
    quarantined = dict(_one(url, "select line, reason from audit.quarantine where load_id = %s", o.load_id))
    repairs = {(line, kind) for line, kind in _one(url, "select line, kind from audit.repair where load_id = %s", o.load_id)}
    loaded = {line for (line,) in _one(url, "select _line from raw_bpjstk.peserta where _load_id = %s", o.load_id)}
    flagged = {line for (line,) in _one(url, "select _line from raw_bpjstk.peserta where _load_id = %s "
                                             "and nik_bad_date", o.load_id)}
    assert flagged == {line for line, what in expect["row_lines"].items() if what == "flagged:nik_bad_date"}
    (notes,), = _one(url, "select notes from audit.load where load_id = %s", o.load_id)
    assert "1 baris dengan bagian tanggal lahir nik yang mustahil dimuat dan ditandai (nik_bad_date)" in notes
    for line, what in expect["row_lines"].items():
        if what.startswith(("repair:", "emptied:")):
            assert line in loaded and (line, what.split(":")[1]) in repairs, (line, what)
            assert line not in quarantined, line
        elif what.startswith("flagged:"):
            assert line in loaded, line
        elif what == "loaded":
            assert line in loaded, line
        else:
            assert quarantined.get(line) == what, (line, what, quarantined.get(line))
    assert set(quarantined) | loaded == set(range(2, 2 + o.rows_read))
    assert not {line for line, _ in repairs} & set(quarantined), "a row set aside keeps no repair"
    emptied = {line for line, what in expect["row_lines"].items() if what.startswith("emptied:")}
    assert {line for (line,) in _one(url, "select _line from raw_bpjstk.peserta where _load_id = %s "
                                          "and kode_wilayah is null", o.load_id)} == emptied
    (notes,), = _one(url, "select notes from audit.load where load_id = %s", o.load_id)
    assert "1 baris dimuat dengan kode_wilayah dikosongkan (Kode wilayah tidak dikenal, region_unknown)" in notes


def test_messages_name_the_problem_for_a_person(corpus):
    url, _, outcomes, expect = corpus
    o = outcomes[expect["rows"]]
    messages = dict(_one(url, "select reason, message from audit.quarantine where load_id = %s", o.load_id))
    assert "16 digit" in messages["nik_length"]
    assert "Excel" in messages["id_excel_number"]
    assert "date_before_birth" in messages and "region_unknown" not in messages
    # The emptied region keeps the value as sent, where the quarantine would have kept the line.
    emptied = _one(url, "select column_name, before, after from audit.repair where load_id = %s and line = 9 "
                        "and kind = 'region_unknown'", o.load_id)
    assert emptied == [("kode_wilayah", "99.99.99", None)]
    raw = dict(_one(url, "select line, raw_text from vault.quarantine_text where load_id = %s", o.load_id))
    assert raw[17].endswith(";EXTRA")


def test_repaired_values_are_the_true_ones(corpus):
    url, _, outcomes, expect = corpus
    o = outcomes[expect["rows"]]
    old, current = expect["row_old"]
    region = _one(url, "select kode_wilayah from raw_bpjstk.peserta where _load_id = %s and _line = 8", o.load_id)
    assert region == [(current,)]
    wage = _one(url, "select upah from raw_bpjstk.peserta where _load_id = %s and _line = 14", o.load_id)
    assert wage[0][0] == 2668000
    cafe = outcomes[f"{ODS}/koperasi_20250106.csv"]
    assert _one(url, "select count(*) from raw_kemenkop.koperasi where _load_id = %s and alamat like 'Jl. Café %%'",
                cafe.load_id) == [(1,)]


def test_each_file_problem_ends_with_its_status_and_reason(corpus):
    url, root, outcomes, expect = corpus
    now = {file: status for file, status in _one(url, "select file, status from audit.load")}
    for rel, (status, reason) in expect["files"].items():
        o = outcomes[rel]
        assert now[rel] == status, (rel, now[rel], o.reason)
        if status in ("rejected", "held", "duplicate"):
            assert o.reason_code == reason, (rel, o.reason_code)
            assert o.reason
        elif reason in ("bom", "crlf", "encoding_wrong", "column_added", "header_renamed"):
            assert reason in o.repairs, (rel, o.repairs)
    for rel, o in outcomes.items():
        if o.status in ("rejected", "held"):
            moved = root / o.archived_to
            assert moved.exists() and Path(str(moved) + ".alasan.txt").exists()
        assert not (root / rel).exists()


def test_a_batch_failing_a_critical_expectation_is_marked(corpus):
    url, _, outcomes, _ = corpus
    beku = outcomes[f"{ODS}/koperasi_20250111.csv"]
    assert _one(url, "select quality from audit.load where load_id = %s", beku.load_id) == [("failed",)]
    failed = _one(url, "select expectation, column_name from audit.expectation_result where load_id = %s "
                       "and critical and not success", beku.load_id)
    assert failed == [("expect_column_values_to_be_in_set", "status_koperasi")]
    fine = outcomes[f"{ODS}/koperasi_20250101.csv"]
    assert _one(url, "select quality from audit.load where load_id = %s", fine.load_id) == [("passed",)]


def test_scheme_limits_corrections_and_late_periods(corpus):
    url, _, outcomes, _ = corpus
    late = outcomes[f"{BRI}/KUR_BRI_202502.txt"]
    assert _one(url, "select reason from audit.quarantine where load_id = %s", late.load_id) == [("amount_out_of_limits",)]
    corrected = outcomes[f"{MANDIRI}/kur_mandiri_202503.csv"]
    by = _one(url, "select superseded_by from audit.load where load_id = %s", corrected.load_id)[0][0]
    assert by == outcomes[f"{MANDIRI}/kur_mandiri_202503_v2.csv"].load_id
    early = outcomes[f"{BRI}/KUR_BRI_202501.txt"]
    assert "urutan terbalik" in _one(url, "select notes from audit.load where load_id = %s", early.load_id)[0][0]
