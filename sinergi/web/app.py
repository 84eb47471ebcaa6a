"""`sinergi serve`: the dashboard. Every page reads the marts as the signed-in user's database role."""
from __future__ import annotations

import calendar
import contextlib
import os
import re
import secrets
from pathlib import Path

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from .. import fmt, metrics, settings
from . import charts, export, queries, users
from .db import Database

HERE = Path(__file__).parent
SHOWN_ROWS = 500  # rows on screen; the downloads carry all of them
REASONS = {"tidak_ada": "Tidak mencantumkan rekomendasi",
           "tidak_dikenal": "Nomor rekomendasi tidak dikenal",
           "koperasi_lain": "Rekomendasi untuk koperasi lain",
           "tidak_berlaku": "Rekomendasi tidak berlaku pada tanggal keputusan"}
STATUS = {"loaded": "dimuat", "duplicate": "duplikat", "superseded": "diganti", "rejected": "ditolak",
          "held": "ditahan"}
QUALITY = {"passed": "lolos", "warning": "peringatan", "failed": "gagal", "pending": "belum diperiksa",
           "none": "tanpa suite"}
# When a sender's next file is due: the ministry daily, branches and banks monthly.
CADENCE = {"kemenkop": "harian", "bpjstk": "bulanan", "himbara": "bulanan"}


class LoginRequired(Exception):
    pass


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _province(value: str | None, who: users.User) -> str | None:
    """The province filter; a regional user's own by default. Asking for another is not refused here:
    row-level security answers it with no rows."""
    return _blank(value) or who.province


def _month(value: str | None) -> str | None:
    return value if value and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value) else None


