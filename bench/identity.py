"""Identity resolution against the generator's truth: prints pairwise precision and recall.

    .venv/bin/python bench/identity.py WORLD_DIR [--url WAREHOUSE_URL]

WORLD_DIR is a generated world (with `truth/`) that has been loaded and built into the warehouse at
WAREHOUSE_URL, with the same SINERGI_PSEUDONYM_KEY in the environment. Targets (issue 4): precision
>= 0.995 and recall >= 0.99 on the defective seed world; `tests/test_warehouse.py` asserts them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion import pseudonym  # noqa: E402
from sinergi import settings, truth_check  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--url", default=settings.warehouse_url())
    args = parser.parse_args()
    s = truth_check.identity_scores(args.url, args.world, pseudonym.from_environment().token)
    print(f"records compared {s['records']:,}; true pairs {s['true_pairs']:,}, found {s['found_pairs']:,}, "
          f"correct {s['correct_pairs']:,}")
    print(f"precision {s['precision']:.4f} (target >= 0.995)   recall {s['recall']:.4f} (target >= 0.99)")


if __name__ == "__main__":
    main()
