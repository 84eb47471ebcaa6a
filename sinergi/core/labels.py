"""What the codes in the marts and the ledger mean, in Bahasa Indonesia: one definition of each
vocabulary, read by the dashboard (`sinergi/web`) and the auditors' report (`sinergi/serve/report.py`).

Metric breakdowns are `dimension=value` keys (`marts.fct_metrics.breakdown`): every dimension has a label;
where the values are codes (`alasan=koperasi_lain`), every value has one too; elsewhere the value is the
sender's own word (`jenis_koperasi=Jasa`, `skala_usaha=Kecil`) and is shown as sent. Quarantine reason
labels live beside the codes, in `ingestion/reasons.py`; the programmes' names in the dbt seed
`ref_programmes.csv`, the senders' in `ingestion/contracts.yml`. Screens show the label and keep the code
at hand (a tooltip on the dashboard, a second column or small print in the report) for engineers.
tests/unit/test_labels.py fails when a code the warehouse produces has no label.
"""
from __future__ import annotations

import csv
from functools import lru_cache

from ingestion import contracts, reasons
from sinergi.core import settings

PROGRAMMES_SEED = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "ref_programmes.csv"

# K3: why an approved licence decision has no valid recommendation (`fct_licensing_compliance.alasan`).
LICENSING_REASONS = {"tidak_ada": "Tidak mencantumkan rekomendasi",
                     "tidak_dikenal": "Nomor rekomendasi tidak dikenal",
                     "koperasi_lain": "Rekomendasi untuk koperasi lain",
                     "tidak_berlaku": "Rekomendasi tidak berlaku pada tanggal keputusan"}
# Q1: the rule that linked a cooperative to an employer (`link_rule`), strongest first.
LINK_RULES = {"nik_koperasi": "NIK koperasi", "nib": "NIB", "npwp": "NPWP", "nama_wilayah": "Nama dan wilayah"}
# A delivered file's fate in the ledger (`audit.load.status`) and its Great Expectations verdict (`quality`).
# `skipped` is an outcome a run reports (a file left for later), never a ledger row.
LOAD_STATUS = {"loaded": "dimuat", "duplicate": "duplikat", "superseded": "digantikan", "rejected": "ditolak",
               "held": "ditahan", "skipped": "dilewati"}
QUALITY = {"passed": "lolos", "warning": "peringatan", "failed": "gagal", "pending": "belum diperiksa",
           "none": "tanpa suite", "error": "gagal diperiksa"}

# Person linkage (issue 17): the feeds whose records are linked to participants, the review queue's kinds
# and decisions, the feed pairs and the bias check's dimensions (fct_linkage_quality, fct_linkage_bias).
LINK_FEEDS = {"pengurus": "Pengurus koperasi", "umkm": "Pemilik UMKM", "kur": "Debitur KUR"}
REVIEW_KINDS = {"konflik": "Konflik (NIK sama, orang lain)", "ragu": "Ragu-ragu",
                "sampel_tautan": "Sampel tautan otomatis", "sampel_bukan_tautan": "Sampel bukan tautan"}
REVIEW_DECISIONS = {"terima": "diterima", "tolak": "ditolak"}
LINK_PAIRS = {"pengurus_peserta": "Pengurus ↔ peserta", "umkm_peserta": "Pemilik UMKM ↔ peserta",
              "kur_peserta": "Debitur KUR ↔ peserta"}
LINK_DIMENSIONS = {"jenis_kelamin": "Jenis kelamin", "kelompok_usia": "Kelompok usia", "wilayah": "Wilayah"}
SEXES = {"L": "Laki-laki", "P": "Perempuan"}

DIMENSIONS = {
    "jenis_koperasi": "Jenis koperasi",
    "cara": "Cara penautan",
    "peran": "Peran",
    "temuan": "Terdaftar sebagai peserta",
    "jenis_layanan": "Jenis layanan",
    "alasan": "Alasan tanpa rekomendasi sah",
    "bank": "Bank",
    "skema": "Skema KUR",
    "kesesuaian_status": "Status BPJSTK menurut bank",
    "skala_usaha": "Skala usaha",
    "segmen": "Segmen peserta",
    "pekerjaan": "Pekerjaan",
    "program": "Program",
    "kelompok": "Kelompok",
    "karantina": "Baris dikarantina",
}
# Dimensions whose values are the senders' own words, shown as sent.
AS_SENT = {"jenis_koperasi", "jenis_layanan", "bank", "skema", "skala_usaha", "pekerjaan"}
_CODED = {
    "alasan": LICENSING_REASONS,
    "cara": LINK_RULES,
    "peran": {"pengurus": "Pengurus (Ketua s.d. Pengawas)", "staf": "Manajer dan karyawan"},
    "temuan": {"pengurus": "Pengurus dan karyawan koperasi", "debitur_kur": "Debitur KUR"},
    "kesesuaian_status": {"sesuai": "sesuai dengan data BPJS Ketenagakerjaan"},
    "segmen": {"PU": "Penerima upah (PU)", "BPU": "Bukan penerima upah (BPU)", "JAKON": "Jasa konstruksi (Jakon)",
               "PMI": "Pekerja migran Indonesia (PMI)"},
    "kelompok": {"pekerja_koperasi": "Pekerja koperasi", "pemilik_umkm": "Pemilik UMKM",
                 "debitur_kur": "Debitur KUR"},
}


@lru_cache(maxsize=1)
def programmes() -> dict[str, str]:
    """`JKK` -> `Jaminan Kecelakaan Kerja (JKK)`, from the seed the warehouse's dim_programme is built on."""
    with PROGRAMMES_SEED.open(encoding="utf-8") as f:
        return {r["program"]: f"{r['program_name']} ({r['program']})" for r in csv.DictReader(f)}


def senders() -> dict[str, str]:
    """`bpjstk` -> `BPJS Ketenagakerjaan`, as the contracts name each sender."""
    return {code: source["name"] for code, source in contracts.load().sources.items()}


def values(dimension: str) -> dict[str, str] | None:
    """The labels of a dimension's coded values; None where its values are shown as sent."""
    if dimension == "program":
        return programmes()
    if dimension == "karantina":
        return senders()
    return _CODED.get(dimension)


def coded_dimensions() -> set[str]:
    return {*_CODED, "program", "karantina"}


def breakdown(key: str) -> str:
    """`alasan=koperasi_lain` -> `Alasan tanpa rekomendasi sah: Rekomendasi untuk koperasi lain`;
    `jenis_koperasi=Jasa` -> `Jenis koperasi: Jasa`. A key without a label is shown as it is."""
    dimension, _, value = key.partition("=")
    return f"{DIMENSIONS.get(dimension, dimension)}: {(values(dimension) or {}).get(value, value)}"


def licensing_reason(code: str | None) -> str | None:
    return LICENSING_REASONS.get(code, code) if code else code


def quarantine_reason(code: str) -> str:
    return reasons.label(code)


def register(env) -> None:
    """The labels as Jinja filters (`{{ b.breakdown | rincian }}`) and dictionaries, for both sites."""
    env.filters.update(rincian=breakdown, alasan_karantina=quarantine_reason, alasan_perizinan=licensing_reason)
    env.globals.update(licensing_reasons=LICENSING_REASONS, status_names=LOAD_STATUS, quality_names=QUALITY,
                       link_feeds=LINK_FEEDS, link_kinds=REVIEW_KINDS, link_decisions=REVIEW_DECISIONS,
                       link_pairs=LINK_PAIRS, link_dimensions=LINK_DIMENSIONS, sexes=SEXES)
