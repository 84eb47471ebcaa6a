"""Operator mistakes, concurrent runs, replays and faults: refused or survived, nothing lost or duplicated."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from ingestion import landing as landing_mod
from ingestion import pipeline, pseudonym
from ingestion.loader import Loader
from simulator import Options, generate, profiles
from sinergi.cli import app

ODS = "kemenkop/ods"
FILES = [f"{ODS}/koperasi_20240131.csv", f"{ODS}/pengurus_20240131.csv", "bpjstk/K1301/K1301_peserta_202401.csv",
         "bpjstk/K1301/K1301_klaim_202401.csv"]


def _small_landing(world: Path, target: Path, files=FILES) -> Path:
    """A landing folder with a few of a world's files, delivery times kept."""
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(world / "landing" / rel, target / rel)
    return target


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _ledger(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select file, status, reason_code, duplicate_of from audit.load order by load_id").fetchall()


def _cli(url: str, *args: str):
    return CliRunner().invoke(app, list(args), env={**os.environ, "WAREHOUSE_URL": url})


@pytest.fixture()
def landing(clean_world, tmp_path):
    return _small_landing(clean_world, tmp_path / "landing")


# --- operator mistakes --------------------------------------------------------------------------

def test_a_world_root_is_refused_and_nothing_moves(clean_world, tmp_path, new_db):
    root = tmp_path / "world"
    _small_landing(clean_world, root / "landing")
    shutil.copytree(clean_world / "truth", root / "truth")
    before = _tree(root)
    url = new_db()
    result = _cli(url, "load", str(root), "--no-checks")
    assert result.exit_code == 2
    assert "induknya" in result.output and str(root / "landing") in result.output.replace("\n", "")
    assert _tree(root) == before
    with psycopg.connect(url) as conn:
        assert conn.execute("select to_regclass('audit.load')").fetchone()[0] is None


@pytest.mark.parametrize("kind", ["missing", "empty", "no_sender_folder", "a_file"])
def test_a_folder_that_is_not_a_landing_folder_is_refused(kind, tmp_path, new_db):
    target = tmp_path / "x"
    if kind == "empty":
        target.mkdir()
    elif kind == "no_sender_folder":
        (target / "downloads").mkdir(parents=True)
        (target / "downloads" / "K1301_peserta_202401.csv").write_text("a;b\n")
    elif kind == "a_file":
        target.write_text("not a folder\n")
    before = _tree(tmp_path)
    result = _cli(new_db(), "load", str(target), "--no-checks")
    assert result.exit_code == 2 and "Gagal" in result.output
    assert _tree(tmp_path) == before


def test_a_symlink_is_refused_not_followed_and_the_rest_loads(landing, tmp_path, new_db):
    outside = tmp_path / "outside.csv"
    shutil.copy2(landing / FILES[2], outside)
    link = landing / "bpjstk" / "K1301" / "K1301_iuran_202401.csv"
    link.symlink_to(outside)
    url = new_db()
    result = _cli(url, "load", str(landing), "--no-checks", "--json")
    assert result.exit_code == 0, result.output
    assert '"reason_code": "symlink"' in result.output
    assert link.is_symlink() and outside.exists()
    ledger = _ledger(url)
    assert {f for f, *_ in ledger} == set(FILES)
    assert all(status == "loaded" for _, status, *_ in ledger)


# --- concurrent runs ----------------------------------------------------------------------------

def test_a_second_load_on_the_same_landing_exits_at_once_naming_the_first(landing, new_db):
    before = _tree(landing)
    url = new_db()
    with pipeline.sender_lock(url, ["bpjstk"]):
        result = _cli(url, "load", str(landing), "--no-checks")
    assert result.exit_code == 2
    assert f"pid {os.getpid()}" in result.output and "sedang memuat" in result.output
    assert _tree(landing) == before


def test_two_loads_at_once_load_each_file_once(landing, new_db):
    url, keys = new_db(), pseudonym.from_environment()
    errors = []

    def run():
        try:
            pipeline.load_landing(url, landing, keys)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(f for f, *_ in _ledger(url)) == sorted(FILES)
    assert not [p for p in _tree(landing) if not p.startswith("_")]


def test_a_committed_file_left_in_landing_is_moved_not_duplicated(landing, new_db):
    url, keys = new_db(), pseudonym.from_environment()
    with pipeline.connect(url) as conn:
        loader = Loader(conn, landing, keys)
        loader.ensure_schema()
        first = loader.load(FILES[0])  # committed, then "killed" before the move
    assert first.status == "loaded" and (landing / FILES[0]).exists()
    again = pipeline.load_landing(url, landing, keys)
    assert [o.recovered for o in again if o.file == FILES[0]] == [True]
    assert [s for f, s, *_ in _ledger(url) if f == FILES[0]] == ["loaded"]
    assert not (landing / FILES[0]).exists() and (landing / first.archived_to).exists()


# --- replay -------------------------------------------------------------------------------------

def test_a_file_moved_back_after_a_fix_is_read_again(landing, new_db):
    url, keys = new_db(), pseudonym.from_environment()
    rel = FILES[2]
    good = (landing / rel).read_bytes()
    header, rest = good.split(b"\n", 1)
    (landing / rel).write_bytes(header.replace(b"NIK", b"NOMOR INDUK", 1) + b"\n" + rest)
    first = {o.file: o for o in pipeline.load_landing(url, landing, keys)}[rel]
    assert first.status == "rejected" and first.reason_code == "missing_column"
    # The runbook: fix (here the file itself), move it back from _rejected/, load again.
    shutil.move(landing / first.archived_to, landing / rel)
    (landing / rel).write_bytes(good)
    second = {o.file: o for o in pipeline.load_landing(url, landing, keys)}[rel]
    assert second.status == "loaded" and not second.recovered and second.rows_loaded > 0
    assert [s for f, s, *_ in _ledger(url) if f == rel] == ["rejected", "loaded"]
    # Moved back unchanged: read again too, and the ledger says it was the same bytes.
    shutil.move(landing / second.archived_to, landing / rel)
    third = {o.file: o for o in pipeline.load_landing(url, landing, keys)}[rel]
    assert third.status == "duplicate" and not third.recovered


# --- faults -------------------------------------------------------------------------------------

def _kill_loader_backends(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                     "and pid <> pg_backend_pid()", (name,))


def test_a_lost_connection_is_reopened_and_the_run_completes(landing, new_db):
    url = new_db()
    done = []

    def on_file(outcome):
        done.append(outcome)
        if len(done) == 1:
            _kill_loader_backends(url)

    outcomes = pipeline.load_landing(url, landing, pseudonym.from_environment(), on_file=on_file)
    assert [o.status for o in outcomes] == ["loaded"] * len(FILES)
    assert sorted(f for f, *_ in _ledger(url)) == sorted(FILES)


def test_a_database_that_stays_away_stops_the_run_naming_the_file(landing, new_db, monkeypatch):
    url = new_db()
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    monkeypatch.setattr(pipeline, "RETRY_SECONDS", 2.0)

    def on_file(outcome):
        _kill_loader_backends(url)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'alter database "{name}" rename to "{name}_away"')

    try:
        with pytest.raises(pipeline.LoadInterrupted) as caught:
            pipeline.load_landing(url, landing, pseudonym.from_environment(), on_file=on_file)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'alter database "{name}_away" rename to "{name}"')
    stopped = caught.value
    assert [o.status for o in stopped.done] == ["loaded"]
    assert stopped.file in FILES and stopped.file in str(stopped)
    assert (landing / stopped.file).exists()
    rerun = pipeline.load_landing(url, landing, pseudonym.from_environment())
    assert sorted(f for f, *_ in _ledger(url)) == sorted(FILES) and all(o.status == "loaded" for o in rerun)


