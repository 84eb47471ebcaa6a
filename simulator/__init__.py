"""`sinergi-sim generate`: a landing folder of realistic deliveries, plus the truth behind them.

Layout of DIR:
  landing/                     exactly as feeds.md describes (kemenkop, bpjstk/<KODE>, himbara/<bank>)
  truth/metrics.csv            every metric, month, region and breakdown (computed from the clean world)
  truth/arrears.csv            employers in arrears per month (months and minimum amount owed)
  truth/identity_persons.csv   records that are the same person (person id, feed, record key, folder)
  truth/identity_cooperatives.csv  records that belong to a cooperative (and the rule that finds them)
  truth/defects.csv            every injected defect: file, line, kind, handling, recoverable
  truth/deliveries.csv         every file written: sender, feed, period, rows, delivery time
  truth/manifest.json          the arguments, so the world can be made again
"""
from __future__ import annotations

import ctypes
import gc
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import defects, feeds, geography, profiles, truth, variants, world, writers
from .calendar import Calendar


@dataclass(frozen=True)
class Options:
    profile: str = "seed"
    scale: float = 1.0
    months: int = 3
    start: str = "2024-01"
    seed: int = 42
    defect_rate: float = 0.001   # 0 for a clean world
    # Share of officer, UMKM-owner and KUR-debtor records written as real records differ (name variants,
    # NIK slips, blank NIKs, birth-date typos; `variants`), spread evenly over those kinds. None: each
    # kind on `defect_rate` of the records like the other defects; 0: none.
    identity_variants: float | None = None


@dataclass
class Result:
    out: Path
    files: int
    rows: int
    defects: int
    metrics: int


def generate(opts: Options, out: Path, progress=None) -> Result:
    """Write DIR/landing and DIR/truth. `progress(advance, description)` is told about each file."""
    out = Path(out)
    profiles.check_scale(opts.profile, opts.scale, opts.seed)
    districts = profiles.districts(opts.profile, opts.scale, opts.seed)
    geo = geography.build(opts.profile, districts, opts.seed)
    cal = Calendar.parse(opts.start, opts.months)
    w = world.build(cal, geo, districts, opts.seed)
    landing, truth_dir = out / "landing", out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    month_ends = {str(cal.last(m)).replace("-", "") for m in range(cal.n)}
    oracle = truth.Truth(w)
    # Its own random stream: with or without identity variants the world and its truth are the same.
    identity = variants.plan(w, opts.identity_variants, opts.defect_rate, np.random.default_rng([opts.seed, 300]))
    log, delivered, metrics, arrears = [], [], [], []
    for m in range(cal.n):
        rng = np.random.default_rng([opts.seed, 100, m])
        batch = feeds.render_month(w, m, rng)
        log += defects.inject(batch, opts.defect_rate, np.random.default_rng([opts.seed, 200, m]), month_ends,
                              last_month=m == cal.n - 1, first_month=m == 0, identity=identity)
        for d in batch:
            writers.write(d, landing)
            delivered.append(dict(file=d.path, sender=d.sender, feed=d.feed, period=d.period, rows=len(d.frame),
                                  delivered=str(d.delivered), defect=d.file_defect or ""))
            if progress:
                progress(1, d.path)
        # The month is written: its rendered frames go before the truth and the next month are computed,
        # so that no two months' deliveries are ever held together (most of the peak at national scale).
        del batch
        _release_memory()
        met, arr = oracle.month(m)
        metrics.append(met)
        arrears.append(arr)
    metrics_frame = pd.concat(metrics, ignore_index=True)
    metrics_frame = pd.concat([metrics_frame, _quarantine_counts(log, delivered, cal)], ignore_index=True)
    metrics_frame.to_csv(truth_dir / "metrics.csv", index=False)
    pd.concat(arrears, ignore_index=True).to_csv(truth_dir / "arrears.csv", index=False)
    persons, coops = truth.identity(w)
    persons.to_csv(truth_dir / "identity_persons.csv", index=False)
    coops.to_csv(truth_dir / "identity_cooperatives.csv", index=False)
    pd.DataFrame(log, columns=defects.LOG_COLUMNS).astype({"line": "Int64"}).to_csv(truth_dir / "defects.csv", index=False)
    pd.DataFrame(delivered).to_csv(truth_dir / "deliveries.csv", index=False)
    (truth_dir / "manifest.json").write_text(json.dumps(asdict(opts), indent=2) + "\n")
    return Result(out, len(delivered), sum(d["rows"] for d in delivered), len(log), len(metrics_frame))


def _release_memory() -> None:
    """Give freed memory back to the system: the month's many small frames leave glibc's heap full of
    holes that it keeps otherwise, and the next month's transients then come on top of them."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _quarantine_counts(log: list[dict], delivered: list[dict], cal: Calendar) -> pd.DataFrame:
    """Q1: rows a careful pipeline must set aside, per sender and month (nationally)."""
    q = pd.DataFrame([e for e in log if e["handling"] == "quarantine"], columns=defects.LOG_COLUMNS)
    if q.empty:
        return pd.DataFrame(columns=truth.COLUMNS)
    q["as_of"] = q["period"].str[:4] + "-" + q["period"].str[4:6]
    n = q.groupby(["as_of", "sender"]).size().reset_index(name="numerator")
    return pd.DataFrame({"as_of": n["as_of"], "metric": "Q1", "region": "ID",
                         "breakdown": "karantina=" + n["sender"], "numerator": n["numerator"],
                         "denominator": pd.NA, "value": n["numerator"]})


def expected_files(opts: Options) -> int:
    """How many files a world will have before defects add any (for the progress bar)."""
    districts = profiles.districts(opts.profile, opts.scale, opts.seed)
    geo = geography.build(opts.profile, districts, opts.seed)
    cal = Calendar.parse(opts.start, opts.months)
    ods = sum(len(cal.ods_days(m)) for m in range(cal.n)) * 3
    return ods + cal.n * (1 + 5 * len(geo.branches) + 4)
