"""Option checks shared by the command-line modules."""
from __future__ import annotations

import typer

from sinergi.core import settings


def month(value: str | None) -> str | None:
    """`YYYY-MM`, or a message in Bahasa Indonesia saying what is expected."""
    if value is not None and not settings.is_month(value):
        raise typer.BadParameter("format bulan YYYY-MM, misalnya 2024-01")
    return value
