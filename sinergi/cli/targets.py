"""`sinergi target`: targets per BPJS branch office or region, metric and year (issue 20). Stored as an
analyst (sinergi_analyst) in audit.target; the dashboard's "Target" page shows progress and projection."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from sinergi.core import settings


def register(app: typer.Typer, console) -> None:
    target_app = typer.Typer(help="Target per kantor cabang atau wilayah, metrik dan tahun.", no_args_is_help=True)
    app.add_typer(target_app, name="target")

    def refused(exc) -> None:
        console.print("[red]Target ditolak, tidak ada yang disimpan:[/]", highlight=False)
        for problem in exc.problems:
            console.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(1)

    def who() -> str:
        return f"{getpass.getuser()} (baris perintah)"

    @target_app.command("set")
    def target_set(
        metric: Annotated[str, typer.Option("--metric", help="Metrik dari katalog, mis. K1")],
        year: Annotated[int, typer.Option("--year", help="Tahun, mis. 2024")],
        value: Annotated[str, typer.Option("--value", help="Nilai: persen untuk metrik persentase (25 = 25%), "
                                                          "bilangan bulat untuk jumlah")],
        branch: Annotated[str | None, typer.Option("--branch", help="Kode kantor cabang, mis. K1301")] = None,
        region: Annotated[str | None, typer.Option("--region", help="Kode wilayah: ID, 35 atau 35.78")] = None,
    ) -> None:
        """Tetapkan satu target (yang terbaru untuk kantor cabang/wilayah, metrik dan tahun yang sama berlaku)."""
        from sinergi.warehouse import roles, targets
        url = settings.warehouse_url()
        targets.ensure_table(url)
        with roles.connect(url, roles.ANALYST) as conn:
            known = targets.known(conn)
            target, problems = targets.check(branch, region, metric, year, value, known)
            if problems:
                refused(targets.TargetRefused(problems))
            targets.store(conn, [target], who(), "baris perintah", known.branches)
        console.print(f"Target {target.scope} {target.metric} {target.year} = {targets.fmt_value(target.value)} "
                      "disimpan.", highlight=False)

    @target_app.command("import")
    def target_import(
        path: Annotated[Path, typer.Argument(help="Berkas CSV (UTF-8) dengan kolom cabang,wilayah,metrik,tahun,nilai",
                                             exists=True, dir_okay=False)],
    ) -> None:
        """Impor target dari CSV: semua baris disimpan, atau tidak satu pun bila ada baris yang salah."""
        from sinergi.warehouse import targets
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            refused(targets.TargetRefused(["berkas bukan teks UTF-8 (simpan sebagai CSV UTF-8)"]))
        try:
            saved = targets.save(settings.warehouse_url(), text, who(), f"impor:{path.name}")
        except targets.TargetRefused as exc:
            refused(exc)
        console.print(f"{saved} target dari {path.name} disimpan.", highlight=False)
