"""Commands for the people who read the warehouse: `serve`, `user`, `report`, `docs`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import cli_options, settings


def register(app: typer.Typer, console) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Alamat yang didengarkan")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port")] = 8000,
    ) -> None:
        """Jalankan dasbor untuk analis (masuk dengan akun dari `sinergi user add`)."""
        import uvicorn

        from .web.app import create_app
        console.print(f"Dasbor Sinergi di [bold]http://{host}:{port}/[/] (hentikan dengan Ctrl+C).")
        uvicorn.run(create_app(settings.warehouse_url()), host=host, port=port, log_level="warning")

    user_app = typer.Typer(help="Akun dasbor, masing-masing dipetakan ke satu peran basis data.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    @user_app.command("add")
    def user_add(
        username: Annotated[str, typer.Argument(help="Nama pengguna")],
        role: Annotated[str, typer.Option(help="analyst, auditor, atau wilayah:<kode provinsi> (mis. wilayah:35)")],
        password: Annotated[str, typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="SINERGI_USER_PASSWORD",
            help="Kata sandi (ditanyakan bila tidak diberikan)")],
    ) -> None:
        """Buat atau perbarui akun dasbor."""
        from .web import users
        try:
            who = users.add(settings.warehouse_url(), username, password, role)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        console.print(f"Akun [bold]{who.username}[/] memakai peran basis data [bold]{who.role}[/] ({who.kind}).")

    @app.command()
    def report(
        as_of: Annotated[str, typer.Option("--as-of", callback=cli_options.month, help="Bulan, YYYY-MM")],
        out: Annotated[Path, typer.Option(help="Folder tujuan")] = Path("laporan"),
        role: Annotated[str, typer.Option(help="Peran basis data yang membaca (auditor, analyst)")] = "auditor",
    ) -> None:
        """Tulis laporan kepatuhan untuk auditor (HTML dan PDF) beserta buktinya."""
        from ingestion import access

        from . import report as report_mod
        db_role = {"auditor": access.AUDITOR, "analyst": access.ANALYST}.get(role, role)
        with console.status(f"[bold]Menyusun laporan {as_of}..."):
            try:
                written = report_mod.write(settings.warehouse_url(), as_of, out, db_role)
            except LookupError as exc:
                console.print(f"[red]Gagal:[/] {exc}")
                raise typer.Exit(1) from None
        console.print(f"Laporan: [bold]{written.html}[/] dan [bold]{written.pdf}[/]; "
                      f"{len(written.entity_files)} daftar entitas (CSV) di {out}.")

    @app.command()
    def docs() -> None:
        """Buat situs dokumentasi dbt (dibuka dari halaman Kualitas data di dasbor)."""
        from . import transform
        with console.status("[bold]dbt docs generate..."):
            page = transform.docs(settings.warehouse_url())
        console.print(f"Dokumentasi dbt di [bold]{page}[/]; dasbor membukanya dari halaman Kualitas data.")
