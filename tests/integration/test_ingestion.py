"""The loader against the generator's truth: every file accounted for, every defect handled as its kind says."""
from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym
from simulator.bigfile import big_peserta

from landing import copy_landing

# How the ledger must end for each whole-file defect the generator can inject.
FILE_STATUS = {"reject": "rejected", "hold": "held", "duplicate": "duplicate", "supersede": "superseded",
               "repair": "loaded", "order": "loaded"}


def _load(world, tmp_path_factory, new_db, name):
    landing = copy_landing(world, tmp_path_factory.mktemp(name) / "landing")
    url = new_db()
    outcomes = pipeline.load_landing(url, landing, pseudonym.from_environment())
    return url, landing, outcomes


@pytest.fixture(scope="module")
def defective_load(defective_world, tmp_path_factory, new_db):
    return _load(defective_world, tmp_path_factory, new_db, "defective_load")


@pytest.fixture(scope="module")
def clean_load(clean_world, tmp_path_factory, new_db):
    return _load(clean_world, tmp_path_factory, new_db, "clean_load")


def _frame(url, sql):
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def _truth(world, name):
    return pd.read_csv(world / "truth" / name, dtype=str, keep_default_na=False)


def test_every_delivered_file_has_one_ledger_row_with_the_status_its_defect_calls_for(defective_world, defective_load):
    url, _, outcomes = defective_load
    ledger = _frame(url, "select file, status, reason_code, rows_read from audit.load")
    delivered = _truth(defective_world, "deliveries.csv")
    assert sorted(ledger["file"]) == sorted(delivered["file"])
    defects = _truth(defective_world, "defects.csv")
    file_level = defects[defects["line"] == ""].set_index("file")
    status = ledger.set_index("file")["status"]
    for file, kind in file_level.iterrows():
        assert status[file] == FILE_STATUS[kind["handling"]], (file, kind["kind"])
        if kind["handling"] in ("reject", "hold"):
            assert ledger.set_index("file").loc[file, "reason_code"] == kind["kind"]
    untouched = set(delivered["file"]) - set(file_level.index)
    assert {status[f] for f in untouched} == {"loaded"}
    assert len(outcomes) == len(delivered)


def test_rows_read_match_the_files_and_add_up(defective_world, defective_load):
    url, _, _ = defective_load
    ledger = _frame(url, "select file, status, rows_read, rows_loaded, rows_quarantined from audit.load")
    taken = ledger[ledger["status"].isin(["loaded", "superseded"])].set_index("file")
    rows = _truth(defective_world, "deliveries.csv").set_index("file")["rows"].astype(int)
    assert (taken["rows_read"] == rows[taken.index]).all()
    assert (taken["rows_read"] == taken["rows_loaded"] + taken["rows_quarantined"]).all()
    in_raw = []
    for feed in contracts.load().feeds.values():
        in_raw.append(_frame(url, f"select l.file, count(*) as n from {feed.table} r "
                                  f"join audit.load l on l.load_id = r._load_id group by 1"))
    in_raw = pd.concat(in_raw).set_index("file")["n"]
    assert (in_raw.reindex(taken.index).fillna(0).astype(int) == taken["rows_loaded"]).all()


def test_quarantine_is_exactly_the_rows_the_truth_sets_aside(defective_world, defective_load):
    url, _, _ = defective_load
    quarantined = _frame(url, "select l.file, q.line, q.reason from audit.quarantine q join audit.load l using (load_id)")
    defects = _truth(defective_world, "defects.csv")
    rows = defects[defects["line"] != ""].assign(line=lambda d: d["line"].astype(int))
    expected = rows[rows["handling"] == "quarantine"]
    assert len(expected) > 500
    got = set(map(tuple, quarantined[["file", "line", "reason"]].itertuples(index=False)))
    want = set(map(tuple, expected[["file", "line", "kind"]].itertuples(index=False)))
    assert got == want


def test_repaired_and_linkable_rows_load(defective_world, defective_load):
    url, _, _ = defective_load
    defects = _truth(defective_world, "defects.csv")
    rows = defects[(defects["line"] != "") & defects["handling"].isin(["repair", "link", "empty"])]
    assert set(rows["kind"]) >= {"id_separators", "region_undotted", "date_format", "amount_separator",
                                 "nik_mistyped", "name_misspelt"}
    loaded = []
    for feed in contracts.load().feeds.values():
        loaded.append(_frame(url, f"select l.file, r._line as line from {feed.table} r "
                                  f"join audit.load l on l.load_id = r._load_id"))
    loaded = set(map(tuple, pd.concat(loaded).itertuples(index=False)))
    missing = [(f, int(line), k) for f, line, k in rows[["file", "line", "kind"]].itertuples(index=False)
               if (f, int(line)) not in loaded]
    assert missing == []
    repairs = _frame(url, "select l.file, r.line, r.kind from audit.repair r join audit.load l using (load_id)")
    logged = set(map(tuple, repairs.itertuples(index=False)))
    for kind in ("id_separators", "date_format", "amount_separator", "region_undotted"):
        for f, line in rows[rows["kind"] == kind][["file", "line"]].itertuples(index=False):
            assert (f, int(line), kind) in logged


