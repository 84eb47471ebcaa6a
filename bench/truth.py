"""Benchmark of correctness (not a test): the warehouse against the generator's truth over many worlds.

    .venv/bin/python bench/truth.py [--worlds 20] [--first-seed 100] [--defects 0.002] [--keep-going]

Clean worlds (no defects) over seeds, scales, start months, lengths and both profiles must give every
metric, month, region and breakdown exactly as the truth says. With --defects, every difference must be
explained by the unrecoverable defects the generator logged (truth/defects.csv: quarantined or rejected
rows in the month's files of the feeds the metric reads, and, for regional figures only, regions emptied
at load); a difference nothing explains fails the bench.
The seeds are printed first so any failure can be replayed with `sinergi-sim generate` and the same
arguments. `tests/integration/test_truth_sweep.py` runs a small version of this in `make test`.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestion import pipeline  # noqa: E402
from simulator import Options, generate, truth_check  # noqa: E402
from sinergi.core import settings  # noqa: E402
from sinergi.warehouse import database, dbt_runner  # noqa: E402

STARTS = ("2024-01", "2024-04", "2024-07", "2024-10", "2025-02")


def worlds(n: int, first_seed: int, defects: float) -> list[Options]:
    """A spread of worlds: seed profile at scales 0.05-0.5, national at 0.0005-0.001, 1-3 months."""
    out = []
    for i in range(n):
        seed = first_seed + i
        national = i % 4 == 3
        scale = (0.0005, 0.001)[i % 2] if national else (0.05, 0.1, 0.25, 0.5)[i % 4]
        out.append(Options(profile="national" if national else "seed", scale=scale, months=1 + i % 3,
                           start=STARTS[i % len(STARTS)], seed=seed, defect_rate=defects))
    return out


def check(opts: Options, work: Path) -> tuple[int, int, list[str]]:
    """(figures compared, differences, unexplained differences as text) for one world."""
    out = work / f"world_{opts.seed}"
    generate(opts, out)
    url = settings.warehouse_url().rsplit("/", 1)[0] + f"/sinergi_truth_{uuid.uuid4().hex[:8]}"
    database.create_database(url)
    try:
        pipeline.load_by_sender(url, out / "landing")
        dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
        figures = len(truth_check.truth_metrics(out))
        if opts.defect_rate:
            explained = truth_check.explain_differences(url, out)
            bad = explained[~explained["explained"]]
            return figures, len(explained), [_row(r) for _, r in bad.iterrows()]
        diffs = truth_check.metric_differences(url, out)
        return figures, len(diffs), [_row(r) for _, r in diffs.iterrows()]
    finally:
        database.drop_database(url)
        shutil.rmtree(out, ignore_errors=True)


def _row(r) -> str:
    return " ".join(f"{k}={r[k]}" for k in r.index if not str(k).startswith("_"))


def replay(opts: Options) -> str:
    defects = "none" if not opts.defect_rate else opts.defect_rate
    return (f"sinergi-sim generate --profile {opts.profile} --scale {opts.scale} --months {opts.months} "
            f"--start {opts.start} --seed {opts.seed} --defects {defects}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--defects", type=float, default=0.0)
    parser.add_argument("--keep-going", action="store_true", help="check every world even after a failure")
    args = parser.parse_args()
    plan = worlds(args.worlds, args.first_seed, args.defects)
    print("worlds (replay each with the command shown):")
    for opts in plan:
        print(f"  {replay(opts)}")
    failed = 0
    work = Path(tempfile.mkdtemp(prefix="sinergi_bench_truth_"))
    try:
        for opts in plan:
            start = time.perf_counter()
            figures, diffs, bad = check(opts, work)
            verdict = "ok" if not bad else f"{len(bad)} UNEXPLAINED"
            print(f"seed {opts.seed:>4} {opts.profile:<8} scale {opts.scale:<6} {opts.months} mo from {opts.start}: "
                  f"{figures:,} figures, {diffs} differences, {verdict} ({time.perf_counter() - start:.0f} s)")
            for line in bad[:20]:
                print(f"    {line}")
            if bad:
                failed += 1
                if not args.keep_going:
                    break
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(plan)} worlds planned, {failed} with unexplained differences")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
