"""Independent readers of the landing folder, written from feeds.md (not from the generator's code).

They read each sender's layout into a frame with the logical column names of feeds.md, so tests can
check the files and recompute figures from them.
"""
from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pandas as pd
import python_calamine

# Header labels seen (feeds.md), normalised: lower case, non-alphanumerics as single underscores.
LABELS = {
    "no_kpj": "kpj", "nomor_kpj": "kpj", "kpj": "kpj", "nik": "nik", "no_nik": "nik",
    "nama_tenaga_kerja": "nama", "nama": "nama", "tgl_lahir": "tgl_lahir", "tanggal_lahir": "tgl_lahir",
    "jk": "jenis_kelamin", "jenis_kelamin": "jenis_kelamin", "segmen": "segmen", "segmen_kepesertaan": "segmen",
    "npp": "npp", "program": "program", "upah": "upah", "upah_dilaporkan": "upah", "pekerjaan": "pekerjaan",
    "kode_wilayah": "kode_wilayah", "tgl_kepesertaan": "tgl_kepesertaan", "tmt": "tgl_kepesertaan",
    "status": "status", "status_kepesertaan": "status", "iuran_terakhir": "iuran_terakhir",
    "bulan_iuran_terakhir": "iuran_terakhir", "nama_badan_usaha": "nama_badan_usaha",
    "nama_perusahaan": "nama_badan_usaha", "npwp": "npwp", "nib": "nib", "nik_koperasi": "nik_koperasi",
    "kategori": "kategori", "tgl_daftar": "tgl_daftar", "jumlah_tk_aktif": "jumlah_tk_aktif",
}


def norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(label).strip().lower()).strip("_")


def bpjs_columns(labels, feed: str) -> list[str]:
    out = []
    for label in labels:
        n = norm(label)
        if feed == "badan_usaha" and n in ("tgl_kepesertaan",):
            out.append("tgl_daftar")
        else:
            out.append(LABELS.get(n, n))
    return out


def read_bpjs(path: Path, feed: str) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        header_at = next(i for i, r in enumerate(rows) if str(r[0]).strip() == "No")
        body = rows[header_at + 1:]
        assert str(body[-1][0]) == "TOTAL", f"{path}: closing TOTAL row missing"
        frame = pd.DataFrame(body[:-1], columns=rows[header_at]).drop(columns="No")
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        frame = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    frame.columns = bpjs_columns(frame.columns, feed)
    return frame


def id_amount(value) -> float:
    """`1.250.000,00` (or an Excel number) -> 1250000.0."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(str(value).replace(".", "").replace(",", "."))


def id_date(value) -> pd.Timestamp:
    if value in ("", None):
        return pd.NaT
    if not isinstance(value, str):
        return pd.Timestamp(value)
    return pd.to_datetime(value, format="%d/%m/%Y")


def read_bank(path: Path) -> pd.DataFrame:
    name = path.name
    if name.startswith("KUR_BRI"):
        lines = path.read_text("utf-8").splitlines()
        frame = pd.read_csv(io.StringIO("\n".join(lines[:-1])), sep="|", dtype=str, keep_default_na=False)
        frame.columns = [c.lower() for c in frame.columns]
        frame["tgl_pencairan"] = pd.to_datetime(frame["tgl_pencairan"], format="%Y%m%d")
    elif name.startswith("KUR_BNI"):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_name("Realisasi KUR").to_python()
        frame = pd.DataFrame(rows[4:-1], columns=rows[3])
        frame = frame.rename(columns={"No Fasilitas": "id_fasilitas", "NIK Debitur": "nik_debitur",
                                      "Skema KUR": "skema", "Plafon": "plafon", "Tanggal Pencairan": "tgl_pencairan",
                                      "Status BPJSTK": "status_bpjstk", "Kode Wilayah Usaha": "kode_wilayah"})
        frame["tgl_pencairan"] = pd.to_datetime(frame["tgl_pencairan"])
    elif name.startswith("kur_mandiri"):
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        frame["tgl_pencairan"] = pd.to_datetime(frame["tgl_pencairan"])
    else:
        records = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
        assert "_control" in records[-1]
        frame = pd.DataFrame([{"id_fasilitas": r["id_fasilitas"], "nik_debitur": r["debitur"]["nik"],
                               **r["fasilitas"], "status_bpjstk": r["bpjstk"]["status"]} for r in records[:-1]])
        frame["tgl_pencairan"] = pd.to_datetime(frame["tgl_pencairan"])
    frame["plafon"] = frame["plafon"].astype(float)
    return frame