def test_rows_whose_region_is_emptied_load_without_it_and_with_a_repair(defective_world, defective_load):
    """A participant's, a facility's or a business's unknown region is emptied (handling `empty`): the row
    loads with the region NULL, and `audit.repair` keeps the reason and the value as sent, line for line."""
    url, _, _ = defective_load
    defects = _truth(defective_world, "defects.csv")
    rows = defects[(defects["line"] != "") & (defects["handling"] == "empty")]
    assert set(rows["kind"]) == {"region_unknown"} and "peserta" in set(rows["feed"])
    assert set(rows["feed"]) <= {"peserta", "umkm", "kur"}
    want = {(f, int(line)) for f, line in rows[["file", "line"]].itertuples(index=False)}
    repairs = _frame(url, "select l.file, r.line, r.column_name, r.before, r.after from audit.repair r "
                          "join audit.load l using (load_id) where r.kind = 'region_unknown'")
    assert set(map(tuple, repairs[["file", "line"]].itertuples(index=False))) == want
    assert set(repairs["column_name"]) == {"kode_wilayah"} and repairs["after"].isna().all()
    sent = {(f, int(line)): d.split(" -> ")[1] for f, line, d in rows[["file", "line", "detail"]].itertuples(index=False)}
    assert {(f, line): b for f, line, _, b, _ in repairs.itertuples(index=False)} == sent
    emptied = []
    for feed in ("peserta", "umkm", "kur"):
        table = contracts.load().feeds[feed].table
        emptied.append(_frame(url, f"select l.file, r._line as line from {table} r join audit.load l "
                                   f"on l.load_id = r._load_id where r.kode_wilayah is null"))
    assert set(map(tuple, pd.concat(emptied).itertuples(index=False))) == want


def test_repairs_leave_the_true_value(defective_world, defective_load):
    """An identifier with separators loads as the digits the sender meant."""
    url, _, _ = defective_load
    defects = _truth(defective_world, "defects.csv")
    fixed = defects[(defects["kind"] == "id_separators") & (defects["column"] == "nib")]
    repairs = _frame(url, "select l.file, r.line, r.after from audit.repair r join audit.load l using (load_id) "
                          "where r.kind = 'id_separators' and r.column_name = 'nib'")
    after = {(f, int(line)): a for f, line, a in repairs.itertuples(index=False)}
    assert len(fixed) > 0
    for f, line, detail in fixed[["file", "line", "detail"]].itertuples(index=False):
        if (f, int(line)) in after:
            assert after[(f, int(line))] == detail.split(" -> ")[0]


def test_a_clean_world_loads_whole_with_nothing_quarantined_or_repaired(clean_world, clean_load):
    url, _, outcomes = clean_load
    assert {o.status for o in outcomes} == {"loaded"}
    assert sum(o.rows_quarantined for o in outcomes) == 0
    rows = _truth(clean_world, "deliveries.csv")["rows"].astype(int).sum()
    assert sum(o.rows_loaded for o in outcomes) == rows
    assert _frame(url, "select count(*) as n from audit.repair")["n"][0] == 0
    assert all(o.repairs == [] for o in outcomes)


def test_niks_are_tokens_and_only_the_vault_holds_niks_and_names(clean_load):
    url, _, _ = clean_load
    columns = _frame(url, "select table_schema, table_name, column_name from information_schema.columns "
                          "where table_schema like 'raw_%'")
    personal = {"nik", "nik_pemilik", "nik_debitur", "nama", "nama_lengkap", "nama_pemilik", "nama_debitur"}
    assert not personal & set(columns["column_name"])
    vault = _frame(url, "select nik, nik_token, nama from vault.person order by random() limit 200")
    key = os.environ["SINERGI_PSEUDONYM_KEY"].encode()
    for nik, token, _ in vault.itertuples(index=False):
        assert token == hmac.new(key, nik.encode(), hashlib.sha256).hexdigest()[:24]
    tokens = _frame(url, "select nik_token from raw_bpjstk.peserta limit 50")["nik_token"]
    assert tokens.str.fullmatch(r"[0-9a-f]{24}").all()
    assert set(tokens) <= set(_frame(url, "select nik_token from vault.person")["nik_token"])


