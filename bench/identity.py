"""Identity resolution against the generator's truth: precision and recall per feed pair and variant class.

    .venv/bin/python bench/identity.py WORLD_DIR [--url WAREHOUSE_URL]

WORLD_DIR is a generated world (with `truth/`) that has been loaded and built into the warehouse at
WAREHOUSE_URL, with the same SINERGI_PSEUDONYM_KEY in the environment. A world with many identity
variants: `generate(Options(..., identity_variants=0.3), DIR)` (30% of officer, owner and borrower records
written differently, spread over the variant classes).

It prints, for officers, UMKM owners and KUR debtors against BPJS participants (never pooled with the
claims joined by KPJ), and for each variant class, the links made and their precision and recall; then
K2, K4 and K6 nationally against the truth. Recall counts the records that can be found (a NIK slip or
blank NIK only where name + birth date + regency/city are unique among participants); `recall (all)`
counts every one. Goals (issue 17): every pair P >= 0.999 and R >= 0.99, R >= 0.95 in every class,
K2/K4/K6 within 0.3 percentage points of the truth. Exits 1 when a goal is missed.

Each figure is printed with its numerator and denominator: K4 rests on few facilities (about 40 mandatory
ones a month at scale 0.25, 150 at scale 1.0, so one facility moves it 2.5 or 0.7 points), and the
ordinary defects (`defect_rate`) set aside rows nobody can recover, above all participants' rows (about
0.5% of them at the default rate: a NIK of the wrong length or turned into an Excel number, a birth
date in the future, a membership start before birth, a negative wage, too many or too few fields; an
unknown region no longer sets a participant aside, it is emptied), which pull every coverage figure down
by about that share of itself whatever the scale (K4, near 0.9, by about 0.5 points: one or two
borrowers a month at scale 1.0, more than the 0.3-point goal allows). To see what identity resolution alone leaves,
measure the same world with `defect_rate=0` as well; scale 1.0 (two months) generates, loads and builds in
about 1.5 minutes here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion import pseudonym  # noqa: E402
from simulator import truth_check  # noqa: E402
from sinergi.core import settings  # noqa: E402

COLUMNS = ["records", "expected", "linked", "correct", "unrecoverable", "precision", "recall", "recall_all"]


def table(frame: pd.DataFrame, title: str) -> str:
    """A fixed-width table; a rate with nothing to measure shows as `–`."""
    head = f"{title:<38}" + "".join(f"{c.replace('_', ' (') + (')' if '_' in c else ''):>15}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, row in frame.iterrows():
        cells = []
        for c in COLUMNS:
            v = row[c]
            if c in ("precision", "recall", "recall_all"):
                cells.append(f"{v:>15.4f}" if pd.notna(v) else f"{'–':>15}")
            else:
                cells.append(f"{int(v) if pd.notna(v) else 0:>15,}")
        lines.append(f"{name:<38}" + "".join(cells))
    return "\n".join(lines)


def print_gaps(gaps: pd.DataFrame, args) -> None:
    """Each national figure against the truth, with the unrecoverable defects of its month and feeds
    (rows set aside, NIKs no one can recover) that can move it."""
    causes = truth_check.explain_differences(args.url, args.world)
    causes = causes[(causes["region"] == "ID") & (causes["breakdown"] == "")].set_index(["as_of", "metric"])["kinds"]
    for g in gaps.itertuples():
        kinds = causes.get((g.as_of, g.metric), "")
        print(f"{g.metric} {g.as_of}: truth {g.value_truth:.6f} ({_ratio(g.numerator_truth, g.denominator_truth)}), "
              f"warehouse {g.value_warehouse:.6f} ({_ratio(g.numerator_warehouse, g.denominator_warehouse)}), "
              f"{g.gap_pp:+.2f} pp" + (f"   (unrecoverable defects there: {kinds})" if kinds else ""))


def _ratio(numerator, denominator) -> str:
    """`n/d`: how many entities a figure rests on, so how far one of them moves it."""
    return f"{numerator:,.0f}/{denominator:,.0f}" if pd.notna(numerator) and pd.notna(denominator) else "–"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--url", default=settings.warehouse_url())
    args = parser.parse_args()
    tokens = pseudonym.from_environment().token
    s = truth_check.identity_scores(args.url, args.world, tokens)
    links = truth_check.link_scores(args.url, args.world, tokens)["linked_records"]
    gaps = truth_check.metric_gaps(args.url, args.world)
    print(table(s["pairs"], "feed pair"))
    print()
    print(table(s["classes"], "variant class (all three feeds)"))
    print("\nhow the correct links were made:")
    for variant, rules in truth_check.rules_by_class(links).items():
        print(f"  {variant:<36}{rules}")
    print()
    print_gaps(gaps, args)
    print(f"\nall feeds pooled (participants, claims by KPJ, officers, owners, borrowers): {s['records']:,} "
          f"records, precision {s['precision']:.4f}, recall {s['recall']:.4f}")
    if s["unmatched"]:
        print(f"{s['unmatched']:,} warehouse records are unknown to the truth (left out above)")
    goals = truth_check.GOALS
    print(f"\ngoals: every pair P >= {goals['precision']} and R >= {goals['recall']}; R >= {goals['class_recall']} "
          f"in every class; {', '.join(goals['metrics'])} within {goals['metric_pp']} pp of the truth")
    missed = truth_check.missed_goals(s, gaps)
    for m in missed:
        print(f"  missed: {m}")
    print("all goals met" if not missed else f"{len(missed)} goals missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
