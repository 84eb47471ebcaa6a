"""dlt's load of one BPJS CSV into PostgreSQL, for bench/ingest.py (a peer, not the product).

    .venv-bench/bin/python bench/peers/dlt_load.py FILE POSTGRES_URL [--format parquet|csv|insert_values]

Arrow reads the file (`;`, header, every column as text: no checks, like `psql \\copy`) in record
batches, and dlt loads them as one resource. Run by the bench in its own process with the bench-only
venv (make bench-install), so dlt's dependencies never meet Airflow's pins. Prints the rows loaded.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

import dlt
import pyarrow as pa
from pyarrow import csv

# Telemetry off before dlt reads its configuration (the machine has no internet but PyPI).
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
BLOCK = 16 << 20  # Arrow's read block: batches of about 100,000 rows, memory bounded whatever the file


def batches(path: str):
    """The file as Arrow record batches of text columns, read in blocks (never the whole file at once)."""
    names = csv.open_csv(path, read_options=csv.ReadOptions(block_size=BLOCK),
                         parse_options=csv.ParseOptions(delimiter=";")).schema.names
    reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size=BLOCK),
                          parse_options=csv.ParseOptions(delimiter=";"),
                          convert_options=csv.ConvertOptions(column_types={n: pa.string() for n in names}))
    for batch in reader:
        yield batch


def with_password(url: str) -> str:
    """dlt refuses credentials without a password; a trust-authenticated server ignores the one given."""
    parts = urlsplit(url)
    if parts.password is not None or "@" not in parts.netloc:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user}:unused@{host}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("url")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv", "insert_values"])
    args = parser.parse_args()
    # dlt's working folder (extracted and normalised files) is throwaway, away from ~/.dlt.
    with tempfile.TemporaryDirectory(prefix="dlt_bench_") as work:
        pipeline = dlt.pipeline(pipeline_name="bench_peserta", pipelines_dir=work,
                                destination=dlt.destinations.postgres(with_password(args.url)), dataset_name="dlt_bench")
        resource = dlt.resource(batches(args.file), name="peserta", write_disposition="append")
        pipeline.run(resource, loader_file_format=args.format)
        rows = pipeline.last_trace.last_normalize_info.row_counts.get("peserta", 0)
    print(rows)


if __name__ == "__main__":
    main()
