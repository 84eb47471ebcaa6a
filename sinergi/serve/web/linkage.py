"""The linkage pages of the dashboard (issue 17): the auditors' review queue of candidate person links
("Tinjauan tautan", `/tautan`) and the monthly linkage quality report ("Mutu tautan", `/mutu-tautan`).

An auditor accepts (`terima`) or rejects (`tolak`) the candidate of an entry; the decision is stored in
`audit.link_decision` as the auditor's own database role (only sinergi_auditor may insert there), written
to the access log, and wins over the linkage model in the next warehouse build. Other roles are refused
the page and the form (HTTP 403); the queue's rows are the auditors' only by row-level security as well.
"""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from sinergi.core import labels

from . import linkage_queries as q
from . import sessions as sessions_mod
from . import users
from .security import BAD_REQUEST, same_origin

DECISION = "keputusan_tautan"  # access-log event
SHOWN_ROWS = 500
FEEDS, KINDS, DECISIONS = labels.LINK_FEEDS, labels.REVIEW_KINDS, labels.REVIEW_DECISIONS  # labels: sinergi/core/labels.py
STATUS = {"tertaut": "tertaut", "ragu": "ragu-ragu", "konflik": "konflik", "tidak_ditemukan": "tidak ditemukan"}
AUDITORS_ONLY = "Halaman ini hanya untuk auditor."
NOT_IN_QUEUE = ("Entri ini tidak ada dalam antrean tinjauan (mungkin sudah berubah setelah pembangunan gudang data "
                "terakhir). Muat ulang halaman lalu coba lagi.")
MAX_NOTE = 1000


def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


def register(app: FastAPI, *, db, sessions, config, templates, user, page, common, session_token, client,
             path_and_query, csrf_error: str) -> None:
    """Add the linkage pages to the dashboard (helpers from `app.create_app`)."""
    templates.env.globals.update(link_status=STATUS)  # the other linkage labels: labels.register (app.py)

    def refused(request: Request, who: users.User) -> HTMLResponse:
        return page(request, "tautan_ditolak.html", who, message=AUDITORS_ONLY, status_code=403)

    @app.get("/tautan", response_class=HTMLResponse)
    def review(request: Request, jenis: str | None = None, umpan: str | None = None, disimpan: str | None = None,
               who: users.User = Depends(user)):
        if not who.is_auditor:
            return refused(request, who)
        filters = {"jenis": _choice(jenis, KINDS), "umpan": _choice(umpan, FEEDS)}
        rows = db.rows(who.role, q.REVIEW, {**filters, "limit": SHOWN_ROWS})
        if rows:
            sessions.log(sessions_mod.NAMES_SHOWN, client(request), who, path=path_and_query(request), rows=len(rows))
        return page(request, "tautan.html", who, rows=rows, filters=filters, counts=db.rows(who.role, q.REVIEW_COUNTS),
                    saved=_choice(disimpan, DECISIONS), shown=SHOWN_ROWS)

    @app.post("/tautan/keputusan")
    def decide(request: Request, record_feed: str = Form(""), record_key: str = Form(""), kpj: str = Form(""),
               keputusan: str = Form(""), catatan: str = Form(""), jenis: str = Form(""), umpan: str = Form(""),
               csrf: str = Form(""), who: users.User = Depends(user)):
        fields = (record_feed, record_key, kpj, keputusan, catatan, jenis, umpan, csrf)
        if any("\x00" in v for v in fields) or max(map(len, fields)) > MAX_NOTE:
            return PlainTextResponse(BAD_REQUEST, status_code=400)
        if not same_origin(request.headers) or not config.csrf_valid(session_token(request), csrf):
            sessions.log(sessions_mod.CSRF_REFUSED, client(request), who, path="/tautan/keputusan")
            return HTMLResponse(csrf_error, status_code=403)
        if not who.is_auditor:
            return refused(request, who)
        if keputusan not in DECISIONS or record_feed not in FEEDS or not record_key or not kpj:
            return page(request, "tautan_ditolak.html", who, status_code=400,
                        message="Keputusan tidak sah: pilih Terima atau Tolak pada salah satu entri antrean.")
        entry = {"record_feed": record_feed, "record_key": record_key, "kpj": kpj}
        found = db.rows(who.role, q.REVIEW_ENTRY, entry)
        if not found:
            return page(request, "tautan_ditolak.html", who, message=NOT_IN_QUEUE, status_code=404)
        saved = db.rows(who.role, q.DECIDE, {**entry, "decision": keputusan, "note": catatan.strip() or None,
                                             "decided_by": who.username, "review_kind": found[0]["review_kind"]})
        sessions.log(DECISION, client(request), who, path="/tautan/keputusan", rows=1,
                     detail=f"{keputusan} #{saved[0]['decision_id']} {record_feed} {record_key} -> {kpj}")
        back = {k: v for k, v in (("jenis", _choice(jenis, KINDS)), ("umpan", _choice(umpan, FEEDS))) if v}
        return RedirectResponse("/tautan?" + urlencode({**back, "disimpan": keputusan}), status_code=303)

    @app.get("/mutu-tautan", response_class=HTMLResponse)
    def quality(request: Request, bulan: str | None = None, provinsi: str | None = None,
                who: users.User = Depends(user)):
        ctx = common(who, bulan)
        chosen = who.province or (provinsi.strip() if provinsi and provinsi.strip() else None)
        rows = db.rows(who.role, q.QUALITY, {"bulan": ctx["bulan"], "provinsi": chosen})
        bias = db.rows(who.role, q.BIAS, {"bulan": ctx["bulan"], "cakupan": chosen or "ID"})
        return page(request, "mutu_tautan.html", who, national=[r for r in rows if r["province_code"] == "ID"],
                    detail=[r for r in rows if r["province_code"] != "ID"], bias=bias, provinsi=chosen,
                    filters={"provinsi": chosen}, **ctx)