def create_app(url: str | None = None, secret: str | None = None) -> FastAPI:
    url = url or settings.warehouse_url()
    db = Database(url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        db.close()

    app = FastAPI(title="Sinergi", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.add_middleware(SessionMiddleware, secret_key=secret or os.environ.get("SINERGI_WEB_SECRET")
                       or secrets.token_hex(32), same_site="strict", max_age=8 * 3600)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(angka=fmt.angka, rupiah=lambda v: fmt.rupiah(float(v)), persen=fmt.persen,
                                 bulan=fmt.bulan, tanggal=fmt.tanggal)
    templates.env.globals.update(metric_names=metrics.NAMES, reasons=REASONS, status_names=STATUS,
                                 quality_names=QUALITY)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/masuk?lanjut={request.url.path}", status_code=303)

    def user(request: Request) -> users.User:
        data = request.session.get("user")
        if not data:
            raise LoginRequired()
        return users.User(data["username"], data["role"])

    def page(request: Request, name: str, who: users.User, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"user": who, "path": request.url.path, **context})

    def common(who: users.User, bulan: str | None) -> dict:
        months = [r["bulan"] for r in db.rows(who.role, queries.MONTHS)]
        chosen = _month(bulan) if _month(bulan) in months else (months[-1] if months else None)
        provinces = db.rows(who.role, queries.PROVINCES)
        return {"months": months, "bulan": chosen, "provinces": provinces}

    def download(rows: list[dict], columns: list[str], name: str, kind: str) -> Response:
        if kind == "xlsx":
            return Response(export.to_xlsx(rows, columns, name), headers={
                "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(export.to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    @app.get("/masuk", response_class=HTMLResponse)
    def login_form(request: Request, lanjut: str = "/"):
        return templates.TemplateResponse(request, "masuk.html", {"lanjut": lanjut, "error": None, "user": None})

    @app.post("/masuk")
    def login(request: Request, username: str = Form(...), password: str = Form(...), lanjut: str = Form("/")):
        who = users.authenticate(url, username, password)
        if not who:
            return templates.TemplateResponse(request, "masuk.html", status_code=401, context={
                "lanjut": lanjut, "user": None, "error": "Nama pengguna atau kata sandi salah."})
        request.session["user"] = {"username": who.username, "role": who.role}
        target = lanjut if lanjut.startswith("/") and not lanjut.startswith("//") else "/"
        return RedirectResponse(target, status_code=303)

    @app.post("/keluar")
    def logout(request: Request):
        request.session.clear()
        return RedirectResponse("/masuk", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def summary(request: Request, bulan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        region = who.province or "ID"
        trend = db.rows(who.role, queries.REGION_TREND, {"region": region})
        cards = _cards(trend, ctx["bulan"], ctx["months"])
        ratios = {m: [None] * len(ctx["months"]) for m in metrics.NAMES if m not in metrics.COUNTS | {"K9_rupiah"}}
        for r in trend:
            if r["metric"] in ratios:
                ratios[r["metric"]][ctx["months"].index(r["bulan"])] = float(r["value"])
        chart = charts.trend(ctx["months"], ratios, "Tren rasio cakupan") if ctx["months"] else ""
        breakdowns = db.rows(who.role, queries.BREAKDOWNS, {"region": region, "bulan": ctx["bulan"]})
        return page(request, "ringkasan.html", who, cards=cards, chart=chart, breakdowns=breakdowns,
                    region=region, **ctx)

    @app.get("/wilayah", response_class=HTMLResponse)
    def regions(request: Request, bulan: str | None = None, provinsi: str | None = None, metrik: str = "K1",
                who: users.User = Depends(user)):
        ctx = common(who, bulan)
        provinsi = who.province or _blank(provinsi)
        metrik = metrik if metrik in metrics.NAMES else "K1"
        rows = db.rows(who.role, queries.REGIONS, {"bulan": ctx["bulan"], "provinsi": provinsi})
        table = _pivot(rows)
        key = (lambda t: float(t[metrik]["numerator"])) if metrik in metrics.COUNTS | {"K9_rupiah"} else \
            (lambda t: float(t[metrik]["value"]))
        ranked = sorted((t for t in table if metrik in t), key=key, reverse=True)
        chart = charts.ranking([t["region_name"] for t in ranked], [key(t) for t in ranked],
                               metrics.NAMES[metrik], percent=metrik not in metrics.COUNTS | {"K9_rupiah"}) \
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
            return download(rows, ["nik_koperasi", "nama_koperasi", "jenis_koperasi", "regency_code", "wilayah",
                                   "npp", "link_rule"], f"koperasi_belum_terlindungi_{ctx['bulan']}", format)
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
            return download(rows, columns, f"debitur_kur_belum_terdaftar_{ctx['bulan']}", format)
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
            return download(rows, ["no_keputusan", "nik_koperasi", "jenis_layanan", "tgl_keputusan",
                                   "no_rekomendasi_bpjstk", "alasan", "regency_code", "wilayah"],
                            f"perizinan_tanpa_rekomendasi_sah_{ctx['bulan']}", format)
        return page(request, "perizinan.html", who, rows=rows, total=total, filters=params, **ctx)

    @app.get("/kualitas", response_class=HTMLResponse)
    def quality(request: Request, bulan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        params = {"bulan": ctx["bulan"]}
        deliveries = [{**d, "tepat_waktu": _on_time(d, ctx["bulan"])} for d in db.rows(who.role, queries.LAST_DELIVERIES)]
        return page(request, "kualitas.html", who, deliveries=deliveries,
                    quarantine=db.rows(who.role, queries.QUARANTINE_BY_REASON, params),
                    expectations=db.rows(who.role, queries.EXPECTATIONS, params),
                    problems=db.rows(who.role, queries.PROBLEM_FILES, params),
                    gx_docs=_docs_root("gx") is not None, dbt_docs=_docs_root("dbt") is not None,
                    cadence=CADENCE, **ctx)

    @app.get("/dokumen/{kind}/{path:path}")
    def documents(kind: str, path: str = "", who: users.User = Depends(user)):
        root = _docs_root(kind)
        target = (root / (path or "index.html")).resolve() if root else None
        if not target or not target.is_file() or not target.is_relative_to(root.resolve()):
            return HTMLResponse("Dokumen tidak ditemukan. Jalankan `sinergi docs` lalu muat ulang.", status_code=404)
        return FileResponse(target)

    return app


def _docs_root(kind: str) -> Path | None:
    roots = {"gx": settings.gx_dir() / "uncommitted" / "data_docs" / "local_site", "dbt": settings.dbt_docs_dir()}
    root = roots.get(kind)
    return root if root and (root / "index.html").exists() else None


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
