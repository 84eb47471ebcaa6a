"""Reading the metrics mart: filters for `sinergi metrics`, the headline table, CSV in the truth's shape."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import psycopg

from sinergi.core import fmt, settings
from sinergi.warehouse import roles

COLUMNS = ["as_of", "metric", "region", "breakdown", "numerator", "denominator", "value"]
# The metric catalogue, one definition for everything (dbt seed `ref_metrics`, read by the warehouse's test
# assert_every_metric_is_in_the_catalogue, by the command line, the dashboard and the report): its name,
# its kind (`bagian` a share, `jumlah` a count, `rupiah` an amount), what it counts (metrics.md) and the
# marts it is computed from.
CATALOGUE_FILE = settings.PROJECT_ROOT / "dbt_project" / "seeds" / "ref_metrics.csv"


def _catalogue() -> list[dict]:
    with open(CATALOGUE_FILE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


CATALOGUE = _catalogue()
NAMES = {m["metric"]: m["nama"] for m in CATALOGUE}
DEFINITIONS = {m["metric"]: m["definisi"] for m in CATALOGUE}
KINDS = {m["metric"]: m["jenis"] for m in CATALOGUE}
MARTS = {m["metric"]: tuple(m["marts"].split()) for m in CATALOGUE}
SHARES = [m for m, kind in KINDS.items() if kind == "bagian"]
COUNTS = {m for m, kind in KINDS.items() if kind == "jumlah"}


@dataclass
class Query:
    as_of: str                       # YYYY-MM
    region: str | None = None        # PP.KK, PP or ID; None for all
    metric: str | None = None
    breakdowns: bool = True          # False: totals only


def fetch(url: str, q: Query) -> list[dict]:
    sql = """select to_char(as_of, 'YYYY-MM') as as_of, metric, region, breakdown,
                    numerator, denominator, value
             from marts.fct_metrics
             where as_of = to_date(%(as_of)s, 'YYYY-MM')
               and (%(region)s::text is null or region = %(region)s)
               and (%(metric)s::text is null or metric = %(metric)s)
               and (%(breakdowns)s or breakdown = '')
             order by metric, length(region), region, breakdown"""
    params = {"as_of": q.as_of, "region": q.region, "metric": q.metric, "breakdowns": q.breakdowns}
    with roles.connect(url, roles.ANALYST) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def month_status(url: str, as_of: str) -> tuple[str, list[str]] | None:
    """(status, missing deliveries) of a month (`marts.fct_month_status`), or None before any build."""
    with roles.connect(url, roles.ANALYST) as conn:
        try:
            return conn.execute("select status, missing_deliveries from marts.fct_month_status "
                                "where to_char(as_of, 'YYYY-MM') = %s", (as_of,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None


def months(url: str) -> list[str]:
    with roles.connect(url, roles.ANALYST) as conn:
        rows = conn.execute("select distinct to_char(as_of, 'YYYY-MM') from marts.fct_metrics order by 1").fetchall()
    return [r[0] for r in rows]


def _number(value) -> str:
    if value is None:
        return ""
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)


def to_csv(rows: list[dict]) -> str:
    """Exactly the columns and number style of the generator's truth/metrics.csv."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        value = float(r["value"])
        writer.writerow([r["as_of"], r["metric"], r["region"], r["breakdown"], _number(r["numerator"]),
                         _number(r["denominator"]), repr(value)])
    return out.getvalue()


def to_json_rows(rows: list[dict]) -> list[dict]:
    return [{**r, "numerator": float(r["numerator"]),
             "denominator": None if r["denominator"] is None else int(r["denominator"]),
             "value": float(r["value"])} for r in rows]


def shown(row: dict, brief: bool = False) -> str:
    """A figure as an Indonesian reader expects it: `10,5% (21/200)`, `12.345`, `Rp1.250.000`."""
    if KINDS.get(row["metric"]) == "rupiah":
        return fmt.rupiah(float(row["numerator"]))
    if row["denominator"] is None:
        return fmt.angka(float(row["numerator"]))
    share = fmt.persen(float(row["value"]))
    return share if brief else f"{share} ({fmt.angka(float(row['numerator']))}/{fmt.angka(row['denominator'])})"
