# Image for every Sinergi container (Airflow's components, airflow-init, the dashboard): the official
# Airflow image, the project's pinned requirements, and the project itself at /opt/sinergi with dbt's
# manifest and partial-parse state made at build time, so neither a DAG parse nor a task waits for
# `dbt parse`. Built by docker-compose.yml from the repository root; the files sent to the build are
# listed in deploy/airflow.Dockerfile.dockerignore. Rebuild (`docker compose build`) after every update.
FROM apache/airflow:3.3.2-python3.11

ENV PYTHONPATH=/opt/sinergi \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    DO_NOT_TRACK=1 \
    SCARF_NO_ANALYTICS=true \
    GX_ANALYTICS_ENABLED=False

COPY --chown=airflow:0 requirements.txt /tmp/sinergi-requirements.txt
# Pinning apache-airflow to the image's version keeps pip from replacing it.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/sinergi-requirements.txt \
 && rm /tmp/sinergi-requirements.txt

# Data folders, mounted as volumes by docker-compose.yml: a new named volume takes the owner and mode
# of the folder it is mounted on, so any AIRFLOW_UID (group 0) may write there.
USER root
RUN mkdir -p /opt/sinergi /data/landing /data/gx /data/dbt_docs \
 && chown airflow:0 /opt/sinergi /data/landing /data/gx /data/dbt_docs \
 && chmod 2775 /data/landing /data/gx /data/dbt_docs
USER airflow

COPY --chown=airflow:0 pyproject.toml /opt/sinergi/
COPY --chown=airflow:0 deploy/healthcheck.py /opt/sinergi/deploy/
COPY --chown=airflow:0 expectations /opt/sinergi/expectations
COPY --chown=airflow:0 ingestion /opt/sinergi/ingestion
COPY --chown=airflow:0 dbt_project /opt/sinergi/dbt_project
COPY --chown=airflow:0 sinergi /opt/sinergi/sinergi
COPY --chown=airflow:0 dags /opt/sinergi/dags

# dbt_project/target/manifest.json and partial_parse.msgpack for the code above. Parsing needs no database,
# but dbt reuses the partial-parse state only for the same connection settings (all but the password):
# these are the ones sinergi.warehouse.dbt_runner derives from docker-compose.yml's WAREHOUSE_URL (tests/unit/test_compose.py
# checks it); a build's own parameters are environment variables, which re-parse only the files that read
# them. sinergi.warehouse.dbt_runner starts each warehouse's target folder from this state. The simulator (tests,
# benchmarks, `make demo`) is not copied: the product never imports it. Writable by group 0, like the rest.
RUN cd /opt/sinergi/dbt_project \
 && SINERGI_DBT_HOST=postgres SINERGI_DBT_PORT=5432 SINERGI_DBT_USER=sinergi SINERGI_DBT_DBNAME=sinergi \
    SINERGI_DBT_ROLE=sinergi_transformer \
    dbt parse --project-dir . --profiles-dir . --target-path target --log-path target --quiet \
 && test -s target/manifest.json && test -s target/partial_parse.msgpack \
 && chmod -R g+rwX /opt/sinergi
