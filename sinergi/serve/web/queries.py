"""The SQL behind each dashboard page. Parameters are always bound (`%(name)s`)."""
from __future__ import annotations

from dataclasses import dataclass, replace

MONTHS = "select to_char(as_of, 'YYYY-MM') as bulan from marts.dim_month order by 1"

# One region's metric totals over every month loaded (trend and change from the previous month).
REGION_TREND = """
select to_char(as_of, 'YYYY-MM') as bulan, metric, numerator, denominator, value
from marts.fct_metrics
where region = %(region)s and breakdown = ''
order by as_of, metric
"""

BREAKDOWNS = """
select metric, breakdown, numerator, denominator, value
from marts.fct_metrics
where region = %(region)s and as_of = to_date(%(bulan)s, 'YYYY-MM') and breakdown <> ''
order by metric, breakdown
"""

# Provinces (no province given), the regencies/cities of one province, or (`area`: a branch office's user)
# every regency/city the role reads, every metric side by side.
REGIONS = """
select m.region, r.region_name, m.metric, m.numerator, m.denominator, m.value
from marts.fct_metrics as m
join marts.dim_region as r on r.region_code = m.region
where m.as_of = to_date(%(bulan)s, 'YYYY-MM') and m.breakdown = ''
  and case when %(area)s then r.level = 'kabupaten_kota'
           when %(provinsi)s::text is null then r.level = 'provinsi'
           else r.province_code = %(provinsi)s and r.level <> 'provinsi' end
order by m.region, m.metric
"""

PROVINCES = """
select region_code, region_name from marts.dim_region where level = 'provinsi' order by region_code
"""

@dataclass(frozen=True)
class Listing:
    """A drill-down list: one page of it for the screen (`limit %(limit)s`; null for the downloads) and
    its row count, from the same tables and filters."""
    columns: str
    tables: str
    where: str
    order: str
    counted: str | None = None  # the count from an aggregate, where counting the rows is too slow

    @property
    def rows(self) -> str:
        return f"select {self.columns} from {self.tables} where {self.where} order by {self.order} limit %(limit)s"

    @property
    def count(self) -> str:
        return self.counted or f"select count(*) as n from {self.tables} where {self.where}"


COOPERATIVES = Listing(
    columns="""c.nik_koperasi, c.nama_koperasi, c.jenis_koperasi, c.regency_code, r.region_name as wilayah,
        c.npp, c.link_rule, c.is_linked""",
    tables="marts.fct_cooperative_coverage as c left join marts.dim_region as r on r.region_code = c.regency_code",
    where="""c.as_of = to_date(%(bulan)s, 'YYYY-MM') and not c.is_covered
        and (%(provinsi)s::text is null or c.province_code = %(provinsi)s)
        and (%(jenis)s::text is null or c.jenis_koperasi = %(jenis)s)
        and (%(cari)s::text is null or c.nama_koperasi ilike '%%' || %(cari)s || '%%' or c.nik_koperasi = %(cari)s)""",
    order="c.regency_code, c.nama_koperasi, c.nik_koperasi",
)

COOPERATIVE_KINDS = "select distinct jenis_koperasi from marts.dim_cooperative order by 1"

KUR = Listing(
    columns="""k.id_fasilitas, k.bank, k.skema, k.plafon, k.tgl_pencairan, k.is_mandatory, k.regency_code,
        r.region_name as wilayah, k.person_id, k.status_bpjstk""",
    tables="marts.fct_kur_coverage as k left join marts.dim_region as r on r.region_code = k.regency_code",
    where="""k.as_of = to_date(%(bulan)s, 'YYYY-MM') and not k.is_covered
        and (%(provinsi)s::text is null or k.province_code = %(provinsi)s)
        and (%(bank)s::text is null or k.bank = %(bank)s)
        and (%(skema)s::text is null or k.skema = %(skema)s)
        and (not %(wajib)s or k.is_mandatory)""",
    order="k.bank, k.skema, k.tgl_pencairan, k.id_fasilitas",
    counted="""
        select coalesce(sum(not_covered), 0) as n
        from marts.fct_kur_coverage_summary
        where as_of = to_date(%(bulan)s, 'YYYY-MM')
          and (%(provinsi)s::text is null or province_code = %(provinsi)s)
          and (%(bank)s::text is null or bank = %(bank)s)
          and (%(skema)s::text is null or skema = %(skema)s)
          and (not %(wajib)s or is_mandatory)""",
)
# Names are joined for the roles that may read them (the auditor); the others see tokens only.
KUR_NAMED = replace(KUR, columns=KUR.columns + ", n.nama",
                    tables=KUR.tables + " left join vault.person_names as n on n.nik_token = k.person_id")

KUR_SUMMARY = """
select bank, skema, sum(not_covered)::bigint as tidak_terdaftar, sum(facilities)::bigint as fasilitas
from marts.fct_kur_coverage_summary
where as_of = to_date(%(bulan)s, 'YYYY-MM')
  and (%(provinsi)s::text is null or province_code = %(provinsi)s)
group by bank, skema
order by bank, skema
"""

BANKS = "select bank from marts.dim_bank order by 1"

LICENSING = Listing(
    columns="""l.no_keputusan, l.nik_koperasi, l.jenis_layanan, l.tgl_keputusan, l.no_rekomendasi_bpjstk,
        l.alasan, l.regency_code, r.region_name as wilayah""",
    tables="marts.fct_licensing_compliance as l left join marts.dim_region as r on r.region_code = l.regency_code",
    where="""l.as_of = to_date(%(bulan)s, 'YYYY-MM') and not l.is_compliant
        and (%(provinsi)s::text is null or l.province_code = %(provinsi)s)
        and (%(alasan)s::text is null or l.alasan = %(alasan)s)
        and (%(jenis)s::text is null or l.jenis_layanan = %(jenis)s)""",
    order="l.tgl_keputusan, l.no_keputusan",
)

# Per sender, unit and feed: the latest delivery and its fate.
LAST_DELIVERIES = """
select distinct on (sender, unit, feed) sender, unit, feed, period, source_file, received_at, status,
    reason, quality, rows_read, rows_loaded, rows_quarantined
from marts.fct_deliveries
where feed is not null
order by sender, unit, feed, received_at desc, load_id desc
"""

QUARANTINE_BY_REASON = """
select sender, reason, sum(rows_quarantined)::bigint as baris
from marts.fct_quarantine_reasons
where as_of = to_date(%(bulan)s, 'YYYY-MM')
group by sender, reason
order by sender, baris desc
"""

EXPECTATIONS = """
select d.sender, d.feed, count(*) as dijalankan, count(*) filter (where not e.success) as gagal,
    count(*) filter (where not e.success and e.critical) as gagal_kritis
from marts.fct_expectation_results as e
join marts.fct_deliveries as d on d.load_id = e.load_id
where d.as_of = to_date(%(bulan)s, 'YYYY-MM')
group by d.sender, d.feed
order by d.sender, d.feed
"""

PROBLEM_FILES = """
select sender, source_file, status, reason, received_at
from marts.fct_deliveries
where status in ('rejected', 'held') and as_of = to_date(%(bulan)s, 'YYYY-MM')
order by received_at
"""

# The access log (auditors only): the latest entries, and how many of each kind in the last 30 days.
ACCESS_LOG = """
select at, event, username, role_name, client, path, rows
from access.access_log
order by at desc, id desc
limit %(limit)s
"""

ACCESS_LOG_COUNTS = """
select event, count(*) as n, count(distinct username) as pengguna, coalesce(sum(rows), 0)::bigint as baris
from access.access_log
where at > now() - interval '30 days'
group by event
order by event
"""
