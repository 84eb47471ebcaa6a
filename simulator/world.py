"""The true world behind the deliveries: who exists, where, and what happens to them month by month.

Everything here is clean; the files are rendered from it (and only then damaged by `defects`), and the
truth is computed from it. Entities carry their timelines (dates and month indices) so that any month's
state can be read off without simulating day by day.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingestion import regions
from sinergi.core.labels import LICENSING_REASONS  # the product's list of K3 reasons

from . import ids, names, profiles
from .calendar import Calendar
from .geography import Geography
from .profiles import District

NEVER = 10_000  # month index for "does not happen within any horizon"
JENIS = np.array(["Konsumen", "Produsen", "Pemasaran", "Jasa", "Simpan Pinjam"])
JENIS_P = np.array([0.547, 0.207, 0.06, 0.086, 0.10])
OFFICER_ROLES = ("Ketua", "Wakil Ketua", "Sekretaris", "Bendahara", "Pengawas")
STAFF_ROLES = ("Manajer", "Karyawan")
PEKERJAAN = np.array(["Petani", "Nelayan", "Pedagang", "Ojek Online", "Buruh Harian", "Pengrajin", "Sopir"])
PEKERJAAN_P = np.array([0.25, 0.08, 0.27, 0.12, 0.15, 0.06, 0.07])
PROGRAMS_PU = np.array(["JKK, JKM, JHT, JP, JKP", "JKK, JKM, JHT, JKP", "JKK, JKM"])
SEKTOR = np.array(["Perdagangan", "Pertanian", "Perikanan", "Industri Pengolahan", "Jasa Lainnya", "Konstruksi"])


@dataclass
class World:
    cal: Calendar
    geo: Geography
    districts: list[District]
    persons: pd.DataFrame = field(default=None)
    coops: pd.DataFrame = field(default=None)
    officers: pd.DataFrame = field(default=None)
    employers: pd.DataFrame = field(default=None)
    umkm: pd.DataFrame = field(default=None)
    kur: pd.DataFrame = field(default=None)
    participants: pd.DataFrame = field(default=None)
    payers: pd.DataFrame = field(default=None)
    paid_through: np.ndarray = field(default=None)   # payers x months, month index paid through
    contributions: pd.DataFrame = field(default=None)
    claims: pd.DataFrame = field(default=None)
    letters: pd.DataFrame = field(default=None)
    decisions: pd.DataFrame = field(default=None)    # every version; `final` marks the latest


class _People:
    """Grows the person table as roles need people; everyone gets a NIK at the end."""

    def __init__(self, world: World, rng: np.random.Generator):
        self.w, self.rng, self.parts = world, rng, []
        self.n = 0

    def new(self, regency_idx: np.ndarray) -> np.ndarray:
        k = len(regency_idx)
        female = self.rng.random(k) < 0.45
        age_days = self.rng.integers(18 * 365, 64 * 365, k)
        birth = self.w.cal.first(0) - age_days
        village = self.w.geo.random_villages(self.rng, regency_idx)
        self.parts.append(pd.DataFrame({
            "female": female, "birth": birth, "regency_idx": regency_idx, "village": village,
        }))
        idx = np.arange(self.n, self.n + k)
        self.n += k
        return idx

    def finish(self) -> pd.DataFrame:
        p = pd.concat(self.parts, ignore_index=True)
        # A NIK carries the district of first registration: for most people their own, for some elsewhere.
        moved = self.rng.random(len(p)) < 0.05
        other = self.w.geo.random_villages(self.rng, self.rng.integers(0, len(self.w.geo.regencies), len(p)))
        district = np.where(moved, other, p["village"]).astype(str)
        district = np.char.replace(np.char.ljust(district, 8).astype("U8"), ".", "")
        p["nik"] = ids.niks(district, _days(p["birth"]), p["female"].to_numpy())
        p["name"] = names.person_names(self.rng, p["female"].to_numpy())
        p["regency"] = shared(self.w.geo.regencies[p["regency_idx"].to_numpy()])
        return p


def build(cal: Calendar, geo: Geography, districts: list[District], seed: int) -> World:
    w = World(cal, geo, districts)
    people = _People(w, np.random.default_rng([seed, 1]))
    _coops(w, np.random.default_rng([seed, 2]))
    _officers(w, people, np.random.default_rng([seed, 3]))
    _employers(w, np.random.default_rng([seed, 4]))
    _umkm(w, people, np.random.default_rng([seed, 5]))
    _kur(w, people, np.random.default_rng([seed, 6]))
    background = _background(w, people, np.random.default_rng([seed, 7]))
    w.persons = people.finish()
    _participants(w, background, np.random.default_rng([seed, 8]))
    _enrolments(w, np.random.default_rng([seed, 9]))
    _contributions(w, np.random.default_rng([seed, 10]))
    _claims(w, np.random.default_rng([seed, 12]))
    _licensing(w, np.random.default_rng([seed, 13]))
    return w


def shared(values) -> np.ndarray:
    """The same values as an object array holding each distinct string once. A numpy text array put in a
    frame becomes one string object per row: for the few values of a category over millions of people
    that is most of a national world's memory. Blanks (None) stay None."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    out = np.asarray(uniques, dtype=object)[np.maximum(codes, 0)]
    out[codes < 0] = None
    return out


def _days(column) -> np.ndarray:
    """A date column as numpy day precision (pandas keeps seconds, where `+ 1` would add a second)."""
    return np.asarray(column).astype("datetime64[D]")


