"""The checked COPY: a file's rows read in chunks, checked, and written to its raw table with one COPY, while
the rows set aside (quarantine), the repairs and the vault rows wait on disk-backed spools and follow it into
the same transaction. The loader (loader.py) decides whether a file loads; this module loads it.
"""
from __future__ import annotations

import calendar
import csv
import io
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from psycopg.copy import QueuedLibpqWriter

from . import reasons, schema
from .contract_schema import EMPTIABLE
from .contracts import Match
from .pseudonym import Pseudonymiser
from .readers import FileProblem, raw_lines, reader_for
from .values import ChunkChecker, _lenient_sum

SPOOL_BYTES = 8 << 20


def period_end(period: str) -> date:
    y, m = int(period[:4]), int(period[4:6])
    if len(period) == 8:
        return date(y, m, int(period[6:]))
    return date(y, m, calendar.monthrange(y, m)[1])


def copy_rows(conn, pseudo: Pseudonymiser, path: Path, match: Match, load_id: int) -> "Counts":
    """One file's rows through the checks into its raw table (one COPY, the next chunk read and checked
    while this one is sent), its quarantine, repairs and vault rows after it, in the caller's transaction.
    Returns the counts the ledger row and the control totals need; every row read is loaded or set aside."""
    feed, fmt = match.feed, match.format
    reader = reader_for(path, feed, fmt)
    checker = ChunkChecker(feed, fmt, period_end(match.period), pseudo)
    counts = Counts(feed.columns)
    spools = Spools(load_id)
    stored = [n for n, _ in schema.raw_columns(feed)]
    key = [feed.columns[k].stored_as for k in feed.key_columns]
    seen = np.empty(0, dtype=np.uint64)
    copy_sql = f"copy {feed.table} (_load_id, _line, {', '.join(stored)}) from stdin (format csv)"
    try:
        # The writer thread sends each chunk while the next one is read and checked.
        with conn.cursor() as cur, cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
            for chunk in reader.chunks():
                checked = checker.check(chunk.lines, chunk.columns)
                seen = drop_repeated_keys(checked, key, seen)
                counts.add(checked, len(chunk.lines))
                spools.add(checked)
                if fmt.kind == "xlsx":
                    spools.cells(checked.quarantined, chunk)
                if checked.table.num_rows:
                    copy.write(_csv_bytes(checked.table, checked.lines, load_id))
    except FileProblem as problem:
        problem.rows_read = counts.rows_read + len(reader.facts.structural)
        raise
    facts = reader.facts
    counts.structural(facts.structural, getattr(reader, "positions", None), fmt)
    for col, total in getattr(facts, "set_aside_sums", {}).items():   # records set aside whole, amounts known
        counts.sums[col] = counts.sums.get(col, 0.0) + total
    spools.structural(facts.structural)
    counts.repairs += facts.repairs
    counts.notes += facts.notes + counts.flag_notes()
    counts.control_from_file = facts.control
    for line, text in raw_lines(path, fmt, facts.encoding, spools.lines_without_text()).items():
        spools.text(line, text)
    spools.copy_into(conn)
    counts.verify()
    return counts