def test_a_file_that_vanishes_before_its_turn_is_not_an_error(landing, new_db):
    url = new_db()
    files = pipeline.pending(landing)
    (landing / files[1]).unlink()
    outcomes = pipeline.load_files(url, landing, files, pseudonym.from_environment())
    assert [o.file for o in outcomes] == [f for f in files if f != files[1]]


def test_a_file_that_changes_while_read_waits_for_the_next_run(landing, new_db, monkeypatch):
    url, keys = new_db(), pseudonym.from_environment()
    rel = FILES[2]
    real, calls = landing_mod.signature, []

    def growing(path):
        calls.append(path)
        if Path(path) == landing / rel and len([c for c in calls if Path(c) == landing / rel]) == 2:
            st = os.stat(path)  # the sender's tool is still writing: the time of its last write moves on
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return real(path)

    monkeypatch.setattr(landing_mod, "signature", growing)
    outcomes = {o.file: o for o in pipeline.load_landing(url, landing, keys)}
    assert outcomes[rel].status == "skipped" and outcomes[rel].reason_code == "file_changing"
    assert rel not in [f for f, *_ in _ledger(url)] and (landing / rel).exists()
    monkeypatch.setattr(landing_mod, "signature", real)
    later = pipeline.load_landing(url, landing, keys)
    assert [(o.file, o.status) for o in later] == [(rel, "loaded")]


