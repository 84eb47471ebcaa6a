"""Names shared by the code, the DAGs and docker-compose.yml: one place to read them from."""
from __future__ import annotations

import os
from pathlib import Path

# What ingestion reads itself (it imports nothing from sinergi), re-exported here.
from ingestion.config import (  # noqa: F401
    ENV_GX_DIR,
    ENV_PSEUDONYM_KEY,
    MONTH_PATTERN,
    PROJECT_ROOT,
    gx_data_docs_dir,
    gx_dir,
    is_month,
)

# Environment variables the project reads.
ENV_WAREHOUSE_URL = "WAREHOUSE_URL"
ENV_LANDING_DIR = "SINERGI_LANDING_DIR"
ENV_DBT_TARGET_DIR = "SINERGI_DBT_TARGET_DIR"

DEFAULT_WAREHOUSE_URL = "postgresql://postgres@127.0.0.1:5432/sinergi"
DEFAULT_LANDING_DIR = "landing"

# Airflow connection id for the warehouse (AIRFLOW_CONN_SINERGI_WAREHOUSE in a deployment).
WAREHOUSE_CONN_ID = "sinergi_warehouse"

DAGS_DIR = PROJECT_ROOT / "dags"


def demo_url() -> str:
    """`make demo` uses a database of its own beside WAREHOUSE_URL's, which it may drop and recreate."""
    return warehouse_url().rsplit("/", 1)[0] + "/sinergi_demo"


def warehouse_url() -> str:
    return os.environ.get(ENV_WAREHOUSE_URL, DEFAULT_WAREHOUSE_URL)


def landing_dir() -> Path:
    return Path(os.environ.get(ENV_LANDING_DIR, DEFAULT_LANDING_DIR))


def landing_poke_seconds() -> float:
    """How often Airflow's triggerer looks for new files in the landing folder."""
    return float(os.environ.get("SINERGI_LANDING_POKE_SECONDS", "30"))


def landing_settle_seconds() -> float:
    """How long the waiting files must stay unchanged (names and modification times) before a load starts."""
    return float(os.environ.get("SINERGI_LANDING_SETTLE_SECONDS", "30"))


def dbt_docs_dir() -> Path:
    """Where `sinergi docs` writes dbt's documentation site (served by the dashboard)."""
    return Path(os.environ.get("SINERGI_DBT_DOCS_DIR", PROJECT_ROOT / ".local" / "dbt_docs"))
