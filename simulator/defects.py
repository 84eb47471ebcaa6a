"""Inject what real deliveries get wrong (feeds.md, last section), and log every injection.

Each kind says how a careful pipeline ends up with it:
- `repair`: the value or file is fixed without guessing and the row loads;
- `link`: the row loads as sent and identity resolution still finds the entity (name, birth date, region);
- `quarantine`: the row must be set aside;
- `empty`: the row loads with the defective value emptied (NULL), logged as a repair whose kind is the
  defect's: for a kind that quarantines elsewhere but, in the feeds of its `emptied_in`, hits a value that
  says nothing about who the row's person is or whether the row counts (an unknown region of a
  participant, a KUR facility or a business: the row stays in national figures, in no region). The value
  is lost (`recoverable` false), the row is not;
- `reject` / `hold`: the whole file is set aside (a corrected file follows where the kind says so);
- `duplicate`, `supersede`, `order`: a delivery-level event the ledger must handle.
`recoverable` is true where the warehouse can still end with the true content. For the identity kinds
(`variants`) that lose or change the NIK it is decided per record: true only where name + birth date +
regency/city still identify the person among participants.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion import regions

from .feeds import KEYS, Delivery
from .writers import first_data_line

NIK_COLUMNS = {"pengurus": "nik", "umkm": "nik_pemilik", "peserta": "nik", "klaim": "nik", "kur": "nik_debitur"}
ID_COLUMNS = ("nik", "nik_pemilik", "nik_debitur", "nib", "npwp", "kpj", "nik_koperasi", "npp")
AMOUNTS = {"peserta": ["upah"], "iuran": ["total"], "klaim": ["nominal"], "kur": ["plafon"], "umkm": ["omzet_tahunan"]}
DATES_OF_BIRTH = {"pengurus": "tgl_lahir", "peserta": "tgl_lahir", "kur": "tgl_lahir_debitur", "umkm": "tgl_lahir_pemilik"}
STARTS = {"pengurus": "tgl_mulai", "peserta": "tgl_kepesertaan"}


@dataclass(frozen=True)
class Kind:
    name: str
    handling: str
    recoverable: bool | None   # None: decided per record (see the module's docstring)
    level: str = "row"   # row | file
    # Feeds where the row loads with the value emptied (handling `empty`) instead of the kind's handling.
    emptied_in: frozenset = frozenset()

    def handling_in(self, feed: str) -> str:
        """How a careful pipeline handles this kind in a row of `feed`."""
        return "empty" if feed in self.emptied_in else self.handling


KINDS = {k.name: k for k in [
    Kind("id_separators", "repair", True),
    Kind("nik_length", "quarantine", False),
    # A person's NIK with an impossible date part loads, flagged; the person is found by name, birth date
    # and region (a participant's row loads whole).
    Kind("nik_bad_date", "link", True),
    Kind("id_excel_number", "quarantine", False),
    Kind("nik_mistyped", "link", True),
    Kind("name_misspelt", "link", True),
    Kind("region_old_code", "repair", True),
    Kind("region_undotted", "repair", True),
    Kind("region_village", "repair", True),
    # A participant's, a facility's or a business's unknown region is emptied (the person or the facility
    # still counts nationally); a cooperative's, an employer's or a decision's row is still set aside.
    Kind("region_unknown", "quarantine", False, emptied_in=frozenset({"peserta", "kur", "umkm"})),
    Kind("date_format", "repair", True),
    Kind("date_future", "quarantine", False),
    Kind("date_before_birth", "quarantine", False),
    Kind("amount_negative", "quarantine", False),
    Kind("amount_separator", "repair", True),
    Kind("amount_out_of_limits", "quarantine", False),
    Kind("duplicate_key", "quarantine", True),
    Kind("too_many_fields", "quarantine", False),
    Kind("too_few_fields", "quarantine", False),
    # Identity variants (`variants`): every delivery of the record carries the same one.
    Kind("name_title", "link", True),
    Kind("name_degree", "link", True),
    Kind("name_patronym", "link", True),
    Kind("name_muhammad", "link", True),
    Kind("name_old_spelling", "link", True),
    Kind("name_word_order", "link", True),
    Kind("name_shortened", "link", True),
    Kind("nik_slip", "link", None),
    Kind("nik_blank", "link", None),
    Kind("birth_date_typo", "link", True),
    Kind("file_truncated", "reject", True, "file"),
    Kind("file_empty", "reject", True, "file"),
    Kind("trailer_mismatch", "reject", True, "file"),
    Kind("control_missing", "hold", True, "file"),
    Kind("encoding_wrong", "repair", True, "file"),
    Kind("bom", "repair", True, "file"),
    Kind("crlf", "repair", True, "file"),
    Kind("header_renamed", "repair", True, "file"),
    Kind("column_added", "repair", True, "file"),
    Kind("snapshot_shrunk", "hold", True, "file"),
    Kind("duplicate_delivery", "duplicate", True, "file"),
    Kind("corrected_file", "supersede", True, "file"),
    Kind("out_of_order", "order", True, "file"),
]}

LOG_COLUMNS = ["file", "line", "kind", "handling", "recoverable", "sender", "feed", "period", "column", "key", "detail"]


class Injector:
    def __init__(self, deliveries: list[Delivery], rate: float, rng: np.random.Generator, month_ends: set,
                 last_month: bool, first_month: bool = False):
        self.ds, self.rate, self.rng, self.last_month = deliveries, rate, rng, last_month
        self.first_month = first_month
        self.month_ends = month_ends  # ODS snapshot stamps that the metrics read: never broken
        self.log: list[dict] = []
        # delivery index -> [(original row label, kind, column, detail, recoverable or None for the kind's)]
        self.pending: dict[int, list] = {}
        self.copies: dict[int, set] = {}     # delivery index -> labels duplicated
        self.extra: list[Delivery] = []

    # --- row level -----------------------------------------------------------------------------------
    def rows(self) -> None:
        for name, fn in ROW_DEFECTS.items():
            targets = [(i, d) for i, d in enumerate(self.ds) if fn(self, d, None, probe=True)]
            total = sum(len(d.frame) for _, d in targets)
            if not total:
                continue
            want = max(1, int(round(self.rate * total)))
            sizes = np.array([len(d.frame) for _, d in targets], dtype=float)
            per_file = self.rng.multinomial(want, sizes / sizes.sum())
            for (i, d), k in zip(targets, per_file):
                if k:
                    taken = {lab for lab, *_ in self.pending.get(i, [])} | self.copies.get(i, set())
                    free = np.setdiff1d(np.arange(len(d.frame)), np.fromiter(taken, int, len(taken)))
                    fn(self, d, (i, self.rng.choice(free, min(k, len(free)), replace=False)), probe=False)

    def mark(self, i: int, label: int, kind: str, column: str | None, detail: str,
             recoverable: bool | None = None) -> None:
        self.pending.setdefault(i, []).append((int(label), kind, column, detail, recoverable))

    def identity(self, plan: dict) -> None:
        """Give each planned record its identity variant in every delivery that carries it (before the
        other row defects, which then leave these rows alone)."""
        for i, d in enumerate(self.ds):
            planned = plan.get(d.feed)
            if not planned or d.frame.empty:
                continue
            keys = _record_keys(d)
            for label in np.flatnonzero(keys.isin(planned.keys()).to_numpy()):
                v = planned[keys.iat[label]]
                before = d.frame.at[label, v.column]
                after = v.value
                if isinstance(after, str) and isinstance(before, str) and before.isupper():
                    after = after.upper()   # the sender writes names in capitals
                _obj(d, v.column)
                d.frame.at[label, v.column] = after
                self.mark(i, label, v.kind, v.column, f"{_shown(before)} -> {_shown(after)}", v.recoverable)

    def finish_rows(self) -> None:
        """Insert duplicate copies, then log each defect at its final line."""
        for i, d in enumerate(self.ds):
            dup = sorted(self.copies.get(i, ()))
            if dup:
                frame = pd.concat([d.frame, d.frame.loc[dup]]).sort_index(kind="stable")
                position = {}
                for pos, label in enumerate(frame.index):
                    position.setdefault(label, pos)
                d.frame = frame.reset_index(drop=True)
                # Line edits were keyed by label: move them to positions.
                d.line_edits = {position[lab]: e for lab, e in d.line_edits.items()}
            else:
                position = None
            base = first_data_line(d)
            for label, kind, column, detail, recoverable in self.pending.get(i, []):
                pos = position[label] if position else label
                if kind == "duplicate_key":
                    pos += 1  # the copy is the row set aside
                key = "|".join(str(d.frame.iloc[pos][c]) for c in _key_columns(d))
                self._log(d, kind, base + pos, column, key, detail, recoverable)

    def _log(self, d: Delivery, kind: str, line, column, key, detail, recoverable: bool | None = None) -> None:
        k = KINDS[kind]
        recoverable = k.recoverable if recoverable is None else recoverable
        self.log.append(dict(file=d.path, line=line, kind=kind, handling=k.handling_in(d.feed),
                             recoverable=recoverable, sender=d.sender, feed=d.feed, period=d.period, column=column, key=key, detail=detail))

    # --- file level ----------------------------------------------------------------------------------
    def files(self) -> None:
        for name, (applies, fn) in FILE_DEFECTS.items():
            targets = [d for d in self.ds if applies(self, d) and not d.file_defect]
            if not targets:
                continue
            want = max(1, int(round(self.rate * 3 * len(targets))))
            picks = self.rng.choice(len(targets), min(want, len(targets)), replace=False)
            for p in sorted(picks):
                d = targets[p]
                d.file_defect = name
                fn(self, d)
        self.ds.extend(self.extra)

    def redeliver(self, d: Delivery, kind: str, detail: str) -> Delivery:
        """The sender's corrected file for the same period, a couple of days later, named `<stem>_v2`."""
        fixed = copy.copy(d)
        fixed.frame = d.frame
        fixed.line_edits, fixed.line_end, fixed.encoding = dict(d.line_edits), "\n", None
        fixed.file_edit, fixed.control, fixed.header_override, fixed.extra_column = None, "ok", d.header_override, d.extra_column
        stem, dot, ext = d.name.partition(".")
        fixed.name = f"{stem}_v2.{ext}"
        fixed.delivered = d.delivered + np.timedelta64(2 * 86400, "s")
        fixed.file_defect = "redelivery"
        self.extra.append(fixed)
        # The corrected file carries the same row-level defects as the one it replaces.
        self.log += [{**e, "file": fixed.path} for e in self.log if e["file"] == d.path and e["line"] is not None]
        if KINDS[kind].handling in ("reject", "hold"):
            self.moot(d)
        self._log(d, kind, None, None, None, f"{detail}; corrected file {fixed.path} follows")
        return fixed

    def moot(self, d: Delivery) -> None:
        """Row defects of a file that is set aside as a whole do not reach the warehouse: unlog them."""
        self.log = [e for e in self.log if e["file"] != d.path]


