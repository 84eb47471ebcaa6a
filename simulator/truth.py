"""The true metrics (metrics.md), computed from the clean world, never from the files.

Each metric row: as_of (YYYY-MM), metric, region (`PP.KK`, `PP` or `ID`), breakdown (`name=value`, empty
for the total), numerator, denominator, value. Ratios count distinct entities; counting metrics leave the
denominator empty and repeat the count as value. A row exists where its denominator (or count) is > 0.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from sinergi.core.labels import LICENSING_REASONS

from . import profiles
from .world import OFFICER_ROLES, World, coop_status, employer_status, participant_active

COLUMNS = ["as_of", "metric", "region", "breakdown", "numerator", "denominator", "value"]
# Statutory minimum monthly contribution used for the amount an employer owes (lowest JKK class).
MIN_RATES = {"JKK": 0.0024, "JKM": 0.003, "JHT": 0.057, "JP": 0.03}
JP_WAGE_CAP = 10_042_300


def _levels(region: pd.Series) -> list[pd.Series]:
    return [region, region.str[:2], pd.Series("ID", index=region.index)]


def round_half_up(numerator: int, denominator: int, places: int = 6) -> float:
    """numerator / denominator rounded half up at `places` decimals, exactly (as PostgreSQL's `round` on
    numeric does, and as Indonesian reports round): 49/640 = 0.0765625 is 0.076563, where float
    rounding (half to even, on a binary value) gives 0.076562."""
    scaled = Fraction(int(numerator) * 10 ** places, int(denominator))
    return int(scaled + Fraction(1, 2)) / 10 ** places if scaled >= 0 else -round_half_up(-numerator, denominator, places)


def ratio(rows: pd.DataFrame, metric: str, as_of: str, breakdowns: tuple[str, ...] = ()) -> pd.DataFrame:
    """rows: entity, region, num (bool), breakdown columns. Distinct entities per group."""
    out = []
    for b in (None, *breakdowns):
        for level in _levels(rows["region"]):
            keys = [level] if b is None else [level, rows[b]]
            den = rows.groupby(keys)["entity"].nunique()
            num = rows[rows["num"]].groupby([k[rows["num"]] for k in keys])["entity"].nunique()
            frame = pd.DataFrame({"denominator": den, "numerator": num.reindex(den.index).fillna(0).astype(int)})
            frame = frame.reset_index()
            frame["breakdown"] = "" if b is None else f"{b}=" + frame.iloc[:, 1].astype(str)
            frame["region"] = frame.iloc[:, 0]
            out.append(frame[["region", "breakdown", "numerator", "denominator"]])
    res = pd.concat(out, ignore_index=True)
    res = res[res["denominator"] > 0]
    res["value"] = [round_half_up(n, d) for n, d in zip(res["numerator"], res["denominator"])]
    res.insert(0, "metric", metric)
    res.insert(0, "as_of", as_of)
    return res[COLUMNS]


def count(rows: pd.DataFrame, metric: str, as_of: str, breakdowns: tuple[str, ...] = (),
          amount: str | None = None) -> pd.DataFrame:
    """rows: entity, region, breakdown columns (and an amount column to sum instead of counting)."""
    out = []
    for b in (None, *breakdowns):
        for level in _levels(rows["region"]):
            keys = [level] if b is None else [level, rows[b]]
            g = rows.groupby(keys)
            n = g[amount].sum() if amount else g["entity"].nunique()
            frame = n.rename("numerator").reset_index()
            frame["breakdown"] = "" if b is None else f"{b}=" + frame.iloc[:, 1].astype(str)
            frame["region"] = frame.iloc[:, 0]
            out.append(frame[["region", "breakdown", "numerator"]])
    res = pd.concat(out, ignore_index=True)
    res = res[res["numerator"] > 0]
    res["numerator"] = res["numerator"].astype(np.int64)
    res["denominator"] = pd.NA
    res["value"] = res["numerator"]
    res.insert(0, "metric", metric)
    res.insert(0, "as_of", as_of)
    return res[COLUMNS]


class Truth:
    def __init__(self, w: World):
        self.w = w
        part = w.participants
        self.kpj = part["kpj"].to_numpy()
        self.person_regency = w.persons["regency"].to_numpy()

    def month(self, m: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        w, cal = self.w, self.w.cal
        as_of = str(cal.start + m)
        end = cal.last(m)
        part = w.participants
        active = participant_active(part, m)
        has_jkk_jkm = part["program"].str.contains("JKK").to_numpy() & part["program"].str.contains("JKM").to_numpy()
        active_persons = set(part["person"].to_numpy()[active])
        covered_persons = set(part["person"].to_numpy()[active & has_jkk_jkm])
        registered_persons = set(part["person"].to_numpy()[part["join_m"].to_numpy() <= m])
        c = w.coops
        coop_active = (coop_status(c, end) == "Aktif") & (c["founded"].to_numpy() <= end)
        frames = [self._k1_q1(m, as_of, end, coop_active)]
        officers, in_office_any = self._officers(end, coop_active)
        frames.append(ratio(officers.assign(num=officers["entity"].isin(covered_persons)), "K2", as_of, ("peran",)))
        frames.append(ratio(officers.assign(num=officers["entity"].isin(registered_persons)).assign(temuan="pengurus"),
                            "Q1", as_of, ("temuan",)).query("breakdown != ''"))
        frames.append(self._k3(m, as_of))
        frames += self._kur(m, as_of, registered_persons)
        frames.append(self._k6(m, as_of, end, active_persons))
        k7, arrears = self._k7(m, as_of, active)
        frames.append(k7)
        bpu = part[active & (part["segmen"].to_numpy() == "BPU")]
        frames.append(count(pd.DataFrame({"entity": bpu["kpj"], "region": bpu["regency"], "pekerjaan": bpu["pekerjaan"]}),
                            "K8", as_of, ("pekerjaan",)))
        frames += self._k9(m, as_of, in_office_any)
        return pd.concat([f for f in frames if len(f)], ignore_index=True), arrears

    def _k1_q1(self, m, as_of, end, coop_active) -> pd.DataFrame:
        w = self.w
        c, emp = w.coops, w.employers
        e = emp[(emp["coop_idx"] >= 0) & (emp["registered_on"].to_numpy() <= end)]
        e_active = employer_status(e, m) == "Aktif"
        linked_active = set(e["coop_idx"].to_numpy()[e_active])
        link = pd.Series(e["link"].to_numpy(), index=e["coop_idx"].to_numpy())
        cc = c[coop_active]
        rows = pd.DataFrame({"entity": cc["coop_idx"].to_numpy(), "region": cc["regency"].to_numpy(),
                             "jenis_koperasi": cc["jenis"].to_numpy()})
        k1 = ratio(rows.assign(num=rows["entity"].isin(linked_active)), "K1", as_of, ("jenis_koperasi",))
        how = link.reindex(rows["entity"]).to_numpy()
        q1 = [ratio(rows.assign(num=pd.notna(how)), "Q1", as_of)]
        for method in ("nik_koperasi", "nib", "npwp", "nama_wilayah"):
            q = ratio(rows.assign(num=how == method, cara=method), "Q1", as_of, ("cara",))
            q1.append(q[q["breakdown"] != ""])
        return pd.concat([k1, *q1], ignore_index=True)

    def _officers(self, end, coop_active) -> tuple[pd.DataFrame, set]:
        w = self.w
        o = w.officers
        start, stop = o["start"].to_numpy(), o["end"].to_numpy()
        in_office = (start <= end) & (np.isnat(stop) | (stop > end))
        in_office_any = set(o["person"].to_numpy()[in_office & (w.coops["founded"].to_numpy()[o["coop_idx"].to_numpy()] <= end)])
        sel = in_office & coop_active[o["coop_idx"].to_numpy()]
        oo = o[sel]
        rows = pd.DataFrame({
            "entity": oo["person"].to_numpy(),
            "region": w.coops["regency"].to_numpy()[oo["coop_idx"].to_numpy()],
            "peran": np.where(np.isin(oo["jabatan"].to_numpy(), OFFICER_ROLES), "pengurus", "staf"),
        })
        return rows, in_office_any

    def _k3(self, m, as_of) -> pd.DataFrame:
        w = self.w
        d = w.decisions[w.decisions["final"]]
        d = d[(d["month"] == m) & (d["hasil"] == "Disetujui") & d["layanan"].isin(["Pendirian", "Evaluasi Status"])]
        if d.empty:
            return d.iloc[0:0]
        letters = w.letters.set_index("no_rekomendasi")
        cited = d["cited"].to_numpy()
        known = pd.Series(cited).isin(letters.index).to_numpy()
        li = letters.reindex(cited)
        same = known & (li["coop_idx"].to_numpy() == d["coop_idx"].to_numpy())
        decided = d["decided"].to_numpy()
        valid = same & (li["issued"].to_numpy() <= decided) & (decided <= li["valid_to"].to_numpy())
        reason = np.where(pd.isna(cited), "tidak_ada", np.where(~known, "tidak_dikenal",
                          np.where(~same, "koperasi_lain", np.where(~valid, "tidak_berlaku", ""))))
        rows = pd.DataFrame({"entity": d["no_keputusan"].to_numpy(),
                             "region": w.coops["regency"].to_numpy()[d["coop_idx"].to_numpy()],
                             "jenis_layanan": d["layanan"].to_numpy(), "num": valid})
        out = [ratio(rows, "K3", as_of, ("jenis_layanan",))]
        for r in LICENSING_REASONS:
            q = ratio(rows.assign(num=reason == r, alasan=r), "K3", as_of, ("alasan",))
            out.append(q[q["breakdown"] != ""])
        return pd.concat(out, ignore_index=True)

    def _kur(self, m, as_of, registered_persons) -> list[pd.DataFrame]:
        w = self.w
        k = w.kur[w.kur["month"] == m]
        if k.empty:
            return []
        part = w.participants
        act = part[participant_active(part, m)]
        first_join = act.groupby("person")["join"].min()
        join = first_join.reindex(k["person"].to_numpy()).to_numpy()
        covered = ~np.isnat(join) & (join <= k["disbursed"].to_numpy() + np.timedelta64(30, "D"))
        rows = pd.DataFrame({"entity": k["id_fasilitas"].to_numpy(), "region": k["regency"].to_numpy(),
                             "bank": k["bank"].to_numpy(), "skema": k["skema"].to_numpy(), "num": covered})
        mandatory = k["skema"].isin(profiles.MANDATORY_SCHEMES).to_numpy() & (k["plafon"].to_numpy() > profiles.MANDATORY_PLAFON)
        bank_says = k["status_bpjstk"].isin(["Terdaftar", "Didaftarkan"]).to_numpy()
        agree = ratio(rows.assign(num=bank_says == covered, kesesuaian_status="sesuai"), "K5", as_of, ("kesesuaian_status",))
        borrowers = pd.DataFrame({"entity": k["person"].to_numpy(), "region": k["regency"].to_numpy(),
                                  "num": k["person"].isin(registered_persons).to_numpy(), "temuan": "debitur_kur"})
        found = ratio(borrowers, "Q1", as_of, ("temuan",))
        return [ratio(rows[mandatory], "K4", as_of, ("bank", "skema")), ratio(rows, "K5", as_of, ("bank", "skema")),
                agree[agree["breakdown"] != ""], found[found["breakdown"] != ""]]

    def _k6(self, m, as_of, end, active_persons) -> pd.DataFrame:
        u = self.w.umkm
        u = u[u["issued"].to_numpy() <= end]
        rows = pd.DataFrame({"entity": u["nib"].to_numpy(), "region": u["regency"].to_numpy(),
                             "skala_usaha": u["skala"].to_numpy(), "num": u["owner"].isin(active_persons).to_numpy()})
        return ratio(rows, "K6", as_of, ("skala_usaha",))

    def _k7(self, m, as_of, active) -> tuple[pd.DataFrame, pd.DataFrame]:
        w = self.w
        part = w.participants
        pa = part[active]
        payer_idx = w.payers["payer_idx"].reindex(pa["payer"]).to_numpy()
        pt = w.paid_through[payer_idx, m]
        ok = (pa["join_m"].to_numpy() >= m) | (pt >= m - 1)
        rows = pd.DataFrame({"entity": pa["kpj"].to_numpy(), "region": pa["regency"].to_numpy(),
                             "segmen": pa["segmen"].to_numpy(), "num": ok})
        k7 = ratio(rows, "K7", as_of, ("segmen",))
        late = pa[~ok & (pa["emp_idx"].to_numpy() >= 0)]
        late_pt = pt[~ok & (pa["emp_idx"].to_numpy() >= 0)]
        emp = w.employers
        due = _minimum_due(late)
        arrears = pd.DataFrame({"npp": emp["npp"].to_numpy()[late["emp_idx"].to_numpy()],
                                "region": emp["regency"].to_numpy()[late["emp_idx"].to_numpy()],
                                "months_owed": (m - 1) - late_pt, "due": due})
        arrears = arrears.groupby(["npp", "region", "months_owed"], as_index=False).agg(
            participants=("due", "size"), monthly_due=("due", "sum"))
        arrears["amount_owed"] = arrears["months_owed"] * arrears["monthly_due"]
        arrears.insert(0, "as_of", as_of)
        return k7, arrears[["as_of", "npp", "region", "months_owed", "participants", "amount_owed"]]

    def _k9(self, m, as_of, in_office_any) -> list[pd.DataFrame]:
        w = self.w
        cl = w.claims[w.claims["month"] == m]
        if cl.empty:
            return []
        part = w.participants
        person = part["person"].to_numpy()[cl["part_idx"].to_numpy()]
        end = w.cal.last(m)
        owners = set(w.umkm.loc[w.umkm["issued"].to_numpy() <= end, "owner"])
        borrowers = set(w.kur.loc[w.kur["month"] <= m, "person"])
        rows = pd.DataFrame({"entity": cl["no_klaim"].to_numpy(), "region": part["regency"].to_numpy()[cl["part_idx"].to_numpy()],
                             "program": cl["program"].to_numpy(), "nominal": cl["nominal"].to_numpy()})
        groups = {"pekerja_koperasi": in_office_any, "pemilik_umkm": owners, "debitur_kur": borrowers}
        out = [count(rows, "K9", as_of, ("program",)), count(rows, "K9_rupiah", as_of, ("program",), amount="nominal")]
        for name, members in groups.items():
            sub = rows[np.isin(person, list(members))].assign(kelompok=name)
            if len(sub):
                for metric, amount in (("K9", None), ("K9_rupiah", "nominal")):
                    q = count(sub, metric, as_of, ("kelompok",), amount=amount)
                    out.append(q[q["breakdown"] != ""])
        return out


def _minimum_due(p: pd.DataFrame) -> np.ndarray:
    """Employer's monthly contribution at the statutory minimum for the programmes each worker has."""
    upah = p["upah"].to_numpy().astype(float)
    prog = p["program"].to_numpy().astype(str)
    rate = np.zeros(len(p))
    for name in ("JKK", "JKM", "JHT"):
        rate += np.where(np.char.find(prog, name) >= 0, MIN_RATES[name], 0.0)
    jp = np.where(np.char.find(prog, "JP,") >= 0, np.minimum(upah, JP_WAGE_CAP) * MIN_RATES["JP"], 0.0)
    return np.round(upah * rate + jp).astype(np.int64)


