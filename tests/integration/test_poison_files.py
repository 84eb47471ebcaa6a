"""Poisoned deliveries: each one ends as its own ledger outcome, and the run goes on.

Every file here is a real generated file broken in one way that once crashed `sinergi load` or let
wrong data in silently (issue "Loads that never strand data"). All of them wait in one landing folder
with a good file delivered last; one run must take them all: each poison file gets exactly one ledger
row with its status and reason (in Bahasa Indonesia, naming the line where there is one), a row that
cannot be stored is set aside with its line number while the rest of its file loads, and the good
file loads.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import time
from pathlib import Path

import openpyxl
import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym, readers

from landing import Deliveries

BRANCH = "bpjstk/K0921"          # BPJS branch delivering `;` CSV
XLSX = "bpjstk/K1902"            # BPJS branch delivering Excel
ODS = "kemenkop/ods"
BTN = "himbara/btn"
GOOD = f"{ODS}/koperasi_20240107.csv"
INDONESIAN = re.compile(r"\b(berkas|baris|kolom|periode|lembar|minta|pengirim)\b")


def _text_lines(world: Path, rel: str) -> list[str]:
    return (world / "landing" / rel).read_bytes().decode("utf-8").lstrip("\ufeff").split("\n")


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(line for line in lines if line) + "\n").encode()


def _field(line: str, i: int, value: str, sep=";") -> str:
    parts = line.split(sep)
    parts[i] = value
    return sep.join(parts)


def _sheet_rows(world: Path, rel: str) -> list[tuple]:
    book = openpyxl.load_workbook(world / "landing" / rel, read_only=True)
    rows = [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


def _workbook(sheets: dict[str, list[tuple]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _bomb(header: bytes, row: bytes, inflated: int) -> bytes:
    """A gzip of a few MB that inflates to `inflated`: concatenated members of one row
    repeated (a reader sees one stream)."""
    member = gzip.compress(row * ((8 << 20) // len(row)), compresslevel=9)
    return gzip.compress(header) + member * (inflated // (8 << 20))


@pytest.fixture(scope="module")
def poisoned(clean_world, tmp_path_factory, new_db, gx_dir):
    root = tmp_path_factory.mktemp("poison") / "landing"
    land = Deliveries(root)
    expect: dict[str, tuple] = {}      # file -> (status, reason_code or quarantined {line: reason})
    facts: dict[str, object] = {}

    # 1. A NUL byte inside a CSV field: that row is set aside, the others load.
    klaim = _text_lines(clean_world, f"{BRANCH}/K0921_klaim_202401.csv")
    klaim[3] = _field(klaim[3], 4, "Berhenti\x00bekerja")
    expect[land.write(f"{BRANCH}/K0921_klaim_202401.csv", _joined(klaim))] = ("loaded", {4: "bad_bytes"})

    # 2. A legal `\u0000` escape in a JSON string (BTN, gzipped JSON Lines): that record is set aside.
    btn = gzip.decompress((clean_world / "landing" / BTN / "btn_kur_202401.jsonl.gz").read_bytes()).decode().split("\n")
    record = json.loads(btn[2])
    record["debitur"]["nama"] = record["debitur"]["nama"] + "\u0000"
    btn[2] = json.dumps(record)
    assert "\\u0000" in btn[2]
    expect[land.write(f"{BTN}/btn_kur_202401.jsonl.gz", gzip.compress("\n".join(btn).encode()))] = \
        ("loaded", {3: "bad_bytes"})

    # 3. Periods: a month no calendar has is refused; a period outside the window is held.
    iuran = (clean_world / "landing" / BRANCH / "K0921_iuran_202401.csv").read_bytes()
    expect[land.write(f"{BRANCH}/K0921_iuran_202413.csv", iuran)] = ("rejected", "period_invalid")
    expect[land.write(f"{BRANCH}/K0921_iuran_203001.csv", iuran.replace(b"/2024;", b"/2030;"))] = \
        ("held", "period_out_of_window")
    expect[land.write(f"{BRANCH}/K0921_iuran_201901.csv", iuran.replace(b"/2024;", b"/2019;"))] = \
        ("held", "period_out_of_window")
    kop = (clean_world / "landing" / ODS / "koperasi_20240131.csv").read_bytes()
    expect[land.write(f"{ODS}/koperasi_20240231.csv", kop)] = ("rejected", "period_invalid")

    # 4. A BTN control line without total_plafon.
    btn2 = gzip.decompress((clean_world / "landing" / BTN / "btn_kur_202402.jsonl.gz").read_bytes()).decode()
    body, control = btn2.rstrip("\n").rsplit("\n", 1)
    control = json.loads(control)
    del control["_control"]["total_plafon"]
    broken = gzip.compress((body + "\n" + json.dumps(control) + "\n").encode())
    expect[land.write(f"{BTN}/btn_kur_202402.jsonl.gz", broken)] = ("rejected", "control_invalid")
    facts["control_line"] = len(body.split("\n")) + 1

    # 5. A small gzip that inflates to 1 GB.
    umkm = gzip.decompress((clean_world / "landing" / "kemenkop/sidt/umkm_202401.csv.gz").read_bytes()).split(b"\n")
    bomb = _bomb(umkm[0] + b"\n" + umkm[1] + b"\n", umkm[2] + b"\n", 1 << 30)
    assert len(bomb) < 4 << 20     # inflates more than 250 times
    expect[land.write("kemenkop/sidt/umkm_202401.csv.gz", bomb)] = ("rejected", "decompression_bomb")

    # 6. A header with `No KPJ` twice (an empty column before the real one).
    pes = _text_lines(clean_world, "bpjstk/K1301/K1301_peserta_202401.csv")
    assert pes[0].startswith("No KPJ;")
    doubled = ["No KPJ;" + pes[0]] + [";" + line for line in pes[1:] if line]
    expect[land.write("bpjstk/K1301/K1301_peserta_202401.csv", _joined(doubled))] = ("rejected", "duplicate_column")

    # 7. UTF-8 and Windows-1252 lines in one file: each line read in its own encoding, no mojibake.
    mixed = _text_lines(clean_world, f"{BRANCH}/K0921_peserta_202401.csv")
    mixed[2] = _field(mixed[2], 2, "JOSÉ ÀGUSTINUS")
    mixed[4] = _field(mixed[4], 2, "RENÉ SUGIARTÖ")
    data = "\n".join(line for line in mixed if line).encode("utf-8") + b"\n"
    data = data.replace("RENÉ SUGIARTÖ".encode("utf-8"), "RENÉ SUGIARTÖ".encode("cp1252"))
    expect[land.write(f"{BRANCH}/K0921_peserta_202401.csv", data)] = ("loaded", {})
    facts["names"] = {f"{BRANCH}/K0921_peserta_202401.csv": {3: "JOSÉ ÀGUSTINUS", 5: "RENÉ SUGIARTÖ"}}
    ods = _text_lines(clean_world, f"{ODS}/pengurus_20240107.csv")
    ods[1] = _field(ods[1], 2, '"Siti Nurhaliza Café"', ",")
    ods[3] = _field(ods[3], 2, '"Agnès Wibisono"', ",")
    data = "\n".join(line for line in ods if line).encode("utf-8") + b"\n"
    data = data.replace("Agnès".encode("utf-8"), "Agnès".encode("cp1252"))
    expect[land.write(f"{ODS}/pengurus_20240107.csv", data)] = ("loaded", {})
    facts["names"][f"{ODS}/pengurus_20240107.csv"] = {2: "Siti Nurhaliza Café", 4: "Agnès Wibisono"}

    # 8. Excel: rows continuing on a second sheet; a cover sheet before the data; a second sheet with
    # data but no header (held: its rows must not vanish).
    rows = _sheet_rows(clean_world, f"{XLSX}/K1902_peserta_202401.xlsx")
    at = next(i for i, r in enumerate(rows) if r and r[0] == "No")
    head, data_rows, total = rows[:at + 1], rows[at + 1:-1], rows[-1]
    continued = _workbook({"Sheet1": head + data_rows[:-104], "Sheet2": [rows[at]] + data_rows[-104:] + [total]})
    expect[land.write(f"{XLSX}/K1902_peserta_202401.xlsx", continued)] = ("loaded", {})
    facts["continued_rows"] = len(data_rows)
    klaim_x = _sheet_rows(clean_world, f"{XLSX}/K1902_klaim_202401.xlsx")
    expect[land.write(f"{XLSX}/K1902_klaim_202401.xlsx",
                      _workbook({"Sampul": [("Laporan klaim kantor cabang",), ("Disusun oleh bagian pelayanan",)],
                                 "Data": klaim_x}))] = ("loaded", {})
    facts["cover_rows"] = sum(1 for r in klaim_x if r and isinstance(r[0], int))
    iuran_x = _sheet_rows(clean_world, f"{XLSX}/K1902_iuran_202401.xlsx")
    at = next(i for i, r in enumerate(iuran_x) if r and r[0] == "No")
    expect[land.write(f"{XLSX}/K1902_iuran_202401.xlsx",
                      _workbook({"Sheet1": iuran_x[:at + 1] + iuran_x[at + 1:-6] + [iuran_x[-1]],
                                 "Sheet2": iuran_x[-6:-1]}))] = ("held", "extra_sheet")

    # 9. A PDF renamed .csv.
    pdf = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           + bytes(range(256)) * 40 + b"%%EOF\n")
    expect[land.write(f"{BRANCH}/K0921_rekomendasi_202401.csv", pdf)] = ("rejected", "not_text")

    # 10. One 50 MB line in the middle: set aside with its number, the rest loads.
    long = _text_lines(clean_world, f"{BRANCH}/K0921_iuran_202402.csv")
    long[4] = _field(long[4], 11, "Bank" + "x" * (50 << 20))
    expect[land.write(f"{BRANCH}/K0921_iuran_202402.csv", _joined(long))] = ("loaded", {5: "line_too_long"})

    # 11. An error no reader foresaw: the file is unreadable, the message names the error's class only.
    perizinan = (clean_world / "landing" / ODS / "perizinan_20240107.jsonl").read_bytes()
    expect[land.write(f"{ODS}/perizinan_20240107.jsonl", perizinan)] = ("rejected", "unreadable")

    expect[land.write(GOOD, (clean_world / "landing" / GOOD).read_bytes())] = ("loaded", {})

    real_check = readers.JsonLinesReader._check_keys

    def broken_check(self, record):
        if self.feed.name == "perizinan":
            raise ValueError("NIK 3201234567890123 milik SITI RAHAYU tidak cocok")
        return real_check(self, record)

    url = new_db()
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers.JsonLinesReader, "_check_keys", broken_check)
        outcomes = pipeline.load_files(url, root, pipeline.pending(root), pseudonym.from_environment())
    facts["seconds"] = time.monotonic() - started
    return url, root, {o.file: o for o in outcomes}, expect, facts


def _q(url, sql, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_every_file_has_one_ledger_row_with_its_outcome(poisoned):
    url, root, outcomes, expect, facts = poisoned
    assert set(outcomes) == set(expect)
    ledger = {}
    for file, status, code, reason, notes in _q(url, "select file, status, reason_code, reason, notes from audit.load"):
        assert file not in ledger, f"{file}: more than one ledger row"
        ledger[file] = (status, code, reason, notes)
    for file, (status, outcome) in expect.items():
        assert ledger[file][0] == status, (file, ledger[file])
        if status in ("rejected", "held"):
            assert ledger[file][1] == outcome, (file, ledger[file])
            assert INDONESIAN.search(ledger[file][2]), (file, ledger[file][2])
        else:
            assert ledger[file][1] is None, (file, ledger[file])
    assert facts["seconds"] < 90, facts["seconds"]


def test_the_good_file_loads_after_the_poison(poisoned):
    url, _, outcomes, _, _ = poisoned
    good = outcomes[GOOD]
    assert good.status == "loaded" and good.rows_loaded > 0 and good.rows_quarantined == 0


def test_nothing_stays_in_the_landing_folder(poisoned):
    _, root, outcomes, _, _ = poisoned
    left = [p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).parts[0].startswith("_")]
    assert left == []
    for o in outcomes.values():
        assert (root / o.archived_to).exists(), o.file
        if o.status in ("rejected", "held"):
            assert Path(str(root / o.archived_to) + ".alasan.txt").exists()


def test_rows_set_aside_carry_their_line_and_the_rest_loads(poisoned):
    url, _, outcomes, expect, _ = poisoned
    for file, (status, quarantined) in expect.items():
        if status != "loaded":
            continue
        o = outcomes[file]
        read, loaded, set_aside = _q(url, "select rows_read, rows_loaded, rows_quarantined from audit.load "
                                          "where load_id = %s", o.load_id)[0]
        assert read == loaded + set_aside and read > 0, (file, read, loaded, set_aside)
        reasons = dict(_q(url, "select line, reason from audit.quarantine where load_id = %s", o.load_id))
        for line, reason in quarantined.items():
            assert reasons.get(line) == reason, (file, line, reasons.get(line))
            assert loaded >= read - len(reasons)


def test_the_nul_and_long_lines_keep_their_raw_text_in_the_vault(poisoned):
    url, _, outcomes, _, _ = poisoned
    nul = outcomes[f"{BRANCH}/K0921_klaim_202401.csv"]
    raw = dict(_q(url, "select line, raw_text from vault.quarantine_text where load_id = %s", nul.load_id))
    assert "Berhenti\ufffdbekerja" in raw[4]
    message = _q(url, "select message from audit.quarantine where load_id = %s and line = 4", nul.load_id)[0][0]
    assert "NUL" in message and "sebab_klaim" in message
    long = outcomes[f"{BRANCH}/K0921_iuran_202402.csv"]
    text = _q(url, "select raw_text from vault.quarantine_text where load_id = %s and line = 5", long.load_id)[0][0]
    assert len(text) < 1000
    btn = outcomes[f"{BTN}/btn_kur_202401.jsonl.gz"]
    assert _q(url, "select count(*) from raw_himbara.kur where _load_id = %s and _line = 3", btn.load_id) == [(0,)]


def test_mixed_encodings_are_read_line_by_line(poisoned):
    url, _, outcomes, _, facts = poisoned
    for file, names in facts["names"].items():
        o = outcomes[file]
        assert "encoding_mixed" in o.repairs, (file, o.repairs)
        stored = dict(_q(url, "select line, nama from vault.person where load_id = %s and line = any(%s)",
                         o.load_id, list(names)))
        assert stored == names, file
        mojibake = _q(url, "select count(*) from vault.person where load_id = %s and (nama like '%%Ã%%' "
                           "or nama like '%%\ufffd%%')", o.load_id)
        assert mojibake == [(0,)], file


def test_excel_rows_on_every_sheet_are_read(poisoned):
    url, _, outcomes, _, facts = poisoned
    continued = outcomes[f"{XLSX}/K1902_peserta_202401.xlsx"]
    assert continued.rows_read == facts["continued_rows"]
    lines = [n for (n,) in _q(url, "select _line from raw_bpjstk.peserta where _load_id = %s", continued.load_id)]
    assert len(lines) == len(set(lines))
    cover = outcomes[f"{XLSX}/K1902_klaim_202401.xlsx"]
    assert cover.rows_read == facts["cover_rows"] > 0
    held = outcomes[f"{XLSX}/K1902_iuran_202401.xlsx"]
    assert "Sheet2" in held.reason and "5 baris" in held.reason


def test_reasons_name_the_problem_and_the_line(poisoned):
    _, _, outcomes, _, facts = poisoned
    reason = {file: o.reason for file, o in outcomes.items()}
    assert "total_plafon" in reason[f"{BTN}/btn_kur_202402.jsonl.gz"]
    assert f"baris {facts['control_line']}" in reason[f"{BTN}/btn_kur_202402.jsonl.gz"]
    assert "bulan 13" in reason[f"{BRANCH}/K0921_iuran_202413.csv"]
    assert "203001" in reason[f"{BRANCH}/K0921_iuran_203001.csv"]
    dup = reason["bpjstk/K1301/K1301_peserta_202401.csv"]
    assert dup.count("'No KPJ'") == 2 and "ke-1" in dup and "ke-2" in dup
    assert "bukan CSV teks (tampaknya PDF)" in reason[f"{BRANCH}/K0921_rekomendasi_202401.csv"]
    assert "gzip" in reason["kemenkop/sidt/umkm_202401.csv.gz"]
    assert "ValueError" in reason[f"{ODS}/perizinan_20240107.jsonl"]


def test_no_personal_data_in_reasons_or_messages(poisoned):
    url, _, _, _, _ = poisoned
    texts = [r for (r,) in _q(url, "select coalesce(reason, '') || ' ' || coalesce(notes, '') from audit.load")]
    texts += [m for (m,) in _q(url, "select message from audit.quarantine")]
    for text in texts:
        assert not re.search(r"\d{10,}", text), text
        assert "SITI RAHAYU" not in text and "JOSÉ" not in text


def test_the_bomb_is_refused_quickly(poisoned):
    url, _, outcomes, _, _ = poisoned
    bomb = outcomes["kemenkop/sidt/umkm_202401.csv.gz"]
    seconds = _q(url, "select extract(epoch from finished_at - started_at) from audit.load where load_id = %s",
                 bomb.load_id)[0][0]
    assert seconds < 20


def test_generated_worlds_fall_inside_the_period_window(clean_world):
    c = contracts.load()
    for path in (clean_world / "landing").rglob("*"):
        match = c.match(path.relative_to(clean_world / "landing").as_posix()) if path.is_file() else None
        if match:
            c.check_period(match.period)


