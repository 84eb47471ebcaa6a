"""Compares what the warehouse computed with the generator's truth (tests, `bench/identity.py`).

Only meaningful for generated worlds: the truth folder is what the generator knows and no sender does.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg

KEY = ["as_of", "metric", "region", "breakdown"]


def warehouse_metrics(url: str) -> pd.DataFrame:
    query = """select to_char(as_of, 'YYYY-MM') as as_of, metric, region, breakdown,
                      numerator::float8 as numerator, denominator::float8 as denominator, value::float8 as value
               from marts.fct_metrics"""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def truth_metrics(world: Path) -> pd.DataFrame:
    t = pd.read_csv(Path(world) / "truth" / "metrics.csv", dtype={"region": str, "breakdown": str})
    t["breakdown"] = t["breakdown"].fillna("")
    return t


def metric_differences(url: str, world: Path) -> pd.DataFrame:
    """Rows where the warehouse and the truth disagree (missing on either side, or other figures)."""
    ours, truth = warehouse_metrics(url), truth_metrics(world)
    both = truth.merge(ours, on=KEY, how="outer", suffixes=("_truth", "_warehouse"), indicator=True)
    same = (both["_merge"] == "both")
    for col in ("numerator", "denominator"):
        a, b = both[f"{col}_truth"], both[f"{col}_warehouse"]
        same &= (a.isna() & b.isna()) | ((a - b).abs() < 0.005)
    same &= (both["value_truth"] - both["value_warehouse"]).abs() < 2e-6
    return both[~same].drop(columns="_merge")