def _coops(w: World, rng: np.random.Generator) -> None:
    cal, N = w.cal, w.cal.n
    counts = np.array([d.coops for d in w.districts])
    new_counts = rng.binomial(np.maximum(counts, 1), min(0.004 * N, 0.5))
    reg_idx = np.repeat(np.arange(len(counts)), counts)
    new_idx = np.repeat(np.arange(len(counts)), new_counts)
    n_old, n_new = len(reg_idx), len(new_idx)
    reg_idx = np.concatenate([reg_idx, new_idx])
    n = len(reg_idx)
    founded = np.concatenate([
        cal.first(0) - rng.integers(60, 35 * 365, n_old),
        cal.random_day(rng, rng.integers(0, N, n_new)),
    ])
    active_share = np.array([d.active_share for d in w.districts])[reg_idx]
    start_state = np.where(rng.random(n) < active_share, 0, np.where(rng.random(n) < 0.7, 1, 2))
    start_state[n_old:] = 0
    # Month of becoming inactive / dissolved (negative: before the horizon).
    inactive_m = np.full(n, NEVER)
    dissolved_m = np.full(n, NEVER)
    inactive_m[start_state >= 1] = -1
    dissolved_m[start_state == 2] = -1
    goes_inactive = (start_state == 0) & (rng.random(n) < 0.004 * N)
    inactive_m[goes_inactive] = rng.integers(0, N, goes_inactive.sum())
    dissolves = (start_state == 1) & (rng.random(n) < 0.005 * N)
    dissolved_m[dissolves] = rng.integers(0, N, dissolves.sum())
    inactive_date = _transition_dates(cal, rng, inactive_m)
    dissolved_date = _transition_dates(cal, rng, dissolved_m)
    # New cooperatives are never retired in the month they are founded.
    fm = cal.month_of(founded)
    inactive_date = np.where(inactive_date <= founded, np.datetime64("NaT"), inactive_date)
    dissolved_date = np.where(dissolved_date <= founded, np.datetime64("NaT"), dissolved_date)
    regency = w.geo.regencies[reg_idx]
    village = w.geo.random_villages(rng, reg_idx)
    jenis = rng.choice(JENIS, n, p=JENIS_P)
    village_names = np.array([_village_name(v) for v in village], dtype=object)
    has_nib = rng.random(n) < 0.4
    has_npwp = rng.random(n) < 0.45
    npwp15 = ids.unique_numbers(rng, n, 15, first="0")
    rat_days = np.where(start_state == 0, rng.integers(10, 360, n), rng.integers(400, 3000, n))
    rat = cal.first(0) - rat_days
    rat = np.where((rat < founded) | (rng.random(n) < 0.1), np.datetime64("NaT"), rat)
    w.coops = pd.DataFrame({
        "coop_idx": np.arange(n),
        "nik_koperasi": ids.nik_koperasi(regency),
        "name": names.coop_names(rng, jenis, regency, village_names),
        "no_badan_hukum": ids.badan_hukum(rng, founded),
        "founded": founded, "founded_m": fm,
        "bentuk": np.where(rng.random(n) < 0.95, "Primer", "Sekunder"),
        "jenis": jenis,
        "kelompok": rng.choice(np.array(["Koperasi Karyawan", "KUD", "Koperasi Wanita", "Koperasi Pasar",
                                         "Koperasi Pondok Pesantren", "Koperasi Nelayan", "Umum"]), n),
        "pola": np.where(rng.random(n) < 0.12, "Syariah", "Konvensional"),
        "regency_idx": reg_idx, "regency": regency, "village": village,
        "alamat": [f"Jl. {v} No. {k}" for v, k in zip(village_names, rng.integers(1, 200, n))],
        "inactive_date": inactive_date, "dissolved_date": dissolved_date,
        "rat": rat,
        "members_m": rng.integers(9, 400, n), "members_f": rng.integers(0, 400, n),
        "managers": np.where(rng.random(n) < 0.3, rng.integers(1, 3, n), 0),
        "staff": np.minimum(rng.poisson(0.9, n), 12),
        "nib": np.where(has_nib, ids.unique_numbers(rng, n, 13, first="9"), None),
        "npwp15": np.where(has_npwp, npwp15, None),
        "npwp_form": rng.choice(np.array(["15", "15dot", "16"]), n),
    })


def _transition_dates(cal: Calendar, rng, m: np.ndarray) -> np.ndarray:
    out = np.full(len(m), np.datetime64("NaT"), dtype="datetime64[D]")
    before = m < 0
    out[before] = cal.first(0) - rng.integers(30, 2000, before.sum())
    inside = (m >= 0) & (m < cal.n)
    out[inside] = cal.random_day(rng, m[inside])
    return out


def _village_name(code: str) -> str:
    return regions.villages().get(code, "Makmur").title()


def coop_status(coops: pd.DataFrame, day: np.datetime64) -> np.ndarray:
    """`Aktif`, `Tidak Aktif` or `Dibubarkan` on a day."""
    dissolved = _days(coops["dissolved_date"]) <= day
    inactive = _days(coops["inactive_date"]) <= day
    return np.where(dissolved, "Dibubarkan", np.where(inactive, "Tidak Aktif", "Aktif"))


