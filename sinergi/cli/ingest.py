"""`sinergi load`, `ledger`, `quarantine`, `release`: the ingestion verbs, same code as the DAGs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import psycopg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sinergi.core import fmt, labels, settings

QUALITY_STYLE = {"passed": "green", "warning": "yellow", "failed": "red", "error": "red", "pending": "magenta"}
STATUS_STYLE = {"loaded": "green", "duplicate": "cyan", "superseded": "blue", "rejected": "red", "held": "yellow",
                "skipped": "magenta"}


def register(app: typer.Typer, console) -> None:
    @app.command()
    def load(
        landing: Annotated[Optional[Path], typer.Argument(help="Folder kiriman (bawaan: $SINERGI_LANDING_DIR)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Satu objek JSON per berkas")] = False,
        sender: Annotated[Optional[str], typer.Option(help="Hanya satu pengirim: kemenkop, bpjstk, himbara")] = None,
        checks: Annotated[bool, typer.Option(help="Jalankan Great Expectations pada tiap muatan")] = True,
    ) -> None:
        """Muat berkas baru dari folder kiriman ke gudang data, dengan buku besar dan karantina."""
        landing = landing or settings.landing_dir()
        outcomes = run_load(landing, sender, checks, console, quiet=as_json)
        emit_outcomes(outcomes, console, as_json)

    @app.command()
    def check(
        as_json: Annotated[bool, typer.Option("--json", help="Satu objek JSON per muatan")] = False,
        sender: Annotated[Optional[str], typer.Option(help="Hanya satu pengirim: kemenkop, bpjstk, himbara")] = None,
    ) -> None:
        """Periksa ulang mutu (Great Expectations) tiap muatan yang belum (pending) atau gagal diperiksa (error)."""
        from ingestion import pipeline, quality
        with _connect(console) as conn:  # also brings an older ledger up to date
            load_ids = quality.unchecked(conn, sender)
        url = settings.warehouse_url()
        try:
            check_with_progress(url, load_ids, console, quiet=as_json)
        except Exception as exc:  # the database went away midway: what was checked is in the ledger
            _fail(console, f"pemeriksaan mutu terhenti ({type(exc).__name__}: {exc}); jalankan `sinergi check` lagi")
        with pipeline.connect(url) as conn:
            rows = list(quality.verdicts(conn, load_ids).values())
        if as_json:
            for r in rows:
                typer.echo(json.dumps(r, ensure_ascii=False, default=str))
        elif not rows:
            console.print("Tidak ada muatan yang menunggu pemeriksaan mutu (pending atau error).")
        else:
            table = Table("Muatan", "Berkas", "Mutu", "Alasan", title="Pemeriksaan mutu ulang")
            for r in rows:
                table.add_row(str(r["load_id"]), r["file"], _quality(r["quality"]), r["quality_reason"] or "")
            console.print(table)
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["quality"]] = counts.get(r["quality"], 0) + 1
            console.print(", ".join(f"{fmt.angka(n)} {q}" for q, n in sorted(counts.items())))
        if any(r["quality"] == "error" for r in rows):
            if not as_json:
                console.print("Muatan bermutu `error` belum diperiksa: lihat alasannya di atas dan langkahnya di "
                              "docs/runbooks.md, lalu jalankan `sinergi check` lagi.")
            raise typer.Exit(1)

    @app.command()
    def ledger(
        status: Annotated[Optional[str], typer.Option(help="loaded, duplicate, superseded, rejected, held")] = None,
        sender: Annotated[Optional[str], typer.Option(help="kemenkop, bpjstk, himbara")] = None,
        limit: Annotated[int, typer.Option(help="Jumlah baris terbaru")] = 200,
    ) -> None:
        """Tampilkan buku besar muatan: satu baris per berkas yang diterima."""
        from ingestion import ledger as ledger_mod
        with _connect(console) as conn:
            rows = ledger_mod.ledger(conn, status, sender, limit)
        table = Table("Muatan", "Berkas", "Status", "Dibaca", "Dimuat", "Karantina", "Mutu", "Alasan", title="Buku besar muatan")
        for r in reversed(rows):
            table.add_row(str(r["load_id"]), r["file"], _status(r["status"]), fmt.angka(r["rows_read"]),
                          fmt.angka(r["rows_loaded"]), fmt.angka(r["rows_quarantined"]), r["quality"], r["reason"] or "")
        console.print(table)

    @app.command()
    def quarantine(
        file: Annotated[Optional[str], typer.Option(help="Satu berkas (jalur di folder kiriman) untuk melihat barisnya")] = None,
        reason: Annotated[Optional[str], typer.Option(help="Satu kode alasan")] = None,
        export: Annotated[Optional[Path], typer.Option(
            help="Dengan --file: tulis baris karantina (teks aslinya) ke CSV untuk dikoreksi, lalu `sinergi correct`")] = None,
    ) -> None:
        """Baris yang dikarantina, per berkas dan alasan (dengan --file: baris demi baris)."""
        from ingestion import corrections
        from ingestion import ledger as ledger_mod
        with _connect(console) as conn:
            if file and export:
                try:
                    n = corrections.export(conn, file, export)
                except corrections.CannotCorrect as exc:
                    _fail(console, str(exc))
                console.print(f"{fmt.angka(n)} baris karantina ditulis ke {export} (berisi data pribadi: simpan "
                              f"terbatas). Isi kolom teks_koreksi, lalu `sinergi correct {export} --note \"...\"`.")
                return
            if file:
                rows = ledger_mod.quarantined_rows(conn, file, reason)
                table = Table("Baris", "Alasan", "Kolom", "Keterangan", title=f"Karantina {file}")
                for r in rows:
                    table.add_row(str(r["line"]), r["reason"], r["column"] or "", r["message"])
            else:
                rows = ledger_mod.quarantine_by_reason(conn)
                table = Table("Berkas", "Alasan", "Baris", "Contoh", title="Karantina per berkas dan alasan")
                for r in rows:
                    if reason in (None, r["reason"]):
                        table.add_row(r["file"], r["reason"], fmt.angka(r["rows"]), r["example"])
        console.print(table)

    @app.command()
    def correct(
        corrections_csv: Annotated[Path, typer.Argument(help="CSV dari `sinergi quarantine --file ... --export`, "
                                                              "dengan kolom teks_koreksi terisi")],
        note: Annotated[str, typer.Option(help="Siapa yang mengonfirmasi koreksi dan atas dasar apa (untuk auditor)")],
        landing: Annotated[Optional[Path], typer.Option(help="Folder kiriman")] = None,
    ) -> None:
        """Koreksi baris karantina: tulis kiriman koreksi (`_vN`) ke folder kiriman, dimuat pada putaran berikutnya."""
        from ingestion import contracts, corrections
        with _connect(console) as conn:
            try:
                target = corrections.apply(conn, landing or settings.landing_dir(), contracts.load(),
                                           corrections_csv, note)
            except corrections.CannotCorrect as exc:
                _fail(console, str(exc))
        console.print(f"[green]Kiriman koreksi ditulis:[/] {target}. Jalankan `sinergi load` untuk memuatnya; "
                      f"berkas aslinya akan digantikan.")

    @app.command()
    def release(
        file: Annotated[str, typer.Argument(help="Jalur berkas yang ditahan, seperti di buku besar")],
        note: Annotated[str, typer.Option(help="Mengapa berkas ini dilepas (tercatat untuk auditor)")],
        landing: Annotated[Optional[Path], typer.Option(help="Folder kiriman")] = None,
    ) -> None:
        """Lepaskan berkas yang ditahan: kembali ke folder kiriman dan dimuat pada putaran berikutnya."""
        from ingestion import ledger as ledger_mod
        with _connect(console) as conn:
            try:
                back = ledger_mod.release(conn, landing or settings.landing_dir(), file, note)
            except ledger_mod.NotHeld as exc:
                _fail(console, str(exc))
        console.print(f"[green]Dilepas:[/] {back}. Jalankan `sinergi load` untuk memuatnya.")


def run_load(landing: Path, sender: str | None, checks: bool, console, quiet: bool = False):
    """Load with a progress bar; then run the expectation suites on the new batches. Refusals (not a
    landing folder, another load running) and a database that stays away end the command with one
    line in Bahasa, after the outcomes already done."""
    from ingestion import contracts, pipeline, pseudonym
    from ingestion import landing as landing_mod
    try:
        pseudo = pseudonym.from_environment()
    except pseudonym.MissingKey as exc:
        _fail(console, str(exc))
    try:
        landing_mod.validate(landing, contracts.load())
    except landing_mod.NotALanding as exc:
        _fail(console, str(exc))
    names = [sender] if sender else sorted(landing_mod.senders(contracts.load()))
    url = settings.warehouse_url()
    try:
        with pipeline.sender_lock(url, names, wait=False):
            refused = pipeline.refused_links(landing, sender)
            files = pipeline.pending(landing, sender)
            if checks:  # Great Expectations' import (seconds of CPU) runs while small files load
                from ingestion import quality
                quality.prepare_while_loading(landing, files)
            with Progress(TextColumn("[bold]Memuat"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          TextColumn("{task.description}"), console=console, disable=quiet) as bar:
                task = bar.add_task("", total=len(files))
                outcomes = refused + pipeline.load_files(
                    url, landing, files, pseudo, on_file=lambda o: bar.update(task, advance=1, description=o.file))
    except pipeline.LoadRunning as exc:
        _fail(console, str(exc))
    except pipeline.LoadInterrupted as exc:
        if quiet:
            for o in exc.done:
                typer.echo(json.dumps(o.as_dict(), ensure_ascii=False, default=str))
        else:
            print_outcomes(exc.done, console)
        _fail(console, str(exc))
    except psycopg.OperationalError as exc:
        _fail(console, f"gudang data tidak dapat dihubungi ({type(exc).__name__}); periksa WAREHOUSE_URL dan "
                       f"server PostgreSQL, lalu jalankan lagi")
    if checks:
        from ingestion import quality
        loaded = [o.load_id for o in outcomes if o.status in ("loaded", "superseded") and not o.recovered]
        try:
            # Also the batches earlier runs left unchecked (pending) or could not check (error).
            with pipeline.connect(url) as conn:
                earlier = sorted(set(quality.unchecked(conn, sender)) - set(loaded))
            results = check_with_progress(url, loaded + earlier, console, quiet)
        except Exception as exc:  # the files are loaded whatever happened to their checks: show them
            emit_outcomes(outcomes, console, quiet)
            message = (f"pemeriksaan mutu terhenti ({type(exc).__name__}: {exc}); berkas di atas sudah dimuat, "
                       f"mutunya diperiksa dengan `sinergi check`")
            if quiet:  # stdout stays JSON
                typer.echo(f"Gagal: {message}", err=True)
                raise typer.Exit(2)
            _fail(console, message)
        if not quiet and earlier:
            console.print(f"{fmt.angka(len(earlier))} muatan dari putaran sebelumnya (mutu pending atau error) "
                          f"diperiksa ulang.")
        errors = [i for i, q in results.items() if q == "error"]
        if not quiet and errors:
            console.print(f"[red]{fmt.angka(len(errors))} muatan gagal diperiksa (mutu error)[/]: `sinergi check` "
                          f"menampilkan alasannya dan memeriksa ulang setelah penyebabnya diperbaiki "
                          f"(docs/runbooks.md).")
    return outcomes


def check_with_progress(url: str, load_ids: list[int], console, quiet: bool = False) -> dict[int, str]:
    """Run the expectation suites on these batches with a progress bar; load id -> quality."""
    from ingestion import quality
    if not load_ids:
        return {}
    with Progress(TextColumn("[bold]Memeriksa mutu"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, disable=quiet) as bar:
        task = bar.add_task("", total=len(load_ids))
        return quality.check_loads(url, load_ids, on_load=lambda load_id, verdict: bar.update(
            task, advance=1, description=f"muatan {load_id}: {verdict}"))


def emit_outcomes(outcomes, console, as_json: bool) -> None:
    """The outcomes as a table, or one JSON object per file with its batch's quality from the ledger."""
    verdicts = _verdicts([o.load_id for o in outcomes if o.load_id is not None])
    if not as_json:
        print_outcomes(outcomes, console, verdicts)
        return
    for o in outcomes:
        v = verdicts.get(o.load_id, {})
        typer.echo(json.dumps({**o.as_dict(), "quality": v.get("quality"), "quality_reason": v.get("quality_reason")},
                              ensure_ascii=False, default=str))


