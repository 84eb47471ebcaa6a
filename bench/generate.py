"""Benchmark: `sinergi-sim generate` at national scale, against an I/O floor measured in the same run.

Prints the time, the rows per second, the ratio to simply copying the files it wrote (the floor any
generator pays), and peak memory for one and for two months (memory must not grow with the months).
Target (issue 2): national scale 0.01, one month, under two minutes on 2 cores.

    .venv/bin/python bench/generate.py [--scale 0.01]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from simulator import Options, generate
t = time.perf_counter()
r = generate(Options(profile="national", scale=float(sys.argv[1]), months=int(sys.argv[2]), seed=1), sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - t, "rows": r.rows, "files": r.files,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(scale: float, months: int, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(scale), str(months), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = run(args.scale, 1, Path(tmp) / "one")
        t = time.perf_counter()
        shutil.copytree(Path(tmp) / "one" / "landing", Path(tmp) / "copy")
        floor = time.perf_counter() - t
        two = run(args.scale / 2, 2, Path(tmp) / "two")
        half = run(args.scale / 2, 1, Path(tmp) / "half")
    print(f"national scale {args.scale}, 1 month: {one['seconds']:.1f} s, {one['rows']:,} rows in {one['files']} files "
          f"({one['rows'] / one['seconds']:,.0f} rows/s), peak {one['peak_mb']:.0f} MB")
    print(f"copying the same files: {floor:.2f} s -> generation costs {one['seconds'] / floor:.0f}x the I/O floor")
    print(f"scale {args.scale / 2}: 1 month peak {half['peak_mb']:.0f} MB, 2 months peak {two['peak_mb']:.0f} MB "
          f"(ratio {two['peak_mb'] / half['peak_mb']:.2f}; months are streamed)")
    print("target: under 120 s for 1 month at scale 0.01 ->", "met" if one["seconds"] < 120 else "NOT met")


if __name__ == "__main__":
    main()
