"""Issue 20: the pure parts of the worklists (no database): scope parsing, formats and labels, the print
layout of the XLSX and formula safety of every export."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from sinergi.core import labels
from sinergi.serve import spreadsheet
from sinergi.serve import worklist as wl

HOSTILE = '=HYPERLINK("http://x","klik")'


@pytest.mark.parametrize("branch, region, column", [
    ("k1305", None, "branch_code"), (None, "35.13", "regency_code"), (None, " 35 ", "province_code")])
def test_a_scope_is_a_branch_or_a_region_and_filters_its_column(branch, region, column):
    scope = wl.parse(branch, region)
    assert scope.column == column and scope.where() == f"w.{column} = %(cakupan)s"
    assert scope.code in ("K1305", "35.13", "35")


@pytest.mark.parametrize("branch, region, message", [
    (None, None, "Pilih satu cakupan"), ("K1305", "35.13", "Pilih satu cakupan"),
    (None, "35.1", "Kode wilayah tidak sah"), (None, "3513", "Kode wilayah tidak sah"),
    (None, "35.13'; drop table x", "Kode wilayah tidak sah"), ("K13 05", None, "Kode kantor cabang tidak sah")])
def test_bad_scopes_are_refused_with_a_message_in_bahasa(branch, region, message):
    with pytest.raises(wl.BadScope, match=message):
        wl.parse(branch, region)


def test_each_section_has_a_label_and_names_only_when_asked():
    assert list(wl.SECTIONS) == ["koperasi", "pengurus", "kur", "perizinan"]
    assert all(labels.label("worklist_section", s) == t for s, t in wl.SECTIONS.items())
    assert labels.CAMPAIGN_SCOPES == {"cabang": "Kantor cabang", "wilayah": "Wilayah"}
    for section in ("pengurus", "kur"):
        assert "nama" not in [c.field for c in wl._columns(section, names=False)]
        assert "nama" in [c.field for c in wl._columns(section, names=True)]
    assert "nama" not in [c.field for s in ("koperasi", "perizinan") for c in wl._columns(s, names=True)]


def test_cells_read_in_indonesian_formats_and_labels():
    column = {c.field: c for s in wl.SECTIONS for c in wl._columns(s, names=False)}
    assert wl.display(Decimal("150000000.00"), column["plafon"]) == "Rp150.000.000"
    assert wl.display(1234, column["officers"]) == "1.234"
    assert wl.display(date(2024, 2, 5), column["tgl_pencairan"]) == "5 Februari 2024"
    assert wl.display("koperasi_lain", column["alasan"]) == labels.LICENSING_REASONS["koperasi_lain"]
    assert wl.display("staf", column["peran"]) == "Manajer dan karyawan"
    assert wl.display("a" * 64, column["person_id"]) == "a" * 12
    assert wl.display(None, column["alamat"]) == "–"


def _worklist(names=False):
    found = wl.Worklist(wl.Scope(wl.BRANCH, "K1305", "Kabupaten Probolinggo", "35"), "2024-02", names,
                        {"k1": 2, "k2": 3, "k2_in_uncovered": 1, "k3": 1, "k4": 1})
    found.sections = {
        "koperasi": [{"no": 1, "nik_koperasi": "3513007000077", "nama_koperasi": HOSTILE, "jenis_koperasi": "Jasa",
                      "alamat": "@SUM(A1)", "wilayah": "Kabupaten Probolinggo", "jumlah_anggota": 40, "officers": 5,
                      "officers_not_covered": 2, "months_uncovered": 3, "npp": None, "weight": 3},
                     {"no": 2, "nik_koperasi": "3513007000078", "nama_koperasi": "KSU Maju", "weight": 1}],
        "pengurus": [{"no": 1, "nik_koperasi": "3513007000079", "nama_koperasi": "KSU Jaya", "jabatan": "Ketua",
                      "peran": "pengurus", "person_id": "ab" * 32, "is_registered": False, "weight": 1}],
        "kur": [{"no": 1, "bank": "BRI", "id_fasilitas": "BRI1", "skema": "KUR Kecil", "plafon": Decimal("150000000.00"),
                 "tgl_pencairan": date(2024, 2, 5), "batas_30_hari": date(2024, 3, 6), "person_id": "cd" * 32,
                 "status_bpjstk": "Belum", "weight": 1}],
        "perizinan": [{"no": 1, "no_keputusan": "-1+1", "nik_koperasi": "3513007000080", "alasan": "tidak_ada",
                       "tgl_keputusan": date(2024, 2, 1), "weight": 1}],
    }
    return found


def test_the_xlsx_is_laid_out_to_print_and_formula_safe():
    book = openpyxl.load_workbook(io.BytesIO(wl.to_xlsx(_worklist())))
    assert len(book.worksheets) == 4
    ws = book.worksheets[0]
    assert ws["A1"].value.startswith("Daftar tindak lanjut Februari 2024: Koperasi aktif belum terlindungi")
    assert ws["A2"].value == "Kantor Cabang BPJS Ketenagakerjaan K1305 (Kabupaten Probolinggo)"
    assert ws.print_title_rows == "$5:$5" and ws.freeze_panes == "A6"
    assert [c.value for c in ws[5]][:3] == ["No", "NIK koperasi", "Nama koperasi"] and ws[5][0].font.b
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["C"].width == 30 and ws.oddFooter.center.text == "Halaman &P dari &N"
    assert ws["C6"].value == "'" + HOSTILE and ws["E6"].value == "'@SUM(A1)" and ws["B6"].data_type == "s"
    kur = book.worksheets[2]
    assert kur["E6"].value == 150000000.0 and kur["E6"].number_format == '"Rp"#,##0'
    assert kur["F6"].is_date and kur["F6"].number_format == "DD/MM/YYYY"
    assert book.worksheets[3]["B6"].value == "'-1+1"
    assert book.worksheets[3]["H6"].value == labels.LICENSING_REASONS["tidak_ada"]


def test_the_csv_per_section_is_formula_safe_with_labels():
    rows = list(csv.reader(io.StringIO(wl.to_csv(_worklist(), "koperasi").decode("utf-8-sig"))))
    assert rows[0][:3] == ["No", "NIK koperasi", "Nama koperasi"] and rows[1][2] == "'" + HOSTILE
    rows = list(csv.reader(io.StringIO(wl.to_csv(_worklist(), "pengurus").decode("utf-8-sig"))))
    assert rows[1][4] == "Pengurus (Ketua s.d. Pengawas)" and rows[1][6] == "Tidak"


def test_the_pdf_html_escapes_and_shows_tokens_only_without_names():
    html = wl.to_html(_worklist())
    assert "=HYPERLINK(&#34;http" in html or "=HYPERLINK(&quot;http" in html
    assert "Rp150.000.000" in html and "abababababab" in html and "ab" * 32 not in html
    assert "nama hanya untuk auditor" in html


def test_print_sheets_go_through_the_neutraliser():
    data = spreadsheet.to_print_xlsx([spreadsheet.PrintSheet("=x", "=judul", ["+baris"], ["=h"], [["=1+1", 2]],
                                                             [10, 10], [None, "#,##0"])])
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws.title == "=x" and ws["A1"].value == "'=judul" and ws["A2"].value == "'+baris"
    assert ws["A4"].value == "'=h" and ws["A5"].value == "'=1+1" and ws["B5"].value == 2
