"""The targets page of the dashboard ("Target", `/target`; issue 20): each target in force that the user's
role reads (per branch office or region, metric and year), the latest figure, the projection to December with
its 95% interval, and who is behind; analysts and auditors upload a CSV of targets (`/target/impor`,
CSRF-protected, all rows or none). Storage, checks and the projection: sinergi/warehouse/targets.py.
"""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from psycopg import sql

from sinergi.warehouse import targets

from . import sessions as sessions_mod
from . import users
from .security import BAD_REQUEST, same_origin

IMPORTED = "impor_target"  # access-log event
MAX_BYTES = 1_000_000
NOT_ALLOWED = "Hanya analis nasional dan auditor yang dapat mengunggah target."


def register(app: FastAPI, *, db, sessions, config, user, page, common, session_token, client,
             csrf_error: str) -> None:
    """Add the targets page and its upload to the dashboard (helpers from `app.create_app`)."""

    def may_set(who: users.User) -> bool:
        return not who.limited

    def show(request: Request, who: users.User, tahun: str | None, problems: list[str] | None = None,
             saved: int | None = None, status_code: int = 200):
        ctx = common(who, None)
        years = sorted({int(m[:4]) for m in ctx["months"]}, reverse=True)
        year = int(tahun) if tahun and tahun.isdigit() and int(tahun) in years else (years[0] if years else None)
        with db.pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("set local role {}").format(sql.Identifier(who.role)))
            conn.execute("set local statement_timeout = '10s'")
            rows = targets.progress(conn, year) if year else []
        return page(request, "target.html", who, rows=rows, years=years, year=year, problems=problems,
                    saved=saved, may_set=may_set(who), columns=", ".join(targets.COLUMNS),
                    status_code=status_code, **ctx)

    @app.get("/target", response_class=HTMLResponse)
    def target_page(request: Request, tahun: str | None = None, disimpan: str | None = None,
                    who: users.User = Depends(user)):
        return show(request, who, tahun, saved=int(disimpan) if disimpan and disimpan.isdigit() else None)

    @app.post("/target/impor")
    def target_import(request: Request, berkas: UploadFile = File(...), csrf: str = Form(""),
                      who: users.User = Depends(user)):
        if "\x00" in csrf or len(csrf) > 200:
            return PlainTextResponse(BAD_REQUEST, status_code=400)
        if not same_origin(request.headers) or not config.csrf_valid(session_token(request), csrf):
            sessions.log(sessions_mod.CSRF_REFUSED, client(request), who, path="/target/impor")
            return HTMLResponse(csrf_error, status_code=403)
        if not may_set(who):
            return show(request, who, None, problems=[NOT_ALLOWED], status_code=403)
        data = berkas.file.read(MAX_BYTES + 1)
        try:
            if len(data) > MAX_BYTES:
                raise targets.TargetRefused([f"berkas lebih dari {MAX_BYTES // 1_000_000} MB"])
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise targets.TargetRefused(["berkas bukan teks UTF-8 (simpan sebagai CSV UTF-8)"]) from None
            name = (berkas.filename or "berkas.csv")[:100]
            with db.pool.connection() as conn, conn.transaction():
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(who.role)))
                known = targets.known(conn)
                saved = targets.store(conn, targets.parse_csv(text, known), who.username, f"dasbor:{name}",
                                      known.branches)
        except targets.TargetRefused as refused:
            return show(request, who, None, problems=refused.problems, status_code=400)
        sessions.log(IMPORTED, client(request), who, path="/target/impor", rows=saved, detail=name)
        return RedirectResponse("/target?" + urlencode({"disimpan": saved}), status_code=303)
