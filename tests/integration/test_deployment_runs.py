"""The deployment runs: docker-compose.yml's services started outside Docker, the way their containers would be.

No Docker engine runs here, so each service's command runs as a process of this checkout instead, with the
service's compose environment interpolated from a .env that `sinergi.core.envfile` writes (random secrets), and
the container's world mapped onto this machine:

- hosts: `postgres` -> the local PostgreSQL (a throwaway metadata database and a throwaway warehouse,
  dropped after the session; a login the local server lacks, such as `airflow`, becomes `postgres`),
  `redis` -> the local Redis on a database number nobody uses, `airflow-api-server` -> a free local port;
- paths: the image's /opt/sinergi -> this checkout, every volume -> a temporary folder, AIRFLOW_HOME -> a
  temporary folder; ports: every published or health-check port -> a free local port on 127.0.0.1.

Services then start in the order their `depends_on` conditions give (service_completed_successfully,
service_healthy), each health-checked by its own compose healthcheck command mapped the same way; one-shot
services must exit 0, the others must become healthy and still be running at the end. All are stopped, in
a finally, whatever happens. PostgreSQL and Redis are this machine's: their healthchecks run against them.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from sinergi.core import envfile, settings

import compose_file as compose

ROOT = settings.PROJECT_ROOT
VENV_BIN = Path(sys.executable).parent
DOCKERFILE = compose.DOCKERFILE
IMAGE = compose.AIRFLOW_COMMON["image"]
# The official image's AIRFLOW_HOME, and the port of the scheduler's health server (Airflow's default
# [scheduler] scheduler_health_check_server_port, which docker-compose.yml leaves as it is).
IMAGE_AIRFLOW_HOME = "/opt/airflow"
SCHEDULER_HEALTH_PORT = 8974
STARTUP_BUDGET_S = 240
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "true",
                 "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "GX_ANALYTICS_ENABLED": "False"}


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.txt: not an exact pin: {line!r}"
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def image_env() -> dict[str, str]:
    """The ENV lines of the Dockerfile (after the last FROM)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    env = {}
    for line in text.splitlines():
        if line.startswith("FROM "):
            env = {}
        elif line.startswith("ENV "):
            env.update(dict(item.split("=", 1) for item in shlex.split(line[4:])))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds(value: str | int | None, default: float) -> float:
    if value is None:
        return default
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(value))) or default


# --- (a) what docker-compose.yml names imports, at the pinned versions ------------------------------

def test_installed_versions_are_the_pins():
    wrong = {}
    for name, pinned in pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"pinned != installed (run `make install`): {wrong}"


NAMES_SCRIPT = r"""
import json, sys
from airflow._shared.module_loading import import_string
from airflow.executors.executor_loader import ExecutorLoader
from airflow.api_fastapi.app import get_auth_manager_cls
from airflow.cli.cli_parser import get_parser

commands, dotted = json.loads(sys.argv[1])
modules = {}
for name in ExecutorLoader.get_executor_names():
    cls, _ = ExecutorLoader.import_executor_cls(name)
    modules[f"executor {name.alias or name.module_path}"] = cls.__module__
manager = get_auth_manager_cls()
modules[f"auth manager {manager.__name__}"] = manager.__module__
parser = get_parser()
for argv in commands:
    args, _ = parser.parse_known_args(argv)
    path = next(c.cell_contents for c in args.func.__closure__ if isinstance(c.cell_contents, str))
    modules["airflow " + " ".join(a for a in argv[:2] if not a.startswith("-"))] = import_string(path).__module__
for name in dotted:
    try:
        found = import_string(name)
        modules[name] = getattr(found, "__module__", None) or found.__name__
    except ImportError:
        modules[name] = __import__(name, fromlist=["*"]).__name__
print("NAMES=" + json.dumps(modules))
"""


def airflow_commands() -> list[list[str]]:
    """`airflow ...` command lines of the services (their command, or the lines of a bash -c script)."""
    found = []
    for service in compose.SERVICES.values():
        if service.get("image") != IMAGE:
            continue
        argv = service_argv(service)
        script = argv[-1].replace("\\\n", " ") if argv[0] == "bash" else ""
        lines = [argv] if argv[0] == "airflow" else [shlex.split(line) for line in script.splitlines()]
        found += [line[1:] for line in lines if line and line[0] == "airflow"]
    return found