def _officers(w: World, people: _People, rng: np.random.Generator) -> None:
    c = w.coops
    slots = []
    for role in OFFICER_ROLES:
        count = np.ones(len(c), dtype=int)
        if role == "Wakil Ketua":
            count = (rng.random(len(c)) < 0.7).astype(int)
        elif role == "Pengawas":
            count = rng.integers(1, 4, len(c))
        slots.append((role, count))
    slots += [("Manajer", c["managers"].to_numpy()), ("Karyawan", c["staff"].to_numpy())]
    coop_idx = np.concatenate([np.repeat(c["coop_idx"].to_numpy(), k) for _, k in slots])
    jabatan = np.concatenate([np.repeat(role, k.sum()) for role, k in slots]).astype(object)
    n = len(coop_idx)
    reg_idx = c["regency_idx"].to_numpy()[coop_idx]
    founded = _days(c["founded"])[coop_idx]
    start = np.maximum(founded, w.cal.first(0) - rng.integers(30, 6 * 365, n))
    person = people.new(reg_idx)
    # A few people serve in two cooperatives of their regency.
    reuse = np.flatnonzero(rng.random(n) < 0.03)
    donor = rng.integers(0, n, len(reuse))
    ok = (reg_idx[donor] == reg_idx[reuse]) & (coop_idx[donor] != coop_idx[reuse])
    person[reuse[ok]] = person[donor[ok]]
    # Turnover within the horizon: an officer leaves, a new one starts the next day.
    leaves = rng.random(n) < 0.015 * w.cal.n
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    end[leaves] = w.cal.random_day(rng, rng.integers(0, w.cal.n, leaves.sum()), hi=27)
    end = np.where(end <= start, np.datetime64("NaT"), end)
    left = ~np.isnat(end)
    successor = people.new(reg_idx[left])
    # Some officers left before the horizon and still appear, with their end date.
    past = rng.random(n) < 0.08
    past_person = people.new(reg_idx[past])
    past_end = start[past] - rng.integers(1, 400, past.sum())
    past_start = past_end - rng.integers(200, 2000, past.sum())
    frame = pd.DataFrame({
        "coop_idx": np.concatenate([coop_idx, coop_idx[left], coop_idx[past]]),
        "person": np.concatenate([person, successor, past_person]),
        "jabatan": np.concatenate([jabatan, jabatan[left], jabatan[past]]),
        "start": np.concatenate([start, end[left] + 1, past_start]),
        "end": np.concatenate([end, np.full(left.sum(), np.datetime64("NaT"), dtype="datetime64[D]"), past_end]),
    })
    # Key (cooperative, person, role) is unique: drop the rare clash a reused person makes.
    w.officers = frame.drop_duplicates(["coop_idx", "person", "jabatan"]).reset_index(drop=True)


def _employers(w: World, rng: np.random.Generator) -> None:
    cal, N = w.cal, w.cal.n
    c = w.coops
    cov = np.array([d.coverage for d in w.districts])
    share = np.array([d.employer_share for d in w.districts])[c["regency_idx"].to_numpy()]
    active0 = coop_status(c, cal.first(0)) == "Aktif"
    # Cooperatives registered as employers: mostly the active ones; some registrations of dormant ones.
    registered = np.where(active0, rng.random(len(c)) < share / 0.93, rng.random(len(c)) < 0.05)
    coop_emp = c[registered]
    m = len(coop_emp)
    emp_status_start = np.where(
        active0[registered], np.where(rng.random(m) < 0.93, "Aktif", "Nonaktif"),
        np.where(rng.random(m) < 0.6, "Nonaktif", "Tutup"))
    # Background employers per district.
    counts = np.array([max(1, round(d.workforce * profiles.EMPLOYERS_PER_WORKER)) for d in w.districts])
    reg_idx = np.repeat(np.arange(len(counts)), counts)
    k = len(reg_idx)
    n = m + k
    kategori = np.concatenate([
        np.where(rng.random(m) < 0.85, "Koperasi", "Badan Usaha"),
        rng.choice(np.array(["Badan Usaha", "UMKM", "Instansi"]), k, p=[0.7, 0.25, 0.05]),
    ])
    status_start = np.concatenate([
        emp_status_start,
        rng.choice(np.array(["Aktif", "Nonaktif", "Tutup"]), k, p=[0.88, 0.08, 0.04]),
    ])
    regency_idx = np.concatenate([coop_emp["regency_idx"].to_numpy(), reg_idx])
    coop_idx = np.concatenate([coop_emp["coop_idx"].to_numpy(), np.full(k, -1)])
    is_coop = coop_idx >= 0
    # Status changes inside the horizon.
    lapse_m = np.full(n, NEVER)
    lapses = (status_start == "Aktif") & (rng.random(n) < 0.003 * N)
    lapse_m[lapses] = rng.integers(1, max(N, 2), lapses.sum())
    # The branch fills in what it knows about a cooperative employer.
    ck = coop_emp
    fill_nik = rng.random(m) < 0.45
    fill_nib = ck["nib"].notna().to_numpy() & (rng.random(m) < 0.8)
    fill_npwp = ck["npwp15"].notna().to_numpy() & (rng.random(m) < 0.8)
    link = np.where(fill_nik, "nik_koperasi", np.where(fill_nib, "nib", np.where(fill_npwp, "npwp", "nama_wilayah")))
    bg_npwp = ids.unique_numbers(rng, k, 15, first="1")
    bg_nib = ids.unique_numbers(rng, k, 13, first="8")
    registered_on = np.concatenate([
        np.maximum(_days(ck["founded"]), cal.first(0) - rng.integers(30, 3000, m)),
        cal.first(0) - rng.integers(30, 5000, k),
    ])
    w.employers = pd.DataFrame({
        "emp_idx": np.arange(n),
        "npp": ids.unique_numbers(rng, n, 8, first=""),
        "name": np.concatenate([names.bpjs_coop_names(ck["name"].to_numpy(), rng), names.company_names(rng, k)]),
        "coop_idx": coop_idx,
        "link": np.concatenate([link, np.full(k, None)]),
        "nik_koperasi": np.concatenate([np.where(fill_nik, ck["nik_koperasi"], None), np.full(k, None)]),
        "nib": np.concatenate([np.where(fill_nib, ck["nib"], None), np.where(rng.random(k) < 0.5, bg_nib, None)]),
        "npwp15": np.concatenate([np.where(fill_npwp, ck["npwp15"], None),
                                  np.where(rng.random(k) < 0.7, bg_npwp, None)]),
        "npwp_form": rng.choice(np.array(["15", "15dot", "16"]), n),
        "kategori": kategori, "regency_idx": regency_idx,
        "regency": w.geo.regencies[regency_idx],
        "village": w.geo.random_villages(rng, regency_idx),
        "registered_on": registered_on,
        "status_start": status_start, "lapse_m": lapse_m,
        "size_class": np.where(is_coop, 2, rng.choice(np.arange(3), n, p=[0.25, 0.35, 0.40])),
        "jkk_rate": rng.choice(np.array([0.0024, 0.0054, 0.0089, 0.0127, 0.0174]), n),
        "coverage": cov[regency_idx],
    })


