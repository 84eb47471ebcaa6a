"""Typed access to `contracts.yml`: feeds, formats, and which contract a delivered file falls under."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath

import yaml

from . import contract_schema

# A corrected file (`_v2`) or a copy the sender's tool numbered (` (1)`) keeps its family.
_VARIANT = r"(?P<variant>_v\d+| \(\d+\))?"
_LABEL_NOISE = re.compile(r"[^0-9a-z]")
# The raw column of a person feed's row that holds its vault key: one NIK and spelling of the name
# (pseudonym.identities); the vault keeps each once (vault.identity).
IDENTITY = "_identity"


def normalise_label(label: str) -> str:
    """`NO. KPJ`, `No KPJ` and `no_kpj` are one label: lower case, letters and digits only."""
    return _LABEL_NOISE.sub("", str(label).lower())


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    labels: tuple[str, ...]
    personal: bool = False
    not_future: bool = False
    not_before: str | None = None
    limits_by: dict | None = None
    values: tuple[str, ...] | None = None
    required: bool = False         # a blank value quarantines the row (`value_missing`)
    stands_in_for: str | None = None   # the key column this one replaces in the key where that is blank
    # Problems (reason codes) that empty this value, logged as a repair with that reason, instead of
    # setting the row aside: the value says nothing about who the row is or whether it counts.
    empty_on: tuple[str, ...] = ()

    @property
    def stored_as(self) -> str | None:
        """Name of the column in the raw table: NIKs become tokens, personal names stay in the vault (a name
        that stands in for a blank key column is stored as a token too, where it does)."""
        if not self.personal:
            return self.name
        return f"{self.name}_token" if self.type == "nik" or self.stands_in_for else None

    @property
    def bad_date_flag(self) -> str | None:
        """Raw column that marks a NIK whose birth-date part is impossible: the row loads, flagged, because
        the person behind it is real and can still be found (by a one-keystroke slip, or by name, birth
        date and region)."""
        return f"{self.name}_bad_date" if self.type == "nik" else None


@dataclass(frozen=True)
class Feed:
    name: str
    source: str
    schema: str
    kind: str                      # snapshot | increment
    key: tuple[str, ...]
    columns: dict[str, Column]

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def nik_column(self) -> Column | None:
        return next((c for c in self.columns.values() if c.type == "nik" and c.personal), None)

    @property
    def name_column(self) -> Column | None:
        return next((c for c in self.columns.values() if c.type == "text" and c.personal), None)

    @property
    def stand_ins(self) -> dict[str, Column]:
        """Key column -> the column that takes its place in the key where it is blank."""
        return {c.stands_in_for: c for c in self.columns.values() if c.stands_in_for}

    @property
    def key_columns(self) -> tuple[str, ...]:
        """What tells a row from another: the key, and the columns that stand in for its blank parts."""
        return self.key + tuple(c.name for c in self.stand_ins.values())

    def label_index(self) -> dict[str, str]:
        """Normalised header label -> column name."""
        index = {}
        for col in self.columns.values():
            for label in (col.name, *col.labels):
                index[normalise_label(label)] = col.name
        return index


class Format(contract_schema.FormatSpec):
    """A file format of contracts.yml's `formats`, validated (`contract_schema.FormatSpec`), with its name."""
    name: str


# One `deliveries` entry: a sender's files of one or more feeds in one folder.
Family = contract_schema.DeliverySpec


@dataclass(frozen=True)
class Match:
    """What a delivered file is, read from its path."""
    path: str                      # relative to the landing folder, POSIX style
    sender: str
    unit: str
    feed: Feed
    format: Format
    period: str
    variant: str = ""

    @property
    def family_key(self) -> str:
        """Files of one family and period replace each other (a corrected file supersedes)."""
        return f"{self.sender}/{self.unit}/{self.feed.name}"


class PeriodProblem(ValueError):
    """A file name's period no calendar has (`rejected`) or outside the accepted window (`held`).

    Same attributes as `readers.FileProblem` (kind = reason code, message in Bahasa Indonesia, status)."""

    def __init__(self, kind: str, message: str, status: str):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


@dataclass(frozen=True)
class PeriodWindow:
    """Periods a file name may carry: from `earliest` (YYYY-MM, the project's first month) to
    `months_ahead` months after the current month."""
    earliest: str = "2020-01"
    months_ahead: int = 1


@dataclass(frozen=True)
class InflateLimits:
    """How far a gzipped file may inflate while read: at most `max_bytes`, and at most `max_ratio` times
    its compressed size once it passes `ratio_floor` bytes (a small file is never a bomb)."""
    max_bytes: int = 16 << 30
    max_ratio: float = 200.0
    ratio_floor: int = 64 << 20

    def limit(self, compressed: int) -> int:
        return int(min(self.max_bytes, max(self.ratio_floor, self.max_ratio * compressed)))


