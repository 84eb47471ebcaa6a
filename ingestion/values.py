"""Check and clean one chunk of a feed, column by column, vectorised with Arrow.

Every value ends one of four ways: taken as sent, repaired without guessing (a repair record says
what changed), emptied where its contract says a bad value there says nothing about the row's entity
(`empty_on`: a repair record with the reason, the value as sent and nothing after), or its row is
quarantined with a reason code and a message a person understands.
Reason codes for the row problems named in feeds.md are the same words the generator's truth uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import regions
from .contracts import IDENTITY, Column, Feed, Format
from .pseudonym import Pseudonymiser

# Identifier shapes after spaces, dots and dashes are removed (domain.md section 3).
ID_PATTERNS = {"nik": r"^\d{16}$", "nik_koperasi": r"^\d{13,16}$", "nib": r"^\d{13}$", "npwp": r"^\d{15,16}$",
               "kpj": r"^\d{10,15}$", "npp": r"^[0-9A-Z]{8}$"}
ID_NAMES = {"nik": "NIK", "nik_koperasi": "NIK koperasi", "nib": "NIB", "npwp": "NPWP", "kpj": "KPJ", "npp": "NPP"}
_EXCEL_NUMBER = r"^\d(\.\d+)?[eE]\+?\d+$"
_SEPARATORS = r"[\s.\-]"
_NPWP_DOTTED = r"^\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}$"
_DOTTED_REGION = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
# Year-first dates cannot be misread: accepted (and logged as a repair) whatever the sender declares.
_YEAR_FIRST = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
_TIMESTAMPS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
# Amount shapes: the sender's own, and the other convention (a repair when unambiguous).
_AMOUNT_OWN = {",": r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$", ".": r"^-?\d+(\.\d+)?$"}
_AMOUNT_OTHER = {",": r"^-?\d{1,3}(,\d{3})+(\.\d+)?$", ".": r"^-?\d{1,3}(\.\d{3})+(,\d+)?$|^-?\d{1,3}(,\d{3})+(\.\d+)?$"}
# More than this share of a chunk's rows outside a column's `values:` list (and more than one row) is a
# vocabulary change by the sender (a contract change, judged per batch by the expectation suite), not
# that many bad rows.
VOCABULARY_CHANGE_SHARE = 0.1


@dataclass
class Checked:
    """The outcome for one chunk."""
    table: pa.Table                         # rows that load, columns as stored (tokens, no names)
    lines: np.ndarray                       # their line numbers
    quarantined: list[tuple] = field(default_factory=list)   # (line, reason, column, message)
    repairs: list[tuple] = field(default_factory=list)       # (line, column, kind, before, after)
    vault: pa.Table | None = None                    # identity, nik_token, nik, nama (one per row)
    amounts: dict[str, float] = field(default_factory=dict)  # sums over every row as sent (control totals)


class Problems:
    """The first problem of each row wins; later checks do not overwrite it."""

    def __init__(self, lines: np.ndarray):
        self.lines = lines
        self.reason = np.full(len(lines), None, dtype=object)
        self.column = np.full(len(lines), None, dtype=object)
        self.message = np.full(len(lines), None, dtype=object)

    def flag(self, mask, reason: str, column: str | None, message) -> None:
        """message: text, or a function of the row's value array positions -> texts."""
        m = _np_mask(mask) & (self.reason == None)  # noqa: E711 - elementwise
        if not m.any():
            return
        self.reason[m], self.column[m] = reason, column
        self.message[m] = message(np.flatnonzero(m)) if callable(message) else message

    @property
    def ok(self) -> np.ndarray:
        return self.reason == None  # noqa: E711


