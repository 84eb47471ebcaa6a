"""Serialise deliveries the way each sender does, byte for byte reproducibly."""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import xlsx
from .feeds import Delivery


def amount_total(values: pd.Series) -> int:
    """A control total as the sender computes it: over the true amounts, however a defect wrote them."""
    def whole(v):
        if isinstance(v, str):  # `1.250.000,00` or `1,250,000.00`: drop the decimals, keep the digits
            v = re.sub(r"[^\d-]", "", re.sub(r"[.,]\d{1,2}$", "", v))
        return 0 if v is None or v != v or v == "" else int(v)
    return sum(whole(v) for v in values.tolist())


def first_data_line(d: Delivery) -> int:
    """Line (CSV/JSONL) or sheet row (XLSX) of the first data row, 1-based."""
    lay = d.layout
    if lay.kind == "xlsx":
        return len(lay.titles) + (1 if lay.titles and lay.blank_after_titles else 0) + 2
    return 1 if lay.kind == "jsonl" else 2


def write(d: Delivery, root: Path) -> Path:
    path = root / d.folder / d.name
    path.parent.mkdir(parents=True, exist_ok=True)
    if d.layout.kind == "xlsx":
        _xlsx(d, path)
        if d.file_edit:
            path.write_bytes(d.file_edit(path.read_bytes()))
    else:
        data = _jsonl(d) if d.layout.kind == "jsonl" else _csv(d)
        if d.layout.gzip and data:
            data = _gzip(data)
        data = d.file_edit(data) if d.file_edit else data
        path.write_bytes(data)
        if d.layout.control_file and d.control != "missing":
            count = len(d.frame) + (1 if d.control == "wrong" else 0)
            ctl = f"records={count}\nsha256={hashlib.sha256(data).hexdigest()}\n"
            Path(str(path) + ".ctl").write_text(ctl, encoding="ascii")
    stamp = (d.delivered - np.datetime64("1970-01-01T00:00:00", "s")).astype(int)
    os.utime(path, (int(stamp), int(stamp)))
    if d.layout.control_file and Path(str(path) + ".ctl").exists():
        os.utime(str(path) + ".ctl", (int(stamp), int(stamp)))
    return path


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)
    return buf.getvalue()


# --- text formatting -------------------------------------------------------------------------------

def _date_text(iso: str, locale: str) -> str:
    if locale == "id":
        return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"
    return iso.replace("-", "") if locale == "bri" else iso


def _formatter(kind: str, locale: str):
    """value -> text for one column kind, as the sender writes it."""
    if kind == "date":
        return lambda v: _date_text(str(np.datetime64(v, "D")), locale)
    if kind == "timestamp":
        return lambda v: str(np.datetime64(v, "s")).replace("T", " ")
    if kind == "amount":
        if locale == "id":
            return lambda v: f"{int(v):,}".replace(",", ".") + ",00"
        return (lambda v: f"{int(v)}.00") if locale == "mandiri" else (lambda v: str(int(v)))
    if kind == "rate":
        sep = "," if locale == "id" else "."
        return lambda v: f"{float(v):.2f}".replace(".", sep)
    if kind == "int":
        return lambda v: str(int(v))
    # Identifiers and text; an identifier that became a number is written as Excel writes it back.
    return lambda v: f"{v:.5E}" if isinstance(v, float) else str(v)


def _date_column(values: np.ndarray, kind: str, locale: str) -> list[str]:
    """Dates vectorised; any text a defect put in the column passes through."""
    is_text = np.array([isinstance(v, str) for v in values], dtype=bool) if values.dtype == object else None
    dates = values if is_text is None else np.where(is_text, None, values)
    unit = "datetime64[D]" if kind == "date" else "datetime64[s]"
    iso = np.datetime_as_string(pd.to_datetime(dates).to_numpy().astype(unit))
    if kind == "timestamp":
        out = ["" if t == "NaT" else t.replace("T", " ") for t in iso]
    else:
        out = ["" if t == "NaT" else _date_text(t, locale) for t in iso]
    if is_text is not None:
        for k in np.flatnonzero(is_text):
            out[k] = values[k]
    return out