def _key_columns(d: Delivery) -> list[str]:
    return KEYS[d.feed]


def _record_keys(d: Delivery) -> pd.Series:
    """Each row's record key as the truth writes it: key columns joined by `|`."""
    cols = [d.frame[c].astype(str) for c in _key_columns(d)]
    key = cols[0]
    for c in cols[1:]:
        key = key + "|" + c
    return key.reset_index(drop=True)


def _shown(v) -> str:
    """A value in a log detail: dates as YYYY-MM-DD, a blank as `(blank)`."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "(blank)"
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(v).date())
    return str(v)


def _obj(d: Delivery, col: str) -> None:
    if d.frame[col].dtype != object:
        d.frame[col] = d.frame[col].astype(object)


def _rows_with(d: Delivery, col: str, labels) -> np.ndarray:
    v = d.frame[col].to_numpy()
    return np.array([lab for lab in labels if v[lab] is not None and v[lab] == v[lab] and not isinstance(v[lab], float)])


# --- row defects: fn(injector, delivery, (index, labels) | None, probe) -> bool ---------------------

def _id_separators(inj, d, target, probe):
    cols = [c for c in ID_COLUMNS if c in d.frame.columns]
    if probe:
        return bool(cols)
    i, labels = target
    for lab in labels:
        filled = [c for c in cols if isinstance(d.frame.at[lab, c], str) and d.frame.at[lab, c].isdigit()]
        if not filled:
            continue
        col = filled[int(inj.rng.integers(len(filled)))]
        v = d.frame.at[lab, col]
        sep = [" ", ".", "-"][int(inj.rng.integers(3))]
        bad = sep.join(v[k:k + 4] for k in range(0, len(v), 4))
        _obj(d, col)
        d.frame.at[lab, col] = bad
        inj.mark(i, lab, "id_separators", col, f"{v} -> {bad}")
    return True


def _nik_change(kind):
    def fn(inj, d, target, probe):
        col = NIK_COLUMNS.get(d.feed)
        if kind == "nik_mistyped" and d.feed not in ("pengurus", "umkm", "kur"):
            return False
        if kind == "id_excel_number" and not (d.layout.kind == "xlsx" or d.feed in ("pengurus", "umkm")):
            return False
        if probe:
            return col is not None
        i, labels = target
        _obj(d, col)
        for lab in _rows_with(d, col, labels):
            v = d.frame.at[lab, col]
            if kind == "nik_length":
                bad = v[:-1] if inj.rng.random() < 0.5 else v + str(int(inj.rng.integers(10)))
            elif kind == "nik_bad_date":
                bad = v[:6] + "35" + v[8:] if int(v[6:8]) < 41 else v[:6] + "75" + v[8:]
                bad = bad[:8] + "13" + bad[10:]
            elif kind == "nik_mistyped":
                s = list(v)
                a, b = 12, 12 + int(inj.rng.integers(1, 4))
                s[a], s[b] = s[b], s[a]
                if s == list(v):
                    s[15] = str((int(s[15]) + 1) % 10)
                bad = "".join(s)
            else:  # id_excel_number: 15 significant digits survive
                bad = float(f"{int(v):.15g}")
                if d.layout.kind != "xlsx":
                    bad = f"{float(v):.5E}"
            d.frame.at[lab, col] = bad
            inj.mark(i, lab, kind, col, f"{v} -> {bad}")
        return True
    return fn


def _name_misspelt(inj, d, target, probe):
    col = {"pengurus": "nama_lengkap", "umkm": "nama_pemilik", "peserta": "nama", "kur": "nama_debitur",
           "badan_usaha": "nama_badan_usaha"}.get(d.feed)
    if probe:
        return col is not None
    i, labels = target
    for lab in labels:
        v = d.frame.at[lab, col]
        if not isinstance(v, str) or len(v) < 6:
            continue
        k = int(inj.rng.integers(1, len(v) - 1))
        while not v[k].isalpha():
            k = (k + 1) % len(v)
        bad = v[:k] + v[k + 1:] if inj.rng.random() < 0.5 else v[:k] + v[k] + v[k:]
        d.frame.at[lab, col] = bad
        inj.mark(i, lab, "name_misspelt", col, f"{v} -> {bad}")
    return True


def _region(kind):
    olds = {}
    for old, new in regions.code_changes().items():
        olds.setdefault(new, old)

    def fn(inj, d, target, probe):
        if "kode_wilayah" not in d.frame.columns:
            return False
        if kind == "region_undotted" and d.folder == "himbara/bri":
            return False
        if kind == "region_village" and d.feed != "kur":
            return False
        if kind == "region_old_code" and not any(str(v)[:5] in olds for v in d.frame["kode_wilayah"].head(2000)):
            return False
        if probe:
            return True
        i, labels = target
        _obj(d, "kode_wilayah")
        for lab in labels:
            v = d.frame.at[lab, "kode_wilayah"]
            if not isinstance(v, str):
                continue
            dotted = regions.dotted(v.replace(".", ""))
            if kind == "region_old_code":
                if dotted[:5] not in olds:
                    continue
                bad = olds[dotted[:5]] + dotted[5:]
            elif kind == "region_undotted":
                bad = dotted.replace(".", "")
            elif kind == "region_village":
                bad = dotted[:8] + ".2001"
                if bad[:8] + ".2001" not in regions.villages():
                    bad = next((c for c in _villages_of(dotted[:8])), dotted)
                if d.folder == "himbara/bri":
                    bad = bad.replace(".", "")
            else:
                bad = "99.99.99"
            d.frame.at[lab, "kode_wilayah"] = bad
            inj.mark(i, lab, kind, "kode_wilayah", f"{v} -> {bad}")
        return True
    return fn


def _villages_of(district: str):
    return (c for c in regions.villages() if c.startswith(district + "."))


def _dates(kind):
    def fn(inj, d, target, probe):
        if kind == "date_format":
            cols = [c for c, k in d.schema.items() if k == "date" and c in d.frame.columns]
            ok = bool(cols) and d.layout.kind in ("csv", "jsonl")
        elif kind == "date_future":
            cols = [DATES_OF_BIRTH.get(d.feed)] if d.feed in DATES_OF_BIRTH else []
            ok = bool(cols)
        else:
            cols = [STARTS.get(d.feed)] if d.feed in STARTS else []
            ok = bool(cols)
        if probe:
            return ok
        i, labels = target
        for lab in labels:
            col = cols[int(inj.rng.integers(len(cols)))]
            v = d.frame.at[lab, col]
            if v is None or pd.isna(v) or isinstance(v, str):
                continue
            day = pd.Timestamp(v)
            _obj(d, col)
            if kind == "date_format":
                bad = day.strftime("%Y/%m/%d") if d.layout.locale in ("iso", "mandiri") else day.strftime("%Y-%m-%d")
                d.frame.at[lab, col] = bad
            elif kind == "date_future":
                bad = day.replace(year=2091, day=min(day.day, 28))
                d.frame.at[lab, col] = bad
            else:
                birth = pd.Timestamp(d.frame.at[lab, DATES_OF_BIRTH[d.feed]])
                bad = birth - pd.Timedelta(days=400)
                d.frame.at[lab, col] = bad
            inj.mark(i, lab, kind, col, f"{day.date()} -> {bad if isinstance(bad, str) else bad.date()}")
        return True
    return fn


def _amounts(kind):
    def fn(inj, d, target, probe):
        cols = AMOUNTS.get(d.feed, [])
        if kind == "amount_separator":
            ok = bool(cols) and d.layout.kind == "csv"
        elif kind == "amount_out_of_limits":
            ok = d.feed == "kur"
        else:
            ok = bool(cols)
        if probe:
            return ok
        i, labels = target
        for lab in labels:
            col = cols[0]
            v = d.frame.at[lab, col]
            if isinstance(v, str) or v is None or pd.isna(v):
                continue
            v = int(v)
            if kind == "amount_negative":
                bad = -v
                if d.feed == "iuran":
                    for c in ["iuran_jkk", "iuran_jkm", "iuran_jht", "iuran_jp", "iuran_jkp"]:
                        d.frame.at[lab, c] = -int(d.frame.at[lab, c])
            elif kind == "amount_separator":
                bad = f"{v:,}.00" if d.layout.locale == "id" else f"{v:,}".replace(",", ".") + ",00"
            else:
                if d.frame.at[lab, "skema"] != "KUR Super Mikro":
                    d.frame.at[lab, "skema"] = "KUR Super Mikro"
                bad = 25_000_000 + int(inj.rng.integers(0, 40)) * 500_000
            _obj(d, col)
            d.frame.at[lab, col] = bad
            inj.mark(i, lab, kind, col, f"{v} -> {bad}")
        return True
    return fn


def _duplicate_key(inj, d, target, probe):
    if probe:
        return True
    i, labels = target
    for lab in labels:
        inj.copies.setdefault(i, set()).add(int(lab))
        inj.mark(i, lab, "duplicate_key", None, "row repeated")
    return True


def _fields(kind):
    def fn(inj, d, target, probe):
        if probe:
            return d.layout.kind == "csv"
        i, labels = target
        for lab in labels:
            if kind == "too_many_fields":
                d.line_edits[int(lab)] = lambda line, sep: line + sep + "EXTRA"
            else:
                d.line_edits[int(lab)] = lambda line, sep: line[:line.rfind(sep)]
            inj.mark(i, lab, kind, None, kind.replace("_", " "))
        return True
    return fn


ROW_DEFECTS = {
    "id_separators": _id_separators,
    "nik_length": _nik_change("nik_length"),
    "nik_bad_date": _nik_change("nik_bad_date"),
    "id_excel_number": _nik_change("id_excel_number"),
    "nik_mistyped": _nik_change("nik_mistyped"),
    "name_misspelt": _name_misspelt,
    "region_old_code": _region("region_old_code"),
    "region_undotted": _region("region_undotted"),
    "region_village": _region("region_village"),
    "region_unknown": _region("region_unknown"),
    "date_format": _dates("date_format"),
    "date_future": _dates("date_future"),
    "date_before_birth": _dates("date_before_birth"),
    "amount_negative": _amounts("amount_negative"),
    "amount_separator": _amounts("amount_separator"),
    "amount_out_of_limits": _amounts("amount_out_of_limits"),
    "duplicate_key": _duplicate_key,
    "too_many_fields": _fields("too_many_fields"),
    "too_few_fields": _fields("too_few_fields"),
}


# --- file defects: (applies(injector, delivery), apply(injector, delivery)) ------------------------

def _monthly(inj, d) -> bool:
    return d.sender != "kemenkop" or d.feed == "umkm"


def _midmonth_ods(inj, d) -> bool:
    return d.folder == "kemenkop/ods" and d.period not in inj.month_ends


def _broken(kind, detail, edit=None, control=None):
    def fn(inj, d):
        inj.redeliver(d, kind, detail)
        if edit:
            d.file_edit = edit
        if control:
            d.control = control
    return fn


def _has_predecessor(inj, d) -> bool:
    """A shrunken snapshot is only visible against an earlier one: never the world's first of its feed."""
    return any(o.feed == d.feed and o.folder == d.folder and o.period < d.period for o in inj.ds) or not inj.first_month