def _verdicts(load_ids: list[int]) -> dict[int, dict]:
    """load id -> the ledger's quality; empty when the ledger cannot be read (the outcomes still print)."""
    if not load_ids:
        return {}
    from ingestion import pipeline, quality
    try:
        with pipeline.connect(settings.warehouse_url()) as conn:
            return quality.verdicts(conn, load_ids)
    except Exception:
        return {}


def print_outcomes(outcomes, console, verdicts: dict[int, dict] | None = None) -> None:
    if not outcomes:
        console.print("Tidak ada berkas baru di folder kiriman.")
        return
    verdicts = verdicts or {}
    table = Table("Berkas", "Status", "Dibaca", "Dimuat", "Karantina", "Mutu", "Alasan", title="Hasil pemuatan")
    for o in outcomes:
        v = verdicts.get(o.load_id, {})
        table.add_row(o.file, _status(o.status), fmt.angka(o.rows_read), fmt.angka(o.rows_loaded),
                      fmt.angka(o.rows_quarantined), _quality(v.get("quality")),
                      o.reason or v.get("quality_reason") or "")
    console.print(table)
    counts = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    console.print(", ".join(f"{fmt.angka(n)} {labels.LOAD_STATUS[s]}" for s, n in counts.items()))
    if counts.get("rejected") or counts.get("held"):
        console.print("Berkas ditolak atau ditahan: lihat alasannya dengan `sinergi ledger --status rejected` "
                      "(atau held) dan langkahnya di docs/runbooks.md.")