def service_argv(service: dict) -> list[str]:
    """The process the image's entrypoint runs: `bash`/`python` as given, anything else under `airflow`."""
    command = service.get("command") or []
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    argv = [compose.interpolate(a) for a in argv]
    return argv if argv[0] in ("bash", "python", "airflow") else ["airflow", *argv]


def test_compose_executor_auth_manager_and_providers_import_at_pinned_versions(tmp_path):
    common = compose.env_of(compose.AIRFLOW_COMMON)
    dotted = sorted({m for s in compose.strings_in(compose.COMPOSE)
                     for m in re.findall(r"\bairflow\.providers(?:\.[A-Za-z_]\w*)+", s)})
    commands = airflow_commands()
    assert ["users", "create"] == [c[:2] for c in commands if c[0] == "users"][0]
    env = {"PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(tmp_path), "AIRFLOW_HOME": str(tmp_path),
           "AIRFLOW__CORE__EXECUTOR": common["AIRFLOW__CORE__EXECUTOR"],
           "AIRFLOW__CORE__AUTH_MANAGER": common["AIRFLOW__CORE__AUTH_MANAGER"],
           "AIRFLOW__CORE__LOAD_EXAMPLES": "false", **TELEMETRY_OFF}
    done = subprocess.run([sys.executable, "-c", NAMES_SCRIPT, json.dumps([commands, dotted])], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    modules = json.loads(done.stdout.split("NAMES=", 1)[1])
    assert any(k.startswith("executor ") for k in modules) and any(k.startswith("auth manager") for k in modules)
    pinned = pins()
    for what, module in modules.items():
        parts = module.split(".")
        dist = f"apache-airflow-providers-{parts[2].replace('_', '-')}" if parts[:2] == ["airflow", "providers"] \
            else "apache-airflow-core"
        assert dist in pinned, f"{what} comes from {dist}, which requirements.txt does not pin"
        assert importlib.metadata.version(dist) == pinned[dist], what
    # What the Celery executor and the FAB auth manager run on.
    for dist in ("celery", "kombu", "flower", "flask-appbuilder", "apache-airflow"):
        assert importlib.metadata.version(dist) == pinned[dist]


# --- the image's own build step ----------------------------------------------------------------------

@pytest.mark.slow
def test_image_build_parses_the_dbt_project(tmp_path):
    """The Dockerfile's steps after `pip install`, replayed on a copy: its COPY lines into <tmp>/opt/sinergi
    (less what the .dockerignore keeps out), then its `dbt parse` RUN line as written. The manifest and the
    partial-parse file come out, with every seed (the loader's region_code_changes too), and no database is needed."""
    image = tmp_path / "image"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "target", "logs", ".user.yml")
    for source, target in compose.dockerfile_copies().items():
        if not target.startswith(compose.IMAGE_ROOT + "/"):
            continue
        dest = image / target.lstrip("/")
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, dest, ignore=skip)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, dest)
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    run = next(line[4:] for line in text.splitlines() if line.startswith("RUN ") and "dbt parse" in line)
    run = run.replace(compose.IMAGE_ROOT, str(image / compose.IMAGE_ROOT.lstrip("/")))
    env = {"PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(tmp_path), **image_env(), **TELEMETRY_OFF}
    done = subprocess.run(["bash", "-c", run], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    target = image / compose.IMAGE_ROOT.lstrip("/") / "dbt_project" / "target"
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"].values()
    kinds = {n["resource_type"] for n in nodes}
    assert {"model", "seed", "test"} <= kinds
    seeds = {n["original_file_path"] for n in nodes if n["resource_type"] == "seed"}
    assert {"seeds/region_code_changes.csv", "seeds/ref_metrics.csv"} <= seeds


# --- (b) every service runs --------------------------------------------------------------------------

class Deployment:
    """docker-compose.yml's services as local processes (see the module docstring)."""

    def __init__(self, tmp: Path, metadata_db: str, warehouse_db: str, pg_base: str, redis_db: int):
        self.tmp = tmp
        self.logs = tmp / "service-logs"
        self.logs.mkdir()
        self.dotenv = envfile.read(self._write_dotenv())
        self.secrets = {k: v for k, v in self.dotenv.items() if k in envfile.SECRETS}
        self.pg = urlsplit(pg_base)
        self.databases = {"airflow": metadata_db, "sinergi": warehouse_db}
        self.redis_db = redis_db
        self.pg_base = pg_base
        self.local_roles = self.roles()
        self.ports: dict[tuple[str, int], int] = {}
        for name, service in compose.SERVICES.items():
            for port in service.get("ports") or []:
                container = int(str(compose.interpolate(port, self.dotenv)).rsplit(":", 1)[1].split("/")[0])
                self.ports[(name, container)] = free_port()
        self.ports[("airflow-scheduler", SCHEDULER_HEALTH_PORT)] = free_port()
        self.paths = {"/opt/sinergi": ROOT, IMAGE_AIRFLOW_HOME: tmp / "airflow_home"}
        for service in compose.SERVICES.values():
            if service.get("image") == IMAGE:
                for _, container in compose.volumes_of(service):
                    if not container.startswith(IMAGE_AIRFLOW_HOME):
                        self.paths.setdefault(container, tmp / "volumes" / container.strip("/").replace("/", "_"))
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=True)
        self.extra = {  # ports Airflow would open at their defaults, moved to free ones (other runs share this host)
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.ports[("airflow-scheduler", SCHEDULER_HEALTH_PORT)]),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__API__HOST": "127.0.0.1",
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def _write_dotenv(self) -> Path:
        path = self.tmp / ".env"
        envfile.write(path)  # the documented way: .env.example with every secret made random
        return path

    def roles(self) -> set[str]:
        with psycopg.connect(self.pg_base) as conn:
            return {r[0] for r in conn.execute("select rolname from pg_roles")}

    # mapping the container's world onto this machine
    def local_value(self, service: str, value: str) -> str:
        value = compose.interpolate(value, self.dotenv)
        if "://" in value:
            return self.local_url(value)
        for container in sorted(self.paths, key=len, reverse=True):
            if value == container or value.startswith(container + "/"):
                return str(self.paths[container]) + value[len(container):]
        return value

    def local_url(self, value: str) -> str:
        parts = urlsplit(value)
        host = parts.hostname
        if host not in compose.SERVICES:
            return value
        if host == "postgres":
            user = parts.username if parts.username in self.local_roles else self.pg.username
            auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
            return urlunsplit(parts._replace(netloc=f"{auth}{self.pg.hostname}:{self.pg.port or 5432}",
                                             path="/" + self.databases[parts.path.strip("/")]))
        if host == "redis":
            return urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port or 6379}", path=f"/{self.redis_db}"))
        port = self.ports[(host, parts.port)]
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))

    def local_args(self, name: str, argv: list[str]) -> list[str]:
        out = []
        for i, arg in enumerate(argv):
            if i and argv[i - 1] == "--port" and (name, int(arg)) in self.ports:
                arg = str(self.ports[(name, int(arg))])
            elif i and argv[i - 1] == "--host" and arg == "0.0.0.0":
                arg = "127.0.0.1"
            for (service, container), port in self.ports.items():
                if service == name:
                    arg = arg.replace(f"localhost:{container}", f"127.0.0.1:{port}")
            out.append(self.local_value(name, arg) if arg.startswith("/") else arg)
        return out

    def env(self, name: str) -> dict[str, str]:
        service = compose.SERVICES[name]
        env = {"PATH": f"{VENV_BIN}:{os.environ['PATH']}", "HOME": str(self.tmp), "LANG": "C.UTF-8"}
        if service.get("image") == IMAGE:
            env.update({k: self.local_value(name, v) for k, v in image_env().items()})
            env["AIRFLOW_HOME"] = str(self.paths[IMAGE_AIRFLOW_HOME])
        env.update({k: self.local_value(name, v) for k, v in compose.env_of(service).items()})
        if name.startswith("airflow-"):
            env.update(self.extra)
        return env

    # running
    def start(self, name: str) -> None:
        self.local_roles = self.roles()  # airflow-init may have made the dashboard's login
        argv = self.local_args(name, service_argv(compose.SERVICES[name]))
        log = open(self.logs / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(argv, env=self.env(name), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.tmp, start_new_session=True)
        log.close()

    def healthy(self, name: str) -> bool:
        check = compose.SERVICES[name]["healthcheck"]
        test = [compose.interpolate(t, self.dotenv) for t in check["test"]]
        argv = test[1:] if test[0] == "CMD" else ["bash", "-c", test[1]]
        try:
            done = subprocess.run(self.local_args(name, argv), env=self.env(name), capture_output=True,
                                  timeout=seconds(check.get("timeout"), 30) * 3, cwd=self.tmp)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no output)"

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():  # whatever is left of each group (workers, subprocesses)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


