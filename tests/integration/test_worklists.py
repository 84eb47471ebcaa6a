"""Issue 20: worklists for branch offices and Dinas Koperasi, and follow-up campaigns, on the built defective
seed world (real PostgreSQL, real dbt build): the counts agree with fct_metrics, the command line writes
XLSX/CSV/PDF whose rows read back, campaigns are written as the user's own role and show their conversion
in the later month, and the dashboard page (in a browser, as a regional user) lists, downloads and saves.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from starlette.testclient import TestClient
from test_dashboard import PASSWORD, _login, _shot, browser, server  # noqa: F401  (module-scoped fixtures)
from typer.testing import CliRunner

from sinergi.cli import app as cli
from sinergi.core import fmt
from sinergi.serve import campaigns
from sinergi.serve import worklist as wl
from sinergi.serve.web.app import create_app
from sinergi.serve.web.security import WebConfig

JAN, FEB = "2024-01", "2024-02"
BRANCH = "K1305"  # Probolinggo, province 35 (the regional user's)
OTHER_PROVINCE_BRANCH = "K0921"  # 33.11
HOSTILE = '=HYPERLINK("http://127.0.0.1:9/x","klik")'


def _as(url: str, role: str):
    """`run(query, params)` as a database role (as the dashboard and the command line read)."""
    conn = psycopg.connect(url, row_factory=dict_row, autocommit=False)

    def run(query, params):
        with conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []
    return run, conn


def _gap(url, metric, month, region):
    with psycopg.connect(url) as conn:
        row = conn.execute("select denominator - numerator from marts.fct_metrics where metric = %s and as_of = %s "
                           "and region = %s and breakdown = ''", (metric, f"{month}-01", region)).fetchone()
    return int(row[0]) if row else 0


def test_the_worklist_counts_agree_with_the_metrics_of_the_same_month_and_region(defective_warehouse):
    run, conn = _as(defective_warehouse, "sinergi_analyst")
    with conn:
        regencies = [r["region_code"] for r in run("select distinct regency_code as region_code from "
                                                   "marts.fct_cooperative_coverage order by 1", {})]
        assert len(regencies) >= 4
        for month in (JAN, FEB):
            for region in [*regencies, "35", "33"]:
                found = wl.fetch(run, wl.resolve(run, wl.parse(None, region), month), month)
                expected = {m: _gap(defective_warehouse, m, month, region) for m in ("K1", "K2", "K3", "K4")}
                assert {m: found.gaps[m.lower()] for m in expected} == expected, (month, region)
                assert len(found.sections["koperasi"]) == expected["K1"]       # (a): K1's denominator - numerator
                assert len(found.sections["kur"]) == expected["K4"]
                assert len(found.sections["perizinan"]) == expected["K3"]
                persons_b = {r["person_id"] for r in found.sections["pengurus"]}
                assert len(persons_b) <= expected["K2"] <= len(persons_b) + found.gaps["k2_in_uncovered"]
            # A branch's worklist is the sum of its service area's regencies/cities (dim_branch_area).
            area = [r["regency_code"] for r in run("select regency_code from marts.dim_branch_area "
                                                   "where branch_code = %(b)s", {"b": BRANCH})]
            found = wl.fetch(run, wl.resolve(run, wl.parse(BRANCH, None), month), month)
            assert found.gaps["k1"] == sum(_gap(defective_warehouse, "K1", month, r) for r in area) > 0
            assert found.gaps["k4"] == sum(_gap(defective_warehouse, "K4", month, r) for r in area)
        # Ranked by what an entry moves: weights never increase down the list; (a) weight = 1 + its officers.
        coops = found.sections["koperasi"]
        assert [c["weight"] for c in coops] == sorted((c["weight"] for c in coops), reverse=True)
        assert all(c["weight"] == 1 + c["officers_not_covered"] for c in coops)


def test_the_command_line_writes_xlsx_csv_and_pdf_that_read_back(defective_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", defective_warehouse)
    out = tmp_path / "daftar"
    result = CliRunner().invoke(cli, ["worklist", "--branch", BRANCH, "--as-of", FEB, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sinergi campaign save --branch K1305" in result.output
    run, conn = _as(defective_warehouse, "sinergi_analyst")
    with conn:
        expected = wl.fetch(run, wl.resolve(run, wl.parse(BRANCH, None), FEB), FEB)
    stem = f"tindak_lanjut_cabang_{BRANCH}_{FEB}"
    book = openpyxl.load_workbook(out / f"{stem}.xlsx")
    assert len(book.sheetnames) == 4
    for ws, (section, title) in zip(book.worksheets, wl.SECTIONS.items()):
        assert ws["A1"].value == f"Daftar tindak lanjut Februari 2024: {title}"
        assert ws["A2"].value.startswith("Kantor Cabang BPJS Ketenagakerjaan K1305")
        header_row = int(ws.print_title_rows.split(":")[0].lstrip("$"))
        header = [c.value for c in ws[header_row]]
        assert header == [c.header for c in expected.columns(section)]
        rows = [r for r in ws.iter_rows(min_row=header_row + 1, values_only=True)]
        assert len(rows) == len(expected.sections[section])
        key = {"koperasi": "NIK koperasi", "pengurus": "Token orang", "kur": "ID fasilitas", "perizinan": "Nomor keputusan"}[section]
        field = {"koperasi": "nik_koperasi", "pengurus": "person_id", "kur": "id_fasilitas", "perizinan": "no_keputusan"}[section]
        assert [r[header.index(key)] for r in rows] == [e[field] for e in expected.sections[section]]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.column_dimensions["C"].width > 10
        assert "Nama" not in header                                            # analyst: tokens only
        with (out / f"{stem}_{section}.csv").open(encoding="utf-8-sig", newline="") as f:
            read = list(csv.reader(f))
        assert read[0] == header and len(read) - 1 == len(rows)
        assert [r[header.index(key)] for r in read[1:]] == [str(e[field]) for e in expected.sections[section]]
    kur = book.worksheets[2]
    plafon = [c for c in kur[int(kur.print_title_rows.split(":")[0].lstrip("$")) + 1]][4]
    assert plafon.value is None or isinstance(plafon.value, (int, float))  # amounts stay numbers
    pdf = (out / f"{stem}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 20_000
    html = wl.to_html(expected)
    assert all(c["nik_koperasi"] in html for c in expected.sections["koperasi"])


@pytest.mark.parametrize("args, message", [
    (["--branch", "K9999"], "tidak dikenal"),
    (["--region", "35.1"], "Kode wilayah tidak sah"),
    (["--region", "99.99"], "tidak ada dalam referensi"),
    (["--branch", BRANCH, "--region", "35.13"], "Pilih satu cakupan"),
])
def test_the_command_line_refuses_bad_input_and_writes_nothing(defective_warehouse, tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("WAREHOUSE_URL", defective_warehouse)
    out = tmp_path / "tidak"
    result = CliRunner().invoke(cli, ["worklist", *args, "--as-of", FEB, "--out", str(out)])
    assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["worklist", "--region", "35.13", "--as-of", "2023-05", "--out", str(out)])
    assert result.exit_code != 0 and "Bulan yang tersedia: 2024-01, 2024-02" in " ".join(result.output.split())
    assert not out.exists()


def test_a_campaign_is_saved_as_the_users_role_and_shows_its_conversion_in_the_later_month(defective_warehouse, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", defective_warehouse)
    result = CliRunner().invoke(cli, ["campaign", "save", "--region", "35", "--as-of", JAN, "--note", "Sosialisasi",
                                      "--date", "2024-02-10", "--role", "wilayah:35", "--by", "jatim"])
    assert result.exit_code == 0, result.output
    campaign_id = int(re.search(r"kampanye #(\d+)", result.output)[1])
    with psycopg.connect(defective_warehouse) as conn:
        saved = conn.execute("select saved_role, saved_by, scope_kind, note from access.campaign where campaign_id = %s",
                             (campaign_id,)).fetchone()
        assert saved == ("sinergi_wilayah_35", "jatim", "wilayah", "Sosialisasi")
        sections = dict(conn.execute("select section, count(*) from access.campaign_entity where campaign_id = %s "
                                     "group by section", (campaign_id,)).fetchall())
        assert sections["koperasi"] == _gap(defective_warehouse, "K1", JAN, "35")
        # Independent reader: the campaign's cooperatives and officers covered in February.
        coops = conn.execute("""
            select count(*) from access.campaign_entity e join marts.fct_cooperative_coverage c
              on c.nik_koperasi = e.entity and c.as_of = '2024-02-01' and c.is_covered
            where e.campaign_id = %s and e.section = 'koperasi'""", (campaign_id,)).fetchone()[0]
        officers = conn.execute("""
            select count(*) from access.campaign_entity e
            where e.campaign_id = %s and e.section = 'pengurus' and exists (
                select 1 from marts.fct_officer_coverage o where o.person_id = e.entity and o.as_of = '2024-02-01'
                  and o.is_covered)""", (campaign_id,)).fetchone()[0]
    run, conn = _as(defective_warehouse, "sinergi_analyst")
    with conn:
        found = campaigns.conversion(run)
        # Least privilege: a reader may add a campaign, never change or remove one.
        for statement in ("update access.campaign set note = 'x'", "delete from access.campaign_entity"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                run(statement, {})
        # A national reader cannot write a campaign as another role.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            run("insert into access.campaign (campaign_date, as_of, scope_kind, scope_code, saved_by, saved_role) "
                "values (current_date, '2024-01-01', 'wilayah', '35', 'x', 'sinergi_auditor')", {})
    entry = next(c for c in found["campaigns"] if c["campaign_id"] == campaign_id)
    assert [m["bulan"] for m in entry["months"]] == [FEB]
    assert entry["latest"]["sections"]["koperasi"]["converted"] == coops
    assert entry["latest"]["sections"]["pengurus"]["converted"] == officers
    assert entry["latest"]["entities"] == sum(sections.values()) and entry["latest"]["converted"] > 0
    assert sum(b["entities"] for b in found["branches"]) >= entry["latest"]["entities"]
    result = CliRunner().invoke(cli, ["campaign", "list"])
    assert result.exit_code == 0 and "Sosialisasi" in result.output and "Februari 2024" in result.output
    # A regional user of another province does not see it.
    other, conn = _as(defective_warehouse, campaigns_role(defective_warehouse, "33"))
    with conn:
        assert campaign_id not in [c["campaign_id"] for c in campaigns.conversion(other)["campaigns"]]


def test_a_branch_office_saves_and_follows_its_own_campaigns_only(defective_warehouse, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", defective_warehouse)
    save = ["campaign", "save", "--as-of", JAN, "--note", "Sosialisasi cabang", "--by", "kacab"]
    result = CliRunner().invoke(cli, [*save, "--branch", BRANCH, "--role", f"cabang:{BRANCH}"])
    assert result.exit_code == 0, result.output
    campaign_id = int(re.search(r"kampanye #(\d+)", result.output)[1])
    from sinergi.warehouse import roles
    mine, other = roles.resolve(defective_warehouse, f"cabang:{BRANCH}"), roles.resolve(defective_warehouse,
                                                                                      f"cabang:{OTHER_PROVINCE_BRANCH}")
    with psycopg.connect(defective_warehouse) as conn:
        saved = conn.execute("select saved_role, scope_kind, scope_code from access.campaign where campaign_id = %s",
                             (campaign_id,)).fetchone()
        entities = conn.execute("select count(*), count(*) filter (where regency_code in (select regency_code from "
                                "marts.dim_branch_area where branch_code = %s)) from access.campaign_entity "
                                "where campaign_id = %s", (BRANCH, campaign_id)).fetchone()
    assert saved == (mine, "cabang", BRANCH) and entities[0] == entities[1] > 0
    run, conn = _as(defective_warehouse, mine)
    with conn:
        assert campaign_id in [c["campaign_id"] for c in campaigns.conversion(run)["campaigns"]]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not for another branch
            run("insert into access.campaign (campaign_date, as_of, scope_kind, scope_code, saved_by) "
                "values (current_date, '2024-01-01', 'cabang', %s, 'x')", (OTHER_PROVINCE_BRANCH,))
    run, conn = _as(defective_warehouse, other)
    with conn:
        assert campaign_id not in [c["campaign_id"] for c in campaigns.conversion(run)["campaigns"]]


def campaigns_role(url: str, province: str) -> str:
    from sinergi.warehouse import roles
    return roles.resolve(url, f"wilayah:{province}")


@pytest.fixture(scope="module")
def web(server, defective_warehouse):
    """The app in-process (TestClient) through sinergi_web, for the checks a browser cannot make."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(defective_warehouse)
    login = urlunsplit(parts._replace(netloc=f"sinergi_web@{parts.hostname}:{parts.port or 5432}"))
    app = create_app(login, config=WebConfig.from_env(secrets.token_urlsafe(32), env={}))
    with TestClient(app):
        yield app