# --- ledger and generator -----------------------------------------------------------------------

def test_the_ledger_shows_reasons_not_checksums(landing, new_db):
    url = new_db()
    (landing / "bpjstk" / "K1301" / "catatan.txt").write_text("bukan kiriman\n")
    pipeline.load_landing(url, landing, pseudonym.from_environment())
    with psycopg.connect(url) as conn:
        sha = conn.execute("select sha256 from audit.load where status = 'rejected'").fetchone()[0]
    result = _cli(url, "ledger", "--status", "rejected")
    assert result.exit_code == 0, result.output
    assert "tidak dikenal" in result.output and sha[:12] not in result.output


def test_the_generator_refuses_a_scale_below_its_minimum_and_works_at_it(tmp_path):
    low = profiles.minimum_scale("seed", 42)
    with pytest.raises(profiles.ScaleTooSmall, match=f"--scale {low:g}"):
        generate(Options(scale=low - 0.0001, months=1), tmp_path / "low")
    result = generate(Options(scale=low, months=3), tmp_path / "min")
    assert result.files > 0 and (tmp_path / "min" / "truth" / "metrics.csv").exists()


# --- corrections of quarantined rows ------------------------------------------------------------

def test_quarantined_rows_corrected_by_an_engineer_load_and_are_recorded(landing, new_db, tmp_path):
    import csv
    url = new_db()
    rel = FILES[2]
    lines = (landing / rel).read_bytes().split(b"\n")
    good = lines[3].decode("utf-8")
    fields = good.split(";")
    fields[1] = fields[1][:-1]  # a NIK one digit short: quarantined as nik_length
    lines[3] = ";".join(fields).encode("utf-8")
    (landing / rel).write_bytes(b"\n".join(lines))
    first = {o.file: o for o in pipeline.load_landing(url, landing, pseudonym.from_environment())}[rel]
    assert first.status == "loaded" and first.rows_quarantined == 1

    sheet = tmp_path / "koreksi.csv"
    result = _cli(url, "quarantine", "--file", rel, "--export", str(sheet))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert [(r["baris"], r["alasan"]) for r in rows] == [("4", "nik_length")]
    rows[0]["teks_koreksi"] = good
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = _cli(url, "correct", str(sheet), "--note", "NIK dikonfirmasi cabang K1301 (surel 2 Des)",
                  "--landing", str(landing))
    assert result.exit_code == 0, result.output
    corrected = rel.replace("_202401.csv", "_202401_v2.csv")
    assert (landing / corrected).exists()

    second = {o.file: o for o in pipeline.load_landing(url, landing, pseudonym.from_environment())}[corrected]
    assert second.status == "loaded" and second.rows_quarantined == 0 and second.rows_loaded == first.rows_loaded + 1
    with psycopg.connect(url) as conn:
        assert conn.execute("select status from audit.load where load_id = %s", (first.load_id,)).fetchone()[0] \
            == "superseded"
        recorded = conn.execute("select c.line, c.corrected_file, c.note, q.reason from audit.correction c "
                                "join audit.quarantine q using (load_id, line) where c.load_id = %s",
                                (first.load_id,)).fetchall()
    assert recorded == [(4, corrected, "NIK dikonfirmasi cabang K1301 (surel 2 Des)", "nik_length")]


def test_a_correction_of_a_line_that_was_not_quarantined_is_refused(landing, new_db, tmp_path):
    url = new_db()
    outcome = pipeline.load_landing(url, landing, pseudonym.from_environment())[0]
    sheet = tmp_path / "koreksi.csv"
    sheet.write_text(f"muatan,baris,teks_koreksi\n{outcome.load_id},2,x;y\n", encoding="utf-8")
    before = _tree(landing)
    result = _cli(url, "correct", str(sheet), "--note", "uji", "--landing", str(landing))
    assert result.exit_code == 2 and "tidak dikarantina" in result.output
    assert _tree(landing) == before
