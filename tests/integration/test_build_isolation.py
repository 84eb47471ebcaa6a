"""Loads that never strand data: one bad row does not stop the warehouse, and a failed build says what it left stale.

A row the warehouse cannot use is quarantined at load with its reason (the staging tests and the loader
read the same contract: tests/unit/test_contract_vs_dbt.py), so the build's tests pass and every metric is
computed. A UMKM owner, KUR debtor or officer whose NIK was left blank is no such row: the business, the
facility and the post are real, so they stay in K6's, K4/K5's and K2's denominators (metrics.md), and
their person, looked for by name, birth date and region (here no participant), counts as not covered.
When a staging test does fail, `sinergi build` names the failure, the models dbt skipped because of it
and each metric left stale, and why, and exits non-zero.
"""
from __future__ import annotations

import gzip
import os
import re
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from ingestion import contracts, pipeline, pseudonym
from simulator import truth_check
from sinergi.warehouse import dbt_runner, metrics

from landing import copy_landing

UMKM_FEB = "kemenkop/sidt/umkm_202402.csv.gz"
PESERTA_FEB = "bpjstk/K1301/K1301_peserta_202402.csv"
OFFICERS_FEB = "kemenkop/ods/pengurus_20240229.csv"
COOPERATIVES_FEB = "kemenkop/ods/koperasi_20240229.csv"
KUR_BRI_FEB = "himbara/bri/KUR_BRI_202402.txt"
ANALYSTS_MARTS = dbt_runner.DBT_DIR / "models" / "marts" / "analysts"