def employer_status(emp: pd.DataFrame, m: int) -> np.ndarray:
    s = emp["status_start"].to_numpy()
    return np.where((s == "Aktif") & (emp["lapse_m"].to_numpy() <= m), "Nonaktif", s)


def _umkm(w: World, people: _People, rng: np.random.Generator) -> None:
    cal, N = w.cal, w.cal.n
    counts = np.array([d.umkm for d in w.districts])
    reg_idx = np.repeat(np.arange(len(counts)), counts)
    n = len(reg_idx)
    owner = people.new(reg_idx)
    # Some owners are cooperative officers of the same regency.
    off = w.officers
    off_reg = w.coops["regency_idx"].to_numpy()[off["coop_idx"].to_numpy()]
    pick = np.flatnonzero(rng.random(n) < 0.05)
    if len(off):
        donor = rng.integers(0, len(off), len(pick))
        ok = off_reg[donor] == reg_idx[pick]
        owner[pick[ok]] = off["person"].to_numpy()[donor[ok]]
    issued = cal.first(0) - rng.integers(1, 7 * 365, n)
    new = rng.random(n) < 0.01 * N
    issued[new] = cal.random_day(rng, rng.integers(0, N, new.sum()))
    skala = rng.choice(np.array(["Mikro", "Kecil", "Menengah"]), n, p=[0.93, 0.05, 0.02])
    workers = np.where(skala == "Mikro", rng.integers(1, 5, n), np.where(skala == "Kecil", rng.integers(5, 20, n),
                                                                        rng.integers(20, 100, n)))
    omzet = np.where(skala == "Mikro", rng.integers(10, 2000, n), np.where(skala == "Kecil", rng.integers(2000, 15000, n),
                                                                          rng.integers(15000, 50000, n))) * 1_000_000
    w.umkm = pd.DataFrame({
        "nib": ids.unique_numbers(rng, n, 13, first="1"),
        "owner": owner, "regency_idx": reg_idx, "regency": w.geo.regencies[reg_idx],
        "village": w.geo.random_villages(rng, reg_idx),
        "skala": skala, "kbli": rng.integers(1110, 96999, n).astype(str),
        "workers": workers, "issued": issued, "omzet": omzet,
    })
    w.umkm["kbli"] = w.umkm["kbli"].str.zfill(5)


def _kur(w: World, people: _People, rng: np.random.Generator) -> None:
    cal, N = w.cal, w.cal.n
    per_month = np.array([d.kur_per_month for d in w.districts])
    month = np.concatenate([np.full(per_month.sum(), m) for m in range(N)])
    reg_idx = np.tile(np.repeat(np.arange(len(per_month)), per_month), N)
    n = len(month)
    bank_names = np.array(list(profiles.BANKS))
    bank = rng.choice(bank_names, n, p=[v[0] for v in profiles.BANKS.values()])
    schemes = np.array(list(profiles.SCHEMES))
    skema = rng.choice(schemes, n, p=[v[0] for v in profiles.SCHEMES.values()])
    lo = np.array([profiles.SCHEMES[s][1] for s in skema])
    hi = np.array([profiles.SCHEMES[s][2] for s in skema])
    # Kecil and Khusus facilities cluster above the Rp100 jt line that makes enrolment mandatory.
    plafon = lo + (rng.random(n) ** 1.5) * (hi - lo)
    plafon = np.maximum(lo + 500_000, np.floor(plafon / 500_000) * 500_000).astype(np.int64)
    rate_lo = np.array([profiles.SCHEMES[s][3][0] for s in skema])
    rate_hi = np.array([profiles.SCHEMES[s][3][1] for s in skema])
    rate = rate_lo + rng.integers(0, 4, n) * np.minimum(1.0, (rate_hi - rate_lo) / 3)
    disbursed = cal.random_day(rng, month)
    signed = disbursed - rng.integers(0, 10, n)
    # Borrowers: UMKM owners of the regency where there are some, else new people.
    u = w.umkm
    borrower = people.new(reg_idx)
    nib = np.full(n, None, dtype=object)
    if len(u):
        u_reg = u["regency_idx"].to_numpy()
        order = np.argsort(u_reg, kind="stable")
        starts = np.searchsorted(u_reg[order], np.arange(len(w.districts)), "left")
        ends = np.searchsorted(u_reg[order], np.arange(len(w.districts)), "right")
        avail = ends[reg_idx] - starts[reg_idx]
        is_owner = (rng.random(n) < 0.45) & (avail > 0)
        pick = order[starts[reg_idx] + (rng.random(n) * np.maximum(avail, 1)).astype(int)]
        borrower = np.where(is_owner, u["owner"].to_numpy()[pick], borrower)
        nib = np.where(is_owner & (rng.random(n) < 0.8), u["nib"].to_numpy()[pick], None)
    w.kur = pd.DataFrame({
        "month": month, "bank": bank, "skema": skema, "plafon": plafon, "rate": np.round(rate, 2),
        "tenor": rng.choice(np.array([12, 18, 24, 36, 48, 60]), n), "signed": signed, "disbursed": disbursed,
        "regency_idx": reg_idx, "regency": w.geo.regencies[reg_idx],
        "district": np.char.ljust(w.geo.random_villages(rng, reg_idx).astype(str), 8).astype("U8"),
        "sektor": rng.choice(SEKTOR, n), "person": borrower, "nib": nib,
    })
    w.kur["id_fasilitas"] = (w.kur["bank"].str[:3] + ids.unique_numbers(rng, n, 12, first="7"))


def _background(w: World, people: _People, rng: np.random.Generator) -> np.ndarray:
    counts = np.array([d.workforce for d in w.districts])
    registered = np.round(counts / (1 - profiles.INACTIVE_PARTICIPANT_SHARE)).astype(int)
    reg_idx = np.repeat(np.arange(len(counts)), registered)
    return people.new(reg_idx)


