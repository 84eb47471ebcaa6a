"""docker-compose.yml checked against the code (sinergi/core/settings.py) and its companion files.

No Docker engine is needed: the file is parsed with yaml.safe_load and, where values matter,
interpolated with the placeholder values of .env.example the way `docker compose` would.
"""
from __future__ import annotations

import re
import tomllib
from urllib.parse import urlsplit

import pytest

from sinergi.core import settings

from compose_file import (
    AIRFLOW_COMMON,
    AIRFLOW_SERVICES,
    COMPOSE,
    DOCKERFILE,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    IMAGE_ROOT,
    INIT_SQL,
    ONE_SHOT,
    PROJECT_DIRS,
    ROOT,
    SECRET_NAME,
    SERVICES,
    URL_PASSWORD,
    WAREHOUSE_CONN_ENV,
    WHOLE_INTERPOLATION,
    command_of,
    dockerfile_copies,
    env_of,
    interpolate,
    interpolated_names,
    is_bind_mount,
    strings_in,
    volumes_of,
)

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
# The code is in the image (with dbt's manifest parsed at build time); only data is mounted.



def test_image_holds_the_project_at_pythonpath():
    copies = dockerfile_copies()
    for folder in PROJECT_DIRS:
        assert copies.get(folder) == f"{IMAGE_ROOT}/{folder}", f"the Dockerfile does not copy {folder}/ to {IMAGE_ROOT}"
    assert re.search(rf"^ENV PYTHONPATH={re.escape(IMAGE_ROOT)}\b", DOCKERFILE.read_text(encoding="utf-8"), re.M)