def identity(w: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which records are the same person / the same cooperative, by each feed's record key."""
    p, part, c = w.persons, w.participants, w.coops
    pid = lambda idx: np.char.add("P", np.asarray(idx).astype(str))  # noqa: E731
    o = w.officers
    frames = [
        pd.DataFrame({"person": pid(part["person"]), "feed": "bpjstk/peserta", "key": part["kpj"],
                      "folder": "bpjstk/" + part["branch"]}),
        pd.DataFrame({"person": pid(o["person"]), "feed": "kemenkop/pengurus",
                      "key": c["nik_koperasi"].to_numpy()[o["coop_idx"].to_numpy()] + "|" + p["nik"].to_numpy()[o["person"].to_numpy()]
                      + "|" + o["jabatan"].to_numpy(), "folder": "kemenkop/ods"}),
        pd.DataFrame({"person": pid(w.umkm["owner"]), "feed": "kemenkop/umkm", "key": w.umkm["nib"], "folder": "kemenkop/sidt"}),
        pd.DataFrame({"person": pid(w.kur["person"]), "feed": "himbara/kur", "key": w.kur["id_fasilitas"],
                      "folder": "himbara/" + w.kur["bank"].str.lower()}),
        pd.DataFrame({"person": pid(part["person"].to_numpy()[w.claims["part_idx"].to_numpy()]), "feed": "bpjstk/klaim",
                      "key": w.claims["no_klaim"], "folder": "bpjstk/" + w.claims["branch"]}),
    ]
    persons = pd.concat(frames, ignore_index=True).drop_duplicates(["feed", "key"])
    emp = w.employers[w.employers["coop_idx"] >= 0]
    coops = pd.concat([
        pd.DataFrame({"nik_koperasi": c["nik_koperasi"].to_numpy()[emp["coop_idx"].to_numpy()], "feed": "bpjstk/badan_usaha",
                      "key": emp["npp"].to_numpy(), "link": emp["link"].to_numpy(),
                      "folder": ["bpjstk/" + w.geo.branch_of[r] for r in emp["regency"]]}),
        pd.DataFrame({"nik_koperasi": c["nik_koperasi"].to_numpy()[w.letters["coop_idx"].to_numpy()],
                      "feed": "bpjstk/rekomendasi", "key": w.letters["no_rekomendasi"].to_numpy(), "link": "nik_koperasi",
                      "folder": "bpjstk/" + w.letters["branch"]}),
    ], ignore_index=True)
    return persons, coops
