"""A short summary of a generated world, read from its truth files, for people."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ingestion import regions
from sinergi.core import fmt

HEADLINE = [
    ("K1", "Koperasi aktif terdaftar"),
    ("K2", "Pengurus/karyawan terlindungi"),
    ("K3", "Izin dengan rekomendasi sah"),
    ("K4", "Debitur KUR wajib terlindungi"),
    ("K5", "Debitur KUR terlindungi"),
    ("K6", "Pemilik UMKM terlindungi"),
    ("K7", "Peserta tertib iuran"),
]


def print_world(out: Path, console: Console) -> None:
    truth = Path(out) / "truth"
    deliveries = pd.read_csv(truth / "deliveries.csv")
    defects = pd.read_csv(truth / "defects.csv")
    metrics = pd.read_csv(truth / "metrics.csv", dtype={"region": str})
    latest = metrics["as_of"].max()
    console.print(f"\n[bold]Kiriman[/] di {Path(out) / 'landing'}: {fmt.angka(len(deliveries))} berkas, "
                  f"{fmt.angka(deliveries['rows'].sum())} baris")
    senders = deliveries.groupby("sender").agg(berkas=("file", "size"), baris=("rows", "sum"))
    for sender, row in senders.iterrows():
        console.print(f"  {sender:9s} {fmt.angka(row['berkas']):>6s} berkas  {fmt.angka(row['baris']):>12s} baris")
    if len(defects):
        kinds = defects.groupby("handling").size()
        parts = ", ".join(f"{k} {fmt.angka(v)}" for k, v in kinds.items())
        console.print(f"[bold]Cacat yang disuntikkan[/]: {fmt.angka(len(defects))} ({parts})")
    table = Table(title=f"Kebenaran (truth) per {fmt.bulan(latest)}", show_lines=False)
    table.add_column("Metrik")
    regions_shown = ["ID"] + sorted(r for r in metrics["region"].unique() if len(r) == 5)
    names = regions.regencies()
    for r in regions_shown:
        table.add_column("Semua (ID)" if r == "ID" else names[r].replace("Kabupaten ", "").replace("Kota ", ""),
                         justify="right")
    now = metrics[(metrics["as_of"] == latest) & metrics["breakdown"].isna()]
    for metric, label in HEADLINE:
        values = now[now["metric"] == metric].set_index("region")["value"]
        table.add_row(f"{metric} {label}", *[fmt.persen(values[r]) if r in values else "-" for r in regions_shown])
    for metric, label, money in (("K8", "Peserta BPU aktif", False), ("K9", "Klaim dibayar", False),
                                 ("K9_rupiah", "Nilai klaim dibayar", True)):
        values = now[now["metric"] == metric].set_index("region")["value"]
        show = (lambda v: "Rp" + fmt.angka(v / 1e6, 1) + " jt") if money else fmt.angka
        table.add_row(f"{metric} {label}", *[show(values[r]) if r in values else "-" for r in regions_shown])
    console.print(table)
    console.print(f"Berkas kiriman ada di {Path(out) / 'landing'}, kebenarannya di {truth}. "
                  "Berikutnya: pemuatan lewat Airflow.")
