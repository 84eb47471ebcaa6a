"""`sinergi build` and `sinergi metrics`: the warehouse from the command line."""
from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from sinergi.cli import options as cli_options
from sinergi.core import fmt, settings
from sinergi.warehouse import metrics
from sinergi.warehouse.database import database_name


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def register(app: typer.Typer, console) -> None:
    @app.command()
    def build(
        include_unchecked: Annotated[bool, typer.Option(
            help="Pakai juga muatan yang belum diperiksa Great Expectations (status mutu pending)")] = False,
    ) -> None:
        """Bangun gudang data (dbt): staging, identitas, mart, dan metrik Inpres 2/2021."""
        from sinergi.warehouse import dbt_runner
        url = settings.warehouse_url()
        with console.status("[bold]dbt membangun gudang data..."):
            try:
                build_id = dbt_runner.build(url, include_unchecked=include_unchecked, quiet=True)
            except dbt_runner.BuildFailed as exc:
                # What failed, what it skipped and which metrics are stale, rather than dbt's log.
                console.print(str(exc), markup=False)
                console.print("[red]Gagal:[/] build tidak tuntas; metrik di atas tidak diperbarui. Perbaiki "
                              "model atau data yang gagal, lalu jalankan `sinergi build` lagi.")
                raise typer.Exit(1) from None
            except dbt_runner.DbtFailed as exc:
                console.print(str(exc), markup=False)
                console.print("[red]Gagal:[/] dbt build gagal (lihat di atas). Perbaiki model atau data, "
                              "lalu jalankan `sinergi build` lagi.")
                raise typer.Exit(1) from None
        console.print(f"[green]Selesai:[/] build [bold]{build_id}[/]. "
                      "Lihat angkanya dengan `sinergi metrics --as-of YYYY-MM`.")

    @app.command(name="export-staging")
    def export_staging(
        out: Annotated[str, typer.Option("--out", help="URL basis data tujuan, baru atau kosong "
                                                        "(mis. postgresql://.../sinergi_staging)")],
        include_unchecked: Annotated[bool, typer.Option(
            help="Bangun salinan juga dari muatan yang belum diperiksa Great Expectations (seperti sinergi build)")] = False,
    ) -> None:
        """Salinan gudang data tanpa orang sungguhan (NIK, nama, alamat diganti pengganti yang konsisten,
        kunci SINERGI_STAGING_KEY), untuk pelatihan dan vendor."""
        from sinergi.warehouse import dbt_runner, staging_copy
        try:
            key = staging_copy.key_from_environment()
            done = staging_copy.export(settings.warehouse_url(), out, key, include_unchecked, say=console.print)
        except staging_copy.StagingRefused as exc:
            console.print(f"[red]Ditolak:[/] {exc}", markup=True)
            raise typer.Exit(2) from None
        except (dbt_runner.BuildFailed, dbt_runner.DbtFailed) as exc:
            console.print(str(exc), markup=False)
            console.print("[red]Gagal:[/] data salinan sudah diganti, tetapi build dbt-nya gagal (lihat di atas). "
                          "Perbaiki, lalu bangun salinan dengan `WAREHOUSE_URL=<URL salinan> sinergi build`.")
            raise typer.Exit(1) from None
        console.print(f"[green]Selesai:[/] salinan {database_name(out)} dibangun; diganti "
                      f"{fmt.angka(done.niks)} NIK, {fmt.angka(done.names)} nama, {fmt.angka(done.addresses)} alamat "
                      f"dan {fmt.angka(done.quarantine_lines)} baris teks karantina.")

    @app.command(name="metrics")
    def metrics_cmd(
        as_of: Annotated[str, typer.Option("--as-of", callback=cli_options.month, help="Bulan, YYYY-MM")],
        region: Annotated[str | None, typer.Option(help="Kode wilayah: PP.KK, PP, atau ID (nasional)")] = None,
        metric: Annotated[str | None, typer.Option(help="K1 ... K9, K9_rupiah, Q1")] = None,
        format: Annotated[Format, typer.Option(help="table, csv (kolom truth/metrics.csv) atau json")] = Format.table,
    ) -> None:
        """Tampilkan metrik untuk satu bulan (dengan rinciannya), per wilayah."""
        if metric and metric not in metrics.NAMES:
            raise typer.BadParameter(f"metrik tidak dikenal; pilih salah satu: {', '.join(metrics.NAMES)}")
        rows = metrics.fetch(settings.warehouse_url(), metrics.Query(as_of, region, metric))
        if not rows:
            known = metrics.months(settings.warehouse_url())
            console.print(f"[yellow]Tidak ada metrik untuk {as_of}"
                          + (f" di wilayah {region}" if region else "") + "."
                          + (f" Bulan yang tersedia: {', '.join(known)}." if known else
                             " Gudang data belum dibangun: jalankan `sinergi load` lalu `sinergi build`."))
            raise typer.Exit(1)
        if format is Format.csv:
            typer.echo(metrics.to_csv(rows), nl=False)
        elif format is Format.json:
            for r in metrics.to_json_rows(rows):
                typer.echo(json.dumps(r, ensure_ascii=False))
        else:
            table = Table("Metrik", "Wilayah", "Rincian", "Nilai",
                          title=f"Metrik Inpres 2/2021, {fmt.bulan(as_of)}")
            for r in rows:
                table.add_row(r["metric"], r["region"], r["breakdown"] or "(total)", metrics.shown(r))
            console.print(table)
            _say_month_status(settings.warehouse_url(), as_of, console)


def _say_month_status(url: str, as_of: str, console) -> None:
    """Provisional figures (a delivery still due) or figures published without some deliveries say so."""
    status = metrics.month_status(url, as_of)
    if status is None or status[0] == "lengkap":
        return
    missing = ", ".join(status[1][:10]) + (f" dan {len(status[1]) - 10} lainnya" if len(status[1]) > 10 else "")
    if status[0] == "sementara":
        console.print(f"[yellow]Angka sementara:[/] kiriman berikut belum tiba dan masih dalam tenggat: {missing}. "
                      f"Bulan ini belum diterbitkan.")
    else:
        console.print(f"[yellow]Diterbitkan setelah tenggat tanpa kiriman:[/] {missing}.")


def print_headline(url: str, console) -> None:
    """The latest month's totals, nationally and per regency/city, one column per region."""
    latest = metrics.months(url)[-1]
    rows = metrics.fetch(url, metrics.Query(latest, breakdowns=False))
    regions = sorted({r["region"] for r in rows if len(r["region"]) == 5})
    by = {(r["metric"], r["region"]): r for r in rows}
    table = Table("Metrik", "Nasional", *regions, title=f"Angka utama {fmt.bulan(latest)} (nasional dan per kabupaten/kota)")
    for metric, name in metrics.NAMES.items():
        if (metric, "ID") in by:
            table.add_row(f"{metric} {name}", *[metrics.shown(by[(metric, reg)], brief=True) if (metric, reg) in by else "-"
                                                 for reg in ["ID", *regions]])
    console.print(table)
