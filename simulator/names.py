"""Indonesian names (from Faker's id_ID lists) and the way each agency writes them."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from faker.providers.person.id_ID import Provider as _Person

# Common first names that agencies abbreviate (St. Aminah, M. Rizki) are over-represented on purpose.
_MALE = np.array(list(_Person.first_names_male) + ["Muhammad"] * 40 + ["Ahmad"] * 20 + ["Abdul"] * 10)
_FEMALE = np.array(list(_Person.first_names_female) + ["Siti"] * 40 + ["Sri"] * 20 + ["Nur"] * 10)
_LAST = np.array(sorted(set(_Person.last_names_male) | set(_Person.last_names_female)))
_ABBREVIATIONS = {"Muhammad": "M.", "Siti": "St.", "Ahmad": "Ach.", "Abdul": "Abd."}

COOP_KINDS = {
    # jenis_koperasi -> (long name prefix, abbreviation used by BPJS branches)
    "Konsumen": ("Koperasi Konsumen", "KOPKON"),
    "Produsen": ("Koperasi Produsen", "KOPPROD"),
    "Pemasaran": ("Koperasi Pemasaran", "KOPPAS"),
    "Jasa": ("Koperasi Jasa", "KOPJAS"),
    "Simpan Pinjam": ("Koperasi Simpan Pinjam", "KSP"),
}
_SERBA_USAHA = ("Koperasi Serba Usaha", "KSU")
_COOP_WORDS = np.array([
    "Sumber Rejeki", "Maju Bersama", "Tani Makmur", "Sejahtera", "Mitra Usaha", "Karya Mandiri",
    "Bina Usaha", "Harapan Jaya", "Sido Makmur", "Rukun Santoso", "Mekar Sari", "Sri Rejeki",
    "Berkah Abadi", "Nelayan Sejati", "Usaha Bersama", "Artha Guna", "Wanita Mandiri", "Setia Kawan",
    "Guyub Rukun", "Tunas Harapan", "Amanah", "Al Ikhlas", "Bumi Lestari", "Sinar Baru", "Jaya Abadi",
])
_COMPANY_WORDS = np.array([
    "Maju Jaya", "Sentosa", "Abadi Makmur", "Karya Utama", "Mitra Sejati", "Nusantara", "Cahaya Timur",
    "Prima", "Global Mandiri", "Sinar Jaya", "Bangun Persada", "Surya Kencana", "Mega Perkasa",
])


def person_names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    n = len(female)
    first = np.where(female, rng.choice(_FEMALE, n), rng.choice(_MALE, n))
    last = rng.choice(_LAST, n)
    middle = np.where(rng.random(n) < 0.3, np.where(female, rng.choice(_FEMALE, n), rng.choice(_MALE, n)), "")
    full = pd.Series(first) + np.where(middle == "", "", " " + middle) + " " + pd.Series(last)
    return full.to_numpy(dtype=object)


def agency_person_names(names: np.ndarray, rng: np.random.Generator, style: str) -> np.ndarray:
    """How an agency spells a person's name: BPJS in capitals; banks sometimes abbreviate."""
    s = pd.Series(names, dtype=object)
    if style in ("bpjs", "bank"):
        abbreviate = rng.random(len(s)) < (0.25 if style == "bank" else 0.1)
        # Only the chosen names are shortened: one pass per abbreviation over all names made a new string
        # per name each time (memory at national scale, for names that are thrown away).
        short = s[abbreviate]
        for long, abbr in _ABBREVIATIONS.items():
            short = short.str.replace(rf"^{long}\b", abbr, regex=True)
        s = s.where(~abbreviate, short).str.upper()
    return s.to_numpy(dtype=object)


def coop_names(rng: np.random.Generator, jenis: np.ndarray, regency: np.ndarray,
               village_names: np.ndarray) -> np.ndarray:
    """Cooperative names, unique within their regency (a numeral is added where two would clash)."""
    n = len(jenis)
    serba = rng.random(n) < 0.3
    prefix = np.array([COOP_KINDS[j][0] for j in jenis], dtype=object)
    prefix = np.where(serba, _SERBA_USAHA[0], prefix)
    base = pd.Series(prefix) + " " + pd.Series(rng.choice(_COOP_WORDS, n)) + " " + pd.Series(village_names)
    seq = base.groupby([base, pd.Series(regency)], sort=False).cumcount()
    roman = pd.Series(["", " II", " III", " IV", " V", " VI", " VII", " VIII", " IX", " X"])
    suffix = seq.map(lambda k: roman[k] if k < len(roman) else f" {k + 1}")
    return (base + suffix).to_numpy(dtype=object)


