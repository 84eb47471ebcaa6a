"""Shared fixtures: generated worlds (made once per session) and a throwaway warehouse database."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid

import pytest

from simulator import Options, generate

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# Airflow imported by a test reads its home at import: keep it out of ~/airflow.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="sinergi_airflow_")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# dbt's target folders (one per test database, kept between builds for partial parsing): removed at exit.
os.environ["SINERGI_DBT_TARGET_DIR"] = tempfile.mkdtemp(prefix="sinergi_dbt_")
atexit.register(shutil.rmtree, os.environ["SINERGI_DBT_TARGET_DIR"], ignore_errors=True)
# A key made for this session only: nothing in the repository can reproduce the tokens.
os.environ["SINERGI_PSEUDONYM_KEY"] = uuid.uuid4().hex + uuid.uuid4().hex

CLEAN = Options(profile="seed", scale=0.25, months=2, start="2024-01", seed=7, defect_rate=0.0)
DEFECTIVE = Options(profile="seed", scale=0.25, months=2, start="2024-01", seed=7, defect_rate=0.002)
SMALL = Options(profile="seed", scale=0.05, months=1, start="2024-01", seed=7, defect_rate=0.0)
NATIONAL = Options(profile="national", scale=0.0005, months=2, start="2024-01", seed=3, defect_rate=0.002)
# A clean national month: all 514 regencies/cities and 267 branches, more files than Airflow's
# max_map_length (1024); scale only shrinks rows. Loaded by the real scheduler (test_scheduler.py) and by
# the plain commands (national_month_warehouse), which must agree with each other and with the truth.
NATIONAL_MONTH = Options(profile="national", scale=0.0005, months=1, start="2024-01", seed=3, defect_rate=0.0)


def _world(tmp_path_factory, name: str, opts: Options):
    out = tmp_path_factory.mktemp(name)
    generate(opts, out)
    return out


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory):
    return _world(tmp_path_factory, "clean", CLEAN)


@pytest.fixture(scope="session")
def defective_world(tmp_path_factory):
    return _world(tmp_path_factory, "defective", DEFECTIVE)


@pytest.fixture(scope="session")
def national_world(tmp_path_factory):
    return _world(tmp_path_factory, "national", NATIONAL)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """A small clean world for the tests that run the DAGs in-process (`dag.test()`, the demo's path):
    the real scheduler runs the national month (test_scheduler.py)."""
    return _world(tmp_path_factory, "small", SMALL)


@pytest.fixture(scope="session")
def national_month_world(tmp_path_factory):
    return _world(tmp_path_factory, "national_month", NATIONAL_MONTH)


@pytest.fixture(scope="session")
def national_month_warehouse(national_month_world, tmp_path_factory, new_db):
    """The national month through a plain `sinergi load && sinergi build` (tested by the truth and by the
    scheduler's run of the same world)."""
    from landing import load_and_build
    return load_and_build(national_month_world, tmp_path_factory, new_db, "national_month_wh", with_tests=False)


@pytest.fixture(scope="session")
def pg_url():
    """A uniquely named database on the local server, dropped after the session."""
    from sinergi.core import settings
    from sinergi.warehouse import database
    base = os.environ.get("TEST_PG_URL", settings.DEFAULT_WAREHOUSE_URL)
    url = base.rsplit("/", 1)[0] + f"/sinergi_test_{uuid.uuid4().hex[:10]}"
    if not database.server_answers(url):
        pytest.fail(f"No PostgreSQL answers at {url}: start it or set TEST_PG_URL")
    database.create_database(url)
    yield url
    database.drop_database(url)


@pytest.fixture(scope="session")
def new_db():
    """Factory of fresh, uniquely named databases; all dropped after the session."""
    from sinergi.core import settings
    from sinergi.warehouse import database
    base = os.environ.get("TEST_PG_URL", settings.DEFAULT_WAREHOUSE_URL)
    made = []

    def make() -> str:
        url = base.rsplit("/", 1)[0] + f"/sinergi_test_{uuid.uuid4().hex[:10]}"
        if not database.server_answers(url):
            pytest.fail(f"No PostgreSQL answers at {url}: start it or set TEST_PG_URL")
        database.create_database(url)
        made.append(url)
        return url

    yield make
    for url in made:
        database.drop_database(url)


@pytest.fixture(scope="session")
def gx_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("gx")
    os.environ["SINERGI_GX_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def clean_warehouse(clean_world, tmp_path_factory, new_db):
    from landing import load_and_build
    return load_and_build(clean_world, tmp_path_factory, new_db, "clean_wh")


@pytest.fixture(scope="session")
def defective_warehouse(defective_world, tmp_path_factory, new_db):
    """The defective seed world loaded and built: shared by the warehouse, access, dashboard and report tests."""
    from landing import load_and_build
    return load_and_build(defective_world, tmp_path_factory, new_db, "defective_wh")


@pytest.fixture
def redis_db():
    """An empty database number on the machine's Redis (a Celery broker for one test), emptied after: a
    message left by an earlier, interrupted run must not reach this test's worker."""
    import redis
    number = next((n for n in (13, 12, 11, 10, 9, 14, 8)
                   if redis.Redis(host="127.0.0.1", port=6379, db=n).dbsize() == 0), None)
    if number is None:
        pytest.fail("no empty Redis database among 8-14 on 127.0.0.1:6379")
    yield number
    redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()