def _csv_bytes(table: pa.Table, lines: np.ndarray, load_id: int) -> bytes:
    """Rows as COPY csv: the load id and line first, then the stored columns (the file's name is the
    ledger's, `audit.load.file`, not repeated on every row)."""
    n = table.num_rows
    prefix = [pa.array(np.full(n, load_id, dtype=np.int64)), pa.array(lines)]
    full = pa.Table.from_arrays(prefix + table.columns, names=["_load_id", "_line"] + table.column_names)
    buf = io.BytesIO()
    pcsv.write_csv(full, buf, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


class Counts:
    """Rows read, loaded and set aside, and the sums the sender's control totals are checked against."""

    def __init__(self, columns):
        self.columns = columns
        self.rows_read = self.rows_loaded = self.rows_quarantined = 0
        self.sums: dict[str, float] = {}
        self.loaded_sums: dict[str, float] = {}
        self.repairs: list[str] = []
        self.notes: list[str] = []
        self.control_from_file: dict = {}
        self.bad_dates: dict[str, int] = {}   # NIK column -> rows loaded with an impossible date part
        self.emptied: dict[tuple[str, str], int] = {}   # (column, reason) -> rows loaded with that value emptied

    def add(self, checked, rows: int) -> None:
        self.rows_read += rows
        self.rows_loaded += checked.table.num_rows
        self.rows_quarantined += len(checked.quarantined)
        for col, total in checked.amounts.items():
            self.sums[col] = self.sums.get(col, 0.0) + total
            kept = pc.sum(pc.cast(checked.table.column(col), pa.float64())).as_py() or 0.0
            self.loaded_sums[col] = self.loaded_sums.get(col, 0.0) + kept
        self.repairs += sorted({r[2] for r in checked.repairs})
        for _, column, kind, *_ in checked.repairs:
            if kind in EMPTIABLE:
                self.emptied[(column, kind)] = self.emptied.get((column, kind), 0) + 1
        for col in self.columns.values():
            if col.bad_date_flag and col.bad_date_flag in checked.table.column_names:
                flagged = pc.sum(pc.cast(checked.table.column(col.bad_date_flag), pa.int64())).as_py() or 0
                self.bad_dates[col.name] = self.bad_dates.get(col.name, 0) + flagged

    def flag_notes(self) -> list[str]:
        """What a person should know of the rows loaded with a flag or an emptied value: how many NIKs have
        an impossible date, how many rows lost a value their contract empties (`empty_on`)."""
        return [f"{n} baris dengan bagian tanggal lahir {name} yang mustahil dimuat dan ditandai "
                f"({name}_bad_date); orangnya dicari lewat nama, tanggal lahir dan wilayah"
                for name, n in self.bad_dates.items() if n] + \
               [f"{n} baris dimuat dengan {column} dikosongkan ({reasons.label(kind)}, {kind}); nilai kirimannya "
                f"ada di audit.repair" for (column, kind), n in sorted(self.emptied.items())]

    def structural(self, rows: list[tuple], positions: dict | None, fmt) -> None:
        """Rows that could not be split into fields still count, and their amounts are in the trailer."""
        self.rows_read += len(rows)
        self.rows_quarantined += len(rows)
        if not rows or not positions:
            return
        for col, pos in positions.items():
            if col in self.sums:
                fields = [r[3].split(fmt.delimiter) for r in rows]
                text = pa.array([f[pos] if pos < len(f) else None for f in fields], pa.string())
                self.sums[col] += _lenient_sum(text, fmt.decimal)

    def check_control(self, control: dict) -> None:
        for name, declared in control.items():
            if name == "records":
                actual = self.rows_read
            elif name in self.sums:
                actual = self.sums[name]
            else:
                continue
            if abs(actual - declared) > 0.5:
                problem = FileProblem("trailer_mismatch", f"total kontrol {name} dari pengirim {declared:,.0f} "
                                                          f"tidak sama dengan isi berkas {actual:,.0f}")
                problem.rows_read = self.rows_read
                raise problem

    def verify(self) -> None:
        if self.rows_read != self.rows_loaded + self.rows_quarantined:
            raise AssertionError(f"rows do not add up: {self.rows_read} read, {self.rows_loaded} loaded, "
                                 f"{self.rows_quarantined} quarantined")


class Spools:
    """Quarantine, repairs and vault rows wait on disk-backed spools while the raw COPY runs
    (one COPY at a time per connection), then follow it into the same transaction. The vault's rows go to
    a temporary table first, and only the people and spellings it does not hold yet move on: a monthly
    snapshot re-delivers nearly everyone, and the vault grows by the new ones only."""

    def __init__(self, load_id: int):
        self.load_id = load_id
        self.quarantine = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.repairs = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.vault = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+b")
        self.texts = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", newline="")
        self.with_text: set[int] = set()
        self.quarantined: set[int] = set()

    def add(self, checked) -> None:
        q, r = csv.writer(self.quarantine), csv.writer(self.repairs)
        for line, reason, column, message in checked.quarantined:
            q.writerow((self.load_id, line, reason, column, message))
            self.quarantined.add(line)
        r.writerows((self.load_id, *rep) for rep in checked.repairs)
        if checked.vault is not None and checked.vault.num_rows:
            rows = checked.vault.filter(pc.is_valid(checked.vault["identity"]))
            pcsv.write_csv(rows, self.vault, pcsv.WriteOptions(include_header=False, quoting_style="needed"))

    def structural(self, rows: list[tuple]) -> None:
        q = csv.writer(self.quarantine)
        for line, reason, message, text in rows:
            q.writerow((self.load_id, line, reason, None, message))
            self.text(line, text)

    def text(self, line: int, text: str) -> None:
        csv.writer(self.texts).writerow((self.load_id, line, text))
        self.with_text.add(line)

    def cells(self, quarantined: list[tuple], chunk) -> None:
        """Excel rows have no text line: keep their cells, separated by ` | `."""
        at = {int(line): i for i, line in enumerate(chunk.lines)}
        for line, *_ in quarantined:
            i = at[line]
            self.text(line, " | ".join("" if a[i].as_py() is None else a[i].as_py() for a in chunk.columns.values()))

    def lines_without_text(self) -> set[int]:
        return self.quarantined - self.with_text

    def copy_into(self, conn) -> None:
        targets = [(self.quarantine, "audit.quarantine (load_id, line, reason, column_name, message)"),
                   (self.repairs, "audit.repair (load_id, line, column_name, kind, before, after)"),
                   (self.vault, f"{schema.VAULT_INCOMING} (identity, nik_token, nik, nama)"),
                   (self.texts, "vault.quarantine_text (load_id, line, raw_text)")]
        with conn.cursor() as cur:
            for spool, table in targets:
                if not spool.tell():  # nothing was written: no round trip (most small files)
                    spool.close()
                    continue
                if spool is self.vault:
                    cur.execute(schema.VAULT_INCOMING_TABLE)
                spool.seek(0)
                with cur.copy(f"copy {table} from stdin (format csv)") as copy:
                    while block := spool.read(1 << 20):
                        copy.write(block)
                spool.close()
                if spool is self.vault:
                    cur.execute(schema.VAULT_LOCK)
                    cur.execute(schema.VAULT_ADD_NEW, {"load_id": self.load_id})


def drop_repeated_keys(checked, key: list[str], seen: np.ndarray) -> np.ndarray:
    """Quarantine the second and later rows with a key already seen in this file; return the keys seen
    (64-bit hashes, sorted: eight bytes a row)."""
    n = checked.table.num_rows
    if not n:
        return seen
    frame = pd.DataFrame({k: checked.table.column(k).to_pandas() for k in key})
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    repeated = np.zeros(n, dtype=bool)
    repeated[order[1:]] = ordered[1:] == ordered[:-1]
    if len(seen):
        at = np.minimum(np.searchsorted(seen, hashes), len(seen) - 1)
        repeated |= seen[at] == hashes
    if repeated.any():
        lines = checked.lines[repeated]
        checked.quarantined += [(int(line), "duplicate_key", ",".join(key), "kunci sudah muncul di baris sebelumnya "
                                 "dalam berkas yang sama") for line in lines]
        keep = ~repeated
        checked.table = checked.table.filter(pa.array(keep))
        if checked.vault is not None:
            checked.vault = checked.vault.filter(pa.array(keep))
        gone = set(lines.tolist())
        checked.repairs = [r for r in checked.repairs if r[0] not in gone]
        checked.lines = checked.lines[keep]
    return np.concatenate([seen, ordered]) if not len(seen) else np.sort(np.concatenate([seen, ordered]), kind="mergesort")
