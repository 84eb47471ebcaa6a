"""docker-compose.yml and the image's Dockerfile read as data: shared by tests/unit/test_compose.py (the
file against the code) and tests/integration/test_deployment_runs.py (its services run)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from sinergi.core import settings

ROOT = settings.PROJECT_ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))

SERVICES: dict = COMPOSE["services"]

AIRFLOW_COMMON: dict = COMPOSE["x-airflow-common"]

AIRFLOW_SERVICES = {name: svc for name, svc in SERVICES.items() if name.startswith("airflow-")}

INIT_SQL = ROOT / "deploy" / "postgres-init" / "01-databases.sql"

DOCKERFILE = ROOT / AIRFLOW_COMMON["build"]["context"] / AIRFLOW_COMMON["build"]["dockerfile"]

DOCKERIGNORE = DOCKERFILE.with_name(DOCKERFILE.name + ".dockerignore")

# Services run once to completion (others wait for them with service_completed_successfully).
ONE_SHOT = {name for name, svc in SERVICES.items() if svc.get("restart") == "no"}

WAREHOUSE_CONN_ENV = "AIRFLOW_CONN_" + settings.WAREHOUSE_CONN_ID.upper()

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} or $VAR; "$$" is an escaped "$".
INTERPOLATION = re.compile(
    r"(?<!\$)\$(?:\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)

WHOLE_INTERPOLATION = re.compile(r"\$\{[A-Za-z_]\w*(?::?[-?][^}]*)?\}")

SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|FERNET")

URL_PASSWORD = re.compile(r"://[^/:@\s]+:(?P<password>[^@\s]+)@")

def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            pairs[name.strip()] = value.strip()
    return pairs

ENV_EXAMPLE = _env_example()

def interpolate(value: str, env: dict[str, str] = ENV_EXAMPLE) -> str:
    """Resolve compose interpolation the way `docker compose` does with the given .env."""

    def substitute(match: re.Match) -> str:
        name = match["name"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        current = env.get(name)
        missing = current is None or (op.startswith(":") and current == "")
        if missing and op.endswith("?"):
            raise KeyError(f"{name} is required: {arg}")
        if missing and op.endswith("-"):
            return arg
        return current or ""

    return INTERPOLATION.sub(substitute, value).replace("$$", "$")

def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}

def volumes_of(service: dict) -> list[tuple[str, str]]:
    """(host, container) pairs; short syntax is split on ':' outside ${...}."""
    pairs = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            pairs.append((volume.get("source", ""), volume["target"]))
        else:
            parts = re.findall(r"(?:\$\{[^}]*\}|[^:])+", volume)
            pairs.append((parts[0], parts[1]))
    return pairs

def command_of(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command

def strings_in(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings_in(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings_in(value)]
    return []

def interpolated_names() -> set[str]:
    return {m["name"] or m["bare"] for s in strings_in(COMPOSE) for m in INTERPOLATION.finditer(s)}

def is_bind_mount(host: str) -> bool:
    return host.startswith((".", "/", "~", "$"))

def dockerfile_copies() -> dict[str, str]:
    """The image's project files: repository path -> path in the image, from the Dockerfile's COPY lines."""
    copies = {}
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            *sources, target = [w for w in line.split()[1:] if not w.startswith("--")]
            for source in sources:
                copies[source.rstrip("/")] = (target + Path(source).name) if target.endswith("/") else target
    return copies

# Where the image holds the project: PYTHONPATH of the Airflow services.
IMAGE_ROOT = env_of(AIRFLOW_COMMON)["PYTHONPATH"]

PROJECT_DIRS = ("dags", "dbt_project", "expectations", "ingestion", "sinergi")
