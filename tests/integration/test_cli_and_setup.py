"""The command line, Indonesian formatting, warehouse bootstrap, and the CI/README contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from sinergi.core import settings
from sinergi.warehouse import database

ROOT = settings.PROJECT_ROOT
SINERGI = str(Path(sys.executable).parent / "sinergi")
SIMULATOR = str(Path(sys.executable).parent / "sinergi-sim")


def test_generate_command_writes_landing_and_truth(tmp_path):
    run = subprocess.run([SIMULATOR, "generate", "--profile", "seed", "--scale", "0.05", "--months", "1",
                          "--start", "2024-03", "--seed", "1", "--defects", "none", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Selesai" in run.stdout
    assert (tmp_path / "landing" / "himbara" / "bri" / "KUR_BRI_202403.txt").exists()
    assert (tmp_path / "truth" / "metrics.csv").read_text().startswith("as_of,metric,region,breakdown")
    assert (tmp_path / "truth" / "defects.csv").read_text().count("\n") == 1, "--defects none logs nothing"
    # What `make demo` prints of a world it generated (the demo's own run takes minutes: not in make test).
    from rich.console import Console

    from simulator import summary
    console = Console(record=True, width=150)
    summary.print_world(tmp_path, console)
    shown = console.export_text()
    assert "Kiriman" in shown and "himbara" in shown and "berkas" in shown


def test_generate_rejects_bad_arguments_in_bahasa(tmp_path):
    run = subprocess.run([SIMULATOR, "generate", "--start", "2024-13", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "format bulan YYYY-MM" in run.stderr + run.stdout


def test_ensure_creates_a_missing_database(pg_url):
    url = pg_url.rsplit("/", 1)[0] + "/" + database.database_name(pg_url) + "_x"
    try:
        said = []
        assert database.ensure(url, say=said.append) == url
        assert said and "dibuat" in said[0]
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        said.clear()
        database.ensure(url, say=said.append)
        assert said == [], "an existing database is left alone"
    finally:
        database.drop_database(url)


def test_no_server_falls_back_to_embedded_postgres(tmp_path, monkeypatch):
    monkeypatch.setattr(database, "EMBEDDED_DIR", tmp_path / "pgdata")
    said = []
    url = database.ensure("postgresql://postgres@127.0.0.1:1/sinergi", say=said.append)
    assert "PostgreSQL tertanam" in said[0]
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_database()").fetchone() == ("sinergi",)
    import pgserver
    pgserver.get_server(str(tmp_path / "pgdata"), cleanup_mode="stop").cleanup()