def _month(year: int, month: int) -> int:
    return year * 12 + month - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class Contracts:
    feeds: dict[str, Feed]
    formats: dict[str, Format]
    families: list[Family]
    snapshot_min_ratio: float
    sources: dict[str, dict] = field(default_factory=dict)
    _patterns: list = field(default_factory=list, repr=False)
    periods: PeriodWindow = field(default_factory=PeriodWindow)
    inflate: InflateLimits = field(default_factory=InflateLimits)

    def check_period(self, period: str, today: date | None = None) -> None:
        """Raise `PeriodProblem` for a period no calendar has (`period_invalid`, rejected) or one outside
        the window of `periods:` (`period_out_of_window`, held); return None for a period that may load.

        `period` is `YYYYMM` or `YYYYMMDD` as `match()` read it from the file name."""
        if not re.fullmatch(r"\d{6}|\d{8}", period or ""):
            raise PeriodProblem("period_invalid", f"periode {period!r} pada nama berkas bukan YYYYMM atau YYYYMMDD; "
                                                  f"minta pengirim mengirim ulang dengan nama baku", "rejected")
        year, month = int(period[:4]), int(period[4:6])
        if not 1 <= month <= 12:
            raise PeriodProblem("period_invalid", f"periode {period} pada nama berkas tidak mungkin: bulan {month:02d} "
                                                  f"tidak ada; minta pengirim mengirim ulang dengan periode yang "
                                                  f"benar di nama berkas", "rejected")
        if len(period) == 8:
            try:
                date(year, month, int(period[6:]))
            except ValueError:
                raise PeriodProblem("period_invalid", f"periode {period} pada nama berkas tidak mungkin: tanggal "
                                                      f"{period[6:]} tidak ada di bulan {month:02d}/{year}; minta "
                                                      f"pengirim mengirim ulang dengan tanggal yang benar",
                                    "rejected") from None
        today = today or date.today()
        first = _month(int(self.periods.earliest[:4]), int(self.periods.earliest[5:7]))
        last = _month(today.year, today.month) + self.periods.months_ahead
        if not first <= _month(year, month) <= last:
            raise PeriodProblem(
                "period_out_of_window",
                f"periode {period} pada nama berkas di luar rentang yang diterima ({_month_text(first)} s.d. "
                f"{_month_text(last)}), kemungkinan salah ketik; berkas ditahan agar tidak dianggap kiriman "
                f"terbaru. Jika nama salah, minta pengirim mengirim ulang dengan periode yang benar; jika benar, "
                f"ubah `periods:` di ingestion/contracts.yml lalu `sinergi release`", "held")

    def match(self, path: str) -> Match | None:
        """The contract a landing path falls under, or None for a file no contract describes."""
        p = PurePosixPath(path)
        for family, folder_re, name_re in self._patterns:
            folder = folder_re.fullmatch(str(p.parent))
            name = name_re.fullmatch(p.name)
            if not (folder and name):
                continue
            parts = {**folder.groupdict(), **{k: v for k, v in name.groupdict().items() if v is not None}}
            if "unit" in folder.groupdict() and parts.get("unit") != folder.group("unit"):
                continue  # a branch's file in another branch's folder
            feed = self.feeds[family.feed or parts["feed"]]
            unit = family.unit.format(unit=parts.get("unit", ""))
            return Match(str(p), family.sender, unit, feed, self.formats[family.format], parts["period"],
                         parts.get("variant") or "")
        return None


def _compile(family: Family):
    folder = re.escape(family.folder).replace(r"\{unit\}", "(?P<unit>[^/]+)")
    stem, ext = _split_extension(family.name)
    return family, re.compile(folder), re.compile(stem + _VARIANT + ext)


def _split_extension(name_re: str) -> tuple[str, str]:
    """`koperasi_(?P<period>\\d{8})\\.csv` -> (`koperasi_(?P<period>\\d{8})`, `\\.csv`)."""
    at = name_re.index(r"\.")
    return name_re[:at], name_re[at:]


@lru_cache(maxsize=1)
def load() -> Contracts:
    """contracts.yml, validated (`contract_schema`: unknown keys and dangling names are refused)."""
    text = resources.files("ingestion").joinpath("contracts.yml").read_text(encoding="utf-8")
    return build(contract_schema.validate(yaml.safe_load(text)))


def build(spec: contract_schema.ContractsSpec) -> Contracts:
    feeds = {}
    for name, feed in spec.feeds.items():
        cols = {c: Column(c, s.type, tuple(s.labels) + tuple(spec.labels.get(c, ())), s.personal, s.not_future,
                          s.not_before, s.limits_by.model_dump() if s.limits_by else None,
                          tuple(s.values) if s.values is not None else None, s.required, s.stands_in_for,
                          tuple(s.empty_on))
                for c, s in feed.columns.items()}
        feeds[name] = Feed(name, feed.source, spec.sources[feed.source].schema_, feed.kind, tuple(feed.key), cols)
    formats = {name: Format.model_validate({**f.model_dump(exclude_unset=True), "name": name})
               for name, f in spec.formats.items()}
    families = list(spec.deliveries)
    return Contracts(feeds, formats, families, spec.snapshot_min_ratio,
                     {k: v.model_dump(by_alias=True) for k, v in spec.sources.items()},
                     [_compile(f) for f in families], periods=_periods(spec.periods.model_dump()),
                     inflate=_inflate(spec.inflate.model_dump()))


def _periods(spec) -> PeriodWindow:
    """`periods: {earliest: "YYYY-MM", months_ahead: n}`, checked: a typo here must not open the window."""
    if spec is None:
        return PeriodWindow()
    try:
        checked = contract_schema.PeriodsSpec.model_validate(spec)
    except ValueError as exc:
        raise ValueError(f"contracts.yml: periods harus {{earliest: YYYY-MM, months_ahead: 0..24}}, bukan {spec!r} "
                         f"({exc})") from None
    return PeriodWindow(checked.earliest, checked.months_ahead)


def _inflate(spec) -> InflateLimits:
    """`inflate: {max_gb: n, max_ratio: r}`, checked."""
    if spec is None:
        return InflateLimits()
    try:
        checked = contract_schema.InflateSpec.model_validate(spec)
    except ValueError as exc:
        raise ValueError(f"contracts.yml: inflate harus {{max_gb: >= 0.001, max_ratio: >= 2}}, bukan {spec!r} "
                         f"({exc})") from None
    return InflateLimits(max_bytes=int(checked.max_gb * (1 << 30)), max_ratio=float(checked.max_ratio))
