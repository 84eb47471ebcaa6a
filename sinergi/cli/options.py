"""Option checks shared by the command-line modules."""
from __future__ import annotations

import re

import typer


def month(value: str | None) -> str | None:
    """`YYYY-MM`, or a message in Bahasa Indonesia saying what is expected."""
    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise typer.BadParameter("format bulan YYYY-MM, misalnya 2024-01")
    return value
