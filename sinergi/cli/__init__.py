"""The `sinergi` command line: `ingest` (load, check, ledger, quarantine, release), `warehouse` (build,
metrics), `serving` (serve, user, report, docs) and `targets` (target set, import). Verbs call the same library
code the DAGs call."""
from __future__ import annotations

import sys

import typer
from rich.console import Console

from . import ingest, serving, targets, warehouse, worklists

app = typer.Typer(help="Sinergi: cakupan jaminan sosial ketenagakerjaan koperasi, UMKM dan debitur KUR.",
                  no_args_is_help=True, add_completion=False)
# Piped output (CI logs, `make demo | less`) gets a wide page rather than 80 columns.
console = Console(width=None if sys.stdout.isatty() else 150)


ingest.register(app, console)
warehouse.register(app, console)
serving.register(app, console)
targets.register(app, console)
worklists.register(app, console)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
