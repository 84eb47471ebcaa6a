"""`sinergi report`: the auditors' compliance report, its evidence, and that a rerun gives the same figures."""
from __future__ import annotations

import csv

import psycopg
from markupsafe import escape
from typer.testing import CliRunner

from ingestion import access, reasons
from sinergi.cli import app
from sinergi.core import fmt, labels
from sinergi.serve import report

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
    def k2(data):
        return next(m for m in data["metrics"] if m["metric"] == "K2")["failing"]
    assert auditor["names"] and any(e.get("nama") for e in k2(auditor))
    assert not analyst["names"] and all("nama" not in e for e in k2(analyst))
    assert not analyst["evidence"] and analyst["files"] == []               # the ledger lineage is the auditor's
    assert [m["national"]["numerator"] for m in auditor["metrics"]] == [m["national"]["numerator"] for m in analyst["metrics"]]


def _failing(data: dict, metric: str) -> dict:
    return next(m for m in data["metrics"] if m["metric"] == metric)


def test_failing_lists_name_cooperatives_for_every_role_and_people_for_the_auditor(defective_warehouse):
    auditor = report.gather(defective_warehouse, MONTH, access.AUDITOR)
    analyst = report.gather(defective_warehouse, MONTH, access.ANALYST)
    with psycopg.connect(defective_warehouse) as conn:
        cooperatives = dict(conn.execute("select nik_koperasi, nama_koperasi from marts.fct_cooperative_coverage "
                                         "where as_of = '2024-02-01'").fetchall())
        decisions = dict(conn.execute("select l.no_keputusan, c.nama_koperasi from marts.fct_licensing_compliance as l "
                                      "join marts.dim_cooperative as c using (nik_koperasi) "
                                      "where l.as_of = '2024-02-01' and not l.is_compliant").fetchall())
    for data in (auditor, analyst):
        for metric in ("K1", "Q1"):
            m = _failing(data, metric)
            assert m["name_column"] == "nama_koperasi" and m["failing"]
            assert [e["nama_koperasi"] for e in m["failing"]] == [cooperatives[e["entity"]] for e in m["failing"]]
            assert all(e["nama_koperasi"] for e in m["failing"])
        k3 = _failing(data, "K3")
        assert k3["name_column"] == "nama_koperasi" and decisions
        assert {e["entity"]: e["nama_koperasi"] for e in k3["failing"] if e["entity"] in decisions} == decisions
        assert all(e["alasan"] in labels.LICENSING_REASONS for e in k3["failing"])
    for metric in ("K2", "K4", "K5", "K6", "K7"):
        people = _failing(auditor, metric)
        assert people["name_column"] == "nama" and people["failing"], metric
        named = sum(1 for e in people["failing"] if e["nama"])
        assert named >= 0.9 * len(people["failing"]), (metric, named, len(people["failing"]))
        assert _failing(analyst, metric)["name_column"] is None
        assert all("nama" not in e for e in _failing(analyst, metric)["failing"])


def test_the_document_shows_names_and_bahasa_labels_with_their_codes(defective_warehouse, tmp_path):
    written = report.write(defective_warehouse, MONTH, tmp_path, access.ANALYST)
    text = written.html.read_text(encoding="utf-8")
    data = report.gather(defective_warehouse, MONTH, access.ANALYST)
    k1 = text[text.index('id="metrik-K1"'):text.index('id="metrik-K2"')]
    failing = _failing(data, "K1")["failing"]
    assert "<th>Nama koperasi</th>" in k1 and '<td class="nama">–</td>' not in k1
    for e in failing[:report.SHOWN_ENTITIES]:
        assert f'<td class="nama">{escape(e["nama_koperasi"])}</td>' in k1
    with (tmp_path / f"entitas_gagal_{MONTH}_K1.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(failing) and all(r["nama_koperasi"] for r in rows)
    k2 = text[text.index('id="metrik-K2"'):text.index('id="metrik-K3"')]
    assert 'class="nama"' not in k2                                       # persons' names: not for this role
    k3 = text[text.index('id="metrik-K3"'):text.index('id="metrik-K4"')]
    k3_failing = _failing(data, "K3")["failing"]
    assert k3_failing
    for e in k3_failing[:report.SHOWN_ENTITIES]:
        assert (f'<td class="nama">{escape(e["nama_koperasi"] or "–")}</td><td class="alasan">'
                f'{labels.LICENSING_REASONS[e["alasan"]]} <span class="kode">{e["alasan"]}</span></td>') in k3
    quarantine = text[text.index('id="karantina"'):text.index('id="disisihkan"')]
    with psycopg.connect(defective_warehouse) as conn:
        codes = {r[0] for r in conn.execute("select distinct reason from marts.fct_quarantine_reasons "
                                            "where as_of = '2024-02-01'")}
    assert codes
    for code in codes:
        assert f'<td>{escape(reasons.QUARANTINE[code])}</td><td class="kode">{code}</td>' in quarantine
    set_aside = text[text.index('id="disisihkan"'):text.index('id="ekspektasi"')]
    for status in {f["status"] for f in data["set_aside"]}:
        assert f"<td>{labels.LOAD_STATUS[status]}</td>" in set_aside