def _participants(w: World, background: np.ndarray, rng: np.random.Generator) -> None:
    """One participant record per covered person: the workforce, covered officers, owners and borrowers."""
    p = w.persons
    cov = np.array([d.coverage for d in w.districts])
    emp = w.employers
    frames = []
    # Background workforce.
    nb = len(background)
    segmen = rng.choice(np.array(list(profiles.SEGMENT_SHARES)), nb, p=list(profiles.SEGMENT_SHARES.values()))
    inactive = rng.random(nb) < profiles.INACTIVE_PARTICIPANT_SHARE
    frames.append(pd.DataFrame({"person": background, "segmen": segmen, "coop_emp": -1,
                                "inactive": inactive}))
    # Cooperative people: PU with their cooperative's employer when it is registered, else sometimes BPU.
    off = w.officers
    in_office = off["end"].isna().to_numpy()
    coop_emp_of = pd.Series(emp.loc[emp["coop_idx"] >= 0, "emp_idx"].to_numpy(),
                            index=emp.loc[emp["coop_idx"] >= 0, "coop_idx"].to_numpy())
    coop_emp = coop_emp_of.reindex(off["coop_idx"].to_numpy()).fillna(-1).astype(int).to_numpy()
    off_cov = cov[p["regency_idx"].to_numpy()[off["person"].to_numpy()]]
    pu = (coop_emp >= 0) & (rng.random(len(off)) < np.minimum(0.97, 0.85 * off_cov)) & in_office
    bpu = ~pu & (rng.random(len(off)) < 0.12 * off_cov)
    frames.append(pd.DataFrame({"person": off["person"].to_numpy()[pu], "segmen": "PU",
                                "coop_emp": coop_emp[pu], "inactive": False}))
    frames.append(pd.DataFrame({"person": off["person"].to_numpy()[bpu], "segmen": "BPU",
                                "coop_emp": -1, "inactive": False}))
    # UMKM owners and KUR borrowers that were already covered.
    own = w.umkm["owner"].to_numpy()
    own_cov = rng.random(len(own)) < 0.25 * cov[p["regency_idx"].to_numpy()[own]]
    frames.append(pd.DataFrame({"person": own[own_cov], "segmen": "BPU", "coop_emp": -1, "inactive": False}))
    bor = w.kur["person"].to_numpy()
    bor_cov = rng.random(len(bor)) < 0.2 * cov[p["regency_idx"].to_numpy()[bor]]
    frames.append(pd.DataFrame({"person": bor[bor_cov], "segmen": "BPU", "coop_emp": -1, "inactive": False}))
    part = pd.concat(frames, ignore_index=True).drop_duplicates("person").reset_index(drop=True)
    w.participants = _participant_details(w, part, rng)


def _participant_details(w: World, part: pd.DataFrame, rng: np.random.Generator,
                         join: np.ndarray | None = None) -> pd.DataFrame:
    cal, N = w.cal, w.cal.n
    p, emp = w.persons, w.employers
    n = len(part)
    person = part["person"].to_numpy()
    reg_idx = p["regency_idx"].to_numpy()[person]
    segmen = part["segmen"].to_numpy()
    # Employees of ordinary employers work for one in their own regency.
    emp_idx = part["coop_emp"].to_numpy().copy()
    needs = (emp_idx < 0) & np.isin(segmen, ["PU", "JAKON"])
    ordinary = emp[emp["coop_idx"] < 0]
    o_reg = ordinary["regency_idx"].to_numpy()
    order = np.argsort(o_reg, kind="stable")
    lo = np.searchsorted(o_reg[order], reg_idx[needs], "left")
    hi = np.searchsorted(o_reg[order], reg_idx[needs], "right")
    pick = lo + (rng.random(needs.sum()) * np.maximum(hi - lo, 1)).astype(int)
    emp_idx[needs] = ordinary["emp_idx"].to_numpy()[order][np.minimum(pick, len(order) - 1)]
    size = np.where(emp_idx >= 0, emp["size_class"].to_numpy()[np.maximum(emp_idx, 0)], 0)
    program = np.where(segmen == "PU", PROGRAMS_PU[2 - size],
                       np.where((segmen == "BPU") & (rng.random(n) < 0.3), "JKK, JKM, JHT", "JKK, JKM"))
    upah = np.where(np.isin(segmen, ["PU", "JAKON"]), rng.lognormal(15.3, 0.45, n), rng.uniform(1.0e6, 5.0e6, n))
    upah = (np.round(upah / 1000) * 1000).astype(np.int64)
    if join is None:
        join = cal.first(0) - rng.integers(30, 12 * 365, n)
        newcomer = rng.random(n) < 0.02 * N
        join[newcomer] = cal.random_day(rng, rng.integers(0, N, newcomer.sum()))
    birth = _days(p["birth"])[person]
    join = np.maximum(join, birth + 18 * 365)
    emp_start = np.where(emp_idx >= 0, _days(emp["registered_on"])[np.maximum(emp_idx, 0)], join)
    join = np.maximum(join, emp_start)
    lapse_m = np.full(n, NEVER)
    lapse_m[part["inactive"].to_numpy()] = -1
    lapses = (lapse_m == NEVER) & (rng.random(n) < 0.006 * N)
    lapse_m[lapses] = rng.integers(1, max(N, 2), lapses.sum())
    lapse_m = np.maximum(lapse_m, cal.month_of(join) + 1)
    return pd.DataFrame({
        "person": person, "segmen": shared(segmen), "emp_idx": emp_idx, "program": shared(program), "upah": upah,
        "pekerjaan": shared(np.where(segmen == "BPU", rng.choice(PEKERJAAN, n, p=PEKERJAAN_P), None)),
        "regency_idx": reg_idx, "regency": p["regency"].to_numpy()[person],
        "village": p["village"].to_numpy()[person],
        "join": join, "join_m": cal.month_of(join), "lapse_m": lapse_m,
        "branch": [w.geo.branch_of[r] for r in p["regency"].to_numpy()[person]],
    })


