"""docker-compose.yml checked against the code (sinergi/settings.py) and its companion files.

No Docker engine is needed: the file is parsed with yaml.safe_load and, where values matter,
interpolated with the placeholder values of .env.example the way `docker compose` would.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from sinergi import settings

ROOT = settings.PROJECT_ROOT
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict = COMPOSE["services"]
AIRFLOW_COMMON: dict = COMPOSE["x-airflow-common"]
AIRFLOW_SERVICES = {name: svc for name, svc in SERVICES.items() if name.startswith("airflow-")}
INIT_SQL = ROOT / "deploy" / "postgres-init" / "01-databases.sql"
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


# --- PostgreSQL and Redis -------------------------------------------------------------------

def test_postgres_16_with_healthcheck_and_named_data_volume():
    postgres = SERVICES["postgres"]
    match = re.fullmatch(r"postgres:(\d+)(?:[.-].*)?", postgres["image"])
    assert match and int(match[1]) == 16, postgres["image"]
    assert "pg_isready" in " ".join(strings_in(postgres["healthcheck"]["test"]))
    data = dict((c, h) for h, c in volumes_of(postgres))["/var/lib/postgresql/data"]
    assert not is_bind_mount(data) and data in COMPOSE["volumes"]


def test_redis_is_the_celery_broker():
    assert SERVICES["redis"]["image"].split(":")[0] == "redis"
    for name, service in AIRFLOW_SERVICES.items():
        broker = urlsplit(env_of(service)["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname) == ("redis", "redis"), name


# --- Airflow components -----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["api-server", "scheduler", "dag-processor", "triggerer", "celery worker"])
def test_airflow_component_runs(command):
    runners = [name for name, svc in AIRFLOW_SERVICES.items() if command_of(svc).split(" --")[0] == command]
    assert runners, f"no service runs `airflow {command}`"


def test_airflow_init_migrates_and_creates_admin():
    init = command_of(SERVICES["airflow-init"])
    assert "airflow db migrate" in init
    assert "airflow users create" in init and "--role Admin" in init
    for name, service in AIRFLOW_SERVICES.items():
        if name != "airflow-init":
            assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_airflow_service_uses_common_image_and_celery(name):
    service = AIRFLOW_SERVICES[name]
    assert service["image"] == AIRFLOW_COMMON["image"]
    assert service["build"] == AIRFLOW_COMMON["build"]
    assert env_of(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env_of(service)["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert int(env_of(service)["AIRFLOW__CORE__PARALLELISM"]) <= 16


def test_airflow_image_matches_requirements():
    build = AIRFLOW_COMMON["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text(encoding="utf-8")
    base = re.search(r"^FROM\s+apache/airflow:(\S+)-python(\d+)\.(\d+)\s*$", dockerfile, re.M)
    assert base, "Dockerfile must start FROM apache/airflow:<version>-python<X.Y>"
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)[1]
    assert base[1] == pinned, "image and requirements.txt pin different Airflow versions"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(p) for p in re.fullmatch(r">=(\d+)\.(\d+)", requires).groups())
    assert (int(base[2]), int(base[3])) >= minimum
    assert re.search(r"^COPY\s.*\brequirements\.txt\b", dockerfile, re.M)
    assert re.search(r"pip install .*-r \S*requirements\.txt", dockerfile)
    assert not any("_PIP_ADDITIONAL_REQUIREMENTS" in env_of(svc) for svc in SERVICES.values())


# --- Project code, settings and mounts ---------------------------------------------------------

@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_dags_folder_is_the_repo_dags_dir(name):
    service = AIRFLOW_SERVICES[name]
    dags_folder = env_of(service)["AIRFLOW__CORE__DAGS_FOLDER"]
    mounts = {container: host for host, container in volumes_of(service)}
    assert dags_folder.startswith("/") and dags_folder in mounts
    assert mounts[dags_folder] == "./" + settings.DAGS_DIR.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_project_packages_importable_from_pythonpath(name):
    service = AIRFLOW_SERVICES[name]
    pythonpath = env_of(service)["PYTHONPATH"]
    mounts = {container: host for host, container in volumes_of(service)}
    for package in (Path(settings.__file__).parent, ROOT / "ingestion"):
        assert mounts.get(f"{pythonpath}/{package.name}") == "./" + package.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_settings_env_vars_and_warehouse_connection_are_set(name):
    env = env_of(AIRFLOW_SERVICES[name])
    for variable in (settings.ENV_WAREHOUSE_URL, settings.ENV_LANDING_DIR, settings.ENV_PSEUDONYM_KEY, WAREHOUSE_CONN_ENV):
        assert env.get(variable), f"{variable} not set on {name}"
    url = urlsplit(interpolate(env[settings.ENV_WAREHOUSE_URL]))
    conn = urlsplit(interpolate(env[WAREHOUSE_CONN_ENV]))
    assert url.scheme == "postgresql" and conn.scheme in ("postgres", "postgresql")
    assert (conn.username, conn.password, conn.hostname, conn.port, conn.path) == (
        url.username, url.password, url.hostname, url.port, url.path)
    assert url.hostname in SERVICES and url.path.strip("/")


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_landing_volume_is_the_landing_dir(name):
    service = AIRFLOW_SERVICES[name]
    landing = env_of(service)[settings.ENV_LANDING_DIR]
    mounts = {container: host for host, container in volumes_of(service)}
    assert landing.startswith("/") and landing in mounts
    assert mounts[landing].startswith("${SINERGI_LANDING_HOST_DIR")


def test_repo_host_paths_exist():
    checked = set()
    for name, service in SERVICES.items():
        for host, _ in volumes_of(service):
            if host.startswith("./"):
                assert (ROOT / host).is_dir(), f"{name}: {host} is not a directory of the repo"
                checked.add(host)
    assert {"./dags", "./dbt_project", "./expectations", "./ingestion", "./sinergi"} <= checked


# --- Databases ----------------------------------------------------------------------------------

def test_warehouse_and_metadata_databases_are_separate_and_initialised():
    env = env_of(AIRFLOW_COMMON)
    warehouse = urlsplit(interpolate(env[settings.ENV_WAREHOUSE_URL]))
    metadata = urlsplit(interpolate(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    results = urlsplit(interpolate(env["AIRFLOW__CELERY__RESULT_BACKEND"]))
    assert metadata.path != warehouse.path and metadata.username != warehouse.username
    assert (results.path, results.username) == (metadata.path, metadata.username)

    sql = INIT_SQL.read_text(encoding="utf-8")
    owners = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", sql))
    roles = set(re.findall(r"CREATE ROLE (\w+) LOGIN", sql))
    for url in (warehouse, metadata):
        database = url.path.strip("/")
        assert owners.get(database) == url.username, f"init script does not create {database}"
        assert url.username in roles

    postgres = SERVICES["postgres"]
    mounts = {container: host for host, container in volumes_of(postgres)}
    assert (ROOT / mounts["/docker-entrypoint-initdb.d"] / INIT_SQL.name) == INIT_SQL
    for variable in re.findall(r"^\\getenv \w+ (\w+)$", sql, re.M):
        assert variable in env_of(postgres), f"init script reads {variable}, not passed to postgres"


def test_warehouse_login_administers_the_project_roles():
    """access.ensure() creates the roles and acts as each: the login may create roles and is not one of them."""
    from ingestion import access
    sql = INIT_SQL.read_text(encoding="utf-8")
    login = urlsplit(interpolate(env_of(AIRFLOW_COMMON)[settings.ENV_WAREHOUSE_URL])).username
    assert re.search(rf"CREATE ROLE {login} LOGIN CREATEROLE\b", sql)
    assert re.search(rf"ALTER ROLE {login} SET createrole_self_grant = 'set, inherit'", sql)
    assert not login.startswith("sinergi_") and login not in (access.LOADER, access.TRANSFORMER, access.WEB)


def test_dashboard_service_reads_as_the_noinherit_web_login():
    from ingestion import access
    web = SERVICES["sinergi-web"]
    assert web["image"] == AIRFLOW_COMMON["image"]
    assert command_of(web).startswith("python -m sinergi serve") and "0.0.0.0" in command_of(web)
    env = env_of(web)
    url = urlsplit(interpolate(env[settings.ENV_WAREHOUSE_URL]))
    assert url.username == access.WEB and url.hostname == "postgres"
    assert url.path == urlsplit(interpolate(env_of(AIRFLOW_COMMON)[settings.ENV_WAREHOUSE_URL])).path
    assert re.search(rf"CREATE ROLE {access.WEB} LOGIN NOINHERIT PASSWORD", INIT_SQL.read_text(encoding="utf-8"))
    assert env["SINERGI_WEB_SECRET"]
    mounts = {container: host for host, container in volumes_of(web)}
    for package in ("sinergi", "ingestion"):
        assert mounts.get(f"{env['PYTHONPATH']}/{package}") == f"./{package}"
    assert (ROOT / "sinergi" / "__main__.py").is_file()
    assert web["depends_on"]["postgres"]["condition"] == "service_healthy"


# --- Secrets and .env -----------------------------------------------------------------------------

def test_no_literal_secrets_in_compose():
    envs = {name: env_of(svc) for name, svc in SERVICES.items()} | {"x-airflow-common": env_of(AIRFLOW_COMMON)}
    for where, env in envs.items():
        for key, value in env.items():
            if SECRET_NAME.search(key):
                assert WHOLE_INTERPOLATION.fullmatch(value), f"{where}: {key} must come from .env"
    for value in strings_in(COMPOSE):
        for match in URL_PASSWORD.finditer(value):
            assert WHOLE_INTERPOLATION.fullmatch(match["password"]), f"literal password in {value!r}"


def test_every_interpolated_variable_is_in_env_example():
    used = interpolated_names()
    assert used - ENV_EXAMPLE.keys() == set(), "missing from .env.example"
    assert ENV_EXAMPLE.keys() - used == set(), "stale in .env.example"


def test_env_example_is_documented_and_holds_no_secret():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert index and lines[index - 1].startswith("#"), f"no comment above {line!r}"
    for name, value in ENV_EXAMPLE.items():
        if SECRET_NAME.search(name):
            assert value == "change-me", f"{name} must be a placeholder"


def test_env_file_is_gitignored():
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