@pytest.mark.slow
def test_every_service_starts_and_becomes_healthy(tmp_path, new_db, redis_db):
    base = os.environ.get("TEST_PG_URL", settings.DEFAULT_WAREHOUSE_URL).rsplit("/", 1)[0] + "/postgres"
    deploy = Deployment(tmp_path, new_db().rsplit("/", 1)[1], new_db().rsplit("/", 1)[1], base, redis_db)

    services = compose.SERVICES
    ours = [n for n, s in services.items() if s.get("image") == IMAGE]
    machine = [n for n in services if n not in ours]           # PostgreSQL and Redis: this machine's
    one_shot = {n for n in ours if services[n].get("restart") == "no"}
    state: dict[str, str] = {}
    for name in machine:
        program = services[name]["healthcheck"]["test"][1]
        if shutil.which(program):
            assert deploy.healthy(name), f"{name}: its healthcheck fails against this machine's server"
        else:  # no client program here: the server answers on its port all the same
            port = {"postgres": deploy.pg.port or 5432, "redis": 6379}[name]
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        state[name] = "healthy"

    def ready(name: str) -> bool:
        depends = services[name].get("depends_on") or {}
        wanted = {"service_healthy": {"healthy"}, "service_completed_successfully": {"completed"},
                  "service_started": {"running", "healthy", "completed"}}
        return all(state.get(dep) in wanted[(cond or {}).get("condition", "service_started")]
                   for dep, cond in (depends.items() if isinstance(depends, dict) else ((d, None) for d in depends)))

    started = time.monotonic()
    next_check: dict[str, float] = {}
    healthy_after: dict[str, float] = {}
    try:
        while any(state.get(n) not in ("healthy", "completed") for n in ours):
            elapsed = time.monotonic() - started
            assert elapsed < STARTUP_BUDGET_S, "not up in time: " + ", ".join(
                f"{n}={state.get(n, 'waiting')}\n{deploy.tail(n, 1500)}" for n in ours
                if state.get(n) not in ("healthy", "completed"))
            for name in ours:
                if name not in state and ready(name):
                    deploy.start(name)
                    state[name] = "running"
                    next_check[name] = time.monotonic() + 3
            for name, proc in deploy.procs.items():
                code = proc.poll()
                if name in one_shot:
                    if code is not None and state[name] == "running":
                        assert code == 0, f"{name} exited {code}:\n{deploy.tail(name)}"
                        state[name] = "completed"
                    continue
                assert code is None, f"{name} exited {code} at start:\n{deploy.tail(name)}"
                if state[name] == "running" and time.monotonic() >= next_check[name]:
                    if deploy.healthy(name):
                        state[name] = "healthy"
                        healthy_after[name] = round(time.monotonic() - started)
                    next_check[name] = time.monotonic() + 3
            time.sleep(1)

        # Each stays up: none has exited a while after the last became healthy, and each still answers.
        time.sleep(10)
        for name in ours:
            if name not in one_shot:
                assert deploy.procs[name].poll() is None, f"{name} stopped:\n{deploy.tail(name)}"
                assert deploy.healthy(name), f"{name} no longer healthy:\n{deploy.tail(name)}"
        print("healthy after (s):", healthy_after)
    finally:
        deploy.stop_all()

    # No credential in any service's output (the admin password, the keys, the database passwords).
    for name in deploy.procs:
        text = (deploy.logs / f"{name}.log").read_text(errors="replace")
        leaked = [k for k, v in deploy.secrets.items() if v and v in text]
        assert not leaked, f"{name} printed {leaked}"
