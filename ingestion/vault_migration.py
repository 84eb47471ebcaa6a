"""The one-time move of a warehouse loaded before issue 19 to today's layout, inside the schema's
transaction (all of it or nothing):

- the vault had one row per delivered record (`vault.person`: batch, line, feed, token, NIK, name); now it
  keeps one row per NIK and spelling (`vault.identity`) and each raw row of a person feed carries that
  row's key (`_identity`);
- tokens were the whole HMAC-SHA256 digest (64 hexadecimal characters); now they are its first 24, so the
  migration shortens them without the key, in the raw tables and in the reviewers' decisions that name them.

Nothing is lost: every record keeps its NIK and spelling through its key (the migration checks that every
raw row the legacy vault named got it), and the build after it rebuilds the month-keyed models once
(`audit.layout_change`).
"""
from __future__ import annotations

import pyarrow as pa

from .contracts import IDENTITY, Contracts
from .pseudonym import LEGACY_TOKEN_HEX, TOKEN_HEX, Pseudonymiser

NAME = "issue19_vault_identity_short_tokens"
BATCH = 200_000
# A whole legacy token inside a text (an officer's key is `nik_koperasi|token|jabatan`).
_LONG_TOKEN = f"([0-9a-f]{{{TOKEN_HEX}}})[0-9a-f]{{{LEGACY_TOKEN_HEX - TOKEN_HEX}}}"


class MigrationNeedsKey(RuntimeError):
    pass


def needed(conn) -> bool:
    """The legacy vault is a table; today's `vault.person` is a view over the raw rows and the vault."""
    return conn.execute("select exists (select 1 from pg_class where oid = to_regclass('vault.person') "
                        "and relkind = 'r')").fetchone()[0]


def migrate(conn, contracts: Contracts, pseudo: Pseudonymiser | None) -> None:
    if pseudo is None:
        raise MigrationNeedsKey("gudang data ini masih memakai tata letak brankas lama (vault.person): jalankan "
                                "`sinergi load` sekali dengan SINERGI_PSEUDONYM_KEY terisi untuk memindahkannya")
    _identities(conn, pseudo)
    for feed in contracts.feeds.values():
        _rewrite_raw(conn, feed)
    conn.execute(f"update audit.link_decision set record_key = regexp_replace(record_key, '{_LONG_TOKEN}', '\\1', 'g') "
                 f"where record_key ~ '{_LONG_TOKEN}'")
    conn.execute("drop table vault.person cascade")   # and the views over it, made anew after this
    conn.execute("insert into audit.layout_change (name) values (%s) on conflict (name) do update "
                 "set migrated_at = now(), rebuilt_at = null", (NAME,))


def _identities(conn, pseudo: Pseudonymiser) -> None:
    """Each legacy vault row's key, computed here (the key is the pseudonym key's), into a temporary map
    by record; the distinct pairs into the new vault."""
    conn.execute("create temp table legacy_identity (feed text, load_id bigint, line integer, identity uuid, "
                 "nik_token text, nik text, nama text) on commit drop")
    with conn.cursor(name="legacy_vault") as read, conn.cursor() as write:
        read.itersize = BATCH
        read.execute("select feed, load_id, line, nik, nama from vault.person")
        while rows := read.fetchmany(BATCH):
            feed, load_id, line, nik, nama = (list(c) for c in zip(*rows))
            niks, names = pa.array(nik, pa.string()), pa.array(nama, pa.string())
            keys = pseudo.identities(niks, names).to_pylist()
            tokens = pseudo.tokens(nik)
            with write.copy("copy legacy_identity from stdin") as copy:
                for row in zip(feed, load_id, line, keys, tokens, nik, nama):
                    copy.write_row(row)
    conn.execute("create index on legacy_identity (feed, load_id, line)")
    conn.execute("insert into vault.identity (identity, nik_token, nik, nama, first_load_id) "
                 "select distinct on (identity) identity, nik_token, nik, nama, load_id from legacy_identity "
                 "where identity is not null order by identity, load_id on conflict (identity) do nothing")


def _rewrite_raw(conn, feed) -> None:
    """Give a person feed's rows their vault key and shorten every token of the feed (one pass over the
    rows the legacy vault names, one over any others), then check no record missed its key."""
    tokens = [c.stored_as for c in feed.columns.values() if c.stored_as and c.stored_as.endswith("_token")]
    shorten = [f"{t} = left(r.{t}, {TOKEN_HEX})" for t in tokens]
    if feed.nik_column:
        conn.execute(f"update {feed.table} as r set {', '.join(shorten + [f'{IDENTITY} = m.identity'])} "
                     f"from legacy_identity as m where m.feed = %s and m.load_id = r._load_id and m.line = r._line",
                     (feed.name,))
        missed = conn.execute(
            f"select count(*) from legacy_identity as m join {feed.table} as r "
            f"on m.load_id = r._load_id and m.line = r._line where m.feed = %s "
            f"and r.{IDENTITY} is distinct from m.identity", (feed.name,)).fetchone()[0]
        if missed:
            raise AssertionError(f"vault migration: {missed} rows of {feed.table} did not get their vault key")
    if tokens:
        longer = " or ".join(f"length(r.{t}) > {TOKEN_HEX}" for t in tokens)
        conn.execute(f"update {feed.table} as r set {', '.join(shorten)} where {longer}")