def test_image_parses_the_dbt_project_at_build_time():
    """DAG parsing and the build task rely on dbt_project/target/manifest.json (and dbt's partial-parse file)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    run = [line for line in text.splitlines() if line.startswith("RUN ") and "dbt parse" in line]
    assert len(run) == 1 and f"cd {IMAGE_ROOT}/dbt_project" in run[0]
    assert "--target-path target" in run[0]
    assert "test -s target/manifest.json" in run[0] and "test -s target/partial_parse.msgpack" in run[0]
    # Parsed after the project is copied, so the manifest is newer than every file it is parsed from.
    assert text.index(run[0]) > max(text.index(f"{IMAGE_ROOT}/{folder}") for folder in PROJECT_DIRS)
    # dbt keeps the partial-parse state only for the same connection settings (the password aside): the
    # parse uses those the build will, derived from the deployment's WAREHOUSE_URL.
    from sinergi.warehouse import dbt_runner
    runtime = dbt_runner.connection_env(interpolate(env_of(AIRFLOW_COMMON)[settings.ENV_WAREHOUSE_URL]))
    runtime.pop("SINERGI_DBT_PASSWORD")
    assert dict(re.findall(r"\b(SINERGI_DBT_\w+)=(\S+)", run[0])) == runtime


def test_build_context_holds_the_project_and_no_local_state():
    rules = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "the build context lists what it includes"
    included = {rule[1:] for rule in rules if rule.startswith("!")}
    assert set(dockerfile_copies()) <= included
    assert not included & {".env", ".venv", ".local", "landing"}
    assert {"dbt_project/target", "**/__pycache__"} <= set(rules)


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES) + ["sinergi-web"])
def test_code_comes_from_the_image_not_the_host(name):
    service = SERVICES[name]
    assert service["image"] == AIRFLOW_COMMON["image"]
    assert env_of(service)["PYTHONPATH"] == IMAGE_ROOT
    for host, container in volumes_of(service):
        assert not container.startswith(IMAGE_ROOT), f"{name} mounts {host} over the image's code"


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_dags_folder_is_the_repo_dags_dir(name):
    dags_folder = env_of(AIRFLOW_SERVICES[name])["AIRFLOW__CORE__DAGS_FOLDER"]
    assert dags_folder == f"{IMAGE_ROOT}/{settings.DAGS_DIR.relative_to(ROOT).as_posix()}"


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES))
def test_settings_env_vars_and_warehouse_connection_are_set(name):
    env = env_of(AIRFLOW_SERVICES[name])
    for variable in (settings.ENV_WAREHOUSE_URL, settings.ENV_LANDING_DIR, settings.ENV_PSEUDONYM_KEY,
                     settings.ENV_GX_DIR, WAREHOUSE_CONN_ENV):
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
    for name, service in SERVICES.items():
        for host, _ in volumes_of(service):
            if host.startswith("./"):
                assert (ROOT / host).exists(), f"{name}: {host} is not in the repo"
    for source in dockerfile_copies():
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the repo"


@pytest.mark.parametrize("name", sorted(AIRFLOW_SERVICES) + ["sinergi-web"])
def test_great_expectations_and_dbt_docs_on_named_volumes(name):
    """What the tasks write (GX stores, results, Data Docs; dbt docs) survives restarts and reaches the dashboard."""
    service = SERVICES[name]
    mounts = {container: host for host, container in volumes_of(service)}
    for variable in (settings.ENV_GX_DIR, "SINERGI_DBT_DOCS_DIR"):
        path = env_of(service).get(variable)
        assert path and path.startswith("/"), f"{variable} not set on {name}"
        assert mounts.get(path) in COMPOSE["volumes"], f"{name}: {variable}={path} is not a named volume"
        readonly = any(v.endswith(f":{path}:ro") for v in service["volumes"] if isinstance(v, str))
        assert readonly == (name == "sinergi-web"), f"{name}: {path} read-only is {readonly}"


# --- Health and ports -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(set(SERVICES) - ONE_SHOT))
def test_every_service_has_a_cheap_healthcheck(name):
    """Each long-running service says when it is up; no check imports all of Airflow (`airflow jobs check`,
    `celery inspect` took 27 s on 2 busy cores against a 10 s timeout): HTTP, pg_isready, redis-cli or
    deploy/healthcheck.py (tests/integration/test_deployment_runs.py runs each against the running service)."""
    check = SERVICES[name].get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no healthcheck"
    test = check["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    words = " ".join(test[1:])
    assert not re.search(r"\bairflow\b|\bcelery\b.*\binspect\b", words.replace("airflow-", "")), words
    script = re.search(r"\s(/\S+\.py)\b", words)
    if script:
        copies = {target: source for source, target in dockerfile_copies().items()}
        assert script[1] in copies and (ROOT / copies[script[1]]).is_file(), f"{script[1]} is not in the image"
    timeout = int(re.fullmatch(r"(\d+)s", check["timeout"])[1])
    assert 5 <= timeout <= 30 and re.fullmatch(r"\d+s", check["interval"]) and check["retries"] >= 3


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_services_gate_the_others(name):
    waiting = [other for other, svc in SERVICES.items()
               if ((svc.get("depends_on") or {}).get(name) or {}).get("condition") == "service_completed_successfully"]
    assert waiting, f"{name} runs once but nothing waits for it"


def test_published_ports_bind_to_loopback_unless_configured():
    published = {name: svc["ports"] for name, svc in SERVICES.items() if svc.get("ports")}
    assert set(published) == {"airflow-api-server", "sinergi-web"}
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.count(":") >= 2, f"{name}: {port} binds every host address"
            for env in ({}, ENV_EXAMPLE):
                address = interpolate(port, env).rsplit(":", 2)[0]
                assert address == "127.0.0.1", f"{name}: {port} -> {address} with {'.env.example' if env else 'no .env'}"


def test_api_server_does_not_print_credentials():
    """FAB auth manager: accounts live in the metadata database (airflow-init creates the admin from .env).
    Airflow's SimpleAuthManager would print generated passwords to the api-server's log."""
    common = env_of(AIRFLOW_COMMON)
    assert common["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".FabAuthManager")
    assert "SIMPLE_AUTH_MANAGER" not in " ".join(common)
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in common


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
    assert env["PYTHONPATH"] == IMAGE_ROOT and (ROOT / "sinergi" / "__main__.py").is_file()
    assert web["depends_on"]["postgres"]["condition"] == "service_healthy"
    # airflow-init makes the warehouse's roles and the dashboard's account tables it refuses to start without.
    assert web["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "users.ensure_tables(settings.warehouse_url())" in command_of(SERVICES["airflow-init"])


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
