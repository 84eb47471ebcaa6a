"""The feed generator: deterministic, in each sender's stated format, defects logged, truth right."""
from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import python_calamine
from conftest import CLEAN

from simulator import Options, defects, generate

from readers import read_bank, read_bpjs


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_identical_bytes(tmp_path, defective_world):
    from conftest import DEFECTIVE
    generate(DEFECTIVE, tmp_path / "again")
    assert _digest(tmp_path / "again") == _digest(defective_world)


def test_another_seed_gives_another_world(tmp_path, clean_world):
    generate(Options(**{**CLEAN.__dict__, "seed": 8}), tmp_path / "other")
    a = (clean_world / "truth" / "metrics.csv").read_bytes()
    b = (tmp_path / "other" / "truth" / "metrics.csv").read_bytes()
    assert a != b


def test_landing_layout_matches_feeds_md(clean_world):
    landing = clean_world / "landing"
    assert {p.name for p in landing.iterdir()} == {"kemenkop", "bpjstk", "himbara"}
    assert {p.name for p in (landing / "himbara").iterdir()} == {"bri", "bni", "mandiri", "btn"}
    assert {p.name for p in (landing / "bpjstk").iterdir()} == {"K1305", "K1902", "K0307", "K0921", "K1301"}
    names = {p.name for p in landing.rglob("*") if p.is_file()}
    for expected in ["koperasi_20240131.csv", "pengurus_20240131.csv", "perizinan_20240107.jsonl",
                     "umkm_202401.csv.gz", "K1305_peserta_202401.xlsx", "K0307_iuran_202402.csv",
                     "KUR_BRI_202401.txt", "KUR_BNI_202402.xlsx", "kur_mandiri_202401.csv",
                     "kur_mandiri_202401.csv.ctl", "btn_kur_202402.jsonl.gz"]:
        assert expected in names


def test_every_file_reads_back_with_its_row_count(clean_world):
    """A clean world's files parse under their sender's format with exactly the rows the generator wrote."""
    landing = clean_world / "landing"
    deliveries = pd.read_csv(clean_world / "truth" / "deliveries.csv")
    for row in deliveries.itertuples():
        path = landing / row.file
        if row.sender == "himbara":
            frame = read_bank(path)
        elif row.sender == "bpjstk":
            frame = read_bpjs(path, row.feed)
        elif path.suffix == ".jsonl":
            frame = pd.read_json(path, lines=True) if path.stat().st_size else pd.DataFrame()
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert len(frame) == row.rows, row.file


def test_bank_trailers_and_control_files_match(clean_world):
    landing = clean_world / "landing"
    for bri in (landing / "himbara" / "bri").glob("*.txt"):
        lines = bri.read_text("utf-8").splitlines()
        tag, records, total = lines[-1].split("|")
        body = pd.read_csv(bri, sep="|", dtype=str, skipfooter=1, engine="python")
        assert (tag, int(records), int(total)) == ("TRL", len(body), body["PLAFON"].astype(int).sum())
    for csv in (landing / "himbara" / "mandiri").glob("*.csv"):
        data = csv.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), "Mandiri writes UTF-8 with BOM"
        ctl = dict(line.split("=", 1) for line in Path(str(csv) + ".ctl").read_text().split())
        assert ctl["sha256"] == hashlib.sha256(data).hexdigest()
        assert int(ctl["records"]) == len(read_bank(csv))
        assert read_bank(csv)["plafon"].map(lambda v: True).all()
        first = data.decode("utf-8-sig").splitlines()[1]
        assert first.count('"') >= 2 * 15 and ".00" in first, "quoted, amounts with two decimals"
    for btn in (landing / "himbara" / "btn").glob("*.jsonl.gz"):
        lines = [json.loads(x) for x in gzip.open(btn, "rt")]
        control = lines[-1]["_control"]
        assert control == {"records": len(lines) - 1,
                           "total_plafon": sum(x["fasilitas"]["plafon"] for x in lines[:-1])}
        assert set(lines[0]) == {"id_fasilitas", "debitur", "fasilitas", "bpjstk"}
    for bni in (landing / "himbara" / "bni").glob("*.xlsx"):
        book = python_calamine.CalamineWorkbook.from_path(str(bni))
        assert book.sheet_names[0] == "Realisasi KUR"
        rows = book.get_sheet_by_name("Realisasi KUR").to_python()
        assert rows[3][0] == "No Fasilitas", "three title rows, header on row 4"
        assert rows[-1][0] == "Jumlah" and rows[-1][6] == sum(r[6] for r in rows[4:-1])


