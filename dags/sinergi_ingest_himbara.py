"""Airflow DAG. Himbara banks: monthly KUR disbursement reports (BRI, BNI, Mandiri, BTN), each in its own format."""
from sinergi.orchestration.wiring import ingest_dag

dag = ingest_dag("himbara", schedule="0 4 * * *", doc_md="""
Loads `landing/himbara/{bri,bni,mandiri,btn}/`. Banks report in the first two weeks of the month; the DAG
looks daily at 04:00 WIB, and within minutes of a file landing. Runbook: docs/runbooks.md#himbara.
""")
