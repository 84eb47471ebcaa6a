"""Airflow DAG. BPJS Ketenagakerjaan branch offices: monthly reports, CSV or Excel per branch."""
from sinergi.orchestration.wiring import ingest_dag

dag = ingest_dag("bpjstk", schedule="0 3 * * *", doc_md="""
Loads `landing/bpjstk/<KODE>/` (peserta, badan_usaha, iuran, klaim, rekomendasi). Branches report monthly on
different days, so the DAG looks daily at 03:00 WIB, and within minutes of a file landing, and loads
whatever has arrived. Runbook: docs/runbooks.md#bpjstk.
""")
