"""`sinergi worklist` and `sinergi campaign save|list`: the worklists of issue 20 from the command line,
read (and campaigns written) as a reader role, as `sinergi report` does."""
from __future__ import annotations

import contextlib
import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sinergi.cli import options as cli_options
from sinergi.core import fmt, labels, settings
from sinergi.warehouse import roles

KINDS = ("xlsx", "csv", "pdf")


@contextlib.contextmanager
def _reader(role: str):
    """`run(query, params)` as a reader role: each statement in its own transaction after `set local role`."""
    import psycopg
    from psycopg import sql
    from psycopg.rows import dict_row

    url = settings.warehouse_url()
    db_role = roles.resolve(url, role)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        def run(query: str, params: dict) -> list[dict]:
            with conn.transaction():
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(db_role)))
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description else []
        yield run, db_role


def _scope(run, branch: str | None, region: str | None, as_of: str, console):
    from sinergi.serve import worklist as wl
    try:
        return wl.resolve(run, wl.parse(branch, region), as_of)
    except wl.BadScope as exc:
        console.print(f"[red]Ditolak:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


Branch = Annotated[str | None, typer.Option("--branch", help="Kode kantor cabang BPJS Ketenagakerjaan (wilayah layanannya)")]
Region = Annotated[str | None, typer.Option("--region", help="Kode wilayah: PP.KK (kabupaten/kota) atau PP (provinsi)")]
AsOf = Annotated[str, typer.Option("--as-of", callback=cli_options.month, help="Bulan data, YYYY-MM")]
Role = Annotated[str, typer.Option(help=f"Peran yang membaca: {roles.HELP} (nama orang hanya untuk auditor)")]


def register(app: typer.Typer, console) -> None:
    @app.command()
    def worklist(
        as_of: AsOf,
        out: Annotated[Path, typer.Option("--out", help="Folder tujuan berkas")],
        branch: Branch = None,
        region: Region = None,
        role: Role = "analyst",
        format: Annotated[list[str] | None, typer.Option(help="xlsx, csv, pdf (boleh diulang; bawaan: ketiganya)")] = None,
    ) -> None:
        """Tulis daftar tindak lanjut satu kantor cabang atau wilayah untuk satu bulan (XLSX siap cetak, CSV, PDF)."""
        from sinergi.serve import worklist as wl
        kinds = tuple(format or KINDS)
        if any(k not in KINDS for k in kinds):
            raise typer.BadParameter("format: xlsx, csv atau pdf")
        with _reader(role) as (run, db_role):
            scope = _scope(run, branch, region, as_of, console)
            found = wl.fetch(run, scope, as_of, names=db_role == roles.AUDITOR)
        written = wl.write(found, out, kinds)
        g = found.gaps
        console.print(f"[green]Selesai:[/] daftar tindak lanjut {scope.title}, {fmt.bulan(as_of)}: "
                      f"{fmt.angka(g['k1'])} koperasi (K1), {fmt.angka(g['k2'])} pengurus/karyawan (K2), "
                      f"{fmt.angka(g['k4'])} fasilitas KUR wajib (K4), {fmt.angka(g['k3'])} izin (K3).", highlight=False)
        for path in written:
            console.print(f"  {path}", highlight=False)
        console.print("Simpan sebagai kampanye setelah acara: `sinergi campaign save "
                      + (f"--branch {scope.code}" if scope.kind == wl.BRANCH else f"--region {scope.code}")
                      + f" --as-of {as_of} --note \"...\"`.", highlight=False)

    campaign_app = typer.Typer(help="Kampanye tindak lanjut: daftar yang disimpan dan hasilnya pada bulan berikutnya.",
                               no_args_is_help=True)
    app.add_typer(campaign_app, name="campaign")

    @campaign_app.command("save")
    def campaign_save(
        as_of: AsOf,
        branch: Branch = None,
        region: Region = None,
        note: Annotated[str | None, typer.Option(help="Catatan, misalnya nama acara")] = None,
        day: Annotated[str | None, typer.Option("--date", help="Tanggal kegiatan YYYY-MM-DD (bawaan: hari ini)")] = None,
        by: Annotated[str | None, typer.Option(help="Nama yang menyimpan (bawaan: pengguna sistem)")] = None,
        role: Role = "analyst",
    ) -> None:
        """Simpan daftar tindak lanjut satu kantor cabang atau wilayah sebagai kampanye."""
        from sinergi.serve import campaigns
        try:
            when = date.fromisoformat(day) if day else date.today()
        except ValueError:
            raise typer.BadParameter("format tanggal YYYY-MM-DD, misalnya 2024-03-05", param_hint="--date") from None
        if note and len(note) > campaigns.MAX_NOTE:
            raise typer.BadParameter(f"maksimal {campaigns.MAX_NOTE} karakter", param_hint="--note")
        campaigns.ensure_tables(settings.warehouse_url())
        with _reader(role) as (run, _):
            scope = _scope(run, branch, region, as_of, console)
            saved = campaigns.save(run, scope, as_of, note, by or getpass.getuser(), when)
        console.print(f"[green]Disimpan:[/] kampanye #{saved['campaign_id']} ({scope.title}, {fmt.bulan(as_of)}): "
                      f"{fmt.angka(saved['koperasi'])} koperasi, {fmt.angka(saved['pengurus'])} pengurus/karyawan, "
                      f"{fmt.angka(saved['kur'])} fasilitas KUR, {fmt.angka(saved['perizinan'])} izin. "
                      "Hasilnya tampil dengan `sinergi campaign list` setelah bulan berikutnya dibangun.", highlight=False)

    @campaign_app.command("list")
    def campaign_list(role: Role = "analyst") -> None:
        """Kampanye tersimpan dan berapa entitasnya kini terlindungi (per kampanye dan per kantor cabang)."""
        from sinergi.serve import campaigns
        campaigns.ensure_tables(settings.warehouse_url())
        with _reader(role) as (run, _):
            found = campaigns.conversion(run)
        if not found["campaigns"]:
            console.print("Belum ada kampanye. Simpan satu dengan `sinergi campaign save --branch KODE --as-of YYYY-MM`.")
            return
        table = Table("No", "Tanggal", "Cakupan", "Bulan daftar", "Catatan", "Entitas", "Bulan terakhir",
                      "Kini terlindungi", "Konversi", title="Kampanye tindak lanjut")
        for c in found["campaigns"]:
            latest = c["latest"]
            table.add_row(str(c["campaign_id"]), fmt.tanggal(c["campaign_date"]),
                          f"{labels.CAMPAIGN_SCOPES.get(c['scope_kind'], c['scope_kind'])} {c['scope_code']}",
                          fmt.bulan(c["bulan"]), c["note"] or "–", fmt.angka(c["entities"]),
                          fmt.bulan(latest["bulan"]) if latest else "–",
                          fmt.angka(latest["converted"]) if latest else "–",
                          fmt.persen(latest["converted"] / latest["entities"]) if latest and latest["entities"] else "–")
        console.print(table)
        if found["branches"]:
            per_branch = Table("Kantor cabang", "Kampanye", "Entitas", "Kini terlindungi", "Konversi",
                               title="Per kantor cabang (bulan terakhir setiap kampanye)")
            for b in found["branches"]:
                per_branch.add_row(b["branch_code"], fmt.angka(b["campaigns"]), fmt.angka(b["entities"]),
                                   fmt.angka(b["converted"]),
                                   fmt.persen(b["converted"] / b["entities"]) if b["entities"] else "–")
            console.print(per_branch)