def bpjs_coop_names(names: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A branch writes a cooperative employer in capitals, often with the usual abbreviation."""
    s = pd.Series(names, dtype=object)
    abbreviate = rng.random(len(s)) < 0.5
    short = s.copy()
    for long, abbr in [_SERBA_USAHA, *COOP_KINDS.values()]:
        short = short.str.replace(rf"^{long}\b", abbr, regex=True)
    return s.where(~abbreviate, short).str.upper().to_numpy(dtype=object)


def company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    form = rng.choice(np.array(["PT", "CV", "UD", "PT"]), n)
    words = rng.choice(_COMPANY_WORDS, n)
    seq = rng.integers(1, 999, n)
    return (pd.Series(form) + " " + pd.Series(words) + " " + pd.Series(seq).astype(str)).to_numpy(dtype=object)


def business_names(rng: np.random.Generator, owner_last: np.ndarray) -> np.ndarray:
    kind = rng.choice(np.array(["Warung", "Toko", "Bengkel", "Katering", "Konveksi", "Kerajinan", "Usaha Tani"]),
                      len(owner_last))
    return (pd.Series(kind) + " " + pd.Series(owner_last)).to_numpy(dtype=object)


# --- how records write the same person differently (issue 17) ------------------------------------
# Each class: (applies(name) -> bool mask over a Series, make(name, female, rng) -> the name as written).
# Titles and degrees as Indonesian registries write them; a woman is `Hj.` (hajjah), a man `H.` (haji).
_TITLES_MALE = ("H.", "KH", "Dr.", "Drs.", "Ir.", "Prof.", "Drs. H.", "Prof. Dr.")
_TITLES_FEMALE = ("Hj.", "Dr.", "Dra.", "Ir.", "Prof.", "Dra. Hj.")
_DEGREES = ("S.E.", "S.Kom.", "S.Pd.", "S.H.", "M.M.", "S.T.", "S.Sos.", "S.Ag.", "A.Md.", "S.E., M.M.",
            "S.Pd., M.Pd.", "S.H., M.H.")
# The common Arabic-origin names and how clerks spell or shorten them.
_SPELLINGS = {"Muhammad": ("Moch.", "Moh.", "Mochamad", "Muhamad", "Mohammad", "Muh."),
              "Ahmad": ("Achmad", "Akhmad", "Ahmat"),
              "Siti": ("Sitti", "St.")}
_SPELT = re.compile(r"\b(?:" + "|".join(_SPELLINGS) + r")\b")
# The spelling before the 1972 reform (EYD), applied in one pass so `y -> j` never becomes `dj`.
# `c` before `h` is a modern loan spelling (Michael), not an old `tj`.
_OLD = {"kh": "ch", "sy": "sj", "ny": "nj", "u": "oe", "j": "dj", "c": "tj", "y": "j"}
_OLD_LETTERS = re.compile(r"kh|sy|ny|u|j|c(?!h)|y", re.IGNORECASE)


def _with_title(name: str, female: bool, rng: np.random.Generator) -> str:
    titles = _TITLES_FEMALE if female else _TITLES_MALE
    return f"{titles[int(rng.integers(len(titles)))]} {name}"


def _with_degree(name: str, female: bool, rng: np.random.Generator) -> str:
    return f"{name}, {_DEGREES[int(rng.integers(len(_DEGREES)))]}"


def _with_father(name: str, female: bool, rng: np.random.Generator) -> str:
    father = str(rng.choice(_MALE))
    if rng.random() < 0.3:
        father += " " + str(rng.choice(_LAST))
    return f"{name} {'binti' if female else 'bin'} {father}"


def _respelt(name: str, female: bool, rng: np.random.Generator) -> str:
    def swap(m: re.Match) -> str:
        options = _SPELLINGS[m.group(0)]
        return options[int(rng.integers(len(options)))]
    return _SPELT.sub(swap, name, count=1)


def old_spelling(name: str) -> str:
    """`Yuyun Cahyani` -> `Joejoen Tjahjani`: every letter group the 1972 reform changed, back."""
    def back(m: re.Match) -> str:
        old = _OLD[m.group(0).lower()]
        return old.capitalize() if m.group(0)[0].isupper() else old
    return _OLD_LETTERS.sub(back, name)


def _in_old_spelling(name: str, female: bool, rng: np.random.Generator) -> str:
    return old_spelling(name)


def _reordered(name: str, female: bool, rng: np.random.Generator) -> str:
    """Family or last name first, as some registers sort people."""
    words = name.split()
    return " ".join(words[-1:] + words[:-1])


def _shortened(name: str, female: bool, rng: np.random.Generator) -> str:
    """A middle name dropped, or only one name kept (many Indonesians have a single name)."""
    words = name.split()
    if len(words) >= 3 and rng.random() < 0.5:
        drop = 1 + int(rng.integers(len(words) - 2))
        return " ".join(words[:drop] + words[drop + 1:])
    return words[0] if rng.random() < 0.5 else words[-1]


def _any(names: pd.Series) -> np.ndarray:
    return np.ones(len(names), dtype=bool)


def _several_words(names: pd.Series) -> np.ndarray:
    return names.str.contains(" ", regex=False).to_numpy()


NAME_VARIANTS = {
    # defect kind -> (which names it can apply to, how it rewrites one)
    "name_title": (_any, _with_title),
    "name_degree": (_any, _with_degree),
    "name_patronym": (_any, _with_father),
    "name_muhammad": (lambda s: s.str.contains(_SPELT).to_numpy(), _respelt),
    "name_old_spelling": (lambda s: s.str.contains(_OLD_LETTERS).to_numpy(), _in_old_spelling),
    "name_word_order": (_several_words, _reordered),
    "name_shortened": (_several_words, _shortened),
}
