"""Runs the dbt project against the warehouse: the same call from `sinergi build` and the tests.

dbt reads its connection from SINERGI_DBT_* variables derived here from WAREHOUSE_URL, so one URL
configures loader and warehouse alike. The Airflow DAG runs the same project through Cosmos.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import settings

DBT_DIR = settings.PROJECT_ROOT / "dbt_project"
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}


def connection_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "SINERGI_DBT_HOST": parts.hostname or "127.0.0.1",
        "SINERGI_DBT_PORT": str(parts.port or 5432),
        "SINERGI_DBT_USER": unquote(parts.username or "postgres"),
        "SINERGI_DBT_PASSWORD": unquote(parts.password or ""),
        "SINERGI_DBT_DBNAME": parts.path.lstrip("/") or "postgres",
    }


def code_version() -> str:
    """The commit the warehouse was built from (with `+dirty` when the tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=settings.PROJECT_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "dbt_project", "ingestion", "sinergi"],
                               cwd=settings.PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        from . import __version__
        return __version__


def new_build_id() -> str:
    return uuid.uuid4().hex[:12]


def dbt(args: list[str], url: str | None = None, variables: dict | None = None,
        target_dir: Path | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project; raises CalledProcessError with dbt's output on failure."""
    url = url or settings.warehouse_url()
    env = {**os.environ, **TELEMETRY_OFF, **connection_env(url)}
    cmd = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(DBT_DIR),
           "--profiles-dir", str(DBT_DIR)]
    if target_dir:
        cmd += ["--target-path", str(target_dir)]
    if variables:
        cmd += ["--vars", json.dumps(variables)]
    return subprocess.run(cmd, env=env, check=True, text=True,
                          capture_output=quiet, cwd=DBT_DIR)


def build(url: str | None = None, include_unchecked: bool = False, quiet: bool = False,
          select: list[str] | None = None) -> str:
    """`dbt seed` + `dbt build`; returns the build id recorded with the published metrics."""
    build_id = new_build_id()
    variables = {"build_id": build_id, "code_version": code_version(), "include_unchecked": include_unchecked}
    args = ["build"] + (["--select", *select] if select else [])
    dbt(args, url, variables, quiet=quiet)
    return build_id
