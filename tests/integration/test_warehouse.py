"""The dbt warehouse against the generator's truth: every metric, month, region and breakdown."""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import psycopg

from ingestion import pipeline, pseudonym
from simulator import truth_check
from sinergi.warehouse import dbt_runner

from landing import copy_landing


def _rows(url, sql, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_clean_world_every_metric_equals_the_truth(clean_world, clean_warehouse):
    differences = truth_check.metric_differences(clean_warehouse, clean_world)
    assert differences.empty, differences.head(30).to_string()
    months = {r[0] for r in _rows(clean_warehouse, "select distinct to_char(as_of, 'YYYY-MM') from marts.fct_metrics")}
    assert months == {"2024-01", "2024-02"}
    metrics = {r[0] for r in _rows(clean_warehouse, "select distinct metric from marts.fct_metrics")}
    assert metrics == {"K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K9_rupiah", "Q1"}


def test_defective_world_every_difference_is_explained_by_an_unrecoverable_defect(defective_world,
                                                                                  defective_warehouse):
    explained = truth_check.explain_differences(defective_warehouse, defective_world)
    print(explained.query("region == 'ID' and breakdown == ''")[["as_of", "metric", "moved", "defects", "kinds"]]
          .to_string())
    unexplained = explained[~explained["explained"]]
    assert unexplained.empty, unexplained.to_string()
    # The defects must show: rows lost upstream move some figures.
    assert len(explained) > 0


def test_identity_resolution_precision_and_recall_on_the_defective_world(defective_world, defective_warehouse):
    scores = truth_check.identity_scores(defective_warehouse, defective_world, pseudonym.from_environment().token)
    print(scores)
    assert scores["precision"] >= 0.995
    assert scores["recall"] >= 0.99
    assert scores["true_pairs"] > 1000


def test_identity_links_say_how_they_were_made_and_set_conflicts_apart(defective_warehouse):
    rules = dict(_rows(defective_warehouse, "select rule, count(*) from identity.int_identity__person_links group by 1"))
    assert rules["nik"] > 0 and rules["tidak_ditemukan"] > 0
    # Mistyped NIKs (a `link` defect) are found again: the NIK one keystroke off, name, birth date and region.
    assert rules["nik_salah_ketik"] > 0
    linked_by_slip = _rows(defective_warehouse, "select score, evidence from identity.int_identity__person_links "
                                                "where rule = 'nik_salah_ketik'")
    assert all(0.99 <= s <= 1 and e.startswith("nik=salah_ketik ") for s, e in linked_by_slip)
    # A conflict keeps a token no participant has, so no mart counts it as covered.
    conflicts = _rows(defective_warehouse, "select person_id, nik_token from identity.int_identity__person_links "
                                           "where status = 'konflik'")
    assert all(p == f"konflik:{t}" for p, t in conflicts)
    coop_rules = dict(_rows(defective_warehouse, "select rule, count(*) from identity.int_identity__cooperative_employers "
                                                 "group by 1"))
    assert {"nik_koperasi", "nib", "npwp", "nama_wilayah"} <= set(coop_rules)
    no_plain = _rows(defective_warehouse, "select count(*) from information_schema.columns where table_schema in "
                                          "('identity', 'marts', 'intermediate', 'staging') and column_name in ('nik', 'nama')")
    assert no_plain == [(0,)]


def test_national_profile_builds_and_matches_the_truth(national_month_world, national_month_warehouse):
    url = national_month_warehouse
    regions = _rows(url, "select count(distinct region) filter (where length(region) = 5), "
                         "count(distinct region) filter (where length(region) = 2) from marts.fct_metrics where metric = 'K7'")
    assert regions[0][0] > 400 and regions[0][1] >= 30
    differences = truth_check.metric_differences(url, national_month_world)
    assert differences.empty, differences.head(20).to_string()


def _touch_later(path: Path, seconds: float) -> None:
    t = time.time() + seconds
    os.utime(path, (t, t))


def test_published_figures_are_kept_and_corrections_shown_with_the_files_that_changed_them(
        clean_world, tmp_path_factory, new_db):
    landing = copy_landing(clean_world, tmp_path_factory.mktemp("republish") / "landing")
    claims = sorted(landing.glob("bpjstk/*/*_klaim_202401.csv"))[0]
    original = claims.read_bytes()
    # The first delivery of that branch's January claims lacks its last claim.
    lines = original.rstrip(b"\n").split(b"\n")
    claims.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    url = new_db()
    keys = pseudonym.from_environment()
    january = [f for f in pipeline.pending(landing) if "_202401" in Path(f).name]
    pipeline.load_files(url, landing, january, keys)
    first = dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
    (published,) = _rows(url, "select numerator from marts.fct_metrics "
                              "where as_of = '2024-01-01' and metric = 'K9' and region = 'ID' and breakdown = ''")

    corrected = claims.with_name(claims.stem + "_v2.csv")
    corrected.write_bytes(original)
    _touch_later(corrected, 60)
    pipeline.load_landing(url, landing, keys)
    second = dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
    assert first != second

    row = _rows(url, """select published_build_id, published_numerator, numerator, is_revised, files_since_publication
                        from published.fct_metric_revisions
                        where as_of = '2024-01-01' and metric = 'K9' and region = 'ID' and breakdown = ''""")[0]
    assert row[0] == first and row[1] == published[0] and row[2] == published[0] + 1 and row[3]
    assert any(f.endswith(corrected.name) for f in row[4])
    # Figures the correction did not touch are not revised; February was first published by the second build.
    unrevised = _rows(url, "select count(*) from published.fct_metric_revisions where as_of = '2024-01-01' "
                           "and metric = 'K1' and is_revised")
    assert unrevised == [(0,)]
    feb = _rows(url, "select distinct published_build_id from published.fct_metric_revisions where as_of = '2024-02-01'")
    assert feb == [(second,)]
    # As the figures now stand, they equal the truth.
    assert truth_check.metric_differences(url, clean_world).empty


def test_a_batch_that_failed_a_critical_expectation_is_not_read(clean_world, tmp_path_factory, new_db):
    landing = copy_landing(clean_world, tmp_path_factory.mktemp("failed_batch") / "landing")
    url = new_db()
    pipeline.load_landing(url, landing, pseudonym.from_environment(), sender="himbara")
    # Staging, what it reads, and the record of what each build read (which months the next one redoes):
    # the quality filter is in staging; the marts would add a minute and nothing to this test.
    staging = ["+stg_himbara__kur_facilities", "fct_build_inputs"]
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False, select=staging)
    ((failed, rows),) = _rows(url, "select load_id, rows_loaded from audit.load where file like %s", ('%KUR_BRI_202401%',))
    assert _rows(url, "select count(*) from staging.stg_himbara__kur_facilities where load_id = %s", (failed,)) == [(rows,)]
    with psycopg.connect(url) as conn:
        conn.execute("update audit.load set quality = 'failed' where load_id = %s", (failed,))
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False, select=staging)
    assert _rows(url, "select count(*) from staging.stg_himbara__kur_facilities where load_id = %s", (failed,)) == [(0,)]
    # Unchecked (pending) batches are left out unless asked for.
    dbt_runner.build(url, quiet=True, with_tests=False, select=staging)
    assert _rows(url, "select count(*) from staging.stg_himbara__kur_facilities") == [(0,)]


