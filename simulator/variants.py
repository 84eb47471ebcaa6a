"""Identity variants: the ways real records write the same person differently (issue 17, item 6).

Unlike the other row defects, a variant belongs to a record, not to a file: the ministry's registry and
the banks keep a name, NIK or birth date as a clerk first typed it, so every delivery of that record
carries the same variant (a weekly snapshot does not respell an officer each week), and the warehouse
sees it whichever delivery it keeps. The plan is made once per world from the clean records;
`defects.Injector.identity` applies it to each delivery and logs every row it changes.

Classes: the name classes of `names.NAME_VARIANTS`; one wrong digit anywhere in the NIK (`nik_slip`,
loaded even where the slip makes the NIK's birth date impossible: the loader flags it); a blank NIK
(`nik_blank`, in every feed whose contract lets the row load without it: for officers the name stands in
for the NIK in the key); a birth-date typo with the NIK intact (`birth_date_typo`).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ingestion import contracts, regions

from . import names
from .defects import DATES_OF_BIRTH, NIK_COLUMNS
from .world import World

NAME_COLUMNS = {"pengurus": "nama_lengkap", "umkm": "nama_pemilik", "kur": "nama_debitur"}
FEEDS = tuple(NAME_COLUMNS)
# Kinds in the order they are planned: the narrow ones first, so the broad ones do not use up their names.
KINDS = ("name_muhammad", "name_word_order", "name_shortened", "name_old_spelling", "name_title",
         "name_degree", "name_patronym", "nik_slip", "nik_blank", "birth_date_typo")
EARLIEST_BIRTH = date(1940, 1, 1)


@dataclass(frozen=True)
class Variant:
    kind: str            # the kind logged
    column: str
    value: object        # as the sender writes it; None is a blank
    recoverable: bool


def plan(w: World, share: float | None, rate: float, rng: np.random.Generator) -> dict[str, dict[str, Variant]]:
    """feed -> record key -> its variant. `share`: the share of each feed's records given a variant
    (spread evenly over the kinds); None: each kind on `rate` of the records, as other defects."""
    if (share is None and rate <= 0) or share == 0:
        return {}
    people = _People(w)
    out = {}
    for feed, recs in _records(w).items():
        kinds = [k for k in KINDS if k != "nik_blank" or blank_loads(feed, NIK_COLUMNS[feed])]
        want = (round(share * len(recs) / len(kinds)) if share is not None
                else max(1, round(rate * len(recs))))
        out[feed] = _plan_feed(feed, recs, kinds, want, people, rng)
    return out


def _plan_feed(feed: str, recs: pd.DataFrame, kinds: list[str], want: int, people: _People,
               rng: np.random.Generator) -> dict[str, Variant]:
    person = recs["person"].to_numpy()
    record_names = pd.Series(people.name[person])
    free = np.ones(len(recs), dtype=bool)
    chosen = {}
    for kind in kinds:
        eligible = free & (names.NAME_VARIANTS[kind][0](record_names) if kind in names.NAME_VARIANTS else True)
        pool = np.flatnonzero(eligible)
        for r in np.sort(rng.choice(pool, min(want, len(pool)), replace=False)):
            v = _make(kind, feed, int(person[r]), recs["latest_birth"].iloc[r], people, rng)
            if v is not None:
                chosen[recs["key"].iloc[r]] = v
                free[r] = False
    return chosen


def _make(kind: str, feed: str, p: int, latest_birth: date, people: _People, rng) -> Variant | None:
    if kind in names.NAME_VARIANTS:
        name = people.name[p]
        written = names.NAME_VARIANTS[kind][1](name, bool(people.female[p]), rng)
        return Variant(kind, NAME_COLUMNS[feed], written, True) if written != name else None
    if kind == "nik_slip":
        nik = slip_nik(people.nik[p], int(rng.integers(1, 17)), rng, people.niks)
        people.niks.add(nik)
        return Variant("nik_slip", NIK_COLUMNS[feed], nik, bool(people.identifiable[p]))
    if kind == "nik_blank":
        return Variant("nik_blank", NIK_COLUMNS[feed], None, bool(people.identifiable[p]))
    typo = birth_date_typo(people.birth_of(p), latest_birth, rng)
    # The NIK still says who it is: recoverable wherever the NIK is intact.
    return Variant("birth_date_typo", DATES_OF_BIRTH[feed], pd.Timestamp(typo), True) if typo else None


class _People:
    """What the plan needs of each person, as plain arrays (indexed by person)."""

    def __init__(self, w: World):
        p = w.persons
        self.name = p["name"].to_numpy(dtype=object)
        self.female = p["female"].to_numpy()
        self.nik = p["nik"].to_numpy(dtype=object)
        # Days, turned into a date only for the few records given a variant (a date object per person
        # was hundreds of MB at national scale).
        self.birth = np.asarray(p["birth"]).astype("datetime64[D]")
        self.niks = set(self.nik)            # a slip never makes another person's NIK
        self.identifiable = identifiable(w)

    def birth_of(self, p: int) -> date:
        return self.birth[p].astype(date)


def identifiable(w: World) -> np.ndarray:
    """Per person: can name + birth date + regency/city find them without the NIK? True where exactly
    one participant has them and it is this person, or (for a person who is no participant) none has."""
    p = w.persons
    # The key (casefolded name, birth date, regency/city) as integer codes: a text key per person cost
    # several strings per person at once, the largest transient of a national world.
    key = pd.DataFrame({"name": pd.factorize(p["name"].str.casefold())[0],
                        "birth": np.asarray(p["birth"]).astype("datetime64[D]").astype(np.int64),
                        "regency": pd.factorize(p["regency"])[0]})
    key_id = key.groupby(["name", "birth", "regency"], sort=False).ngroup().to_numpy()
    participant = np.zeros(len(p), dtype=bool)
    participant[w.participants["person"].to_numpy()] = True
    same = np.bincount(key_id[participant], minlength=key_id.max() + 1 if len(key_id) else 0)[key_id]
    return np.where(participant, same == 1, same == 0)


def _records(w: World) -> dict[str, pd.DataFrame]:
    """Each feed's person records: the key its rows carry, the person, and the latest birth date a typo
    may give (an adult at the start, and born before taking office)."""
    adult = w.cal.first(0).astype("datetime64[D]").astype(date) - timedelta(days=17 * 366)
    p, c, o = w.persons, w.coops, w.officers
    nik = p["nik"].to_numpy(dtype=object)
    start = pd.DatetimeIndex(o["start"]).date
    officers = pd.DataFrame({
        "key": c["nik_koperasi"].to_numpy()[o["coop_idx"].to_numpy()] + "|" + nik[o["person"].to_numpy()]
               + "|" + o["jabatan"].to_numpy(),
        "person": o["person"].to_numpy(),
        "latest_birth": [min(adult, s - timedelta(days=1)) for s in start],
    })
    umkm = pd.DataFrame({"key": w.umkm["nib"].to_numpy(), "person": w.umkm["owner"].to_numpy(),
                         "latest_birth": adult})
    kur = pd.DataFrame({"key": w.kur["id_fasilitas"].to_numpy(), "person": w.kur["person"].to_numpy(),
                        "latest_birth": adult})
    return {"pengurus": officers, "umkm": umkm, "kur": kur}


def blank_loads(feed: str, column: str) -> bool:
    """Whether the loader keeps a row with `column` blank: the contract neither requires it nor keys the
    row by it without a stand-in (a blank it forbids would set the row aside, which is no identity variant)."""
    spec = contracts.load().feeds[feed]
    keyed = column in spec.key and column not in spec.stand_ins
    return not (spec.columns[column].required or keyed)


# --- NIK slips ---------------------------------------------------------------------------------------

def slip_nik(nik: str, position: int, rng: np.random.Generator, taken: set) -> str:
    """`nik` with a wrong digit at `position` (1-16). Prefers a slip that still reads as a real birth date
    in a district that exists, as most slips do; where no digit keeps the date possible (a month of 05 has
    no other tens digit) the NIK's date is impossible, and the loader flags it (`nik_bad_date`)."""
    at = position - 1
    options = [nik[:at] + d + nik[at + 1:] for d in "0123456789" if d != nik[at]]
    options = [o for o in options if o not in taken]
    for fits in (_real_date_and_district, _real_date, possible_nik_date):
        fitting = [o for o in options if fits(o)]
        if fitting:
            return fitting[int(rng.integers(len(fitting)))]
    return options[int(rng.integers(len(options)))]


