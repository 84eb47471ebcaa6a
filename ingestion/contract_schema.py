"""The shape of `contracts.yml`, validated before the loader reads a word of it.

Every mapping forbids keys it does not know, so a misspelt option (`requried: true`, `value:` for
`values:`) stops the loader with the place of the mistake instead of being silently ignored; names that
refer to each other (a feed's source, its key and `not_before` columns, a delivery's format and feed,
a stand-in's key column) must exist. `contracts.load()` builds its dataclasses from the validated model.
"""
from __future__ import annotations

import re
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config import MONTH_PATTERN

# Column types the readers and values.py know (contracts.yml's header lists what each means).
ColumnType = Literal["nik", "nik_koperasi", "nib", "npwp", "kpj", "npp", "code", "text", "date", "timestamp",
                     "month", "amount", "int", "rate", "region"]
# Problems of a value that may empty it (a repair with that reason) instead of setting its row aside
# (`empty_on`), and the column type each belongs to.
EMPTIABLE = {"region_unknown": "region", "amount_out_of_limits": "amount"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Limits(_Strict):
    """Amount ceilings per value of another column (`plafon` by `skema`)."""
    column: str
    max: dict[str, int]  # Rupiah


class ColumnSpec(_Strict):
    type: ColumnType
    labels: list[str] = []
    personal: bool = False
    key_part: bool = False
    not_future: bool = False
    not_before: str | None = None
    limits_by: Limits | None = None
    values: list[str] | None = Field(default=None, min_length=1)
    required: bool = False
    stands_in_for: str | None = None
    empty_on: list[Literal["region_unknown", "amount_out_of_limits"]] = []

    @model_validator(mode="after")
    def _emptiable(self) -> "ColumnSpec":
        if self.empty_on and (self.required or self.personal or self.key_part):
            raise ValueError("empty_on: kolom wajib, kunci atau data pribadi tidak boleh dikosongkan")
        wrong = [r for r in self.empty_on if EMPTIABLE[r] != self.type]
        if wrong:
            raise ValueError(f"empty_on: {', '.join(wrong)} bukan masalah kolom bertipe {self.type}")
        if "amount_out_of_limits" in self.empty_on and not self.limits_by:
            raise ValueError("empty_on: amount_out_of_limits tanpa limits_by")
        return self


class FeedSpec(_Strict):
    source: str
    kind: Literal["snapshot", "increment"]
    key: list[str] = Field(min_length=1)
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_exist(self) -> "FeedSpec":
        named = {"key": self.key}
        for name, col in self.columns.items():
            named[f"{name}.not_before"] = [col.not_before] if col.not_before else []
            named[f"{name}.limits_by"] = [col.limits_by.column] if col.limits_by else []
            if col.empty_on and name in self.key:
                raise ValueError(f"{name}.empty_on: kolom kunci tidak boleh dikosongkan")
            if col.stands_in_for and (col.stands_in_for not in self.key or self.columns[col.stands_in_for].required):
                raise ValueError(f"{name}.stands_in_for {col.stands_in_for!r} bukan kolom kunci yang boleh kosong")
        for where, names in named.items():
            unknown = [n for n in names if n not in self.columns]
            if unknown:
                raise ValueError(f"{where} menyebut kolom yang tidak ada: {', '.join(unknown)}")
        return self


class SourceSpec(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    name: str


class Closing(_Strict):
    label: str
    sums: Union[Literal["all_amounts"], list[str]]


class Trailer(_Strict):
    prefix: str
    fields: list[str]


class ControlFile(_Strict):
    suffix: str
    fields: list[str]


class ControlLine(_Strict):
    key: str
    fields: dict[str, str]


class FormatSpec(_Strict):
    kind: Literal["csv", "xlsx", "jsonl"]
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: Literal["utf-8", "auto"] = "utf-8"
    bom: Literal["no", "allowed", "expected"] = "no"
    gzip: bool = False
    dates: list[str] = Field(default=["%Y-%m-%d"], min_length=1)
    decimal: Literal[".", ","] = "."
    regions: Literal["dotted", "undotted"] = "dotted"
    sheet: str | None = None
    number_column: str | None = None
    closing: Closing | None = None
    trailer: Trailer | None = None
    control_file: ControlFile | None = None
    control_line: ControlLine | None = None
    paths: dict[str, str] | None = None


class DeliverySpec(_Strict):
    sender: str
    unit: str
    folder: str
    name: str
    format: str
    feed: str | None = None

    @field_validator("name")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"bukan ekspresi reguler: {exc}") from None
        if "period" not in compiled.groupindex or r"\." not in value:
            raise ValueError("harus memuat grup (?P<period>...) dan ekstensi berkas (\\.csv, ...)")
        return value


class PeriodsSpec(_Strict):
    earliest: str = Field(default="2020-01", pattern=f"^{MONTH_PATTERN}$")
    months_ahead: int = Field(default=1, ge=0, le=24, strict=True)


class InflateSpec(_Strict):
    max_gb: float = Field(default=16, ge=0.001, strict=True)
    max_ratio: float = Field(default=200, ge=2, strict=True)


class ContractsSpec(_Strict):
    sources: dict[str, SourceSpec] = Field(min_length=1)
    labels: dict[str, list[str]] = {}
    feeds: dict[str, FeedSpec] = Field(min_length=1)
    formats: dict[str, FormatSpec] = Field(min_length=1)
    deliveries: list[DeliverySpec] = Field(min_length=1)
    snapshot_min_ratio: float = Field(gt=0, le=1)
    periods: PeriodsSpec = PeriodsSpec()
    inflate: InflateSpec = InflateSpec()

    @model_validator(mode="after")
    def _references(self) -> "ContractsSpec":
        problems = [f"feeds.{n}.source {f.source!r}" for n, f in self.feeds.items() if f.source not in self.sources]
        for i, d in enumerate(self.deliveries):
            problems += [f"deliveries[{i}].{what} {value!r}" for what, value, known in (
                ("sender", d.sender, self.sources), ("format", d.format, self.formats),
                ("feed", d.feed, self.feeds)) if value is not None and value not in known]
            if d.feed is None and "feed" not in re.compile(d.name).groupindex:
                problems.append(f"deliveries[{i}] tanpa feed dan tanpa grup (?P<feed>...) di name")
        columns = {c for f in self.feeds.values() for c in f.columns}
        problems += [f"labels.{c}" for c in self.labels if c not in columns]
        if problems:
            raise ValueError("merujuk nama yang tidak ada: " + "; ".join(problems))
        return self


class ContractError(ValueError):
    """contracts.yml does not have the shape the loader needs: the message says where, in Bahasa."""


def validate(raw) -> ContractsSpec:
    try:
        return ContractsSpec.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(akar)'}: {_bahasa(e)}" for e in exc.errors())
        raise ContractError(f"contracts.yml tidak sah ({exc.error_count()} masalah): {where}") from None


def _bahasa(error: dict) -> str:
    """Pydantic's message for the common cases in Bahasa; the rest as pydantic says it."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "kunci tidak dikenal (salah ketik?)"
    if kind == "missing":
        return "wajib diisi"
    if kind == "literal_error":
        return f"nilai {error.get('input')!r} tidak dikenal; {error['msg']}"
    return error["msg"]