def test_sinergi_metrics_prints_csv_in_the_truth_columns_and_a_table_in_bahasa(clean_world, clean_warehouse, monkeypatch):
    from typer.testing import CliRunner

    from sinergi.cli import app
    monkeypatch.setenv("WAREHOUSE_URL", clean_warehouse)
    runner = CliRunner()
    csv_out = runner.invoke(app, ["metrics", "--as-of", "2024-02", "--region", "ID", "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    truth = (clean_world / "truth" / "metrics.csv").read_text().splitlines()
    assert csv_out.output.splitlines()[0] == truth[0]
    expected = {tuple(r[:6]): float(r[6]) for r in csv.reader(truth[1:]) if r[0] == "2024-02" and r[2] == "ID"}
    printed = {tuple(r[:6]): float(r[6]) for r in csv.reader(csv_out.output.splitlines()[1:])}
    assert printed.keys() == expected.keys()
    assert all(abs(printed[k] - expected[k]) < 2e-6 for k in expected)
    table = runner.invoke(app, ["metrics", "--as-of", "2024-02", "--metric", "K4", "--region", "ID"])
    assert table.exit_code == 0 and "Februari 2024" in table.output and "%" in table.output
    missing = runner.invoke(app, ["metrics", "--as-of", "2030-01"])
    assert missing.exit_code == 1 and "Bulan yang tersedia: 2024-01, 2024-02" in missing.output
