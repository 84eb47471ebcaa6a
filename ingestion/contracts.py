"""Typed access to `contracts.yml`: feeds, formats, and which contract a delivered file falls under."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath

import yaml

# A corrected file (`_v2`) or a copy the sender's tool numbered (` (1)`) keeps its family.
_VARIANT = r"(?P<variant>_v\d+| \(\d+\))?"
_LABEL_NOISE = re.compile(r"[^0-9a-z]")


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

    @property
    def stored_as(self) -> str | None:
        """Name of the column in the raw table: NIKs become tokens, personal names stay in the vault."""
        if not self.personal:
            return self.name
        return f"{self.name}_token" if self.type == "nik" else None


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

    def label_index(self) -> dict[str, str]:
        """Normalised header label -> column name."""
        index = {}
        for col in self.columns.values():
            for label in (col.name, *col.labels):
                index[normalise_label(label)] = col.name
        return index


@dataclass(frozen=True)
class Format:
    name: str
    kind: str                      # csv | xlsx | jsonl
    delimiter: str = ","
    encoding: str = "utf-8"        # utf-8 | auto
    bom: str = "no"                # no | allowed | expected
    gzip: bool = False
    dates: tuple[str, ...] = ("%Y-%m-%d",)
    decimal: str = "."
    regions: str = "dotted"        # dotted | undotted
    sheet: str | None = None
    number_column: str | None = None
    closing: dict | None = None
    trailer: dict | None = None
    control_file: dict | None = None
    control_line: dict | None = None
    paths: dict | None = None


@dataclass(frozen=True)
class Family:
    """One `deliveries` entry: a sender's files of one or more feeds in one folder."""
    sender: str
    unit: str
    folder: str
    name: str
    format: str
    feed: str | None = None


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


@dataclass
class Contracts:
    feeds: dict[str, Feed]
    formats: dict[str, Format]
    families: list[Family]
    snapshot_min_ratio: float
    sources: dict[str, dict] = field(default_factory=dict)
    _patterns: list = field(default_factory=list, repr=False)

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
    text = resources.files("ingestion").joinpath("contracts.yml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    feeds = {}
    shared = raw.get("labels", {})
    for name, spec in raw["feeds"].items():
        cols = {c: Column(c, s["type"], tuple(s.get("labels", ())) + tuple(shared.get(c, ())), s.get("personal", False),
                          s.get("not_future", False), s.get("not_before"), s.get("limits_by"),
                          tuple(s["values"]) if "values" in s else None)
                for c, s in spec["columns"].items()}
        feeds[name] = Feed(name, spec["source"], raw["sources"][spec["source"]]["schema"], spec["kind"],
                           tuple(spec["key"]), cols)
    formats = {}
    for name, spec in raw["formats"].items():
        spec = dict(spec, dates=tuple(spec.get("dates", ("%Y-%m-%d",))))
        formats[name] = Format(name=name, **spec)
    families = [Family(**d) for d in raw["deliveries"]]
    return Contracts(feeds, formats, families, float(raw["snapshot_min_ratio"]), raw["sources"],
                     [_compile(f) for f in families])
