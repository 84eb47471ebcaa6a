"""`sinergi report`: the auditors' compliance report, its evidence, and that a rerun gives the same figures."""
from __future__ import annotations

import csv

import psycopg
from typer.testing import CliRunner

from ingestion import access
from sinergi import fmt, report
from sinergi.cli import app

MONTH = "2024-02"


def test_report_holds_every_metric_with_its_evidence_and_reruns_identically(defective_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", defective_warehouse)
    result = CliRunner().invoke(app, ["report", "--as-of", MONTH, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "a" / f"laporan_kepatuhan_{MONTH}.html").read_text(encoding="utf-8")
    pdf = (tmp_path / "a" / f"laporan_kepatuhan_{MONTH}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    with psycopg.connect(defective_warehouse) as conn:
        k1 = conn.execute("select numerator, denominator, value from marts.fct_metrics where as_of = '2024-02-01' "
                          "and metric = 'K1' and region = 'ID' and breakdown = ''").fetchone()
        failing = conn.execute("select count(distinct entity) from marts.fct_metric_entities where as_of = '2024-02-01' "
                               "and metric = 'K1' and dimension = '' and not in_numerator").fetchone()[0]
        files = conn.execute("select sha256 from audit.load where load_id = any((select load_ids from "
                             "published.fct_metric_lineage_published where as_of = '2024-02-01' "
                             "order by published_at desc limit 1)::bigint[])").fetchall()
        build = conn.execute("select build_id from published.fct_metrics_published where as_of = '2024-02-01' limit 1").fetchone()[0]
        quarantined = conn.execute("select count(*) from audit.quarantine q join audit.load l using (load_id) "
                                   "where to_date(left(l.period, 6), 'YYYYMM') = '2024-02-01'").fetchone()[0]
    for metric in ("K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K9_rupiah", "Q1"):
        assert f'id="metrik-{metric}"' in html
    assert "Laporan kepatuhan Inpres 2/2021 · Februari 2024" in html
    assert fmt.persen(float(k1[2])) in html and fmt.angka(k1[1]) in html
    assert f"Entitas yang belum memenuhi ({fmt.angka(failing)})" in html
    with (tmp_path / "a" / f"entitas_gagal_{MONTH}_K1.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == failing
    assert files and all(sha in html for (sha,) in files)                 # the files, by checksum
    assert build in html
    assert quarantined > 0 and 'id="karantina"' in html
    assert "poin" in html                                                  # change from January
    # Same warehouse, same month: the same document.
    again = report.write(defective_warehouse, MONTH, tmp_path / "b")
    assert again.html.read_text(encoding="utf-8") == html


def test_names_appear_only_for_a_role_that_may_read_them(defective_warehouse, tmp_path):
    auditor = report.gather(defective_warehouse, MONTH, access.AUDITOR)
    analyst = report.gather(defective_warehouse, MONTH, access.ANALYST)
    k2 = lambda data: next(m for m in data["metrics"] if m["metric"] == "K2")["failing"]
    assert auditor["names"] and any(e.get("nama") for e in k2(auditor))
    assert not analyst["names"] and all("nama" not in e for e in k2(analyst))
    assert not analyst["evidence"] and analyst["files"] == []               # the ledger lineage is the auditor's
    assert [m["national"]["numerator"] for m in auditor["metrics"]] == [m["national"]["numerator"] for m in analyst["metrics"]]