def test_bpjs_layouts(clean_world):
    landing = clean_world / "landing" / "bpjstk"
    xlsx = python_calamine.CalamineWorkbook.from_path(str(landing / "K1305" / "K1305_peserta_202402.xlsx"))
    rows = xlsx.get_sheet_by_index(0).to_python()
    assert rows[0][0].startswith("LAPORAN DATA PESERTA KANTOR CABANG PROBOLINGGO PERIODE FEBRUARI 2024")
    header = next(r for r in rows if r[0] == "No")
    assert header[1] in ("No KPJ", "NO. KPJ", "no_kpj", "Nomor KPJ")
    assert rows[-1][0] == "TOTAL"
    # Identifiers are text cells; dates are Excel dates in this branch.
    first = rows[rows.index(header) + 1]
    assert isinstance(first[2], str) and len(first[2]) == 16
    assert not isinstance(first[4], str)
    cp1252 = (landing / "K0921" / "K0921_peserta_202401.csv").read_bytes()
    text = cp1252.decode("cp1252")
    assert text.splitlines()[0].count(";") >= 13
    sample = text.splitlines()[1].split(";")
    assert any("," in v and v.endswith(",00") for v in sample), "decimal comma amounts"
    assert any(len(v) == 10 and v[2] == "/" and v[5] == "/" for v in sample), "dd/mm/yyyy dates"


def test_names_and_niks_are_consistent_across_agencies(clean_world):
    persons = pd.read_csv(clean_world / "truth" / "identity_persons.csv", dtype=str)
    shared = persons.groupby("person")["feed"].nunique()
    assert (shared > 1).sum() > 100, "people appear in several agencies' files"
    umkm = pd.read_csv(clean_world / "landing" / "kemenkop" / "sidt" / "umkm_202401.csv.gz", dtype=str)
    from lokal.nik import parse_nik
    parsed = [parse_nik(n) for n in umkm["nik_pemilik"].head(300)]
    assert all(p.valid for p in parsed)
    births = pd.to_datetime(umkm["tgl_lahir_pemilik"].head(300)).dt.strftime("%Y-%m-%d")
    assert [p.birth_date for p in parsed] == list(births), "a NIK encodes its holder's birth date"


def test_every_defect_kind_occurs_and_is_logged(defective_world, national_world):
    logs = pd.concat([pd.read_csv(w / "truth" / "defects.csv", dtype={"period": str})
                      for w in (defective_world, national_world)])
    assert set(logs["kind"]) == set(defects.KINDS)
    for kind, spec in defects.KINDS.items():
        rows = logs[logs["kind"] == kind]
        assert (rows["handling"] == rows["feed"].map(spec.handling_in)).all()
        # None: decided per record (identity variants that lose the NIK: recoverable where name, birth
        # date and regency/city are unique among participants).
        assert rows["recoverable"].isin([True, False]).all() if spec.recoverable is None else \
            (rows["recoverable"] == spec.recoverable).all()
    # Unrecoverable and recoverable examples the issue names are classified as such.
    assert not defects.KINDS["id_excel_number"].recoverable and defects.KINDS["id_separators"].recoverable
    assert defects.KINDS["region_old_code"].recoverable and not defects.KINDS["file_truncated"].level == "row"
    # An unknown region empties a participant's, a facility's or a business's value; elsewhere the row is set aside.
    unknown = logs[logs["kind"] == "region_unknown"]
    assert set(unknown.loc[unknown["handling"] == "empty", "feed"]) <= {"peserta", "umkm", "kur"}
    assert set(unknown.loc[unknown["handling"] == "quarantine", "feed"]).isdisjoint({"peserta", "umkm", "kur"})


