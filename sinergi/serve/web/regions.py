"""The map ("Peta", `/peta`) and the region profile (`/wilayah/{kode}`) of the dashboard (issue 20).

The map colours each province, or each regency/city of one province, by the chosen metric (a tile-grid map,
tiles.py); each tile links to the region's page. What it shows is what the user's role reads: a province's
user gets the regencies/cities of their province, a branch office's user the regencies/cities of its service
area (row-level security; asking for another province changes nothing). The region page shows every metric
of the catalogue for the month, the trend over the months loaded, and links to the worklist
(`/tindak-lanjut?wilayah=KODE`) and to the regencies/cities of a province.
"""
from __future__ import annotations

import re

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from sinergi.warehouse import metrics

from . import charts, queries, tiles, users

REGION_CODE = re.compile(r"^(ID|[0-9]{2}|[0-9]{2}\.[0-9]{2})$")

# Every region of a level (or of one province, or all the regencies/cities the role reads) with the
# chosen metric's figure for the month, if any.
MAP = """
select r.region_code as region, r.region_name, m.numerator, m.denominator, m.value
from marts.dim_region as r
left join marts.fct_metrics as m on m.region = r.region_code and m.as_of = to_date(%(bulan)s, 'YYYY-MM')
    and m.breakdown = '' and m.metric = %(metrik)s
where case when %(provinces)s then r.level = 'provinsi'
           else r.level = 'kabupaten_kota' and (%(provinsi)s::text is null or r.province_code = %(provinsi)s) end
order by r.region_code
"""

REGION = """
select region_code, region_name, level, province_code, province_name from marts.dim_region
where region_code = %(kode)s
"""

CHILDREN = """
select region_code, region_name from marts.dim_region
where province_code = %(kode)s and level = 'kabupaten_kota' order by region_code
"""

# A branch office's figures: the sum over the regencies/cities its role reads (its service area), per month
# and metric; the share is recomputed from the sums.
AREA_TREND = """
select to_char(as_of, 'YYYY-MM') as bulan, metric, sum(numerator) as numerator, sum(denominator) as denominator,
    case when count(denominator) = 0 then sum(numerator)
         else sum(numerator) / nullif(sum(denominator), 0) end as value
from marts.fct_metrics
where breakdown = '' and region like '__.__'
group by as_of, metric
order by as_of, metric
"""

AREA_BREAKDOWNS = """
select metric, breakdown, sum(numerator) as numerator, sum(denominator) as denominator,
    case when count(denominator) = 0 then sum(numerator)
         else sum(numerator) / nullif(sum(denominator), 0) end as value
from marts.fct_metrics
where region like '__.__' and as_of = to_date(%(bulan)s, 'YYYY-MM') and breakdown <> ''
group by metric, breakdown
order by metric, breakdown
"""

NOT_FOUND = ("Wilayah {kode} tidak ditemukan, atau tidak termasuk wilayah yang boleh Anda lihat. Pakai kode "
             "Kemendagri: 35 untuk provinsi, 35.78 untuk kabupaten/kota.")


def figure(row: dict, metric: str) -> float | None:
    """The number a map colours by: the share for a share metric, the count or amount otherwise."""
    if row.get("numerator") is None:
        return None
    return float(row["value"]) if metric in metrics.SHARES else float(row["numerator"])


def area_rows(db, who: users.User, bulan: str | None) -> tuple[list[dict], list[dict]]:
    """(trend, breakdowns) of a branch user's service area, summed over its regencies/cities."""
    return db.rows(who.role, AREA_TREND), db.rows(who.role, AREA_BREAKDOWNS, {"bulan": bulan})


def register(app: FastAPI, *, db, user, page, common, cards) -> None:
    """Add the map and the region pages to the dashboard (helpers from `app.create_app`)."""

    @app.get("/peta", response_class=HTMLResponse)
    def region_map(request: Request, bulan: str | None = None, provinsi: str | None = None, metrik: str = "K1",
                   who: users.User = Depends(user)):
        ctx = common(who, bulan)
        metrik = metrik if metrik in metrics.NAMES else "K1"
        chosen = (provinsi or "").strip() or None
        chosen = chosen if chosen and re.fullmatch(r"[0-9]{2}", chosen) else None
        # A province's user sees their province; a branch office's its regencies/cities, wherever they lie.
        chosen = who.province or (None if who.branch else chosen)
        provinces = not chosen and not who.branch
        rows = db.rows(who.role, MAP, {"bulan": ctx["bulan"], "metrik": metrik, "provinsi": chosen,
                                       "provinces": provinces})
        percent = metrik in metrics.SHARES
        for r in rows:
            r["figure"] = figure(r, metrik)
        shown = [{"region": r["region"], "region_name": r["region_name"], "value": r["figure"]} for r in rows]
        laid = tiles.province_tiles(shown) if provinces else tiles.grid_tiles(shown)
        title = f"{metrik} · {metrics.NAMES[metrik]}"
        svg = tiles.svg(laid, lambda code: f"/wilayah/{code}?bulan={ctx['bulan'] or ''}", percent, title,
                        size=(64, 52) if provinces else (120, 52), label_chars=0 if provinces else 16)
        limits = tiles.breaks([t.value for t in laid if t.value is not None])
        return page(request, "peta.html", who, svg=svg, legend=tiles.legend(limits, percent), rows=rows,
                    metrik=metrik, provinsi=chosen, level="provinsi" if provinces else "kabupaten_kota",
                    percent=percent, **ctx)

    @app.get("/wilayah/{kode}", response_class=HTMLResponse)
    def region_page(request: Request, kode: str, bulan: str | None = None, who: users.User = Depends(user)):
        ctx = common(who, bulan)
        found = db.rows(who.role, REGION, {"kode": kode}) if REGION_CODE.match(kode) else []
        if not found:
            return page(request, "wilayah_profil.html", who, region=None, message=NOT_FOUND.format(kode=kode[:20]),
                        status_code=404, **ctx)
        trend = db.rows(who.role, queries.REGION_TREND, {"region": kode})
        months = ctx["months"]
        series = {f"{m} · {metrics.NAMES[m]}": [None] * len(months) for m in metrics.SHARES}
        history: dict[str, dict[str, dict]] = {}
        for r in trend:
            history.setdefault(r["metric"], {})[r["bulan"]] = r
            name = f"{r['metric']} · {metrics.NAMES.get(r['metric'], '')}"
            if name in series and r["bulan"] in months:
                series[name][months.index(r["bulan"])] = float(r["value"])
        series = {k: v for k, v in series.items() if any(x is not None for x in v)}
        chart = charts.trend(months, series, "Tren rasio cakupan") if months and series else ""
        region = found[0]
        children = db.rows(who.role, CHILDREN, {"kode": kode}) if region["level"] == "provinsi" else []
        return page(request, "wilayah_profil.html", who, region=region, cards=cards(trend, ctx["bulan"], months),
                    chart=chart, history=history, children=children, definitions=metrics.DEFINITIONS, **ctx)