def _signed_in(app, username):
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/masuk").text)[1]
    assert client.post("/masuk", data={"username": username, "password": PASSWORD, "lanjut": "/",
                                       "csrf": token}).status_code == 303
    return client


def test_the_page_keeps_to_row_level_security_csrf_and_formula_safety(web, defective_warehouse):
    jatim = _signed_in(web, "jatim")
    page = jatim.get(f"/tindak-lanjut?bulan={FEB}&cabang={OTHER_PROVINCE_BRANCH}")
    assert page.status_code == 200 and "tidak dikenal" in page.text and 'id="daftar-koperasi"' not in page.text
    page = jatim.get(f"/tindak-lanjut?bulan={FEB}&wilayah=33.11&format=xlsx")
    assert page.headers["content-type"].startswith("text/html")                # no download of another province
    page = jatim.get(f"/tindak-lanjut?bulan={FEB}&wilayah=35")
    assert "33.11" not in page.text and "Kabupaten Probolinggo" in page.text
    analyst = _signed_in(web, "analis")
    assert OTHER_PROVINCE_BRANCH in analyst.get(f"/tindak-lanjut?bulan={FEB}").text
    # Every POST needs the CSRF token.
    refused = jatim.post("/tindak-lanjut/kampanye", data={"bulan": FEB, "cabang": BRANCH, "csrf": "palsu"})
    assert refused.status_code == 403
    # A formula in a cooperative's name stays text in the worklist's CSV and XLSX.
    with psycopg.connect(defective_warehouse, autocommit=True) as conn:
        nik, name = conn.execute("select nik_koperasi, nama_koperasi from marts.fct_worklist_cooperatives "
                                 "where as_of = '2024-02-01' and branch_code = %s order by rank_in_regency limit 1",
                                 (BRANCH,)).fetchone()
        conn.execute("update marts.fct_worklist_cooperatives set nama_koperasi = %s where nik_koperasi = %s",
                     (HOSTILE, nik))
    try:
        text = analyst.get(f"/tindak-lanjut?bulan={FEB}&cabang={BRANCH}&format=csv&bagian=koperasi").content.decode("utf-8-sig")
        assert "'" + HOSTILE.replace('"', '""') in text and ',"=HYP' not in text
        book = openpyxl.load_workbook(io.BytesIO(analyst.get(f"/tindak-lanjut?bulan={FEB}&cabang={BRANCH}&format=xlsx").content))
        cells = [c for row in book.worksheets[0].iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
        assert cells and all(c.value == "'" + HOSTILE and c.data_type == "s" for c in cells)
    finally:
        with psycopg.connect(defective_warehouse, autocommit=True) as conn:
            conn.execute("update marts.fct_worklist_cooperatives set nama_koperasi = %s where nik_koperasi = %s",
                         (name, nik))
    # Names: the auditor's page shows them (and is logged), the analyst's does not.
    auditor = _signed_in(web, "auditor")
    assert "<th>Nama</th>" in auditor.get(f"/tindak-lanjut?bulan={FEB}&cabang={BRANCH}").text
    assert "<th>Nama</th>" not in analyst.get(f"/tindak-lanjut?bulan={FEB}&cabang={BRANCH}").text
    with psycopg.connect(defective_warehouse) as conn:
        events = dict(conn.execute("select event, count(*) from access.access_log where path like '/tindak-lanjut%%' "
                                   "group by event").fetchall())
    assert events.get("unduh", 0) >= 2 and events.get("halaman_bernama", 0) >= 1 and events.get("csrf_ditolak", 0) >= 1


@pytest.mark.parametrize("username, role", [("jatim", "wilayah:35"), ("kacab_probolinggo", f"cabang:{BRANCH}")])
def test_a_regional_user_or_branch_office_opens_the_worklist_downloads_it_and_saves_a_campaign(
        browser, server, defective_warehouse, username, role):  # noqa: F811
    from sinergi.serve.web import users
    from sinergi.warehouse import roles
    if username != "jatim":  # the regional account is made with the server (test_dashboard.py)
        users.add(defective_warehouse, username, PASSWORD, role)
    page = _login(browser, server, username)
    page.click("nav >> text=Daftar tindak lanjut")
    page.select_option("select[name=bulan]", JAN)
    page.select_option("select[name=cabang]", BRANCH)
    page.click("#pilih-cakupan button")
    assert page.inner_text("#judul-daftar").startswith(f"Kantor Cabang BPJS Ketenagakerjaan {BRANCH}")
    with psycopg.connect(defective_warehouse) as conn:
        area = [r[0] for r in conn.execute("select regency_code from marts.dim_branch_area where branch_code = %s",
                                           (BRANCH,)).fetchall()]
    k1 = sum(_gap(defective_warehouse, "K1", JAN, r) for r in area)
    assert page.inner_text("#sasaran td[data-metric=K1]") == fmt.angka(k1)
    assert page.locator("#daftar-koperasi tbody tr").count() == min(k1, 200)
    with page.expect_download() as download:
        page.click("#unduh-xlsx")
    assert download.value.suggested_filename == f"tindak_lanjut_cabang_{BRANCH}_{JAN}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    ws = book.worksheets[0]
    header_row = int(ws.print_title_rows.split(":")[0].lstrip("$"))
    rows = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    assert len(rows) == k1 and rows[0][0] == 1
    first = page.locator("#daftar-koperasi tbody tr").first.locator("td").nth(1).inner_text()
    assert rows[0][1] == first                                                   # same order as on screen
    page.fill("input[name=catatan]", "Sosialisasi di Kraksaan")
    page.click("text=Simpan sebagai kampanye")
    assert "disimpan" in page.inner_text("#pesan")
    campaign_id = re.search(r"#(\d+)", page.inner_text("#pesan"))[1]
    row = page.locator(f"#kampanye tr[data-campaign='{campaign_id}']")
    assert "Sosialisasi di Kraksaan" in row.inner_text() and "Februari 2024" in row.inner_text()
    with psycopg.connect(defective_warehouse) as conn:
        saved_role, by, converted = conn.execute("""
            select c.saved_role, c.saved_by, count(*) filter (where f.is_covered)
            from access.campaign c join access.campaign_entity e on e.campaign_id = c.campaign_id and e.section = 'koperasi'
            left join marts.fct_cooperative_coverage f on f.nik_koperasi = e.entity and f.as_of = '2024-02-01'
            where c.campaign_id = %s group by c.saved_role, c.saved_by""", (int(campaign_id),)).fetchone()
    assert (saved_role, by) == (roles.resolve(defective_warehouse, role), username)
    assert int(row.locator("td.conversion").inner_text().replace(".", "")) >= converted
    _shot(page, f"tindak_lanjut_{username}")
