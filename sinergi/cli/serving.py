"""Commands for the people who read the warehouse: `serve`, `init-env`, `user`, `report`, `docs`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sinergi.cli import options as cli_options
from sinergi.core import settings
from sinergi.warehouse import roles


def register(app: typer.Typer, console) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Alamat yang didengarkan")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port")] = 8000,
        env_file: Annotated[Path | None, typer.Option(
            "--env-file", help="Baca WAREHOUSE_URL, SINERGI_WEB_SECRET, dll. dari berkas NAMA=nilai ini")] = None,
    ) -> None:
        """Jalankan dasbor untuk analis (masuk dengan akun dari `sinergi user add`)."""
        import os

        import uvicorn

        from sinergi.core import envfile
        from sinergi.serve.web.app import create_app
        from sinergi.serve.web.db import UnsafeSetup
        if env_file:
            os.environ.update(envfile.read(env_file))
        try:
            web = create_app(settings.warehouse_url())
        except UnsafeSetup as exc:
            console.print(f"[red]Dasbor tidak dijalankan:[/] {exc}", highlight=False, markup=False)
            raise typer.Exit(1) from None
        console.print(f"Dasbor Sinergi di [bold]http://{host}:{port}/[/] (hentikan dengan Ctrl+C).")
        # Client addresses (login throttling, access log) come from X-Forwarded-For only when the proxy is
        # this machine (uvicorn's default: forwarded_allow_ips=127.0.0.1).
        uvicorn.run(web, host=host, port=port, log_level="warning", server_header=False, date_header=False)

    @app.command("init-env")
    def init_env(
        out: Annotated[Path, typer.Option(help="Berkas yang ditulis")] = Path(".env"),
        force: Annotated[bool, typer.Option(help="Timpa berkas yang ada (semua rahasia berganti)")] = False,
    ) -> None:
        """Tulis .env untuk docker compose dari .env.example, dengan setiap rahasia dibuat acak."""
        from sinergi.core import envfile
        try:
            filled = envfile.write(out, force=force)
        except FileExistsError as exc:
            console.print(f"[red]{exc}[/]", highlight=False)
            raise typer.Exit(1) from None
        console.print(f"{out} ditulis (hanya pemiliknya yang bisa membaca) dengan {len(filled)} rahasia acak: "
                      f"{', '.join(filled)}. Simpan salinannya di tempat aman.")

    user_app = typer.Typer(help="Akun dasbor, masing-masing dipetakan ke satu peran basis data.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    @user_app.command("add")
    def user_add(
        username: Annotated[str, typer.Argument(help="Nama pengguna")],
        role: Annotated[str, typer.Option(help=roles.HELP)],
        password: Annotated[str, typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="SINERGI_USER_PASSWORD",
            help="Kata sandi (ditanyakan bila tidak diberikan)")],
    ) -> None:
        """Buat atau perbarui akun dasbor (kata sandi atau peran baru mengakhiri sesinya yang terbuka)."""
        from sinergi.serve.web import users
        try:
            who = users.add(settings.warehouse_url(), username, password, role)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        console.print(f"Akun [bold]{who.username}[/] memakai peran basis data [bold]{who.role}[/] ({who.kind}).")

    @user_app.command("remove")
    def user_remove(username: Annotated[str, typer.Argument(help="Nama pengguna")]) -> None:
        """Hapus akun dasbor; sesinya yang masih terbuka berakhir saat itu juga."""
        from sinergi.serve.web import users
        if not users.remove(settings.warehouse_url(), username):
            console.print(f"[red]Tidak ada akun {username}.[/]", highlight=False)
            raise typer.Exit(1)
        console.print(f"Akun [bold]{username}[/] dihapus; sesinya berakhir.", highlight=False)

    @user_app.command("list")
    def user_list() -> None:
        """Daftar akun dasbor, perannya dan sesinya yang terbuka (juga menyiapkan tabel akses)."""
        from rich.table import Table

        from sinergi.serve.web import users
        table = Table("Pengguna", "Peran basis data", "Diubah", "Sesi terbuka", "Terakhir aktif")
        for u in users.listed(settings.warehouse_url()):
            table.add_row(u["username"], u["role"], f"{u['changed_at']:%Y-%m-%d %H:%M}", str(u["sessions"]),
                          f"{u['last_seen']:%Y-%m-%d %H:%M}" if u["last_seen"] else "–")
        console.print(table)

    @app.command()
    def report(
        as_of: Annotated[str, typer.Option("--as-of", callback=cli_options.month, help="Bulan, YYYY-MM")],
        out: Annotated[Path, typer.Option(help="Folder tujuan")] = Path("laporan"),
        role: Annotated[str, typer.Option(help=f"Peran yang membaca: {roles.HELP}")] = "auditor",
    ) -> None:
        """Tulis laporan kepatuhan untuk auditor (HTML dan PDF) beserta buktinya."""
        from sinergi.serve import report as report_mod
        try:
            db_role = roles.resolve(settings.warehouse_url(), role)
        except ValueError as exc:  # an unknown role or branch office, said in Bahasa
            raise typer.BadParameter(str(exc), param_hint="--role") from None
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
        from sinergi.warehouse import dbt_runner
        with console.status("[bold]dbt docs generate..."):
            page = dbt_runner.docs(settings.warehouse_url())
        console.print(f"Dokumentasi dbt di [bold]{page}[/]; dasbor membukanya dari halaman Kualitas data.")
