# Airflow image for Sinergi: the official image plus the project's pinned requirements.
# Built by docker-compose.yml (context: repository root). The project code itself is
# mounted at /opt/sinergi at run time, not copied in.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt /tmp/sinergi-requirements.txt
# Pinning apache-airflow to the image's version keeps pip from replacing it.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/sinergi-requirements.txt \
 && rm /tmp/sinergi-requirements.txt
