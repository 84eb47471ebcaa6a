"""`sinergi-sim`: the simulator's command line (a development tool; production images do not hold it).

`generate` writes a world of realistic deliveries with its truth; `demo` (what `make demo` runs) generates
one, loads and builds it through the Airflow DAGs, and prints what came out. The product's command line,
`sinergi`, never imports this package.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sinergi.cli import ingest as cli_ingest
from sinergi.cli import options as cli_options
from sinergi.cli import warehouse as cli_warehouse
from sinergi.core import fmt, settings

app = typer.Typer(help="Simulator Sinergi: dunia kiriman buatan beserta kebenarannya, dan demo lengkap.",
                  no_args_is_help=True, add_completion=False)
console = Console(width=None if sys.stdout.isatty() else 150)


def _defect_rate(value: str) -> float:
    if value == "none":
        return 0.0
    try:
        rate = float(value)
    except ValueError:
        raise typer.BadParameter("pakai 'none' atau angka antara 0 dan 0.05, misalnya 0.001") from None
    if not 0 <= rate <= 0.05:
        raise typer.BadParameter("laju cacat harus antara 0 dan 0.05")
    return rate


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder tujuan (landing/ dan truth/ dibuat di dalamnya)")],
    profile: Annotated[str, typer.Option(help="seed (lima daerah) atau national (514 kabupaten/kota)")] = "seed",
    scale: Annotated[float, typer.Option(min=0.0001, max=1.0, help="Pengali semua jumlah")] = 1.0,
    months: Annotated[int, typer.Option(min=1, max=36, help="Jumlah bulan berurutan")] = 3,
    start: Annotated[str, typer.Option(callback=cli_options.month, help="Bulan pertama, YYYY-MM")] = "2024-01",
    seed: Annotated[int, typer.Option(help="Benih acak: argumen sama, berkas sama persis")] = 42,
    defects: Annotated[str, typer.Option(help="Laju cacat per jenis per baris, atau 'none'")] = "0.001",
    identity_variants: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Bagian catatan pengurus, pemilik UMKM dan debitur KUR yang ditulis berbeda "
                               "(nama, NIK, tanggal lahir); bawaan: laju cacat")] = None,
) -> None:
    """Buat folder kiriman (landing) yang realistis beserta kebenarannya (truth)."""
    from . import Options
    if profile not in ("seed", "national"):
        raise typer.BadParameter("profil harus seed atau national", param_hint="--profile")
    opts = Options(profile=profile, scale=scale, months=months, start=start, seed=seed,
                   defect_rate=_defect_rate(defects), identity_variants=identity_variants)
    from .profiles import ScaleTooSmall, check_scale
    try:
        check_scale(opts.profile, opts.scale, opts.seed)
    except ScaleTooSmall as exc:
        raise typer.BadParameter(str(exc), param_hint="--scale") from None
    result = _generate(opts, out)
    console.print(f"[green]Selesai:[/] {fmt.angka(result.files)} berkas, {fmt.angka(result.rows)} baris, "
                  f"{fmt.angka(result.defects)} cacat tercatat, {fmt.angka(result.metrics)} baris metrik kebenaran "
                  f"di {out}/truth.")


def _generate(opts, out: Path):
    from . import expected_files
    from . import generate as run
    with Progress(TextColumn("[bold]Membuat kiriman"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as bar:
        task = bar.add_task("", total=expected_files(opts))
        def advance(n: int, name: str) -> None:
            # Corrected files and re-deliveries add a few files beyond the plan.
            t = bar.tasks[0]
            bar.update(task, advance=n, description=name, total=max(t.total, t.completed + n))
        return run(opts, out, progress=advance)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder demo")] = Path(".local/demo"),
) -> None:
    """Jalankan contoh lengkap: dunia seed dibangkitkan, dimuat dan dibangun lewat DAG Airflow, lalu diringkas."""
    import shutil

    from sinergi.core import demo_keys
    from sinergi.orchestration import airflow_local
    from sinergi.warehouse import database

    from . import Options, summary
    url = database.ensure(settings.demo_url(), say=lambda m: console.print(f"[yellow]{m}[/]"))
    database.drop_database(url)  # the demo starts from nothing each time; its own database, never WAREHOUSE_URL's
    database.create_database(url)
    console.print(f"Gudang data demo: [bold]{database.database_name(url)}[/] siap.")
    shutil.rmtree(out, ignore_errors=True)
    opts = Options(profile="seed", scale=1.0, months=3, start="2024-01", seed=42, defect_rate=0.001)
    _generate(opts, out)
    summary.print_world(out, console)
    env = airflow_local.environment(settings.PROJECT_ROOT / ".local" / "airflow", url, out / "landing")
    env[settings.ENV_PSEUDONYM_KEY] = demo_keys.demo_pseudonym_key(console)
    with console.status("[bold]Airflow menjalankan DAG pemuatan (kemenkop, bpjstk, himbara)..."):
        result = airflow_local.run(airflow_local.INGEST_DAGS, env)
    if result.returncode != 0:
        console.print(result.stdout[-4000:], result.stderr[-4000:], markup=False)
        console.print("[red]DAG gagal.[/] Log lengkap di .local/airflow/logs; perbaiki lalu jalankan `make demo` lagi.")
        raise typer.Exit(1)
    cli_ingest.print_ledger_summary(url, console)
    # Under dag.test() an Asset update does not start the DAGs scheduled on it: the warehouse DAG runs here.
    with console.status("[bold]Airflow menjalankan DAG gudang data (satu dbt build: seed, model, uji)..."):
        result = airflow_local.run([airflow_local.WAREHOUSE_DAG], env)
    if result.returncode != 0:
        console.print(result.stdout[-6000:], result.stderr[-4000:], markup=False)
        console.print(f"[red]DAG {airflow_local.WAREHOUSE_DAG} gagal[/] (di atas: model atau uji dbt mana yang gagal, "
                      "dan keluaran dbt-nya). Data mentah sudah dimuat. Perbaiki model di dbt_project/, lalu jalankan "
                      "`make demo` lagi, atau bangun ulang saja dengan `sinergi build` "
                      f"(WAREHOUSE_URL menunjuk ke basis data {database.database_name(url)}).")
        raise typer.Exit(1)
    _, run_id = airflow_local.latest_runs(env)[airflow_local.WAREHOUSE_DAG]
    console.print(f"Gudang data dibangun oleh DAG {airflow_local.WAREHOUSE_DAG} (build [bold]{run_id}[/]).")
    cli_warehouse.print_headline(url, console)
    _demo_people(url, out)


def _demo_people(url: str, out: Path) -> None:
    """Demo accounts, the auditors' report for the latest month and the dbt docs; then how to open them.

    The dashboard serves through `sinergi_web` (NOINHERIT, no row-level-security bypass), as in production:
    the demo gives that login a password of its own and writes the settings `sinergi serve` reads."""
    import os
    import secrets as pysecrets

    import psycopg
    from psycopg import sql

    from ingestion import access
    from sinergi.core import demo_keys
    from sinergi.serve import report
    from sinergi.serve.web import users
    from sinergi.warehouse import dbt_runner, metrics
    password = pysecrets.token_urlsafe(12)
    accounts = [("analis", "analyst"), ("auditor", "auditor"), ("jatim", "wilayah:35")]
    with psycopg.connect(url) as conn:  # a branch office of the world, Jawa Timur's largest if it has one
        branch = conn.execute("select branch_code from marts.dim_branch_area group by branch_code "
                              "order by bool_or(province_code = '35') desc, sum(employers) desc, 1 limit 1").fetchone()
    if branch:
        accounts.append(("cabang", f"cabang:{branch[0]}"))
    for name, role in accounts:
        users.add(url, name, password, role)
    web_password = demo_keys.demo_web_password()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("alter role {} with login password {}").format(
            sql.Identifier(access.WEB), sql.Literal(web_password)))
    out.mkdir(parents=True, exist_ok=True)
    settings_file = out / "dasbor.env"
    lines = [f"WAREHOUSE_URL={demo_keys.login_url(url, access.WEB, web_password)}",
             f"SINERGI_WEB_SECRET={demo_keys.demo_web_secret()}"]
    fd = os.open(settings_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# Dasbor demo: login sinergi_web dan rahasia sesi (dibuat oleh `sinergi-sim demo`).\n" + "\n".join(lines) + "\n")
    latest = metrics.months(url)[-1]
    with console.status(f"[bold]Menyusun laporan kepatuhan {latest} dan dokumentasi dbt..."):
        written = report.write(url, latest, out / "laporan")
        dbt_runner.docs(url)
    console.print(f"\nLaporan kepatuhan untuk auditor: [bold]{written.html}[/] dan [bold]{written.pdf}[/]")
    console.print("Buka dasbor (masuk ke basis data sebagai sinergi_web, seperti di produksi) dengan:\n"
                  f"  [bold].venv/bin/sinergi serve --env-file {settings_file}[/]\n"
                  "lalu buka http://127.0.0.1:8000/ dan masuk sebagai "
                  + ", ".join(f"[bold]{n}[/] ({r})" for n, r in accounts) + f" dengan kata sandi [bold]{password}[/]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