def _emptiness_detectable(d) -> bool:
    return d.layout.kind != "jsonl" or d.layout.control_line


def _replaced_by_next(inj, d) -> bool:
    """A broken mid-month snapshot is replaced by the next one; a broken increment must be resent."""
    return _midmonth_ods(inj, d) and d.feed != "perizinan"


def _truncate(data: bytes) -> bytes:
    return data[: max(1, int(len(data) * 0.6))]


def _truncated(inj, d):
    if _replaced_by_next(inj, d):
        d.file_edit = _truncate
        inj.moot(d)
        inj._log(d, "file_truncated", None, None, None, "cut off mid-row; the next snapshot replaces it")
    else:
        _broken("file_truncated", "cut off mid-row", edit=_truncate)(inj, d)


def _empty(inj, d):
    d.file_edit = lambda data: b""
    if _replaced_by_next(inj, d):
        inj.moot(d)
        inj._log(d, "file_empty", None, None, None, "empty file; the next snapshot replaces it")
    else:
        inj.redeliver(d, "file_empty", "empty file")


def _shrunk(inj, d):
    keep = np.sort(inj.rng.choice(len(d.frame), max(1, len(d.frame) // 4), replace=False))
    d.frame = d.frame.iloc[keep].reset_index(drop=True)
    d.line_edits = {}
    inj.moot(d)
    inj._log(d, "snapshot_shrunk", None, None, None, f"broken export: {len(keep)} rows instead of about {4 * len(keep)}")


def _simple(kind, detail, setter):
    def fn(inj, d):
        setter(d)
        inj._log(d, kind, None, None, None, detail)
    return fn


def _renamed(d):
    labels = [d.layout.labels.get(c, c) for c in d.frame.columns]
    k = 1 if len(labels) > 1 else 0
    labels[k] = labels[k].upper().replace(" ", "  ") if labels[k] != labels[k].upper() else labels[k].title()
    d.header_override = labels


def _duplicate_delivery(inj, d):
    twin = copy.copy(d)
    stem, dot, ext = d.name.partition(".")
    twin.name = f"{stem} (1).{ext}"
    twin.delivered = d.delivered + np.timedelta64(3600, "s")
    twin.file_defect = "twin"
    inj.extra.append(twin)
    inj._log(twin, "duplicate_delivery", None, None, None, f"same bytes as {d.path}")


def _corrected(inj, d):
    """The first delivery carries wrong amounts; the corrected `_v2` has the true ones."""
    col = AMOUNTS[d.feed][0]
    fixed = inj.redeliver(d, "corrected_file", f"wrong {col} in some rows")
    wrong = d.frame.copy()
    rows = inj.rng.choice(len(wrong), max(1, len(wrong) // 50), replace=False)
    wrong[col] = wrong[col].astype(object)
    for r in rows:
        v = wrong.at[r, col]
        if not isinstance(v, str) and v is not None and not pd.isna(v):
            wrong.at[r, col] = int(v) * 10
    d.frame = wrong
    fixed.frame = fixed.frame.copy()


def _out_of_order(inj, d):
    """Held back by the sender: it arrives after the next month's file of the same feed."""
    d.delivered = d.delivered + np.timedelta64(33 * 86400, "s")
    inj._log(d, "out_of_order", None, None, None, "delivered after the next month's file")


FILE_DEFECTS = {
    "file_truncated": (lambda inj, d: d.layout.kind != "xlsx" and (_monthly(inj, d) or _midmonth_ods(inj, d)), _truncated),
    # An increment in JSON Lines without a control line is legitimately empty on a quiet day: only
    # files whose emptiness can be told from a quiet day get this defect.
    "file_empty": (lambda inj, d: (_monthly(inj, d) or _midmonth_ods(inj, d)) and _emptiness_detectable(d), _empty),
    "trailer_mismatch": (lambda inj, d: d.feed == "kur" and d.folder != "himbara/mandiri",
                         _broken("trailer_mismatch", "trailer or closing total does not match the body", control="wrong")),
    "control_missing": (lambda inj, d: d.layout.control_file,
                        _broken("control_missing", "no control file delivered", control="missing")),
    "encoding_wrong": (lambda inj, d: d.feed == "koperasi",
                       _simple("encoding_wrong", "written in Windows-1252 instead of UTF-8", lambda d: setattr(d, "encoding", "cp1252"))),
    "bom": (lambda inj, d: d.layout.kind == "csv" and d.layout.encoding == "utf-8" and not d.layout.gzip,
            _simple("bom", "UTF-8 byte order mark", lambda d: setattr(d, "encoding", "utf-8-sig"))),
    "crlf": (lambda inj, d: d.layout.kind == "csv" and not d.layout.gzip,
             _simple("crlf", "Windows line ends", lambda d: setattr(d, "line_end", "\r\n"))),
    "header_renamed": (lambda inj, d: d.layout.kind in ("csv", "xlsx") and not d.layout.trailer,
                       _simple("header_renamed", "a header label written differently", _renamed)),
    "column_added": (lambda inj, d: d.layout.kind == "csv" and d.sender != "himbara",
                     _simple("column_added", "an extra column `keterangan_tambahan`",
                             lambda d: setattr(d, "extra_column", ("keterangan_tambahan", ["-"] * len(d.frame))))),
    "snapshot_shrunk": (lambda inj, d: d.feed == "koperasi" and _midmonth_ods(inj, d) and _has_predecessor(inj, d),
                        _shrunk),
    "duplicate_delivery": (lambda inj, d: _monthly(inj, d), _duplicate_delivery),
    "corrected_file": (lambda inj, d: d.feed in ("kur", "iuran", "klaim") and len(d.frame) > 0, _corrected),
    "out_of_order": (lambda inj, d: _monthly(inj, d) and not inj.last_month, _out_of_order),
}


def inject(deliveries: list[Delivery], rate: float, rng: np.random.Generator, month_ends: set,
           last_month: bool = False, first_month: bool = False, identity: dict | None = None) -> list[dict]:
    """Damage one month's deliveries in place (adding redeliveries and twins); return the log.
    `identity`: the world's planned identity variants (`variants.plan`), applied first."""
    if rate <= 0 and not identity:
        return []
    inj = Injector(deliveries, rate, rng, month_ends, last_month, first_month)
    if identity:
        inj.identity(identity)
    if rate > 0:
        inj.rows()
    inj.finish_rows()
    if rate > 0:
        inj.files()
    return inj.log
