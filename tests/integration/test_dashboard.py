"""The dashboard in a real browser: Playwright drives Debian's headless Chromium against `sinergi serve`'s app.

Screenshots of every page visited are kept in test-artifacts/screenshots/.
"""
from __future__ import annotations

import csv
import io
import json
import re
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import openpyxl
import psycopg
import pytest
import uvicorn

from ingestion import access, quality, reasons
from sinergi.core import fmt, labels, settings
from sinergi.serve.web import users
from sinergi.serve.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = settings.PROJECT_ROOT / "test-artifacts" / "screenshots"
PASSWORD = "kata-sandi-uji"
MONTH = "2024-02"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(defective_warehouse):
    for name, role in (("analis", "analyst"), ("auditor", "auditor"), ("jatim", "wilayah:35")):
        users.add(defective_warehouse, name, PASSWORD, role)
    port = _free_port()
    # As deployed: the app logs in as the NOINHERIT sinergi_web and reads only through each user's role.
    parts = urlsplit(defective_warehouse)
    web_login = urlunsplit(parts._replace(netloc=f"{access.WEB}@{parts.hostname}:{parts.port or 5432}"))
    # A placeholder such as "uji" is refused at start (tests/integration/test_security.py): a random one, as `init-env` makes.
    srv = uvicorn.Server(uvicorn.Config(create_app(web_login, secret=secrets.token_urlsafe(32)), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(browser, server, username, password=PASSWORD):
    page = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900}).new_page()
    page.goto(server + "/")
    assert page.url.endswith("/masuk?lanjut=/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    return page


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _one(url, query, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()


def _all(url, query, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_a_wrong_password_is_refused_and_pages_need_a_login(browser, server):
    page = _login(browser, server, "analis", "salah-sekali")
    assert "Nama pengguna atau kata sandi salah" in page.inner_text("[role=alert]")
    page.goto(server + "/kur")
    assert "/masuk" in page.url
    _shot(page, "masuk_gagal")


def test_analyst_reads_the_national_summary_in_bahasa_with_indonesian_numbers(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    assert page.inner_text("h1").startswith(f"Ringkasan nasional · {fmt.bulan(MONTH)}")
    numerator, denominator, value = _one(defective_warehouse, "select numerator, denominator, value from marts.fct_metrics "
                                         "where as_of = '2024-02-01' and metric = 'K7' and region = 'ID' and breakdown = ''")
    row = page.locator("#metrik tr[data-metric=K7]")
    assert row.locator("td.nilai").inner_text() == fmt.persen(float(value))      # e.g. 85,6%
    assert fmt.angka(float(numerator)) in row.inner_text() and fmt.angka(denominator) in row.inner_text()
    assert "poin" in row.inner_text()                                               # change from January
    rupiah = page.locator("#metrik tr[data-metric=K9_rupiah] td.nilai").inner_text()
    assert rupiah.startswith("Rp") and "," not in rupiah
    assert page.locator("figure.grafik svg").count() == 1
    assert "Nama" not in page.inner_text("#pengguna")
    _shot(page, "ringkasan_analis")


def test_regions_drill_down_from_provinces_to_regencies_ranked(browser, server):
    page = _login(browser, server, "analis")
    page.click("nav >> text=Wilayah")
    codes = page.locator("#wilayah tbody tr").evaluate_all("rows => rows.map(r => r.dataset.region)")
    assert codes and all(len(c) == 2 for c in codes)
    page.select_option("select[name=metrik]", "K7")
    page.click("text=Tampilkan")
    shares = [float(t.replace("%", "").replace(".", "").replace(",", "."))
              for t in page.locator("#wilayah tbody tr td:nth-child(10)").all_inner_texts()]
    assert shares == sorted(shares, reverse=True)                                   # ranked by K7
    page.locator("#wilayah tbody tr a", has_text="Jawa Timur").click()
    codes = page.locator("#wilayah tbody tr").evaluate_all("rows => rows.map(r => r.dataset.region)")
    assert codes and all(c.startswith("35.") for c in codes)
    _shot(page, "wilayah_jawa_timur")


def test_cooperatives_filter_and_export_to_csv_and_xlsx(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    page.click("nav >> text=Koperasi")
    page.select_option("select[name=provinsi]", "35")
    page.select_option("select[name=jenis]", index=1)
    kind = page.locator("select[name=jenis] option:checked").inner_text()
    page.click("text=Saring")
    expected = _one(defective_warehouse, "select count(*) from marts.fct_cooperative_coverage where as_of = '2024-02-01' "
                    "and not is_covered and province_code = '35' and jenis_koperasi = %s", (kind,))[0]
    assert expected > 0
    assert page.inner_text("#jumlah") == fmt.angka(expected)
    assert page.locator("#daftar tbody tr").count() == min(expected, 500)
    with page.expect_download() as download:
        page.click("#unduh-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == expected and {r["jenis_koperasi"] for r in rows} == {kind}
    assert all(r["regency_code"].startswith("35.") for r in rows)
    with page.expect_download() as download:
        page.click("#unduh-xlsx")
    saved = SHOTS.parent / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "koperasi_belum_terlindungi_2024-02.xlsx"
    sheet = list(openpyxl.load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    assert len(sheet) == expected + 1 and sheet[0][:2] == ("nik_koperasi", "nama_koperasi")
    assert {r[2] for r in sheet[1:]} == {kind}
    _shot(page, "koperasi_saring")


def test_parameters_are_bound_not_spliced(browser, server):
    page = _login(browser, server, "analis")
    page.goto(server + "/koperasi?cari=%27%20or%201%3D1%20--&provinsi=35%27%3B%20drop%20table%20marts.dim_region%3B--")
    assert page.inner_text("#jumlah") == "0"
    page.goto(server + "/wilayah")
    assert page.locator("#wilayah tbody tr").count() > 0                            # dim_region still there


def test_kur_lists_borrowers_not_enrolled_by_bank_and_scheme_names_only_for_auditors(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    page.click("nav >> text=KUR")
    bank = page.locator("select[name=bank] option").nth(1).inner_text()
    page.select_option("select[name=bank]", bank)
    page.click("text=Saring")
    expected = _one(defective_warehouse, "select count(*) from marts.fct_kur_coverage where as_of = '2024-02-01' "
                    "and not is_covered and bank = %s", (bank,))[0]
    assert page.inner_text("#jumlah") == fmt.angka(expected)
    assert "Nama" not in page.locator("#daftar thead").inner_text()
    summary = page.locator("#ringkasan-kur tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText))")
    truth = _all(defective_warehouse, "select bank, skema, count(*) filter (where not is_covered), count(*) "
                 "from marts.fct_kur_coverage where as_of = '2024-02-01' group by 1, 2 order by 1, 2")
    assert summary == [[b, s, fmt.angka(n), fmt.angka(f)] for b, s, n, f in truth]
    plafon = page.locator("#daftar tbody tr td:nth-child(4)").first.inner_text()
    assert plafon.startswith("Rp") and "." in plafon
    _shot(page, "kur_analis")
    auditor = _login(browser, server, "auditor")
    auditor.goto(server + f"/kur?bank={bank}")
    assert "Nama" in auditor.locator("#daftar thead").inner_text()
    names = auditor.locator("#daftar tbody tr td:nth-child(9)").all_inner_texts()
    assert any(n not in ("", "–") for n in names)
    _shot(auditor, "kur_auditor")


def test_a_regional_analyst_sees_only_their_province_even_when_asking_for_another(browser, server):
    page = _login(browser, server, "jatim")
    assert page.inner_text("h1").startswith("Ringkasan provinsi 35")
    page.goto(server + "/wilayah?provinsi=33")
    codes = page.locator("#wilayah tbody tr").evaluate_all("rows => rows.map(r => r.dataset.region)")
    assert codes and all(c.startswith("35.") for c in codes)
    page.goto(server + "/kur?provinsi=33")
    assert page.inner_text("#jumlah") == "0"
    page.goto(server + "/koperasi")
    regions = page.locator("#daftar tbody tr td:nth-child(4)").all_inner_texts()
    assert regions
    with page.expect_download() as download:
        page.click("#unduh-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows and all(r["regency_code"].startswith("35.") for r in rows)
    _shot(page, "koperasi_wilayah_35")


@pytest.mark.parametrize("params", [{}, {"provinsi": "35"}, {"bank": "BRI", "wajib": True},
                                    {"skema": "KUR Kecil", "provinsi": "74"}])
def test_list_counts_from_aggregates_equal_counting_the_rows(defective_warehouse, params):
    """The screen shows one page of a list and its total; where the total comes from an aggregate mart
    (national lists are too long to count per view), it equals counting the rows."""
    from dataclasses import replace

    from sinergi.serve.web import queries
    values = {"bulan": MONTH, "provinsi": None, "bank": None, "skema": None, "wajib": False, **params}
    counted = [listing for listing in vars(queries).values() if isinstance(listing, queries.Listing) and listing.counted]
    assert counted
    for listing in counted:
        by_rows = replace(listing, counted=None).count
        total = _one(defective_warehouse, listing.count, values)[0]
        assert total == _one(defective_warehouse, by_rows, values)[0]
        assert total > 0 or params  # the whole month's list is not empty


def test_licensing_and_data_quality_pages(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    page.click("nav >> text=Perizinan")
    page.select_option("select[name=alasan]", "tidak_ada")
    page.click("text=Saring")
    reasons = set(page.locator("#daftar tbody tr td:nth-child(6)").all_inner_texts())
    assert reasons <= {"Tidak mencantumkan rekomendasi"}
    _shot(page, "perizinan")
    page.click("nav >> text=Kualitas data")
    senders = set(page.locator("#kiriman tbody tr td:nth-child(1)").all_inner_texts())
    assert senders == {"kemenkop", "bpjstk", "himbara"}
    rejected = _one(defective_warehouse, "select count(*) from audit.load where status in ('rejected', 'held') "
                    "and to_date(left(period, 6), 'YYYYMM') = '2024-02-01'")[0]
    assert page.locator("#bermasalah tbody tr").count() == rejected
    _shot(page, "kualitas_data")


def test_breakdowns_and_quarantine_reasons_read_in_bahasa_with_their_codes_at_hand(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    rows = page.locator("#rincian tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.breakdown, r.cells[1].innerText, r.cells[1].title])")
    assert rows
    for key, shown, title in rows:
        dimension = key.partition("=")[0]
        assert title == key and shown == labels.breakdown(key)
        assert shown.startswith(labels.DIMENSIONS[dimension] + ": ")
    shown = {key: text for key, text, _ in rows}
    assert shown["jenis_koperasi=Jasa"] == "Jenis koperasi: Jasa"
    assert shown["skala_usaha=Kecil"] == "Skala usaha: Kecil"
    assert shown["alasan=koperasi_lain"] == "Alasan tanpa rekomendasi sah: Rekomendasi untuk koperasi lain"
    assert shown["karantina=bpjstk"] == "Baris dikarantina: BPJS Ketenagakerjaan"
    page.click("nav >> text=Kualitas data")
    quarantine = page.locator("#karantina tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.reason, r.cells[1].innerText, r.cells[2].innerText])")
    expected = {r[0] for r in _all(defective_warehouse, "select distinct reason from marts.fct_quarantine_reasons "
                                                        "where as_of = '2024-02-01'")}
    assert expected and {code for code, _, _ in quarantine} == expected
    assert all(label == reasons.QUARANTINE[code] and shown_code == code for code, label, shown_code in quarantine)
    _shot(page, "kualitas_karantina_berlabel")


def _load_with_checks(world: Path, landing: Path, url: str):
    """`sinergi load` (with its Great Expectations checks) of one branch's claims report."""
    from typer.testing import CliRunner

    from sinergi.cli import app
    source = sorted((world / "landing" / "bpjstk").glob("*/*_klaim_202401.csv"))[0]
    target = landing / source.relative_to(world / "landing")
    target.parent.mkdir(parents=True)
    shutil.copy2(source, target)
    result = CliRunner().invoke(app, ["load", str(landing), "--json"], env={"WAREHOUSE_URL": url, "COLUMNS": "200"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def test_great_expectations_data_docs_written_by_a_load_are_linked_and_served(browser, server, defective_world,
                                                                              new_db, tmp_path, monkeypatch):
    """The docs live in the Great Expectations project on disk (SINERGI_GX_DIR), not in the warehouse: a
    `sinergi load` (into a database of its own here) writes them where the dashboard serves them from."""
    monkeypatch.setenv(settings.ENV_GX_DIR, str(tmp_path / "gx"))     # read by the app on every request
    page = _login(browser, server, "analis")
    # Generated docs run sandboxed and fetch their scripts from CDNs: offline here.
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page.goto(server + "/kualitas")
    assert "Data Docs Great Expectations belum dibuat" in page.inner_text("main")
    assert page.locator("#gx-docs").count() == 0
    assert page.goto(server + "/dokumen/gx/index.html").status == 404

    loaded = _load_with_checks(defective_world, tmp_path / "landing", new_db())
    assert loaded["status"] == "loaded" and loaded["quality"] in ("passed", "warning", "failed")
    assert quality.data_docs_index() == settings.gx_data_docs_dir() / "index.html"     # one definition
    assert quality.data_docs_index().exists()

    page.goto(server + "/kualitas")
    assert page.locator("#gx-docs").count() == 1, page.inner_text("main")[:300]
    with page.expect_response(server + "/dokumen/gx/index.html") as response:
        page.click("#gx-docs")
    assert response.value.status == 200
    index = response.value.text()
    assert "Great Expectations" in index and "klaim" in index
    # The pages the index links to (each validation of the load, each suite) are served too.
    for kind in ("expectations", "validations"):
        linked = sorted(set(re.findall(kind + r"/[^\"'\s<>]+?\.html", index)))
        assert linked, (kind, index[:2000])
        assert page.goto(f"{server}/dokumen/gx/{linked[0]}").status == 200, linked[0]
    _shot(page, "data_docs")
    # Not for a regional user: the docs show the batches of every province.
    regional = _login(browser, server, "jatim")
    regional.goto(server + "/kualitas")
    assert "hanya untuk pengguna nasional" in regional.inner_text("main")
    assert regional.locator("#gx-docs").count() == 0
    assert regional.goto(server + "/dokumen/gx/index.html").status == 404


# --- issue 20: the branch office's role, the map, the region page and the targets ---------------------

BRANCH, OTHER_BRANCH = "K1301", "K1305"   # Jawa Timur's two branches: Kota Surabaya (35.78) and 35.13


def _tiles(page) -> list[str]:
    return page.locator("svg.peta a.ubin").evaluate_all("tiles => tiles.map(t => t.dataset.region)")


def _targets(url) -> int:
    return _one(url, "select count(*) from audit.target")[0]


def test_a_branch_office_sees_its_service_area_and_its_targets(browser, server, defective_warehouse):
    from sinergi.warehouse import targets
    users.add(defective_warehouse, "cabang", PASSWORD, f"cabang:{BRANCH}")
    targets.save(defective_warehouse, f"cabang,wilayah,metrik,tahun,nilai\n{BRANCH},,K1,2024,25\n"
                 f"{OTHER_BRANCH},,K1,2024,25\n,35.13,K7,2024,90\n,35.78,K8,2024,10\n", "uji", "uji")
    page = _login(browser, server, "cabang")
    assert page.inner_text("h1").startswith(f"Ringkasan kantor cabang {BRANCH}")
    assert f"Kantor cabang {BRANCH}" in page.inner_text("#pengguna")
    assert page.locator("#metrik tr[data-metric=K1] td.nilai").inner_text().endswith("%")
    for path in ("/peta", "/peta?provinsi=33", "/peta?provinsi=35"):
        page.goto(server + path)
        assert _tiles(page) == ["35.78"], path                          # its service area, nothing else
    page.goto(server + "/wilayah/35.13")
    assert "tidak ditemukan" in page.inner_text("[role=alert]")         # the other branch's regency
    page.goto(server + f"/kur?bulan={MONTH}")                            # KUR counts of its service area only
    facilities = _one(defective_warehouse, "select count(*) from marts.fct_kur_coverage k join marts.dim_branch_area a "
                      "on a.regency_code = k.regency_code where k.as_of = %s and a.branch_code = %s",
                      (f"{MONTH}-01", BRANCH))[0]
    shown = page.locator("#ringkasan-kur tbody td:nth-child(4)").evaluate_all("c => c.map(x => x.innerText)")
    assert facilities > 0 and sum(int(c.replace(".", "")) for c in shown) == facilities
    page.goto(server + "/target")
    scopes = page.locator("#target tbody tr").evaluate_all("rows => rows.map(r => r.dataset.scope)")
    assert sorted(scopes) == ["35.78", BRANCH]
    status = page.locator(f"#target tr[data-scope={BRANCH}]").get_attribute("data-status")
    assert status in labels.TARGET_STATUS and page.locator(f"#target tr[data-scope={BRANCH}] td").nth(2).inner_text() == "25,0%"
    assert "Proyeksi" in page.inner_text("#metode") and page.locator("#unggah-target").count() == 0
    _shot(page, "target_kantor_cabang")


def test_a_regional_users_map_shows_their_province_only_and_leads_to_the_region_page(browser, server):
    page = _login(browser, server, "jatim")
    page.goto(server + "/peta?provinsi=33&metrik=K7")
    codes = _tiles(page)
    assert codes and all(c.startswith("35.") for c in codes)
    assert page.locator("#legenda li").count() >= 2
    page.click("svg.peta a.ubin[data-region='35.78']")
    assert page.url.split("?")[0].endswith("/wilayah/35.78")
    assert page.locator("#metrik tr[data-metric=K7]").count() == 1 and page.locator("figure.grafik svg").count() == 1
    assert page.get_attribute("#tindak-lanjut", "href") == "/tindak-lanjut?wilayah=35.78"
    page.goto(server + "/wilayah/33")
    assert "tidak ditemukan" in page.inner_text("[role=alert]")
    _shot(page, "peta_wilayah_35")


def test_target_upload_refuses_a_bad_file_whole_and_takes_a_good_one(browser, server, defective_warehouse):
    page = _login(browser, server, "analis")
    page.goto(server + "/peta")
    assert len(_tiles(page)) == 38                                     # every province on the national map
    _shot(page, "peta_nasional")
    before = _targets(defective_warehouse)
    page.goto(server + "/target")
    bad = b"cabang,wilayah,metrik,tahun,nilai\nK1301,,K1,2024,30\nK9999,,K1,2024,25\n,35,K1,2024,120\n"
    page.set_input_files("#unggah-target input[type=file]", {"name": "target.csv", "mimeType": "text/csv", "buffer": bad})
    page.click("#unggah-target button")
    problems = page.inner_text("#penolakan")
    assert "tidak ada yang disimpan" in problems and "baris 3: kantor cabang K9999 tidak dikenal" in problems
    assert "baris 4: nilai 120 di luar 0–100" in problems
    assert _targets(defective_warehouse) == before                      # nothing half-imported
    good = b"cabang,wilayah,metrik,tahun,nilai\nK1305,,K2,2024,40\n,35,K8,2024,5000\n"
    page.set_input_files("#unggah-target input[type=file]", {"name": "target.csv", "mimeType": "text/csv", "buffer": good})
    page.click("#unggah-target button")
    assert page.inner_text("#tersimpan") == "2 target disimpan."
    assert _targets(defective_warehouse) == before + 2
    assert page.locator("#target tr[data-scope='35'][data-metric=K8]").count() == 1
    assert _one(defective_warehouse, "select count(*) from access.access_log where event = 'impor_target' "
                "and username = 'analis' and rows = 2")[0] == 1
    _shot(page, "target_analis")
