"""Names shared by the code, the DAGs and docker-compose.yml: one place to read them from."""
from __future__ import annotations

import os
from pathlib import Path

# Environment variables the project reads.
ENV_WAREHOUSE_URL = "WAREHOUSE_URL"
ENV_LANDING_DIR = "SINERGI_LANDING_DIR"
ENV_PSEUDONYM_KEY = "SINERGI_PSEUDONYM_KEY"
ENV_GX_DIR = "SINERGI_GX_DIR"
ENV_DBT_TARGET_DIR = "SINERGI_DBT_TARGET_DIR"

DEFAULT_WAREHOUSE_URL = "postgresql://postgres@127.0.0.1:5432/sinergi"
DEFAULT_LANDING_DIR = "landing"

# Airflow connection id for the warehouse (AIRFLOW_CONN_SINERGI_WAREHOUSE in a deployment).
WAREHOUSE_CONN_ID = "sinergi_warehouse"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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


def gx_dir() -> Path:
    """Great Expectations' runtime project (stores, results, Data Docs): outside version control."""
    return Path(os.environ.get(ENV_GX_DIR, PROJECT_ROOT / ".local" / "gx"))


def gx_data_docs_dir() -> Path:
    """Where Great Expectations writes its Data Docs site (ingestion/quality.py) and the dashboard serves it
    from: the local site of the file-mode project that Great Expectations keeps in a `gx/` folder of
    gx_dir()."""
    return gx_dir() / "gx" / "uncommitted" / "data_docs" / "local_site"


def dbt_docs_dir() -> Path:
    """Where `sinergi docs` writes dbt's documentation site (served by the dashboard)."""
    return Path(os.environ.get("SINERGI_DBT_DOCS_DIR", PROJECT_ROOT / ".local" / "dbt_docs"))
