"""Helpers for tests that load landing folders."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_landing(world, target):
    """A private copy of a world's landing folder (delivery times kept: they order the loads)."""
    shutil.copytree(world / "landing", target)
    return target


def load_and_build(world, tmp_path_factory, new_db, name, with_tests=True):
    """Load a world's landing folder into a fresh database and build the warehouse; returns its URL."""
    from ingestion import pipeline
    from sinergi.warehouse import dbt_runner
    landing = copy_landing(world, tmp_path_factory.mktemp(name) / "landing")
    url = new_db()
    pipeline.load_by_sender(url, landing)
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=with_tests)
    return url


class Deliveries:
    """Writes files into a landing folder with increasing delivery times (their order matters)."""

    def __init__(self, root: Path):
        self.root, self.clock = root, 1_700_000_000

    def write(self, rel: str, data: bytes) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.clock += 60
        os.utime(path, (self.clock, self.clock))
        return rel
