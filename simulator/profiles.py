"""Sizes of the generated world: the seed districts and the national totals (see shared domain notes).

Every count is multiplied by `--scale`. The seed profile keeps the cooperatives of each district as the
regional reports give them; its general workforce, UMKM and KUR flows are a sample (about 1 in 20) so
that the demo stays quick. Rates are shares, not counts, and are not scaled.
"""
from __future__ import annotations

from dataclasses import dataclass

from ingestion import regions


@dataclass(frozen=True)
class District:
    regency: str            # PP.KK
    coops: int              # cooperatives in the registry
    active_share: float     # share of them with status Aktif
    employer_share: float   # share of active cooperatives registered as BPJS employers
    workforce: int          # active participants outside the cooperatives
    umkm: int               # businesses in the UMKM registry
    kur_per_month: int      # KUR facilities disbursed per month
    coverage: float         # regional coverage factor (1 = national average)
    recommendation: float   # share of founding/evaluation approvals citing a valid BPJS recommendation


# Kab. Kolaka: ~400 cooperatives, ~170 active, ~10% of active registered; ~4k UMKM in the database.
# Kab. Probolinggo: 785 cooperatives, 620 active. Kota Tangerang Selatan: ~80 registered cooperatives.
SEED_DISTRICTS = (
    District("35.13", 785, 620 / 785, 0.15, 6_000, 4_000, 160, 0.9, 0.55),
    District("74.01", 400, 170 / 400, 0.10, 2_000, 4_000, 60, 0.7, 0.9),   # Kolaka requires the letter
    District("36.74", 560, 380 / 560, 80 / 380, 15_000, 6_000, 150, 1.2, 0.7),
    District("33.11", 450, 330 / 450, 0.12, 6_000, 4_000, 120, 1.0, 0.6),
    District("35.78", 1_900, 1_300 / 1_900, 0.20, 30_000, 12_000, 300, 1.3, 0.75),
)

# National totals at scale 1 (ODS 2022/2023, BPJS-TK Feb 2025, Kemnaker, OSS NIB growth, KUR 2023-24).
NATIONAL = dict(
    coops=200_000,              # registry incl. inactive and dissolved; ~130k active
    active_share=0.65,
    employer_share=0.10,        # 9,982 of 130k in 2020 (8.1%), rising
    workforce=41_400_000,       # active participants
    umkm=9_000_000,             # businesses with an NIB in the UMKM registry
    kur_per_month=420_000,      # ~5M facilities a year
)
EMPLOYERS_PER_WORKER = 840_000 / 41_400_000
INACTIVE_PARTICIPANT_SHARE = 0.32   # 19.5M of 61M registered are inactive
SEGMENT_SHARES = {"PU": 0.615, "BPU": 0.23, "JAKON": 0.135, "PMI": 0.02}
# Himbara shares of KUR facilities and how diligently each bank enrols mandatory borrowers.
BANKS = {"BRI": (0.65, 0.85), "BNI": (0.13, 0.70), "MANDIRI": (0.15, 0.78), "BTN": (0.07, 0.55)}
# KUR schemes: share of facilities, ceiling range in Rupiah (exclusive low, inclusive high), rate range.
SCHEMES = {
    "KUR Super Mikro": (0.15, 1_000_000, 10_000_000, (3.0, 3.0)),
    "KUR Mikro": (0.63, 10_000_000, 100_000_000, (6.0, 9.0)),
    "KUR Kecil": (0.16, 100_000_000, 500_000_000, (6.0, 9.0)),
    "KUR PMI": (0.01, 5_000_000, 100_000_000, (6.0, 6.0)),
    "KUR Khusus": (0.05, 20_000_000, 500_000_000, (6.0, 6.0)),
}
MANDATORY_SCHEMES = ("KUR Kecil", "KUR Khusus")
MANDATORY_PLAFON = 100_000_000


def districts(profile: str, scale: float, seed: int) -> list[District]:
    """The districts of a profile with their counts scaled."""
    import numpy as np

    if profile == "seed":
        base = SEED_DISTRICTS
    elif profile == "national":
        rng = np.random.default_rng([seed, 7])
        codes = sorted(regions.regencies())
        weight = rng.lognormal(0.0, 0.8, len(codes))
        weight /= weight.sum()
        coverage = np.clip(rng.normal(1.0, 0.25, len(codes)), 0.4, 1.6)
        recommendation = rng.beta(4, 3, len(codes))
        n = NATIONAL
        base = tuple(
            District(code, n["coops"] * w, n["active_share"], n["employer_share"],
                     n["workforce"] * w, n["umkm"] * w, n["kur_per_month"] * w, float(c), float(r))
            for code, w, c, r in zip(codes, weight, coverage, recommendation)
        )
    else:
        raise ValueError(f"unknown profile {profile!r}: use seed or national")
    return [
        District(d.regency, _count(d.coops * scale), d.active_share, d.employer_share,
                 _count(d.workforce * scale), _count(d.umkm * scale), _count(d.kur_per_month * scale),
                 d.coverage, d.recommendation)
        for d in base
    ]


def _count(x: float) -> int:
    return int(round(x))


# Per district: the counts that must not all round to zero (the world needs at least one of each).
COUNTED = {"coops": "koperasi", "workforce": "tenaga kerja", "umkm": "UMKM", "kur_per_month": "fasilitas KUR"}


class ScaleTooSmall(ValueError):
    """At this scale some kind of entity rounds to zero in every district: refused, with the minimum."""


def check_scale(profile: str, scale: float, seed: int) -> None:
    scaled = districts(profile, scale, seed)
    empty = [label for field, label in COUNTED.items() if not sum(getattr(d, field) for d in scaled)]
    if empty:
        raise ScaleTooSmall(f"skala {scale:g} terlalu kecil untuk profil {profile}: tidak ada {', '.join(empty)}; "
                            f"pakai --scale {minimum_scale(profile, seed):g} atau lebih")


def minimum_scale(profile: str, seed: int) -> float:
    """The smallest scale (four decimals, as the CLI takes it) at which every kind of entity exists:
    a bisection, since every count grows with the scale."""
    def enough(scale: float) -> bool:
        scaled = districts(profile, scale, seed)
        return all(sum(getattr(d, f) for d in scaled) for f in COUNTED)

    lo, hi = 0, 10_000  # in units of 0.0001
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid / 10_000) else (mid, hi)
    return hi / 10_000
