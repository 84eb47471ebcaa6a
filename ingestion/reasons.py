"""Why a row is quarantined: every reason code the loader writes to `audit.quarantine`, with the label a
person reads on the dashboard and in the auditors' report (Bahasa Indonesia).

The codes are the generator's defect kinds (`simulator/defects.py`) and what engineers search the
ledger by (`sinergi quarantine --file ... --reason ...`, docs/runbooks.md); the labels are for everyone else. The
checks in `values.py`, the readers (`readers.py`) and the loader (`loader.py`) write these codes;
tests/unit/test_labels.py fails when one of them has no label here, or a label no code.
"""
from __future__ import annotations

QUARANTINE = {
    # identifiers
    "nik_length": "NIK tidak 16 digit",
    "id_excel_number": "Nomor identitas rusak karena disimpan Excel sebagai angka",
    "id_invalid": "Nomor identitas tidak sah",
    "key_missing": "Kunci baris kosong",
    # values
    "region_unknown": "Kode wilayah tidak dikenal",
    "date_invalid": "Tanggal tidak terbaca",
    "date_future": "Tanggal sesudah periode berkas",
    "date_before_birth": "Tanggal sebelum tanggal lahir",
    "number_invalid": "Angka tidak terbaca",
    "amount_negative": "Nilai uang negatif",
    "amount_out_of_limits": "Nilai melebihi batas skema",
    "value_missing": "Kolom wajib kosong",
    "value_not_allowed": "Nilai di luar daftar yang sah",
    # rows
    "duplicate_key": "Baris ganda (kunci sama dalam satu berkas)",
    "empty_line": "Baris kosong",
    "too_many_fields": "Kolom terlalu banyak",
    "too_few_fields": "Kolom kurang",
    "json_invalid": "Baris JSON tidak sah",
    "bad_bytes": "Memuat karakter yang tidak dapat disimpan",
    "line_too_long": "Baris terlalu panjang",
}

# Codes the loader no longer writes but older ledgers hold: their rows keep a readable reason.
RETIRED = {
    "nik_bad_date": "Tanggal lahir dalam NIK tidak mungkin (sebelum baris seperti ini dimuat dengan tanda)",
}


def label(code: str) -> str:
    """The label of a quarantine reason code (the code itself if it has none)."""
    return QUARANTINE.get(code) or RETIRED.get(code, code)
