"""The truth agrees with the clean world's files: every headline metric recomputed from the files.

This is an independent, plain-pandas reading of the landing folder of a `--defects none` world: if the
files and the truth disagree, one of them is wrong.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pandas as pd
import pytest

from readers import id_amount, id_date, read_bank, read_bpjs

MONTHS = {"2024-01": ("202401", pd.Timestamp("2024-01-31")), "2024-02": ("202402", pd.Timestamp("2024-02-29"))}


class Files:
    def __init__(self, root: Path):
        self.root = root / "landing"
        self.truth_dir = root / "truth"

    def bpjs(self, feed: str, period: str) -> pd.DataFrame:
        frames = [read_bpjs(p, feed) for p in sorted(self.root.glob(f"bpjstk/*/*_{feed}_{period}.*"))]
        return pd.concat(frames, ignore_index=True)

    def ods(self, feed: str, stamp: str) -> pd.DataFrame:
        return pd.read_csv(self.root / "kemenkop" / "ods" / f"{feed}_{stamp}.csv", dtype=str, keep_default_na=False)

    def active_participants(self, period: str) -> pd.DataFrame:
        p = self.bpjs("peserta", period)
        return p[p["status"] == "Aktif"]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        return pd.read_csv(self.truth_dir / "metrics.csv", dtype={"region": str})

    def truth(self, as_of: str, metric: str, breakdown=None) -> tuple[int, int]:
        m = self.metrics
        m = m[(m["as_of"] == as_of) & (m["metric"] == metric) & (m["region"] == "ID")]
        m = m[m["breakdown"].isna()] if breakdown is None else m[m["breakdown"] == breakdown]
        row = m.iloc[0]
        return int(row["numerator"]), (None if pd.isna(row["denominator"]) else int(row["denominator"]))


@pytest.fixture(scope="module")
def files(clean_world):
    return Files(clean_world)


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k8_k9_counts(files, as_of):
    period, _ = MONTHS[as_of]
    active = files.active_participants(period)
    assert files.truth(as_of, "K8")[0] == (active["segmen"] == "BPU").sum()
    claims = files.bpjs("klaim", period)
    assert files.truth(as_of, "K9")[0] == len(claims)
    assert files.truth(as_of, "K9_rupiah")[0] == round(claims["nominal"].map(id_amount).sum())


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k6_umkm_owner_coverage(files, as_of):
    period, _ = MONTHS[as_of]
    umkm = pd.read_csv(files.root / "kemenkop" / "sidt" / f"umkm_{period}.csv.gz", dtype=str)
    covered = umkm["nik_pemilik"].isin(set(files.active_participants(period)["nik"]))
    assert files.truth(as_of, "K6") == (covered.sum(), len(umkm))


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k1_k2_cooperatives(files, as_of):
    period, end = MONTHS[as_of]
    stamp = end.strftime("%Y%m%d")
    coops = files.ods("koperasi", stamp)
    active = coops[coops["status_koperasi"] == "Aktif"]
    employers = files.bpjs("badan_usaha", period)
    links = pd.read_csv(files.truth_dir / "identity_cooperatives.csv", dtype=str)
    links = links[links["feed"] == "bpjstk/badan_usaha"]
    active_npp = set(employers.loc[employers["status"] == "Aktif", "npp"])
    linked = set(links.loc[links["key"].isin(active_npp), "nik_koperasi"])
    assert files.truth(as_of, "K1") == (active["nik_koperasi"].isin(linked).sum(), len(active))
    officers = files.ods("pengurus", stamp)
    in_office = officers[(officers["tgl_selesai"] == "") & officers["nik_koperasi"].isin(set(active["nik_koperasi"]))]
    people = set(in_office["nik"])
    part = files.active_participants(period)
    covered = set(part.loc[part["program"].str.contains("JKK") & part["program"].str.contains("JKM"), "nik"])
    assert files.truth(as_of, "K2") == (len(people & covered), len(people))


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k3_licensing(files, as_of):
    period, end = MONTHS[as_of]
    decisions = pd.concat([pd.read_json(p, lines=True, dtype=False)
                           for p in sorted((files.root / "kemenkop" / "ods").glob("perizinan_*.jsonl")) if p.stat().st_size])
    decisions = decisions.sort_values("tgl_update").drop_duplicates("no_keputusan", keep="last")
    decided = pd.to_datetime(decisions["tgl_keputusan"])
    d = decisions[(decided.dt.strftime("%Y-%m") == as_of) & (decisions["hasil"] == "Disetujui")
                  & decisions["jenis_layanan"].isin(["Pendirian", "Evaluasi Status"])]
    letters = pd.concat([files.bpjs("rekomendasi", p) for p, _ in MONTHS.values()], ignore_index=True)
    letters.columns = ["no_rekomendasi", "nik_koperasi", "npp", "tgl_terbit", "berlaku_sampai", "keterangan"]
    letters = letters.set_index("no_rekomendasi")
    ok = 0
    for row in d.itertuples():
        cited = row.no_rekomendasi_bpjstk
        if cited in letters.index:
            letter = letters.loc[cited]
            when = pd.Timestamp(row.tgl_keputusan)
            ok += (letter["nik_koperasi"] == row.nik_koperasi
                   and id_date(letter["tgl_terbit"]) <= when <= id_date(letter["berlaku_sampai"]))
    assert files.truth(as_of, "K3") == (ok, len(d))


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k4_k5_kur(files, as_of):
    period, end = MONTHS[as_of]
    kur = pd.concat([read_bank(p) for p in sorted(files.root.glob(f"himbara/*/*{period}*"))
                     if not p.name.endswith(".ctl")], ignore_index=True)
    part = files.active_participants(period).copy()
    part["joined"] = part["tgl_kepesertaan"].map(id_date)
    first_join = part.groupby("nik")["joined"].min()
    joined = kur["nik_debitur"].map(first_join)
    covered = joined.notna() & (joined <= kur["tgl_pencairan"] + pd.Timedelta(days=30))
    mandatory = kur["skema"].isin(["KUR Kecil", "KUR Khusus"]) & (kur["plafon"] > 100_000_000)
    assert files.truth(as_of, "K5") == (covered.sum(), len(kur))
    assert files.truth(as_of, "K4") == ((covered & mandatory).sum(), mandatory.sum())
    agree = kur["status_bpjstk"].isin(["Terdaftar", "Didaftarkan"]) == covered
    assert files.truth(as_of, "K5", "kesesuaian_status=sesuai") == (agree.sum(), len(kur))


@pytest.mark.parametrize("as_of", list(MONTHS))
def test_k7_contributions(files, as_of):
    period, end = MONTHS[as_of]
    part = files.active_participants(period)
    month = end.to_period("M")
    joined = part["tgl_kepesertaan"].map(id_date).dt.to_period("M")
    paid = pd.to_datetime(part["iuran_terakhir"].replace("", None), format="%m/%Y").dt.to_period("M")
    ok = (joined >= month) | (paid >= month - 1)
    assert files.truth(as_of, "K7") == (ok.sum(), len(part))
