"""Container healthchecks for docker-compose.yml that answer in well under a second.

`airflow jobs check` and `celery inspect ping` each import all of Airflow first: 10 to 30 s of CPU on a
busy 2-core host, longer than a healthcheck's timeout, every interval, in every container. These ask the
same questions without importing Airflow:

  python healthcheck.py job DagProcessorJob    this host's dag-processor (or TriggererJob: triggerer) is
                                               running and heartbeated within Airflow's health threshold:
                                               what `airflow jobs check --local --job-type ...` reads from
                                               the metadata database's `job` table
  python healthcheck.py celery                 this host's Celery worker answers a ping through the broker:
                                               what `celery inspect ping -d celery@$HOSTNAME` does

Exit status 0 when healthy, 1 otherwise (the reason on stderr). Settings come from the same environment
variables Airflow reads (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, AIRFLOW__CELERY__BROKER_URL and the
health-check thresholds).
"""
from __future__ import annotations

import os
import socket
import sys

# Airflow's defaults for [dag_processor] health_check_threshold and [triggerer] triggerer_health_check_threshold.
THRESHOLDS = {
    "DagProcessorJob": ("AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD", 30.0),
    "TriggererJob": ("AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD", 30.0),
    "SchedulerJob": ("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD", 30.0),
}


def hostnames() -> list[str]:
    """This host's names as Airflow records them (airflow.utils.net.getfqdn, the default hostname_callable)."""
    name = socket.gethostname()
    names = [name]
    try:
        for *_, canonical, _ in socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME):
            if canonical:
                names.append(canonical)
                break
    except OSError:
        pass
    return list(dict.fromkeys(names))


def job(job_type: str) -> str | None:
    import psycopg2

    variable, default = THRESHOLDS[job_type]
    threshold = float(os.environ.get(variable) or default)
    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    scheme, sep, rest = url.partition("://")
    with psycopg2.connect(scheme.split("+")[0] + sep + rest, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("select extract(epoch from now() - max(latest_heartbeat)) from job "
                    "where job_type = %s and state = 'running' and hostname = any(%s)", (job_type, hostnames()))
        age = cur.fetchone()[0]
    conn.close()
    if age is None:
        return f"no running {job_type} on {' or '.join(hostnames())}"
    if float(age) > threshold:
        return f"{job_type} last heartbeat {float(age):.0f} s ago (threshold {threshold:.0f} s)"
    return None


def celery() -> str | None:
    from celery import Celery

    node = f"celery@{socket.gethostname()}"
    app = Celery(broker=os.environ["AIRFLOW__CELERY__BROKER_URL"])
    app.conf.broker_connection_timeout = 3
    try:
        replies = app.control.ping(destination=[node], timeout=3)
    finally:
        app.close()
    return None if any(node in reply for reply in replies) else f"{node} did not answer a ping"


def main(argv: list[str]) -> int:
    if argv[:1] == ["job"] and len(argv) == 2 and argv[1] in THRESHOLDS:
        def check():
            return job(argv[1])
    elif argv == ["celery"]:
        check = celery
    else:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        problem = check()
    except Exception as exc:  # the database or the broker does not answer: unhealthy, in one line
        problem = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