def participant_active(part: pd.DataFrame, m: int) -> np.ndarray:
    return (part["join_m"].to_numpy() <= m) & (part["lapse_m"].to_numpy() > m)


def _enrolments(w: World, rng: np.random.Generator) -> None:
    """What each bank knows and does at disbursement: check, enrol (as BPU) or neither."""
    cal = w.cal
    k, part = w.kur, w.participants
    n = len(k)
    first = part.drop_duplicates("person").set_index("person")
    person = k["person"].to_numpy()
    has = np.isin(person, first.index.to_numpy())
    idx = first.index.get_indexer(person)
    join = np.where(has, _days(first["join"])[np.maximum(idx, 0)], np.datetime64("NaT"))
    lapse = np.where(has, first["lapse_m"].to_numpy()[np.maximum(idx, 0)], -NEVER)
    disbursed = _days(k["disbursed"])
    active_on = has & (join <= disbursed) & (lapse > k["month"].to_numpy())
    mandatory = k["skema"].isin(profiles.MANDATORY_SCHEMES).to_numpy() & (k["plafon"].to_numpy() > profiles.MANDATORY_PLAFON)
    cov = np.array([d.coverage for d in w.districts])[k["regency_idx"].to_numpy()]
    diligence = np.array([profiles.BANKS[b][1] for b in k["bank"]])
    p_enrol = np.where(mandatory, np.minimum(0.98, diligence * np.sqrt(cov)), 0.06 * cov)
    enrol = ~has & (rng.random(n) < p_enrol)
    # One enrolment per person: a second facility in the horizon finds them registered.
    enrol &= ~pd.Series(np.where(enrol, person, -1 - np.arange(n))).duplicated().to_numpy()
    month = k["month"].to_numpy()
    join_new = disbursed[enrol] + rng.integers(0, 12, enrol.sum())
    join_new = np.minimum(join_new, cal.last(month[enrol]))
    new = pd.DataFrame({"person": person[enrol], "segmen": "BPU", "coop_emp": -1, "inactive": False})
    new_part = _participant_details(w, new, rng, join=join_new)
    new_part["lapse_m"] = NEVER
    w.participants = pd.concat([w.participants, new_part], ignore_index=True)
    w.participants["kpj"] = ids.unique_numbers(rng, len(w.participants), 11, first="1")
    status = np.where(active_on, "Terdaftar", np.where(enrol, "Didaftarkan", "Belum"))
    # Banks' own records are not always right: some say registered when the person is not, and back.
    wrong = rng.random(n) < 0.04
    status = np.where(wrong & (status == "Belum"), "Terdaftar", np.where(wrong & (status == "Terdaftar"), "Belum", status))
    kpj_of = w.participants.drop_duplicates("person").set_index("person")["kpj"]
    kpj = kpj_of.reindex(person).to_numpy()
    k["status_bpjstk"] = status
    k["kpj"] = np.where(status == "Belum", None, kpj)


def _contributions(w: World, rng: np.random.Generator) -> None:
    """Who pays for whom, how far each payer is paid through each month, and the payments received."""
    cal, N = w.cal, w.cal.n
    part, emp = w.participants, w.employers
    by_emp = np.isin(part["segmen"].to_numpy(), ["PU", "JAKON"])
    part["payer"] = np.where(by_emp, "E" + part["emp_idx"].astype(str), "P" + part.index.astype(str))
    payers = part.groupby("payer", sort=True).agg(join_m=("join_m", "min"), branch=("branch", "first"))
    emp_payer = payers.index.str.startswith("E")
    emp_idx = np.where(emp_payer, payers.index.str[1:].astype(int), -1)
    emp_join = cal.month_of(_days(emp["registered_on"]))
    payers["join_m"] = np.where(emp_payer, emp_join[np.maximum(emp_idx, 0)], payers["join_m"])
    payers["branch"] = np.where(emp_payer, [w.geo.branch_of[r] for r in emp["regency"].to_numpy()[np.maximum(emp_idx, 0)]],
                                payers["branch"])
    n = len(payers)
    # Months behind: a small Markov chain (most pay on time; some fall behind, some catch up).
    lag = np.zeros((n, N), dtype=int)
    lag[:, 0] = rng.choice(np.arange(7), n, p=[0.82, 0.07, 0.04, 0.03, 0.02, 0.01, 0.01])
    for m in range(1, N):
        r = rng.random(n)
        prev = lag[:, m - 1]
        lag[:, m] = np.where(prev == 0, np.where(r < 0.03, 1, 0),
                             np.where(r < 0.3, 0, np.where(r < 0.7, prev + 1, prev)))
    join = payers["join_m"].to_numpy()
    months = np.arange(N)
    pt = np.maximum(months[None, :] - 1 - lag, join[:, None] - 1)
    pt_before = np.maximum(-2 - lag[:, 0], join - 1)
    w.paid_through = pt
    payers["payer_idx"] = np.arange(n)
    w.payers = payers
    # Monthly dues: employers pay for their registered workers, individuals for themselves.
    _add_monthly_dues(part, emp)
    rows = []
    prev = pt_before
    for m in range(N):
        count = pt[:, m] - prev
        payer_idx = np.repeat(np.arange(n), count)
        first_period = np.repeat(prev + 1, count)
        period = first_period + (np.arange(len(payer_idx)) - np.repeat(np.cumsum(count) - count, count))
        rows.append(pd.DataFrame({"payer_idx": payer_idx, "period": period, "month": m,
                                  "paid_on": cal.random_day(rng, np.full(len(payer_idx), m), hi=28)}))
        prev = pt[:, m]
    pay = pd.concat(rows, ignore_index=True)
    pay = pay[pay["period"] >= join[pay["payer_idx"].to_numpy()]].reset_index(drop=True)
    split = part.groupby("payer")[["due_jkk", "due_jkm", "due_jht", "due_jp", "due_jkp"]].sum().reindex(payers.index)
    for col in split:
        pay["iuran_" + col[4:]] = split[col].to_numpy()[pay["payer_idx"].to_numpy()]
    pay["total"] = pay[["iuran_jkk", "iuran_jkm", "iuran_jht", "iuran_jp", "iuran_jkp"]].sum(axis=1)
    pay["kanal"] = rng.choice(np.array(["Bank", "Kantor Cabang", "Mitra", "Bank", "Autodebet"]), len(pay))
    pay["no_referensi"] = "IUR" + ids.unique_numbers(rng, len(pay), 12, first="5")
    pay["branch"] = payers["branch"].to_numpy()[pay["payer_idx"].to_numpy()]
    w.contributions = pay


