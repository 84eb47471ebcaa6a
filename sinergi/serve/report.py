"""`sinergi report`: the auditors' compliance report for one month, as HTML and PDF, with its evidence.

Everything is read as one database role (the auditor by default), so the report shows exactly what that
role may see: cooperatives' names for every role, persons' names beside their tokens only where the role
reads the vault's name view. Codes read as their labels (sinergi/core/labels.py). The HTML holds no
clock time, so the same warehouse gives the same report byte for byte.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg.rows import dict_row

from sinergi.core import fmt, labels
from sinergi.serve import report_linkage, spreadsheet
from sinergi.warehouse import metrics, roles

TEMPLATES = Path(__file__).parent / "report_templates"
SHOWN_ENTITIES = 25  # per metric in the document; the CSV beside it lists them all
FAILING = metrics.SHARES

FIGURES = """
select m.metric, m.region, r.region_name, m.numerator, m.denominator, m.value
from marts.fct_metrics as m join marts.dim_region as r on r.region_code = m.region
where m.as_of = to_date(%(bulan)s, 'YYYY-MM') and m.breakdown = ''
  and (r.level in ('nasional', 'provinsi')
       -- a branch office's role reads no province's total: the regencies/cities of its service area
       or (r.level = 'kabupaten_kota' and not exists (select 1 from marts.dim_region as p where p.level <> 'kabupaten_kota')))
order by m.metric, m.region = 'ID' desc, m.region
"""
PREVIOUS = """
select metric, region, value, numerator from marts.fct_metrics
where as_of = (to_date(%(bulan)s, 'YYYY-MM') - interval '1 month')::date and breakdown = ''
"""
# The entities failing each ratio metric, with the name a reader knows them by. A cooperative's name (K1 and
# Q1: the cooperative; K3: the one the licence decision is for) is in the marts and every role reads it, as
# on the dashboard's cooperative list. A person's (K2 officers, K4/K5 borrowers, K6 UMKM owners, K7
# participants) is in the vault, behind the person's token: only for a role that reads vault.person_names.
COOPERATIVE_METRICS = {"K1", "Q1", "K3"}
ENTITIES = """
with failing as (
    select e.as_of, e.metric, e.entity, e.regency_code
    from marts.fct_metric_entities as e
    where e.as_of = to_date(%(bulan)s, 'YYYY-MM') and e.dimension = '' and not e.in_numerator
      and e.metric = any(%(metrics)s)
),

cooperatives as (
    select f.metric, f.entity, case when f.metric = 'K3' then l.nik_koperasi else f.entity end as nik_koperasi,
        l.alasan
    from failing as f
    left join marts.fct_licensing_compliance as l on f.metric = 'K3' and l.no_keputusan = f.entity
    where f.metric = any(%(cooperative_metrics)s)
){people}

select f.metric, f.entity, f.regency_code, coalesce(m.nama_koperasi, c.nama_koperasi) as nama_koperasi,
    k.alasan{person_name}
from failing as f
left join cooperatives as k on k.metric = f.metric and k.entity = f.entity
left join marts.fct_cooperative_coverage as m on m.as_of = f.as_of and m.nik_koperasi = k.nik_koperasi
left join marts.dim_cooperative as c on c.nik_koperasi = k.nik_koperasi{people_join}
order by f.metric, f.regency_code, f.entity
"""
# For a role that reads names: the person behind each failing entity of the person metrics, and their name.
PEOPLE = """,

people as (
    select f.metric, f.entity, f.entity as person_id from failing as f where f.metric = 'K2'
    union all
    select f.metric, f.entity, k.person_id from failing as f
    join marts.fct_kur_coverage as k on k.id_fasilitas = f.entity where f.metric in ('K4', 'K5')
    union all
    select f.metric, f.entity, u.person_id from failing as f
    join marts.fct_umkm_coverage as u on u.as_of = f.as_of and u.nib = f.entity where f.metric = 'K6'
    union all
    select f.metric, f.entity, p.person_id from failing as f
    join marts.fct_contribution_compliance as p on p.as_of = f.as_of and p.kpj = f.entity where f.metric = 'K7'
)"""
PEOPLE_NAME = ", n.nama"
PEOPLE_JOIN = """
left join people as p on p.metric = f.metric and p.entity = f.entity
left join vault.person_names as n on n.nik_token = p.person_id"""
FILES = """
with lineage as (
    select load_ids from published.fct_metric_lineage_published
    where as_of = to_date(%(bulan)s, 'YYYY-MM') order by published_at desc limit 1
)
select d.load_id, d.sender, d.unit, d.feed, d.source_file, d.sha256, d.status, d.quality,
    d.rows_read, d.rows_loaded, d.rows_quarantined