def _rows(url, sql, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _edit_delimited(path: Path, sep: bytes, feed: str, match: dict, changes: dict,
                    opener=(lambda p: p.read_bytes(), lambda p, b: p.write_bytes(b))) -> bytes:
    """Change `changes` in the first data row whose columns equal `match` (columns by contract name);
    the delivery time is kept (it orders the loads). Returns the new file content, uncompressed."""
    read, write = opener
    stat = path.stat()
    lines = read(path).split(b"\n")
    index = contracts.load().feeds[feed].label_index()
    header = [index[contracts.normalise_label(h)] for h in lines[0].lstrip(b"\xef\xbb\xbf").decode().split(sep.decode())]
    for i, line in enumerate(lines[1:], 1):
        fields = line.split(sep)
        row = dict(zip(header, (f.decode() for f in fields)))
        if len(fields) == len(header) and all(test(row[c]) if callable(test) else row[c] == test
                                              for c, test in match.items()):
            for column, value in changes.items():
                fields[header.index(column)] = value.encode()
            lines[i] = sep.join(fields)
            content = b"\n".join(lines)
            write(path, content)
            os.utime(path, (stat.st_atime, stat.st_mtime))
            return content
    raise AssertionError(f"no row of {path.name} matches {match}")


GZIP = (lambda p: gzip.decompress(p.read_bytes()), lambda p, b: p.write_bytes(gzip.compress(b)))


@pytest.fixture(scope="module")
def blank_niks(clean_world, tmp_path_factory, new_db):
    """The clean world with a UMKM owner's, a KUR debtor's, an officer's and a (lapsed, otherwise unknown)
    participant's NIK left blank in February, loaded and built with every dbt test."""
    persons = pd.read_csv(clean_world / "truth" / "identity_persons.csv", dtype=str)
    feeds = persons.groupby("person")["feed"].agg(frozenset)
    # Owners who are no participant (so K6's numerator cannot move), participants in no other feed.
    uncovered_owner = set(persons.loc[persons["feed"] == "kemenkop/umkm"].merge(
        feeds[~feeds.apply(lambda f: "bpjstk/peserta" in f)].rename("feeds"), left_on="person", right_index=True)["key"])
    lone_participant = set(persons.loc[persons["feed"] == "bpjstk/peserta"].merge(
        feeds[feeds == frozenset({"bpjstk/peserta"})].rename("feeds"), left_on="person", right_index=True)["key"])

    landing = copy_landing(clean_world, tmp_path_factory.mktemp("blank_nik") / "landing")
    umkm = _edit_delimited(landing / UMKM_FEB, b",", "umkm", {"nib": lambda v: v in uncovered_owner},
                           {"nik_pemilik": ""}, GZIP)
    (nib,) = [line.split(b",")[0].decode() for line in umkm.split(b"\n")[1:] if line.split(b",")[2:3] == [b""]]
    peserta = _edit_delimited(landing / PESERTA_FEB, b";", "peserta",
                              {"kpj": lambda v: v in lone_participant, "status": "Nonaktif"}, {"nik": ""})
    # An officer who is no participant is delivered with the NIK of an active participant, a stranger.
    stranger = next(line.split(b";") for line in (landing / PESERTA_FEB).read_bytes().split(b"\n")[1:]
                    if line.split(b";")[0].decode() in lone_participant and b"Aktif" in line.split(b";"))
    officer = persons.loc[(persons["feed"] == "kemenkop/pengurus")
                          & persons["person"].map(lambda p: "bpjstk/peserta" not in feeds[p]), "key"]
    uncovered_officers = {key.split("|")[1] for key in officer}
    officers = _edit_delimited(landing / OFFICERS_FEB, b",", "pengurus",
                               {"nik": lambda v: v.strip('"') in uncovered_officers, "tgl_selesai": '""'},
                               {"nik": '"' + stranger[1].decode() + '"'})
    # A borrower and an officer, neither a participant, the officer holding one post (so counting the post
    # as its own person counts the person once) in an active cooperative, delivered without their NIK.
    borrowers = persons[persons["feed"] == "himbara/kur"]
    uncovered_debtor = set(borrowers.loc[borrowers["person"].map(lambda p: "bpjstk/peserta" not in feeds[p]), "key"])
    kur = _edit_delimited(landing / KUR_BRI_FEB, b"|", "kur", {"id_fasilitas": lambda v: v in uncovered_debtor},
                          {"nik_debitur": ""})
    (facility,) = [line.split(b"|")[0].decode() for line in kur.split(b"\n")[1:] if line.split(b"|")[1:2] == [b""]]
    posts = persons[persons["feed"] == "kemenkop/pengurus"].groupby("person")["key"].agg(list)
    active = {line.split(b",")[0].strip(b'"').decode()
              for line in (landing / COOPERATIVES_FEB).read_bytes().split(b"\n")[1:] if b'"Aktif"' in line}
    lone_niks = {keys[0].split("|")[1] for person, keys in posts.items()
                 if len(keys) == 1 and "bpjstk/peserta" not in feeds[person] and keys[0].split("|")[0] in active}
    blank_officer = _edit_delimited(landing / OFFICERS_FEB, b",", "pengurus",
                                    {"nik": lambda v: v.strip('"') in lone_niks, "tgl_selesai": '""'}, {"nik": '""'})
    (post,) = [tuple(f.strip(b'"').decode() for f in line.split(b",")[0:4:3])
               for line in blank_officer.split(b"\n")[1:] if line.split(b",")[1:2] == [b'""']]
    url = new_db()
    pipeline.load_by_sender(url, landing)
    dbt_runner.build(url, include_unchecked=True, quiet=True)  # with the dbt tests: raises if any fails
    return {"url": url, "landing": landing, "nib": nib, "umkm": umkm, "peserta": peserta, "officers": officers,
            "facility": facility, "post": post,
            "stranger_token": pseudonym.from_environment().token(stranger[1].decode())}


def test_a_blank_umkm_owner_nik_stays_in_k6_and_a_blank_participant_nik_is_quarantined(clean_world, blank_niks):
    url, nib = blank_niks["url"], blank_niks["nib"]
    # The business loads without an owner token, and is counted: in K6's denominator, not its numerator.
    # Its owner, whom no participant answers to, is a person of its own, never covered.
    assert _rows(url, "select nik_pemilik_token from raw_kemenkop.umkm r join audit.load l on l.load_id = r._load_id "
                      "where nib = %s and l.file = %s", (nib, UMKM_FEB)) == [(None,)]
    assert _rows(url, "select person_id, link_rule, is_covered from marts.fct_umkm_coverage "
                      "where nib = %s and as_of = '2024-02-01'", (nib,)) == [
        (f"tanpa_nik:umkm:{nib}", "tidak_ditemukan", False)]
    assert _rows(url, "select in_numerator from marts.fct_metric_entities where metric = 'K6' and entity = %s "
                      "and as_of = '2024-02-01' and dimension = ''", (nib,)) == [(False,)]
    # The participant's row is set aside, with its reason in Bahasa.
    ((line, column, message),) = _rows(url, "select q.line, q.column_name, q.message from audit.quarantine q "
                                            "join audit.load l using (load_id) where l.file = %s and q.reason = "
                                            "'value_missing'", (PESERTA_FEB,))
    assert column == "nik" and message == "nik wajib diisi tetapi kosong"
    assert blank_niks["peserta"].split(b"\n")[line - 1].split(b";")[1] == b""
    # Every metric is there and equals the truth; the one extra figure is Q1's count of that quarantined row.
    months = _rows(url, "select distinct to_char(as_of, 'YYYY-MM'), metric from marts.fct_metrics")
    assert {m for _, m in months} == set(metrics.NAMES) and {a for a, _ in months} == {"2024-01", "2024-02"}
    differences = truth_check.metric_differences(url, clean_world)
    assert differences[truth_check.KEY + ["numerator_warehouse"]].values.tolist() == [
        ["2024-02", "Q1", "ID", "karantina=bpjstk", 1.0]], differences.to_string()


def test_a_blank_debtor_or_officer_nik_loads_and_stays_in_the_denominators(blank_niks):
    """The facility and the post are counted, as not covered; every figure still equals the truth (test
    above): neither person is a participant, and the officer holds no other post."""
    url, facility, (coop, role) = blank_niks["url"], blank_niks["facility"], blank_niks["post"]
    assert _rows(url, "select nik_debitur_token from raw_himbara.kur where id_fasilitas = %s", (facility,)) == [(None,)]
    assert _rows(url, "select person_id, link_rule, is_covered from marts.fct_kur_coverage where id_fasilitas = %s",
                 (facility,)) == [(f"tanpa_nik:kur:{facility}", "tidak_ditemukan", False)]
    counted = _rows(url, "select metric, in_numerator from marts.fct_metric_entities where entity = %s "
                         "and dimension = '' order by metric", (facility,))
    assert counted in ([("K5", False)], [("K4", False), ("K5", False)])
    # The officer's name stands in for the NIK in the post's key; its holder is a person of its own in K2.
    ((key, token),) = _rows(url, "select officer_key, nik_token from staging.stg_kemenkop__officers "
                                 "where as_of = '2024-02-01' and officer_key like %s", (f"{coop}|nama:%|{role}",))
    assert token is None
    assert _rows(url, "select person_id, link_rule, is_registered, is_covered from marts.fct_officer_coverage "
                      "where as_of = '2024-02-01' and nik_koperasi = %s and jabatan = %s "
                      "and person_id like 'tanpa_nik:%%'", (coop, role)) == [
        (f"tanpa_nik:pengurus:{key}", "tidak_ditemukan", False, False)]
    assert _rows(url, "select in_numerator from marts.fct_metric_entities where metric = 'K2' and entity = %s "
                      "and as_of = '2024-02-01' and dimension = ''", (f"tanpa_nik:pengurus:{key}",)) == [(False,)]


def test_an_officer_with_a_strangers_nik_is_a_conflict_and_never_counted_as_covered(clean_world, blank_niks):
    """The stranger is an active participant: joined by token, the officer would count as registered and
    covered through someone else's participation. Every figure still equals the truth (test above)."""
    url, token = blank_niks["url"], blank_niks["stranger_token"]
    ((status, person_id, kpj, candidate, evidence),) = _rows(
        url, "select status, person_id, kpj, candidate_kpj, evidence from identity.int_identity__person_links "
             "where record_feed = 'pengurus' and nik_token = %s", (token,))
    assert (status, person_id, kpj) == ("konflik", f"konflik:{token}", None)
    assert candidate is not None and evidence.startswith("nik=sama nama=beda")
    counted = _rows(url, "select is_registered, is_covered from marts.fct_officer_coverage where person_id = %s",
                    (f"konflik:{token}",))
    assert all(not registered and not covered for registered, covered in counted)
    assert _rows(url, "select count(*) from marts.fct_officer_coverage where person_id = %s", (token,)) == [(0,)]


def test_a_failing_staging_test_skips_only_what_depends_on_it_and_build_says_which_metrics_are_stale(
        blank_niks, monkeypatch):
    from typer.testing import CliRunner

    from sinergi.cli import app
    url, landing = blank_niks["url"], blank_niks["landing"]
    published = _rows(url, "select count(*), max(build_id) from published.fct_metrics_published")
    # A KUR row the warehouse cannot use (no ceiling) reaches staging (as one loaded before its contract rule
    # would), and February is rebuilt because a corrected UMKM file arrives.
    with psycopg.connect(url) as conn:
        conn.execute("update raw_himbara.kur set plafon = null where (_load_id, _line) = "
                     "(select _load_id, min(_line) from raw_himbara.kur join audit.load on load_id = _load_id "
                     "where file like 'himbara/bri/%%202402%%' group by 1)")
    first = blank_niks["umkm"].split(b"\n")[1].split(b",")
    corrected = landing / "kemenkop/sidt/umkm_202402_v2.csv.gz"
    corrected.write_bytes(gzip.compress(blank_niks["umkm"].replace(first[1], first[1] + b" Baru", 1)))
    later = time.time() + 60
    os.utime(corrected, (later, later))
    pipeline.load_landing(url, landing, pseudonym.from_environment())

    monkeypatch.setenv("WAREHOUSE_URL", url)
    result = CliRunner().invoke(app, ["build", "--include-unchecked"])
    out = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert ("[1] uji not_null_stg_himbara__kur_facilities_plafon pada stg_himbara__kur_facilities: "
            "1 baris melanggar") in out
    assert "Gagal: build tidak tuntas" in out and "Done. PASS=" not in out
    stale = dict(re.findall(r"- (K\d|K9_rupiah|Q1) [^:]*: (masukannya gagal|\S+ dibangun ulang, tetapi tidak diterbitkan)",
                            out))
    # KUR's metrics, and those whose people are resolved together with borrowers, lost their inputs;
    # the others were computed again but not published, because fct_metrics reads every metric.
    assert {m for m, why in stale.items() if why == "masukannya gagal"} == {"K2", "K4", "K5", "K6", "K9", "K9_rupiah", "Q1"}
    assert set(stale) == set(metrics.NAMES)
    assert "fct_cooperative_coverage dibangun ulang, tetapi tidak diterbitkan" in out
    # Models that do not read KUR were built: the corrected UMKM file is in staging.
    assert _rows(url, "select nama_usaha from staging.stg_kemenkop__umkm where as_of = '2024-02-01' and nib = %s",
                 (first[0].decode(),)) == [(first[1].decode() + " Baru",)]
    # The published figures are the last good build's.
    assert _rows(url, "select count(*), max(build_id) from published.fct_metrics_published") == published


# --- no database ----------------------------------------------------------------------------------------

def test_each_metric_is_mapped_to_the_marts_it_is_computed_from():
    assert set(dbt_runner.METRIC_MARTS) == set(metrics.NAMES)
    sql = (ANALYSTS_MARTS / "fct_metric_entities.sql").read_text(encoding="utf-8")
    for block in re.split(r"\n\),\n", sql):
        named = set(re.findall(r"'(K\d|K9_rupiah|Q1)'", block))
        for ref in re.findall(r"ref\('(\w+)'\)", block):
            assert named and all(ref in dbt_runner.METRIC_MARTS[m] for m in named), (ref, named)
    quarantine = (ANALYSTS_MARTS / "fct_metrics.sql").read_text(encoding="utf-8")
    assert "ref('stg_audit__quarantined_rows')" in quarantine and "stg_audit__quarantined_rows" in dbt_runner.METRIC_MARTS["Q1"]


def _node(kind, name, parents=(), **extra):
    return f"{kind}.sinergi.{name}", {"name": name, "resource_type": kind,
                                      "depends_on": {"nodes": list(parents)}, **extra}


def test_the_report_says_what_failed_what_was_skipped_and_why_each_metric_is_stale():
    graph = dict([
        _node("model", "stg_kemenkop__umkm"), _node("model", "stg_kemenkop__cooperatives"),
        _node("model", "fct_umkm_coverage", ["model.sinergi.stg_kemenkop__umkm"]),
        _node("model", "fct_cooperative_coverage", ["model.sinergi.stg_kemenkop__cooperatives"]),
        _node("model", "fct_metric_entities", ["model.sinergi.fct_umkm_coverage", "model.sinergi.fct_cooperative_coverage"]),
        _node("model", "fct_metrics", ["model.sinergi.fct_metric_entities"]),
        _node("test", "not_null_stg_kemenkop__umkm_nik_token", ["model.sinergi.stg_kemenkop__umkm"],
              attached_node="model.sinergi.stg_kemenkop__umkm"),
        _node("test", "assert_metrics_add_up", ["model.sinergi.fct_metrics"]),
    ])
    manifest = {"nodes": graph, "parent_map": {uid: n["depends_on"]["nodes"] for uid, n in graph.items()}}
    status = {"stg_kemenkop__umkm": "success", "stg_kemenkop__cooperatives": "success",
              "not_null_stg_kemenkop__umkm_nik_token": "fail", "fct_umkm_coverage": "skipped",
              "fct_cooperative_coverage": "success", "fct_metric_entities": "skipped", "fct_metrics": "skipped",
              "assert_metrics_add_up": "skipped"}
    results = {"results": [{"unique_id": uid, "status": status[n["name"]], "failures": 1 if status[n["name"]] == "fail" else None,
                            "message": "Got 1 result, configured to fail if != 0"} for uid, n in graph.items()]}
    report = dbt_runner.build_report(results, manifest)
    assert [f.text() for f in report.failures] == [
        "uji not_null_stg_kemenkop__umkm_nik_token pada stg_kemenkop__umkm: 1 baris melanggar"]
    assert report.skipped == ["fct_umkm_coverage", "fct_metric_entities", "fct_metrics"] and report.rebuilt == 3
    assert report.stale["K6"] == "masukannya gagal [1]"
    assert report.stale["K1"] == ("fct_cooperative_coverage dibangun ulang, tetapi tidak diterbitkan: "
                                  "fct_metric_entities, fct_metrics dilewati karena kegagalan di masukan metrik lain [1]")
    text = report.text()
    assert text.startswith("dbt build tidak tuntas: 1 kegagalan, 3 model dilewati")
    assert "  - K6 Pemilik UMKM terlindungi: masukannya gagal [1]" in text.splitlines()

    # A model that errors is a failure too; nothing skipped on the publishing path leaves other metrics current.
    results = {"results": [{"unique_id": "model.sinergi.fct_umkm_coverage", "status": "error",
                            "message": "Database Error in model fct_umkm_coverage\n  division by zero"}]}
    report = dbt_runner.build_report(results, manifest)
    assert [f.text() for f in report.failures] == ["model fct_umkm_coverage: Database Error in model fct_umkm_coverage"]
    assert set(report.stale) == {"K6"}


def test_a_column_added_to_a_month_keyed_model_is_filled_in_every_earlier_month(blank_niks):
    """dbt adds a new column only for the months it builds next; the build rebuilds such a model in full
    once (`dbt_runner.drifted_models`), so no earlier month keeps it empty. A built warehouse has no drift."""
    url = blank_niks["url"]
    target = dbt_runner.target_folder(url)
    env = dbt_runner.build_env("test", True)
    assert dbt_runner.drifted_models(url, target, env) == []
    addresses = "select as_of, count(alamat) from staging.stg_kemenkop__cooperatives group by 1 order by 1"
    before = _rows(url, addresses)
    assert len(before) == 2 and all(n > 0 for _, n in before)
    with psycopg.connect(url) as conn:  # the warehouse as it was before the model had `alamat`
        conn.execute("alter table staging.stg_kemenkop__cooperatives drop column alamat cascade")
    assert dbt_runner.drifted_models(url, target, env) == ["stg_kemenkop__cooperatives"]
    dbt_runner.build(url, include_unchecked=True, quiet=True, with_tests=False)
    assert _rows(url, addresses) == before
    assert dbt_runner.drifted_models(url, target, env) == []
