"""Runs the dbt project against the warehouse: the same call from `sinergi build` and the tests.

dbt reads its connection from SINERGI_DBT_* variables derived here from WAREHOUSE_URL, so one URL
configures loader and warehouse alike. The Airflow DAG runs the same project through Cosmos.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from functools import lru_cache
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ingestion import access

from . import settings

DBT_DIR = settings.PROJECT_ROOT / "dbt_project"
MANIFEST = DBT_DIR / "target" / "manifest.json"
# Folders of the project that are dbt's output, not its input.
_NOT_SOURCES = {"target", "logs", "dbt_packages"}
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}


def connection_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "SINERGI_DBT_HOST": parts.hostname or "127.0.0.1",
        "SINERGI_DBT_PORT": str(parts.port or 5432),
        "SINERGI_DBT_USER": unquote(parts.username or "postgres"),
        "SINERGI_DBT_PASSWORD": unquote(parts.password or ""),
        "SINERGI_DBT_DBNAME": parts.path.lstrip("/") or "postgres",
        "SINERGI_DBT_ROLE": access.TRANSFORMER,
    }


def code_version() -> str:
    """The commit the warehouse was built from (with `+dirty` when the tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=settings.PROJECT_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "dbt_project", "ingestion", "sinergi"],
                               cwd=settings.PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):  # no git, or not a checkout (a deployment's mounted copy)
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("sinergi")
        except PackageNotFoundError:
            return "unknown"


def new_build_id() -> str:
    return uuid.uuid4().hex[:12]


class DbtFailed(RuntimeError):
    """dbt exited with an error; the message ends with the tail of its output."""


@lru_cache(maxsize=1)
def _own_target_dir() -> Path:
    # One target (and log) folder per process: two dbt runs sharing one would overwrite each other's
    # manifest and partial-parse state (tests and Airflow tasks run side by side).
    return Path(tempfile.mkdtemp(prefix="sinergi_dbt_"))


def dbt(args: list[str], url: str | None = None, variables: dict | None = None,
        target_dir: Path | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project; raises DbtFailed with the tail of dbt's output on failure."""
    url = url or settings.warehouse_url()
    env = {**os.environ, **TELEMETRY_OFF, **connection_env(url)}
    target_dir = target_dir or _own_target_dir()
    cmd = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(DBT_DIR),
           "--profiles-dir", str(DBT_DIR), "--target-path", str(target_dir), "--log-path", str(target_dir)]
    if variables:
        cmd += ["--vars", json.dumps(variables)]
    result = subprocess.run(cmd, env=env, text=True, capture_output=quiet, cwd=DBT_DIR)
    if result.returncode != 0:
        tail = (result.stdout or "")[-5000:]
        raise DbtFailed(f"dbt {' '.join(args)} gagal (kode {result.returncode}).\n{tail}")
    return result


def build(url: str | None = None, include_unchecked: bool = False, quiet: bool = False,
          select: list[str] | None = None, with_tests: bool = True) -> str:
    """`dbt build` (seeds, models and their tests); returns the build id recorded with the published
    metrics. `with_tests=False` builds seeds and models only (the tests that compare with the truth use
    it where the dbt tests already ran on the same code)."""
    build_id = new_build_id()
    variables = {"build_id": build_id, "code_version": code_version(), "include_unchecked": include_unchecked}
    access.ensure(url or settings.warehouse_url())  # dbt connects as the transformer role
    args = ["build"] + (["--select", *select] if select else [])
    if not with_tests:
        args += ["--exclude", "resource_type:test", "resource_type:unit_test"]
    dbt(args, url, variables, quiet=quiet)
    return build_id


def docs(url: str | None = None) -> Path:
    """dbt's documentation as one static page in settings.dbt_docs_dir() (the dashboard serves it)."""
    access.ensure(url or settings.warehouse_url())
    dbt(["docs", "generate", "--static"], url, quiet=True)
    target = settings.dbt_docs_dir()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(_own_target_dir() / "static_index.html", target / "index.html")
    return target / "index.html"


def dbt_executable() -> str:
    """The dbt beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def outside_paths() -> list[Path]:
    """Project folders that dbt_project.yml names outside dbt_project/ (the seeds in ../ingestion/reference)."""
    import yaml
    config = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    paths = [(DBT_DIR / p).resolve() for key, value in config.items()
             if key.endswith("-paths") and key not in ("target-path", "clean-targets") and isinstance(value, list)
             for p in value]
    return [p for p in paths if not p.is_relative_to(DBT_DIR)]


def _source_mtimes() -> Iterator[float]:
    """Modification times of every file and folder the manifest is parsed from (a folder's time changes when
    a file in it is added, removed or renamed)."""
    for root in [DBT_DIR, *outside_paths()]:
        for folder, dirs, files in os.walk(root):
            if Path(folder) == DBT_DIR:
                dirs[:] = [d for d in dirs if d not in _NOT_SOURCES]
            yield os.stat(folder).st_mtime
            for name in files:
                yield os.stat(os.path.join(folder, name)).st_mtime


def manifest_is_fresh() -> bool:
    return MANIFEST.exists() and max(_source_mtimes()) <= MANIFEST.stat().st_mtime


def manifest() -> Path:
    """dbt_project/target/manifest.json, made with `dbt parse` when missing or older than a project file.

    Cosmos renders the warehouse DAG from this file (one task per seed and model), so a fresh clone gets it
    the first time the DAG is parsed, and an edited model shows in the DAG at the next parse. Checking costs
    a stat per project file; parsing takes a few seconds and needs no database. The new manifest replaces
    the old one in one rename, and carries the time parsing started, so an edit made meanwhile is seen as
    newer. Raises DbtFailed (with the tail of dbt's output) when the project does not parse.
    """
    if manifest_is_fresh():
        return MANIFEST
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with open(MANIFEST.parent / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one parse at a time (DAG processor, tests, `make demo`)
        if manifest_is_fresh():
            return MANIFEST
        started = time.time()
        scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=MANIFEST.parent))
        try:
            dbt(["parse"], target_dir=scratch, quiet=True)
            os.replace(scratch / "manifest.json", MANIFEST)
            os.utime(MANIFEST, (started, started))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return MANIFEST