def _np_mask(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _clean_text(arr: pa.Array) -> pa.Array:
    """Trim; an empty value is a missing value."""
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def mask_identifier(value: str | None) -> str | None:
    """Enough of a personal identifier to find it, not enough to use it: `3513********0001`."""
    if value is None:
        return None
    v = str(value)
    return v if len(v) <= 8 else v[:4] + "*" * (len(v) - 8) + v[-4:]


def _is_known_region(dotted: pa.Array) -> pa.Array:
    """Membership in the 90 thousand current codes through a Python set made once per process: Arrow's
    `is_in` builds its hash table of the codes on every call (about 50 ms), which was most of the cost of
    a small file; a set lookup costs well under a microsecond a row."""
    known = regions.known_codes()
    return pa.array([v in known for v in dotted.to_pylist()], pa.bool_())


class ChunkChecker:
    """Checks chunks of one file: knows its feed, format, period and pseudonymiser."""

    def __init__(self, feed: Feed, fmt: Format, period_end: date, pseudonymiser: Pseudonymiser):
        self.feed, self.fmt, self.period_end, self.pseudo = feed, fmt, period_end, pseudonymiser
        self.old_regencies = regions.code_changes()

    def check(self, lines: np.ndarray, raw: dict[str, pa.Array]) -> Checked:
        problems = Problems(lines)
        values: dict[str, pa.Array] = {}
        repairs: list[tuple] = []
        amounts: dict[str, float] = {}
        empty_row = np.ones(len(lines), dtype=bool)
        for name, col in self.feed.columns.items():
            arr = _clean_text(raw[name])
            empty_row &= _np_mask(pc.is_null(arr))
            values[name] = getattr(self, f"_{_family(col.type)}")(col, arr, problems, repairs, lines)
            if col.bad_date_flag:
                values[col.bad_date_flag] = _impossible_nik_date(values[name])
            if col.type == "amount":
                amounts[name] = _lenient_sum(arr, self.fmt.decimal)
        problems.flag(empty_row, "empty_line", None, "baris kosong")
        self._rows(values, problems, repairs, lines)
        return self._outcome(lines, raw, values, problems, repairs, amounts)

    # --- columns ---------------------------------------------------------------------------------
    def _identifier(self, col: Column, arr, problems: Problems, repairs, lines):
        if _all_shaped(arr, ID_PATTERNS[col.type]) and not (col.type == "npp" and _any(arr, _EXCEL_NUMBER)):
            return arr   # every value already has its shape (most chunks): nothing to clean, repair or flag
        label = ID_NAMES[col.type]
        shown = mask_identifier if col.personal else (lambda v: v)
        excel = pc.match_substring_regex(arr, _EXCEL_NUMBER)
        problems.flag(excel, "id_excel_number", col.name,
                      f"{label} tersimpan sebagai angka oleh Excel (digit hilang); minta pengirim mengirim sebagai teks")
        cleaned = pc.replace_substring_regex(pc.utf8_upper(arr), _SEPARATORS, "")
        changed = pc.and_(pc.not_equal(arr, cleaned), pc.invert(excel))
        if col.type == "npwp":
            changed = pc.and_(changed, pc.invert(pc.match_substring_regex(arr, _NPWP_DOTTED)))
        _log_repairs(repairs, lines, changed, col.name, "id_separators", arr, cleaned, shown)
        bad = pc.invert(pc.match_substring_regex(cleaned, ID_PATTERNS[col.type]))
        bad = pc.and_kleene(bad, pc.is_valid(cleaned))
        if col.type == "nik":
            digits = pc.match_substring_regex(cleaned, r"^\d+$")
            length = pc.utf8_length(cleaned).to_numpy(zero_copy_only=False)
            problems.flag(pc.and_(bad, digits), "nik_length", col.name,
                          lambda at: [f"NIK harus 16 digit, tertulis {n} digit" for n in length[at]])
            problems.flag(bad, "id_invalid", col.name, "NIK memuat karakter selain angka")
            # An impossible birth-date part is not a reason to set the row aside: the person is real, the
            # NIK is kept and flagged (`<column>_bad_date`, see `check`) and matched as a known-wrong NIK.
        else:
            problems.flag(bad, "id_invalid", col.name,
                          lambda at: [f"{label} tidak sah: {shown(v)}" for v in _values(cleaned, at)])
        return cleaned

    def _date(self, col: Column, arr, problems: Problems, repairs, lines):
        parsed = self._dates(arr, self.fmt.dates, col, repairs, lines, problems)
        if col.not_future:
            later = pc.greater(parsed, pa.scalar(self.period_end, pa.date32()))
            problems.flag(later, "date_future", col.name, f"{col.name} sesudah periode berkas ({self.period_end})")
        return parsed

    def _dates(self, arr, declared, col, repairs, lines, problems, kind="date_format"):
        parsed = _strptime(arr, declared[0])
        for fmt in (*declared[1:], *_YEAR_FIRST):
            missing = pc.and_(pc.is_null(parsed), pc.is_valid(arr))
            if not pc.any(missing).as_py():
                break
            again = _strptime(pc.if_else(missing, arr, pa.scalar(None, pa.string())), fmt)
            if fmt not in declared:
                fixed = pc.and_(missing, pc.is_valid(again))
                _log_repairs(repairs, lines, fixed, col.name, kind, arr, pc.cast(again, pa.string()))
            parsed = pc.coalesce(parsed, again)
        failed = pc.and_(pc.is_null(parsed), pc.is_valid(arr))
        problems.flag(failed, "date_invalid", col.name,
                      lambda at: [f"tanggal tidak terbaca: {v!r} (format {declared[0]})" for v in _values(arr, at)])
        return parsed

    def _timestamp(self, col: Column, arr, problems: Problems, repairs, lines):
        parsed = pc.coalesce(*(pc.strptime(arr, format=f, unit="s", error_is_null=True) for f in _TIMESTAMPS))
        failed = pc.and_(pc.is_null(parsed), pc.is_valid(arr))
        problems.flag(failed, "date_invalid", col.name, "cap waktu tidak terbaca (YYYY-MM-DD HH:MM:SS)")
        return parsed

    def _month(self, col: Column, arr, problems: Problems, repairs, lines):
        iso = pc.replace_substring_regex(arr, r"^(\d{2})/(\d{4})$", r"\2-\1-01")
        parsed = _strptime(iso, "%Y-%m-%d")
        failed = pc.and_(pc.is_null(parsed), pc.is_valid(arr))
        problems.flag(failed, "date_invalid", col.name, "bulan tidak terbaca (format MM/YYYY)")
        if col.not_future:
            later = pc.greater(parsed, pa.scalar(self.period_end, pa.date32()))
            problems.flag(later, "date_future", col.name, f"{col.name} sesudah periode berkas ({self.period_end})")
        return parsed

    def _number(self, col: Column, arr, problems: Problems, repairs, lines):
        own, other = _AMOUNT_OWN[self.fmt.decimal], _AMOUNT_OTHER[self.fmt.decimal]
        if col.type == "int":
            own, other = r"^-?\d+$", r"^-?\d+(\.0+)?$"
        is_own = pc.match_substring_regex(arr, own)
        is_other = pc.and_(pc.invert(is_own), pc.match_substring_regex(arr, other))
        canon = _canonical_number(arr, self.fmt.decimal)
        if col.type == "int":
            canon = pc.replace_substring_regex(arr, r"\.0+$", "")
        elif pc.any(is_other).as_py():
            alt = _canonical_number(arr, "," if self.fmt.decimal == "." else ".")
            alt = pc.if_else(pc.match_substring_regex(arr, r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"),
                             pc.replace_substring(arr, ",", ""), alt)
            _log_repairs(repairs, lines, is_other, col.name, "amount_separator", arr, alt)
            canon = pc.if_else(is_other, alt, canon)
        failed = pc.and_(pc.invert(pc.or_(is_own, is_other)), pc.is_valid(arr))
        problems.flag(failed, "number_invalid", col.name,
                      lambda at: [f"{col.name}: angka tidak terbaca {v!r}" for v in _values(arr, at)])
        canon = pc.if_else(failed, pa.scalar(None, pa.string()), canon)
        number = pc.cast(canon, pa.float64())
        if col.type == "amount":
            problems.flag(pc.less(number, 0), "amount_negative", col.name, f"{col.name} negatif")
        return canon

    def _region(self, col: Column, arr, problems: Problems, repairs, lines):
        if self.fmt.regions == "dotted" and _all_shaped(arr, _DOTTED_REGION):
            dotted, shaped = arr, pc.is_valid(arr)   # as the contract says (most chunks): nothing to re-dot
        else:
            digits = pc.replace_substring(arr, ".", "")
            shaped = pc.match_substring_regex(digits, r"^\d{2}(\d{2}(\d{2}(\d{4})?)?)?$")
            dotted = pc.replace_substring_regex(digits, r"^(\d{2})(\d{2})?(\d{2})?(\d{4})?$", r"\1.\2.\3.\4")
            dotted = pc.replace_substring_regex(dotted, r"\.+$", "")
            if self.fmt.regions == "dotted":
                undotted = pc.and_(pc.and_(shaped, pc.equal(arr, digits)), pc.greater(pc.utf8_length(digits), 2))
                _log_repairs(repairs, lines, undotted, col.name, "region_undotted", arr, dotted)
        prefix = pc.utf8_slice_codeunits(dotted, 0, 5)
        old = pc.is_in(prefix, pa.array(list(self.old_regencies)))
        if pc.any(old).as_py():
            mapped = [None if v is None else self.old_regencies.get(v[:5], v[:5]) + v[5:]
                      for v in dotted.to_pylist()]
            mapped = pa.array(mapped, pa.string())
            _log_repairs(repairs, lines, old, col.name, "region_old_code", arr, mapped)
            dotted = pc.if_else(old, mapped, dotted)
        unknown = pc.and_(pc.is_valid(arr), pc.invert(pc.and_kleene(shaped, _is_known_region(dotted))))
        if "region_unknown" in col.empty_on:
            return _emptied(dotted, unknown, repairs, lines, col.name, "region_unknown", arr)
        problems.flag(unknown, "region_unknown", col.name,
                      lambda at: [f"kode wilayah tidak dikenal: {v!r}" for v in _values(arr, at)])
        return dotted

    def _text(self, col: Column, arr, problems: Problems, repairs, lines):
        return arr

    # --- rows ------------------------------------------------------------------------------------
    def _rows(self, values: dict[str, pa.Array], problems: Problems, repairs, lines) -> None:
        for name, col in self.feed.columns.items():
            if col.not_before:
                early = pc.less(values[name], values[col.not_before])
                problems.flag(early, "date_before_birth", name, f"{name} sebelum {col.not_before}")
            if col.limits_by:
                ceiling = _ceilings(values[col.limits_by["column"]], col.limits_by["max"])
                over = pc.greater(pc.cast(values[name], pa.float64()), ceiling)
                if "amount_out_of_limits" in col.empty_on:
                    values[name] = _emptied(values[name], over, repairs, lines, name, "amount_out_of_limits")
                    continue
                problems.flag(over, "amount_out_of_limits", name,
                              f"{name} melebihi batas {col.limits_by['column']} (Permenko 1/2023)")
        stand_ins = self.feed.stand_ins
        for key in self.feed.key:
            blank = pc.is_null(values[key])
            if key in stand_ins:
                other = stand_ins[key].name
                problems.flag(pc.and_(blank, pc.is_null(values[other])), "key_missing", key,
                              f"kunci {key} kosong, dan {other} yang menggantikannya juga kosong")
            else:
                problems.flag(blank, "key_missing", key, f"kunci {key} kosong")
        # What the warehouse's staging tests assert (not_null, accepted_values) is checked here, row by
        # row, from the same contract (tests/unit/test_contract_vs_dbt.py keeps the two equal): a row the
        # warehouse cannot use is set aside with its reason instead of failing the build.
        for name, col in self.feed.columns.items():
            if col.required:
                problems.flag(pc.is_null(values[name]), "value_missing", name,
                              f"{name} wajib diisi tetapi kosong")
            if col.values:
                self._allowed(col, values[name], problems)

    def _allowed(self, col: Column, arr: pa.Array, problems: Problems) -> None:
        """A value outside the contract's list quarantines its row (`value_not_allowed`), unless so many
        rows of the chunk have one that the sender has changed its vocabulary: that is a contract change,
        not bad rows, so the rows load as sent and the expectation suite judges the batch."""
        outside = pc.and_(pc.is_valid(arr), pc.invert(pc.is_in(arr, pa.array(col.values, pa.string()))))
        bad = _np_mask(outside)
        if not bad.any() or bad.sum() > max(1, VOCABULARY_CHANGE_SHARE * len(bad)):
            return
        allowed = ", ".join(col.values)
        problems.flag(bad, "value_not_allowed", col.name,
                      lambda at: [f"{col.name} {v!r} tidak termasuk nilai yang sah menurut kontrak ({allowed})"
                                  for v in _values(arr, at)])

    def _outcome(self, lines, raw, values, problems: Problems, repairs, amounts) -> Checked:
        ok = problems.ok
        bad = np.flatnonzero(~ok)
        quarantined = [(int(lines[i]), problems.reason[i], problems.column[i], problems.message[i]) for i in bad]
        keep = pa.array(ok)
        stored: dict[str, pa.Array] = {}
        vault = None
        nik_col, name_col = self.feed.nik_column, self.feed.name_column
        kept_lines = lines[ok]
        names = values[name_col.name].filter(keep) if name_col else None
        for name, col in self.feed.columns.items():
            v = values[name].filter(keep)
            if col is nik_col:
                tokens = pa.array(self.pseudo.tokens(v.to_pylist()), pa.string())
                stored[col.stored_as] = tokens
                names = names if names is not None else pa.nulls(len(v), pa.string())
                vault = pa.table({"identity": self.pseudo.identities(v, names), "nik_token": tokens, "nik": v,
                                  "nama": names})
            elif col.stands_in_for:
                stored[col.stored_as] = self._stand_in(col, v, values[col.stands_in_for].filter(keep))
            elif col.stored_as:
                stored[name] = v
            if col.bad_date_flag:
                stored[col.bad_date_flag] = values[col.bad_date_flag].filter(keep)
        if vault is not None:
            stored[IDENTITY] = vault["identity"]   # last, as in schema.raw_columns
        ok_repairs = set(kept_lines.tolist())
        repairs = [r for r in repairs if r[0] in ok_repairs]
        return Checked(pa.table(stored), kept_lines, quarantined, repairs, vault, amounts)

    def _stand_in(self, col: Column, value: pa.Array, replaced: pa.Array) -> pa.Array:
        """The key part `col` stands in for, where that is blank (else NULL): the value written the same
        way in every delivery (capitals, single spaces), as a keyed token when personal. The column's name
        goes into the token, so a name's token can never equal a NIK's."""
        same = pc.utf8_upper(pc.replace_substring_regex(value, r"\s+", " "))
        same = pc.if_else(pc.is_null(replaced), same, pa.scalar(None, pa.string()))
        if not col.personal:
            return same
        return pa.array([None if v is None else self.pseudo.token(f"{col.name}:{v}") for v in same.to_pylist()],
                        pa.string())


def _all_shaped(arr: pa.Array, pattern: str) -> bool:
    """Every value (blanks aside) matches `pattern`: the checks that clean and repair have nothing to do."""
    return pc.all(pc.match_substring_regex(arr, pattern)).as_py() is not False


def _any(arr: pa.Array, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(arr, pattern)).as_py())


def _values(arr: pa.Array, at: np.ndarray) -> list:
    return arr.take(pa.array(at)).to_pylist()


def _family(kind: str) -> str:
    if kind in ID_PATTERNS:
        return "identifier"
    if kind in ("amount", "int", "rate"):
        return "number"
    return "text" if kind == "code" else kind


def _strptime(arr: pa.Array, fmt: str) -> pa.Array:
    return pc.cast(pc.strptime(arr, format=fmt, unit="s", error_is_null=True), pa.date32())


def _impossible_nik_date(nik: pa.Array) -> pa.Array:
    sixteen = pc.match_substring_regex(nik, r"^\d{16}$")
    safe = pc.if_else(sixteen, nik, pa.scalar("0000000101000000"))
    day = pc.cast(pc.utf8_slice_codeunits(safe, 6, 8), pa.int16())
    month = pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa.int16())
    day_ok = pc.or_(pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, 31)),
                    pc.and_(pc.greater_equal(day, 41), pc.less_equal(day, 71)))
    month_ok = pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
    # A blank NIK is no NIK with a bad date: false, not unknown.
    return pc.fill_null(pc.and_(sixteen, pc.invert(pc.and_(day_ok, month_ok))), False)


