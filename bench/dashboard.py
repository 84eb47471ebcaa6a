"""Dashboard page cost: each page's requests timed through the app (queries, rendering, charts) on a
warehouse, against a baseline measured in the same run (`select 1` round trip as the analyst role).

    python bench/dashboard.py [WAREHOUSE_URL]     # default: a national world at --scale, built here

A national world cannot be generated here at full scale (the generator would need ~170 GB), so the
drill-down marts the pages list are inflated to national row counts: each row copied 1/scale times
under a new key (`--inflate`). The metric and region marts are national-sized at any scale.
"""
from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

PAGES = ["/", "/wilayah", "/wilayah?provinsi=35", "/koperasi", "/kur", "/kur?wajib=true", "/perizinan",
         "/kualitas", "/koperasi?format=xlsx"]


def national(scale: float) -> str:
    from ingestion import pipeline
    from simulator import Options, generate
    from sinergi.core import settings
    from sinergi.warehouse import database, dbt_runner
    out = Path(tempfile.mkdtemp(prefix="sinergi_bench_dash_"))
    generate(Options(profile="national", scale=scale, months=2, start="2024-01", seed=3, defect_rate=0.001), out)
    url = settings.warehouse_url().rsplit("/", 1)[0] + "/sinergi_bench_dashboard"
    database.drop_database(url)
    database.create_database(url)
    pipeline.load_by_sender(url, out / "landing")
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
    return url


# The drill-down marts whose size follows the population, and the key made unique in each copy.
INFLATED = {"marts.fct_cooperative_coverage": "nik_koperasi", "marts.fct_kur_coverage": "id_fasilitas",
            "marts.fct_licensing_compliance": "no_keputusan"}


def inflate(url: str, factor: int) -> None:
    """Copy every row of the drill-down marts `factor - 1` times, each copy under a new key."""
    import psycopg
    from psycopg import sql
    with psycopg.connect(url, autocommit=True) as conn:
        for table, key in INFLATED.items():
            schema, name = table.split(".")
            columns = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position", (schema, name))]
            copied = [sql.SQL("{} || '-' || i").format(sql.Identifier(c)) if c == key else sql.Identifier(c)
                      for c in columns]
            conn.execute(sql.SQL("insert into {t} ({cols}) select {copied} from {t}, generate_series(1, {n}) as i")
                         .format(t=sql.Identifier(schema, name), cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
                                 copied=sql.SQL(", ").join(copied), n=sql.Literal(factor - 1)))
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, name)))
            rows = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))).fetchone()[0]
            print(f"{table}: {rows:,} rows")
        # Its aggregate: the same groups, each count `factor` times larger.
        conn.execute("update marts.fct_kur_coverage_summary set facilities = facilities * %(n)s, "
                     "not_covered = not_covered * %(n)s", {"n": factor})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--inflate", type=int, help="copies of each drill-down row (default: 1/scale on a "
                        "warehouse built here, none on a given one)")
    args = parser.parse_args()
    url = args.url or national(args.scale)
    factor = args.inflate or (1 if args.url else round(1 / args.scale))
    if factor > 1:
        inflate(url, factor)
    from ingestion import access
    from sinergi.serve.web import users
    from sinergi.serve.web.app import create_app
    from sinergi.serve.web.db import Database
    for name, role in (("bench", "analyst"), ("bench_35", "wilayah:35")):
        users.add(url, name, "bench-password", role)
    db = Database(url)
    base = statistics.median(_time(lambda: db.rows("sinergi_analyst", "select 1")) for _ in range(20))
    print(f"baseline: select 1 as sinergi_analyst {base * 1000:.1f} ms")
    # As deployed: the dashboard logs in as the NOINHERIT sinergi_web, with a real secret.
    parts = urlsplit(url)
    web_login = urlunsplit(parts._replace(netloc=f"{access.WEB}@{parts.hostname}:{parts.port or 5432}"))
    for user in ("bench", "bench_35"):
        client = TestClient(create_app(web_login, secret=secrets.token_urlsafe(32)))
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/masuk").text)[1]
        client.post("/masuk", data={"username": user, "password": "bench-password", "csrf": token})
        for page in PAGES:
            client.get(page)  # warm
            took = statistics.median(_time(lambda: client.get(page)) for _ in range(5))
            print(f"{user:9s} {page:28s} {took * 1000:7.1f} ms  ({took / base:6.1f}x baseline)")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