def possible_nik_date(nik: str) -> bool:
    """The loader's NIK date check (ingestion/values.py `_impossible_nik_date`, which flags the others):
    day 01-31 or 41-71, month 01-12."""
    day, month = int(nik[6:8]), int(nik[8:10])
    return (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def _real_date(nik: str) -> bool:
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    day -= 40 if day > 40 else 0
    year = 1900 + yy if yy > 30 else 2000 + yy
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _real_date_and_district(nik: str) -> bool:
    return _real_date(nik) and regions.dotted(nik[:6]) in regions.wilayah()


# --- birth-date typos --------------------------------------------------------------------------------

def birth_date_typo(birth: date, latest: date, rng: np.random.Generator) -> date | None:
    """One digit of the day, month or year (its last two digits) typed wrong, or day and month swapped:
    still a real date, no earlier than 1940 and no later than `latest`. None if no such typo exists."""
    text = birth.strftime("%Y%m%d")
    typos = {part: [_date(text[:i] + d + text[i + 1:]) for i in positions for d in "0123456789" if d != text[i]]
             for part, positions in (("year", (2, 3)), ("month", (4, 5)), ("day", (6, 7)))}
    typos["swap"] = [_date(text[:4] + text[6:8] + text[4:6])]
    typos = {part: [t for t in ts if t is not None and t != birth and EARLIEST_BIRTH <= t <= latest]
             for part, ts in typos.items()}
    parts = [part for part, ts in typos.items() if ts]
    if not parts:
        return None
    options = typos[parts[int(rng.integers(len(parts)))]]
    return options[int(rng.integers(len(options)))]


def _date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