def _canonical_number(arr: pa.Array, decimal: str) -> pa.Array:
    """`1.250.000,00` (decimal comma) or `1250000.00` (decimal point) -> `1250000.00`."""
    if decimal == ",":
        return pc.replace_substring(pc.replace_substring(arr, ".", ""), ",", ".")
    return arr


def _lenient_sum(arr: pa.Array, decimal: str) -> float:
    """Sum of an amount column as sent, whatever its separators (for trailers and closing rows)."""
    text = pc.replace_substring_regex(arr, r"[.,]\d{1,2}$", "")
    digits = pc.replace_substring_regex(text, r"[^\d\-]", "")
    valid = pc.match_substring_regex(digits, r"^-?\d+$")
    number = pc.cast(pc.if_else(valid, digits, pa.scalar(None, pa.string())), pa.float64())
    return float(pc.sum(number).as_py() or 0.0)


def _ceilings(scheme: pa.Array, limits: dict) -> pa.Array:
    names = list(limits)
    idx = pc.index_in(scheme, pa.array(names))
    return pc.take(pa.array([float(limits[n]) for n in names]), idx)


def _emptied(value: pa.Array, mask, repairs: list, lines: np.ndarray, column: str, kind: str,
             before: pa.Array | None = None) -> pa.Array:
    """`value` with the rows of `mask` emptied, each logged as a repair of kind `kind` (the reason, the
    value as sent before, nothing after): for a column whose contract says such a value is emptied
    (`empty_on`) rather than its row set aside. An earlier repair of the same value (an undotted or
    retired region code) is replaced: nothing of it is kept. If the row is set aside for another reason,
    its repair is dropped with it (`_outcome`)."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return value
    gone = set(lines[_np_mask(mask)].tolist())
    repairs[:] = [r for r in repairs if r[1] != column or r[0] not in gone]
    _log_repairs(repairs, lines, mask, column, kind, value if before is None else before,
                 pa.nulls(len(value), pa.string()))
    return pc.if_else(mask, pa.scalar(None, value.type), value)


def _log_repairs(repairs: list, lines: np.ndarray, mask, column: str, kind: str, before: pa.Array,
                 after: pa.Array, shown=lambda v: v) -> None:
    at = np.flatnonzero(_np_mask(mask))
    if not len(at):
        return
    b, a = before.take(pa.array(at)).to_pylist(), after.take(pa.array(at)).to_pylist()
    repairs.extend((int(lines[i]), column, kind, shown(x), shown(y)) for i, x, y in zip(at, b, a))