def _text(series: pd.Series, kind: str, locale: str) -> list[str]:
    """Format one column as text; missing values are empty, text already there (defects) passes through."""
    values = series.to_numpy()
    if kind in ("date", "timestamp"):
        return _date_column(values, kind, locale)
    fmt = _formatter(kind, locale)
    return ["" if v is None or v != v else (v if isinstance(v, str) else fmt(v)) for v in values.tolist()]


def _csv(d: Delivery) -> bytes:
    lay = d.layout
    columns = [_text(d.frame[c], d.schema[c], lay.locale) for c in d.frame.columns]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=lay.delimiter, lineterminator="\n",
                        quoting=csv.QUOTE_ALL if lay.quote_all else csv.QUOTE_MINIMAL)
    header = d.header_override or [lay.labels.get(c, c) for c in d.frame.columns]
    if d.extra_column:
        header = header + [d.extra_column[0]]
        columns.append(list(d.extra_column[1]))
    writer.writerow(header)
    writer.writerows(zip(*columns))
    lines = buf.getvalue().split("\n")[:-1]
    for pos, edit in d.line_edits.items():
        lines[pos + 1] = edit(lines[pos + 1], lay.delimiter)
    if lay.trailer:
        total = amount_total(d.frame["plafon"])
        lines.append(f"TRL|{len(d.frame) + (1 if d.control == 'wrong' else 0)}|{total}")
    text = d.line_end.join(lines) + d.line_end
    return text.encode(d.encoding or lay.encoding)


def _json_value(v, kind: str):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, str):
        return v
    if kind == "date":
        return str(np.datetime64(v, "D"))
    if kind == "timestamp":
        return str(np.datetime64(v, "s"))
    if kind in ("amount", "int"):
        return int(v)
    if kind == "rate":
        return float(v)
    return v


def _jsonl(d: Delivery) -> bytes:
    lay, schema = d.layout, d.schema
    cols = list(d.frame.columns)
    lines = []
    for row in d.frame.itertuples(index=False, name=None):
        rec = {c: _json_value(v, schema[c]) for c, v in zip(cols, row)}
        if lay.nested:
            rec = {"id_fasilitas": rec["id_fasilitas"],
                   "debitur": {"nik": rec["nik_debitur"], "nama": rec["nama_debitur"],
                               "tgl_lahir": rec["tgl_lahir_debitur"], "nib": rec["nib"]},
                   "fasilitas": {k: rec[k] for k in ("skema", "plafon", "suku_bunga", "tenor_bulan", "tgl_akad",
                                                     "tgl_pencairan", "kode_wilayah", "sektor")},
                   "bpjstk": {"kpj": rec["kpj"], "status": rec["status_bpjstk"]}}
        lines.append(json.dumps(rec, ensure_ascii=False))
    for pos, edit in d.line_edits.items():
        lines[pos] = edit(lines[pos], ",")
    if lay.control_line:
        total = amount_total(d.frame["plafon"])
        records = len(d.frame) + (1 if d.control == "wrong" else 0)
        lines.append(json.dumps({"_control": {"records": records, "total_plafon": total}}))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


# --- Excel ------------------------------------------------------------------------------------------

def _xlsx(d: Delivery, path: Path) -> None:
    lay, schema = d.layout, d.schema
    cols = list(d.frame.columns)
    top = [[t] for t in lay.titles] + ([[]] if lay.titles and lay.blank_after_titles else [])
    top.append((["No"] if lay.number_column else []) + (d.header_override or [lay.labels.get(c, c) for c in cols]))
    columns = [xlsx.Column(np.arange(1, len(d.frame) + 1), "number")] if lay.number_column else []
    for c in cols:
        kind = schema[c]
        values = d.frame[c].to_numpy()
        if kind == "date" and not lay.excel_dates:
            values = np.array(_date_column(values, "date", "id"), dtype=object)
            values[values == ""] = None
            kind = "text"
        columns.append(xlsx.Column(values, kind if kind == "date" else ("number" if kind in ("amount", "int", "rate") else "text")))
    bottom = None
    if lay.closing:
        offset = 1 if lay.number_column else 0
        bottom = [lay.closing] + [""] * (len(cols) + offset - 1)
        for j, c in enumerate(cols):
            if schema[c] == "amount" and (lay.closing == "TOTAL" or c == "plafon"):
                total = amount_total(d.frame[c])
                bottom[j + offset] = total + (1 if d.control == "wrong" else 0)
    xlsx.write(path, lay.sheet, top, columns, bottom)
