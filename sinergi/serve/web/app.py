"""`sinergi serve`: the dashboard. Every page reads the marts as the signed-in user's database role.

Security (issue 16; OWASP ASVS level 2 for an application that shows personal data): it refuses to start
with a weak SINERGI_WEB_SECRET or through a login that bypasses row-level security (db.py); sessions live
on the server (sessions.py); sign-in is throttled and every POST needs a CSRF token and a same-origin
request; responses carry a strict Content-Security-Policy, no framing, nosniff and no-store (security.py);
downloads are formula-safe (sinergi/serve/spreadsheet.py); sign-ins, downloads and pages with names are written
to the access log that auditors read on "Kualitas data".
"""
from __future__ import annotations

import calendar
import contextlib
import logging
import re
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from sinergi.core import fmt, labels, settings
from sinergi.warehouse import metrics

from . import charts, export, linkage, queries, users, worklist
from . import regions as regions_mod
from . import sessions as sessions_mod
from . import targets as targets_mod
from .db import Database, refuse_unsafe_login
from .security import BAD_REQUEST, Guard, WebConfig, same_origin

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
SHOWN_ROWS = 500  # rows on screen; the downloads carry all of them
ACCESS_LOG_ROWS = 200  # latest access-log entries on "Kualitas data" (auditors)
EVENTS = {"masuk": "masuk", "masuk_gagal": "gagal masuk", "masuk_ditahan": "masuk ditahan (terlalu banyak gagal)",
          "keluar": "keluar", "unduh": "unduhan", "halaman_bernama": "halaman dengan nama",
          "csrf_ditolak": "formulir ditolak (CSRF)", linkage.DECISION: "keputusan tautan",
          targets_mod.IMPORTED: "impor target"}
# When a sender's next file is due: the ministry daily, branches and banks monthly.
CADENCE = {"kemenkop": "harian", "bpjstk": "bulanan", "himbara": "bulanan"}
CSRF_ERROR = ("Formulir ini kedaluwarsa atau dikirim dari situs lain, jadi ditolak. Muat ulang halaman ini lalu "
              "coba lagi.")


class LoginRequired(Exception):
    pass


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _province(value: str | None, who: users.User) -> str | None:
    """The province filter; a regional user's own by default. Asking for another is not refused here:
    row-level security answers it with no rows."""
    return _blank(value) or who.province


def _month(value: str | None) -> str | None:
    return value if settings.is_month(value) else None