def test_logged_row_defects_are_on_their_lines(defective_world):
    """For text files, the damaged value stands on the logged line; duplicate copies repeat their line."""
    log = pd.read_csv(defective_world / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    landing = defective_world / "landing"
    checked = 0
    for e in log[(log["line"] != "") & log["file"].str.endswith((".csv", ".txt", ".jsonl"))].itertuples():
        path = landing / e.file
        raw = path.read_bytes()
        encoding = "cp1252" if b"\x96" in raw else "utf-8-sig"
        lines = raw.decode(encoding, errors="replace").splitlines()
        line = lines[int(e.line) - 1]
        if e.kind in ("id_separators", "region_undotted", "region_old_code", "region_unknown", "nik_length",
                      "nik_bad_date", "nik_mistyped", "amount_separator"):
            assert e.detail.split(" -> ")[1] in line, (e.file, e.line, e.kind, line)
            checked += 1
        elif e.kind == "duplicate_key":
            assert line == lines[int(e.line) - 2]
            checked += 1
        elif e.kind == "too_many_fields":
            assert line.endswith("EXTRA")
            checked += 1
    assert checked > 100


def test_whole_file_defects_have_a_corrected_delivery(defective_world):
    log = pd.read_csv(defective_world / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    landing = defective_world / "landing"
    for e in log[log["kind"].isin(["file_truncated", "file_empty", "trailer_mismatch", "control_missing"])].itertuples():
        if "corrected file" in e.detail:
            corrected = e.detail.split("corrected file ")[1].split(" follows")[0]
            assert (landing / corrected).exists()
        else:
            assert "next snapshot" in e.detail
    empty = log[log["kind"] == "file_empty"]
    assert all((landing / f).stat().st_size == 0 for f in empty["file"])


def test_truth_has_every_metric_month_and_level(clean_world):
    m = pd.read_csv(clean_world / "truth" / "metrics.csv", dtype={"region": str})
    assert list(m.columns) == ["as_of", "metric", "region", "breakdown", "numerator", "denominator", "value"]
    assert set(m["as_of"]) == {"2024-01", "2024-02"}
    assert {"K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K9_rupiah", "Q1"} <= set(m["metric"])
    assert {"ID", "35", "74", "36", "33", "35.13", "74.01", "36.74", "33.11", "35.78"} <= set(m["region"])
    ratios = m[m["denominator"].notna()]
    assert (ratios["numerator"] <= ratios["denominator"]).all()
    assert np.allclose(ratios["value"], ratios["numerator"] / ratios["denominator"], atol=1e-6)
    breakdowns = set(m["breakdown"].dropna().str.split("=").str[0])
    assert {"jenis_koperasi", "peran", "jenis_layanan", "alasan", "bank", "skema", "skala_usaha", "segmen",
            "pekerjaan", "program", "kelompok", "cara", "temuan", "kesesuaian_status"} <= breakdowns
    # Coverage differs by region, so metrics are not flat.
    k1 = m[(m["metric"] == "K1") & m["breakdown"].isna() & (m["region"].str.len() == 5)]
    assert k1["value"].nunique() > 3


def test_seed_districts_are_calibrated(clean_world):
    from simulator import profiles
    kolaka = next(d for d in profiles.districts("seed", 1.0, 42) if d.regency == "74.01")
    assert kolaka.coops == 400 and round(kolaka.coops * kolaka.active_share) == 170
    m = pd.read_csv(clean_world / "truth" / "metrics.csv", dtype={"region": str})
    k1 = m[(m["metric"] == "K1") & (m["region"] == "74.01") & m["breakdown"].isna()]
    assert 0.03 < k1["value"].iloc[0] < 0.2, "about 10% of Kolaka's active cooperatives are registered"


def test_national_profile_covers_every_regency_at_national_totals(national_world):
    from ingestion import regions
    from simulator import profiles
    assert len(regions.provinces()) == 38 and len(regions.regencies()) == 514
    ds = profiles.districts("national", 1.0, 3)
    assert sorted(d.regency for d in ds) == sorted(regions.regencies())
    active = sum(d.coops * d.active_share for d in ds)
    assert 125_000 < active < 135_000, "about 130k active cooperatives"
    assert abs(sum(d.workforce for d in ds) - 41_400_000) < 1_000
    assert abs(sum(d.kur_per_month for d in ds) * 12 - 5_040_000) < 10_000
    m = pd.read_csv(national_world / "truth" / "metrics.csv", dtype={"region": str})
    k6 = m[(m["metric"] == "K6") & m["breakdown"].isna()]
    assert k6["region"].str.len().eq(2).sum() >= 30, "provinces are reported"
    assert k6["region"].str.len().eq(5).sum() >= 300, "regencies/cities are reported"


def test_old_region_codes_map_to_current_regions():
    from ingestion import regions
    changes = regions.code_changes()
    assert changes and all(new in regions.regencies() and old not in regions.regencies()
                           for old, new in changes.items())
    assert regions.to_regency("9471") == "91.71"            # Kota Jayapura before the 2022 split
    assert regions.to_regency("3513012001") == "35.13"      # undotted village code
    assert regions.to_regency("35.13.01.2001") == "35.13"
    assert regions.to_regency("99.99.99") is None


# --- identity variants (issue 17): how real records write the same person differently ---------------

IDENTITY_KINDS = {"name_title", "name_degree", "name_patronym", "name_muhammad", "name_old_spelling",
                  "name_word_order", "name_shortened", "nik_slip", "nik_blank", "birth_date_typo"}
VARIANTS = Options(profile="seed", scale=0.05, months=1, start="2024-01", seed=11, defect_rate=0.0,
                   identity_variants=0.3)


@pytest.fixture(scope="module")
def variant_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants")
    generate(VARIANTS, out)
    return out


def _lines(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return raw.decode("utf-8-sig", errors="replace").splitlines()


def _slip_position(detail: str) -> int:
    good, bad = detail.split(" -> ")
    return next(i for i, (a, b) in enumerate(zip(good, bad)) if a != b) + 1


def test_every_identity_variant_occurs_in_the_defective_world_and_is_logged(defective_world):
    log = pd.read_csv(defective_world / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    identity = log[log["kind"].isin(IDENTITY_KINDS)]
    assert IDENTITY_KINDS <= set(identity["kind"])
    assert set(identity["feed"]) == {"pengurus", "umkm", "kur"}
    assert (identity["line"] != "").all() and identity["recoverable"].isin(["True", "False"]).all()
    # A blank NIK loads in every feed (the officer's name stands in for it in the post's key; the
    # facility and the business stay in K4's and K6's denominators): no variant sets a row aside.
    assert set(identity.loc[identity["kind"] == "nik_blank", "feed"]) == {"pengurus", "umkm", "kur"}
    assert (identity["handling"] == "link").all()


def test_identity_variants_stand_on_their_lines_as_the_loader_will_read_them(variant_world):
    from simulator import variants
    log = pd.read_csv(variant_world / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    rows = log[log["kind"].isin(IDENTITY_KINDS | {"nik_bad_date"}) & log["file"].str.contains(r"\.csv|\.txt")]
    checked = impossible = 0
    for e in rows.itertuples():
        before, after = e.detail.split(" -> ")
        line = _lines(variant_world / "landing" / e.file)[int(e.line) - 1]
        assert before != after
        if after != "(blank)":
            assert after in line or after.replace("-", "") in line, (e.file, e.line, e.kind, line)
            checked += 1
        if e.kind == "nik_slip":
            assert sum(a != b for a, b in zip(before, after)) == 1
            impossible += not variants.possible_nik_date(after)
        assert e.kind != "nik_bad_date", "a slip that makes the NIK's date impossible is still a slip"
        if e.kind == "birth_date_typo":
            old, new = date.fromisoformat(before), date.fromisoformat(after)
            digits = sum(a != b for a, b in zip(old.strftime("%Y%m%d"), new.strftime("%Y%m%d")))
            assert digits == 1 or (old.day, old.month) == (new.month, new.day)
    assert checked > 1000
    # Where no digit keeps the date possible (a month of 05 has no other tens digit), the slip makes it
    # impossible: those rows load too, flagged by the loader.
    assert impossible > 0


def test_nik_slips_reach_every_digit_and_classes_take_their_share(variant_world):
    log = pd.read_csv(variant_world / "truth" / "defects.csv", dtype=str, keep_default_na=False)
    slips = log[log["column"].isin(["nik", "nik_pemilik", "nik_debitur"]) & (log["kind"] == "nik_slip")]
    assert {_slip_position(d) for d in slips["detail"]} == set(range(1, 17))
    # 30% of the records of each feed carry one variant (each record the same one in every delivery).
    umkm = _lines(variant_world / "landing" / "kemenkop" / "sidt" / "umkm_202401.csv.gz")
    owners = log[log["feed"] == "umkm"]
    assert owners["key"].nunique() == pytest.approx(0.3 * (len(umkm) - 1), rel=0.05)
    officers = log[log["feed"] == "pengurus"].groupby("key")["kind"].nunique()
    assert (officers == 1).all()


def test_identity_variants_leave_the_truth_unchanged(variant_world, tmp_path):
    generate(Options(**{**VARIANTS.__dict__, "identity_variants": 0.0}), tmp_path / "plain")
    truth, plain = variant_world / "truth", tmp_path / "plain" / "truth"
    for name in ("identity_persons.csv", "identity_cooperatives.csv", "arrears.csv"):
        assert (truth / name).read_bytes() == (plain / name).read_bytes(), name
    a, b = (pd.read_csv(t / "metrics.csv", dtype=str, keep_default_na=False) for t in (truth, plain))
    # No variant makes a careful loader set a row aside (a blank NIK and an impossible NIK date load), so
    # no figure changes, not even Q1's count of rows set aside.
    assert not a["breakdown"].str.startswith("karantina=").any()
    assert a.equals(b), "every figure is the same"
    log = pd.read_csv(truth / "defects.csv", dtype=str)
    assert len(log) > 1000 and (log["handling"] == "link").all()
    assert (plain / "defects.csv").read_text().count("\n") == 1


def test_identity_variants_are_the_same_for_the_same_seed(variant_world, tmp_path):
    generate(VARIANTS, tmp_path / "again")
    assert _digest(tmp_path / "again") == _digest(variant_world)


def test_the_name_pool_lets_every_variant_class_occur():
    from simulator import names
    rng = np.random.default_rng(5)
    pool = pd.Series(names.person_names(rng, rng.random(5000) < 0.45))
    for kind, (applies, make) in names.NAME_VARIANTS.items():
        share = applies(pool).mean()
        assert share > 0.05, (kind, share)
        written = [make(n, False, rng) for n in pool[applies(pool)].head(50)]
        assert sum(w != n for w, n in zip(written, pool[applies(pool)].head(50))) >= 45, kind
    assert names.old_spelling("Yuyun Cahyani") == "Joejoen Tjahjani"
    assert names.old_spelling("Joko Khairul Syahputra Nyoman") == "Djoko Chairoel Sjahpoetra Njoman"
