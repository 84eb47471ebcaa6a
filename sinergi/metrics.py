"""Reading the metrics mart: filters for `sinergi metrics`, the headline table, CSV in the truth's shape."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import psycopg

from ingestion import access

from . import fmt

COLUMNS = ["as_of", "metric", "region", "breakdown", "numerator", "denominator", "value"]
NAMES = {
    "K1": "Koperasi aktif terdaftar sebagai pemberi kerja",
    "K2": "Pengurus dan karyawan koperasi terlindungi (JKK+JKM)",
    "K3": "Keputusan perizinan dengan rekomendasi sah",
    "K4": "Debitur KUR wajib (Kecil/Khusus > Rp100 jt) terlindungi",
    "K5": "Debitur KUR terlindungi",
    "K6": "Pemilik UMKM terlindungi",
    "K7": "Peserta aktif yang iurannya lunas s.d. M-1",
    "K8": "Peserta BPU (informal) aktif",
    "K9": "Klaim manfaat dibayar (kasus)",
    "K9_rupiah": "Klaim manfaat dibayar (Rupiah)",
    "Q1": "Koperasi aktif yang tertaut ke pemberi kerja",
}
COUNTS = {"K8", "K9"}
# What each figure counts (metrics.md), for the report's readers.
DEFINITIONS = {
    "K1": "Penyebut: koperasi berstatus Aktif pada akhir bulan. Pembilang: yang tertaut ke pemberi kerja "
          "(badan usaha) BPJS Ketenagakerjaan berstatus Aktif pada bulan itu.",
    "K2": "Penyebut: orang berbeda yang menjabat di koperasi aktif pada akhir bulan (Ketua s.d. Karyawan). "
          "Pembilang: yang menjadi peserta aktif dengan sekurang-kurangnya JKK dan JKM.",
    "K3": "Penyebut: keputusan Disetujui untuk Pendirian atau Evaluasi Status yang diputus pada bulan itu. "
          "Pembilang: yang mencantumkan surat rekomendasi yang ada, untuk koperasi yang sama, dan berlaku "
          "pada tanggal keputusan.",
    "K4": "Penyebut: fasilitas KUR Kecil atau KUR Khusus di atas Rp100.000.000 yang dicairkan pada bulan itu. "
          "Pembilang: yang debiturnya peserta aktif pada tanggal pencairan atau dalam 30 hari sesudahnya.",
    "K5": "Penyebut: semua fasilitas KUR yang dicairkan pada bulan itu. Pembilang: seperti K4.",
    "K6": "Penyebut: usaha dalam snapshot UMKM terakhir s.d. bulan itu. Pembilang: yang pemiliknya peserta aktif.",
    "K7": "Penyebut: peserta aktif pada bulan itu. Pembilang: yang iurannya (pemberi kerja untuk PU, sendiri "
          "untuk BPU) lunas s.d. bulan M-1.",
    "K8": "Jumlah peserta BPU (bukan penerima upah) aktif pada bulan itu.",
    "K9": "Jumlah klaim manfaat yang dibayar pada bulan itu.",
    "K9_rupiah": "Nilai klaim manfaat yang dibayar pada bulan itu, dalam Rupiah.",
    "Q1": "Mutu integrasi: bagian koperasi aktif yang tertaut ke pemberi kerja (menurut cara penautan), dan "
          "baris yang dikarantina per pengirim.",
}


@dataclass
class Query:
    as_of: str                       # YYYY-MM
    region: str | None = None        # PP.KK, PP or ID; None for all
    metric: str | None = None
    breakdowns: bool = True          # False: totals only


def fetch(url: str, q: Query) -> list[dict]:
    sql = """select to_char(as_of, 'YYYY-MM') as as_of, metric, region, breakdown,
                    numerator, denominator, value
             from marts.fct_metrics
             where as_of = to_date(%(as_of)s, 'YYYY-MM')
               and (%(region)s::text is null or region = %(region)s)
               and (%(metric)s::text is null or metric = %(metric)s)
               and (%(breakdowns)s or breakdown = '')
             order by metric, length(region), region, breakdown"""
    params = {"as_of": q.as_of, "region": q.region, "metric": q.metric, "breakdowns": q.breakdowns}
    with access.connect(url, access.ANALYST) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def month_status(url: str, as_of: str) -> tuple[str, list[str]] | None:
    """(status, missing deliveries) of a month (`marts.fct_month_status`), or None before any build."""
    with access.connect(url, access.ANALYST) as conn:
        try:
            return conn.execute("select status, missing_deliveries from marts.fct_month_status "
                                "where to_char(as_of, 'YYYY-MM') = %s", (as_of,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None


def months(url: str) -> list[str]:
    with access.connect(url, access.ANALYST) as conn:
        rows = conn.execute("select distinct to_char(as_of, 'YYYY-MM') from marts.fct_metrics order by 1").fetchall()
    return [r[0] for r in rows]


def _number(value) -> str:
    if value is None:
        return ""
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def to_csv(rows: list[dict]) -> str:
    """Exactly the columns and number style of the generator's truth/metrics.csv."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        value = float(r["value"])
        writer.writerow([r["as_of"], r["metric"], r["region"], r["breakdown"], _number(r["numerator"]),
                         _number(r["denominator"]), repr(value)])
    return out.getvalue()


def to_json_rows(rows: list[dict]) -> list[dict]:
    return [{**r, "numerator": float(r["numerator"]),
             "denominator": None if r["denominator"] is None else int(r["denominator"]),
             "value": float(r["value"])} for r in rows]


def shown(row: dict, brief: bool = False) -> str:
    """A figure as an Indonesian reader expects it: `10,5% (21/200)`, `12.345`, `Rp1.250.000`."""
    if row["metric"] == "K9_rupiah":
        return fmt.rupiah(float(row["numerator"]))
    if row["denominator"] is None:
        return fmt.angka(float(row["numerator"]))
    share = fmt.persen(float(row["value"]))
    return share if brief else f"{share} ({fmt.angka(float(row['numerator']))}/{fmt.angka(row['denominator'])})"
