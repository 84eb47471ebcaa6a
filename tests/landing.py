"""Helpers for tests that load landing folders."""
from __future__ import annotations

import shutil


def copy_landing(world, target):
    """A private copy of a world's landing folder (delivery times kept: they order the loads)."""
    shutil.copytree(world / "landing", target)
    return target