from marts.fct_deliveries as d, lineage as l
where d.load_id = any(l.load_ids)
order by d.sender, d.unit, d.feed, d.source_file
"""
QUARANTINE = """
select d.source_file, q.reason, q.rows_quarantined
from marts.fct_quarantine_reasons as q join marts.fct_deliveries as d on d.load_id = q.load_id
where q.as_of = to_date(%(bulan)s, 'YYYY-MM')
order by d.source_file, q.reason
"""
SET_ASIDE = """
select source_file, sha256, status, reason from marts.fct_deliveries
where as_of = to_date(%(bulan)s, 'YYYY-MM') and status in ('rejected', 'held', 'duplicate', 'superseded')
order by source_file
"""
EXPECTATIONS = """
select d.feed, e.expectation, e.critical, count(*) as batches, count(*) filter (where not e.success) as failed
from marts.fct_expectation_results as e join marts.fct_deliveries as d on d.load_id = e.load_id
where d.as_of = to_date(%(bulan)s, 'YYYY-MM')
group by d.feed, e.expectation, e.critical
order by d.feed, e.critical desc, e.expectation
"""
BUILDS = """
select build_id, code_version, min(published_at) as published_at
from published.fct_metrics_published
where as_of = to_date(%(bulan)s, 'YYYY-MM')
group by build_id, code_version
order by min(published_at)
"""
REVISIONS = """
select metric, region, breakdown, published_build_id, published_numerator, published_denominator,
    published_value, numerator, denominator, value, files_since_publication
from published.fct_metric_revisions
where as_of = to_date(%(bulan)s, 'YYYY-MM') and is_revised
order by metric, region, breakdown
"""


@dataclass
class Report:
    html: Path
    pdf: Path
    entity_files: list[Path]


def _reader(conn):
    def rows(query: str, **params) -> list[dict]:
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, params).fetchall()
    return rows


def gather(url: str, bulan: str, role: str = roles.AUDITOR) -> dict:
    """Everything the report shows, read as `role`."""
    with roles.connect(url, role) as conn:
        rows = _reader(conn)
        names = _can_read(conn, "vault", "person_names")
        evidence = _can_read(conn, "published", "fct_metrics_published")
        figures = rows(FIGURES, bulan=bulan)
        if not figures:
            raise LookupError(f"Tidak ada metrik untuk {bulan}. Bulan yang ada: {', '.join(metrics.months(url)) or 'belum ada'}.")
        previous = {(r["metric"], r["region"]): r for r in rows(PREVIOUS, bulan=bulan)}
        entities = rows(_entities_query(names), bulan=bulan, metrics=FAILING,
                        cooperative_metrics=sorted(COOPERATIVE_METRICS))
        return {
            "bulan": bulan, "role": role, "names": names, "evidence": evidence,
            "metrics": _by_metric(figures, previous, entities, names),
            "files": rows(FILES, bulan=bulan) if evidence else [],
            "quarantine": rows(QUARANTINE, bulan=bulan),
            "set_aside": rows(SET_ASIDE, bulan=bulan),
            "expectations": rows(EXPECTATIONS, bulan=bulan),
            "builds": rows(BUILDS, bulan=bulan) if evidence else [],
            "revisions": rows(REVISIONS, bulan=bulan) if evidence else [],
            "linkage": report_linkage.gather(rows, _can_read(conn, "audit", "link_decision"), bulan),
        }


def _entities_query(names: bool) -> str:
    """ENTITIES, with the persons' names for a role that reads them."""
    if not names:
        return ENTITIES.format(people="", person_name="", people_join="")
    return ENTITIES.format(people=PEOPLE, person_name=PEOPLE_NAME, people_join=PEOPLE_JOIN)