JP_WAGE_CAP = 10_042_300
JKP_WAGE_CAP = 5_000_000


def _add_monthly_dues(part: pd.DataFrame, emp: pd.DataFrame) -> None:
    """Each participant's monthly contribution per programme (due_jkk ... due_jkp)."""
    upah = part["upah"].to_numpy().astype(float)
    prog = part["program"].to_numpy().astype(str)
    by_emp = np.isin(part["segmen"].to_numpy(), ["PU", "JAKON"])
    jkk_rate = np.where(part["emp_idx"].to_numpy() >= 0, emp["jkk_rate"].to_numpy()[np.maximum(part["emp_idx"].to_numpy(), 0)], 0.0024)
    has = lambda p: np.char.find(prog, p) >= 0  # noqa: E731
    part["due_jkk"] = np.round(np.where(by_emp, upah * jkk_rate, np.clip(upah * 0.01, 10_000, 207_000))).astype(np.int64)
    part["due_jkm"] = np.round(np.where(by_emp, upah * 0.003, 6_800)).astype(np.int64)
    part["due_jht"] = np.round(np.where(has("JHT"), upah * np.where(by_emp, 0.057, 0.02), 0)).astype(np.int64)
    part["due_jp"] = np.round(np.where(has("JP"), np.minimum(upah, JP_WAGE_CAP) * 0.03, 0)).astype(np.int64)
    part["due_jkp"] = np.round(np.where(has("JKP"), np.minimum(upah, JKP_WAGE_CAP) * 0.0036, 0)).astype(np.int64)


def _claims(w: World, rng: np.random.Generator) -> None:
    cal, N = w.cal, w.cal.n
    part = w.participants
    frames = []
    for m in range(N):
        eligible = np.flatnonzero(part["join_m"].to_numpy() < m)
        k = rng.binomial(len(eligible), 0.008)
        who = np.sort(rng.choice(eligible, k, replace=False))
        active = part["lapse_m"].to_numpy()[who] > m
        pu = part["segmen"].to_numpy()[who] == "PU"
        r = rng.random(k)
        program = np.where(~active, np.where(r < 0.9, "JHT", "JP"),
                           np.where(r < 0.4, "JKK", np.where(r < 0.55, "JKM", np.where(r < 0.8, "JHT",
                                    np.where(r < 0.9, "JP", np.where(pu, "JKP", "JKK"))))))
        paid = cal.random_day(rng, np.full(k, m))
        filed = paid - rng.integers(0, 20, k)
        event = np.maximum(filed - rng.integers(0, 90, k), _days(part["join"])[who])
        upah = part["upah"].to_numpy()[who]
        nominal = np.select(
            [program == "JKK", program == "JKM", program == "JHT", program == "JP", program == "JKP"],
            [rng.integers(1, 40, k) * 500_000, np.full(k, 42_000_000), upah * rng.integers(3, 60, k) // 10,
             np.maximum(393_500, upah * 0.3).astype(np.int64) * 12, np.minimum(upah, JKP_WAGE_CAP) * 0.6 * 3])
        frames.append(pd.DataFrame({"part_idx": who, "month": m, "program": program, "event": event,
                                    "filed": filed, "paid": paid, "nominal": nominal.astype(np.int64)}))
    c = pd.concat(frames, ignore_index=True)
    c["sebab"] = c["program"].map({"JKK": "Kecelakaan kerja", "JKM": "Meninggal dunia", "JHT": "Berhenti bekerja",
                                   "JP": "Pensiun", "JKP": "Pemutusan hubungan kerja"})
    c["no_klaim"] = "KLM" + ids.unique_numbers(rng, len(c), 12, first="3")
    c["branch"] = part["branch"].to_numpy()[c["part_idx"].to_numpy()]
    w.claims = c


LAYANAN = np.array(["Perubahan Anggaran Dasar", "Izin Usaha Simpan Pinjam", "Pembukaan Kantor Cabang"])


