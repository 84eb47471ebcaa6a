"""Airflow DAG. The dbt warehouse (staging, identity, marts, Inpres 2/2021 metrics), once per delivery cycle."""
from sinergi.orchestration.wiring import warehouse_dag

dag = warehouse_dag(doc_md="""
Runs `dbt build` on `dbt_project/` (what `sinergi build` runs) once every sender has completed a delivery
cycle since the last build, and logs every model's and test's result. Published metrics are recorded with
this run's id as build id; months still waiting for expected deliveries are built as provisional and not
published. Trigger with `{"include_unchecked": true}` to also read batches Great Expectations has not
checked yet.
""")