def _name_column(metric: str, names: bool) -> str | None:
    """The column holding the name of a metric's failing entities, if the role may read one."""
    if metric in COOPERATIVE_METRICS:
        return "nama_koperasi"
    return "nama" if names else None


def _can_read(conn, schema: str, relation: str) -> bool:
    # Through the catalogue: naming a relation in a schema the role may not use is itself refused.
    row = conn.execute("""
        select has_schema_privilege(n.oid, 'usage') and has_table_privilege(c.oid, 'select')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s
    """, (schema, relation)).fetchone()
    return bool(row and row[0])


def _by_metric(figures: list[dict], previous: dict, entities: list[dict], names: bool) -> list[dict]:
    out = []
    for metric, name in metrics.NAMES.items():
        regions = [{**r, "previous": previous.get((metric, r["region"]))} for r in figures if r["metric"] == metric]
        if not regions:
            continue
        failing = [e for e in entities if e["metric"] == metric]
        out.append({"metric": metric, "name": name, "definition": metrics.DEFINITIONS[metric],
                    "national": regions[0], "provinces": regions[1:], "failing": failing,
                    "name_column": _name_column(metric, names), "count": metric not in metrics.SHARES, "kind": metrics.KINDS[metric]})
    return out


def write(url: str, bulan: str, out_dir: Path, role: str = roles.AUDITOR) -> Report:
    """Write laporan_kepatuhan_<bulan>.html and .pdf, and the failing entities per metric as CSV."""
    from weasyprint import HTML

    data = gather(url, bulan, role)
    out_dir.mkdir(parents=True, exist_ok=True)
    entity_files = []
    for m in data["metrics"]:
        if m["count"]:
            continue
        path = out_dir / f"entitas_gagal_{bulan}_{m['metric']}.csv"
        named = [m["name_column"]] if m["name_column"] else []
        extra = [*named, *(["alasan"] if m["metric"] == "K3" else [])]
        # Formula-safe (a name such as =HYPERLINK(...) stays text); persons' names make it the auditor's only.
        spreadsheet.write_csv(path, ["metric", "entity", "regency_code", *extra],
                              ([e["metric"], e["entity"], e["regency_code"], *(e[c] for c in extra)]
                               for e in m["failing"]), private=named == ["nama"])
        m["csv"] = path.name
        entity_files.append(path)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters.update(angka=fmt.angka, rupiah=lambda v: fmt.rupiah(float(v)), persen=fmt.persen, bulan=fmt.bulan)
    labels.register(env)
    html = env.get_template("laporan.html").render(shown=SHOWN_ENTITIES, **data)
    html_path = out_dir / f"laporan_kepatuhan_{bulan}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = html_path.with_suffix(".pdf")
    HTML(string=html, base_url=str(out_dir), url_fetcher=fetcher()).write_pdf(pdf_path)
    if data["names"]:  # names behind tokens: readable by the auditor who made it only
        for path in (html_path, pdf_path):
            path.chmod(0o600)
    return Report(html_path, pdf_path, entity_files)


def fetcher():
    """WeasyPrint's URL fetcher for the report: only the report's own files (report_templates/) and inline
    `data:` URLs. Anything else a name or a template might carry (http:, https:, ftp:, file: elsewhere on
    the disk) is refused, so rendering never reaches the network or reads another file."""
    from weasyprint.urls import URLFetcher

    class ReportFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            allowed_url(url)
            return super().fetch(url, headers)

    return ReportFetcher(allowed_protocols=("file", "data"), allow_redirects=False, timeout=5)


def allowed_url(url: str) -> str:
    """The URL if the report may read it; ValueError otherwise."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "data":
        return url
    if scheme == "file" and parts.netloc in ("", "localhost"):
        path = Path(unquote(parts.path)).resolve()
        if path.is_relative_to(TEMPLATES.resolve()):
            return url
    raise ValueError(f"laporan tidak mengambil {url[:100]!r}: hanya berkas templat laporan sendiri")
