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
    # Both round half up at six decimals (README "Rounding"): the same figure is the same float.
    same &= (both["value_truth"] - both["value_warehouse"]).abs() < 1e-9
    return both[~same].drop(columns="_merge")


# --- identity ---------------------------------------------------------------------------------------

RECORDS_SQL = """
select 'bpjstk/peserta' as feed, kpj as key, nik_token as person_id, nik_token as own_token
from (select distinct on (kpj) kpj, nik_token from staging.stg_bpjstk__participants order by kpj, as_of desc) p
union all
select 'kemenkop/' || case record_feed when 'kur' then 'kur' else record_feed end, record_key, person_id, nik_token
from identity.int_identity__person_links
union all
select 'bpjstk/klaim', c.no_klaim, p.nik_token, c.nik_token
from staging.stg_bpjstk__claims c
join (select distinct on (kpj) kpj, nik_token from staging.stg_bpjstk__participants order by kpj, as_of desc) p
  on p.kpj = c.kpj
"""
FEEDS = {"kemenkop/kur": "himbara/kur"}


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def identity_scores(url: str, world: Path, tokens) -> dict:
    """Pairwise precision and recall of the warehouse's person resolution against the generator's.

    `tokens(nik) -> token` turns the truth's plain NIKs (in officer record keys) into the warehouse's
    keys; an officer row whose NIK the sender mistyped is matched through the defect log.
    """
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(RECORDS_SQL)
        ours = pd.DataFrame(cur.fetchall(), columns=["feed", "key", "person_id", "own_token"])
    ours["feed"] = ours["feed"].replace(FEEDS)
    truth = pd.read_csv(Path(world) / "truth" / "identity_persons.csv", dtype=str)
    officers = truth["feed"] == "kemenkop/pengurus"
    parts = truth.loc[officers, "key"].str.split("|", expand=True)
    truth.loc[officers, "key"] = parts[0] + "|" + parts[1].map(tokens) + "|" + parts[2]
    # Officer rows with a mistyped NIK carry the mistyped NIK's token: key them by the true one.
    defects = pd.read_csv(Path(world) / "truth" / "defects.csv", dtype=str)
    slips = defects[(defects["kind"] == "nik_mistyped") & (defects["feed"] == "pengurus")]["detail"].str.split(" -> ")
    true_token = {tokens(bad): tokens(good) for good, bad in slips}
    is_officer = ours["feed"] == "kemenkop/pengurus"
    parts = ours.loc[is_officer, "key"].str.split("|", expand=True)
    ours.loc[is_officer, "key"] = parts[0] + "|" + parts[1].map(lambda t: true_token.get(t, t)) + "|" + parts[2]
    both = truth.merge(ours, on=["feed", "key"], how="inner")
    tp = _pairs(both.groupby(["person", "person_id"]).size())
    predicted = _pairs(both.groupby("person_id").size())
    actual = _pairs(both.groupby("person").size())
    return {"records": len(both), "true_pairs": actual, "found_pairs": predicted, "correct_pairs": tp,
            "precision": tp / predicted if predicted else 1.0, "recall": tp / actual if actual else 1.0}


# --- differences on a defective world ---------------------------------------------------------------

# The feeds each metric reads (a row lost in one of them can move the figure).
METRIC_FEEDS = {
    "K1": {"koperasi", "badan_usaha"}, "K2": {"koperasi", "pengurus", "peserta"},
    "K3": {"perizinan", "rekomendasi", "koperasi"}, "K4": {"kur", "peserta"}, "K5": {"kur", "peserta"},
    "K6": {"umkm", "peserta"}, "K7": {"peserta"}, "K8": {"peserta"},
    "K9": {"klaim", "peserta", "pengurus", "umkm", "kur"}, "K9_rupiah": {"klaim", "peserta", "pengurus", "umkm", "kur"},
    "Q1": {"koperasi", "badan_usaha", "pengurus", "peserta", "kur"},
}


DAILY_SNAPSHOTS = {"koperasi", "pengurus"}


def explain_differences(url: str, world: Path) -> pd.DataFrame:
    """Each difference from the truth with the unrecoverable defects that can explain it: those the
    generator logged in the month's files of the feeds the metric reads. `explained` is false where
    there are none, or (for national totals) where the figure moved by more entities than there are
    such defects."""
    diffs = metric_differences(url, world)
    defects = pd.read_csv(Path(world) / "truth" / "defects.csv", dtype={"period": str, "line": "Int64"})
    lost = defects[(defects["recoverable"] == False) & defects["line"].notna()].copy()  # noqa: E712
    lost["as_of"] = lost["period"].str[:4] + "-" + lost["period"].str[4:6]
    # Of the daily snapshots only the month's last one is read.
    month_end = pd.PeriodIndex(lost["as_of"], freq="M").end_time.strftime("%Y%m%d")
    lost = lost[~lost["feed"].isin(DAILY_SNAPSHOTS) | (lost["period"] == month_end)]
    rows = []
    for _, d in diffs.iterrows():
        causes = lost[(lost["as_of"] == d["as_of"]) & lost["feed"].isin(METRIC_FEEDS.get(d["metric"], set()))]
        moved = max(abs(_or0(d["numerator_truth"]) - _or0(d["numerator_warehouse"])),
                    abs(_or0(d["denominator_truth"]) - _or0(d["denominator_warehouse"])))
        national = d["region"] == "ID" and d["breakdown"] == "" and d["metric"] != "K9_rupiah"
        rows.append({**d[KEY].to_dict(), "moved": moved, "defects": len(causes),
                     "kinds": ", ".join(f"{k}×{n}" for k, n in causes["kind"].value_counts().items()),
                     "explained": len(causes) > 0 and (not national or moved <= len(causes))})
    return pd.DataFrame(rows, columns=[*KEY, "moved", "defects", "kinds", "explained"])


def _or0(x) -> float:
    return 0.0 if pd.isna(x) else float(x)