def _licensing(w: World, rng: np.random.Generator) -> None:
    """Licensing decisions and the BPJS recommendation letters they cite (or fail to)."""
    cal, N = w.cal, w.cal.n
    c = w.coops
    # Founding decisions for cooperatives founded inside the horizon; evaluations and other services.
    founding = c[c["founded_m"] >= 0]
    frames = [pd.DataFrame({"coop_idx": founding["coop_idx"].to_numpy(), "layanan": "Pendirian",
                            "decided": _days(founding["founded"])})]
    for m in range(N):
        for layanan, rate in (("Evaluasi Status", 0.012), ("other", 0.01)):
            pick = np.flatnonzero((rng.random(len(c)) < rate) & (c["founded_m"].to_numpy() < m))
            kind = np.full(len(pick), layanan, dtype=object) if layanan != "other" else rng.choice(LAYANAN, len(pick))
            frames.append(pd.DataFrame({"coop_idx": pick, "layanan": kind,
                                        "decided": cal.random_day(rng, np.full(len(pick), m), lo=1, hi=cal.days(m).min() - 1)}))
    d = pd.concat(frames, ignore_index=True)
    d = d.sort_values(["decided", "coop_idx", "layanan"], kind="stable").reset_index(drop=True)
    n = len(d)
    coop = d["coop_idx"].to_numpy()
    decided = _days(d["decided"])
    month = cal.month_of(decided)
    regency_idx = c["regency_idx"].to_numpy()[coop]
    hasil = np.where((rng.random(n) < 0.9) | (d["layanan"].to_numpy() == "Pendirian"), "Disetujui", "Ditolak")
    needs = np.isin(d["layanan"].to_numpy(), ["Pendirian", "Evaluasi Status"])
    p_ok = np.array([d.recommendation for d in w.districts])[regency_idx]
    ok = rng.random(n) < np.where(needs, p_ok, 0.3)
    reason = np.where(ok, "", rng.choice(np.array(list(LICENSING_REASONS)),
                                         n, p=[0.5, 0.15, 0.15, 0.2]))
    day = (decided - cal.first(month)).astype(int)
    # A letter issued after the decision must still fall in the same month.
    reason = np.where((reason == "tidak_berlaku") & (day >= cal.days(month) - 1), "tidak_ada", reason)
    # Letters: one per decision that cites a real letter.
    issued = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    valid_to = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    letter_coop = coop.copy()
    good = reason == ""
    issued[good] = decided[good] - (rng.random(good.sum()) * (day[good] + 1)).astype(int)
    valid_to[good] = issued[good] + 180
    late = reason == "tidak_berlaku"
    issued[late] = decided[late] + 1 + (rng.random(late.sum()) * (cal.days(month[late]) - day[late] - 2)).astype(int)
    valid_to[late] = issued[late] + 180
    other = np.flatnonzero(reason == "koperasi_lain")
    issued[other] = decided[other] - (rng.random(len(other)) * (day[other] + 1)).astype(int)
    valid_to[other] = issued[other] + 180
    letter_coop[other] = _other_coop(c, regency_idx[other], coop[other], rng)
    has_letter = ~np.isnat(issued)
    # Letters issued to cooperatives that did not cite them (yet).
    spare_m = rng.integers(0, N, max(1, len(c) // 150 * N))
    spare_coop = rng.integers(0, len(c), len(spare_m))
    spare_issued = cal.random_day(rng, spare_m)
    letter_frame = pd.DataFrame({
        "coop_idx": np.concatenate([letter_coop[has_letter], spare_coop]),
        "issued": np.concatenate([issued[has_letter], spare_issued]),
        "valid_to": np.concatenate([valid_to[has_letter], spare_issued + 180]),
        "decision": np.concatenate([np.flatnonzero(has_letter), np.full(len(spare_m), -1)]),
    })
    letter_frame = letter_frame[letter_frame["issued"] >= cal.first(0)].reset_index(drop=True)
    letter_frame["branch"] = [w.geo.branch_of[r] for r in c["regency"].to_numpy()[letter_frame["coop_idx"].to_numpy()]]
    seq = np.arange(len(letter_frame)) + 1
    letter_frame["no_rekomendasi"] = [f"B/{s:05d}/REK/{b}/{str(i)[5:7]}/{str(i)[:4]}"
                                      for s, b, i in zip(seq, letter_frame["branch"], letter_frame["issued"])]
    letter_frame["month"] = cal.month_of(_days(letter_frame["issued"]))
    emp = w.employers
    npp_of = pd.Series(emp["npp"].to_numpy(), index=emp["coop_idx"].to_numpy())
    npp_of = npp_of[npp_of.index >= 0]
    letter_frame["npp"] = npp_of.reindex(letter_frame["coop_idx"].to_numpy()).to_numpy()
    w.letters = letter_frame
    cited = np.full(n, None, dtype=object)
    by_decision = letter_frame[letter_frame["decision"] >= 0]
    cited[by_decision["decision"].to_numpy()] = by_decision["no_rekomendasi"].to_numpy()
    unknown = reason == "tidak_dikenal"
    cited[unknown] = [f"B/{s:05d}/REK/X{r[:2]}/{str(t)[5:7]}/{str(t)[:4]}" for s, r, t in
                      zip(rng.integers(90000, 99999, unknown.sum()), c["regency"].to_numpy()[coop[unknown]], decided[unknown])]
    d["cited"] = cited
    d["hasil"] = hasil
    d["reason"] = np.where(needs & (hasil == "Disetujui"), reason, "")
    d["month"] = month
    d["submitted"] = decided - rng.integers(3, 30, n)
    d["no_keputusan"] = [f"{i + 1:06d}/KEP/DEP.1/{str(t)[:4]}" for i, t in enumerate(decided)]
    d["updated_on"] = decided
    d["version"] = 0
    d["final"] = True
    # Corrections re-send a decision a few days later, within the month; the earlier version differs.
    fixable = (day <= 20) & (rng.random(n) < 0.06)
    fix = d[fixable].copy()
    orig = fix.copy()
    orig["cited"] = np.where(orig["cited"].isna(), "B/00000/REK/SALAH", None)
    orig["final"] = False
    fix["updated_on"] = _days(fix["decided"]) + rng.integers(1, 6, len(fix))
    fix["version"] = 1
    w.decisions = pd.concat([d[~fixable], orig, fix], ignore_index=True).sort_values(
        ["updated_on", "no_keputusan", "version"], kind="stable").reset_index(drop=True)


def _other_coop(c: pd.DataFrame, regency_idx: np.ndarray, coop: np.ndarray, rng) -> np.ndarray:
    reg = c["regency_idx"].to_numpy()
    order = np.argsort(reg, kind="stable")
    lo = np.searchsorted(reg[order], regency_idx, "left")
    hi = np.searchsorted(reg[order], regency_idx, "right")
    pick = order[lo + (rng.random(len(coop)) * (hi - lo)).astype(int)]
    return np.where(pick == coop, order[np.where(lo + 1 < hi, lo + 1, lo)], pick)
