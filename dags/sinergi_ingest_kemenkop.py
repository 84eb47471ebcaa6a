"""Airflow DAG. Ministry of Cooperatives and SMEs: ODS daily snapshots and increments, SIDT monthly UMKM registry."""
from sinergi.orchestration.wiring import ingest_dag

dag = ingest_dag("kemenkop", schedule="30 1 * * *", doc_md="""
Loads `landing/kemenkop/ods` (daily: koperasi, pengurus, perizinan) and `landing/kemenkop/sidt` (monthly UMKM).
Runs daily at 01:30 WIB, after ODS exports at 23:00, and within minutes of a file landing. Runbook: docs/runbooks.md#kemenkop.
""")
