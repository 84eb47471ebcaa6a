"""Unit tests run without a database (and in well under a minute): a connection attempt fails the test, and
the database fixtures refuse. Tests that need PostgreSQL belong in tests/integration."""
from __future__ import annotations

import psycopg
import pytest


def _no_database(*args, **kwargs):
    raise AssertionError("a unit test opened a database connection: move it to tests/integration")


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    monkeypatch.setattr(psycopg, "connect", _no_database)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(lambda cls, *a, **k: _no_database()))


@pytest.fixture(scope="session")
def pg_url():
    raise AssertionError("unit tests have no database: move this test to tests/integration")


@pytest.fixture(scope="session")
def new_db():
    raise AssertionError("unit tests have no database: move this test to tests/integration")