def test_after_a_load_every_batch_index_covers_every_block(clean_load):
    """A BRIN index treats blocks it has not summarised as matching any batch: until they are summarised,
    the warehouse's read of one month's batches would scan every recent block of the table."""
    url, _, _ = clean_load
    with pipeline.connect(url) as conn:
        indexes = [r[0] for r in conn.execute(
            "select c.oid::regclass::text from pg_class c join pg_am a on a.oid = c.relam "
            "where a.amname = 'brin' order by 1")]
        newly_summarised = {index: conn.execute("select brin_summarize_new_values(%s::regclass)",
                                                (index,)).fetchone()[0] for index in indexes}
    assert {f"{f.schema}.{f.name}_load" for f in contracts.load().feeds.values()} <= set(indexes)
    assert newly_summarised == dict.fromkeys(indexes, 0)


def test_delivering_everything_again_adds_nothing(defective_load):
    url, landing, _ = defective_load
    counts = _raw_counts(url)
    for archived in (landing / "_archive").rglob("*"):
        if archived.is_file() and not archived.name.endswith(".ctl"):
            original = archived.name.split("_", 1)[1]
            shutil.copy2(archived, landing / archived.parent.relative_to(landing / "_archive") / original)
    again = pipeline.load_landing(url, landing, pseudonym.from_environment())
    assert again and {o.status for o in again} <= {"duplicate"}
    assert _raw_counts(url) == counts


def _raw_counts(url):
    return {f.table: _frame(url, f"select count(*) as n from {f.table}")["n"][0] for f in contracts.load().feeds.values()}


def test_an_unreachable_database_raises_for_a_retry_and_leaves_the_file(clean_world, tmp_path):
    landing = copy_landing(clean_world, tmp_path / "landing")
    first = pipeline.pending(landing)[0]
    with pytest.raises(pipeline.TRANSIENT):
        pipeline.load_files("postgresql://postgres@127.0.0.1:1/nowhere", landing, [first], pseudonym.from_environment())
    assert (landing / first).exists()


# --- crash safety ------------------------------------------------------------------------------

CRASH_ROWS = 400_000


@pytest.fixture(scope="module")
def big_landing(clean_world, tmp_path_factory):
    landing = tmp_path_factory.mktemp("big") / "landing"
    (landing / "bpjstk" / "K1301").mkdir(parents=True)
    source = clean_world / "landing" / "bpjstk" / "K1301" / "K1301_peserta_202401.csv"
    big_peserta(source, landing / "bpjstk" / "K1301" / "K1301_peserta_202401.csv", CRASH_ROWS)
    return landing


def _raw_digest(url):
    """Every stored column but the load id (a killed load consumed one), in line order."""
    return _frame(url, "select count(*) as n, md5(string_agg(t::text, '|' order by _line)) as h from "
                       "(select (select file from audit.load where load_id = _load_id) as file, _line, kpj, "
                       "nik_token, tgl_lahir, jenis_kelamin, segmen, npp, program, upah, pekerjaan, kode_wilayah, "
                       "tgl_kepesertaan, status, iuran_terakhir from raw_bpjstk.peserta) t"
                  ).iloc[0].tolist()


@pytest.mark.slow
def test_a_load_killed_mid_file_then_rerun_equals_one_clean_load(big_landing, tmp_path, new_db):
    clean_url, crash_url = new_db(), new_db()
    clean = copy_landing(big_landing.parent, tmp_path / "clean")
    pipeline.load_landing(clean_url, clean, pseudonym.from_environment())
    crashed = copy_landing(big_landing.parent, tmp_path / "crashed")
    loader = subprocess.Popen([sys.executable, "-m", "sinergi.cli", "load", str(crashed), "--no-checks", "--json"],
                              env={**os.environ, "WAREHOUSE_URL": crash_url}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert _wait_for_copy(crash_url), "the loader never reached COPY"
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    assert _frame(crash_url, "select count(*) as n from audit.load")["n"][0] == 0
    rerun = pipeline.load_landing(crash_url, crashed, pseudonym.from_environment())
    assert [o.status for o in rerun] == ["loaded"] and rerun[0].rows_loaded == CRASH_ROWS
    assert _raw_digest(crash_url) == _raw_digest(clean_url)
    assert _frame(crash_url, "select count(*) as n from vault.person")["n"][0] == CRASH_ROWS


def _wait_for_copy(url, timeout=60.0) -> bool:
    """True once the warehouse shows rows streaming in (the COPY has run for a moment)."""
    name = url.rsplit("/", 1)[1]
    deadline = time.time() + timeout
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        while time.time() < deadline:
            row = conn.execute("select tuples_processed from pg_stat_progress_copy where datname = %s", (name,)).fetchone()
            if row and row[0] > CRASH_ROWS // 4:
                return True
            time.sleep(0.01)
    return False
