"""The worklist page of the dashboard (issue 20): "Daftar tindak lanjut" (`/tindak-lanjut`) for a BPJS branch's
service area or a region, its downloads (XLSX to print, CSV per section, PDF), saving it as a follow-up
campaign (`POST /tindak-lanjut/kampanye`, CSRF-protected, written as the user's own database role) and each
campaign's conversion in the months after.

Everything is read as the signed-in user's role (row-level security: a regional user gets their province's
rows only); persons' names appear for the auditor only, and such a page is written to the access log, as is
every download and every campaign saved.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from sinergi.core import labels, settings
from sinergi.serve import campaigns
from sinergi.serve import worklist as wl

from . import sessions as sessions_mod
from . import users
from .security import BAD_REQUEST, same_origin

CAMPAIGN_SAVED = "kampanye_disimpan"  # access-log event
SHOWN_ROWS = 200  # rows per section on screen; the downloads carry all of them
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def register(app: FastAPI, *, db, sessions, templates, user, page, common, config, session_token, client,
             path_and_query, csrf_error: str, events: dict) -> None:
    """Add the worklist pages to the dashboard (helpers from `app.create_app`)."""
    events[CAMPAIGN_SAVED] = "kampanye tindak lanjut disimpan"
    templates.env.globals.update(worklist_sections=labels.WORKLIST_SECTIONS, campaign_scopes=labels.CAMPAIGN_SCOPES)

    def runner(who: users.User):
        return lambda query, params: db.rows(who.role, query, params)

    def scope_of(who: users.User, cabang: str | None, wilayah: str | None, bulan: str | None):
        """(scope, error): the resolved scope, or the message saying why not (None, None: nothing chosen)."""
        if not (cabang or "").strip() and not (wilayah or "").strip():
            return None, None
        try:
            return wl.resolve(runner(who), wl.parse(cabang, wilayah), bulan), None
        except wl.BadScope as exc:
            return None, str(exc)

    @app.get("/tindak-lanjut")
    def worklist_page(request: Request, bulan: str | None = None, cabang: str | None = None,
                      wilayah: str | None = None, format: str | None = None, bagian: str | None = None,
                      disimpan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        run = runner(who)
        scope, error = scope_of(who, cabang, wilayah, ctx["bulan"])
        if format and scope and ctx["bulan"]:
            return download(request, who, wl.fetch(run, scope, ctx["bulan"], names=who.sees_names), format, bagian)
        found = wl.fetch(run, scope, ctx["bulan"], names=who.sees_names) if scope and ctx["bulan"] else None
        if found and who.sees_names and (found.sections["pengurus"] or found.sections["kur"]):
            sessions.log(sessions_mod.NAMES_SHOWN, client(request), who, path=path_and_query(request),
                         rows=len(found.sections["pengurus"]) + len(found.sections["kur"]))
        branches = run(wl.BRANCHES, {})
        regencies = run(wl.REGENCIES, {"provinsi": who.province})
        followed = campaigns.conversion(run)
        saved = int(disimpan) if disimpan and disimpan.isdigit() else None
        return page(request, "tindak_lanjut.html", who, w=found, error=error, branches=branches,
                    regencies=regencies, chosen={"cabang": (cabang or "").strip(), "wilayah": (wilayah or "").strip()},
                    shown=SHOWN_ROWS, display=wl.display, rank_rule=wl.RANK_RULE, followed=followed, saved=saved,
                    today=date.today().isoformat(), query=urlencode({k: v for k, v in (
                        ("bulan", ctx["bulan"]), ("cabang", (cabang or "").strip()),
                        ("wilayah", (wilayah or "").strip())) if v}), **ctx)

    def download(request: Request, who: users.User, found: wl.Worklist, kind: str, section: str | None) -> Response:
        if kind not in MEDIA or (kind == "csv" and section not in wl.SECTIONS):
            return PlainTextResponse("Format unduhan tidak dikenal: pilih xlsx, pdf, atau csv dengan bagian=koperasi, "
                                     "pengurus, kur atau perizinan.", status_code=400)
        stem = wl.file_stem(found)
        if kind == "csv":
            body, name, rows = wl.to_csv(found, section), f"{stem}_{section}.csv", len(found.sections[section])
        else:
            body = wl.to_xlsx(found) if kind == "xlsx" else wl.to_pdf(found)
            name, rows = f"{stem}.{kind}", sum(len(r) for r in found.sections.values())
        sessions.log(sessions_mod.DOWNLOAD, client(request), who, path=path_and_query(request), rows=rows, detail=name)
        return Response(body, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/tindak-lanjut/kampanye")
    def save_campaign(request: Request, bulan: str = Form(""), cabang: str = Form(""), wilayah: str = Form(""),
                      tanggal: str = Form(""), catatan: str = Form(""), csrf: str = Form(""),
                      who: users.User = Depends(user)):
        fields = (bulan, cabang, wilayah, tanggal, catatan, csrf)
        if any("\x00" in v for v in fields) or max(map(len, fields)) > campaigns.MAX_NOTE:
            return PlainTextResponse(BAD_REQUEST, status_code=400)
        if not same_origin(request.headers) or not config.csrf_valid(session_token(request), csrf):
            sessions.log(sessions_mod.CSRF_REFUSED, client(request), who, path="/tindak-lanjut/kampanye")
            return HTMLResponse(csrf_error, status_code=403)
        try:
            day = date.fromisoformat(tanggal) if tanggal else date.today()
        except ValueError:
            day = None
        if not settings.is_month(bulan) or day is None:
            return PlainTextResponse("Bulan (YYYY-MM) atau tanggal kampanye (YYYY-MM-DD) tidak sah.", status_code=400)
        run = runner(who)
        try:
            scope = wl.resolve(run, wl.parse(cabang, wilayah), bulan)
        except wl.BadScope as exc:
            return PlainTextResponse(str(exc), status_code=400)
        saved = campaigns.save(run, scope, bulan, catatan, who.username, day)
        sessions.log(CAMPAIGN_SAVED, client(request), who, path="/tindak-lanjut/kampanye", rows=saved["entities"],
                     detail=f"#{saved['campaign_id']} {scope.kind} {scope.code} {bulan}")
        back = {k: v for k, v in (("bulan", bulan), ("cabang", cabang.strip()), ("wilayah", wilayah.strip())) if v}
        return RedirectResponse("/tindak-lanjut?" + urlencode({**back, "disimpan": saved["campaign_id"]}),
                                status_code=303)
