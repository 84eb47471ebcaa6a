"""Airflow DAG. The dbt warehouse (staging, identity, marts, Inpres 2/2021 metrics), rebuilt when a raw table changes."""
from sinergi.orchestration import warehouse_dag

dag = warehouse_dag(doc_md="""
Builds `dbt_project/` through Cosmos: the seeds, then each model followed by its tests, and the published
metrics recorded with this run's id as build id. Runs whenever an ingestion DAG updates a raw table. Trigger
with `{"include_unchecked": true}` to also read batches Great Expectations has not checked yet.
""")