def _target(lanjut: str | None) -> str:
    """Where to go after signing in: a path of this site only (no //host, no /\\host, no scheme)."""
    if lanjut and re.fullmatch(r"/(?![/\\])[^\\\s]*", lanjut):
        return lanjut
    return "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def create_app(url: str | None = None, secret: str | None = None, config: WebConfig | None = None) -> FastAPI:
    """The dashboard app. Refuses (UnsafeSetup) a weak or missing secret and a login that bypasses
    row-level security, before it serves anything."""
    config = config or WebConfig.from_env(secret)
    url = url or settings.warehouse_url()
    refuse_unsafe_login(url)
    db = Database(url)
    sessions = sessions_mod.Sessions(db, config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            sessions.prune()
        except Exception as exc:  # retention must not keep the dashboard down; it runs again after a day
            log.warning("access log not pruned: %s", type(exc).__name__)
        yield
        db.close()

    app = FastAPI(title="Sinergi", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.add_middleware(Guard, https=config.https)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(angka=fmt.angka, rupiah=lambda v: fmt.rupiah(float(v)), persen=fmt.persen,
                                 bulan=fmt.bulan, tanggal=fmt.tanggal)
    labels.register(templates.env)
    templates.env.globals.update(metric_names=metrics.NAMES, metric_kinds=metrics.KINDS, event_names=EVENTS)

    def session_token(request: Request) -> str | None:
        return request.cookies.get(config.session_cookie)

    def forget_session(response: Response) -> Response:
        response.delete_cookie(config.session_cookie, path="/", secure=config.https, httponly=True,
                               samesite="strict")
        return response

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired):
        response = RedirectResponse(f"/masuk?lanjut={quote(request.url.path)}", status_code=303)
        return forget_session(response) if session_token(request) else response

    def user(request: Request) -> users.User:
        who = sessions.lookup(session_token(request))
        if not who:
            raise LoginRequired()
        return who

    def page(request: Request, name: str, who: users.User, status_code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {
            "user": who, "path": request.url.path, "csrf": config.csrf_token(session_token(request) or ""),
            **context}, status_code=status_code)

    def common(who: users.User, bulan: str | None) -> dict:
        months = [r["bulan"] for r in db.rows(who.role, queries.MONTHS)]
        chosen = _month(bulan) if _month(bulan) in months else (months[-1] if months else None)
        provinces = db.rows(who.role, queries.PROVINCES)
        return {"months": months, "bulan": chosen, "provinces": provinces}

    def download(request: Request, who: users.User, rows: list[dict], columns: list[str], name: str,
                 kind: str) -> Response:
        sessions.log(sessions_mod.DOWNLOAD, _client(request), who, path=_path_and_query(request), rows=len(rows),
                     detail=f"{name}.{kind}")
        if kind == "xlsx":
            return Response(export.to_xlsx(rows, columns, name), headers={
                "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(export.to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    def login_page(request: Request, lanjut: str, error: str | None = None, status_code: int = 200,
                   headers: dict | None = None) -> HTMLResponse:
        """The sign-in form, with a CSRF token bound to a random cookie of this browser."""
        binding = request.cookies.get(config.csrf_cookie)
        fresh = not binding or len(binding) > 100
        binding = secrets.token_urlsafe(32) if fresh else binding
        response = templates.TemplateResponse(request, "masuk.html", status_code=status_code, headers=headers,
                                              context={"lanjut": _target(lanjut), "error": error, "user": None,
                                                       "csrf": config.csrf_token(binding)})
        if fresh:
            response.set_cookie(config.csrf_cookie, binding, **config.cookie_options(None))
        return response

    @app.get("/masuk", response_class=HTMLResponse)
    def login_form(request: Request, lanjut: str = "/"):
        return login_page(request, lanjut)

    @app.post("/masuk")
    def login(request: Request, username: str = Form(""), password: str = Form(""), lanjut: str = Form("/"),
              csrf: str = Form("")):
        client = _client(request)
        if any("\x00" in v for v in (username, password, lanjut, csrf)) or len(username) > 200 or len(password) > 1000:
            return PlainTextResponse(BAD_REQUEST, status_code=400)
        if not same_origin(request.headers) or not config.csrf_valid(request.cookies.get(config.csrf_cookie), csrf):
            sessions.log(sessions_mod.CSRF_REFUSED, client, username=username, path="/masuk")
            return login_page(request, lanjut, CSRF_ERROR, status_code=403)
        wait = sessions.retry_after(username, client)
        if wait:
            sessions.log(sessions_mod.LOGIN_THROTTLED, client, username=username, path="/masuk")
            minutes = max(1, -(-wait // 60))
            return login_page(request, lanjut, f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam "
                              f"{minutes} menit.", status_code=429, headers={"Retry-After": str(wait)})
        who = sessions.authenticate(username, password)
        if not who:
            sessions.log(sessions_mod.LOGIN_FAILED, client, username=username, path="/masuk")
            return login_page(request, lanjut, "Nama pengguna atau kata sandi salah.", status_code=401)
        sessions.end(session_token(request))  # a new id on every sign-in (no session fixation)
        token = sessions.start(who, client)
        sessions.log(sessions_mod.LOGIN, client, who, path="/masuk")
        response = RedirectResponse(_target(lanjut), status_code=303)
        response.set_cookie(config.session_cookie, token, **config.cookie_options(config.session_hours * 3600))
        response.delete_cookie(config.csrf_cookie, path="/", secure=config.https, httponly=True, samesite="strict")
        return response

    @app.post("/keluar")
    def logout(request: Request, csrf: str = Form("")):
        token = session_token(request)
        if not same_origin(request.headers) or not config.csrf_valid(token, csrf):
            sessions.log(sessions_mod.CSRF_REFUSED, _client(request), path="/keluar")
            return HTMLResponse(CSRF_ERROR, status_code=403)
        who = sessions.lookup(token)
        sessions.end(token)
        if who:
            sessions.log(sessions_mod.LOGOUT, _client(request), who, path="/keluar")
        return forget_session(RedirectResponse("/masuk", status_code=303))

    @app.get("/grafik.css")
    def chart_style():
        return Response(charts.stylesheet(), media_type="text/css; charset=utf-8")

    @app.get("/", response_class=HTMLResponse)
    def summary(request: Request, bulan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        region = who.province or who.branch or "ID"
        # A branch office's figures: the sums over the regencies/cities of its service area.
        area = regions_mod.area_rows(db, who, ctx["bulan"]) if who.branch else None
        trend = area[0] if area else db.rows(who.role, queries.REGION_TREND, {"region": region})
        cards = _cards(trend, ctx["bulan"], ctx["months"])
        ratios = {m: [None] * len(ctx["months"]) for m in metrics.SHARES}
        for r in trend:
            if r["metric"] in ratios:
                ratios[r["metric"]][ctx["months"].index(r["bulan"])] = float(r["value"])
        chart = charts.trend(ctx["months"], ratios, "Tren rasio cakupan") if ctx["months"] else ""
        breakdowns = area[1] if area else db.rows(who.role, queries.BREAKDOWNS, {"region": region, "bulan": ctx["bulan"]})
        return page(request, "ringkasan.html", who, cards=cards, chart=chart, breakdowns=breakdowns,
                    region=region, **ctx)

    @app.get("/wilayah", response_class=HTMLResponse)
    def regions(request: Request, bulan: str | None = None, provinsi: str | None = None, metrik: str = "K1",
                who: users.User = Depends(user)):
        ctx = common(who, bulan)
        provinsi = who.province or _blank(provinsi)
        metrik = metrik if metrik in metrics.NAMES else "K1"
        rows = db.rows(who.role, queries.REGIONS, {"bulan": ctx["bulan"], "provinsi": provinsi, "area": bool(who.branch)})
        table = _pivot(rows)
        key = (lambda t: float(t[metrik]["numerator"])) if metrik not in metrics.SHARES else \
            (lambda t: float(t[metrik]["value"]))
        ranked = sorted((t for t in table if metrik in t), key=key, reverse=True)
        chart = charts.ranking([t["region_name"] for t in ranked], [key(t) for t in ranked],
                               metrics.NAMES[metrik], percent=metrik in metrics.SHARES) \
            if ranked else ""
        return page(request, "wilayah.html", who, table=table, ranked=ranked, metrik=metrik, chart=chart,
                    provinsi=provinsi, **ctx)

    def listing(who: users.User, listing: queries.Listing, params: dict, export: str | None):
        """The rows to show (or, for a download, all of them) and how many there are in all."""
        if export in ("csv", "xlsx"):
            return db.rows(who.role, listing.rows, {**params, "limit": None}), None
        rows = db.rows(who.role, listing.rows, {**params, "limit": SHOWN_ROWS})
        total = len(rows) if len(rows) < SHOWN_ROWS else db.rows(who.role, listing.count, params)[0]["n"]
        return rows, total

    @app.get("/koperasi")
    def cooperatives(request: Request, bulan: str | None = None, provinsi: str | None = None,
                     jenis: str | None = None, cari: str | None = None, format: str | None = None,
                     who: users.User = Depends(user)):
        ctx = common(who, bulan)
        params = {"bulan": ctx["bulan"], "provinsi": _province(provinsi, who), "jenis": _blank(jenis),
                  "cari": _blank(cari)}
        rows, total = listing(who, queries.COOPERATIVES, params, format)
        if total is None:
            return download(request, who, rows, ["nik_koperasi", "nama_koperasi", "jenis_koperasi", "regency_code",
                                                 "wilayah", "npp", "link_rule"],
                            f"koperasi_belum_terlindungi_{ctx['bulan']}", format)
        kinds = [r["jenis_koperasi"] for r in db.rows(who.role, queries.COOPERATIVE_KINDS)]
        return page(request, "koperasi.html", who, rows=rows, total=total, kinds=kinds, filters=params, **ctx)

    @app.get("/kur")
    def kur(request: Request, bulan: str | None = None, provinsi: str | None = None, bank: str | None = None,
            skema: str | None = None, wajib: bool = False, format: str | None = None,
            who: users.User = Depends(user)):
        ctx = common(who, bulan)
        params = {"bulan": ctx["bulan"], "provinsi": _province(provinsi, who), "bank": _blank(bank),
                  "skema": _blank(skema), "wajib": wajib}
        rows, total = listing(who, queries.KUR_NAMED if who.sees_names else queries.KUR, params, format)
        if total is None:
            columns = ["id_fasilitas", "bank", "skema", "plafon", "tgl_pencairan", "is_mandatory", "regency_code",
                       "wilayah", "person_id", *(["nama"] if who.sees_names else []), "status_bpjstk"]
            return download(request, who, rows, columns, f"debitur_kur_belum_terdaftar_{ctx['bulan']}", format)
        if who.sees_names:
            sessions.log(sessions_mod.NAMES_SHOWN, _client(request), who, path=_path_and_query(request), rows=len(rows))
        summary_rows = db.rows(who.role, queries.KUR_SUMMARY, params)
        return page(request, "kur.html", who, rows=rows, total=total, summary=summary_rows,
                    banks=[r["bank"] for r in db.rows(who.role, queries.BANKS)],
                    schemes=sorted({r["skema"] for r in summary_rows}), filters=params, **ctx)

    @app.get("/perizinan")
    def licensing(request: Request, bulan: str | None = None, provinsi: str | None = None,
                  alasan: str | None = None, jenis: str | None = None, format: str | None = None,
                  who: users.User = Depends(user)):
        ctx = common(who, bulan)
        params = {"bulan": ctx["bulan"], "provinsi": _province(provinsi, who), "alasan": _blank(alasan),
                  "jenis": _blank(jenis)}
        rows, total = listing(who, queries.LICENSING, params, format)
        if total is None:
            return download(request, who, rows, ["no_keputusan", "nik_koperasi", "jenis_layanan", "tgl_keputusan",
                                                 "no_rekomendasi_bpjstk", "alasan", "regency_code", "wilayah"],
                            f"perizinan_tanpa_rekomendasi_sah_{ctx['bulan']}", format)
        return page(request, "perizinan.html", who, rows=rows, total=total, filters=params, **ctx)

    @app.get("/kualitas", response_class=HTMLResponse)
    def quality(request: Request, bulan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        params = {"bulan": ctx["bulan"]}
        deliveries = [{**d, "tepat_waktu": _on_time(d, ctx["bulan"])} for d in db.rows(who.role, queries.LAST_DELIVERIES)]
        # The access log is the auditors' (granted to sinergi_auditor only).
        access_log = db.rows(who.role, queries.ACCESS_LOG, {"limit": ACCESS_LOG_ROWS}) if who.is_auditor else None
        access_counts = db.rows(who.role, queries.ACCESS_LOG_COUNTS) if who.is_auditor else None
        return page(request, "kualitas.html", who, deliveries=deliveries, access_log=access_log,
                    access_counts=access_counts, gx_docs=_gx_docs(who),
                    quarantine=db.rows(who.role, queries.QUARANTINE_BY_REASON, params),
                    expectations=db.rows(who.role, queries.EXPECTATIONS, params),
                    problems=db.rows(who.role, queries.PROBLEM_FILES, params),
                    dbt_docs=_docs_root("dbt") is not None,
                    cadence=CADENCE, **ctx)

    linkage.register(app, db=db, sessions=sessions, config=config, templates=templates, user=user, page=page,
                     common=common, session_token=session_token, client=_client, path_and_query=_path_and_query,
                     csrf_error=CSRF_ERROR)
    worklist.register(app, db=db, sessions=sessions, templates=templates, user=user, page=page, common=common,
                      config=config, session_token=session_token, client=_client, path_and_query=_path_and_query,
                      csrf_error=CSRF_ERROR, events=EVENTS)

    regions_mod.register(app, db=db, user=user, page=page, common=common, cards=_cards)
    targets_mod.register(app, db=db, sessions=sessions, config=config, user=user, page=page, common=common,
                         session_token=session_token, client=_client, csrf_error=CSRF_ERROR)

    @app.get("/dokumen/{kind}/{path:path}")
    def documents(kind: str, path: str = "", who: users.User = Depends(user)):
        # Data Docs show batches of every province: not for a regional user.
        root = _docs_root(kind) if not (kind == "gx" and who.limited) else None
        target = (root / (path or "index.html")).resolve() if root else None
        if not target or not target.is_file() or not target.is_relative_to(root.resolve()):
            return HTMLResponse("Dokumen tidak ditemukan. Jalankan `sinergi docs` lalu muat ulang.", status_code=404)
        return FileResponse(target)

    return app


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _docs_root(kind: str) -> Path | None:
    roots = {"gx": settings.gx_data_docs_dir(), "dbt": settings.dbt_docs_dir()}
    root = roots.get(kind)
    return root if root and (root / "index.html").exists() else None


def _gx_docs(who: users.User) -> str:
    """The Data Docs link on "Kualitas data": `ada`, `belum` (not built yet) or `wilayah` (a regional user:
    the docs show batches of every province)."""
    if who.limited:
        return "wilayah"
    return "ada" if _docs_root("gx") else "belum"


def _cards(trend: list[dict], bulan: str | None, months: list[str]) -> list[dict]:
    """Each metric for the month with its change from the previous month loaded."""
    by = {(r["bulan"], r["metric"]): r for r in trend}
    before = months[months.index(bulan) - 1] if bulan in months and months.index(bulan) > 0 else None
    cards = []
    for metric, name in metrics.NAMES.items():
        now = by.get((bulan, metric))
        if not now:
            continue
        prev = by.get((before, metric)) if before else None
        count = now["denominator"] is None
        change = None
        if prev:
            change = float(now["numerator"]) - float(prev["numerator"]) if count else float(now["value"]) - float(prev["value"])
        cards.append({"metric": metric, "name": name, "row": now, "shown": metrics.shown({**now, "metric": metric}),
                      "change": change, "count": count})
    return cards


def _pivot(rows: list[dict]) -> list[dict]:
    table: dict[str, dict] = {}
    for r in rows:
        entry = table.setdefault(r["region"], {"region": r["region"], "region_name": r["region_name"]})
        entry[r["metric"]] = r
    return list(table.values())


def _on_time(delivery: dict, bulan: str | None) -> bool | None:
    """Has the sender delivered the chosen month (its last day, for the ministry's daily files)?"""
    if not bulan or not delivery["period"]:
        return None
    year, month = int(bulan[:4]), int(bulan[5:7])
    due = f"{year:04d}{month:02d}" + (f"{calendar.monthrange(year, month)[1]:02d}" if len(delivery["period"]) == 8 else "")
    return delivery["period"] >= due