def print_ledger_summary(url: str, console) -> None:
    """Per sender and status: files and rows; then where to look next."""
    from ingestion import ledger as ledger_mod
    from ingestion import pipeline, quality
    with pipeline.connect(url) as conn:
        rows = ledger_mod.summary(conn)
        checked = conn.execute("select quality, count(*) from audit.load where status in ('loaded', 'superseded') "
                               "group by 1 order by 1").fetchall()
    table = Table("Pengirim", "Status", "Berkas", "Baris dibaca", "Baris dimuat", "Baris dikarantina",
                  title="Ringkasan buku besar muatan")
    for r in rows:
        table.add_row(r["sender"], _status(r["status"]), fmt.angka(r["files"]), fmt.angka(r["rows_read"]),
                      fmt.angka(r["rows_loaded"]), fmt.angka(r["rows_quarantined"]))
    console.print(table)
    console.print("Mutu (Great Expectations) per muatan: " + ", ".join(f"{q} {fmt.angka(n)}" for q, n in checked))
    console.print(f"Data Docs: {quality.data_docs_index()}\nRincian: `sinergi ledger`, `sinergi quarantine` "
                  f"(dengan WAREHOUSE_URL={url}).")


def _status(status: str) -> str:
    return f"[{STATUS_STYLE[status]}]{labels.LOAD_STATUS[status]}[/]"


def _quality(quality: str | None) -> str:
    style = QUALITY_STYLE.get(quality or "")
    return f"[{style}]{quality}[/]" if style else (quality or "")


def _connect(console):
    from ingestion import contracts, pipeline, schema
    try:
        conn = pipeline.connect(settings.warehouse_url())
    except Exception as exc:  # psycopg.OperationalError: say where and what to do
        _fail(console, f"gudang data di {settings.warehouse_url()} tidak dapat dihubungi ({exc}); periksa WAREHOUSE_URL")
    schema.ensure(conn, contracts.load())
    return conn


def _fail(console, message: str):
    console.print(f"[red]Gagal:[/] {message}")
    raise typer.Exit(2)
